package tail

import (
	"strings"
	"testing"
)

// TestCheckpointAfterEveryFlush reads a log in one run and looks at the
// state file at every flush: it always covers exactly the lines flushed at
// the previous checkpoint (nothing skipped after a kill -9), and never more
// than SaveLines lines lie between the output and the state (what a restart
// repeats).
func TestCheckpointAfterEveryFlush(t *testing.T) {
	h := newHarness(t)
	want := h.write("dns.log", 1000)
	o := h.options(nil)
	o.SaveLines = 64
	var syncs int
	var flushedAtLastSave int64 = -1
	o.Sync = func() error {
		syncs++
		h.mu.Lock()
		n := int64(len(h.lines))
		h.mu.Unlock()
		st, err := LoadState(h.state)
		if err != nil {
			t.Fatal(err)
		}
		var saved int64
		if len(st.Files) > 0 {
			saved = st.Files[0].Line
		}
		if flushedAtLastSave >= 0 && saved != flushedAtLastSave {
			t.Errorf("sync %d: state covers %d lines, the last flush had written %d", syncs, saved, flushedAtLastSave)
		}
		if n-saved > o.SaveLines {
			t.Errorf("sync %d: %d lines written since the state was saved (limit %d)", syncs, n-saved, o.SaveLines)
		}
		flushedAtLastSave = n
		return nil
	}
	if _, err := Run([]string{h.path("dns.log")}, o); err != nil {
		t.Fatal(err)
	}
	same(t, "read once", h.lines, want)
	if syncs < 1000/64 {
		t.Errorf("%d checkpoints for 1000 lines at most 64 apart", syncs)
	}
	st, _ := LoadState(h.state)
	if len(st.Files) != 1 || st.Files[0].Line != 1000 {
		t.Errorf("final state: %+v", st.Files)
	}
}

// TestRotatedSiblingNotThereYet is the documented cron line before the
// first rotation: dns.log.1.gz does not exist yet, which is normal.
func TestRotatedSiblingNotThereYet(t *testing.T) {
	h := newHarness(t)
	want := h.write("dns.log", 2)
	o := h.options(nil)
	var infos []string
	o.Info = func(m string) { infos = append(infos, m) }
	if _, err := Run([]string{h.path("dns.log.1.gz"), h.path("dns.log")}, o); err != nil {
		t.Fatalf("missing rotated sibling: %v", err)
	}
	same(t, "log read", h.lines, want)
	if len(infos) != 1 || !strings.Contains(infos[0], "dns.log.1.gz: not there (yet)") {
		t.Errorf("info: %q", infos)
	}
	// A missing file that is nobody's rotation is still an error.
	if _, err := Run([]string{h.path("conn.log"), h.path("dns.log")}, h.options(nil)); err == nil {
		t.Error("missing conn.log: no error")
	}
	for _, c := range []struct {
		name, base string
		want       bool
	}{
		{"dns.log.1", "dns.log", true},
		{"dns.log.12.gz", "dns.log", true},
		{"dns.log.gz", "dns.log", true},
		{"dns.log-20261127", "dns.log", true},
		{"dns.log-20261127.gz", "dns.log", true},
		{"dns.log.old", "dns.log", false},
		{"dns.log", "dns.log", false},
		{"dns.logx", "dns.log", false},
		{"dns.log.", "dns.log", false},
	} {
		if got := isRotationOf(c.name, c.base); got != c.want {
			t.Errorf("isRotationOf(%q, %q) = %v", c.name, c.base, got)
		}
	}
}
