package handshake

import (
	"crypto/md5"
	"encoding/hex"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// Config bounds the analyser. Zero fields take DefaultConfig's values.
type Config struct {
	MaxMessage  int           // bytes of one handshake message (certificate chains are large)
	MaxStartTLS int           // plaintext bytes watched for a STARTTLS upgrade
	MaxHeld     int           // bytes of partial records and messages held over all connections
	Stream      stream.Config // reassembly, when the analyser runs its own
}

// DefaultConfig allows 256 KiB handshake messages, holds at most 32 MiB of
// partial handshakes in all, and watches 16 KiB of plaintext for STARTTLS.
func DefaultConfig() Config {
	return Config{MaxMessage: 256 << 10, MaxStartTLS: 16 << 10, MaxHeld: 32 << 20, Stream: stream.DefaultConfig()}
}

// Stats counts what the analyser saw.
type Stats struct {
	Conns     int64 // connections recognised as TLS
	Events    int64 // events emitted
	Malformed int64 // TLS connections whose handshake could not be parsed
	BadCerts  int64 // leaf certificates too large or not parsed
	Dropped   int64 // handshakes given up because MaxHeld was reached
	Held      int   // bytes of partial handshakes held now
}

// Analyzer follows TLS handshakes in TCP connections. Use it from one
// goroutine.
type Analyzer struct {
	cfg        Config
	emit       func(*event.Event)
	stats      Stats
	stream.Own // reassembly when used alone, as a decode.Handler
	held       int
	// free holds emitted events for reuse, and fill makes their
	// fingerprint strings out of an arena: an event and its strings
	// apiece were most of the analyser's garbage on short connections.
	free  []*event.Event
	conns []*conn // ended connections, for reuse
	fill  filler
	strs  event.Arena // of fill and of the connections' ClientHellos
}

// New returns an analyser calling emit once per TLS connection; the event
// is the analyser's again when emit returns (copy what is kept: it is
// reused for a later connection). The Analyzer is a decode.Handler with its own
// reassembly; to share one reassembler among analysers give Conn to
// stream.New (through stream.Fanout) instead.
func New(cfg Config, emit func(*event.Event)) *Analyzer {
	d := DefaultConfig()
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = d.MaxMessage
	}
	if cfg.MaxStartTLS <= 0 {
		cfg.MaxStartTLS = d.MaxStartTLS
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = d.MaxHeld
	}
	a := &Analyzer{cfg: cfg, emit: emit}
	a.fill.strs = &a.strs
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
		*c = conn{a: a, id: id, transport: 't', hello: c.hello, shello: c.shello}
		return c
	}
	c := &conn{a: a, id: id, transport: 't'}
	c.hello.strs = &a.strs
	return c
}

// Record content types.
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
)

// Handshake message types.
const (
	msgClientHello     = 1
	msgServerHello     = 2
	msgCertificate     = 11
	msgServerHelloDone = 14
)

// half is the record layer of one direction.
type half struct {
	rec       []byte // an incomplete record
	msg       []byte // handshake bytes not yet forming a whole message
	encrypted bool   // after ChangeCipherSpec: handshake records are opaque
	plain     int    // plaintext bytes seen before TLS (STARTTLS)
}

type conn struct {
	a       *Analyzer
	id      stream.ID
	tls     bool
	done    bool
	h       [2]half
	ch      *ClientHello
	sh      *ServerHello
	chFirst stream.Dir // direction that sent the ClientHello
	ev      *event.Event
	held    int // bytes of this connection counted in Analyzer.held
	// JA4's transport letter: t for TLS over TCP (made by Conn for a
	// stream, which calls nothing on it after End, so it is reused then),
	// d for DTLS (which keeps its own).
	transport byte
	// The storage of ch and sh, kept when c is reused.
	hello  ClientHello
	shello ServerHello
}

// account updates the bytes held for c, and gives c up when all the
// connections together hold more than allowed.
func (c *conn) account() {
	n := len(c.h[0].rec) + len(c.h[1].rec) + len(c.h[0].msg) + len(c.h[1].msg)
	c.a.held += n - c.held
	c.held = n
	if c.a.held > c.a.cfg.MaxHeld && !c.done {
		c.a.stats.Dropped++
		c.finish()
	}
}

