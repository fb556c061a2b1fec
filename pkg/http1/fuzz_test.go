package http1

import (
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// FuzzParse feeds a request stream and a response stream, cut at split, and
// checks the parser neither panics nor emits nonsense.
func FuzzParse(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), uint8(5))
	f.Add([]byte("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"), uint8(1))
	f.Add([]byte("GET /old\r\n"), []byte("<html>"), uint8(0))
	f.Add([]byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n\x16\x03"), uint8(3))
	f.Add([]byte("\x16\x03\x01"), []byte("HTTP/1.0 400 Bad\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, req, resp []byte, split uint8) {
		n := 0
		a := New(Config{MaxHeader: 256}, func(e *event.Event) {
			n++
			if e.ReqLen < 0 || e.RespLen < 0 || e.Status < 0 || e.Status > 999 {
				t.Fatalf("bad event %+v", e)
			}
		})
		c := a.Conn(id)
		s := int(split)
		rs, ps := min(s, len(req)), min(s, len(resp))
		c.Data(stream.ClientToServer, req[:rs], time.Time{})
		c.Data(stream.ServerToClient, resp[:ps], time.Time{})
		c.Data(stream.ClientToServer, req[rs:], time.Time{})
		c.Data(stream.ServerToClient, resp[ps:], time.Time{})
		c.Gap(stream.ServerToClient, 3)
		c.End(time.Time{})
		if int64(n) != a.Stats().Requests {
			t.Fatalf("%d events, stats say %d", n, a.Stats().Requests)
		}
	})
}
