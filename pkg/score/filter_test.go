package score

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenDemo scores the events of the bundled demo capture
// (testdata/demo.pcap, as nfr-capture would report it) and compares the
// alerts with testdata/demo.alerts.json. Run with -update after a change
// that is meant to alter them, and read the diff.
func TestGoldenDemo(t *testing.T) {
	var ss []traffic.Scenario
	for _, n := range traffic.Demo {
		s, _ := traffic.Find(n)
		ss = append(ss, s)
	}
	g := traffic.New(1)
	g.Play(ss)
	var in bytes.Buffer
	g.WriteEvents(&in)
	var out bytes.Buffer
	e, _ := New(DefaultConfig())
	w := event.NewWriter(&out, false)
	f := &Filter{Engine: e, Out: w}
	if err := f.Run(&in, "demo"); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	golden := filepath.Join("testdata", "demo.alerts.json")
	if *update {
		os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		got := strings.Split(out.String(), "\n")
		exp := strings.Split(string(want), "\n")
		for i := 0; i < len(got) || i < len(exp); i++ {
			var a, b string
			if i < len(got) {
				a = got[i]
			}
			if i < len(exp) {
				b = exp[i]
			}
			if a != b {
				t.Fatalf("line %d differs (go test -run GoldenDemo -update to accept):\n got %s\nwant %s", i+1, a, b)
			}
		}
	}
}

// TestAlertKeepsUnknownFields: an alert is its event's line with the alert
// fields added, so fields nfr-score does not know survive.
func TestAlertKeepsUnknownFields(t *testing.T) {
	line := `{"type":"dns","v":1,"ts":"2026-11-02T09:00:00Z","uid":"CXyz1","srcIP":"10.0.0.5","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"x.oast.fun","qtype":"A","groups":["lab"],"extra":{"a":[1,"}"]}}`
	var out bytes.Buffer
	e, _ := New(DefaultConfig())
	w := event.NewWriter(&out, false)
	f := &Filter{Engine: e, Out: w}
	if err := f.Run(strings.NewReader(line+"\n"), "t"); err != nil {
		t.Fatal(err)
	}
	f.Flush()
	w.Close()
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	if m["type"] != "alert" || m["eventType"] != "dns" || m["uid"] != "CXyz1" || m["extra"] == nil || m["severity"] != 4.0 {
		t.Errorf("alert %s", out.String())
	}
	if g, _ := m["groups"].([]any); len(g) != 1 || g[0] != "lab" {
		t.Errorf("groups not passed on: %s", out.String())
	}
	var a event.Event
	if err := event.Unmarshal(bytes.TrimSpace(out.Bytes()), &a); err != nil || a.Threats["oast"].Severity != 4 || a.Reason == "" {
		t.Errorf("the stream decoder reads %+v, %v", a, err)
	}
}

// TestFilterChunks feeds the same stream in pieces of several sizes (as a
// pipe delivers it) and expects the same alerts.
func TestFilterChunks(t *testing.T) {
	sc, _ := traffic.Find("dga")
	g := traffic.New(1)
	g.Play([]traffic.Scenario{sc})
	var in bytes.Buffer
	g.WriteEvents(&in)
	var first string
	for _, size := range []int{1, 7, 100, 4096, 1 << 20} {
		var out bytes.Buffer
		e, _ := New(DefaultConfig())
		w := event.NewWriter(&out, false)
		f := &Filter{Engine: e, Out: w}
		if err := f.Run(&chunked{b: in.Bytes(), n: size}, "t"); err != nil {
			t.Fatal(err)
		}
		f.Flush()
		w.Close()
		if first == "" {
			first = out.String()
			if first == "" {
				t.Fatal("no alerts")
			}
		} else if out.String() != first {
			t.Errorf("chunks of %d give other alerts", size)
		}
	}
}

type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// FuzzFilter feeds arbitrary bytes through the whole stream loop: it must
// not panic, and every alert it writes must be a JSON object.
func FuzzFilter(f *testing.F) {
	var in bytes.Buffer
	g := traffic.New(1)
	for _, n := range []string{"dga", "oast", "cleartext"} {
		s, _ := traffic.Find(n)
		g.Play([]traffic.Scenario{s})
	}
	g.WriteEvents(&in)
	f.Add(in.Bytes())
	f.Add([]byte(`{"type":"dns","query":"x.oast.fun","srcIP":"10.0.0.1","extra":{"a":"}"}}` + "\n{}\n{\"type\":\"ip\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		e, _ := New(DefaultConfig())
		w := event.NewWriter(&out, false)
		fl := &Filter{Engine: e, Out: w}
		if err := fl.Run(bytes.NewReader(data), "fuzz"); err != nil {
			t.Fatal(err)
		}
		w.Close()
		for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
			if len(line) > 0 && !json.Valid(line) {
				t.Fatalf("alert is not JSON: %s", line)
			}
		}
	})
}

