package capture

import (
	"fmt"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/analysis"
	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/dns"
	"github.com/nfr-project/nfr/pkg/event"
)

// Types are the event types nfr-capture knows, in the order --types lists
// them; Available says which have an analyser in this build.
var Types = []string{event.TypeDNS, event.TypeIP, event.TypeHTTP, event.TypeTLS, event.TypeSSH}

// Options configure the analysers.
type Options struct {
	DNSPorts   []uint16
	DNSTimeout time.Duration
	Emit       func(*event.Event)
	// Analysis bounds the flow table and TCP reassembly (config.yml's
	// analysis section); zero values take the analysers' defaults.
	Analysis config.Analysis
	// DeferCommunityID leaves communityId to Emit's receiver, a NewEmitter
	// that computes it on the encoding goroutine, off the packet path;
	// otherwise every event gets it before Emit.
	DeferCommunityID bool
	// EmitBatch, when set with Emit and the ip type on (reading files),
	// runs the flow table on a goroutine of its own (see Pipeline), which
	// hands the events to EmitBatch (event.Encoder's), and to Emit only
	// past a lot's bound, from that goroutine; Analysers.Close must then be
	// called after the decoder's Close.
	EmitBatch func(event.Batch)
}

// Available reports whether an analyser for type t is built in.
func Available(t string) bool {
	switch t {
	case event.TypeDNS, event.TypeIP, event.TypeHTTP, event.TypeTLS, event.TypeSSH:
		return true
	}
	return false
}

// Analysers holds the handlers built for a set of types.
type Analysers struct {
	Handlers []decode.Handler
	DNS      *dns.Handler
	L7       *analysis.Set // flows, HTTP, TLS and QUIC; nil when none is asked for
	pipe     *Pipeline
}

// Sync waits until the flow table has caught up with the packets given
// so far (Options.EmitBatch), so that the counters can be read.
func (a *Analysers) Sync() {
	if a.pipe != nil {
		a.pipe.Sync()
	}
}

// Close waits until the flow table has seen everything (Options.EmitBatch):
// after the decoder's Close, before the receiver of Emit is closed.
func (a *Analysers) Close() {
	if a.pipe != nil {
		a.pipe.Close()
	}
}

// NewAnalysers builds one handler per type. An unknown type, or one whose
// analyser is not built in yet, is an error naming it.
func NewAnalysers(types []string, o Options) (*Analysers, error) {
	a := &Analysers{}
	stamp := func(emit func(*event.Event)) func(*event.Event) {
		if emit == nil {
			return nil
		}
		return func(e *event.Event) {
			// Analysers reuse their events: the ID of the last one must
			// not stay.
			e.CommunityID = ""
			if !o.DeferCommunityID {
				communityid.Stamp(e)
			}
			emit(e)
		}
	}
	seen := map[string]bool{}
	var l7 analysis.Types
	var dnsOn bool
	for _, t := range types {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		switch t {
		case event.TypeDNS:
			dnsOn = true
		case event.TypeIP:
			l7.IP = true
		case event.TypeHTTP:
			l7.HTTP = true
		case event.TypeTLS:
			l7.TLS = true
		case event.TypeSSH:
			l7.SSH = true
		default:
			return nil, fmt.Errorf("unknown event type %q (known: %s)", t, strings.Join(Types, ","))
		}
	}
	anyL7 := l7 != (analysis.Types{})
	if !anyL7 && !dnsOn {
		return nil, fmt.Errorf("no event types selected")
	}
	if l7.IP && o.EmitBatch != nil && o.Emit != nil {
		// The other analysers' events queue behind the flow table's
		// packets; the table's own join them on the pipeline's goroutine.
		a.pipe = NewPipeline(o.EmitBatch, o.Emit)
		o.Emit = stamp(a.pipe.Emit)
	} else {
		o.Emit = stamp(o.Emit)
	}
	if dnsOn {
		a.DNS = dns.NewHandler(dns.Config{Ports: o.DNSPorts, Timeout: o.DNSTimeout, Emit: o.Emit})
		a.Handlers = append(a.Handlers, a.DNS)
	}
	if anyL7 {
		cfg := analysis.FromConfig(o.Analysis, l7)
		if a.pipe != nil {
			cfg.OffloadFlows = a.pipe.Offload
			cfg.FlowEmit = stamp(a.pipe.EmitOffloaded)
		}
		a.L7 = analysis.New(cfg, o.Emit)
		a.Handlers = append(a.Handlers, a.L7)
	}
	return a, nil
}

func availableTypes() []string {
	var ts []string
	for _, t := range Types {
		if Available(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// DefaultTypes returns every type with an analyser in this build.
func DefaultTypes() []string { return availableTypes() }
