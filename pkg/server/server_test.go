package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// testScorer raises an alert on every DNS query under evil.test and every
// flow to port 4444; Flush raises one "flushed" alert if it saw events.
// With gate set, Process signals entered and waits for gate.
type testScorer struct {
	entered chan struct{}
	gate    chan struct{}
	seen    int
}

var testThreat = map[string]event.Threat{"c2": {Title: "C2 communication", Severity: 5}}

func (s *testScorer) Process(ev *event.Event, emit func(*event.Event)) {
	if s.gate != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.gate
	}
	s.seen++
	if strings.HasSuffix(ev.Query, ".evil.test") || ev.DestPort == 4444 {
		a := *ev
		a.Type, a.EventType, a.Threats, a.Flags, a.Severity = event.TypeAlert, ev.Type, testThreat, []string{"young_domain"}, 5
		a.Reason, a.ID, a.Count, a.FirstSeen, a.LastSeen, a.Examples = "query under evil.test", "00c0ffee", 1, ev.TS, ev.TS, []string{"evil.test"}
		emit(&a)
	}
}

func (s *testScorer) Advance(time.Time, func(*event.Event)) {}

func (s *testScorer) Flush(emit func(*event.Event)) {
	if s.seen > 0 {
		emit(&event.Event{Type: event.TypeAlert, EventType: event.TypeDNS, Query: "flushed.test",
			TS: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Threats: testThreat})
	}
}

type testEnv struct {
	t     *testing.T
	store *Store
	srv   *Server
	ts    *httptest.Server
	url   string
	gate  *testScorer // shared scorer when gated
	runWG sync.WaitGroup
}

