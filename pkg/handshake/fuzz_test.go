package handshake

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// record wraps a handshake message in a TLS record.
func record(typ byte, body []byte) []byte {
	msg := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// FuzzHandshake feeds client and server bytes through the record layer and
// the hello and certificate parsers.
func FuzzHandshake(f *testing.F) {
	f.Add(record(1, clientHello), record(2, serverHello), uint8(7))
	f.Add(record(1, clientHello[:40]), []byte{22, 3, 3, 0, 4, 11, 0, 0, 0}, uint8(1))
	f.Add([]byte("EHLO x\r\n"), []byte{20, 3, 3, 0, 1, 1}, uint8(3))
	dtlsHello := append([]byte{22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(12 + len(clientHello))},
		1, 0, byte(len(clientHello)>>8), byte(len(clientHello)), 0, 0, 0, 0, 0, 0, byte(len(clientHello)>>8), byte(len(clientHello)))
	f.Add(append(dtlsHello, clientHello...), []byte{22, 0xfe, 0xfd, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, client, server []byte, split uint8) {
		n := 0
		a := New(Config{MaxMessage: 4096}, func(e *event.Event) { n++ })
		c := a.Conn(stream.ID{})
		s := int(split)
		cs, ss := min(s, len(client)), min(s, len(server))
		c.Data(stream.ClientToServer, client[:cs], time.Time{})
		c.Data(stream.ServerToClient, server[:ss], time.Time{})
		c.Data(stream.ClientToServer, client[cs:], time.Time{})
		c.Data(stream.ServerToClient, server[ss:], time.Time{})
		c.End(time.Time{})
		if n > 1 {
			t.Fatalf("%d events for one connection", n)
		}
		// The same bytes as DTLS datagrams.
		dtls := NewDTLS(New(Config{MaxMessage: 4096}, func(*event.Event) {}), 4, 0)
		for i, b := range [][]byte{client, server} {
			p := decode.Packet{Proto: decode.ProtoUDP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
				SrcPort: 5000, DstPort: 4433, Payload: b, PayloadLen: len(b)}
			if i == 1 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			dtls.HandlePacket(&p)
		}
		dtls.Close()
		// The parsers on their own, too.
		if ch, _ := ParseClientHello(client); ch != nil {
			ch.JA3()
			ch.JA4('t')
		}
		if sh, _ := ParseServerHello(server); sh != nil {
			sh.JA3S()
		}
		Leaf(server, &event.Event{})
	})
}
