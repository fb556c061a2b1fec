// Package http1 finds HTTP/1.x (and 0.9) in reassembled TCP streams on any
// port, recognising it by content, and emits one event of type "http" per
// request: method, host, url, status, userAgent, referrer, contentType (of
// the response) and the body sizes reqLen and respLen (after removing the
// chunked encoding, as Zeek's request_body_len and response_body_len).
// Pipelined and keep-alive requests each give an event; a request with no
// response is emitted when its connection ends. Interim 1xx responses are
// skipped; CONNECT and 101 Switching Protocols end the parsing, since what
// follows is another protocol. A stream that stops parsing midway is counted
// in Stats and the connection left alone.
package http1

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// Config bounds the parser. Zero fields take DefaultConfig's values.
type Config struct {
	MaxHeader  int           // bytes of one request or response head
	MaxPending int           // requests waiting for their responses per connection
	MaxHeld    int           // bytes of incomplete heads held over all connections
	Stream     stream.Config // reassembly, when the analyser runs its own
}

// DefaultConfig allows 64 KiB heads, 64 pipelined requests, and 32 MiB of
// incomplete heads in all.
func DefaultConfig() Config {
	return Config{MaxHeader: 64 << 10, MaxPending: 64, MaxHeld: 32 << 20, Stream: stream.DefaultConfig()}
}

// Stats counts what the analyser saw.
type Stats struct {
	Conns     int64 // connections recognised as HTTP
	Requests  int64 // events emitted
	Orphans   int64 // responses without a request
	Unparsed  int64 // HTTP connections that stopped parsing midway
	Unmatched int64 // requests emitted without a response
	Dropped   int64 // connections given up because MaxHeld was reached
	Held      int   // bytes of incomplete heads held now
}

// Analyzer turns TCP connections into http events. Use it from one
// goroutine.
type Analyzer struct {
	cfg        Config
	emit       func(*event.Event)
	stats      Stats
	stream.Own // reassembly when used alone, as a decode.Handler
	held       int
	// free holds emitted requests for reuse: short connections make one
	// request each, and a fresh event apiece was most of the analyser's
	// garbage.
	free  []*pending
	conns []*conn     // ended connections, for reuse
	strs  event.Arena // the events' header strings
	url   []byte      // where appendURL builds the URL
}

