package server

import (
	"strings"
	"testing"
)

// TestMetricsLabelsClosed posts to 2,000 junk event paths without a key:
// /metrics stays the same size, counting them under endpoint "other".
func TestMetricsLabelsClosed(t *testing.T) {
	e := newEnv(t, Config{}, false)
	_, before := e.do("GET", "/metrics", "", nil, nil)
	for i := range 2000 {
		e.do("POST", "/v1/events/junk"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+"\"\\é", "", nil, nil)
	}
	_, after := e.do("GET", "/metrics", "", nil, nil)
	text := string(after)
	if strings.Contains(text, "junk") {
		t.Error("a label comes from the request path")
	}
	if !strings.Contains(text, `nfr_engine_requests_total{endpoint="other",code="401"} 2000`+"\n") {
		t.Errorf("junk requests not counted under other:\n%s", text)
	}
	if len(after) > len(before)+2048 {
		t.Errorf("/metrics grew from %d to %d bytes", len(before), len(after))
	}
}

// TestLabelValue escapes as the text exposition format says: backslash,
// double quote and line feed only; other bytes (UTF-8, tabs) are kept.
func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/alerts":  "/v1/alerts",
		`a"b`:         `a\"b`,
		`a\b`:         `a\\b`,
		"a\nb":        `a\nb`,
		"é\tx":        "é\tx",
		"\\\"\n":      `\\\"\n`,
		"invalid_fld": "invalid_fld",
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
