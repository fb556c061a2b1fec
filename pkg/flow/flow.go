// Package flow turns decoded packets into bidirectional flow records (events
// of type "ip"), in the spirit of Zeek's conn.log and NetFlow: both directions
// of a connection are one flow, the originator is the sender of the first
// packet (the SYN for TCP when seen; for a connection joined midway, the side
// not on a service port, as Zeek guesses), bytes are IP-level, and a TCP flow
// carries a Zeek-like history and connection state. A flow is emitted when
// the connection ends (FIN both ways or RST, after a short grace), after an
// idle timeout, periodically while it stays active (active timeout), when the
// table is full (oldest first), and at Close. Time comes from the packets;
// Advance moves it on during quiet periods.
package flow

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/service"
)

// Config bounds the table and sets the timeouts. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	TCPIdle  time.Duration // idle timeout of TCP flows (Zeek tcp_inactivity_timeout)
	UDPIdle  time.Duration // idle timeout of UDP flows
	ICMPIdle time.Duration // idle timeout of ICMP and other protocols
	Active   time.Duration // a flow alive this long is emitted and restarted
	Grace    time.Duration // kept after FIN both ways or RST, for late packets
	Attempt  time.Duration // an unanswered SYN's flow ends this long after it (Zeek tcp_attempt_delay)
	MaxFlows int           // table bound; when full the oldest flow is emitted
}