// New returns an analyser calling emit with each request's event; the
// event is the analyser's again when emit returns (copy what is kept:
// its storage is reused for a later request). The Analyzer is a decode.Handler that runs
// its own reassembly; to share one reassembler among analysers, give
// Conn to stream.New (through stream.Fanout) instead.
func New(cfg Config, emit func(*event.Event)) *Analyzer {
	d := DefaultConfig()
	if cfg.MaxHeader <= 0 {
		cfg.MaxHeader = d.MaxHeader
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = d.MaxPending
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = d.MaxHeld
	}
	a := &Analyzer{cfg: cfg, emit: emit}
	a.Own = stream.Own{Config: cfg.Stream, Factory: a.Conn}
	return a
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats {
	s := a.stats
	s.Held = a.held
	return s
}

// Conn is a stream.Factory: it returns the consumer of one connection.
func (a *Analyzer) Conn(id stream.ID) stream.Conn {
	if n := len(a.conns); n > 0 {
		c := a.conns[n-1]
		a.conns = a.conns[:n-1]
		*c = conn{a: a, id: id, reqDir: -1, queue: c.queue[:0]}
		return c
	}
	return &conn{a: a, id: id, reqDir: -1}
}

// recycle keeps c for a later connection; the stream calls nothing on c
// after End.
func (a *Analyzer) recycle(c *conn) {
	if len(a.conns) < maxFree {
		a.conns = append(a.conns, c)
	}
}

// parser states of one direction.
const (
	stHead = iota
	stBody
	stChunkSize
	stChunkData
	stChunkEnd
	stTrailer
	stUntilClose
	stDone
)

type half struct {
	state   int
	buf     []byte // an incomplete head or chunk-size line
	remain  int64
	bodyLen *int64 // where body bytes are counted
}

type pending struct {
	ev       event.Event
	head     bool // HEAD: the response has no body
	connect  bool
	v09      bool
	response bool // response head seen
}

type conn struct {
	a      *Analyzer
	id     stream.ID
	reqDir stream.Dir // direction carrying requests; -1 until known
	seen   bool       // recognised as HTTP
	h      [2]half
	queue  []*pending
	stop   bool
	// Before the connection is recognised: the first bytes of the client,
	// and whether they were not a request.
	probe     []byte
	sprobe    []byte // the same for the server
	clientBad bool
	tunnel    bool // a CONNECT tunnel was opened
	held      int  // bytes of this connection counted in Analyzer.held
	// sink counts body bytes of a message whose event went out before
	// its body ended (MaxPending), so nothing writes into a reused one.
	sink int64
}

// newPending returns a cleared request, reused if one is free.
func (a *Analyzer) newPending() *pending {
	if n := len(a.free); n > 0 {
		p := a.free[n-1]
		a.free = a.free[:n-1]
		*p = pending{}
		return p
	}
	return &pending{}
}

// account updates the bytes held for c and gives c up when all the
// connections together hold more than allowed.
func (c *conn) account() {
	n := len(c.h[0].buf) + len(c.h[1].buf) + len(c.probe) + len(c.sprobe)
	if c.stop {
		n = 0
	}
	c.a.held += n - c.held
	c.held = n
	if c.a.held > c.a.cfg.MaxHeld && !c.stop {
		c.a.stats.Dropped++
		c.stop = true
		c.flush()
		c.account()
	}
}

// Data parses bytes of one direction.
func (c *conn) Data(d stream.Dir, b []byte, ts time.Time) bool {
	more := c.data(d, b, ts)
	c.account()
	return more && !c.stop
}

func (c *conn) data(d stream.Dir, b []byte, ts time.Time) bool {
	if c.stop {
		return false
	}
	if c.reqDir < 0 && d == stream.ServerToClient && len(c.sprobe) == 0 {
		b = bytes.TrimLeft(b, "\r\n") // stray line ends before a response
		if len(b) == 0 {
			return true
		}
	}
	if c.reqDir < 0 && d == stream.ServerToClient && len(c.sprobe)+len(b) < len(httpVersion) {
		c.sprobe = append(c.sprobe, b...)
		if bytes.HasPrefix(httpVersion, c.sprobe) {
			return true // too short to tell yet
		}
		c.stop = true
		return false
	}
	if len(c.sprobe) > 0 {
		b = append(c.sprobe, b...)
		c.sprobe = nil
	}
	if c.reqDir < 0 {
		switch {
		case d == stream.ServerToClient && c.clientBad:
			if !bytes.HasPrefix(b, httpVersion) {
				c.stop = true
				return false
			}
			// The server answers in HTTP what we could not parse: its
			// responses are logged without requests, as Zeek does.
			c.reqDir = stream.ClientToServer
		case d == stream.ServerToClient && bytes.HasPrefix(b, httpVersion):
			c.reqDir = stream.ClientToServer
		case d == stream.ServerToClient:
			c.stop = true
			return false
		case c.clientBad:
			return true // wait for the server's answer
		default:
			// The first bytes are classified where they are; only an
			// undecided start is copied, to wait for more.
			probe := b
			if len(c.probe) > 0 {
				c.probe = append(c.probe, b...)
				probe = c.probe
			}
			switch classify(probe) {
			case maybe:
				if len(probe) < 64 {
					if len(c.probe) == 0 {
						c.probe = append(c.probe, b...)
					}
					return true
				}
				fallthrough
			case no:
				if d == stream.ServerToClient || c.clientBad {
					c.stop = true
					return false
				}
				c.clientBad = true
				c.h[d].state = stDone
				c.probe = nil
				return true
			}
			c.reqDir = d
			b = probe
		}
		c.probe = nil
		if !c.tunnel {
			c.a.stats.Conns++
		}
		c.seen = true
	}
	h := &c.h[d]
	for len(b) > 0 && !c.stop {
		switch h.state {
		case stHead:
			if c.reqDir < 0 {
				return c.data(d, b, ts) // a tunnel opened: recognise its content
			}
			if d != c.reqDir && len(h.buf) == 0 && !bytes.HasPrefix(b, httpVersion) {
				if p := c.unanswered(); p != nil && p.v09 {
					// An HTTP/0.9 response has no head: all of it is body.
					p.response = true
					h.bodyLen = &p.ev.RespLen
					h.state = stUntilClose
					continue
				}
			}
			b = c.head(d, h, b, ts)
		case stBody:
			n := min(int64(len(b)), h.remain)
			*h.bodyLen += n
			h.remain -= n
			b = b[n:]
			if h.remain == 0 {
				c.bodyDone(d, h)
			}
		case stChunkSize, stChunkEnd, stTrailer:
			var line []byte
			var ok bool
			line, b, ok = c.line(h, b)
			if !ok {
				break
			}
			switch h.state {
			case stChunkSize:
				n, ok := chunkSize(line)
				switch {
				case !ok:
					c.fail()
				case n == 0:
					h.state = stTrailer
				default:
					h.state, h.remain = stChunkData, n
				}
			case stChunkEnd:
				h.state = stChunkSize
			case stTrailer:
				if len(bytes.TrimRight(line, "\r")) == 0 {
					c.bodyDone(d, h)
				}
			}
		case stChunkData:
			n := min(int64(len(b)), h.remain)
			*h.bodyLen += n
			h.remain -= n
			b = b[n:]
			if h.remain == 0 {
				h.state = stChunkEnd
			}
		case stUntilClose:
			*h.bodyLen += int64(len(b))
			b = nil
		case stDone:
			b = nil
		}
	}
	if c.stop {
		c.flush()
		return false
	}
	return true
}

// line takes one line (for chunk sizes and trailers), buffering a partial one.
func (c *conn) line(h *half, b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(h.buf)+len(b) > 1024 {
			c.fail()
			return nil, nil, false
		}
		h.buf = append(h.buf, b...)
		return nil, nil, false
	}
	line, rest = b[:i], b[i+1:]
	if len(h.buf) > 0 {
		line = append(h.buf, line...)
		h.buf = h.buf[:0]
	}
	return line, rest, true
}

