// Package server is nfr-engine: the AlphaSOC-compatible analytics API (see
// package api) served over HTTP, with tenants, hashed keys and alerts kept in
// an SQLite database (Store), and events scored by one Scorer per tenant.
//
// Requests are decoded in their own goroutines; scoring and every write go
// through one bounded queue to one worker goroutine, which commits several
// batches per transaction. A full queue answers 429 with Retry-After, so an
// overloaded engine sheds load instead of growing without bound. A batch
// answered 200 is committed: its id (api.BatchIDHeader) and the alerts it
// raised are in the same transaction, so a replayed batch is answered as the
// first time and never scored twice.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// Scorer scores one tenant's events (pkg/score's Engine). The worker calls
// it from one goroutine only, so it needs no locks. Events are not reused
// after Process returns, so a scorer may keep them. emit may be called any
// number of times with alerts (Type "alert", EventType, Threats, Flags); an
// alert is stored before emit returns, so emit must not be kept.
type Scorer interface {
	Process(ev *event.Event, emit func(alert *event.Event))
	Advance(now time.Time, emit func(alert *event.Event))
	Flush(emit func(alert *event.Event))
}

// Holder is a Scorer that holds events to score them in time order
// (pkg/score's Ordered): the worker calls Tick with the wall clock every
// Tick, and the scorer releases the events that have waited long enough.
type Holder interface {
	Tick(wall time.Time, emit func(alert *event.Event))
}

// ScorerFactory makes the scorer of a tenant the first time it sends events.
type ScorerFactory func(tenant string) (Scorer, error)

// Config tunes a Server. Zero values take the defaults shown.
type Config struct {
	MaxBody     int64 // largest request body, after gzip decompression; 16 MiB
	Queue       int   // batches waiting for the worker before 429; 64
	AlertsPage  int   // alerts per GET /v1/alerts answer; 100
	KeyRequests bool  // allow POST /v1/key/request without a key
	MaxTenants  int   // tenants key requests may create in all; 1000
	// KeyRequestsPerHour is how many keys one client address may request
	// an hour; 10.
	KeyRequestsPerHour int
	BatchRetention     time.Duration // how long batch ids are remembered; 30 days
	AlertRetention     time.Duration // how long alerts are kept; 0 is for ever
	RetryAfter         time.Duration // Retry-After on 429 and 503; 1s
	Tick               time.Duration // how often scorers holding events are ticked (Holder) and idle tenants' scorers Advance; 1s
	IdleAdvance        time.Duration // how long a tenant sends nothing before its clock follows the wall clock; 30s
	IdleEvict          time.Duration // how long a tenant sends nothing before its scorer is saved and let go; 1h
	EvictEvery         time.Duration // how often scorers to let go are looked for; 1m
	// Decoders bounds the request bodies read and decoded at once; more
	// wait, unread, so TCP pushes back on the clients. 4 x GOMAXPROCS.
	Decoders int
	// Log, if set, gets one line per request (never a key).
	Log func(format string, args ...any)
	// Notice, if set, gets messages for the operator: errors, keys
	// requested, key resets asked for.
	Notice func(format string, args ...any)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Outputs, if set, delivers every stored alert (see outputs.go).
	Outputs AlertOutputs
	// Catalog is the threat catalog the console shows (score.Catalog).
	Catalog map[string]api.ThreatInfo
}

