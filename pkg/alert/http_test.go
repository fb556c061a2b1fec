package alert

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hecServer is a Splunk HTTP Event Collector: POST
// /services/collector/event with "Authorization: Splunk TOKEN" and a body
// of concatenated event objects. It answers {"text":"Success","code":0},
// 403 {"text":"Invalid token","code":4}, 503 {"text":"Server is
// busy","code":9}, and 400 {"text":"Invalid data
// format","code":6,"invalid-event-number":N} for an event without "event".
type hecServer struct {
	mu     sync.Mutex
	token  string
	busy   int // answer 503 this many times
	events []json.RawMessage
	calls  map[int]int
}

func (h *hecServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	answer := func(status int, text string, code int, extra string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"text":%q,"code":%d%s}`, text, code, extra)
		h.calls[status]++
	}
	if r.URL.Path != "/services/collector/event" {
		answer(404, "Not found", 404, "")
		return
	}
	if r.Header.Get("Authorization") != "Splunk "+h.token {
		answer(403, "Invalid token", 4, "")
		return
	}
	if h.busy > 0 {
		h.busy--
		answer(503, "Server is busy", 9, "")
		return
	}
	dec := json.NewDecoder(r.Body)
	var batch []json.RawMessage
	for i := 0; ; i++ {
		var ev map[string]json.RawMessage
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			answer(400, "Invalid data format", 6, fmt.Sprintf(`,"invalid-event-number":%d`, i))
			return
		}
		if ev["event"] == nil || bytes.Contains(ev["event"], []byte("MAPPING-BREAKER")) {
			// Events before i are indexed, as Splunk does.
			h.events = append(h.events, batch...)
			answer(400, "Invalid data format", 6, fmt.Sprintf(`,"invalid-event-number":%d`, i))
			return
		}
		if string(ev["host"]) != `"sensor-1"` || !bytes.HasPrefix(ev["time"], []byte("17936")) {
			answer(400, "Invalid data format", 6, fmt.Sprintf(`,"invalid-event-number":%d`, i))
			return
		}
		batch = append(batch, ev["event"])
	}
	h.events = append(h.events, batch...)
	answer(200, "Success", 0, "")
}

func httpOutput(t *testing.T, url, body, format string) *Output {
	o := output(t, url, format)
	o.Dest.Body = body
	return o
}

func TestHEC(t *testing.T) {
	h := &hecServer{token: "good-token", busy: 2, calls: map[int]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	lines := demoAlerts(t)
	in := bytes.Join(lines, []byte("\n"))
	// One bad alert (the server refuses it) in the middle.
	bad := bytes.Replace(lines[5], []byte(`"reason":"`), []byte(`"reason":"MAPPING-BREAKER `), 1)
	in = bytes.Join([][]byte{bytes.Join(lines[:5], []byte("\n")), bad, bytes.Join(lines[5:], []byte("\n"))}, []byte("\n"))

	// A wrong token is retried (a person fixes it), never dropped.
	wrong := httpOutput(t, srv.URL+"/services/collector/event", "hec", "json")
	wrong.Dest.Token = "wrong"
	f := &Filter{Outputs: []*Output{wrong}, Sensor: "sensor-1", Warn: func(m string) { t.Log(m) }}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	f.Run(bytes.NewReader(in), "test")
	if q := f.Drain(500 * time.Millisecond); q != int64(len(lines)+1) {
		t.Errorf("with a wrong token %d alerts stayed queued, want %d", q, len(lines)+1)
	}
	if h.calls[403] == 0 || len(h.events) != 0 {
		t.Fatalf("calls %v events %d", h.calls, len(h.events))
	}
	// The same queue with the right token: 503 twice, then all but the
	// refused one arrive, in order.
	right := httpOutput(t, srv.URL+"/services/collector/event", "hec", "json")
	right.QueueDir, right.Dest.Token = wrong.QueueDir, "good-token"
	f = runFilter(t, strings.NewReader(""), 10*time.Second, right)
	st := f.Stats()[0]
	if st.Delivered != int64(len(lines)) || st.Failed != 1 || h.calls[503] != 2 {
		t.Errorf("%s; calls %v", st, h.calls)
	}
	if len(h.events) != len(lines) {
		t.Fatalf("HEC has %d events, want %d", len(h.events), len(lines))
	}
	for i, ev := range h.events {
		var a Alert
		if err := Parse(ev, &a); err != nil || !bytes.Equal(ev, WithSensor(nil, lines[i], "sensor-1")) {
			t.Fatalf("event %d: %v %s", i, err, ev)
		}
	}
	rej, _ := os.ReadFile(filepath.Join(right.QueueDir, "rejected.log"))
	if !bytes.Contains(rej, []byte("MAPPING-BREAKER")) || !strings.Contains(string(rej), "Invalid data format") {
		t.Errorf("rejected.log: %s", rej)
	}
}

// bulkServer is the Elasticsearch _bulk API: NDJSON action and document
// lines; an answer with "errors" and one item per action. Documents
// holding "TOO-MANY" get 429 the first time, "MAPPING-BREAKER" a 400
// mapper_parsing_exception; a create of an existing _id gets 409.
type bulkServer struct {
	mu    sync.Mutex
	docs  map[string]json.RawMessage
	order []string
	seen  map[string]bool
	key   string
}

func (b *bulkServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Header.Get("Authorization") != "ApiKey "+b.key {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":{"type":"security_exception"},"status":401}`)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-ndjson" {
		w.WriteHeader(400)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ls := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	var items []string
	errs := false
	for i := 0; i+1 < len(ls); i += 2 {
		var act map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		json.Unmarshal(ls[i], &act)
		a := act["create"]
		doc := ls[i+1]
		switch {
		case b.docs[a.ID] != nil:
			items = append(items, `{"create":{"_id":"`+a.ID+`","status":409,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}}}`)
			errs = true
		case bytes.Contains(doc, []byte("TOO-MANY")) && !b.seen[a.ID]:
			b.seen[a.ID] = true
			items = append(items, `{"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}}`)
			errs = true
		case bytes.Contains(doc, []byte("MAPPING-BREAKER")):
			items = append(items, `{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}}`)
			errs = true
		default:
			b.docs[a.ID] = append(json.RawMessage(nil), doc...)
			b.order = append(b.order, a.ID)
			items = append(items, `{"create":{"_index":"`+a.Index+`","_id":"`+a.ID+`","status":201}}`)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"took":1,"errors":%v,"items":[%s]}`, errs, strings.Join(items, ","))
}

func TestBulk(t *testing.T) {
	b := &bulkServer{docs: map[string]json.RawMessage{}, seen: map[string]bool{}, key: "k1"}
	srv := httptest.NewServer(b)
	defer srv.Close()
	lines := demoAlerts(t)
	mod := append([][]byte(nil), lines...)
	mod[3] = bytes.Replace(mod[3], []byte(`"reason":"`), []byte(`"reason":"TOO-MANY `), 1)
	mod[7] = bytes.Replace(mod[7], []byte(`"reason":"`), []byte(`"reason":"MAPPING-BREAKER `), 1)
	o := httpOutput(t, srv.URL+"/_bulk", "bulk", "ecs")
	o.Dest.Token = "k1"
	f := runFilter(t, bytes.NewReader(bytes.Join(mod, []byte("\n"))), 10*time.Second, o)
	st := f.Stats()[0]
	if st.Delivered != int64(len(lines)-1) || st.Failed != 1 || st.Retries == 0 {
		t.Errorf("%s", st)
	}
	// Each alert once (the resend after the 429 met 409 for those
	// stored), as ECS documents.
	if len(b.docs) != len(lines)-1 {
		t.Errorf("%d documents, want %d", len(b.docs), len(lines)-1)
	}
	for _, id := range b.order {
		var d map[string]any
		json.Unmarshal(b.docs[id], &d)
		if d["event"].(map[string]any)["kind"] != "alert" {
			t.Errorf("not ECS: %s", b.docs[id])
		}
	}
}

// webhook answers 429 with Retry-After: 1 the first time, then 200.
func TestWebhooks(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	var times []time.Time
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if first {
			first = false
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(400)
			return
		}
		bodies = append(bodies, m)
	}))
	defer srv.Close()
	lines := demoAlerts(t)[:2]
	in := bytes.Join(lines, []byte("\n"))
	for _, kind := range []string{"json", "slack", "teams"} {
		bodies, times, first = nil, nil, true
		o := httpOutput(t, srv.URL+"/hook", kind, "json")
		runFilter(t, bytes.NewReader(in), 10*time.Second, o)
		if len(bodies) != len(lines) {
			t.Fatalf("%s: %d bodies", kind, len(bodies))
		}
		if wait := times[1].Sub(times[0]); wait < 900*time.Millisecond {
			t.Errorf("%s: retried after %v despite Retry-After: 1", kind, wait)
		}
		m := bodies[0]
		switch kind {
		case "json":
			if m["type"] != "alert" || m["sensor"] != "sensor-1" {
				t.Errorf("json: %v", m)
			}
		case "slack":
			if s, _ := m["text"].(string); !strings.Contains(s, "sev 4 dga 10.0.1.11 -> zrgb6yar.net") {
				t.Errorf("slack: %v", m)
			}
		case "teams":
			if m["@type"] != "MessageCard" || !strings.Contains(m["text"].(string), "zrgb6yar.net") {
				t.Errorf("teams: %v", m)
			}
		}
	}
}

// TestGELF: a GELF UDP receiver that reassembles chunks and inflates
// zlib, and a GELF TCP receiver reading null-terminated messages.
func TestGELF(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udpGot := make(chan map[string]any, 100)
	go func() {
		chunks := map[string][][]byte{}
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			p := append([]byte(nil), buf[:n]...)
			if p[0] == 0x1e && p[1] == 0x0f {
				id, seq, cnt := string(p[2:10]), int(p[10]), int(p[11])
				if chunks[id] == nil {
					chunks[id] = make([][]byte, cnt)
				}
				chunks[id][seq] = p[12:]
				whole := true
				for _, c := range chunks[id] {
					whole = whole && c != nil
				}
				if !whole {
					continue
				}
				p = bytes.Join(chunks[id], nil)
				delete(chunks, id)
			}
			zr, err := zlib.NewReader(bytes.NewReader(p))
			if err != nil {
				t.Errorf("not zlib: %v", err)
				continue
			}
			raw, _ := io.ReadAll(zr)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Errorf("gelf udp: %v", err)
			}
			udpGot <- m
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcpGot := make(chan map[string]any, 100)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		all, _ := io.ReadAll(c)
		for _, m := range bytes.Split(bytes.TrimSuffix(all, []byte{0}), []byte{0}) {
			var v map[string]any
			if err := json.Unmarshal(m, &v); err != nil {
				t.Errorf("gelf tcp: %v: %q", err, m)
			}
			tcpGot <- v
		}
		close(tcpGot)
	}()
	lines := demoAlerts(t)[:3]
	threats := map[string]bool{}
	for _, l := range lines {
		for id := range parse(t, string(l)).Threats {
			threats[id] = true
		}
	}
	// A large alert needs several UDP chunks even compressed.
	big := make([]byte, 30000)
	for i := range big {
		big[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7919)%36]
	}
	huge := bytes.Replace(lines[0], []byte(`"reason":"`), []byte(`"reason":"`+string(big)), 1)
	in := bytes.Join(append(append([][]byte(nil), lines...), huge), []byte("\n"))
	runFilter(t, bytes.NewReader(in), 10*time.Second,
		output(t, "gelf+udp://"+pc.LocalAddr().String(), "gelf"),
		output(t, "gelf+tcp://"+ln.Addr().String(), "gelf"))
	for i := 0; i < len(lines)+1; i++ {
		select {
		case m := <-udpGot:
			if m["version"] != "1.1" || m["host"] != "sensor-1" || !threats[fmt.Sprint(m["_threat"])] {
				t.Errorf("udp %d: %v", i, m)
			}
			if i == len(lines) && len(m["full_message"].(string)) < 30000 {
				t.Errorf("chunked message cut")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("gelf udp: %d of %d", i, len(lines)+1)
		}
	}
	n := 0
	for m := range tcpGot {
		n++
		if m["version"] != "1.1" {
			t.Errorf("tcp: %v", m)
		}
	}
	if n != len(lines)+1 {
		t.Errorf("gelf tcp: %d messages", n)
	}
}
