// Package faultserver is an analytics API server for tests: it speaks the
// documented protocol (pkg/api) on 127.0.0.1 with real sockets, keeps what
// it received, drops replayed batch ids, serves alerts behind a cursor, and
// injects the faults a client must survive: error statuses with
// Retry-After, slow answers, reset connections, malformed answers, requests
// held until the test lets them go, and being stopped and restarted on the
// same address while keeping its state.
package faultserver

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
)

// Kind is a kind of fault.
type Kind int

const (
	Status    Kind = iota // answer Code with {"message"} and Retry-After
	Slow                  // wait Delay, then answer normally
	Reset                 // reset the connection without answering
	Malformed             // answer 200 with a body that is not the expected JSON
	Hold                  // signal Held, wait for Release, then answer normally
	LoseReply             // do the work, then reset the connection: the client must replay
	Trickle               // do the work, then send the answer a byte every Delay
)

// Fault is one injected failure.
type Fault struct {
	Kind       Kind
	Code       int           // Status
	RetryAfter string        // Status: the Retry-After value, if any
	Delay      time.Duration // Slow, Trickle
	Held       chan string   // Hold: receives the request path when held
	Release    chan struct{} // Hold: closed or sent to let the request go
}

type pending struct {
	prefix string
	f      Fault
	n      int
}

// AlertRule makes the server raise an alert for an event it accepts.
type AlertRule func(typ string, line []byte) *api.Alert

// Server is the test server. Its zero value is not usable; call New.
type Server struct {
	// Keys that are valid; empty means any non-empty key.
	Keys map[string]bool
	// Rule, if set, raises alerts for accepted events.
	Rule AlertRule
	// Threats describes threat ids in alert answers.
	Threats map[string]api.ThreatInfo
	// PageSize is how many alerts one answer carries (default 100).
	PageSize int
	// Discard counts events without keeping them (for benchmarks).
	Discard bool
	// MaxBody is the largest events body taken; larger is 413 (default
	// DefaultMaxBody).
	MaxBody int64
	// TLS, if set, makes the server speak https.
	TLS *tls.Config

	mu         sync.Mutex
	faults     []*pending
	batches    map[string]api.EventsResponse
	events     map[string][][]byte
	counts     map[string]int64
	replays    int
	requests   map[string]int
	alerts     []api.Alert
	accounts   map[string]api.RegisterRequest
	resets     []string
	issued     int
	expired    map[string]bool
	addr       string
	ln         net.Listener
	srv        *http.Server
	srvDone    chan struct{}
	lastAgents []string
}

// New returns a stopped server.
func New() *Server {
	return &Server{
		Keys:     map[string]bool{},
		Threats:  map[string]api.ThreatInfo{},
		batches:  map[string]api.EventsResponse{},
		events:   map[string][][]byte{},
		counts:   map[string]int64{},
		requests: map[string]int{},
		accounts: map[string]api.RegisterRequest{},
		expired:  map[string]bool{},
	}
}

// Start listens on 127.0.0.1 (a free port the first time, the same one
// after Stop) and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if s.TLS != nil {
		ln = tls.NewListener(ln, s.TLS)
	}
	// Handshake failures are what some tests are about; keep them quiet.
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	s.mu.Lock()
	s.addr, s.ln, s.srv, s.srvDone = ln.Addr().String(), ln, srv, done
	s.mu.Unlock()
	go func() { srv.Serve(ln); close(done) }()
	return nil
}

// Stop kills the server abruptly: the listener and every connection are
// closed, requests in progress are cut. State is kept for Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, done := s.srv, s.srvDone
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
		<-done
	}
}

// URL is the base URL, http://127.0.0.1:PORT (https with TLS).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.TLS != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Inject queues fault f for the next n requests whose path starts with
// prefix ("/v1/events", "/v1/alerts", "/" for all).
func (s *Server) Inject(prefix string, f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &pending{prefix: prefix, f: f, n: n})
}

func (s *Server) takeFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.faults {
		if strings.HasPrefix(path, p.prefix) {
			p.n--
			if p.n <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return p.f, true
		}
	}
	return Fault{}, false
}

// AddAlert queues an alert for the alerts endpoint.
func (s *Server) AddAlert(a api.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alerts = append(s.alerts, a)
}