func (c *Config) setDefaults() {
	if c.MaxBody <= 0 {
		c.MaxBody = 16 << 20
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	if c.MaxTenants <= 0 {
		c.MaxTenants = 1000
	}
	if c.KeyRequestsPerHour <= 0 {
		c.KeyRequestsPerHour = 10
	}
	if c.AlertsPage <= 0 {
		c.AlertsPage = 100
	}
	if c.BatchRetention <= 0 {
		c.BatchRetention = 30 * 24 * time.Hour
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.IdleAdvance <= 0 {
		c.IdleAdvance = 30 * time.Second
	}
	if c.IdleEvict <= 0 {
		c.IdleEvict = time.Hour
	}
	if c.EvictEvery <= 0 {
		c.EvictEvery = evictEvery
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.Decoders <= 0 {
		c.Decoders = 4 * runtime.GOMAXPROCS(0)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server serves the API. Start the worker with Run; ServeHTTP may be used
// only while Run is running.
type Server struct {
	cfg      Config
	store    *Store
	factory  ScorerFactory
	mux      *http.ServeMux
	queue    chan *job
	decoders chan struct{}
	metrics  metrics
	keyLimit *keyLimiter
	keyMu    sync.Mutex // one key request at a time, so the tenant cap holds

	stopOnce sync.Once
	stop     chan struct{} // closed by Close: the worker drains and returns
	done     chan struct{} // closed when Run returned
	running  atomic.Bool
}

// New returns a Server over store. The factory makes a tenant's scorer.
func New(store *Store, factory ScorerFactory, cfg Config) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:      cfg,
		store:    store,
		factory:  factory,
		queue:    make(chan *job, cfg.Queue),
		decoders: make(chan struct{}, cfg.Decoders),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.metrics.init(cfg.Queue)
	s.keyLimit = newKeyLimiter(cfg.KeyRequestsPerHour, cfg.Now)
	s.routes()
	return s
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/events/{type}", s.auth(s.postEvents))
	m.HandleFunc("GET /v1/alerts", s.auth(s.getAlerts))
	m.HandleFunc("POST /v1/account/register", s.auth(s.register))
	m.HandleFunc("GET /v1/account/status", s.auth(s.status))
	m.HandleFunc("POST /v1/key/request", s.keyRequest)
	m.HandleFunc("POST /v1/key/reset", s.keyReset)
	// The 2017 protocol, for old clients.
	m.HandleFunc("POST /v1/queries", s.auth(s.postQueries))
	m.HandleFunc("GET /v1/events", s.auth(s.getLegacyEvents))
	m.HandleFunc("GET /metrics", s.serveMetrics)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	s.consoleRoutes(m) // console.go
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(r.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+": use "+allow)
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux = m
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	api := strings.HasPrefix(r.URL.Path, "/v1/")
	if api {
		s.metrics.inFlight.Add(1)
	}
	s.mux.ServeHTTP(rw, r)
	if api {
		s.metrics.inFlight.Add(-1)
	}
	s.metrics.request(endpointOf(r), rw.code, time.Since(start))
	if s.cfg.Log != nil {
		tenant := rw.tenant
		if tenant == "" {
			tenant = "-"
		}
		s.cfg.Log("%s %s %s %d %d %s %.3fms", r.RemoteAddr, r.Method, r.URL.Path, rw.code, rw.n, tenant,
			float64(time.Since(start).Microseconds())/1000)
	}
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	n           int64
	wroteHeader bool
	tenant      string // for the request log
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func endpointOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/events/"):
		// Metric labels come from a closed set: a label per junk path
		// would let anyone grow /metrics without bound.
		if typ := strings.TrimPrefix(p, "/v1/events/"); eventTypes[typ] {
			return p
		}
		return "other"
	case p == "/v1/alerts", p == "/v1/account/register", p == "/v1/account/status",
		p == "/v1/key/request", p == "/v1/key/reset", p == "/v1/queries", p == "/v1/events",
		p == "/metrics", p == "/healthz":
		return p
	}
	return "other"
}

// allowed returns the method an endpoint takes, for 405 answers.
func allowed(path string) string {
	switch path {
	case "/v1/events/dns", "/v1/events/ip", "/v1/events/http", "/v1/events/tls", "/v1/account/register",
		"/v1/key/request", "/v1/key/reset", "/v1/queries":
		return "POST"
	case "/v1/alerts", "/v1/account/status", "/v1/events", "/metrics", "/healthz":
		return "GET"
	}
	return ""
}

// auth checks HTTP Basic auth, the key being the user name, and passes the
// tenant on in the request's context.
func (s *Server) auth(h func(http.ResponseWriter, *http.Request, Tenant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, _, ok := r.BasicAuth()
		if !ok || key == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="nfr-engine"`)
			writeError(w, http.StatusUnauthorized, "missing API key (HTTP Basic auth, the key as user name)")
			return
		}
		t, err := s.store.Authenticate(key)
		if errors.Is(err, ErrUnknownKey) {
			w.Header().Set("WWW-Authenticate", `Basic realm="nfr-engine"`)
			writeError(w, http.StatusUnauthorized, "invalid API key")
			return
		}
		if err != nil {
			s.internalError(w, err)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.tenant = t.Name
		}
		h(w, r, t)
	}
}

func (s *Server) notice(format string, args ...any) {
	if s.cfg.Notice != nil {
		s.cfg.Notice(format, args...)
	}
}

func (s *Server) internalError(w http.ResponseWriter, err error) {
	s.notice("error: %v", err)
	s.retryAfter(w)
	writeError(w, http.StatusServiceUnavailable, "internal error, try again later")
}

func (s *Server) retryAfter(w http.ResponseWriter) {
	secs := int((s.cfg.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"message":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, api.ErrorResponse{Message: msg})
}

// readJSON decodes a small JSON request body into v, limited to 64 KiB.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			writeError(w, http.StatusBadRequest, "reading the request: "+err.Error())
		}
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// Close stops the worker after it has finished the queued batches, flushed
// every tenant's scorer and stored their last alerts. Call it after the
// HTTP server has shut down, so no request is waiting for an answer.
func (s *Server) Close(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	if !s.running.Load() {
		return nil
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("worker did not finish: %w", ctx.Err())
	}
}
