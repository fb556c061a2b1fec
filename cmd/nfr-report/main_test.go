package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

func TestWritesPage(t *testing.T) {
	alerts := filepath.Join(testenv.Root(t), "pkg", "score", "testdata", "demo.alerts.json")
	out := filepath.Join(t.TempDir(), "report.html")
	r := testenv.RunBin(t, "nfr-report", nil, "-o", out, "--title", "Demo <capture>", alerts)
	if r.Code != 0 || r.Stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	if want := "nfr-report: 10 alerts from 20 lines (10 incident updates folded in) written to " + out + "\n"; r.Stderr != want {
		t.Errorf("stderr %q, want %q", r.Stderr, want)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"<title>Demo &lt;capture&gt;</title>", `id="alert-10"`, "zrgb6yar.net"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestStdinAndBadLines(t *testing.T) {
	in := `{"type":"alert","ts":"2026-11-02T09:00:00Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","severity":3,"threats":{"scan_port":{"title":"Port scan","severity":3}},"reason":"r"}
{"type":"alert","ts":"yesterday"}
`
	r := testenv.RunBin(t, "nfr-report", []byte(in))
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "<!DOCTYPE html>") {
		t.Fatalf("exit %d, stderr %s", r.Code, r.Stderr)
	}
	want := "nfr-report: warning: -:2: field \"ts\": bad timestamp \"yesterday\"\nnfr-report: warning: 1 bad lines skipped\n"
	if r.Stderr != want {
		t.Errorf("stderr %q, want %q", r.Stderr, want)
	}
}

func TestErrors(t *testing.T) {
	r := testenv.RunBin(t, "nfr-report", nil, "--top", "0")
	if r.Code != 2 || !strings.Contains(r.Stderr, "nfr-report: error: --top must be at least 1") {
		t.Errorf("--top 0: exit %d, %q", r.Code, r.Stderr)
	}
	r = testenv.RunBin(t, "nfr-report", nil, "-o", filepath.Join(t.TempDir(), "r.html"), "/nonexistent/alerts.json")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "nfr-report: error: open /nonexistent/alerts.json: no such file or directory\n") {
		t.Errorf("missing file: exit %d, %q", r.Code, r.Stderr)
	}
	r = testenv.RunBin(t, "nfr-report", nil, "-o", "/nonexistent/dir/r.html")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "nfr-report: error: writing the report: ") {
		t.Errorf("unwritable output: exit %d, %q", r.Code, r.Stderr)
	}
	r = testenv.RunBin(t, "nfr-report", nil, "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "--output") {
		t.Errorf("--help: exit %d, %q", r.Code, r.Stdout)
	}
}

func TestTee(t *testing.T) {
	alerts, err := os.ReadFile(filepath.Join(testenv.Root(t), "pkg", "score", "testdata", "demo.alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.html")
	r := testenv.RunBin(t, "nfr-report", alerts, "--tee", "-o", out)
	if r.Code != 0 || r.Stdout != string(alerts) {
		t.Fatalf("exit %d, stdout is not the input (%d bytes, want %d), stderr %s", r.Code, len(r.Stdout), len(alerts), r.Stderr)
	}
	if page, err := os.ReadFile(out); err != nil || !strings.Contains(string(page), `id="alert-10"`) {
		t.Errorf("report not written: %v", err)
	}
	r = testenv.RunBin(t, "nfr-report", nil, "--tee")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--tee needs -o FILE") {
		t.Errorf("--tee without -o: exit %d, %q", r.Code, r.Stderr)
	}
}