// Events returns the event lines accepted for typ, in arrival order.
func (s *Server) Events(typ string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.events[typ]...)
}

// Count returns how many events of typ were accepted (also with Discard).
func (s *Server) Count(typ string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[typ]
}

// Replays returns how many batches were dropped as replays of a batch id
// already accepted.
func (s *Server) Replays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replays
}

// Requests returns how many requests reached path (faults included).
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// UserAgents returns the User-Agent values seen, most recent last.
func (s *Server) UserAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastAgents...)
}

// Account returns what was registered for key.
func (s *Server) Account(key string) (api.RegisterRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.accounts[key]
	return r, ok
}

// Resets returns the addresses key resets were asked for.
func (s *Server) Resets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.resets...)
}

// Expire marks key as expired in status answers.
func (s *Server) Expire(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[key] = true
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	if len(s.lastAgents) < 1000 {
		s.lastAgents = append(s.lastAgents, r.UserAgent())
	}
	s.mu.Unlock()
	f, faulty := s.takeFault(r.URL.Path)
	loseReply := false
	if faulty {
		switch f.Kind {
		case Status:
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			writeJSON(w, f.Code, api.ErrorResponse{Message: fmt.Sprintf("injected %d", f.Code)})
			return
		case Slow:
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		case Reset:
			reset(w)
			return
		case Malformed:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"received":1,"accepted":`) // cut short
			return
		case Hold:
			// Take the whole request first, so that once released the
			// server does the work even if the client died meanwhile.
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			if f.Held != nil {
				f.Held <- r.URL.Path
			}
			<-f.Release
		case LoseReply:
			loseReply = true
		case Trickle:
			w = &trickleWriter{w: w, delay: f.Delay, done: r.Context().Done()}
		}
	}
	key, _, _ := r.BasicAuth()
	switch {
	case r.URL.Path == "/v1/key/request" && r.Method == http.MethodPost:
		s.keyRequest(w, r)
		return
	case r.URL.Path == "/v1/key/reset" && r.Method == http.MethodPost:
		var req api.ResetRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || !strings.Contains(req.Email, "@") {
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Message: "email required"})
			return
		}
		s.mu.Lock()
		s.resets = append(s.resets, req.Email)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if !s.validKey(key) {
		writeJSON(w, http.StatusUnauthorized, api.ErrorResponse{Message: "invalid API key"})
		return
	}
	var rec *httpRecorder
	if loseReply {
		rec = &httpRecorder{h: http.Header{}}
	}
	ww := w
	if rec != nil {
		ww = rec
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/events/") && r.Method == http.MethodPost:
		s.postEvents(ww, r, strings.TrimPrefix(r.URL.Path, "/v1/events/"))
	case r.URL.Path == "/v1/alerts" && r.Method == http.MethodGet:
		s.getAlerts(ww, r)
	case r.URL.Path == "/v1/account/register" && r.Method == http.MethodPost:
		var req api.RegisterRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Details.Name == "" || !strings.Contains(req.Details.Email, "@") {
			writeJSON(ww, http.StatusBadRequest, api.ErrorResponse{Message: "name and email required"})
			break
		}
		s.mu.Lock()
		s.accounts[key] = req
		s.mu.Unlock()
		writeJSON(ww, http.StatusOK, struct{}{})
	case r.URL.Path == "/v1/account/status" && r.Method == http.MethodGet:
		s.mu.Lock()
		_, reg := s.accounts[key]
		st := api.StatusResponse{Registered: reg, Expired: s.expired[key], Messages: []api.Message{}}
		s.mu.Unlock()
		if !reg {
			st.Messages = append(st.Messages, api.Message{Level: 2, Body: "this key is not registered"})
		}
		writeJSON(ww, http.StatusOK, st)
	default:
		writeJSON(ww, http.StatusNotFound, api.ErrorResponse{Message: "no such endpoint"})
	}
	if rec != nil {
		reset(w)
	}
}

func (s *Server) validKey(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		return false
	}
	return len(s.Keys) == 0 || s.Keys[key]
}

func (s *Server) keyRequest(w http.ResponseWriter, r *http.Request) {
	var req api.KeyRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Platform.Name == "" {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Message: "platform required"})
		return
	}
	s.mu.Lock()
	s.issued++
	key := fmt.Sprintf("testkey%06d", s.issued)
	if len(s.Keys) > 0 {
		s.Keys[key] = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, api.KeyResponse{Key: key})
}

// DefaultMaxBody is the largest events body taken unless MaxBody says.
const DefaultMaxBody = 16 << 20

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, typ string) {
	switch typ {
	case "dns", "ip", "http", "tls":
	default:
		writeJSON(w, http.StatusNotFound, api.ErrorResponse{Message: "unknown event type " + typ})
		return
	}
	limit := s.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Message: "bad gzip body"})
			return
		}
		body = &io.LimitedReader{R: zr, N: limit + 1}
	}
	b, err := io.ReadAll(body)
	if err != nil || int64(len(b)) > limit {
		writeJSON(w, http.StatusRequestEntityTooLarge, api.ErrorResponse{Message: "body too large"})
		return
	}
	id := r.Header.Get(api.BatchIDHeader)
	s.mu.Lock()
	if prev, ok := s.batches[id]; ok && id != "" {
		s.replays++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, prev)
		return
	}
	s.mu.Unlock()
	resp := api.EventsResponse{}
	var lines [][]byte
	var alerts []api.Alert
	if s.Discard {
		resp.Received = bytes.Count(b, []byte{'\n'})
		resp.Accepted = resp.Received
	} else {
		for _, line := range bytes.Split(b, []byte{'\n'}) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			resp.Received++
			var ev struct {
				Type string `json:"type"`
			}
			switch {
			case json.Unmarshal(line, &ev) != nil:
				reject(&resp, "malformed")
				continue
			case ev.Type != "" && ev.Type != typ:
				reject(&resp, "wrong type")
				continue
			}
			resp.Accepted++
			lines = append(lines, line)
			if s.Rule != nil {
				if a := s.Rule(typ, line); a != nil {
					alerts = append(alerts, *a)
				}
			}
		}
	}
	s.mu.Lock()
	if id != "" {
		if prev, ok := s.batches[id]; ok { // a replay raced us
			s.replays++
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, prev)
			return
		}
		s.batches[id] = resp
	}
	s.events[typ] = append(s.events[typ], lines...)
	s.counts[typ] += int64(resp.Accepted)
	s.alerts = append(s.alerts, alerts...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func reject(r *api.EventsResponse, reason string) {
	if r.Rejected == nil {
		r.Rejected = map[string]int{}
	}
	r.Rejected[reason]++
}

func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request) {
	from := 0
	if f := r.URL.Query().Get("follow"); f != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(f, "c"))
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Message: "bad follow cursor"})
			return
		}
		from = n
	}
	s.mu.Lock()
	page := s.PageSize
	if page <= 0 {
		page = 100
	}
	from = min(from, len(s.alerts))
	to := min(from+page, len(s.alerts))
	resp := api.AlertsResponse{
		Follow:  "c" + strconv.Itoa(to),
		More:    to < len(s.alerts),
		Alerts:  append([]api.Alert{}, s.alerts[from:to]...),
		Threats: map[string]api.ThreatInfo{},
	}
	for _, a := range resp.Alerts {
		for _, t := range a.Threats {
			if ti, ok := s.Threats[t]; ok {
				resp.Threats[t] = ti
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// reset closes the client's connection with a TCP RST.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// httpRecorder swallows an answer that is never sent (LoseReply).
type httpRecorder struct {
	h http.Header
}

func (r *httpRecorder) Header() http.Header         { return r.h }
func (r *httpRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *httpRecorder) WriteHeader(int)             {}

// trickleWriter sends an answer a byte at a time, a slow link or a stuck
// server that only a whole-request timeout catches.
type trickleWriter struct {
	w     http.ResponseWriter
	delay time.Duration
	done  <-chan struct{}
}

func (t *trickleWriter) Header() http.Header { return t.w.Header() }
func (t *trickleWriter) WriteHeader(c int)   { t.w.WriteHeader(c) }

func (t *trickleWriter) Write(b []byte) (int, error) {
	for i := range b {
		if _, err := t.w.Write(b[i : i+1]); err != nil {
			return i, err
		}
		t.w.(http.Flusher).Flush()
		select {
		case <-time.After(t.delay):
		case <-t.done:
			return i + 1, http.ErrAbortHandler
		}
	}
	return len(b), nil
}
