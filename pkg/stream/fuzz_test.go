package stream

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/decode"
)

// FuzzSegments reads a list of segments (direction and flags byte, 32-bit
// sequence and acknowledgement numbers, a length byte) and checks that the
// reassembler keeps to its bounds and ends every connection.
func FuzzSegments(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0x10, 0, 0, 0, 3, 0, 0, 0, 0, 4})
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0, 200, 0x10, 0, 0, 0, 0x10, 0, 0, 0, 0, 200, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ended := 0
		r := New(Config{MaxPerStream: 300, MaxTotal: 500, MaxConns: 2}, func(ID) Conn { return &counter{ended: &ended} })
		payload := make([]byte, 255)
		ts := time.Unix(0, 0)
		for len(b) >= 10 {
			p := decode.Packet{TS: ts, Proto: decode.ProtoTCP, Src: client, Dst: server, SrcPort: 1000 + uint16(b[0]>>6&1), DstPort: 80,
				TCPFlags: b[0] & 0x3f, Seq: binary.BigEndian.Uint32(b[1:]), Ack: binary.BigEndian.Uint32(b[5:])}
			if b[0]&0x80 != 0 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
			}
			p.Payload, p.PayloadLen = payload[:b[9]], int(b[9])
			r.HandlePacket(&p)
			if s := r.Stats(); s.Buffered > 500 || s.Buffered < 0 {
				t.Fatalf("buffered %d", s.Buffered)
			}
			b = b[10:]
			ts = ts.Add(time.Second)
		}
		r.Close()
		if s := r.Stats(); s.Buffered != 0 || int64(ended) != s.Conns {
			t.Fatalf("after close: %+v, %d ended", s, ended)
		}
	})
}

type counter struct{ ended *int }

func (c *counter) Data(Dir, []byte, time.Time) bool { return true }
func (c *counter) Gap(Dir, int)                     {}
func (c *counter) End(time.Time)                    { *c.ended++ }
