package scope

import (
	"strings"
	"testing"
)

func TestDomains(t *testing.T) {
	d := newDomains(0)
	for i, s := range []string{"*.Example.COM.", "exact.org", ".dot.net", "*.a.b.c.d", "*.arpa"} {
		p, err := parsePattern(s)
		if err != nil {
			t.Fatal(err)
		}
		d.add(p, groupSet(1)<<i)
	}
	for _, tt := range []struct {
		name string
		want groupSet
	}{
		{"example.com", 1},
		{"www.example.com", 1},
		{"a.b.www.example.com", 1},
		{"badexample.com", 0},
		{"example.com.evil", 0},
		{"exact.org", 2},
		{"www.exact.org", 0},
		{"dot.net", 4},
		{"x.dot.net", 4},
		{"a.b.c.d", 8},
		{"z.a.b.c.d", 8},
		{"b.c.d", 0},
		{"1.0.168.192.in-addr.arpa", 16},
		{"", 0},
		{"com", 0},
	} {
		if got := d.match([]byte(tt.name)); got != tt.want {
			t.Errorf("match(%q) = %b, want %b", tt.name, got, tt.want)
		}
	}
}

func TestNormName(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.": "example.com", "a.b": "a.b", "X..": "x", "": "", "ÄB": "Äb",
	} {
		if got := string(normName(nil, []byte(in))); got != want {
			t.Errorf("normName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	for _, s := range []string{"", "*", "*.", "a..b", "foo.*.com", "a b.com", "bücher.de", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 130) + "com"} {
		if _, err := parsePattern(s); err == nil {
			t.Errorf("parsePattern(%q): no error", s)
		}
	}
	for _, s := range []string{"com", "_dmarc.example.com", "xn--bcher-kva.de", "*.local", "1.2.3.4"} {
		if _, err := parsePattern(s); err != nil {
			t.Errorf("parsePattern(%q): %v", s, err)
		}
	}
}