// DefaultConfig returns Zeek's inactivity timeouts, NetFlow's 30-minute
// active timeout, Zeek's 5 s close delay and a 262144-flow table.
func DefaultConfig() Config {
	return Config{
		TCPIdle:  5 * time.Minute,
		UDPIdle:  time.Minute,
		ICMPIdle: time.Minute,
		Active:   30 * time.Minute,
		Grace:    5 * time.Second,
		Attempt:  5 * time.Second,
		MaxFlows: 1 << 18,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.TCPIdle <= 0 {
		c.TCPIdle = d.TCPIdle
	}
	if c.UDPIdle <= 0 {
		c.UDPIdle = d.UDPIdle
	}
	if c.ICMPIdle <= 0 {
		c.ICMPIdle = d.ICMPIdle
	}
	if c.Active <= 0 {
		c.Active = d.Active
	}
	if c.Grace <= 0 {
		c.Grace = d.Grace
	}
	if c.Attempt <= 0 {
		c.Attempt = d.Attempt
	}
	if c.MaxFlows <= 0 {
		c.MaxFlows = d.MaxFlows
	}
}

// Stats counts what the table did.
type Stats struct {
	Flows   int64 // flow records emitted
	Evicted int64 // flows emitted early because the table was full
	Active  int64 // records emitted by the active timeout
	Open    int   // flows in the table now
}

// Key identifies a flow independent of direction: A is the lower endpoint.
// Addresses are kept as 16-byte arrays (IPv4 mapped into IPv6), which hash
// and compare faster than netip.Addr.
type Key struct {
	A, B   [16]byte
	PA, PB uint16
	Proto  uint8
}

// endpoint TCP states, after Zeek's TCP_ENDPOINT_*.
const (
	tcpInactive uint8 = iota
	tcpSynSent
	tcpSynAckSent
	tcpPartial
	tcpEstablished
	tcpClosed
	tcpReset
)

// list classes; each list is ordered by the time that expires it.
const (
	listTCP = iota
	listUDP
	listOther
	listClosing
	numLists
)

// Flow is one entry of the table.
type Flow struct {
	key        Key
	orig, resp netip.Addr
	oport      uint16
	rport      uint16
	proto      uint8
	icmpType   uint8
	icmpCode   uint8

	source string // the packet source (interface or file) of the first packet
	// Unix nanoseconds: the first packet, the last activity (for the
	// timeouts), the last packet before the close (for the duration).
	start, last, end int64
	bytesOut         int64
	bytesIn          int64
	pktsOut          int64
	pktsIn           int64

	ostate, rstate uint8
	flipped        bool
	hist           [2 * len(histLetters)]byte // each letter at most once per direction
	nhist          uint8
	histSeen       [2]uint16 // letters already recorded per direction
	oseq, rseq     uint32    // highest sequence end seen, for retransmissions
	oseqOK, rseqOK bool
	svc            service.Tracker
	tunnel         string // on the outer flow of a tunnel: its kind
	parent         string // on a flow inside a tunnel: the outer connection's Community ID

	list       uint8
	prev, next *Flow
}

type list struct{ head, tail *Flow }

func (l *list) push(f *Flow) {
	f.prev, f.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *list) remove(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

// Table is the flow table. It is a decode.Handler; use it from one goroutine.
type Table struct {
	cfg   Config
	emit  func(*event.Event)
	flows *Index[*Flow]
	lists [numLists]list
	now   time.Time
	free  []*Flow
	stats Stats
	ev    event.Event // reused for every flow record: they are many
	// histories interns the history strings (see history).
	histories map[string]string
}

// New returns a table that calls emit with each finished flow. The event
// is the table's and valid only during the call: a callee that keeps it
// copies it (event.Encoder does).
func New(cfg Config, emit func(*event.Event)) *Table {
	cfg.fill()
	return &Table{cfg: cfg, emit: emit, flows: NewIndex(func(f *Flow) Key { return f.key }),
		histories: map[string]string{}}
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Open = t.flows.Len()
	return s
}

// MakeKey returns the direction-free key of p, and whether p's source is
// the A side of it.
func MakeKey(p *decode.Packet) (Key, bool) {
	sp, dp := p.SrcPort, p.DstPort
	switch p.Proto {
	case decode.ProtoTCP, decode.ProtoUDP:
	case decode.ProtoICMP, decode.ProtoICMPv6:
		sp, dp = icmpPorts(p)
	default:
		sp, dp = 0, 0
	}
	k := Key{Proto: p.Proto}
	if c := p.Src.Compare(p.Dst); c < 0 || c == 0 && sp <= dp {
		k.A, k.PA, k.B, k.PB = p.Src.As16(), sp, p.Dst.As16(), dp
		return k, true
	}
	k.A, k.PA, k.B, k.PB = p.Dst.As16(), dp, p.Src.As16(), sp
	if p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6 {
		k.PA, k.PB = sp, dp // the type and id are the same both ways
	}
	return k, false
}

// icmpPorts gives both directions of a request/reply exchange one key: the
// request type and, for echo-like messages, the identifier; other messages
// are keyed by type and code, as Zeek does.
func icmpPorts(p *decode.Packet) (uint16, uint16) {
	t := p.ICMPType
	if req, ok := icmpRequest(p.Proto, t); ok {
		var id uint16
		if icmpHasID(p.Proto, req) && len(p.Payload) >= 2 {
			id = uint16(p.Payload[0])<<8 | uint16(p.Payload[1])
		}
		return uint16(req), id
	}
	return uint16(t), uint16(p.ICMPCode)
}

// icmpRequest maps both types of a request/reply pair to the request type.
func icmpRequest(proto, t uint8) (uint8, bool) {
	if proto == decode.ProtoICMP {
		switch t {
		case 0, 8:
			return 8, true
		case 13, 14:
			return 13, true
		case 15, 16:
			return 15, true
		case 17, 18:
			return 17, true
		case 9, 10:
			return 10, true
		}
		return t, false
	}
	switch t {
	case 128, 129:
		return 128, true
	case 133, 134:
		return 133, true
	case 135, 136:
		return 135, true
	case 130, 131:
		return 130, true
	}
	return t, false
}

func icmpHasID(proto, req uint8) bool {
	if proto == decode.ProtoICMP {
		return req == 8 || req == 13 || req == 15 || req == 17
	}
	return req == 128
}

// ICMPCounterpart is the type answering t (echo request and reply, router
// and neighbor solicitation and advertisement, ...), as Zeek's conn.log
// writes it in id.resp_p; ok is false for messages without one.
func ICMPCounterpart(proto, t uint8) (uint8, bool) {
	req, ok := icmpRequest(proto, t)
	if !ok {
		return 0, false
	}
	if t != req {
		return req, true
	}
	switch {
	case proto == decode.ProtoICMP && t == 8:
		return 0, true
	case proto == decode.ProtoICMP && t == 10:
		return 9, true
	case proto == decode.ProtoICMP:
		return t + 1, true
	case t == 130:
		return 131, true
	}
	return t + 1, true
}

// serverPort says whether a port is one a service listens on, for guessing
// the originator of a connection seen from its middle.
func serverPort(p uint16) bool {
	switch p {
	case 1080, 1194, 1433, 1521, 1723, 1883, 2049, 3128, 3306, 3389, 5060, 5061,
		5222, 5269, 5353, 5355, 5432, 5900, 6379, 6443, 8000, 8080, 8443, 8888, 9200, 11211, 27017:
		return true
	}
	return p < 1024
}

// HandlePacket accounts p to its flow.
func (t *Table) HandlePacket(p *decode.Packet) { t.handle(p) }

// HandleOuter accounts the outer datagram of a UDP-carried tunnel (VXLAN,
// Geneve, Teredo, GRE in UDP) to a flow of its own, marked with the
// tunnel's kind, as Zeek logs those connections. GRE and IP-in-IP outer
// packets are no flow, in Zeek either.
func (t *Table) HandleOuter(p *decode.Packet) {
	if p.Proto == decode.ProtoUDP {
		t.handle(p)
	}
}

func (t *Table) handle(p *decode.Packet) {
	if !p.Src.IsValid() || !p.Dst.IsValid() {
		return // not an IP packet: nothing to account it to
	}
	if p.TS.After(t.now) {
		t.expire(p.TS)
	}
	k, _ := MakeKey(p)
	f, _ := t.flows.Get(k)
	if f != nil && p.Proto == decode.ProtoTCP && f.list == listClosing &&
		p.TCPFlags&(decode.SYN|decode.ACK) == decode.SYN && f.last < p.TS.UnixNano() {
		// A new connection reusing the ports of one that ended.
		t.finish(f)
		f = nil
	}
	if f != nil && f.proto == decode.ProtoTCP && f.ostate == tcpSynSent && f.rstate == tcpInactive &&
		time.Duration(p.TS.UnixNano()-f.start) >= t.cfg.Attempt {
		// A connection attempt nobody answered ends after the attempt
		// delay, as in Zeek: what the originator sends later (a retried
		// SYN, or data of a half-duplex capture) is a connection of its own.
		t.finish(f)
		f = nil
	}
	if f == nil {
		if t.flows.Len() >= t.cfg.MaxFlows {
			t.evictOldest()
		}
		f = t.open(k, p)
	} else if time.Duration(p.TS.UnixNano()-f.start) >= t.cfg.Active && f.list != listClosing {
		t.stats.Active++
		t.emitFlow(f)
		f.start, f.end = p.TS.UnixNano(), p.TS.UnixNano()
		f.bytesOut, f.bytesIn, f.pktsOut, f.pktsIn = 0, 0, 0, 0
	}
	fromOrig := f.fromOrig(p)
	if fromOrig {
		f.bytesOut += int64(p.IPLen)
		f.pktsOut++
	} else {
		f.bytesIn += int64(p.IPLen)
		f.pktsIn++
	}
	if ts := p.TS.UnixNano(); f.list != listClosing && ts > f.last {
		// Packets after the close (the last ACK, a reset) are counted but,
		// as in Zeek, do not lengthen the duration.
		f.last, f.end = ts, ts
	}
	switch p.Proto {
	case decode.ProtoTCP:
		t.tcp(f, p, fromOrig)
	case decode.ProtoUDP:
		if fromOrig {
			f.ostate = 1
		} else {
			f.rstate = 1
		}
		if p.PayloadLen > 0 {
			f.mark(fromOrig, 'D')
		}
	}
	if len(p.Payload) > 0 && (p.Proto == decode.ProtoTCP || p.Proto == decode.ProtoUDP) && f.tunnel == "" && !f.svc.Done() {
		f.svc.Observe(p.Payload, p.Proto == decode.ProtoTCP, fromOrig)
	}
	if f.list != listClosing {
		t.lists[f.list].remove(f)
		t.lists[f.list].push(f)
	}
}

func (t *Table) open(k Key, p *decode.Packet) *Flow {
	var f *Flow
	if n := len(t.free); n > 0 {
		f = t.free[n-1]
		t.free = t.free[:n-1]
		*f = Flow{}
	} else {
		f = &Flow{}
	}
	f.key, f.proto = k, p.Proto
	f.orig, f.oport, f.resp, f.rport = p.Src, p.SrcPort, p.Dst, p.DstPort
	ts := p.TS.UnixNano()
	f.start, f.last, f.end, f.source = ts, ts, ts, p.Source
	f.tunnel = p.Tunnel
	f.parent = communityid.Parent(p.Parent)
	switch p.Proto {
	case decode.ProtoTCP:
		f.list = listTCP
		if p.TCPFlags&decode.SYN == 0 {
			f.svc.Partial()
		}
		switch {
		case p.TCPFlags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK:
			// We missed the SYN: the receiver of the SYN-ACK opened it.
			f.flip()
		case p.TCPFlags&decode.SYN == 0 && serverPort(p.SrcPort) && !serverPort(p.DstPort):
			// Seen from the middle: the side on a service port is the
			// responder, as Zeek guesses.
			f.flip()
		}
	case decode.ProtoUDP:
		f.list = listUDP
		if serverPort(p.SrcPort) && !serverPort(p.DstPort) {
			f.flip()
		}
	case decode.ProtoICMP, decode.ProtoICMPv6:
		f.list = listOther
		f.icmpType, f.icmpCode = p.ICMPType, p.ICMPCode
	default:
		f.list = listOther
	}
	t.flows.Put(k, f)
	t.lists[f.list].push(f)
	return f
}

func (f *Flow) flip() {
	f.orig, f.oport, f.resp, f.rport = f.resp, f.rport, f.orig, f.oport
	f.flipped = true
}

func (f *Flow) fromOrig(p *decode.Packet) bool {
	switch p.Proto {
	case decode.ProtoTCP, decode.ProtoUDP:
		return p.Src == f.orig && p.SrcPort == f.oport
	case decode.ProtoICMP, decode.ProtoICMPv6:
		if f.orig == f.resp {
			return !isICMPReply(p.Proto, p.ICMPType)
		}
	}
	return p.Src == f.orig
}

// history letters, in Zeek's spelling; index i is recorded once per direction.
const histLetters = "SHADFRTWQ"

func (f *Flow) mark(fromOrig bool, letter byte) {
	i := 0
	for histLetters[i] != letter {
		i++
	}
	d := 0
	if !fromOrig {
		d = 1
		letter += 'a' - 'A'
	}
	if f.histSeen[d]&(1<<i) != 0 {
		return
	}
	f.histSeen[d] |= 1 << i
	f.hist[f.nhist] = letter
	f.nhist++
}

func (t *Table) tcp(f *Flow, p *decode.Packet, fromOrig bool) {
	fl := p.TCPFlags
	st, peer := &f.ostate, &f.rstate
	if !fromOrig {
		st, peer = peer, st
	}
	syn, ack, fin, rst := fl&decode.SYN != 0, fl&decode.ACK != 0, fl&decode.FIN != 0, fl&decode.RST != 0
	if syn && (fin || rst) {
		f.mark(fromOrig, 'Q')
	}
	if syn {
		if ack {
			f.mark(fromOrig, 'H')
		} else {
			f.mark(fromOrig, 'S')
		}
	}
	if fin {
		f.mark(fromOrig, 'F')
	}
	if rst {
		f.mark(fromOrig, 'R')
	}
	if p.PayloadLen > 0 {
		f.mark(fromOrig, 'D')
	} else if ack && !syn && !fin && !rst {
		f.mark(fromOrig, 'A')
	}
	if p.Window == 0 && !rst && !syn {
		f.mark(fromOrig, 'W')
	}
	// Retransmission: data that does not advance the highest sequence
	// number seen from its side (pure ACKs count for the highest too).
	seq, ok := &f.oseq, &f.oseqOK
	if !fromOrig {
		seq, ok = &f.rseq, &f.rseqOK
	}
	if !syn && !rst {
		end := p.Seq + uint32(p.PayloadLen+int(fl&decode.FIN))
		if p.PayloadLen > 0 && *ok && int32(end-*seq) <= 0 {
			f.mark(fromOrig, 'T')
		}
		if !*ok || int32(end-*seq) > 0 {
			*seq, *ok = end, true
		}
	}

	switch {
	case rst:
		// A reset after both sides closed does not undo the close.
		if !(*st == tcpClosed && *peer == tcpClosed) {
			*st = tcpReset
		}
	case fin:
		if *st != tcpReset {
			*st = tcpClosed
		}
	case syn && !ack:
		if *st == tcpInactive || *st == tcpPartial {
			*st = tcpSynSent
		}
	case syn && ack:
		if *st == tcpInactive || *st == tcpPartial {
			*st = tcpSynAckSent
			if *peer == tcpSynSent {
				*st, *peer = tcpEstablished, tcpEstablished
			}
		}
	default:
		switch *st {
		case tcpInactive:
			*st = tcpPartial
		case tcpSynSent, tcpSynAckSent:
			if *peer != tcpInactive && *peer != tcpPartial {
				*st = tcpEstablished
				if *peer == tcpSynSent || *peer == tcpSynAckSent {
					*peer = tcpEstablished
				}
			}
		}
	}
	ended := f.ostate == tcpReset || f.rstate == tcpReset || f.ostate == tcpClosed && f.rstate == tcpClosed
	if ended && f.list != listClosing {
		t.lists[f.list].remove(f)
		f.list = listClosing
		f.last = p.TS.UnixNano()
		t.lists[listClosing].push(f)
	}
}

func (t *Table) idle(f *Flow) time.Duration {
	switch f.list {
	case listTCP:
		return t.cfg.TCPIdle
	case listUDP:
		return t.cfg.UDPIdle
	case listClosing:
		return t.cfg.Grace
	}
	return t.cfg.ICMPIdle
}

// Advance emits the flows whose timeouts passed by now.
func (t *Table) Advance(now time.Time) {
	if now.After(t.now) {
		t.expire(now)
	}
}

func (t *Table) expire(now time.Time) {
	t.now = now
	for i := range t.lists {
		l := &t.lists[i]
		for l.head != nil {
			f := l.head
			if time.Duration(now.UnixNano()-f.last) < t.idle(f) {
				break
			}
			t.finish(f)
		}
	}
}

func (t *Table) evictOldest() {
	var oldest *Flow
	for i := range t.lists {
		if f := t.lists[i].head; f != nil && (oldest == nil || f.last < oldest.last) {
			oldest = f
		}
	}
	if oldest != nil {
		t.stats.Evicted++
		t.finish(oldest)
	}
}

// finish emits f and removes it from the table.
func (t *Table) finish(f *Flow) {
	t.emitFlow(f)
	t.lists[f.list].remove(f)
	t.flows.Delete(f.key)
	if len(t.free) < 1024 {
		t.free = append(t.free, f)
	}
}

// Close emits every open flow, oldest first.
func (t *Table) Close() {
	for {
		var oldest *Flow
		for i := range t.lists {
			if f := t.lists[i].head; f != nil && (oldest == nil || f.start < oldest.start) {
				oldest = f
			}
		}
		if oldest == nil {
			return
		}
		t.finish(oldest)
	}
}

func (t *Table) emitFlow(f *Flow) {
	t.stats.Flows++
	// The fields are set one by one on the table's event, which carries no
	// others: rebuilding the whole ~1 KB Event for each of the many flows
	// of a short-connection capture showed in the profile.
	e := &t.ev
	e.Type, e.TS = event.TypeIP, time.Unix(0, f.start).UTC()
	e.SrcIP, e.DestIP, e.Proto = f.orig, f.resp, ProtoName(f.proto)
	e.BytesOut, e.BytesIn, e.PktsOut, e.PktsIn = f.bytesOut, f.bytesIn, f.pktsOut, f.pktsIn
	e.Duration = max(time.Duration(f.end-f.start).Seconds(), 0)
	e.Source = f.source
	e.SrcPort, e.DestPort, e.ICMPType, e.ICMPCode = 0, 0, nil, nil
	switch f.proto {
	case decode.ProtoTCP, decode.ProtoUDP:
		e.SrcPort, e.DestPort = f.oport, f.rport
	case decode.ProtoICMP, decode.ProtoICMPv6:
		it, ic := f.icmpType, f.icmpCode
		e.ICMPType, e.ICMPCode = &it, &ic
	}
	e.ConnState = f.connState()
	e.Service = f.svc.String()
	e.Tunnel, e.TunnelParent = f.tunnel, f.parent
	switch f.tunnel {
	case "vxlan", "geneve", "teredo":
		e.Service = f.tunnel // Zeek's service for these outer connections
	}
	e.History = ""
	if f.proto == decode.ProtoTCP || f.proto == decode.ProtoUDP {
		var buf [1 + len(f.hist)]byte
		h := buf[:0]
		if f.flipped {
			h = append(h, '^')
		}
		e.History = t.history(append(h, f.hist[:f.nhist]...))
	}
	t.emit(e)
}

// maxHistories bounds the histories Table.history keeps.
const maxHistories = 4096

// history returns h as a string shared by every flow with that history: a
// few (ShADadFf, D, Dd, S, ...) cover most flows, and a string for each
// was one allocation per flow.
func (t *Table) history(h []byte) string {
	if s, ok := t.histories[string(h)]; ok {
		return s
	}
	s := string(h)
	if len(t.histories) < maxHistories {
		t.histories[s] = s
	}
	return s
}

// connState derives Zeek's conn_state from the endpoint states.
func (f *Flow) connState() string {
	os, rs := f.ostate, f.rstate
	switch f.proto {
	case decode.ProtoTCP:
	case decode.ProtoUDP:
		switch {
		case os == 1 && rs == 1:
			return "SF"
		case os == 1:
			return "S0"
		case rs == 1:
			return "SHR"
		}
		return "OTH"
	default:
		return "OTH"
	}
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		if os == tcpSynSent || os == tcpSynAckSent || os == tcpReset && f.pktsOut+f.pktsIn > 0 && f.dataless() {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == tcpReset:
		if rInactive {
			if f.synThenReset() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case os == tcpClosed && rs == tcpClosed:
		return "SF"
	case os == tcpClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == tcpClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == tcpSynSent && rs == tcpInactive:
		return "S0"
	case os == tcpEstablished && rs == tcpEstablished:
		return "S1"
	}
	return "OTH"
}

func (f *Flow) dataless() bool {
	return f.histSeen[0]&(1<<3) == 0 && f.histSeen[1]&(1<<3) == 0
}

// synThenReset matches Zeek's /^?S[^HAFGIQ]*R.*/ on the history.
func (f *Flow) synThenReset() bool {
	h := f.hist[:f.nhist]
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		case 'R':
			return true
		}
	}
	return false
}

// ProtoName is the stream's name of an IP protocol.
func ProtoName(p uint8) string {
	switch p {
	case decode.ProtoTCP:
		return "tcp"
	case decode.ProtoUDP:
		return "udp"
	case decode.ProtoICMP:
		return "icmp"
	case decode.ProtoICMPv6:
		return "icmp6"
	}
	return strconv.Itoa(int(p))
}

func isICMPReply(proto, t uint8) bool {
	req, ok := icmpRequest(proto, t)
	return ok && req != t
}
