package handshake

import (
	"testing"
	"time"

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
