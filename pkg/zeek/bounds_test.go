package zeek

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

// TestCertsLRU: the least recently used certificate goes first, by file id
// and fingerprint at once, and evictions are counted.
func TestCertsLRU(t *testing.T) {
	c := NewCertsMax(2)
	c.add("F1", Cert{Subject: "one", Fingerprint: "fp1"})
	c.add("F2", Cert{Subject: "two", Fingerprint: "fp2"})
	if _, ok := c.get("F1"); !ok { // F1 is now the most recent
		t.Fatal("F1 missing")
	}
	c.add("F3", Cert{Subject: "three"})
	if _, ok := c.get("F2"); ok {
		t.Error("F2, least recently used, still held")
	}
	if _, ok := c.get("fp2"); ok {
		t.Error("F2's fingerprint still held")
	}
	if x, ok := c.get("fp1"); !ok || x.Subject != "one" {
		t.Error("F1 by fingerprint lost")
	}
	if c.Len() != 2 || c.Evicted != 1 || len(c.m) != 3 {
		t.Errorf("len %d, evicted %d, keys %d", c.Len(), c.Evicted, len(c.m))
	}
}

// TestCertsBounded reads 300,000 x509 records into the default store: it
// holds MaxCerts, counts the rest as evicted, and its heap stops growing
// once full.
func TestCertsBounded(t *testing.T) {
	certs := NewCerts()
	p := NewParser("x509.log", "", certs)
	hdr := "#separator \\x09\n#path\tx509\n#fields\tts\tid\tcertificate.subject\tcertificate.issuer\tcertificate.not_valid_before\tcertificate.not_valid_after\tfingerprint\n"
	for _, l := range strings.Split(strings.TrimSpace(hdr), "\n") {
		p.Line([]byte(l), nil)
	}
	add := func(from, to int) {
		for i := from; i < to; i++ {
			l := fmt.Sprintf("1.5\tF%09d\tCN=host%d.example\tCN=Example CA\t1.0\t2.0\t%040x", i, i, i)
			if err := p.Line([]byte(l), func(*event.Event) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	add(0, MaxCerts)
	full := heap()
	add(MaxCerts, 300_000)
	after := heap()
	if certs.Len() != MaxCerts || certs.Evicted != 300_000-MaxCerts {
		t.Errorf("held %d, evicted %d", certs.Len(), certs.Evicted)
	}
	t.Logf("heap with %d certificates: %.1f MB; after 300,000: %.1f MB", MaxCerts, float64(full)/1e6, float64(after)/1e6)
	if after > full+full/5 {
		t.Errorf("heap grew from %d to %d bytes after the store was full", full, after)
	}
}

// TestIgnoredCountersBounded: 10,000 distinct unknown _path values count as
// "other", not one counter each.
func TestIgnoredCountersBounded(t *testing.T) {
	p := NewParser("mixed.log", "", nil)
	for i := range 10_000 {
		p.Line([]byte(fmt.Sprintf(`{"_path":"junk%d","ts":1.5}`, i)), func(*event.Event) error { return nil })
	}
	p.Line([]byte(`{"_path":"weird","ts":1.5}`), func(*event.Event) error { return nil })
	if len(p.Stats.Ignored) != 2 || p.Stats.Ignored["other"] != 10_000 || p.Stats.Ignored["weird"] != 1 {
		t.Errorf("ignored: %d keys, other %d, weird %d", len(p.Stats.Ignored), p.Stats.Ignored["other"], p.Stats.Ignored["weird"])
	}
}
