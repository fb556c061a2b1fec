package dns

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// DefaultTimeout is how long a query waits for its response.
const DefaultTimeout = 5 * time.Second

// Limits on state, so a flood of unanswered queries or half-open TCP
// connections cannot grow memory without bound: about 35 MB of waiting
// queries and 64 MB of TCP buffers at worst. Past them the oldest query is
// emitted early, or a connection dropped, and counted.
const (
	maxPending  = 1 << 17
	maxTCPConns = 1 << 10
	maxTCPBuf   = 2 + 65535
	tcpIdle     = 2 * time.Minute
)

// Config configures a Handler.
type Config struct {
	// Ports carry DNS besides 53.
	Ports []uint16
	// Timeout after which an unanswered query is emitted; DefaultTimeout
	// when zero.
	Timeout time.Duration
	// Emit receives every event; e and its slices are reused after it
	// returns. Its strings are not reused, but they share blocks of an
	// event.Arena: a receiver keeping one for long keeps its block too.
	Emit func(e *event.Event)
}

// Stats counts the handler's work.
type Stats struct {
	Messages   uint64 // DNS messages parsed (queries and responses)
	Queries    uint64
	Responses  uint64
	Events     uint64
	Unanswered uint64 // queries emitted without a response
	Unsolicit  uint64 // responses whose query was not seen
	Malformed  map[string]uint64
	TCPGaps    uint64 // TCP segments lost or out of order: stream resynchronised
	Dropped    uint64 // TCP connections dropped at the state limit (their partial message lost)
	Early      uint64 // queries written early, unanswered, at the state limit (not lost)
}

// txKey identifies a transaction as Zeek pairs it: both endpoints, the
// transport and the id. Addresses are kept as 16 bytes so the key holds no
// pointers and hashes fast.
type txKey struct {
	client, server [16]byte
	cport, sport   uint16
	id             uint16
	proto          uint8
}

// hash mixes the key into 64 bits (FNV-1a over 64-bit words, folded);
// its low bits pick the key's place in the pairing table.
func (k *txKey) hash() uint64 {
	const prime = 0x100000001b3
	h := uint64(0xcbf29ce484222325)
	for _, w := range [...]uint64{
		binary.LittleEndian.Uint64(k.client[:8]), binary.LittleEndian.Uint64(k.client[8:]),
		binary.LittleEndian.Uint64(k.server[:8]), binary.LittleEndian.Uint64(k.server[8:]),
		uint64(k.cport)<<32 | uint64(k.sport)<<16 | uint64(k.id), uint64(k.proto),
	} {
		h ^= w
		h *= prime
		h ^= h >> 29
	}
	return h
}

func makeKey(client, server netip.AddrPort, proto uint8, id uint16) txKey {
	return txKey{client: client.Addr().As16(), server: server.Addr().As16(), cport: client.Port(), sport: server.Port(), id: id, proto: proto}
}

type question struct {
	name  []byte
	qtype uint16
}

// pending is a query waiting for its response. It sits in the arrival list
// (for timeouts) and in the pairing table; answered entries
// leave both at once and are reused.
type pending struct {
	key            txKey
	client, server netip.AddrPort
	proto          uint8
	ts             time.Time
	source         string
	parent         string // the tunnel's Community ID, for a query that came out of one
	qs             []question
	names          []byte

	prev, next *pending // arrival order
}

type tcpKey struct{ src, dst netip.AddrPort }

type tcpStream struct {
	next    uint32
	started bool
	buf     []byte
	last    time.Time
}

// Handler is the DNS analyser: a decode.Handler that parses DNS over UDP and
// TCP and pairs queries with responses.
type Handler struct {
	cfg   Config
	ports [65536 / 64]uint64 // bitmap of DNS ports
	Stats Stats

	msg    Message
	pairs  pairTable // waiting queries by key
	head   *pending  // oldest query waiting
	tail   *pending
	free   []*pending
	tcp    map[tcpKey]*tcpStream
	ev     event.Event
	strs   event.Arena // the events' query and answer strings
	text   []byte
	ansBuf []string
	ttlBuf []uint32
	now    time.Time
}

