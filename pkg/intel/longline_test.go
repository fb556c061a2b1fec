package intel

import (
	"strings"
	"testing"
)

// TestLongFeedLineSkipped: a line over the limit costs that line, with its
// number, not the rest of the feed.
func TestLongFeedLineSkipped(t *testing.T) {
	for _, format := range []string{"plain", "hosts"} {
		long := strings.Repeat("x", 3<<20)
		in := "a.example\n" + long + "\n" + "b.example\n"
		if format == "hosts" {
			in = "0.0.0.0 a.example\n0.0.0.0 " + long + "\n0.0.0.0 b.example"
		}
		s := NewSet()
		st, err := s.Load(strings.NewReader(in), Feed{Format: format, Threat: "c2"})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if st.Added != 2 || st.Skipped != 1 || st.First != "line 2: line longer than 1048576 bytes" {
			t.Errorf("%s: %+v", format, st)
		}
	}
}
