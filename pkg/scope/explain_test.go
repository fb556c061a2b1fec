package scope

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/pkg/event"
)

func TestExplainNothingKept(t *testing.T) {
	f := NewFilter(Default())
	in := strings.Repeat(`{"type":"dns","srcIP":"8.8.8.8","query":"example.com"}`+"\n", 20)
	var out bytes.Buffer
	w := event.NewWriter(&out, false)
	if err := f.Run(strings.NewReader(in), "-", w); err != nil {
		t.Fatal(err)
	}
	got := f.Stats().Explain(f.Scope())
	want := "20 events, none from a source in scope: the built-in scope, which covers private and special-purpose addresses; add your networks to in_scope (see nfr-scope(1))"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	f = NewFilter(Default())
	f.Run(strings.NewReader(`{"type":"dns","srcIP":"10.0.0.1","query":"example.com"}`+"\n"), "-", w)
	if got := f.Stats().Explain(f.Scope()); got != "" {
		t.Errorf("something kept, yet %q", got)
	}
}
