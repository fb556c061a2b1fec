package scope

import (
	"strings"
	"testing"
)

// TestLongNameIsBad: nfr-scope treats a name over 253 bytes or with a label
// over 63 as a bad line (counted, reported), not as an event to match.
func TestLongNameIsBad(t *testing.T) {
	f := NewFilter(mustParse(t, testScope))
	for _, in := range []string{
		`{"type":"dns","srcIP":"10.1.1.1","query":"` + strings.Repeat("a.", 200) + `example"}`,
		`{"type":"tls","srcIP":"10.1.1.1","destIP":"192.0.2.9","sni":"` + strings.Repeat("b", 64) + `.example"}`,
		`{"type":"http","srcIP":"10.1.1.1","destIP":"192.0.2.9","host":"` + strings.Repeat("c", 64) + `.example:8080"}`,
	} {
		if out, v, err := f.Line([]byte(in)); err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Errorf("%.50s: %v %s %s", in, err, v, out)
		}
	}
	if _, _, err := f.Line([]byte(`{"type":"dns","srcIP":"10.1.1.1","query":"` + strings.Repeat("a", 63) + `.example"}`)); err != nil {
		t.Errorf("63-byte label: %v", err)
	}
}