// head collects and parses a request or response head.
func (c *conn) head(d stream.Dir, h *half, b []byte, ts time.Time) []byte {
	if len(h.buf) == 0 {
		// Blank lines between messages are tolerated (RFC 9112 2.2).
		for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
			b = b[1:]
		}
		if len(b) == 0 {
			return nil
		}
		if n := c.headEnd(d, b); n > 0 {
			c.parseHead(d, h, b[:n], ts)
			return b[n:]
		}
	}
	start := len(h.buf)
	h.buf = append(h.buf, b...)
	n := c.headEnd(d, h.buf)
	if n < 0 {
		if len(h.buf) > c.a.cfg.MaxHeader {
			c.fail()
		}
		return nil
	}
	hd := h.buf[:n]
	h.buf = nil
	c.parseHead(d, h, hd, ts)
	return b[n-start:]
}

// headEnd returns the length of the head at the start of b (through the
// blank line; for an HTTP/0.9 request, the request line), or -1.
func (c *conn) headEnd(d stream.Dir, b []byte) int {
	if d == c.reqDir {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return -1
		}
		if !bytes.Contains(b[:i], []byte(" HTTP/")) && !headerFollows(b[i+1:]) {
			return i + 1 // HTTP/0.9: the request line is all
		}
	}
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
		if i >= len(b)-1 {
			return -1
		}
	}
}

