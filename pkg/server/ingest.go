package server

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// A job is one decoded batch on its way to the worker.
type job struct {
	tenant  Tenant
	typ     string
	batchID string
	events  []event.Event
	resp    api.EventsResponse
	reply   chan result
}

type result struct {
	resp     api.EventsResponse
	replayed bool
	err      error
}

// maxGroup bounds how much the worker commits in one transaction.
const (
	maxGroupJobs   = 64
	maxGroupEvents = 200000
)

var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
)

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, t Tenant) {
	typ := r.PathValue("type")
	if !eventTypes[typ] {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown event type %q (dns, ip, http, tls, ssh)", typ))
		return
	}
	batchID := r.Header.Get(api.BatchIDHeader)
	if len(batchID) > 128 || strings.ContainsFunc(batchID, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		writeError(w, http.StatusBadRequest, api.BatchIDHeader+" must be at most 128 printable ASCII characters")
		return
	}
	if len(s.queue) == cap(s.queue) {
		// Do not read a body that cannot be queued.
		s.overloaded(w)
		return
	}
	if batchID != "" {
		// A replay after a lost answer: no need to read the body again.
		prev, ok, err := s.store.batchAnswer(t.ID, batchID)
		if err != nil {
			s.internalError(w, err)
			return
		}
		if ok {
			s.metrics.replayed.Add(1)
			writeJSON(w, http.StatusOK, prev)
			return
		}
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	if !s.acquireDecoder(w, r) {
		return
	}
	if !s.readBody(w, r, buf) {
		s.releaseDecoder()
		return
	}
	evs, resp := DecodeBatchParallel(buf.Bytes(), typ, runtime.GOMAXPROCS(0))
	s.releaseDecoder()
	s.submit(w, r, &job{tenant: t, typ: typ, batchID: batchID, events: evs, resp: resp})
}

// acquireDecoder waits for a turn to read and decode a body, so at most
// Decoders bodies are in memory before the queue.
func (s *Server) acquireDecoder(w http.ResponseWriter, r *http.Request) bool {
	select {
	case s.decoders <- struct{}{}:
		return true
	case <-r.Context().Done():
		return false
	case <-s.stop:
		s.retryAfter(w)
		writeError(w, http.StatusServiceUnavailable, "server is shutting down, try again later")
		return false
	}
}

func (s *Server) releaseDecoder() { <-s.decoders }

// readBody reads the request body into buf, gunzipping it if it says so,
// and answers 413 when it is larger than MaxBody either way.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) bool {
	if r.ContentLength > s.cfg.MaxBody {
		s.metrics.tooLarge.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes: send smaller batches", s.cfg.MaxBody))
		return false
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(body)
		} else {
			err = zr.Reset(body)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad gzip body: "+err.Error())
			return false
		}
		defer gzipPool.Put(zr)
		body = zr
	default:
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Encoding %q (gzip or none)", enc))
		return false
	}
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, s.cfg.MaxBody+1))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) || int64(buf.Len()) > s.cfg.MaxBody:
		s.metrics.tooLarge.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes: send smaller batches", s.cfg.MaxBody))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return false
	}
	return true
}

// submit queues j for the worker and answers with its result; a full queue
// is answered 429 at once.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, j *job) {
	if len(j.events) == 0 && j.batchID == "" {
		s.metrics.batch(j.typ, j.resp)
		writeJSON(w, http.StatusOK, j.resp)
		return
	}
	select {
	case <-s.stop:
		s.retryAfter(w)
		writeError(w, http.StatusServiceUnavailable, "server is shutting down, try again later")
		return
	default:
	}
	j.reply = make(chan result, 1)
	select {
	case s.queue <- j:
	default:
		s.overloaded(w)
		return
	}
	var res result
	select {
	case res = <-j.reply:
	case <-s.done:
		// The worker stopped before taking the batch; it was not stored.
		select {
		case res = <-j.reply:
		default:
			s.retryAfter(w)
			writeError(w, http.StatusServiceUnavailable, "server is shutting down, try again later")
			return
		}
	}
	if res.err != nil {
		s.internalError(w, res.err)
		return
	}
	writeJSON(w, http.StatusOK, res.resp)
}

func (s *Server) overloaded(w http.ResponseWriter) {
	s.metrics.overloaded.Add(1)
	s.retryAfter(w)
	writeError(w, http.StatusTooManyRequests, "server busy, try again later")
}

// tenantState is the worker's per-tenant state.
type tenantState struct {
	scorer Scorer
	// Event time of the newest event and the wall time it came: Advance
	// moves event time on with the wall clock while a tenant is idle, so
	// replayed captures and live traffic are both windowed by event time.
	lastTS, lastWall time.Time
}

