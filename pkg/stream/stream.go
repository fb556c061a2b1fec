// Package stream reassembles TCP connections for the content analysers (HTTP,
// TLS): each direction's bytes are handed over in order, once, whatever order
// the segments arrived in. As in Zeek, retransmitted bytes are delivered once
// (the first copy wins on overlap), and a hole that the receiver acknowledged
// (so it will never be filled) or that the buffer limits cannot wait for
// becomes a gap: the consumer is told how many bytes are missing and delivery
// resumes after it. Memory is bounded per direction and in total; what the
// bounds drop is counted.
package stream

import (
	"net/netip"
	"sort"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/flow"
)

// Dir is a direction of a connection.
type Dir int

// Directions: ClientToServer is from the originator (the SYN sender, else the
// sender of the first packet).
const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
)

// ID identifies a connection to its consumers.
type ID struct {
	Client, Server netip.AddrPort
	Start          time.Time // timestamp of the first packet
	Source         string    // the packet source (interface or file) of the first packet
	// TunnelParent is the Community ID of the tunnel connection the first
	// packet came out of, "" outside tunnels.
	TunnelParent string
}

// Conn consumes one connection.
type Conn interface {
	// Data delivers in-order bytes of one direction; b is valid only during
	// the call. Returning false says the consumer wants no more data of this
	// connection (End is still called).
	Data(d Dir, b []byte, ts time.Time) bool
	// Gap says n bytes of direction d are missing before the next Data.
	Gap(d Dir, n int)
	// End says the connection is over (FIN, RST, timeout, eviction, Close).
	End(ts time.Time)
}

// Factory returns the consumer of a new connection, or nil to ignore it.
type Factory func(id ID) Conn

// Config bounds the reassembler. Zero fields take DefaultConfig's values.
type Config struct {
	MaxConns     int           // connections followed at once; the oldest is ended when full
	MaxPerStream int           // out-of-order bytes held per direction
	MaxTotal     int           // out-of-order bytes held in all
	Idle         time.Duration // a connection quiet this long is ended
}

// DefaultConfig follows 65536 connections, holds up to 256 KiB out of order
// per direction and 64 MiB in all, and ends connections idle for 5 minutes.
func DefaultConfig() Config {
	return Config{MaxConns: 1 << 16, MaxPerStream: 256 << 10, MaxTotal: 64 << 20, Idle: 5 * time.Minute}
}

// Stats counts what the reassembler did.
type Stats struct {
	Conns        int64 // connections followed
	Evicted      int64 // ended early because MaxConns was reached
	Gaps         int64 // holes skipped
	GapBytes     int64 // bytes in those holes
	Retransmits  int64 // segments whose bytes had all been delivered
	Dropped      int64 // out-of-order segments dropped by the memory bounds
	DroppedBytes int64
	Buffered     int // out-of-order bytes held now
}

type segment struct {
	seq  uint32
	data []byte
}

type half struct {
	init     bool
	next     uint32 // next sequence number to deliver
	fin      bool
	finSeq   uint32
	ooo      []segment // out of order, sorted by seq
	buffered int
}

type conn struct {
	ended      bool // FIN both ways or RST: kept a while to swallow late packets
	key        flow.Key
	id         ID
	c          Conn
	done       bool // consumer wants no more data
	half       [2]half
	rst        bool
	last       time.Time
	prev, next *conn
}

// Reassembler is a decode.Handler feeding TCP payload to consumers.
type Reassembler struct {
	cfg     Config
	factory Factory
	conns   *flow.Index[*conn]
	live    list // least recently active first
	closed  list // ended connections by end time, kept for Grace
	now     time.Time
	stats   Stats
	free    []*conn // forgotten connections, for reuse
}

// New returns a reassembler that asks factory for each new connection's
// consumer.
func New(cfg Config, factory Factory) *Reassembler {
	d := DefaultConfig()
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = d.MaxConns
	}
	if cfg.MaxPerStream <= 0 {
		cfg.MaxPerStream = d.MaxPerStream
	}
	if cfg.MaxTotal <= 0 {
		cfg.MaxTotal = d.MaxTotal
	}
	if cfg.Idle <= 0 {
		cfg.Idle = d.Idle
	}
	return &Reassembler{cfg: cfg, factory: factory, conns: flow.NewIndex(func(c *conn) flow.Key { return c.key })}
}

