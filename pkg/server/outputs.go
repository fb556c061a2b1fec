package server

import (
	"io"

	"github.com/nfr-project/nfr/pkg/event"
)

// AlertOutputs takes every alert the engine stores, to deliver it where a
// SOC works (nfr-alert's outputs, pkg/alert), and adds its counters to
// /metrics.
type AlertOutputs interface {
	// Add queues one alert line; the outputs deliver it on their own.
	Add(line []byte) error
	// WriteMetrics writes the outputs' counters in the Prometheus text
	// format.
	WriteMetrics(w io.Writer)
}

// deliver hands a stored alert to the configured outputs.
func (s *Server) deliver(a *event.Event) {
	if s.cfg.Outputs == nil {
		return
	}
	if err := s.cfg.Outputs.Add(a.AppendJSON(nil)); err != nil {
		s.notice("error: alert outputs: %v", err)
	}
}
