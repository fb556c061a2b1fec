package decode

import (
	"encoding/binary"
	"testing"
)

// Reference agreement for these link types (Zeek's conn.log and http.log
// on radiotap, wlanmon, nflog-http and snap-tcp-http) is in pkg/capture.

func snap(payload []byte) []byte {
	return append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, payload...)
}

func nflogTLV(little bool, typ uint16, v []byte) []byte {
	var b []byte
	order := binary.AppendByteOrder(binary.BigEndian)
	if little {
		order = binary.LittleEndian
	}
	b = order.AppendUint16(b, uint16(4+len(v)))
	b = order.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestLinkTypes(t *testing.T) {
	qosData := append([]byte{0x88, 0x01}, make([]byte, 24)...) // QoS data, ToDS; 24-byte header + 2 QoS
	radio := append([]byte{0, 0, 8, 0, 0, 0, 0, 0}, append(qosData, snap(ipv4UDP())...)...)
	for _, tc := range []struct {
		name string
		link uint16
		data []byte
		want Reason
	}{
		{"802.3 with LLC/SNAP", LinkEthernet, eth(uint16(len(snap(ipv4UDP()))), snap(ipv4UDP())), ReasonNone},
		{"802.3 spanning tree", LinkEthernet, eth(38, append([]byte{0x42, 0x42, 0x03}, make([]byte, 35)...)), ReasonUnknownEtherType},
		{"nflog little-endian", LinkNFLOG, append([]byte{2, 0, 0, 42}, append(nflogTLV(true, 1, make([]byte, 4)), nflogTLV(true, 9, ipv4UDP())...)...), ReasonNone},
		{"nflog big-endian", LinkNFLOG, append([]byte{2, 0, 0, 42}, append(nflogTLV(false, 10, []byte{0}), nflogTLV(false, 9, ipv4UDP())...)...), ReasonNone},
		{"nflog without payload", LinkNFLOG, append([]byte{2, 0, 0, 42}, nflogTLV(true, 1, make([]byte, 4))...), ReasonUnknownEtherType},
		{"radiotap qos data", Link80211Radio, radio, ReasonNone},
		{"802.11 data", Link80211, append(append([]byte{0x08, 0x02}, make([]byte, 22)...), snap(ipv4UDP())...), ReasonNone},
		{"802.11 protected", Link80211, append(append([]byte{0x08, 0x42}, make([]byte, 22)...), snap(ipv4UDP())...), ReasonUnknownEtherType},
		{"802.11 beacon", Link80211, append([]byte{0x80, 0}, make([]byte, 40)...), ReasonUnknownEtherType},
		{"radiotap too long", Link80211Radio, []byte{0, 0, 200, 0, 0, 0, 0, 0}, ReasonShortLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			d := NewDecoder(&r)
			if got := d.Decode(tc.data, CaptureInfo{LinkType: tc.link}, "t"); got != tc.want {
				t.Fatalf("reason %v, want %v", got, tc.want)
			}
			if tc.want == ReasonNone && (len(r.pkts) != 1 || r.pkts[0].DstPort != 53 || string(r.pkts[0].Payload) != "hi") {
				t.Fatalf("packets %+v", r.pkts)
			}
		})
	}
}

func FuzzLinkTypes(f *testing.F) {
	f.Add(uint16(LinkNFLOG), append([]byte{2, 0, 0, 42}, nflogTLV(true, 9, ipv4UDP())...))
	f.Add(uint16(Link80211Radio), append([]byte{0, 0, 8, 0, 0, 0, 0, 0}, append(append([]byte{0x88, 0x01}, make([]byte, 24)...), snap(ipv4UDP())...)...))
	f.Add(uint16(LinkEthernet), eth(30, snap(ipv4UDP())))
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		switch link % 4 {
		case 0:
			link = LinkNFLOG
		case 1:
			link = Link80211Radio
		case 2:
			link = Link80211
		default:
			link = LinkEthernet
		}
		var r recorder
		NewDecoder(&r).Decode(data, CaptureInfo{LinkType: link}, "fuzz")
	})
}
