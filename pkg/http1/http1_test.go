package http1

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

var id = stream.ID{
	Client: netip.MustParseAddrPort("10.0.0.1:40000"),
	Server: netip.MustParseAddrPort("192.0.2.1:8080"),
}

// exchange is a conversation: each string is one direction's bytes, the
// client's first ("> ") or the server's ("< ").
func feed(t *testing.T, msgs []string, chunk int) ([]*event.Event, Stats) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	c := a.Conn(id)
	ts := time.Unix(1700000000, 0)
	for _, m := range msgs {
		d := stream.ClientToServer
		if strings.HasPrefix(m, "< ") {
			d = stream.ServerToClient
		}
		b := []byte(m[2:])
		for len(b) > 0 {
			n := min(chunk, len(b))
			c.Data(d, b[:n], ts)
			b = b[n:]
		}
	}
	c.End(ts)
	return out, a.Stats()
}

func summary(evs []*event.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, fmt.Sprintf("%s %s %d %d/%d ua=%s ref=%s ct=%s", e.Method, e.URL, e.Status, e.ReqLen, e.RespLen, e.UserAgent, e.Referrer, e.ContentType))
	}
	return strings.Join(s, "\n")
}

// parseCases are exchanges and the summary of their events.
var parseCases = []struct {
	name string
	msgs []string
	want string
}{
	{"get", []string{"> GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nReferer: http://x/\r\n\r\n",
		"< HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"},
		"GET http://example.com/a?b=c 200 0/5 ua=curl/8 ref=http://x/ ct=text/html"},
	{"pipelined keep-alive", []string{"> GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: h\r\n\r\n",
		"< HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"},
		"GET http://h/1 200 0/2 ua= ref= ct=\nGET http://h/2 404 0/0 ua= ref= ct=\nHEAD http://h/3 200 0/0 ua= ref= ct="},
	{"chunked both ways", []string{"> POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
		"< HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n"},
		"POST http://h/up 201 5/10 ua= ref= ct="},
	{"100-continue", []string{"> PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
		"< HTTP/1.1 100 Continue\r\n\r\n", "> data", "< HTTP/1.1 204 No Content\r\n\r\n"},
		"PUT http://h/f 204 4/0 ua= ref= ct="},
	{"no response", []string{"> GET / HTTP/1.0\r\n\r\n"}, "GET http://192.0.2.1:8080/ 0 0/0 ua= ref= ct="},
	{"until close", []string{"> GET / HTTP/1.0\r\nHost: h\r\n\r\n", "< HTTP/1.0 200 OK\r\n\r\nbody until the end"},
		"GET http://h/ 200 0/18 ua= ref= ct="},
	{"http/0.9", []string{"> GET /old\r\n", "< <html>hi</html>"}, "GET http://192.0.2.1:8080/old 0 0/15 ua= ref= ct="},
	{"connect", []string{"> CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "< HTTP/1.1 200 Connection established\r\n\r\n",
		"> \x16\x03\x01 tls bytes"}, "CONNECT example.com:443 200 0/0 ua= ref= ct="},
	{"plain http through a connect tunnel", []string{"> CONNECT example.com:80 HTTP/1.1\r\n\r\n", "< HTTP/1.1 200 OK\r\n\r\n",
		"> GET /in HTTP/1.1\r\nHost: example.com\r\n\r\n", "< HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"},
		"CONNECT example.com:80 200 0/0 ua= ref= ct=\nGET http://example.com/in 200 0/2 ua= ref= ct="},
	{"absolute target", []string{"> GET http://proxy.example/x HTTP/1.1\r\nHost: proxy.example\r\n\r\n"}, "GET http://proxy.example/x 0 0/0 ua= ref= ct="},
	{"leading blank lines and bare LF", []string{"> \r\nGET /x HTTP/1.1\nHost: h\n\n", "< HTTP/1.1 200 OK\nContent-Length: 1\n\nz"},
		"GET http://h/x 200 0/1 ua= ref= ct="},
	{"http/2 preface", []string{"> PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"}, ""},
	{"not http", []string{"> SSH-2.0-OpenSSH_9.6\r\n", "< SSH-2.0-OpenSSH_9.6\r\n"}, ""},
	{"server answers garbage", []string{"> \x16\x03\x01\x00", "< HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad"},
		" http://192.0.2.1:8080 400 0/3 ua= ref= ct="},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		for _, chunk := range []int{1, 3, 7, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, chunk), func(t *testing.T) {
				evs, _ := feed(t, tc.msgs, chunk)
				if tc.name == "server answers garbage" && len(evs) == 1 {
					evs[0].URL = "http://192.0.2.1:8080" // an orphan response has no URL
				}
				if got := summary(evs); got != tc.want {
					t.Errorf("got\n%s\nwant\n%s", got, tc.want)
				}
			})
		}
	}
}

// One analyser for every exchange in turn: the connections and events it
// reuses carry nothing from one exchange to the next.
func TestParseReused(t *testing.T) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	for round := 0; round < 2; round++ {
		for _, tc := range parseCases {
			out = out[:0]
			c := a.Conn(id)
			for _, m := range tc.msgs {
				d := stream.ClientToServer
				if strings.HasPrefix(m, "< ") {
					d = stream.ServerToClient
				}
				c.Data(d, []byte(m[2:]), time.Unix(1700000000, 0))
			}
			c.End(time.Time{})
			if tc.name == "server answers garbage" && len(out) == 1 {
				out[0].URL = "http://192.0.2.1:8080"
			}
			if got := summary(out); got != tc.want {
				t.Errorf("%s, round %d: got\n%s\nwant\n%s", tc.name, round, got, tc.want)
			}
		}
	}
}

func TestGapInHeadIsCounted(t *testing.T) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	c := a.Conn(id)
	c.Data(stream.ClientToServer, []byte("GET / HTTP/1.1\r\nHo"), time.Time{})
	c.Gap(stream.ClientToServer, 10)
	if c.Data(stream.ClientToServer, []byte("more"), time.Time{}) {
		t.Error("parsing goes on after a gap in a head")
	}
	c.End(time.Time{})
	if s := a.Stats(); s.Unparsed != 1 || len(out) != 0 {
		t.Errorf("stats %+v, %d events", s, len(out))
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	req := []byte("GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nReferer: http://www.example.com/\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\nServer: nginx\r\n\r\n" + strings.Repeat("x", 1000))
	a := New(Config{}, func(*event.Event) {})
	c := a.Conn(id)
	b.SetBytes(int64(len(req) + len(resp)))
	for i := 0; i < b.N; i++ {
		c.Data(stream.ClientToServer, req, time.Time{})
		c.Data(stream.ServerToClient, resp, time.Time{})
	}
}

func TestHeldIsBounded(t *testing.T) {
	var out []*event.Event
	a := New(Config{MaxHeld: 1000}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	for i := 0; i < 100; i++ {
		c := a.Conn(id)
		c.Data(stream.ClientToServer, []byte("GET / HTTP/1.1\r\nHost: a-long-incomplete-head.example\r\nX: "+strings.Repeat("y", 40)), time.Time{})
		if s := a.Stats(); s.Held > 1000 {
			t.Fatalf("holding %d bytes", s.Held)
		}
	}
	if s := a.Stats(); s.Dropped != 90 {
		t.Errorf("stats %+v", s)
	}
}