// scoreLines runs the lines through a Filter, each element of inputs one
// input, and returns the alert lines.
func scoreLines(t *testing.T, inputs ...[]string) []string {
	t.Helper()
	var bs [][]byte
	for _, in := range inputs {
		bs = append(bs, []byte(strings.Join(in, "\n")+"\n"))
	}
	return strings.Split(strings.TrimSpace(string(runFilter(t, bs...))), "\n")
}

// runFilter scores the inputs with a Filter, as nfr-score FILE... does,
// and returns its output.
func runFilter(t *testing.T, inputs ...[]byte) []byte {
	t.Helper()
	var out bytes.Buffer
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	w := event.NewWriter(&out, false)
	f := &Filter{Engine: e, Out: w}
	var rs []io.Reader
	var names []string
	for i, in := range inputs {
		rs = append(rs, bytes.NewReader(in))
		names = append(names, fmt.Sprint("input", i))
	}
	if err := f.RunAll(rs, names); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return out.Bytes()
}

// timeOrderedInput is the generated DGA and scan traffic as lines, in time
// order, and a copy with every pair of neighbours swapped: out of order,
// but never by more than the reorder window.
func timeOrderedInput(t *testing.T) (sorted, shuffled []string) {
	g := traffic.New(2)
	var ss []traffic.Scenario
	for _, n := range []string{"dga", "scan", "beacon"} {
		sc, _ := traffic.Find(n)
		ss = append(ss, sc)
	}
	g.Play(ss)
	var in bytes.Buffer
	g.WriteEvents(&in)
	sorted = strings.Split(strings.TrimSpace(in.String()), "\n")
	shuffled = append([]string(nil), sorted...)
	for i := 0; i+1 < len(shuffled); i += 2 {
		shuffled[i], shuffled[i+1] = shuffled[i+1], shuffled[i]
	}
	return sorted, shuffled
}

// TestReorder: the same events in time order and shuffled within the
// reorder window give the same alerts, byte for byte.
func TestReorder(t *testing.T) {
	sorted, shuffled := timeOrderedInput(t)
	a, b := scoreLines(t, sorted), scoreLines(t, shuffled)
	if len(a) < 2 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("in order %d alerts, shuffled %d:\n%s\n--\n%s", len(a), len(b), strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

// TestMergeInputs: events split over two inputs (as conn.log and dns.log)
// are merged by timestamp: either order of the inputs, and one input
// holding them all, give the same alerts.
func TestMergeInputs(t *testing.T) {
	sorted, _ := timeOrderedInput(t)
	var dns, other []string
	for _, l := range sorted {
		if strings.Contains(l, `"type":"dns"`) {
			dns = append(dns, l)
		} else {
			other = append(other, l)
		}
	}
	if len(dns) == 0 || len(other) == 0 {
		t.Fatalf("%d dns, %d other events", len(dns), len(other))
	}
	one := strings.Join(scoreLines(t, sorted), "\n")
	ab := strings.Join(scoreLines(t, dns, other), "\n")
	ba := strings.Join(scoreLines(t, other, dns), "\n")
	if one != ab || one != ba {
		t.Errorf("one input:\n%s\ndns, other:\n%s\nother, dns:\n%s", one, ab, ba)
	}
}

// TestReorderLate: an event more than the window older than the latest is
// still scored (at once) and counted as late.
func TestReorderLate(t *testing.T) {
	r := newReorder(time.Minute, 0)
	var got []time.Time
	rel := func(ev *event.Event, _ []byte) { got = append(got, ev.TS) }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, 30 * time.Second, 10 * time.Second, 5 * time.Minute, 20 * time.Second, 4 * time.Minute} {
		ev := &event.Event{TS: t0.Add(d)}
		r.push(&ev, nil, rel)
	}
	r.drain(rel)
	want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 20 * time.Second, 4 * time.Minute, 5 * time.Minute}
	for i, d := range want {
		if i >= len(got) || !got[i].Equal(t0.Add(d)) {
			t.Fatalf("released %v, want offsets %v", got, want)
		}
	}
	if r.Late != 1 {
		t.Errorf("late %d, want 1", r.Late)
	}
}
