package quic

import (
	"net/netip"
	"sort"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/handshake"
)

// Config bounds the analyser. Zero fields take DefaultConfig's values.
type Config struct {
	MaxConns  int           // QUIC connections followed at once
	MaxCrypto int           // CRYPTO bytes collected per connection
	Idle      time.Duration // a connection quiet this long is forgotten
}

// DefaultConfig follows 16384 handshakes at once, collects up to 64 KiB of
// CRYPTO data each, and forgets them after 30 s.
func DefaultConfig() Config {
	return Config{MaxConns: 1 << 14, MaxCrypto: 64 << 10, Idle: 30 * time.Second}
}

// Stats counts what the analyser saw.
type Stats struct {
	Initials  int64 // client Initial packets decrypted
	Undecrypt int64 // long-header packets that looked like Initials but did not decrypt
	Events    int64 // ClientHellos read
	Malformed int64 // ClientHellos that did not parse
	Evicted   int64 // handshakes dropped because MaxConns was reached
}

type key struct {
	client, server netip.AddrPort
}

type conn struct {
	keys    *Keys
	server  *Keys // the server's Initial keys, from the same connection id
	version uint32
	source  string
	parent  string // the tunnel's Community ID, inside one
	start   time.Time
	last    time.Time
	// CRYPTO data of each side's Initial packets, until its hello is read.
	cfrags, sfrags crypto
	ev             *event.Event // ClientHello read, waiting for the ServerHello
	done           bool         // emitted (or given up)
}

// crypto collects the CRYPTO frames of one side.
type crypto struct {
	frags []frag
	size  int
}

type frag struct {
	off  uint64
	data []byte
}

func (cr *crypto) add(off uint64, data []byte, max int) {
	if cr.size+len(data) > max || off > uint64(max) {
		return
	}
	cr.frags = append(cr.frags, frag{off: off, data: append([]byte(nil), data...)})
	cr.size += len(data)
}

// message returns the first handshake message of the CRYPTO stream (type
// and body) once it is complete.
func (cr *crypto) message() (byte, []byte, bool) {
	sort.Slice(cr.frags, func(i, j int) bool { return cr.frags[i].off < cr.frags[j].off })
	var stream []byte
	for _, f := range cr.frags {
		if f.off > uint64(len(stream)) {
			break // a hole: wait for more packets
		}
		if end := f.off + uint64(len(f.data)); end > uint64(len(stream)) {
			stream = append(stream, f.data[uint64(len(stream))-f.off:]...)
		}
	}
	if len(stream) < 4 {
		return 0, nil, false
	}
	n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
	if len(stream) < 4+n {
		return 0, nil, false
	}
	return stream[0], stream[4 : 4+n], true
}

// Analyzer reads QUIC client Initials. It is a decode.Handler; use it from
// one goroutine.
type Analyzer struct {
	cfg   Config
	emit  func(*event.Event)
	conns map[key]*conn
	buf   []byte
	now   time.Time
	stats Stats
}

// New returns an analyser calling emit with one tls event (proto udp) per
// QUIC connection whose ClientHello it reads; the event belongs to the
// callee.
func New(cfg Config, emit func(*event.Event)) *Analyzer {
	d := DefaultConfig()
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = d.MaxConns
	}
	if cfg.MaxCrypto <= 0 {
		cfg.MaxCrypto = d.MaxCrypto
	}
	if cfg.Idle <= 0 {
		cfg.Idle = d.Idle
	}
	return &Analyzer{cfg: cfg, emit: emit, conns: map[key]*conn{}}
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats { return a.stats }

// HandlePacket looks for client Initial packets in UDP datagrams.
func (a *Analyzer) HandlePacket(p *decode.Packet) {
	if p.Proto != decode.ProtoUDP || len(p.Payload) < 1200 && !a.known(p) {
		// RFC 9000 14.1: a client's Initial datagram is at least 1200 bytes.
		return
	}
	b := p.Payload
	if len(b) == 0 || b[0]&0xc0 != 0xc0 {
		return // not a long header with the fixed bit
	}
	if p.TS.After(a.now) {
		a.Advance(p.TS)
	}
	k := key{client: netip.AddrPortFrom(p.Src, p.SrcPort), server: netip.AddrPortFrom(p.Dst, p.DstPort)}
	if c := a.conns[key{client: k.server, server: k.client}]; c != nil {
		a.serverPacket(c, b, p)
		return
	}
	for len(b) > 0 {
		pkt, err := ParseLong(b)
		if err != nil {
			return
		}
		b = pkt.Rest
		if pkt.Type != InitialType {
			continue
		}
		c := a.conns[k]
		if c != nil && (c.done || c.ev != nil) {
			return // the ClientHello is read
		}
		if c == nil {
			keys, err := ClientKeys(pkt.Version, pkt.DCID)
			if err != nil {
				return
			}
			server, _ := ServerKeys(pkt.Version, pkt.DCID)
			c = &conn{keys: keys, server: server, version: pkt.Version, start: p.TS, source: p.Source, parent: communityid.Parent(p.Parent)}
		}
		plain, err := c.keys.Decrypt(pkt, a.buf[:0])
		if err != nil {
			a.stats.Undecrypt++
			return
		}
		a.buf = plain[:0]
		a.stats.Initials++
		if a.conns[k] == nil {
			if len(a.conns) >= a.cfg.MaxConns {
				a.evictOldest()
			}
			a.conns[k] = c
		}
		c.last = p.TS
		Crypto(plain, func(off uint64, data []byte) { c.cfrags.add(off, data, a.cfg.MaxCrypto) })
		a.clientHello(c, k)
	}
}

