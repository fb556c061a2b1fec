package quic

import (
	"net/netip"
	"os"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// seedInitial returns the first client Initial datagram of a capture in
// the shared data, when it is there.
func seedInitial(f *testing.F) []byte {
	path := os.Getenv("NFR_TESTDATA") + "/ja4/quic-tls-handshake/quic-tls-handshake.pcapng"
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	for _, p := range pcaptest.Packets(f, path) {
		if p.Proto == decode.ProtoUDP && len(p.Payload) >= 1200 {
			return p.Payload
		}
	}
	return nil
}

// FuzzDatagram feeds UDP payloads to the Initial parser, decryption and
// the CRYPTO frame walk.
func FuzzDatagram(f *testing.F) {
	if s := seedInitial(f); s != nil {
		f.Add(s)
	}
	long := make([]byte, 1250)
	copy(long, []byte{0xc0, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xd0})
	f.Add(long)
	f.Add([]byte{0x06, 0x00, 0x04, 1, 0, 0, 0, 0x02, 1, 2, 1, 0})
	seed := seedInitial(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a := New(Config{}, func(*event.Event) {})
		p := decode.Packet{Proto: decode.ProtoUDP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
			SrcPort: 5000, DstPort: 443, Payload: b, PayloadLen: len(b)}
		a.HandlePacket(&p)
		if seed != nil {
			// b as the server's answer to a real client Initial.
			c := p
			c.Payload, c.PayloadLen = seed, len(seed)
			c.SrcPort = 5001
			a.HandlePacket(&c)
			p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, 443, 5001
			a.HandlePacket(&p)
		}
		a.Close()
		Crypto(b, func(uint64, []byte) {})
		if pkt, err := ParseLong(b); err == nil && len(pkt.Raw) > len(b) {
			t.Fatalf("packet longer than the datagram")
		}
	})
}

func BenchmarkInitial(b *testing.B) {
	path := os.Getenv("NFR_TESTDATA") + "/ja4/quic-tls-handshake/quic-tls-handshake.pcapng"
	if _, err := os.Stat(path); err != nil {
		b.Skip("set NFR_TESTDATA for the QUIC benchmark")
	}
	var initial decode.Packet
	for _, p := range pcaptest.Packets(b, path) {
		if p.Proto == decode.ProtoUDP && len(p.Payload) >= 1200 {
			initial = p
			break
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(initial.Payload)))
	for i := 0; i < b.N; i++ {
		a := New(Config{}, func(*event.Event) {})
		a.HandlePacket(&initial)
	}
}