// Run is the worker: it scores and stores queued batches until Close, then
// drains the queue, flushes every scorer and returns.
func (s *Server) Run() error {
	s.running.Store(true)
	defer close(s.done)
	tenants := map[int64]*tenantState{}
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	evict := time.NewTicker(s.cfg.EvictEvery)
	defer evict.Stop()
	s.prune()
	for {
		select {
		case j := <-s.queue:
			s.process(s.group(j), tenants)
		case <-tick.C:
			s.advance(tenants)
		case <-prune.C:
			s.prune()
		case <-evict.C:
			s.evict(tenants)
		case <-s.stop:
			for {
				select {
				case j := <-s.queue:
					s.process(s.group(j), tenants)
					continue
				default:
				}
				break
			}
			return s.flush(tenants)
		}
	}
}

// group takes more queued jobs after first, to commit them together.
func (s *Server) group(first *job) []*job {
	g := []*job{first}
	n := len(first.events)
	for len(g) < maxGroupJobs && n < maxGroupEvents {
		select {
		case j := <-s.queue:
			g = append(g, j)
			n += len(j.events)
			continue
		default:
		}
		break
	}
	return g
}

type batchKey struct {
	tenant int64
	id     string
}

// process scores a group of batches and commits them, their ids and their
// alerts in one transaction, then answers each.
func (s *Server) process(g []*job, tenants map[int64]*tenantState) {
	results := make([]result, len(g))
	err := s.inTx(func(tx *sql.Tx) error {
		insAlert, insBatch, getBatch := tx.Stmt(s.store.insAlert), tx.Stmt(s.store.insBatch), tx.Stmt(s.store.getBatch)
		keySeen := tx.Stmt(s.store.keySeen)
		seen := map[int64]bool{}
		pending := map[batchKey]api.EventsResponse{}
		now := s.cfg.Now()
		for i, j := range g {
			if j.batchID != "" {
				k := batchKey{j.tenant.ID, j.batchID}
				if prev, ok := pending[k]; ok {
					results[i] = result{resp: prev, replayed: true}
					continue
				}
				var answer string
				err := getBatch.QueryRow(j.tenant.ID, j.batchID).Scan(&answer)
				if err == nil {
					var prev api.EventsResponse
					if err := json.Unmarshal([]byte(answer), &prev); err != nil {
						return fmt.Errorf("batch %s: stored answer: %w", j.batchID, err)
					}
					results[i] = result{resp: prev, replayed: true}
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			if j.tenant.Key != 0 && !seen[j.tenant.Key] {
				seen[j.tenant.Key] = true
				if _, err := keySeen.Exec(now.Unix(), j.tenant.Key); err != nil {
					return err
				}
			}
			ts, err := s.tenant(tenants, j.tenant)
			if err != nil {
				results[i] = result{err: err}
				continue
			}
			var alertErr error
			emit := func(a *event.Event) {
				if err := s.storeAlert(insAlert, j.tenant.ID, now, a); err != nil && alertErr == nil {
					alertErr = err
				}
			}
			if err := s.score(ts, j.events, emit); err != nil {
				delete(tenants, j.tenant.ID) // its state is suspect: start afresh
				return fmt.Errorf("tenant %s: %w", j.tenant.Name, err)
			}
			ts.lastWall = now
			if alertErr != nil {
				return alertErr
			}
			if j.batchID != "" {
				answer, _ := json.Marshal(j.resp)
				if _, err := insBatch.Exec(j.tenant.ID, j.batchID, string(answer), now.Unix()); err != nil {
					return err
				}
				pending[batchKey{j.tenant.ID, j.batchID}] = j.resp
			}
			results[i] = result{resp: j.resp}
		}
		return nil
	})
	for i, j := range g {
		res := results[i]
		if err != nil {
			res = result{err: err}
		}
		if res.err == nil {
			if res.replayed {
				s.metrics.replayed.Add(1)
			} else {
				s.metrics.batch(j.typ, j.resp)
			}
		}
		j.reply <- res
	}
}

// score runs a batch through a tenant's scorer; a panic in the scorer
// fails the batch (the client retries) rather than the whole engine.
func (s *Server) score(ts *tenantState, evs []event.Event, emit func(*event.Event)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scorer panic: %v", p)
		}
	}()
	for k := range evs {
		ev := &evs[k]
		ts.scorer.Process(ev, emit)
		if ev.TS.After(ts.lastTS) {
			ts.lastTS = ev.TS
		}
	}
	return nil
}

func (s *Server) tenant(tenants map[int64]*tenantState, t Tenant) (*tenantState, error) {
	if ts, ok := tenants[t.ID]; ok {
		return ts, nil
	}
	sc, err := s.factory(t.Name)
	if err != nil {
		return nil, fmt.Errorf("scorer for tenant %s: %w", t.Name, err)
	}
	s.loadScorerState(t, sc)
	ts := &tenantState{scorer: sc}
	tenants[t.ID] = ts
	s.metrics.scorers.Store(int64(len(tenants)))
	return ts, nil
}