// Stats returns the counters.
func (r *Reassembler) Stats() Stats { return r.stats }

type list struct{ head, tail *conn }

func (l *list) push(c *conn) {
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *list) unlink(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// Grace is how long an ended connection is remembered, so that its last
// ACKs and retransmitted FINs do not start a new one.
const Grace = 5 * time.Second

// HandlePacket takes one packet; non-TCP packets are ignored.
func (r *Reassembler) HandlePacket(p *decode.Packet) {
	if p.Proto != decode.ProtoTCP {
		return
	}
	if p.TS.After(r.now) {
		r.expire(p.TS)
	}
	k, _ := flow.MakeKey(p)
	c, _ := r.conns.Get(k)
	if c != nil && c.ended {
		if p.TCPFlags&(decode.SYN|decode.ACK) != decode.SYN {
			return // a late packet of a connection that ended
		}
		r.forget(c) // the ports are reused by a new connection
		c = nil
	}
	if c == nil {
		if p.TCPFlags&decode.RST != 0 {
			return // nothing to follow
		}
		if r.conns.Len() >= r.cfg.MaxConns {
			if r.closed.head != nil {
				r.forget(r.closed.head)
			} else {
				r.stats.Evicted++
				r.end(r.live.head, p.TS)
				r.forget(r.closed.tail)
			}
		}
		c = r.open(k, p)
	} else {
		r.live.unlink(c)
		r.live.push(c)
	}
	c.last = p.TS
	d := ClientToServer
	if netip.AddrPortFrom(p.Src, p.SrcPort) != c.id.Client {
		d = ServerToClient
	}
	h := &c.half[d]
	fl := p.TCPFlags
	if !h.init {
		h.init = true
		h.next = p.Seq
		if fl&decode.SYN != 0 {
			h.next++
		}
	}
	if !c.done {
		seq := p.Seq
		if fl&decode.SYN != 0 {
			seq++
		}
		if p.PayloadLen > 0 {
			r.segment(c, d, seq, p.Payload, p.PayloadLen)
		}
		// The peer acknowledged bytes we never saw: they will not come.
		if fl&decode.ACK != 0 {
			r.acked(c, 1-d, p.Ack)
		}
	}
	if fl&decode.FIN != 0 && !h.fin {
		h.fin = true
		h.finSeq = p.Seq + uint32(p.PayloadLen)
		if fl&decode.SYN != 0 {
			h.finSeq++
		}
	}
	if fl&decode.RST != 0 {
		c.rst = true
	}
	if c.rst || c.half[0].fin && c.half[1].fin && r.finished(c) {
		r.end(c, p.TS)
	}
}

// finished says both directions delivered everything up to their FIN.
func (r *Reassembler) finished(c *conn) bool {
	for d := range c.half {
		h := &c.half[d]
		if !c.done && int32(h.finSeq-h.next) > 0 {
			return false
		}
	}
	return true
}

func (r *Reassembler) open(k flow.Key, p *decode.Packet) *conn {
	id := ID{Client: netip.AddrPortFrom(p.Src, p.SrcPort), Server: netip.AddrPortFrom(p.Dst, p.DstPort),
		Start: p.TS, Source: p.Source}
	id.TunnelParent = communityid.Parent(p.Parent)
	if p.TCPFlags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK {
		id.Client, id.Server = id.Server, id.Client
	}
	var c *conn
	if n := len(r.free); n > 0 {
		c, r.free = r.free[n-1], r.free[:n-1]
		*c = conn{key: k, id: id}
	} else {
		c = &conn{key: k, id: id}
	}
	r.stats.Conns++
	c.c = r.factory(id)
	c.done = c.c == nil
	r.conns.Put(k, c)
	r.live.push(c)
	return c
}

// segment places payload bytes starting at seq.
func (r *Reassembler) segment(c *conn, d Dir, seq uint32, data []byte, wireLen int) {
	h := &c.half[d]
	rel := int32(seq - h.next)
	if rel <= 0 {
		skip := int(-rel)
		if skip >= wireLen {
			r.stats.Retransmits++
			return
		}
		if skip < len(data) {
			r.deliver(c, d, data[skip:])
		}
		if len(data) < wireLen {
			// The snap length cut the segment: the rest is a gap.
			r.gap(c, d, seq+uint32(wireLen))
		}
		r.drain(c, d)
		return
	}
	if h.buffered+len(data) > r.cfg.MaxPerStream {
		// Waiting longer would exceed the bound: give up on the hole.
		r.skipHole(c, d)
		if int32(seq-h.next) <= 0 {
			r.segment(c, d, seq, data, wireLen)
			return
		}
	}
	if r.stats.Buffered+len(data) > r.cfg.MaxTotal || h.buffered+len(data) > r.cfg.MaxPerStream {
		r.stats.Dropped++
		r.stats.DroppedBytes += int64(len(data))
		return
	}
	i := sort.Search(len(h.ooo), func(i int) bool { return int32(h.ooo[i].seq-seq) >= 0 })
	if i < len(h.ooo) && h.ooo[i].seq == seq && len(h.ooo[i].data) >= len(data) {
		r.stats.Retransmits++
		return
	}
	h.ooo = append(h.ooo, segment{})
	copy(h.ooo[i+1:], h.ooo[i:])
	h.ooo[i] = segment{seq: seq, data: append([]byte(nil), data...)}
	h.buffered += len(data)
	r.stats.Buffered += len(data)
}

func (r *Reassembler) deliver(c *conn, d Dir, b []byte) {
	h := &c.half[d]
	h.next += uint32(len(b))
	if c.done {
		return
	}
	if !c.c.Data(d, b, c.last) {
		c.done = true
		r.release(c)
	}
}

// drain delivers buffered segments that have become in order.
func (r *Reassembler) drain(c *conn, d Dir) {
	h := &c.half[d]
	n := 0
	for n < len(h.ooo) {
		s := h.ooo[n]
		rel := int32(s.seq - h.next)
		if rel > 0 {
			break
		}
		n++
		h.buffered -= len(s.data)
		r.stats.Buffered -= len(s.data)
		if int(-rel) < len(s.data) && !c.done {
			r.deliver(c, d, s.data[-rel:])
		}
		if c.done {
			return
		}
	}
	h.ooo = h.ooo[:copy(h.ooo, h.ooo[n:])]
}

// skipHole declares the hole before the first buffered segment a gap.
func (r *Reassembler) skipHole(c *conn, d Dir) {
	h := &c.half[d]
	if len(h.ooo) == 0 {
		return
	}
	r.gap(c, d, h.ooo[0].seq)
	r.drain(c, d)
}

func (r *Reassembler) gap(c *conn, d Dir, upto uint32) {
	h := &c.half[d]
	n := int32(upto - h.next)
	if n <= 0 {
		return
	}
	r.stats.Gaps++
	r.stats.GapBytes += int64(n)
	h.next = upto
	if !c.done {
		c.c.Gap(d, int(n))
	}
}

// acked handles an acknowledgement of direction d's bytes up to ack.
func (r *Reassembler) acked(c *conn, d Dir, ack uint32) {
	h := &c.half[d]
	if !h.init || c.done {
		return
	}
	if h.fin && ack == h.finSeq+1 {
		ack = h.finSeq
	}
	for int32(ack-h.next) > 0 {
		upto := ack
		if len(h.ooo) > 0 && int32(h.ooo[0].seq-ack) < 0 {
			upto = h.ooo[0].seq
		}
		if upto == h.next {
			break
		}
		r.gap(c, d, upto)
		r.drain(c, d)
		if c.done || len(h.ooo) == 0 {
			break
		}
	}
}

func (r *Reassembler) release(c *conn) {
	for d := range c.half {
		h := &c.half[d]
		r.stats.Buffered -= h.buffered
		h.buffered, h.ooo = 0, nil
	}
}

// end flushes what is buffered (holes become gaps) and ends c.
func (r *Reassembler) end(c *conn, ts time.Time) {
	for d := range c.half {
		for !c.done && len(c.half[d].ooo) > 0 {
			r.skipHole(c, Dir(d))
		}
	}
	r.release(c)
	if c.c != nil {
		c.c.End(ts)
		c.c = nil
	}
	c.done, c.ended, c.last = true, true, ts
	r.live.unlink(c)
	r.closed.push(c)
}

func (r *Reassembler) forget(c *conn) {
	r.closed.unlink(c)
	r.conns.Delete(c.key)
	if len(r.free) < 1024 {
		r.free = append(r.free, c) // ended: nothing refers to it any more
	}
}

// Advance ends connections idle since before now-Idle.
func (r *Reassembler) Advance(now time.Time) {
	if now.After(r.now) {
		r.expire(now)
	}
}

func (r *Reassembler) expire(now time.Time) {
	r.now = now
	// now.Sub(c.last) >= Idle, as !c.last.After(now - Idle): this runs
	// for nearly every packet, and Time.Sub costs an Add and an Equal.
	if c := r.live.head; c != nil {
		idle := now.Add(-r.cfg.Idle)
		for ; c != nil && !c.last.After(idle); c = r.live.head {
			r.end(c, c.last)
		}
	}
	if c := r.closed.head; c != nil {
		grace := now.Add(-Grace)
		for ; c != nil && !c.last.After(grace); c = r.closed.head {
			r.forget(c)
		}
	}
}

// Close ends every connection, oldest first.
func (r *Reassembler) Close() {
	for c := r.live.head; c != nil; c = r.live.head {
		r.end(c, c.last)
	}
	for c := r.closed.head; c != nil; c = r.closed.head {
		r.forget(c)
	}
}

// Fanout returns a Factory giving each connection to every factory's
// consumer, so one reassembler serves several analysers.
func Fanout(fs ...Factory) Factory {
	var free []*multi // ended fan-outs, for reuse
	return func(id ID) Conn {
		var m *multi
		if n := len(free); n > 0 {
			m, free = free[n-1], free[:n-1]
			*m = multi{}
		} else {
			m = new(multi) // one allocation for a small fan-out
		}
		m.free = &free
		m.cs = m.small[:0]
		for _, f := range fs {
			if c := f(id); c != nil {
				m.cs = append(m.cs, c)
			}
		}
		switch len(m.cs) {
		case 0:
			free = append(free, m)
			return nil
		case 1:
			c := m.cs[0]
			free = append(free, m)
			return c
		}
		m.live = m.liveSmall[:0]
		for range m.cs {
			m.live = append(m.live, true)
		}
		return m
	}
}

type multi struct {
	cs        []Conn
	live      []bool
	small     [4]Conn
	liveSmall [4]bool
	free      *[]*multi // Fanout's, where End puts m back
}

func (m *multi) Data(d Dir, b []byte, ts time.Time) bool {
	any := false
	for i, c := range m.cs {
		if m.live[i] {
			m.live[i] = c.Data(d, b, ts)
			any = any || m.live[i]
		}
	}
	return any
}

func (m *multi) Gap(d Dir, n int) {
	for i, c := range m.cs {
		if m.live[i] {
			c.Gap(d, n)
		}
	}
}

func (m *multi) End(ts time.Time) {
	for _, c := range m.cs {
		c.End(ts)
	}
	// The reassembler calls nothing on m after End.
	if len(*m.free) < 1024 {
		*m.free = append(*m.free, m)
	}
}

// Own makes a connection analyser a decode.Handler by itself: its
// connections run through a Reassembler of their own, made on first use.
// Analysers sharing one Reassembler (stream.Fanout) never make it.
type Own struct {
	Config  Config
	Factory Factory
	re      *Reassembler
}

func (o *Own) get() *Reassembler {
	if o.re == nil {
		o.re = New(o.Config, o.Factory)
	}
	return o.re
}

// HandlePacket feeds the reassembler.
func (o *Own) HandlePacket(p *decode.Packet) { o.get().HandlePacket(p) }

// Advance ends idle connections.
func (o *Own) Advance(now time.Time) { o.get().Advance(now) }

// Close ends every connection, emitting what is pending.
func (o *Own) Close() { o.get().Close() }