// serverPacket reads the server's Initial packets for its ServerHello.
func (a *Analyzer) serverPacket(c *conn, b []byte, p *decode.Packet) {
	if c.done || c.ev == nil || c.server == nil {
		return
	}
	c.last = p.TS
	for len(b) > 0 && b[0]&0xc0 == 0xc0 {
		pkt, err := ParseLong(b)
		if err != nil {
			return
		}
		b = pkt.Rest
		if pkt.Type != InitialType {
			continue
		}
		plain, err := c.server.Decrypt(pkt, a.buf[:0])
		if err != nil {
			return
		}
		a.buf = plain[:0]
		Crypto(plain, func(off uint64, data []byte) { c.sfrags.add(off, data, a.cfg.MaxCrypto) })
		typ, body, ok := c.sfrags.message()
		if !ok {
			continue
		}
		if sh, err := handshake.ParseServerHello(body); typ == 2 && err == nil {
			c.ev.TLSVersion = handshake.VersionName(sh.Negotiated())
			c.ev.JA3SRaw, c.ev.JA3S = sh.JA3S()
		}
		a.finish(c)
		return
	}
}

// known says whether p belongs to a handshake already followed (later
// Initial packets, and the server's, may be smaller than 1200 bytes).
func (a *Analyzer) known(p *decode.Packet) bool {
	if len(a.conns) == 0 {
		return false
	}
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	if _, ok := a.conns[key{client: src, server: dst}]; ok {
		return true
	}
	_, ok := a.conns[key{client: dst, server: src}] // the server's answer
	return ok
}

// clientHello parses the ClientHello once the CRYPTO stream holds it
// whole; the event then waits for the server's answer (or the end).
func (a *Analyzer) clientHello(c *conn, k key) {
	typ, body, ok := c.cfrags.message()
	if !ok {
		return
	}
	c.cfrags = crypto{}
	var ch *handshake.ClientHello
	if typ == 1 {
		ch, _ = handshake.ParseClientHello(body)
	}
	if ch == nil {
		c.done = true
		a.stats.Malformed++
		return
	}
	c.ev = &event.Event{Type: event.TypeTLS, TS: c.start, Proto: "udp", Source: c.source, TunnelParent: c.parent,
		SrcIP: k.client.Addr(), SrcPort: k.client.Port(), DestIP: k.server.Addr(), DestPort: k.server.Port()}
	handshake.Fill(c.ev, ch, 'q')
}

// finish emits c's event once.
func (a *Analyzer) finish(c *conn) {
	if c.done || c.ev == nil {
		c.done = true
		return
	}
	c.done, c.sfrags = true, crypto{}
	a.stats.Events++
	a.emit(c.ev)
	c.ev = nil
}

func (a *Analyzer) evictOldest() {
	var oldest key
	var t time.Time
	for k, c := range a.conns {
		if t.IsZero() || c.last.Before(t) {
			oldest, t = k, c.last
		}
	}
	a.finish(a.conns[oldest])
	delete(a.conns, oldest)
	a.stats.Evicted++
}

// Advance forgets handshakes idle for longer than Idle.
func (a *Analyzer) Advance(now time.Time) {
	if !now.After(a.now) {
		return
	}
	// Sweep at most once per Idle/4: handshakes are short-lived.
	if now.Sub(a.now) < a.cfg.Idle/4 && !a.now.IsZero() {
		return
	}
	a.now = now
	for k, c := range a.conns {
		if now.Sub(c.last) >= a.cfg.Idle {
			a.finish(c)
			delete(a.conns, k)
		}
	}
}

// Close emits the ClientHellos still waiting for an answer, oldest first,
// and forgets every handshake; an incomplete ClientHello gives no event.
func (a *Analyzer) Close() {
	cs := make([]*conn, 0, len(a.conns))
	for _, c := range a.conns {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].start.Before(cs[j].start) })
	for _, c := range cs {
		a.finish(c)
	}
	clear(a.conns)
}
