package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

func runBin(t *testing.T, stdin []byte, args ...string) testenv.Result {
	t.Helper()
	return testenv.RunBin(t, "nfr-parse-suricata", stdin, args...)
}

func TestCLI(t *testing.T) {
	if r := runBin(t, nil, "-h"); r.Code != 0 || !strings.Contains(r.Stdout, "--state") {
		t.Errorf("-h: %+v", r)
	}
	if r := runBin(t, nil, "--version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "nfr-parse-suricata ") {
		t.Errorf("--version: %+v", r)
	}
	if r := runBin(t, nil, "-x"); r.Code != 2 || !strings.Contains(r.Stderr, "hint:") {
		t.Errorf("bad flag: %+v", r)
	}
}

// TestBrokenFile: the deliberately broken eve file gives warnings, the
// first few and a summary, and exit 0; --strict stops at the first.
func TestBrokenFile(t *testing.T) {
	f := testenv.SharedPath(t, "eve", "rhaist-surevego", "eve_broken.json")
	r := runBin(t, nil, "--stats", f)
	if r.Code != 0 || !strings.Contains(r.Stderr, "nfr-parse-suricata: warning: "+f+":1: not a JSON object") ||
		!strings.Contains(r.Stderr, "7 skipped") || strings.Count(r.Stdout, "\n") != 92 {
		t.Errorf("broken: code %d, %d events\n%s", r.Code, strings.Count(r.Stdout, "\n"), r.Stderr)
	}
	r = runBin(t, nil, "--strict", f)
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "error: "+f+":1: not a JSON object") {
		t.Errorf("--strict: %+v", r)
	}
}

// TestCronGzip reads an eve file, then its gzipped rotation and the new
// file: every record once.
func TestCronGzip(t *testing.T) {
	src, err := os.ReadFile(testenv.SharedPath(t, "eve", "stamus-suricata-analytics-training-02", "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	all := runBin(t, src)
	want := strings.Count(all.Stdout, "\n")

	dir := t.TempDir()
	eve := filepath.Join(dir, "eve.json")
	state := filepath.Join(dir, "state.json")
	os.WriteFile(eve, bytes.Join(lines[:100], nil), 0o644)
	r1 := runBin(t, nil, "--state", state, eve)
	f, _ := os.OpenFile(eve, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(bytes.Join(lines[100:200], nil))
	f.Close()
	b, _ := os.ReadFile(eve)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	os.WriteFile(eve+".1.gz", gz.Bytes(), 0o644)
	os.WriteFile(eve, bytes.Join(lines[200:], nil), 0o644)
	r2 := runBin(t, nil, "--state", state, eve+".1.gz", eve)
	got := strings.Count(r1.Stdout, "\n") + strings.Count(r2.Stdout, "\n")
	// A query at the end of one run and its answer at the start of the
	// next become two events (the query is flushed unanswered at the end of
	// a run); no such pair is cut at lines 100 and 200 of this file.
	if got != want || r1.Code != 0 || r2.Code != 0 {
		t.Errorf("%d events over two runs, %d in one; %s %s", got, want, r1.Stderr, r2.Stderr)
	}
}

// TestGzipStdin: the nfr wrapper hands any log on stdin; gzip is told by
// its magic bytes.
func TestGzipStdin(t *testing.T) {
	src, err := os.ReadFile(testenv.SharedPath(t, "eve", "dcso-fever", "alertify_input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(src)
	zw.Close()
	plain, zipped := runBin(t, src), runBin(t, gz.Bytes(), "-")
	if plain.Code != 0 || zipped.Code != 0 || plain.Stdout != zipped.Stdout || strings.Count(plain.Stdout, "\n") != 3 {
		t.Errorf("plain %+v\ngzip %+v", plain, zipped)
	}
}