// NewHandler returns a DNS analyser.
func NewHandler(cfg Config) *Handler {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	h := &Handler{
		cfg: cfg,
		tcp: map[tcpKey]*tcpStream{},
	}
	h.Stats.Malformed = map[string]uint64{}
	h.setPort(53)
	for _, p := range cfg.Ports {
		h.setPort(p)
	}
	return h
}

func (h *Handler) setPort(p uint16)     { h.ports[p/64] |= 1 << (p % 64) }
func (h *Handler) isPort(p uint16) bool { return h.ports[p/64]&(1<<(p%64)) != 0 }

// Pending returns how many queries wait for a response.
func (h *Handler) Pending() int { return h.pairs.n }

// HandlePacket parses DNS carried by p.
func (h *Handler) HandlePacket(p *decode.Packet) {
	if p.TS.After(h.now) {
		h.now = p.TS
	}
	if !h.isPort(p.SrcPort) && !h.isPort(p.DstPort) {
		return
	}
	switch p.Proto {
	case decode.ProtoUDP:
		h.message(p, p.Payload, decode.ProtoUDP)
	case decode.ProtoTCP:
		h.tcpSegment(p)
	}
}

func (h *Handler) tcpSegment(p *decode.Packet) {
	k := tcpKey{netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)}
	s := h.tcp[k]
	if p.TCPFlags&(decode.RST) != 0 {
		delete(h.tcp, k)
		return
	}
	if s == nil {
		if len(p.Payload) == 0 && p.TCPFlags&decode.SYN == 0 {
			return
		}
		if len(h.tcp) >= maxTCPConns {
			h.expireTCP(true)
		}
		s = &tcpStream{}
		h.tcp[k] = s
	}
	s.last = p.TS
	if p.TCPFlags&decode.SYN != 0 {
		s.next, s.started, s.buf = p.Seq+1, true, s.buf[:0]
	}
	data := p.Payload
	if len(data) > 0 {
		if !s.started {
			s.next, s.started = p.Seq, true
		}
		switch d := int32(p.Seq - s.next); {
		case d == 0:
		case d < 0: // retransmission, possibly overlapping new data
			if int(-d) >= len(data) {
				data = nil
			} else {
				data = data[-d:]
			}
		default: // a gap: what is buffered can never complete
			h.Stats.TCPGaps++
			s.buf = s.buf[:0]
		}
		if len(data) > 0 {
			s.next = p.Seq + uint32(len(p.Payload))
			s.buf = append(s.buf, data...)
			s.buf = h.drainTCP(p, s.buf)
		}
	}
	if p.TCPFlags&decode.FIN != 0 {
		delete(h.tcp, k)
	}
}

// drainTCP handles every complete length-prefixed message in buf and
// returns what is left, moved to the front.
func (h *Handler) drainTCP(p *decode.Packet, buf []byte) []byte {
	off := 0
	for len(buf)-off >= 2 {
		n := int(binary.BigEndian.Uint16(buf[off:]))
		if len(buf)-off < 2+n {
			break
		}
		h.message(p, buf[off+2:off+2+n], decode.ProtoTCP)
		off += 2 + n
	}
	rest := copy(buf, buf[off:])
	if rest > maxTCPBuf {
		rest = 0
	}
	if rest == 0 && cap(buf) > 4096 {
		return nil // a large message passed: give its buffer back
	}
	return buf[:rest]
}

func (h *Handler) expireTCP(force bool) {
	for k, s := range h.tcp {
		if force || h.now.Sub(s.last) > tcpIdle {
			delete(h.tcp, k)
			if force {
				h.Stats.Dropped++
				return
			}
		}
	}
}

func (h *Handler) malformed(reason string) {
	h.Stats.Malformed[reason]++
}

