package server

import (
	"strings"
	"testing"
)

// TestLongFieldsInvalid: names over 253 bytes or with labels over 63, URLs
// and user agents over their limits are rejected as invalid_field.
func TestLongFieldsInvalid(t *testing.T) {
	long := strings.Repeat("a.", 200) + "example"
	body := dnsLine(1, "ok.example") + "\n" + dnsLine(2, long) + "\n" + dnsLine(3, strings.Repeat("x", 64)+".example") + "\n"
	evs, resp := DecodeBatch([]byte(body), "dns", nil)
	if len(evs) != 1 || resp.Accepted != 1 || resp.Rejected[ReasonInvalidField] != 2 {
		t.Errorf("dns: %d events, %+v", len(evs), resp)
	}
	http := `{"type":"http","ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","host":"a.example","url":"/` + strings.Repeat("u", 8192) + `"}` + "\n" +
		`{"type":"http","ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","host":"a.example","url":"/","userAgent":"` + strings.Repeat("u", 1025) + `"}` + "\n"
	if _, resp := DecodeBatch([]byte(http), "http", nil); resp.Accepted != 0 || resp.Rejected[ReasonInvalidField] != 2 {
		t.Errorf("http: %+v", resp)
	}
	// The 2017 protocol too.
	q := `{"data":[["2026-11-27T07:00:00Z","10.0.0.5","A","ok.example."],["2026-11-27T07:00:00Z","10.0.0.5","A","` + long + `."]]}`
	if _, resp, err := DecodeQueries([]byte(q)); err != nil || resp.Accepted != 1 || resp.Rejected[ReasonInvalidField] != 1 {
		t.Errorf("queries: %v %+v", err, resp)
	}
}