// Data runs the record layer over one direction's bytes.
func (c *conn) Data(d stream.Dir, b []byte, ts time.Time) bool {
	if c.done {
		return false
	}
	h := &c.h[d]
	if !c.tls {
		if !startsRecord(b) {
			// Not TLS (yet): watch a while for a STARTTLS upgrade, whose
			// ClientHello starts a segment of its own.
			h.plain += len(b)
			if h.plain > c.a.cfg.MaxStartTLS || c.h[0].plain+c.h[1].plain > 2*c.a.cfg.MaxStartTLS {
				c.done = true
				return false
			}
			return true
		}
		c.tls = true
		c.a.stats.Conns++
	}
	if len(h.rec) > 0 {
		h.rec = append(h.rec, b...)
		b = h.rec
	}
	for len(b) >= 5 && !c.done {
		n := int(b[3])<<8 | int(b[4])
		if !validRecordHeader(b) || n > 1<<14+2048 {
			c.malformed()
			break
		}
		if len(b) < 5+n {
			break
		}
		c.record(d, h, b[0], b[5:5+n])
		b = b[5+n:]
	}
	if c.done {
		h.rec = nil
		return false
	}
	if len(b) > 0 {
		// Keep the partial record; copy since b may be the caller's.
		h.rec = append(h.rec[:0:0], b...)
	} else {
		h.rec = h.rec[:0]
	}
	c.account()
	return !c.done
}

func startsRecord(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) < 3 {
		return b[0] == recHandshake
	}
	return b[0] == recHandshake && validRecordHeader(b)
}

func validRecordHeader(b []byte) bool {
	if b[0] < recChangeCipherSpec || b[0] > 24 {
		return false
	}
	return b[1] == 3 && b[2] <= 4 || b[1] == 0xfe // TLS, or DTLS in a test
}

func (c *conn) malformed() {
	c.a.stats.Malformed++
	c.finish()
}

func (c *conn) record(d stream.Dir, h *half, typ byte, body []byte) {
	switch typ {
	case recChangeCipherSpec:
		h.encrypted = true
		// A resumed session (no certificate) is complete when the server
		// switches to encryption.
		if c.sh != nil && rank(c.sh.Negotiated()) < 0x0304 && d != c.chFirst {
			c.finish()
		}
	case recApplicationData:
		if c.sh != nil || c.ch != nil && d == c.chFirst {
			c.finish()
		}
	case recHandshake:
		if h.encrypted {
			return
		}
		// Whole messages are read where they are; only a partial one
		// is copied, to wait for the rest.
		m := body
		if len(h.msg) > 0 {
			h.msg = append(h.msg, body...)
			m = h.msg
		}
		for len(m) >= 4 && !c.done {
			n := int(m[1])<<16 | int(m[2])<<8 | int(m[3])
			if m[0] == msgCertificate && len(m) >= 10 {
				// Only the leaf is needed: do not wait for a long chain.
				leaf := int(m[7])<<16 | int(m[8])<<8 | int(m[9])
				if leaf <= c.a.cfg.MaxMessage && len(m) >= 10+leaf {
					n = min(n, len(m)-4)
				}
			}
			if n > c.a.cfg.MaxMessage {
				if m[0] == msgCertificate {
					c.a.stats.BadCerts++ // a leaf beyond the bound
					c.finish()
				} else {
					c.malformed()
				}
				return
			}
			if len(m) < 4+n {
				break
			}
			c.message(d, m[0], m[4:4+n])
			if c.done {
				return
			}
			m = m[4+n:]
		}
		switch {
		case c.done:
		case len(m) == 0:
			h.msg = nil
		case len(h.msg) > 0:
			h.msg = m // already our copy
		default:
			h.msg = append([]byte(nil), m...)
		}
	}
}

func (c *conn) message(d stream.Dir, typ byte, body []byte) {
	switch typ {
	case msgClientHello:
		if c.ch != nil {
			return
		}
		// A truncated extension list keeps what was read.
		if ok, _ := c.hello.parse(body); !ok {
			c.malformed()
			return
		}
		c.ch, c.chFirst = &c.hello, d
	case msgServerHello:
		if c.sh != nil {
			return
		}
		if err := c.shello.parse(body); err != nil {
			c.malformed()
			return
		}
		c.sh = &c.shello
		if v := c.sh.Negotiated(); v >= 0x0304 && v < 0xfe00 || v>>8 == 0x7f || v == 0xfefc {
			c.finish() // TLS 1.3: the rest is encrypted
		}
	case msgCertificate:
		c.certificate(body)
		c.finish()
	case msgServerHelloDone:
		c.finish()
	}
}