// headerFollows says whether b starts with a header line, so that a request
// line without a version still has a head (Zeek parses it so too).
func headerFollows(b []byte) bool {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	colon := bytes.IndexByte(b[:i], ':')
	if colon <= 0 {
		return false
	}
	for _, ch := range b[:colon] {
		if !isToken(ch) {
			return false
		}
	}
	return true
}

func (c *conn) parseHead(d stream.Dir, h *half, hd []byte, ts time.Time) {
	first, rest := cutLine(hd)
	if d == c.reqDir {
		c.request(h, first, rest, ts)
	} else {
		c.response(h, first, rest, ts)
	}
}

func (c *conn) request(h *half, first, rest []byte, ts time.Time) {
	method, target, version, ok := requestLine(first)
	if !ok {
		c.fail()
		return
	}
	if string(method) == "PRI" && string(version) == "HTTP/2.0" {
		c.stop = true // the HTTP/2 connection preface: not ours
		return
	}
	a := c.a
	p := a.newPending()
	ev := &p.ev
	ev.Type, ev.TS, ev.Method, ev.Source, ev.TunnelParent = event.TypeHTTP, ts, a.method(method), c.id.Source, c.id.TunnelParent
	client, server := c.id.Client, c.id.Server
	if c.reqDir == stream.ServerToClient {
		client, server = server, client
	}
	ev.SrcIP, ev.SrcPort, ev.DestIP, ev.DestPort, ev.Proto = client.Addr(), client.Port(), server.Addr(), server.Port(), "tcp"
	p.head, p.connect, p.v09 = string(method) == "HEAD", string(method) == "CONNECT", version == nil && len(rest) == 0
	var cl int64 = -1
	chunked := false
	eachHeader(rest, func(name, value []byte) {
		switch {
		case ascii(name, "host"):
			ev.Host = a.strs.String(value)
		case ascii(name, "user-agent"):
			ev.UserAgent = a.strs.String(value)
		case ascii(name, "referer"):
			ev.Referrer = a.strs.String(value)
		case ascii(name, "content-length"):
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				cl = n
			}
		case ascii(name, "transfer-encoding"):
			chunked = isChunked(value)
		}
	})
	a.url = appendURL(a.url[:0], ev.Host, target, server, p.connect)
	ev.URL = a.strs.String(a.url)
	if len(c.queue) >= c.a.cfg.MaxPending {
		c.emitFirst()
	}
	c.queue = append(c.queue, p)
	h.bodyLen = &ev.ReqLen
	switch {
	case chunked:
		h.state = stChunkSize
	case cl > 0:
		h.state, h.remain = stBody, cl
	case p.connect:
		h.state = stDone // what follows is tunnelled
	}
}

func (c *conn) response(h *half, first, rest []byte, ts time.Time) {
	p := c.unanswered()
	status, ok := statusLine(first)
	if !ok {
		c.fail()
		return
	}
	if status >= 100 && status < 200 && status != 101 {
		return // interim: the final response follows
	}
	if p == nil {
		c.a.stats.Orphans++
		p = c.a.newPending()
		ev := &p.ev
		ev.Type, ev.TS, ev.Source, ev.Proto, ev.TunnelParent = event.TypeHTTP, ts, c.id.Source, "tcp", c.id.TunnelParent
		client, server := c.id.Client, c.id.Server
		if c.reqDir == stream.ServerToClient {
			client, server = server, client
		}
		ev.SrcIP, ev.SrcPort, ev.DestIP, ev.DestPort = client.Addr(), client.Port(), server.Addr(), server.Port()
		c.queue = append(c.queue, p)
	}
	p.response = true
	p.ev.Status = status
	var cl int64 = -1
	chunked := false
	eachHeader(rest, func(name, value []byte) {
		switch {
		case ascii(name, "content-type"):
			p.ev.ContentType = c.a.strs.String(value)
		case ascii(name, "content-length"):
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				cl = n
			}
		case ascii(name, "transfer-encoding"):
			chunked = isChunked(value)
		}
	})
	h.bodyLen = &p.ev.RespLen
	switch {
	case p.connect && status >= 200 && status < 300:
		// A tunnel: what follows is recognised afresh (plain HTTP through
		// a proxy is parsed, TLS is left to the TLS analyser).
		c.flush()
		c.h = [2]half{}
		c.reqDir, c.tunnel = -1, true
	case status == 101:
		// Another protocol follows on both directions.
		c.stop = true
	case p.head || status == 204 || status == 304:
		c.bodyDone(1-c.reqDir, h)
	case chunked:
		h.state = stChunkSize
	case cl >= 0:
		h.state, h.remain = stBody, cl
		if cl == 0 {
			c.bodyDone(1-c.reqDir, h)
		}
	default:
		h.state = stUntilClose
	}
}

