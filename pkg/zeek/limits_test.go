package zeek

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

// TestLongNamesSkipped: a query over 253 bytes or with a label over 63 costs
// its line, with the reason; the rows around it come through.
func TestLongNamesSkipped(t *testing.T) {
	row := func(q string) string {
		return "1.5\tC1\t10.0.0.1\t5353\t10.0.0.53\t53\tudp\t" + q + "\tA\tNOERROR\t-\t-\n"
	}
	in := dnsHeader + row("ok.example") + row(strings.Repeat("a.", 200)+"example") + row(strings.Repeat("b", 64)+".example") + row("ok2.example")
	p := NewParser("dns.log", "", nil)
	var got []string
	var errs []string
	for _, l := range bytes.Split([]byte(strings.TrimSuffix(in, "\n")), []byte("\n")) {
		if err := p.Line(l, func(e *event.Event) error { got = append(got, e.Query); return nil }); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if strings.Join(got, " ") != "ok.example ok2.example" {
		t.Errorf("events %q", got)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], `field "query": name of 407 bytes, longer than 253`) || !strings.Contains(errs[1], "label of 64 bytes") {
		t.Errorf("errors %q", errs)
	}
}