// certificate reads the leaf of a TLS 1.2 Certificate message.
func (c *conn) certificate(body []byte) {
	r := reader{b: body}
	list := reader{b: r.bytes(int(r.u8())<<16 | int(r.u16()))}
	der := list.bytes(int(list.u8())<<16 | int(list.u16()))
	if list.bad || len(der) == 0 {
		return
	}
	ev := c.event()
	if !Leaf(der, ev) {
		c.a.stats.BadCerts++
	}
}

func (c *conn) event() *event.Event {
	if c.ev == nil {
		client, server := c.id.Client, c.id.Server
		if c.ch != nil && c.chFirst == stream.ServerToClient {
			client, server = server, client
		}
		proto := "tcp"
		if c.transport == 'd' {
			proto = "udp"
		}
		if n := len(c.a.free); n > 0 {
			c.ev = c.a.free[n-1]
			c.a.free = c.a.free[:n-1]
		} else {
			c.ev = new(event.Event)
		}
		*c.ev = event.Event{Type: event.TypeTLS, TS: c.id.Start, Proto: proto, Source: c.id.Source, TunnelParent: c.id.TunnelParent,
			SrcIP: client.Addr(), SrcPort: client.Port(), DestIP: server.Addr(), DestPort: server.Port()}
	}
	return c.ev
}

// finish emits the connection's event once.
func (c *conn) finish() {
	if c.done {
		return
	}
	c.done = true
	c.h[0].rec, c.h[1].rec, c.h[0].msg, c.h[1].msg = nil, nil, nil, nil
	c.a.held -= c.held
	c.held = 0
	if c.ch == nil && c.sh == nil {
		return
	}
	ev := c.event()
	a := c.a
	if c.ch != nil {
		a.fill.fill(ev, c.ch, c.transport)
	}
	if c.sh != nil {
		ev.TLSVersion = VersionName(c.sh.Negotiated())
		a.fill.buf = c.sh.appendJA3S(a.fill.buf[:0])
		ev.JA3SRaw, ev.JA3S = a.fill.md5(a.fill.buf)
	}
	a.stats.Events++
	a.emit(ev)
	c.ev = nil
	if len(a.free) < 1024 {
		a.free = append(a.free, ev)
	}
}

// Fill sets the ClientHello's fields of ev: sni, the offered version, alpn,
// ja3 and ja4 (with the given transport letter).
func Fill(ev *event.Event, ch *ClientHello, transport byte) {
	var f filler
	f.fill(ev, ch, transport)
}

// A filler makes the fingerprints of events, in a buffer it keeps, and
// their strings out of strs: an analyser's arena, reused for every
// connection, or nil for one allocation each (Fill, for the odd QUIC
// connection).
type filler struct {
	strs *event.Arena
	buf  []byte
}

func (f *filler) fill(ev *event.Event, ch *ClientHello, transport byte) {
	ev.SNI = ch.SNI
	ev.TLSVersion = VersionName(ch.Offered())
	if len(ch.ALPN) > 0 {
		ev.ALPN = ch.ALPN
	}
	f.buf = ch.appendJA3(f.buf[:0])
	ev.JA3Raw, ev.JA3 = f.md5(f.buf)
	f.buf = ch.appendJA4(f.buf[:0], transport)
	ev.JA4 = f.strs.String(f.buf)
}

// md5 returns raw as a string and its MD5 in hex (JA3, JA3S).
func (f *filler) md5(raw []byte) (string, string) {
	sum := md5.Sum(raw)
	var h [2 * md5.Size]byte
	hex.Encode(h[:], sum[:])
	return f.strs.String(raw), f.strs.String(h[:])
}

// Gap: a hole in the handshake ends our view of it.
func (c *conn) Gap(d stream.Dir, n int) {
	if c.tls && !c.done {
		c.finish()
	}
	c.done = true
}

// End emits what was seen of the handshake.
func (c *conn) End(time.Time) {
	if c.tls {
		c.finish()
	}
	c.done = true
	if a := c.a; c.transport == 't' && len(a.conns) < 1024 {
		a.conns = append(a.conns, c)
	}
}