// unanswered returns the oldest request without a response.
func (c *conn) unanswered() *pending {
	for _, q := range c.queue {
		if !q.response {
			return q
		}
	}
	return nil
}

// bodyDone ends a message body; a finished response emits its request.
func (c *conn) bodyDone(d stream.Dir, h *half) {
	h.state = stHead
	h.remain = 0
	if d != c.reqDir {
		c.emitFirst()
	}
}

func (c *conn) emitFirst() {
	if len(c.queue) == 0 {
		return
	}
	p := c.queue[0]
	// Shift rather than reslice, so the queue's array serves the
	// connection's next requests.
	n := copy(c.queue, c.queue[1:])
	c.queue[n] = nil
	c.queue = c.queue[:n]
	c.a.stats.Requests++
	if !p.response {
		c.a.stats.Unmatched++
	}
	for i := range c.h {
		if h := &c.h[i]; h.bodyLen == &p.ev.ReqLen || h.bodyLen == &p.ev.RespLen {
			h.bodyLen = &c.sink
		}
	}
	c.a.emit(&p.ev)
	if len(c.a.free) < maxFree {
		c.a.free = append(c.a.free, p)
	}
}

// maxFree bounds the requests kept for reuse.
const maxFree = 1024

func (c *conn) flush() {
	for len(c.queue) > 0 {
		c.emitFirst()
	}
}

// fail stops parsing a connection that is not (or no longer) HTTP.
func (c *conn) fail() {
	if c.seen && !c.stop {
		c.a.stats.Unparsed++
	}
	c.stop = true
}

// Gap skips missing bytes: inside a body they are counted as body, in a
// head the direction cannot be followed any more.
func (c *conn) Gap(d stream.Dir, n int) {
	if c.stop || c.reqDir < 0 {
		c.stop = true
		return
	}
	h := &c.h[d]
	switch h.state {
	case stBody, stChunkData:
		m := min(int64(n), h.remain)
		*h.bodyLen += m
		h.remain -= m
		if h.remain == 0 {
			if h.state == stBody {
				c.bodyDone(d, h)
			} else {
				h.state = stChunkEnd
			}
		}
		if int64(n) > m {
			c.fail()
		}
	case stUntilClose:
		*h.bodyLen += int64(n)
	case stDone:
	default:
		c.fail()
	}
}

// End emits the requests still pending.
func (c *conn) End(time.Time) {
	c.flush()
	c.stop = true
	c.account()
	c.a.recycle(c)
}

func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.TrimRight(b, "\r"), nil
	}
	return bytes.TrimRight(b[:i], "\r"), b[i+1:]
}

var httpVersion = []byte("HTTP/")

const (
	no = iota
	maybe
	yes
)