func (s *Server) inTx(fn func(tx *sql.Tx) error) error {
	tx, err := s.store.w.Begin()
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// advance lets every tenant's scorer close windows while it is idle.
func (s *Server) advance(tenants map[int64]*tenantState) {
	if len(tenants) == 0 {
		return
	}
	now := s.cfg.Now()
	err := s.inTx(func(tx *sql.Tx) error {
		ins := tx.Stmt(s.store.insAlert)
		var err error
		for id, ts := range tenants {
			store := func(a *event.Event) {
				if e := s.storeAlert(ins, id, now, a); e != nil && err == nil {
					err = e
				}
			}
			// Events a scorer holds to put them in time order are
			// released when they have waited long enough.
			if h, ok := ts.scorer.(Holder); ok {
				h.Tick(now, store)
			}
			// While batches keep coming, their events move the clock; a
			// replayed capture arrives faster than real time, and moving its
			// clock on by wall time between batches would close windows
			// (suppression, scans, beacons) that its own events keep open.
			if ts.lastTS.IsZero() || now.Sub(ts.lastWall) < s.cfg.IdleAdvance {
				continue
			}
			ts.scorer.Advance(ts.lastTS.Add(now.Sub(ts.lastWall)), store)
		}
		return err
	})
	if err != nil {
		s.notice("error: storing alerts: %v", err)
	}
}

// flush stores what every scorer still holds, at shutdown.
func (s *Server) flush(tenants map[int64]*tenantState) error {
	now := s.cfg.Now()
	return s.inTx(func(tx *sql.Tx) error {
		ins := tx.Stmt(s.store.insAlert)
		var err error
		for id, ts := range tenants {
			ts.scorer.Flush(func(a *event.Event) {
				if e := s.storeAlert(ins, id, now, a); e != nil && err == nil {
					err = e
				}
			})
		}
		return err
	})
}

func (s *Server) prune() {
	now := s.cfg.Now()
	n, err := s.store.pruneBatches(now.Add(-s.cfg.BatchRetention))
	if err != nil {
		s.notice("error: pruning old batch ids: %v", err)
	} else if n > 0 {
		s.notice("forgot %d batch ids older than %s", n, s.cfg.BatchRetention)
	}
	if s.cfg.AlertRetention <= 0 {
		return
	}
	n, err = s.store.pruneAlerts(now.Add(-s.cfg.AlertRetention))
	if err != nil {
		s.notice("error: pruning old alerts: %v", err)
	} else if n > 0 {
		s.notice("deleted %d alerts older than %s", n, s.cfg.AlertRetention)
		if err := s.store.pruneConsole(); err != nil { // console_store.go
			s.notice("error: pruning the console's index: %v", err)
		}
	}
}

// storeAlert writes alert a as a row: the event it is about (the alert's
// own fields removed, type set back to the event's type), its threats and
// its flags.
func (s *Server) storeAlert(ins *sql.Stmt, tenant int64, now time.Time, a *event.Event) error {
	ev := *a
	typ := a.EventType
	if typ == "" || typ == event.TypeAlert {
		typ = event.TypeDNS
	}
	ev.Type, ev.EventType, ev.Severity, ev.Threats, ev.Flags, ev.Reason = typ, "", 0, nil, nil, ""
	ev.ID, ev.Count, ev.FirstSeen, ev.LastSeen, ev.Examples = "", 0, time.Time{}, time.Time{}, nil
	threats := make(map[string]api.ThreatInfo, len(a.Threats))
	for id, t := range a.Threats {
		threats[id] = api.ThreatInfo{Title: t.Title, Severity: t.Severity, Policy: t.Policy}
	}
	tj, err := json.Marshal(threats)
	if err != nil {
		return err
	}
	flags := a.Flags
	if flags == nil {
		flags = []string{}
	}
	fj, err := json.Marshal(flags)
	if err != nil {
		return err
	}
	ij, err := json.Marshal(incidentOf(a))
	if err != nil {
		return err
	}
	if _, err := ins.Exec(tenant, now.Unix(), typ, string(ev.AppendJSON(nil)), string(tj), string(fj), string(ij)); err != nil {
		return err
	}
	s.metrics.alerts.Add(1)
	s.deliver(a)
	return nil
}

// incidentOf returns what alert a says besides its event, threats and
// flags, as the API serves it.
func incidentOf(a *event.Event) api.Incident {
	in := api.Incident{Severity: a.Severity, Reason: a.Reason, ID: a.ID, Count: a.Count, Examples: a.Examples}
	if !a.FirstSeen.IsZero() {
		t := a.FirstSeen.UTC()
		in.FirstSeen = &t
	}
	if !a.LastSeen.IsZero() {
		t := a.LastSeen.UTC()
		in.LastSeen = &t
	}
	return in
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