func (h *Handler) message(p *decode.Packet, b []byte, proto uint8) {
	m := &h.msg
	if err := m.Parse(b); err != nil {
		h.malformed(err.Error())
		if err == ErrShort || (len(m.Questions) == 0 && len(m.Answers) == 0 && !m.Response()) {
			return
		}
	}
	h.Stats.Messages++
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	if !m.Response() {
		h.Stats.Queries++
		h.query(p, src, dst, proto)
		return
	}
	h.Stats.Responses++
	multicast := p.Dst.IsMulticast()
	if !multicast {
		if q := h.pop(makeKey(dst, src, proto, m.ID)); q != nil {
			h.emitPair(q, p)
			h.release(q)
			return
		}
	}
	// A response whose query we did not see. Zeek takes the receiver as the
	// originator, except for multicast announcements (mDNS), where the
	// sender is the only endpoint with a port of its own.
	h.Stats.Unsolicit++
	client, server := dst, src
	if multicast {
		client, server = src, dst
	}
	h.emitResponseOnly(client, server, proto, p)
}

func (h *Handler) query(p *decode.Packet, client, server netip.AddrPort, proto uint8) {
	m := &h.msg
	if h.pairs.n >= maxPending {
		h.expire(time.Time{}, 1)
		h.Stats.Early++
	}
	var q *pending
	if n := len(h.free); n > 0 {
		q, h.free = h.free[n-1], h.free[:n-1]
	} else {
		q = &pending{}
	}
	q.key = makeKey(client, server, proto, m.ID)
	q.client, q.server, q.proto, q.ts, q.source = client, server, proto, p.TS, p.Source
	q.parent = communityid.Parent(p.Parent)
	q.qs, q.names = q.qs[:0], q.names[:0]
	for i := range m.Questions {
		q.names = AppendQuery(q.names, m.QName(i))
	}
	off := 0
	for i := range m.Questions {
		n := len(m.QName(i))
		q.qs = append(q.qs, question{name: q.names[off : off+n : off+n], qtype: m.Questions[i].Type})
		off += n
	}
	// Into the pairing table, and last in the arrival list.
	h.pairs.add(q, q.key.hash())
	q.prev, q.next = h.tail, nil
	if h.tail != nil {
		h.tail.next = q
	} else {
		h.head = q
	}
	h.tail = q
}

// pop takes the oldest waiting query of k out of the pairing table and
// the arrival list; the caller releases it after use.
func (h *Handler) pop(k txKey) *pending {
	q := h.pairs.pop(&k, k.hash())
	if q != nil {
		h.unlink(q)
	}
	return q
}

func (h *Handler) unlink(q *pending) {
	if q.prev != nil {
		q.prev.next = q.next
	} else {
		h.head = q.next
	}
	if q.next != nil {
		q.next.prev = q.prev
	} else {
		h.tail = q.prev
	}
	q.prev, q.next = nil, nil
}

func (h *Handler) release(q *pending) {
	q.source, q.parent = "", ""
	h.free = append(h.free, q)
}

func (h *Handler) fill(e *event.Event, client, server netip.AddrPort, proto uint8, ts time.Time, source string) {
	// Only the DNS fields of h.ev are ever set, so setting each of them
	// here is a full reset, without clearing the whole Event.
	e.Query, e.QType, e.RCode = "", "", ""
	e.Answers, e.TTLs = nil, nil // set by answers when a response was seen
	e.Type = event.TypeDNS
	e.TS = ts
	e.SrcIP, e.SrcPort = client.Addr(), client.Port()
	e.DestIP, e.DestPort = server.Addr(), server.Port()
	if proto == decode.ProtoTCP {
		e.Proto = "tcp"
	} else {
		e.Proto = "udp"
	}
	e.Source = source
	e.TunnelParent = ""
}

// answers sets rcode, answers and TTLs from the parsed response. With
// several questions only the answers owned by the question's name, or by a
// name its CNAMEs lead to, are given to it.
func (h *Handler) answers(e *event.Event, qname []byte, several bool) {
	m := &h.msg
	e.RCode = RCodeName(m.RCode())
	// A response was seen: answers and ttls are written even when empty.
	e.Answers, e.TTLs = h.ansBuf[:0], h.ttlBuf[:0]
	if e.Answers == nil {
		e.Answers, e.TTLs = make([]string, 0, 8), make([]uint32, 0, 8)
	}
	chain := qname
	for i := range m.Answers {
		if several {
			owner := m.RRName(i)
			if !equalFold(owner, chain) && !equalFold(owner, qname) {
				continue
			}
		}
		var ok bool
		start := len(h.text)
		h.text, ok = m.AppendAnswer(h.text, i)
		if !ok {
			h.text = h.text[:start]
			continue
		}
		if several && m.Answers[i].Type == TypeCNAME {
			chain = h.text[start:]
		}
		e.Answers = append(e.Answers, h.strs.String(h.text[start:]))
		e.TTLs = append(e.TTLs, m.Answers[i].TTL)
	}
	h.text = h.text[:0]
	h.ansBuf, h.ttlBuf = e.Answers[:0], e.TTLs[:0]
}

