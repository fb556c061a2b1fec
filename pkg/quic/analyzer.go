package quic

import (
	"net/netip"
	"sort"
	"time"

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
	version uint32
	source  string
	start   time.Time
	last    time.Time
	frags   []frag
	size    int
	done    bool
}

type frag struct {
	off  uint64
	data []byte
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
	if _, ok := a.conns[key{client: k.server, server: k.client}]; ok {
		return // the server's side of a handshake we follow
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
		if c != nil && c.done {
			return
		}
		if c == nil {
			keys, err := ClientKeys(pkt.Version, pkt.DCID)
			if err != nil {
				return
			}
			c = &conn{keys: keys, version: pkt.Version, start: p.TS, source: p.Source}
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
		Crypto(plain, func(off uint64, data []byte) {
			if c.size+len(data) > a.cfg.MaxCrypto || off > uint64(a.cfg.MaxCrypto) {
				return
			}
			c.frags = append(c.frags, frag{off: off, data: append([]byte(nil), data...)})
			c.size += len(data)
		})
		a.tryHello(c, p, k)
	}
}

// known says whether p belongs to a handshake already followed (later
// Initial packets may be smaller than 1200 bytes).
func (a *Analyzer) known(p *decode.Packet) bool {
	if len(a.conns) == 0 {
		return false
	}
	_, ok := a.conns[key{client: netip.AddrPortFrom(p.Src, p.SrcPort), server: netip.AddrPortFrom(p.Dst, p.DstPort)}]
	return ok
}

// tryHello assembles the CRYPTO stream from offset 0 and parses the
// ClientHello once it is complete.
func (a *Analyzer) tryHello(c *conn, p *decode.Packet, k key) {
	sort.Slice(c.frags, func(i, j int) bool { return c.frags[i].off < c.frags[j].off })
	var stream []byte
	for _, f := range c.frags {
		end := f.off + uint64(len(f.data))
		switch {
		case f.off > uint64(len(stream)):
			goto assembled // a hole: wait for more packets
		case end > uint64(len(stream)):
			stream = append(stream, f.data[uint64(len(stream))-f.off:]...)
		}
	}
assembled:
	if len(stream) < 4 {
		return
	}
	if stream[0] != 1 { // not a ClientHello
		c.done, c.frags = true, nil
		a.stats.Malformed++
		return
	}
	n := int(stream[1])<<16 | int(stream[2])<<8 | int(stream[3])
	if len(stream) < 4+n {
		return
	}
	c.done, c.frags = true, nil
	ch, _ := handshake.ParseClientHello(stream[4 : 4+n])
	if ch == nil {
		a.stats.Malformed++
		return
	}
	ev := &event.Event{Type: event.TypeTLS, TS: c.start, Proto: "udp", Source: c.source,
		SrcIP: k.client.Addr(), SrcPort: k.client.Port(), DestIP: k.server.Addr(), DestPort: k.server.Port()}
	handshake.Fill(ev, ch, 'q')
	a.stats.Events++
	a.emit(ev)
}

func (a *Analyzer) evictOldest() {
	var oldest key
	var t time.Time
	for k, c := range a.conns {
		if t.IsZero() || c.last.Before(t) {
			oldest, t = k, c.last
		}
	}
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
			delete(a.conns, k)
		}
	}
}

// Close forgets every handshake; an incomplete ClientHello gives no event.
func (a *Analyzer) Close() { clear(a.conns) }
