package handshake

import (
	"net/netip"
	"slices"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/stream"
)

// DTLS follows DTLS handshakes (TLS over UDP: WebRTC, VPNs, CAPWAP) and
// emits the same tls event as TLS over TCP, with proto udp and a JA4
// starting with d. Handshake messages may be fragmented over datagrams;
// the fragments are put together by message sequence and offset. It is a
// decode.Handler; use it from one goroutine.
type DTLS struct {
	a     *Analyzer // the TLS analyser whose message handling is shared
	conns map[dtlsKey]*dtlsConn
	max   int
	idle  time.Duration
	now   time.Time
}

type dtlsKey struct{ client, server netip.AddrPort }

type dtlsConn struct {
	c    *conn
	last time.Time
	msgs [2]map[uint16]*dtlsMsg // per direction, by message_seq
	seen [2]map[uint16]bool     // messages already handled
}

type dtlsMsg struct {
	typ  byte
	body []byte
	have []bool // per byte: a fragment covered it
	n    int    // bytes covered
}

// NewDTLS returns a DTLS analyser that emits through a's emit function and
// counts in a's Stats; it follows at most maxConns handshakes at once and
// forgets those idle for longer than idle (defaults 16384 and 30 s).
func NewDTLS(a *Analyzer, maxConns int, idle time.Duration) *DTLS {
	if maxConns <= 0 {
		maxConns = 1 << 14
	}
	if idle <= 0 {
		idle = 30 * time.Second
	}
	return &DTLS{a: a, conns: map[dtlsKey]*dtlsConn{}, max: maxConns, idle: idle}
}

// isClientHello says whether b starts with a DTLS handshake record holding
// (the first fragment of) a ClientHello.
func isClientHello(b []byte) bool {
	return len(b) >= 25 && b[0] == recHandshake && b[1] == 0xfe && b[3] == 0 && b[4] == 0 && b[13] == msgClientHello
}

// HandlePacket reads DTLS handshake records of UDP datagrams.
func (x *DTLS) HandlePacket(p *decode.Packet) {
	if p.Proto != decode.ProtoUDP || len(p.Payload) < 13 || p.Payload[0] < recChangeCipherSpec || p.Payload[0] > 26 || p.Payload[1] != 0xfe {
		return
	}
	if p.TS.After(x.now) {
		x.Advance(p.TS)
	}
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	d := stream.ClientToServer
	dc := x.conns[dtlsKey{src, dst}]
	if dc == nil {
		if dc = x.conns[dtlsKey{dst, src}]; dc != nil {
			d = stream.ServerToClient
		}
	}
	if dc == nil {
		if !isClientHello(p.Payload) {
			return
		}
		if len(x.conns) >= x.max {
			x.evictOldest()
		}
		dc = &dtlsConn{c: &conn{a: x.a, transport: 'd', tls: true,
			id: stream.ID{Client: src, Server: dst, Start: p.TS, Source: p.Source, TunnelParent: communityid.Parent(p.Parent)}}}
		x.conns[dtlsKey{src, dst}] = dc
		x.a.stats.Conns++
	}
	dc.last = p.TS
	if dc.c.done {
		return
	}
	b := p.Payload
	for len(b) >= 13 && !dc.c.done {
		typ, epoch := b[0], int(b[3])<<8|int(b[4])
		n := int(b[11])<<8 | int(b[12])
		if len(b) < 13+n {
			break
		}
		rec := b[13 : 13+n]
		b = b[13+n:]
		switch {
		case epoch != 0:
			// Encrypted: the handshake is over for this side.
			if typ == recApplicationData || dc.c.sh != nil {
				dc.c.finish()
			}
		case typ == recChangeCipherSpec:
			dc.c.record(d, &dc.c.h[d], typ, rec)
		case typ == recHandshake:
			x.handshake(dc, d, rec)
		}
	}
}

// handshake reassembles the fragments of one record's handshake messages.
func (x *DTLS) handshake(dc *dtlsConn, d stream.Dir, rec []byte) {
	for len(rec) >= 12 && !dc.c.done {
		typ := rec[0]
		total := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3])
		seq := uint16(rec[4])<<8 | uint16(rec[5])
		off := int(rec[6])<<16 | int(rec[7])<<8 | int(rec[8])
		flen := int(rec[9])<<16 | int(rec[10])<<8 | int(rec[11])
		if len(rec) < 12+flen || off+flen > total || total > x.a.cfg.MaxMessage {
			x.a.stats.Malformed++
			dc.c.finish()
			return
		}
		frag := rec[12 : 12+flen]
		rec = rec[12+flen:]
		if dc.seen[d][seq] {
			continue // a retransmission, or the ClientHello again after HelloVerifyRequest
		}
		if dc.msgs[d] == nil {
			dc.msgs[d], dc.seen[d] = map[uint16]*dtlsMsg{}, map[uint16]bool{}
		}
		m := dc.msgs[d][seq]
		if m == nil {
			if len(dc.msgs[d]) >= 16 {
				continue // bounded: a handshake has a handful of messages
			}
			m = &dtlsMsg{typ: typ, body: make([]byte, total), have: make([]bool, total)}
			dc.msgs[d][seq] = m
		}
		if len(m.body) != total {
			continue
		}
		copy(m.body[off:], frag)
		for i := off; i < off+flen; i++ {
			if !m.have[i] {
				m.have[i] = true
				m.n++
			}
		}
		if m.n == total {
			delete(dc.msgs[d], seq)
			dc.seen[d][seq] = true
			if typ == msgClientHello && dc.c.ch != nil {
				continue
			}
			dc.c.message(d, typ, m.body)
		}
	}
}

func (x *DTLS) evictOldest() {
	var oldest dtlsKey
	var t time.Time
	for k, dc := range x.conns {
		if t.IsZero() || dc.last.Before(t) {
			oldest, t = k, dc.last
		}
	}
	x.end(oldest)
}

func (x *DTLS) end(k dtlsKey) {
	if dc := x.conns[k]; dc != nil {
		dc.c.finish()
		delete(x.conns, k)
	}
}

// Advance emits and forgets the handshakes idle for longer than idle.
func (x *DTLS) Advance(now time.Time) {
	if !now.After(x.now) || now.Sub(x.now) < x.idle/4 && !x.now.IsZero() {
		return
	}
	x.now = now
	for k, dc := range x.conns {
		if now.Sub(dc.last) >= x.idle {
			x.end(k)
		}
	}
}

// Close emits what was seen of every handshake, oldest first.
func (x *DTLS) Close() {
	keys := make([]dtlsKey, 0, len(x.conns))
	for k := range x.conns {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dtlsKey) int { return x.conns[a].c.id.Start.Compare(x.conns[b].c.id.Start) })
	for _, k := range keys {
		x.end(k)
	}
}
