package suricata

import (
	"bytes"
	"os"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// BenchmarkEve parses a real eve.json (flow, dns v2, http, tls, alert, ...)
// and encodes the events.
func BenchmarkEve(b *testing.B) {
	data, err := os.ReadFile(testenv.SharedPath(b, "eve/stamus-suricata-analytics-training-02/eve.json"))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	p := NewParser("")
	var out []byte
	emit := func(e *event.Event) error {
		out = e.AppendJSON(out[:0])
		return nil
	}
	testenv.BenchLines(b, lines, func(l []byte) error { return p.Line(l, emit) })
	p.Flush(emit)
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ParseTime("2021-06-06T16:26:27.431769+0200")
	}
}