func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (h *Handler) emitPair(q *pending, p *decode.Packet) {
	e := &h.ev
	several := len(q.qs) > 1
	if len(q.qs) == 0 {
		// A query without questions still had an answer: one event.
		h.fill(e, q.client, q.server, q.proto, q.ts, q.source)
		e.TunnelParent = q.parent
		h.answers(e, nil, false)
		h.emit(e)
	}
	for _, qq := range q.qs {
		h.fill(e, q.client, q.server, q.proto, q.ts, q.source)
		e.TunnelParent = q.parent
		e.Query = h.strs.String(qq.name)
		e.QType = TypeName(qq.qtype)
		h.answers(e, qq.name, several)
		h.emit(e)
	}
}

func (h *Handler) emitResponseOnly(client, server netip.AddrPort, proto uint8, p *decode.Packet) {
	m := &h.msg
	e := &h.ev
	if len(m.Questions) == 0 {
		h.fill(e, client, server, proto, p.TS, p.Source)
		e.TunnelParent = communityid.Parent(p.Parent)
		if len(m.Answers) > 0 {
			h.text = AppendQuery(h.text[:0], m.RRName(0))
			e.Query = h.strs.String(h.text)
		}
		h.answers(e, nil, false)
		h.emit(e)
		return
	}
	several := len(m.Questions) > 1
	for i := range m.Questions {
		h.fill(e, client, server, proto, p.TS, p.Source)
		e.TunnelParent = communityid.Parent(p.Parent)
		name := m.QName(i)
		h.text = AppendQuery(h.text[:0], name)
		e.Query = h.strs.String(h.text)
		e.QType = TypeName(m.Questions[i].Type)
		h.answers(e, name, several)
		h.emit(e)
	}
}

func (h *Handler) emitUnanswered(q *pending) {
	h.Stats.Unanswered++
	e := &h.ev
	for _, qq := range q.qs {
		h.fill(e, q.client, q.server, q.proto, q.ts, q.source)
		e.TunnelParent = q.parent
		e.Query = h.strs.String(qq.name)
		e.QType = TypeName(qq.qtype)
		h.emit(e)
	}
	if len(q.qs) == 0 {
		h.fill(e, q.client, q.server, q.proto, q.ts, q.source)
		e.TunnelParent = q.parent
		h.emit(e)
	}
}

func (h *Handler) emit(e *event.Event) {
	h.Stats.Events++
	if h.cfg.Emit != nil {
		h.cfg.Emit(e)
	}
}

// expire emits the queries waiting for longer than the timeout at now
// (every one when now is zero), at most limit of them when limit > 0.
func (h *Handler) expire(now time.Time, limit int) {
	for n := 0; h.head != nil && (limit <= 0 || n < limit); n++ {
		q := h.head
		if !now.IsZero() && now.Sub(q.ts) < h.cfg.Timeout {
			return
		}
		h.pairs.remove(q, q.key.hash())
		h.unlink(q)
		h.emitUnanswered(q)
		h.release(q)
	}
}

// Advance emits queries unanswered for longer than the timeout at now.
func (h *Handler) Advance(now time.Time) {
	if now.After(h.now) {
		h.now = now
	}
	h.expire(now, 0)
	if len(h.tcp) > 0 {
		h.expireTCP(false)
	}
}

// Close emits every query still waiting for its response.
func (h *Handler) Close() {
	h.expire(time.Time{}, 0)
	clear(h.tcp)
}
