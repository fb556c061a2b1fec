package server

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
)

// metrics are exposed on GET /metrics in the Prometheus text format,
// version 0.0.4. Nothing in them names a tenant or a key.
type metrics struct {
	queueCap     int
	inFlight     atomic.Int64
	replayed     atomic.Int64
	alerts       atomic.Int64
	alertsServed atomic.Int64
	overloaded   atomic.Int64
	tooLarge     atomic.Int64
	scorers      atomic.Int64 // tenants' scorers in memory
	evicted      atomic.Int64 // scorers let go (idle or revoked)

	mu       sync.Mutex
	requests map[[2]string]int64 // endpoint, code
	duration map[string]*histogram
	batches  map[string]int64    // type
	received map[string]int64    // type
	accepted map[string]int64    // type
	rejected map[[2]string]int64 // type, reason
}

var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}

type histogram struct {
	counts []int64 // per bucket, not cumulative
	sum    float64
	n      int64
}

func (m *metrics) init(queueCap int) {
	m.queueCap = queueCap
	m.requests = map[[2]string]int64{}
	m.duration = map[string]*histogram{}
	m.batches = map[string]int64{}
	m.received = map[string]int64{}
	m.accepted = map[string]int64{}
	m.rejected = map[[2]string]int64{}
}

func (m *metrics) request(endpoint string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{endpoint, strconv.Itoa(code)}]++
	h := m.duration[endpoint]
	if h == nil {
		h = &histogram{counts: make([]int64, len(durationBuckets))}
		m.duration[endpoint] = h
	}
	sec := d.Seconds()
	for i, b := range durationBuckets {
		if sec <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += sec
	h.n++
}

func (m *metrics) batch(typ string, r api.EventsResponse) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches[typ]++
	m.received[typ] += int64(r.Received)
	m.accepted[typ] += int64(r.Accepted)
	for reason, n := range r.Rejected {
		m.rejected[[2]string{typ, reason}] += int64(n)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	m := &s.metrics
	head := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	m.mu.Lock()
	head("nfr_engine_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
	for _, k := range sortedPairs(m.requests) {
		fmt.Fprintf(&b, "nfr_engine_requests_total{endpoint=\"%s\",code=\"%s\"} %d\n", labelValue(k[0]), labelValue(k[1]), m.requests[k])
	}
	head("nfr_engine_request_duration_seconds", "histogram", "Time to answer a request, by endpoint.")
	for _, ep := range sortedKeys(m.duration) {
		h := m.duration[ep]
		ep = labelValue(ep)
		var cum int64
		for i, le := range durationBuckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "nfr_engine_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%s\"} %d\n", ep, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(&b, "nfr_engine_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %d\n", ep, h.n)
		fmt.Fprintf(&b, "nfr_engine_request_duration_seconds_sum{endpoint=\"%s\"} %g\n", ep, h.sum)
		fmt.Fprintf(&b, "nfr_engine_request_duration_seconds_count{endpoint=\"%s\"} %d\n", ep, h.n)
	}
	for _, c := range []struct {
		name, help string
		m          map[string]int64
	}{
		{"nfr_engine_batches_total", "Event batches taken (replays not counted), by event type.", m.batches},
		{"nfr_engine_events_received_total", "Events received in batches taken, by event type.", m.received},
		{"nfr_engine_events_accepted_total", "Events accepted and scored, by event type.", m.accepted},
	} {
		head(c.name, "counter", c.help)
		for _, k := range sortedKeys(c.m) {
			fmt.Fprintf(&b, "%s{type=\"%s\"} %d\n", c.name, labelValue(k), c.m[k])
		}
	}
	head("nfr_engine_events_rejected_total", "counter", "Events rejected, by event type and reason.")
	for _, k := range sortedPairs(m.rejected) {
		fmt.Fprintf(&b, "nfr_engine_events_rejected_total{type=\"%s\",reason=\"%s\"} %d\n", labelValue(k[0]), labelValue(k[1]), m.rejected[k])
	}
	m.mu.Unlock()
	for _, g := range []struct {
		name, typ, help string
		v               int64
	}{
		{"nfr_engine_batches_replayed_total", "counter", "Batches whose id was already taken, answered as the first time.", m.replayed.Load()},
		{"nfr_engine_alerts_stored_total", "counter", "Alerts raised by the scorers and stored.", m.alerts.Load()},
		{"nfr_engine_alerts_served_total", "counter", "Alerts sent to clients on /v1/alerts.", m.alertsServed.Load()},
		{"nfr_engine_overloaded_total", "counter", "Requests answered 429 because the queue was full.", m.overloaded.Load()},
		{"nfr_engine_too_large_total", "counter", "Requests answered 413 because the body was too large.", m.tooLarge.Load()},
		{"nfr_engine_queue_length", "gauge", "Batches waiting for the worker.", int64(len(s.queue))},
		{"nfr_engine_queue_capacity", "gauge", "Batches that may wait before requests are answered 429.", int64(m.queueCap)},
		{"nfr_engine_requests_in_flight", "gauge", "API requests being served.", m.inFlight.Load()},
		{"nfr_engine_scorers", "gauge", "Tenants' scorers in memory.", m.scorers.Load()},
		{"nfr_engine_scorers_evicted_total", "counter", "Scorers saved and let go because their tenant was idle or revoked.", m.evicted.Load()},
	} {
		head(g.name, g.typ, g.help)
		fmt.Fprintf(&b, "%s %d\n", g.name, g.v)
	}
	if s.cfg.Outputs != nil {
		s.cfg.Outputs.WriteMetrics(&b)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

// labelValue escapes a label value as the Prometheus text format (0.0.4)
// wants: backslash, double quote and line feed, and nothing else (Go's %q
// would also escape non-ASCII and control bytes, which the format keeps).
func labelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return labelEscaper.Replace(v)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func sortedPairs(m map[[2]string]int64) [][2]string {
	ks := make([][2]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i][0] != ks[j][0] {
			return ks[i][0] < ks[j][0]
		}
		return ks[i][1] < ks[j][1]
	})
	return ks
}