func newEnv(t *testing.T, cfg Config, gated bool) *testEnv {
	t.Helper()
	var gate *testScorer
	if gated {
		gate = &testScorer{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	}
	e := newEnvWith(t, cfg, func(string) (Scorer, error) {
		if gate != nil {
			return gate, nil
		}
		return &testScorer{}, nil
	})
	e.gate = gate
	return e
}

// newEnvWith runs a server with the scorers factory makes.
func newEnvWith(t *testing.T, cfg Config, factory ScorerFactory) *testEnv {
	t.Helper()
	st, err := OpenStore(filepath.Join(t.TempDir(), "engine.db"), SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, store: st}
	e.srv = New(st, factory, cfg)
	e.runWG.Add(1)
	go func() { defer e.runWG.Done(); e.srv.Run() }()
	e.ts = httptest.NewServer(e.srv)
	e.url = e.ts.URL
	t.Cleanup(e.close)
	return e
}

func (e *testEnv) close() {
	e.ts.Close()
	e.srv.Close(context.Background())
	e.runWG.Wait()
	e.store.Close()
}

func (e *testEnv) key(name string) string {
	e.t.Helper()
	k, _, err := e.store.AddKey(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func (e *testEnv) do(method, path, key string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func dnsLine(i int, query string) string {
	return fmt.Sprintf(`{"type":"dns","ts":"2026-11-27T07:00:%02d.5Z","srcIP":"10.0.0.%d","srcPort":5353,"destIP":"10.0.0.53","destPort":53,"proto":"udp","query":%q,"qtype":"A"}`,
		i%60, 1+i%200, query)
}

func dnsBatch(n, evil int) []byte {
	var b bytes.Buffer
	for i := range n {
		q := fmt.Sprintf("host%d.example.com", i)
		if i < evil {
			q = fmt.Sprintf("x%d.evil.test", i)
		}
		b.WriteString(dnsLine(i, q))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (e *testEnv) post(key, typ string, body []byte, hdr map[string]string) api.EventsResponse {
	e.t.Helper()
	resp, b := e.do("POST", "/v1/events/"+typ, key, body, hdr)
	if resp.StatusCode != 200 {
		e.t.Fatalf("POST /v1/events/%s: %s %s", typ, resp.Status, b)
	}
	var r api.EventsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *testEnv) alerts(key, follow string) api.AlertsResponse {
	e.t.Helper()
	resp, b := e.do("GET", "/v1/alerts?follow="+follow, key, nil, nil)
	if resp.StatusCode != 200 {
		e.t.Fatalf("GET /v1/alerts: %s %s", resp.Status, b)
	}
	var r api.AlertsResponse
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// allAlerts follows the cursor from the start until more is false.
func (e *testEnv) allAlerts(key string) ([]api.Alert, string) {
	var all []api.Alert
	follow := ""
	for range 1000 {
		r := e.alerts(key, follow)
		all = append(all, r.Alerts...)
		follow = r.Follow
		if !r.More {
			return all, follow
		}
	}
	e.t.Fatal("more never became false")
	return nil, ""
}

func TestDecodeBatch(t *testing.T) {
	for _, tc := range []struct {
		name, typ, body string
		accepted        int
		rejected        map[string]int
	}{
		{"empty", "dns", "", 0, nil},
		{"blank lines", "dns", "\n\r\n  \n", 0, nil},
		{"one", "dns", dnsLine(1, "a.example"), 1, nil},
		{"crlf and no final newline", "dns", dnsLine(1, "a.example") + "\r\n" + dnsLine(2, "b.example"), 2, nil},
		{"type taken from endpoint", "dns", `{"ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","query":"a.example"}`, 1, nil},
		{"epoch ts", "dns", `{"ts":1764226800.25,"srcIP":"10.0.0.1","query":"a.example"}`, 1, nil},
		{"wrong type", "ip", dnsLine(1, "a.example"), 0, map[string]int{ReasonWrongType: 1}},
		{"not json", "dns", "hello\n[1,2]\n", 0, map[string]int{ReasonMalformed: 2}},
		{"truncated", "dns", `{"type":"dns","ts":"2026-01-01T00:00:00Z"`, 0, map[string]int{ReasonMalformed: 1}},
		{"bad ts", "dns", `{"ts":"yesterday","srcIP":"10.0.0.1","query":"a"}`, 0, map[string]int{ReasonInvalidField: 1}},
		{"bad ip", "dns", `{"ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.300","query":"a"}`, 0, map[string]int{ReasonInvalidField: 1}},
		{"missing ts", "dns", `{"srcIP":"10.0.0.1","query":"a"}`, 0, map[string]int{ReasonMissingTS: 1}},
		{"missing src", "dns", `{"ts":"2026-01-01T00:00:00Z","query":"a"}`, 0, map[string]int{ReasonMissingSrcIP: 1}},
		{"missing query", "dns", `{"ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1"}`, 0, map[string]int{ReasonMissingQuery: 1}},
		{"ip missing dest", "ip", `{"ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","bytesIn":1}`, 0, map[string]int{ReasonMissingDest: 1}},
		{"ip", "ip", `{"type":"ip","ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","srcPort":1,"destIP":"192.0.2.1","destPort":443,"proto":"tcp","bytesIn":10,"bytesOut":20,"unknown":{"x":[1]}}`, 1, nil},
		{"ssh (NFR's extension)", "ssh", `{"type":"ssh","ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","srcPort":1,"destIP":"192.0.2.1","destPort":22,"proto":"tcp","clientVersion":"SSH-2.0-x","hassh":"ab","authSuccess":true}`, 1, nil},
		{"ssh missing dest", "ssh", `{"type":"ssh","ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1"}`, 0, map[string]int{ReasonMissingDest: 1}},
		{"mixed", "dns", dnsLine(1, "a.example") + "\nnope\n" + dnsLine(2, "b.example") + "\n", 2, map[string]int{ReasonMalformed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, r := DecodeBatch([]byte(tc.body), tc.typ, nil)
			nrej := 0
			for _, n := range r.Rejected {
				nrej += n
			}
			if r.Accepted != tc.accepted || len(evs) != tc.accepted || r.Received != r.Accepted+nrej {
				t.Errorf("got received %d accepted %d (%d events) rejected %v", r.Received, r.Accepted, len(evs), r.Rejected)
			}
			if fmt.Sprint(r.Rejected) != fmt.Sprint(tc.rejected) {
				t.Errorf("rejected %v, want %v", r.Rejected, tc.rejected)
			}
			for _, ev := range evs {
				if ev.Type != tc.typ {
					t.Errorf("event type %q, want %q", ev.Type, tc.typ)
				}
			}
		})
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(dnsLine(1, "a.example")+"\n"+dnsLine(2, "b.evil.test")), "dns")
	f.Add([]byte(`{"type":"ip","ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","destIP":"::1","bytesIn":-1}`), "ip")
	f.Add([]byte("{\n}\n{{\n\x00"), "tls")
	f.Add([]byte(`{"ts":1e400,"srcIP":"","threats":{"a":{"title":1}}}`), "http")
	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		evs, r := DecodeBatch(body, typ, nil)
		nrej := 0
		for _, n := range r.Rejected {
			if n <= 0 {
				t.Fatalf("rejected count %d", n)
			}
			nrej += n
		}
		if r.Received != r.Accepted+nrej || len(evs) != r.Accepted {
			t.Fatalf("received %d accepted %d rejected %d events %d", r.Received, r.Accepted, nrej, len(evs))
		}
		for i := range evs {
			if evs[i].Type != typ || evs[i].TS.IsZero() || !evs[i].SrcIP.IsValid() {
				t.Fatalf("accepted an incomplete event %+v", evs[i])
			}
			evs[i].AppendJSON(nil)
		}
		// Split over goroutines, the same events and the same answer.
		pevs, pr := decodeParallel(body, typ, 3, 0)
		if fmt.Sprint(pr) != fmt.Sprint(r) || len(pevs) != len(evs) {
			t.Fatalf("parallel: %+v, %d events; serial %+v, %d events", pr, len(pevs), r, len(evs))
		}
		for i := range evs {
			if a, b := string(pevs[i].AppendJSON(nil)), string(evs[i].AppendJSON(nil)); a != b {
				t.Fatalf("event %d: parallel %s, serial %s", i, a, b)
			}
		}
	})
}

func TestDecodeBatchParallel(t *testing.T) {
	var body bytes.Buffer
	for i := range 5000 {
		if i%7 == 3 {
			body.WriteString("junk\n\n")
		}
		body.WriteString(dnsLine(i, fmt.Sprintf("h%d.example", i)) + "\n")
	}
	want, wr := DecodeBatch(body.Bytes(), "dns", nil)
	for _, parts := range []int{1, 2, 3, 8, 64} {
		got, gr := DecodeBatchParallel(body.Bytes(), "dns", parts)
		if fmt.Sprint(gr) != fmt.Sprint(wr) || len(got) != len(want) {
			t.Fatalf("parts %d: %+v %d events, want %+v %d", parts, gr, len(got), wr, len(want))
		}
		for i := range want {
			if got[i].Query != want[i].Query {
				t.Fatalf("parts %d: event %d is %s, want %s", parts, i, got[i].Query, want[i].Query)
			}
		}
	}
}

func FuzzDecodeQueries(f *testing.F) {
	f.Add([]byte(`{"data":[["2026-11-27T07:00:00Z","10.0.0.5","A","c2.evil.test."],["x","y"]]}`))
	f.Add([]byte(`{"data":[["2026-11-27T07:00:00+02:00","::ffff:10.0.0.5","aaaa","."]]}`))
	f.Add([]byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, r, err := DecodeQueries(body)
		if err != nil {
			return
		}
		nrej := 0
		for _, n := range r.Rejected {
			nrej += n
		}
		if r.Received != r.Accepted+nrej || len(evs) != r.Accepted {
			t.Fatalf("received %d accepted %d rejected %d events %d", r.Received, r.Accepted, nrej, len(evs))
		}
		for i := range evs {
			if evs[i].Query == "" || evs[i].TS.IsZero() || !evs[i].SrcIP.IsValid() {
				t.Fatalf("accepted an incomplete query %+v", evs[i])
			}
		}
	})
}

func TestAuth(t *testing.T) {
	e := newEnv(t, Config{}, false)
	key := e.key("acme")
	revoked := e.key("old")
	if n, err := e.store.RevokeKeys("old"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	for _, tc := range []struct {
		name, key string
		code      int
	}{
		{"no key", "", 401},
		{"wrong key", "0123456789abcdef0123456789abcdef01234567", 401},
		{"revoked key", revoked, 401},
		{"good key", key, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ep := range []struct{ method, path string }{
				{"POST", "/v1/events/dns"}, {"GET", "/v1/alerts"}, {"GET", "/v1/account/status"},
				{"POST", "/v1/queries"}, {"GET", "/v1/events"},
			} {
				body := dnsBatch(1, 0)
				if ep.path == "/v1/queries" {
					body = []byte(`{"data":[]}`)
				}
				resp, b := e.do(ep.method, ep.path, tc.key, body, nil)
				if resp.StatusCode != tc.code {
					t.Errorf("%s %s: %s %s", ep.method, ep.path, resp.Status, b)
				}
				if tc.code == 401 {
					var er api.ErrorResponse
					if json.Unmarshal(b, &er) != nil || er.Message == "" || resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s %s: 401 without a message or WWW-Authenticate: %s", ep.method, ep.path, b)
					}
				}
			}
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, Config{}, false)
	a, a2, b := e.key("acme"), e.key("acme"), e.key("globex")
	if r := e.post(a, "dns", dnsBatch(10, 3), nil); r.Accepted != 10 {
		t.Fatalf("accepted %d", r.Accepted)
	}
	e.post(b, "ip", []byte(`{"ts":"2026-01-01T00:00:00Z","srcIP":"10.9.9.9","destIP":"192.0.2.7","destPort":4444,"proto":"tcp"}`), nil)
	as, _ := e.allAlerts(a)
	as2, _ := e.allAlerts(a2)
	bs, _ := e.allAlerts(b)
	if len(as) != 3 || len(as2) != 3 || len(bs) != 1 {
		t.Fatalf("acme key 1 sees %d alerts, acme key 2 %d, globex %d; want 3, 3, 1", len(as), len(as2), len(bs))
	}
	for _, al := range as {
		if al.EventType != "dns" || !strings.Contains(string(al.Event), ".evil.test") {
			t.Errorf("acme sees %s %s", al.EventType, al.Event)
		}
	}
	if bs[0].EventType != "ip" || !strings.Contains(string(bs[0].Event), `"destPort":4444`) {
		t.Errorf("globex sees %s %s", bs[0].EventType, bs[0].Event)
	}
}

func TestFollowPaging(t *testing.T) {
	e := newEnv(t, Config{AlertsPage: 3}, false)
	key := e.key("acme")
	e.post(key, "dns", dnsBatch(20, 10), nil)
	first := e.alerts(key, "")
	if len(first.Alerts) != 3 || !first.More {
		t.Fatalf("first page: %d alerts, more %v", len(first.Alerts), first.More)
	}
	if first.Threats["c2"].Title != "C2 communication" || first.Threats["c2"].Severity != 5 {
		t.Errorf("threat catalog: %+v", first.Threats)
	}
	al := first.Alerts[0]
	if len(al.Threats) != 1 || al.Threats[0] != "c2" || len(al.Wisdom.Flags) != 1 {
		t.Errorf("alert: %+v", al)
	}
	// Everything nfr-score prints besides the event is served too.
	if in := al.Incident; in.Reason != "query under evil.test" || in.ID != "00c0ffee" || in.Count != 1 || in.Severity != 5 ||
		in.FirstSeen == nil || in.LastSeen == nil || len(in.Examples) != 1 {
		t.Errorf("alert incident: %+v", in)
	}
	var ev event.Event
	if err := event.Unmarshal(al.Event, &ev); err != nil || ev.Type != "dns" || ev.Query != "x0.evil.test" || ev.SrcPort != 5353 {
		t.Errorf("alert event %s: %v", al.Event, err)
	}
	all, follow := e.allAlerts(key)
	if len(all) != 10 {
		t.Fatalf("followed %d alerts, want 10", len(all))
	}
	seen := map[string]bool{}
	for i, a := range all {
		var ev event.Event
		event.Unmarshal(a.Event, &ev)
		if want := fmt.Sprintf("x%d.evil.test", i); ev.Query != want {
			t.Errorf("alert %d is %s, want %s", i, ev.Query, want)
		}
		if seen[ev.Query] {
			t.Errorf("alert %s twice", ev.Query)
		}
		seen[ev.Query] = true
	}
	// Nothing new: same cursor, no alerts, no more.
	r := e.alerts(key, follow)
	if len(r.Alerts) != 0 || r.More || r.Follow != follow || r.Alerts == nil || r.Threats == nil {
		t.Errorf("idle poll: %+v", r)
	}
	// New alerts come after the cursor, and only those.
	e.post(key, "dns", []byte(dnsLine(1, "late.evil.test")), nil)
	r = e.alerts(key, follow)
	if len(r.Alerts) != 1 || !strings.Contains(string(r.Alerts[0].Event), "late.evil.test") {
		t.Errorf("after the cursor: %+v", r)
	}
	for _, bad := range []string{"x", "-1", "1.5"} {
		if resp, _ := e.do("GET", "/v1/alerts?follow="+bad, key, nil, nil); resp.StatusCode != 400 {
			t.Errorf("follow=%s: %s", bad, resp.Status)
		}
	}
}

func TestBatchReplay(t *testing.T) {
	e := newEnv(t, Config{}, false)
	key := e.key("acme")
	body := append(dnsBatch(5, 2), "junk\n"...)
	hdr := map[string]string{api.BatchIDHeader: "sensor1-000042"}
	first := e.post(key, "dns", body, hdr)
	if first.Received != 6 || first.Accepted != 5 || first.Rejected[ReasonMalformed] != 1 {
		t.Fatalf("first answer %+v", first)
	}
	// Replayed one after the other and concurrently: the same answer, no new alerts.
	var wg sync.WaitGroup
	answers := make([]api.EventsResponse, 8)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = e.post(key, "dns", body, hdr) }()
	}
	wg.Wait()
	for _, a := range answers {
		if fmt.Sprint(a) != fmt.Sprint(first) {
			t.Errorf("replay answered %+v, first %+v", a, first)
		}
	}
	if all, _ := e.allAlerts(key); len(all) != 2 {
		t.Errorf("%d alerts after replays, want 2", len(all))
	}
	// The same id from another tenant is another batch.
	other := e.key("globex")
	e.post(other, "dns", body, hdr)
	if all, _ := e.allAlerts(other); len(all) != 2 {
		t.Errorf("other tenant: %d alerts, want 2", len(all))
	}
	if got := e.srv.metrics.replayed.Load(); got != 8 {
		t.Errorf("replayed metric %d, want 8", got)
	}
	if resp, _ := e.do("POST", "/v1/events/dns", key, body, map[string]string{api.BatchIDHeader: strings.Repeat("x", 129)}); resp.StatusCode != 400 {
		t.Errorf("over-long batch id: %s", resp.Status)
	}
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestBodies(t *testing.T) {
	e := newEnv(t, Config{MaxBody: 4096}, false)
	key := e.key("acme")
	small := dnsBatch(3, 1)
	big := dnsBatch(100, 0) // ~18 KB, compresses well under 4 KB
	if len(gz(big)) > 4096 || len(big) <= 4096 {
		t.Fatalf("test batch sizes: %d, gzipped %d", len(big), len(gz(big)))
	}
	gzip := map[string]string{"Content-Encoding": "gzip"}
	for _, tc := range []struct {
		name string
		body []byte
		hdr  map[string]string
		code int
	}{
		{"plain", small, nil, 200},
		{"gzip", gz(small), gzip, 200},
		{"too large", big, nil, 413},
		{"too large once gunzipped", gz(big), gzip, 413},
		{"bad gzip", small, gzip, 400},
		{"unknown encoding", small, map[string]string{"Content-Encoding": "br"}, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := e.do("POST", "/v1/events/dns", key, tc.body, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s", resp.Status, b)
			}
			if tc.code == 200 {
				var r api.EventsResponse
				json.Unmarshal(b, &r)
				if r.Accepted != 3 {
					t.Errorf("answer %s", b)
				}
			}
		})
	}
	if resp, _ := e.do("POST", "/v1/events/smtp", key, small, nil); resp.StatusCode != 404 {
		t.Errorf("unknown type: %s", resp.Status)
	}
	if resp, _ := e.do("GET", "/v1/events/dns", key, nil, nil); resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET on a POST endpoint: %s Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	// A chunked body (no Content-Length) over the limit.
	req, _ := http.NewRequest("POST", e.url+"/v1/events/dns", io.MultiReader(bytes.NewReader(big)))
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked over the limit: %s", resp.Status)
	}
}

func TestOverload(t *testing.T) {
	e := newEnv(t, Config{Queue: 1, RetryAfter: 3 * time.Second}, true)
	key := e.key("acme")
	type answer struct {
		code int
		body []byte
	}
	results := make(chan answer, 2)
	send := func() {
		resp, b := e.do("POST", "/v1/events/dns", key, dnsBatch(1, 0), nil)
		results <- answer{resp.StatusCode, b}
	}
	go send()
	<-e.gate.entered // the worker holds the first batch
	go send()
	for len(e.srv.queue) != 1 { // the second waits in the queue
		time.Sleep(time.Millisecond)
	}
	resp, b := e.do("POST", "/v1/events/dns", key, dnsBatch(1, 0), nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("third batch: %s Retry-After %q %s", resp.Status, resp.Header.Get("Retry-After"), b)
	}
	close(e.gate.gate)
	for range 2 {
		if a := <-results; a.code != 200 {
			t.Errorf("queued batch: %d %s", a.code, a.body)
		}
	}
	if e.srv.metrics.overloaded.Load() != 1 {
		t.Errorf("overloaded metric %d", e.srv.metrics.overloaded.Load())
	}
}

func TestGracefulShutdown(t *testing.T) {
	e := newEnv(t, Config{}, true)
	key := e.key("acme")
	done := make(chan int, 1)
	go func() {
		resp, _ := e.do("POST", "/v1/events/dns", key, dnsBatch(4, 2), nil)
		done <- resp.StatusCode
	}()
	<-e.gate.entered
	shut := make(chan error, 1)
	go func() { shut <- e.ts.Config.Shutdown(context.Background()) }()
	// Shutdown waits for the request in flight.
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned with a request in flight: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(e.gate.gate)
	if code := <-done; code != 200 {
		t.Fatalf("request in flight answered %d", code)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := e.store.Alerts(1, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Two alerts from the batch, one from Flush at shutdown.
	if len(rows) != 3 || !strings.Contains(rows[2].Event, "flushed.test") {
		t.Errorf("stored %d alerts: %+v", len(rows), rows)
	}
}

var metricLine = regexp.MustCompile(`^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? [0-9.e+-]+$`)

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{}, false)
	key := e.key("acme")
	e.post(key, "dns", append(dnsBatch(5, 1), "bad\n"...), nil)
	e.do("GET", "/v1/alerts", "", nil, nil)
	resp, b := e.do("GET", "/metrics", "", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	text := string(b)
	for _, want := range []string{
		`nfr_engine_events_received_total{type="dns"} 6`,
		`nfr_engine_events_accepted_total{type="dns"} 5`,
		`nfr_engine_events_rejected_total{type="dns",reason="malformed"} 1`,
		`nfr_engine_batches_total{type="dns"} 1`,
		`nfr_engine_alerts_stored_total 1`,
		`nfr_engine_requests_total{endpoint="/v1/alerts",code="401"} 1`,
		`nfr_engine_requests_total{endpoint="/v1/events/dns",code="200"} 1`,
		`nfr_engine_queue_capacity 64`,
		`nfr_engine_request_duration_seconds_count{endpoint="/v1/events/dns"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "# HELP ") && !strings.HasPrefix(line, "# TYPE ") && !metricLine.MatchString(line) {
			t.Errorf("bad exposition line %q", line)
		}
	}
	if strings.Contains(text, key) || strings.Contains(text, "acme") {
		t.Error("metrics name a key or a tenant")
	}
}

func TestAccount(t *testing.T) {
	var notices []string
	var mu sync.Mutex
	e := newEnv(t, Config{KeyRequests: true, Notice: func(f string, a ...any) {
		mu.Lock()
		notices = append(notices, fmt.Sprintf(f, a...))
		mu.Unlock()
	}}, false)
	resp, b := e.do("POST", "/v1/key/request", "", []byte(`{"platform":{"name":"nfr-linux-amd64"}}`), nil)
	var kr api.KeyResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &kr) != nil || len(kr.Key) != 40 {
		t.Fatalf("key request: %s %s", resp.Status, b)
	}
	status := func() api.StatusResponse {
		resp, b := e.do("GET", "/v1/account/status", kr.Key, nil, nil)
		var sr api.StatusResponse
		if resp.StatusCode != 200 || json.Unmarshal(b, &sr) != nil {
			t.Fatalf("status: %s %s", resp.Status, b)
		}
		return sr
	}
	if sr := status(); sr.Registered || sr.Expired || len(sr.Messages) != 1 || !strings.Contains(sr.Messages[0].Body, "nfr account register") {
		t.Errorf("new key status %+v", sr)
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"details":{"name":"Ann Analyst","email":"not-an-address"}}`, 400},
		{`{"details":{"name":"","email":"ann@example.com"}}`, 400},
		{`{"details":`, 400},
		{`{"details":{"name":"Ann Analyst","email":"ann@example.com"}}`, 200},
	} {
		if resp, b := e.do("POST", "/v1/account/register", kr.Key, []byte(tc.body), nil); resp.StatusCode != tc.code {
			t.Errorf("register %s: %s %s", tc.body, resp.Status, b)
		}
	}
	if sr := status(); !sr.Registered {
		t.Errorf("registered key status %+v", sr)
	}
	if resp, b := e.do("POST", "/v1/key/reset", "", []byte(`{"email":"ann@example.com"}`), nil); resp.StatusCode != 200 {
		t.Errorf("reset: %s %s", resp.Status, b)
	}
	if resp, _ := e.do("POST", "/v1/key/reset", "", []byte(`{"email":"nope"}`), nil); resp.StatusCode != 400 {
		t.Errorf("reset with a bad address: %s", resp.Status)
	}
	keys, _ := e.store.Keys()
	if len(keys) != 1 || !strings.HasPrefix(keys[0].Tenant, "nfr-linux-amd64-") || keys[0].Email != "ann@example.com" || keys[0].Prefix != kr.Key[:8] {
		t.Errorf("keys %+v", keys)
	}
	mu.Lock()
	joined := strings.Join(notices, "\n")
	mu.Unlock()
	if strings.Contains(joined, kr.Key) || !strings.Contains(joined, "ann@example.com (1 tenants") {
		t.Errorf("notices:\n%s", joined)
	}

	// A key the administrator made is registered from the start.
	admin := e.key("hq")
	resp, b = e.do("GET", "/v1/account/status", admin, nil, nil)
	if !strings.Contains(string(b), `"registered":true`) {
		t.Errorf("administrator's key: %s %s", resp.Status, b)
	}

	closed := newEnv(t, Config{}, false)
	if resp, _ := closed.do("POST", "/v1/key/request", "", []byte(`{}`), nil); resp.StatusCode != 403 {
		t.Errorf("key request on a closed server: %s", resp.Status)
	}
}

func TestLegacy2017(t *testing.T) {
	e := newEnv(t, Config{}, false)
	key := e.key("acme")
	body := `{"data":[["2026-11-27T07:00:00Z","10.0.0.5","A","c2.evil.test."],["2026-11-27T07:00:01Z","10.0.0.5","AAAA","ok.example.com"],["bad","10.0.0.5","A","x.evil.test"],["2026-11-27T07:00:01Z","10.0.0.5","A"]]}`
	resp, b := e.do("POST", "/v1/queries", key, []byte(body), map[string]string{"Content-Type": "application/json"})
	var qr api.EventsResponse
	if resp.StatusCode != 200 || json.Unmarshal(b, &qr) != nil || qr.Received != 4 || qr.Accepted != 2 ||
		qr.Rejected[ReasonInvalidField] != 1 || qr.Rejected[ReasonMalformed] != 1 {
		t.Fatalf("queries: %s %s", resp.Status, b)
	}
	e.post(key, "ip", []byte(`{"ts":"2026-01-01T00:00:00Z","srcIP":"10.9.9.9","destIP":"192.0.2.7","destPort":4444}`), nil)
	resp, b = e.do("GET", "/v1/events", key, nil, nil)
	var er legacyEvents
	if resp.StatusCode != 200 || json.Unmarshal(b, &er) != nil {
		t.Fatalf("events: %s %s", resp.Status, b)
	}
	want := legacyEvent{Type: "alert", TS: []string{"2026-11-27T07:00:00Z"}, IP: "10.0.0.5", RecordType: "A",
		FQDN: "c2.evil.test", Risk: 5, Flags: []string{"young_domain"}, Threats: []string{"c2"}}
	if len(er.Events) != 1 || fmt.Sprint(er.Events[0]) != fmt.Sprint(want) || er.More || er.Follow != "2" {
		t.Errorf("events answer %s", b)
	}
	if er.Threats["c2"].Title != "C2 communication" {
		t.Errorf("threats %+v", er.Threats)
	}
}

func BenchmarkDecodeBatchParallel(b *testing.B) {
	body := dnsBatch(1000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		DecodeBatchParallel(body, "dns", runtime.GOMAXPROCS(0))
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeBatch decodes a 1000-event batch into a new slice, as
// the server does.
func BenchmarkDecodeBatch(b *testing.B) {
	body := dnsBatch(1000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		DecodeBatch(body, "dns", nil)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

type nopScorer struct{}

func (nopScorer) Process(*event.Event, func(*event.Event)) {}
func (nopScorer) Advance(time.Time, func(*event.Event))    {}
func (nopScorer) Flush(func(*event.Event))                 {}

// BenchmarkIngest posts 1000-event batches over loopback HTTP from 4
// clients into a server with an on-disk database (sync full).
func BenchmarkIngest(b *testing.B) { benchIngest(b, false) }

// BenchmarkIngestGzip is BenchmarkIngest with gzipped bodies.
func BenchmarkIngestGzip(b *testing.B) { benchIngest(b, true) }

func benchIngest(b *testing.B, gzipped bool) {
	st, err := OpenStore(filepath.Join(b.TempDir(), "engine.db"), SyncFull)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key, _, _ := st.AddKey("bench")
	srv := New(st, func(string) (Scorer, error) { return nopScorer{}, nil }, Config{})
	go srv.Run()
	defer srv.Close(context.Background())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	body := dnsBatch(1000, 0)
	b.SetBytes(int64(len(body)))
	if gzipped {
		body = gz(body)
	}
	b.ReportAllocs()
	b.SetParallelism(2)
	var n sync.Mutex
	batches := 0
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("POST", ts.URL+"/v1/events/dns", bytes.NewReader(body))
			req.SetBasicAuth(key, "")
			req.Header.Set(api.BatchIDHeader, fmt.Sprintf("%p-%d", pb, i))
			if gzipped {
				req.Header.Set("Content-Encoding", "gzip")
			}
			i++
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %s", resp.Status)
				return
			}
			n.Lock()
			batches++
			n.Unlock()
		}
	})
	b.ReportMetric(float64(batches)*1000/b.Elapsed().Seconds(), "events/s")
}

// windowScorer raises one alert per DNS query once event time has moved 5s
// past it, as a windowed engine would; Advance must move event time on.
type windowScorer struct {
	pending []event.Event
}

func (w *windowScorer) Process(ev *event.Event, emit func(*event.Event)) {
	w.pending = append(w.pending, *ev)
}

func (w *windowScorer) Advance(now time.Time, emit func(*event.Event)) {
	keep := w.pending[:0]
	for _, ev := range w.pending {
		if now.Sub(ev.TS) >= 5*time.Second {
			a := ev
			a.Type, a.EventType, a.Threats = event.TypeAlert, ev.Type, testThreat
			emit(&a)
		} else {
			keep = append(keep, ev)
		}
	}
	w.pending = keep
}

func (w *windowScorer) Flush(emit func(*event.Event)) {}

func TestAdvanceOnEventTime(t *testing.T) {
	var mu sync.Mutex
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return wall }
	e := newEnvWith(t, Config{Tick: time.Millisecond, IdleAdvance: time.Second, Now: now}, func(string) (Scorer, error) { return &windowScorer{}, nil })
	key := e.key("acme")
	// Events from a capture of 2026: far behind the wall clock of 2030.
	e.post(key, "dns", []byte(dnsLine(0, "a.example")+"\n"+dnsLine(3, "b.example")), nil)
	time.Sleep(20 * time.Millisecond) // ticks pass; event time stands still
	if as, _ := e.allAlerts(key); len(as) != 0 {
		t.Fatalf("%d alerts before event time moved", len(as))
	}
	mu.Lock()
	wall = wall.Add(3 * time.Second) // idle for 3s: event time 07:00:06.5
	mu.Unlock()
	var as []api.Alert
	for range 2000 {
		if as, _ = e.allAlerts(key); len(as) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if len(as) != 1 || !strings.Contains(string(as[0].Event), "a.example") {
		t.Errorf("after 3 idle seconds: %d alerts, want 1 (a.example)", len(as))
	}
}

type panicScorer struct{ testScorer }

func (p *panicScorer) Process(ev *event.Event, emit func(*event.Event)) {
	if ev.Query == "boom.test" {
		panic("boom")
	}
	p.testScorer.Process(ev, emit)
}

func TestScorerPanic(t *testing.T) {
	made := 0
	e := newEnvWith(t, Config{}, func(string) (Scorer, error) { made++; return &panicScorer{}, nil })
	key := e.key("acme")
	resp, b := e.do("POST", "/v1/events/dns", key, []byte(dnsLine(1, "x.evil.test")+"\n"+dnsLine(2, "boom.test")), nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("batch with a scorer panic: %s %s", resp.Status, b)
	}
	if as, _ := e.allAlerts(key); len(as) != 0 {
		t.Errorf("a failed batch left %d alerts", len(as))
	}
	if r := e.post(key, "dns", []byte(dnsLine(1, "x.evil.test")), nil); r.Accepted != 1 {
		t.Errorf("after the panic: %+v", r)
	}
	if as, _ := e.allAlerts(key); len(as) != 1 || made != 2 {
		t.Errorf("%d alerts, %d scorers made; want 1 alert and a fresh scorer", len(as), made)
	}
}

func TestRetention(t *testing.T) {
	var mu sync.Mutex
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return wall }
	e := newEnv(t, Config{Now: now, AlertRetention: 24 * time.Hour, BatchRetention: 48 * time.Hour}, false)
	key := e.key("acme")
	hdr := map[string]string{api.BatchIDHeader: "old"}
	e.post(key, "dns", dnsBatch(3, 3), hdr)
	_, follow := e.allAlerts(key)
	mu.Lock()
	wall = wall.Add(25 * time.Hour)
	mu.Unlock()
	e.srv.prune()
	if r := e.alerts(key, ""); len(r.Alerts) != 0 {
		t.Errorf("%d alerts kept past alert_retention", len(r.Alerts))
	}
	// The batch id is still remembered (48h): a replay is not scored.
	e.post(key, "dns", dnsBatch(3, 3), hdr)
	if r := e.alerts(key, follow); len(r.Alerts) != 0 {
		t.Errorf("replay within batch_retention scored again")
	}
	mu.Lock()
	wall = wall.Add(24 * time.Hour)
	mu.Unlock()
	e.srv.prune()
	// Forgotten now: the same id is a new batch, and its alerts come after
	// the old cursor, which still works.
	e.post(key, "dns", dnsBatch(3, 3), hdr)
	if r := e.alerts(key, follow); len(r.Alerts) != 3 {
		t.Errorf("after batch_retention: %d new alerts, want 3", len(r.Alerts))
	}
}

// BenchmarkCommit is the worker alone: a group of four 1000-event batches
// with ids scored (1% raise an alert) and committed in one transaction,
// sync full, on disk.
func BenchmarkCommit(b *testing.B) {
	st, err := OpenStore(filepath.Join(b.TempDir(), "engine.db"), SyncFull)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	_, tenant, _ := st.AddKey("bench")
	srv := New(st, func(string) (Scorer, error) { return &testScorer{}, nil }, Config{})
	evs, _ := DecodeBatch(dnsBatch(1000, 10), "dns", nil)
	tenants := map[int64]*tenantState{}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		g := make([]*job, 4)
		for i := range g {
			g[i] = &job{tenant: tenant, typ: "dns", batchID: fmt.Sprint(n), events: evs, reply: make(chan result, 1)}
			n++
		}
		srv.process(g, tenants)
		for _, j := range g {
			if r := <-j.reply; r.err != nil {
				b.Fatal(r.err)
			}
		}
	}
	b.ReportMetric(float64(n)*1000/b.Elapsed().Seconds(), "events/s")
}
