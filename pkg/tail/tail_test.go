package tail

import (
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a Handler that emits every line at once, into a shared list.
type collector struct {
	mu    *sync.Mutex
	lines *[]string
	seen  chan string
}

func (c collector) Line(l []byte) error {
	if strings.HasPrefix(string(l), "bad") {
		return errors.New("bad line")
	}
	c.mu.Lock()
	*c.lines = append(*c.lines, string(l))
	c.mu.Unlock()
	if c.seen != nil {
		c.seen <- string(l)
	}
	return nil
}
func (c collector) Context() []byte { return nil }
func (c collector) Flush() error    { return nil }

type harness struct {
	t     *testing.T
	dir   string
	state string
	mu    sync.Mutex
	lines []string
	warns []string
	seq   int
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	return &harness{t: t, dir: dir, state: filepath.Join(dir, "state.json")}
}

func (h *harness) path(n string) string { return filepath.Join(h.dir, n) }

// write appends n fresh records to the file and returns them.
func (h *harness) write(name string, n int) []string {
	h.t.Helper()
	f, err := os.OpenFile(h.path(name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	var recs []string
	for i := 0; i < n; i++ {
		h.seq++
		r := fmt.Sprintf("record %d of %s written at step %d", h.seq, name, h.seq)
		recs = append(recs, r)
		fmt.Fprintln(f, r)
	}
	return recs
}

func (h *harness) run(names ...string) []string {
	h.t.Helper()
	h.mu.Lock()
	h.lines = nil
	h.mu.Unlock()
	var paths []string
	for _, n := range names {
		paths = append(paths, h.path(n))
	}
	_, err := Run(paths, h.options(nil))
	if err != nil {
		h.t.Fatal(err)
	}
	return h.lines
}

func (h *harness) options(seen chan string) Options {
	return Options{
		State: h.state,
		Poll:  5 * time.Millisecond,
		New: func(string) Handler {
			return collector{mu: &h.mu, lines: &h.lines, seen: seen}
		},
		Warn: func(name string, line int64, err error) error {
			h.warns = append(h.warns, fmt.Sprintf("%s:%d: %v", filepath.Base(name), line, err))
			return nil
		},
	}
}

func gzipFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write(b)
	zw.Close()
	f.Close()
	os.Remove(src)
}

func same(t *testing.T, step string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: got %d lines:\n%s\nwant %d:\n%s", step, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
}

// TestCronRotation runs the reader as a cron job would, rotating, gzipping
// and truncating the log between runs, and checks that every record is read
// exactly once.
func TestCronRotation(t *testing.T) {
	h := newHarness(t)
	want := h.write("dns.log", 10)
	same(t, "first run", h.run("dns.log"), want)
	same(t, "nothing new", h.run("dns.log"), nil)

	// Growth, then rotation by rename and re-create.
	want = h.write("dns.log", 5)
	if err := os.Rename(h.path("dns.log"), h.path("dns.log.1")); err != nil {
		t.Fatal(err)
	}
	want = append(want, h.write("dns.log", 4)...)
	same(t, "after rename", h.run("dns.log.1", "dns.log"), want)

	// The rotated file is compressed (a new inode, same content).
	gzipFile(t, h.path("dns.log.1"), h.path("dns.log.1.gz"))
	want = h.write("dns.log", 3)
	same(t, "after gzip", h.run("dns.log.1.gz", "dns.log"), want)

	// copytruncate: the log is copied aside and truncated in place, then
	// written again.
	b, _ := os.ReadFile(h.path("dns.log"))
	more := h.write("dns.log", 2) // written before the copy, not yet read
	b2, _ := os.ReadFile(h.path("dns.log"))
	_ = b
	os.WriteFile(h.path("dns.log.1"), b2, 0o644)
	os.Truncate(h.path("dns.log"), 0)
	want = append(more, h.write("dns.log", 3)...)
	same(t, "after copytruncate", h.run("dns.log.1.gz", "dns.log.1", "dns.log"), want)

	// Every file again: nothing is repeated.
	same(t, "all again", h.run("dns.log.1.gz", "dns.log.1", "dns.log"), nil)
	if len(h.warns) > 0 {
		t.Errorf("warnings: %v", h.warns)
	}
}

func TestPartialLastLine(t *testing.T) {
	h := newHarness(t)
	want := h.write("eve.json", 2)
	f, _ := os.OpenFile(h.path("eve.json"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"half":`)
	same(t, "complete lines only", h.run("eve.json"), want)
	f.WriteString("\"written\"}\n")
	f.Close()
	same(t, "the rest", h.run("eve.json"), []string{`{"half":"written"}`})

	// Without a state file an unterminated last line is read: the file is
	// taken as complete.
	os.WriteFile(h.path("x.json"), []byte("one\ntwo"), 0o644)
	h.state = ""
	same(t, "no state", h.run("x.json"), []string{"one", "two"})
}

func TestRewrittenInPlace(t *testing.T) {
	h := newHarness(t)
	h.write("conn.log", 3)
	h.run("conn.log")
	// Same inode, new content longer than the old offset: the hash of the
	// first bytes tells it apart, so it is read from the start.
	b := []byte(strings.Repeat("new content that is longer than before\n", 10))
	if err := os.WriteFile(h.path("conn.log"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := h.run("conn.log"); len(got) != 10 {
		t.Errorf("rewritten file: got %d lines, want 10", len(got))
	}
}

func TestBadLinesAndGzipByMagic(t *testing.T) {
	h := newHarness(t)
	h.state = ""
	os.WriteFile(h.path("plain"), []byte("a\nbad one\nb\n"), 0o644)
	gzipFile(t, h.path("plain"), h.path("no-suffix")) // gzip without .gz
	same(t, "gzip by magic", h.run("no-suffix"), []string{"a", "b"})
	if len(h.warns) != 1 || h.warns[0] != "no-suffix:2: bad line" {
		t.Errorf("warnings: %v", h.warns)
	}
}

func TestStateFileErrors(t *testing.T) {
	h := newHarness(t)
	os.WriteFile(h.state, []byte("not json"), 0o644)
	h.write("dns.log", 1)
	_, err := Run([]string{h.path("dns.log")}, h.options(nil))
	if err == nil || !strings.Contains(err.Error(), "not a state file") || !strings.Contains(err.Error(), "remove it (rm "+h.state+")") {
		t.Errorf("corrupt state: %v", err)
	}
	os.Remove(h.state)
	l, err := Lock(h.state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(h.state); err == nil {
		t.Error("second lock succeeded")
	}
	l.Close()
}

func TestMissingFile(t *testing.T) {
	h := newHarness(t)
	want := h.write("b.log", 1)
	_, err := Run([]string{h.path("a.log"), h.path("b.log")}, h.options(nil))
	var oe *OpenError
	if !errors.As(err, &oe) || !strings.HasSuffix(oe.Name, "a.log") {
		t.Errorf("error %v, want an OpenError for a.log", err)
	}
	same(t, "other file still read", h.lines, want)
}

// follower runs Run with Follow in the background.
type follower struct {
	stop chan struct{}
	done chan error
	seen chan string
}

func (h *harness) follow(names ...string) *follower {
	fl := &follower{stop: make(chan struct{}), done: make(chan error, 1), seen: make(chan string, 1000)}
	o := h.options(fl.seen)
	o.Follow = true
	o.Stop = fl.stop
	var paths []string
	for _, n := range names {
		paths = append(paths, h.path(n))
	}
	go func() {
		_, err := Run(paths, o)
		fl.done <- err
	}()
	return fl
}

// expect waits for the records (a generous deadline, no timing assertion).
func (fl *follower) expect(t *testing.T, step string, want []string) {
	t.Helper()
	var got []string
	deadline := time.After(20 * time.Second)
	for len(got) < len(want) {
		select {
		case l := <-fl.seen:
			got = append(got, l)
		case <-deadline:
			t.Fatalf("%s: timed out with %d of %d lines: %v", step, len(got), len(want), got)
		}
	}
	same(t, step, got, want)
}

func (fl *follower) close(t *testing.T) {
	t.Helper()
	close(fl.stop)
	if err := <-fl.done; err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-fl.seen:
		t.Errorf("unexpected extra line %q", l)
	default:
	}
}

func TestFollow(t *testing.T) {
	h := newHarness(t)
	fl := h.follow("dns.log") // does not exist yet
	want := h.write("dns.log", 3)
	fl.expect(t, "file appears", want)
	fl.expect(t, "growth", h.write("dns.log", 2))

	// Rotation: the last lines of the old file, then the new file.
	last := h.write("dns.log", 2)
	os.Rename(h.path("dns.log"), h.path("dns.log.1"))
	fl.expect(t, "rotation", append(last, h.write("dns.log", 2)...))

	// Truncation in place.
	time.Sleep(20 * time.Millisecond)
	os.Truncate(h.path("dns.log"), 0)
	time.Sleep(50 * time.Millisecond)
	fl.expect(t, "truncation", h.write("dns.log", 1))
	fl.close(t)

	// A restarted follower neither repeats nor skips.
	want = h.write("dns.log", 2)
	fl = h.follow("dns.log")
	fl.expect(t, "restart", want)
	fl.expect(t, "restart growth", h.write("dns.log", 1))
	fl.close(t)
}

// FuzzRun feeds arbitrary file content (plain, gzip, broken gzip, long
// lines, no final newline) through Run, with and without a state file and a
// second run resuming from it.
func FuzzRun(f *testing.F) {
	f.Add([]byte("a\nb\n"), false)
	f.Add([]byte("\x1f\x8b\x08\x00garbage"), true)
	f.Add([]byte("no newline at the end"), true)
	f.Fuzz(func(t *testing.T, content []byte, useState bool) {
		dir := t.TempDir()
		name := filepath.Join(dir, "in.log")
		os.WriteFile(name, content, 0o644)
		var lines []string
		var mu sync.Mutex
		o := Options{New: func(string) Handler { return collector{mu: &mu, lines: &lines} }}
		if useState {
			o.State = filepath.Join(dir, "state")
		}
		Run([]string{name}, o)
		first := len(lines)
		Run([]string{name}, o)
		if useState && len(lines) != first {
			t.Fatalf("second run over an unchanged file read %d more lines", len(lines)-first)
		}
	})
}

// TestUnnamedSiblingKept: a run that names only the new log keeps the
// entry of the rotated one, so naming it later does not repeat records.
func TestUnnamedSiblingKept(t *testing.T) {
	h := newHarness(t)
	h.write("dns.log", 3)
	h.run("dns.log")
	os.Rename(h.path("dns.log"), h.path("dns.log.1"))
	want := h.write("dns.log", 2)
	same(t, "new log only", h.run("dns.log"), want)
	same(t, "sibling named later", h.run("dns.log.1", "dns.log"), nil)
}

// stopAfter is a Handler that asks the run to stop after n lines.
type stopAfter struct {
	collector
	n    *int
	stop chan struct{}
}

func (s stopAfter) Line(l []byte) error {
	*s.n--
	if *s.n == 0 {
		close(s.stop)
	}
	return s.collector.Line(l)
}

// TestStopAndResume interrupts a run (as Ctrl-C does) in the middle of a
// file; the next run goes on from where the first stopped.
func TestStopAndResume(t *testing.T) {
	h := newHarness(t)
	want := h.write("big.log", 5000)
	stop := make(chan struct{})
	n := 2500
	o := h.options(nil)
	o.Stop = stop
	o.New = func(string) Handler {
		return stopAfter{collector{mu: &h.mu, lines: &h.lines}, &n, stop}
	}
	if _, err := Run([]string{h.path("big.log")}, o); err != nil {
		t.Fatal(err)
	}
	first := append([]string(nil), h.lines...)
	if len(first) == 0 || len(first) == len(want) {
		t.Fatalf("stopped run read %d of %d lines", len(first), len(want))
	}
	rest := h.run("big.log")
	same(t, "both runs", append(first, rest...), want)
}