// classify says whether b starts like a request line: a method token in
// upper case, a space, and a target.
func classify(b []byte) int {
	b = bytes.TrimLeft(b, "\r\n")
	if len(b) == 0 {
		return maybe
	}
	n := 0
	for n < len(b) && n < 24 && (b[n] >= 'A' && b[n] <= 'Z' || n > 0 && (b[n] == '-' || b[n] == '_')) {
		n++ // methods are upper-case words in practice
	}
	switch {
	case n == len(b) && n < 24:
		return maybe
	case n == len(b):
		return no
	case n < len(b) && isToken(b[n]):
		return no
	case n < 3 || b[n] != ' ':
		return no
	case n+1 == len(b):
		return maybe
	}
	if ch := b[n+1]; ch <= ' ' && ch != ' ' || ch >= 0x7f {
		return no
	}
	return yes
}

func isToken(ch byte) bool {
	return ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == '!' || ch == '~' || ch == '*' || ch == '+'
}

// requestLine splits "METHOD target HTTP/x.y"; version is nil for HTTP/0.9.
func requestLine(b []byte) (method, target, version []byte, ok bool) {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return nil, nil, nil, false
	}
	method, rest := b[:sp], bytes.TrimLeft(b[sp+1:], " ")
	for _, ch := range method {
		if !isToken(ch) {
			return nil, nil, nil, false
		}
	}
	if bytes.HasPrefix(rest, httpVersion) && bytes.IndexByte(rest, ' ') < 0 {
		return method, nil, rest, true // an empty target
	}
	if i := bytes.LastIndex(rest, []byte(" HTTP/")); i >= 0 {
		return method, bytes.TrimRight(rest[:i], " "), rest[i+1:], true
	}
	return method, rest, nil, true
}

func statusLine(b []byte) (int, bool) {
	if !bytes.HasPrefix(b, httpVersion) {
		return 0, false
	}
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 || len(b) < sp+4 {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[sp+1 : sp+4]))
	if err != nil || n < 100 || n > 999 {
		return 0, false
	}
	return n, true
}

// eachHeader calls f with each header's name and value (trimmed); folded
// continuation lines are joined to the previous value's line only by being
// skipped, which keeps the first line as Zeek does for these fields.
func eachHeader(b []byte, f func(name, value []byte)) {
	for len(b) > 0 {
		var line []byte
		line, b = cutLine(b)
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		f(bytes.TrimSpace(line[:i]), bytes.TrimSpace(line[i+1:]))
	}
}

// ascii compares a header name case-insensitively with a lower-case name.
func ascii(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		ch := b[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

func isChunked(v []byte) bool {
	v = bytes.TrimSpace(v)
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = bytes.TrimSpace(v[i+1:])
	}
	return ascii(v, "chunked")
}

func chunkSize(line []byte) (int64, bool) {
	line = bytes.TrimRight(line, "\r")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(line), 16, 64)
	return n, err == nil && n >= 0
}

// appendURL appends http://host/path?query, from the Host header and the
// request target, to b; an absolute target is kept, CONNECT's authority is
// given as is, and without a Host header the server address stands in.
func appendURL(b []byte, host string, target []byte, server netip.AddrPort, connect bool) []byte {
	if connect {
		return append(b, target...)
	}
	if len(target) >= 7 && (ascii(target[:7], "http://") || len(target) >= 8 && ascii(target[:8], "https://")) {
		return append(b, target...)
	}
	b = append(b, "http://"...)
	switch {
	case host != "":
		b = append(b, host...)
	case server.Port() == 80:
		b = server.Addr().AppendTo(b)
	default:
		b = server.AppendTo(b)
	}
	if string(target) == "*" || len(target) == 0 {
		return b
	}
	if target[0] != '/' {
		b = append(b, '/')
	}
	return append(b, target...)
}

// methods are the request methods given as constants, not copied.
var methods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE"}

// method returns m as a string, without a copy for the usual methods.
func (a *Analyzer) method(m []byte) string {
	for _, s := range methods {
		if string(m) == s {
			return s
		}
	}
	return a.strs.String(m)
}
