package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/spool"
)

// TestBadRecordInSpool: one flipped byte in the middle of a spooled batch
// costs that record only: it is kept in rejected/, the other 99 reach the
// server, and the exit status says something was lost.
func TestBadRecordInSpool(t *testing.T) {
	e := newEnv(t, "  connections: 1\n")
	sp, err := spool.Open(spool.Options{Dir: e.spool, MaxEvents: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.SplitAfter(events(0, 100), "\n") {
		if strings.Contains(l, `"dns"`) {
			sp.Append("dns", []byte(strings.TrimSuffix(l, "\n")))
		}
	}
	sp.Close()
	segs, _ := filepath.Glob(filepath.Join(e.spool, "dns-*"))
	if len(segs) != 1 {
		t.Fatalf("spool: %q", segs)
	}
	b, _ := os.ReadFile(segs[0])
	i := strings.Index(string(b), "q50.example.com")
	b[i] ^= 0xff
	os.WriteFile(segs[0], b, 0o600)
	code, _, errs := e.run(strings.NewReader(""), "--no-alerts")
	if code != 1 || !strings.Contains(errs, "checksum mismatch; that record") || !strings.Contains(errs, "the rest of the batch is sent") {
		t.Errorf("exit %d\n%s", code, errs)
	}
	got := map[string]bool{}
	for _, l := range e.srv.Events("dns") {
		got[string(l)] = true
	}
	if len(got) != 99 {
		t.Errorf("server has %d dns events, want the 99 around the bad one", len(got))
	}
	if kept, _ := filepath.Glob(filepath.Join(e.spool, "rejected", "dns-*.bad")); len(kept) != 1 {
		t.Errorf("rejected/: %q", kept)
	}
}

// TestLooseSpoolRefused: a spool others can write is refused, with the fix.
func TestLooseSpoolRefused(t *testing.T) {
	e := newEnv(t, "")
	os.MkdirAll(e.spool, 0o700)
	os.Chmod(e.spool, 0o777)
	code, _, errs := e.run(strings.NewReader(events(0, 10)), "--no-alerts")
	if code != 1 || !strings.Contains(errs, "nfr-submit: error: spool "+e.spool+" can be written by others (mode 0777)") ||
		!strings.Contains(errs, "run: chmod go-w "+e.spool) {
		t.Errorf("exit %d\n%s", code, errs)
	}
	if n := len(e.srv.Events("dns")); n != 0 {
		t.Errorf("%d events sent from a loose spool", n)
	}
}
