// Package analysis assembles the analysers that turn decoded packets into
// ip, http and tls events: the flow table, one TCP reassembler shared by the
// HTTP and TLS analysers, and the QUIC analyser. nfr-capture registers the
// Set as one decode.Handler next to its DNS analyser.
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
	"github.com/nfr-project/nfr/pkg/stream"
)

// Types says which event types to produce (nfr-capture --types).
type Types struct {
	IP   bool // flows
	HTTP bool
	TLS  bool // TLS over TCP and QUIC
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
}

// Stats gathers the analysers' counters, for --stats and SIGUSR1.
type Stats struct {
	Flow   flow.Stats
	Stream stream.Stats
	HTTP   http1.Stats
	TLS    handshake.Stats
	QUIC   quic.Stats
}

// Set runs the analysers the configuration asks for. It is a
// decode.Handler; use it from one goroutine.
type Set struct {
	flows    *flow.Table
	re       *stream.Reassembler
	web      *http1.Analyzer
	tls      *handshake.Analyzer
	quic     *quic.Analyzer
	handlers []decode.Handler
}

// New builds the analysers; emit receives every event (each belongs to
// the callee).
func New(cfg Config, emit func(*event.Event)) *Set {
	s := &Set{}
	if cfg.Types.IP {
		s.flows = flow.New(cfg.Flow, emit)
		s.handlers = append(s.handlers, s.flows)
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
		s.handlers = append(s.handlers, s.quic)
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

// Stats returns the counters of the analysers that run.
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
