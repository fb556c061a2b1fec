// Package analysis assembles the analysers that turn decoded packets into
// ip, http and tls events: the flow table, one TCP reassembler shared by the
// HTTP and TLS analysers, and the QUIC analyser. nfr-capture registers the
// Set as one decode.Handler next to its DNS analyser.
//
// What the events mean:
//
//   - ip (pkg/flow): one record per bidirectional flow, as Zeek's conn.log.
//     srcIP/srcPort is the originator (the SYN's sender, else the first
//     packet's, else the side not on a service port); bytesOut/pktsOut what
//     it sent, bytesIn/pktsIn what the responder sent, IP-level bytes;
//     ts is the first packet, duration runs to the last packet before the
//     close; connState and history are Zeek's (S0, SF, REJ, RSTO, ...;
//     ShADadFf). A long flow gives a record every active_timeout. ICMP
//     flows carry icmpType and icmpCode; an echo exchange is one flow.
//   - http (pkg/http1): one per request, emitted when its response ends (or
//     at the connection's end without one). url is http://host/path?query
//     built from the Host header (the server's address without one);
//     status, contentType are the response's; reqLen and respLen the bodies
//     without chunked framing, before any content decoding.
//   - tls (pkg/handshake, pkg/quic): one per connection, when the handshake
//     shows its hand (the certificate in TLS 1.2, the ServerHello in 1.3)
//     or at the end. sni, alpn, ja3/ja3Raw and ja4 come from the
//     ClientHello; version is the negotiated one (the offered one without a
//     ServerHello); ja3s from the ServerHello; certHash (SHA-1), subject,
//     issuer (Zeek's x509.log format), validFrom, validTo from the leaf
//     certificate. QUIC gives proto udp and a JA4 starting with q, DTLS
//     proto udp and a JA4 starting with d.
//   - ssh (pkg/ssh): one per SSH connection at its end: version strings,
//     HASSH and HASSHServer with the algorithm strings they hash, Zeek's
//     authentication heuristic, payload bytes and data segments each way.
//
// Everything is bounded (flows, connections, out-of-order bytes, partial
// heads and handshakes); what the bounds cost is counted in Stats.
package analysis

import (
	"time"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/flow"
	"github.com/nfr-project/nfr/pkg/handshake"
	"github.com/nfr-project/nfr/pkg/http1"
	"github.com/nfr-project/nfr/pkg/quic"
	"github.com/nfr-project/nfr/pkg/ssh"
	"github.com/nfr-project/nfr/pkg/stream"
)

// Types says which event types to produce (nfr-capture --types).
type Types struct {
	IP   bool // flows
	HTTP bool
	TLS  bool // TLS over TCP and QUIC
	SSH  bool
}

// Config holds which event types to produce and each analyser's settings
// (zero values take the analysers' defaults).
type Config struct {
	Types  Types
	Flow   flow.Config
	Stream stream.Config
	HTTP   http1.Config
	TLS    handshake.Config
	QUIC   quic.Config
	// OffloadFlows, when set, is given the flow table and returns the
	// handler the Set calls in its place (capture.Pipeline.Offload, which
	// runs the table on a goroutine of its own); FlowEmit, when set,
	// receives the table's events instead of New's emit.
	OffloadFlows func(decode.Handler) decode.Handler
	FlowEmit     func(*event.Event)
}

// Stats gathers the analysers' counters, for --stats and SIGUSR1.
type Stats struct {
	Flow   flow.Stats
	Stream stream.Stats
	HTTP   http1.Stats
	TLS    handshake.Stats
	QUIC   quic.Stats
	SSH    ssh.Stats
}

// Set runs the analysers the configuration asks for. It is a
// decode.Handler; use it from one goroutine.
type Set struct {
	flows    *flow.Table
	flowH    decode.Handler // the table, or what stands in for it
	re       *stream.Reassembler
	web      *http1.Analyzer
	tls      *handshake.Analyzer
	dtls     *handshake.DTLS
	quic     *quic.Analyzer
	ssh      *ssh.Analyzer
	handlers []decode.Handler
}

// New builds the analysers; emit receives every event, which is valid
// only during the call: the analysers reuse their events (copy what is
// kept).
func New(cfg Config, emit func(*event.Event)) *Set {
	s := &Set{}
	if cfg.Types.IP {
		femit := emit
		if cfg.FlowEmit != nil {
			femit = cfg.FlowEmit
		}
		s.flows = flow.New(cfg.Flow, femit)
		s.flowH = s.flows
		if cfg.OffloadFlows != nil {
			s.flowH = cfg.OffloadFlows(s.flows)
		}
		s.handlers = append(s.handlers, s.flowH)
	}
	var factories []stream.Factory
	if cfg.Types.HTTP {
		s.web = http1.New(cfg.HTTP, emit)
		factories = append(factories, s.web.Conn)
	}
	if cfg.Types.TLS {
		s.tls = handshake.New(cfg.TLS, emit)
		factories = append(factories, s.tls.Conn)
		s.quic = quic.New(cfg.QUIC, emit)
		s.dtls = handshake.NewDTLS(s.tls, 0, 0)
		s.handlers = append(s.handlers, s.quic, s.dtls)
	}
	if cfg.Types.SSH {
		s.ssh = ssh.New(emit)
		factories = append(factories, s.ssh.Conn)
	}
	if len(factories) > 0 {
		s.re = stream.New(cfg.Stream, stream.Fanout(factories...))
		s.handlers = append(s.handlers, s.re)
	}
	return s
}

// HandlePacket gives p to every analyser.
func (s *Set) HandlePacket(p *decode.Packet) {
	for _, h := range s.handlers {
		h.HandlePacket(p)
	}
}

// HandleOuter gives the outer packet of a tunnel to the flow table.
func (s *Set) HandleOuter(p *decode.Packet) {
	if o, ok := s.flowH.(decode.OuterHandler); ok {
		o.HandleOuter(p)
	}
}

// Advance moves every analyser's clock.
func (s *Set) Advance(now time.Time) {
	for _, h := range s.handlers {
		h.Advance(now)
	}
}

// Close emits everything pending: open connections first (their HTTP
// and TLS events), then the flows.
func (s *Set) Close() {
	for i := len(s.handlers) - 1; i >= 0; i-- {
		s.handlers[i].Close()
	}
}

// Stats returns the counters of the analysers that run. With
// Config.OffloadFlows, the flow table's are read as they are: call it when
// the table is idle (capture.Pipeline.Sync).
func (s *Set) Stats() Stats {
	var st Stats
	if s.flows != nil {
		st.Flow = s.flows.Stats()
	}
	if s.re != nil {
		st.Stream = s.re.Stats()
	}
	if s.web != nil {
		st.HTTP = s.web.Stats()
	}
	if s.tls != nil {
		st.TLS = s.tls.Stats()
		st.QUIC = s.quic.Stats()
	}
	if s.ssh != nil {
		st.SSH = s.ssh.Stats()
	}
	return st
}

// FromConfig makes the analysers' settings from config.yml's analysis
// section.
func FromConfig(c config.Analysis, types Types) Config {
	return Config{
		Types: types,
		Flow: flow.Config{TCPIdle: c.TCPIdle, UDPIdle: c.UDPIdle, ICMPIdle: c.ICMPIdle,
			Active: c.ActiveTimeout, Grace: c.CloseGrace, MaxFlows: c.MaxFlows},
		Stream: stream.Config{MaxConns: c.MaxConnections, MaxPerStream: c.MaxBufferPerStream,
			MaxTotal: c.MaxBufferTotal, Idle: c.TCPIdle},
	}
}
