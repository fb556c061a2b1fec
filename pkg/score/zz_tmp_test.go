package score

import (
	"io"
	"os"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

func BenchmarkZZFile(b *testing.B) {
	for b.Loop() {
		fh, _ := os.Open("/tmp/score-events-1m.json")
		e, _ := New(DefaultConfig())
		f := &Filter{Engine: e, Out: event.NewWriter(io.Discard, false)}
		f.Run(fh, "x")
		f.Flush()
		fh.Close()
	}
}
