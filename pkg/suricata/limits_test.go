package suricata

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

// TestLongFieldsSkipped: an rrname, hostname or SNI over the name limits, a
// URL or user agent over theirs, costs its record with the reason.
func TestLongFieldsSkipped(t *testing.T) {
	long := strings.Repeat("a.", 200) + "example"
	for _, c := range []struct{ line, want string }{
		{strings.Replace(q2, "WWW.Google.com", long, 1), "dns.rrname: name of 407 bytes"},
		{strings.Replace(q2, "WWW.Google.com", strings.Repeat("x", 64)+".com", 1), "dns.rrname: label of 64 bytes"},
		{`{"timestamp":"2021-06-06T16:26:27.4+0200","event_type":"http","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","http":{"hostname":"a.example","url":"/` + strings.Repeat("u", event.MaxURL) + `"}}`, "http.url: 8193 bytes, longer than 8192"},
		{`{"timestamp":"2021-06-06T16:26:27.4+0200","event_type":"http","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","http":{"hostname":"a.example","url":"/","http_user_agent":"` + strings.Repeat("u", 2000) + `"}}`, "http.http_user_agent: 2000 bytes"},
		{`{"timestamp":"2021-06-06T16:26:27.4+0200","event_type":"tls","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":443,"proto":"TCP","tls":{"sni":"` + long + `"}}`, "tls.sni: name of 407 bytes"},
	} {
		p := NewParser("eve.json")
		n := 0
		emit := func(*event.Event) error { n++; return nil }
		err := p.Line([]byte(c.line), emit)
		p.Flush(emit)
		if err == nil || !strings.Contains(err.Error(), c.want) || n != 0 {
			t.Errorf("%.60s: error %v, %d events; want %q", c.line, err, n, c.want)
		}
	}
}

// TestIgnoredCountersBounded: 10,000 distinct unknown event_type values
// count as "other", not one counter each; Suricata's own types by name.
func TestIgnoredCountersBounded(t *testing.T) {
	p := NewParser("eve.json")
	emit := func(*event.Event) error { return nil }
	for i := range 10_000 {
		p.Line([]byte(fmt.Sprintf(`{"timestamp":"2021-06-06T16:26:27.4+0200","event_type":"junk%d"}`, i)), emit)
	}
	p.Line([]byte(`{"timestamp":"2021-06-06T16:26:27.4+0200","event_type":"alert"}`), emit)
	if len(p.Stats.Ignored) != 2 || p.Stats.Ignored["other"] != 10_000 || p.Stats.Ignored["alert"] != 1 {
		t.Errorf("ignored: %d keys, other %d, alert %d", len(p.Stats.Ignored), p.Stats.Ignored["other"], p.Stats.Ignored["alert"])
	}
}
