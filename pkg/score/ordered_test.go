package score

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// orderedAlerts scores lines with an Ordered engine as nfr-engine does, the
// events arriving in batches of size (a drain after each batch when drain
// is set), saving and loading the state after the batch at cut (-1: never),
// and returns the alerts as lines.
func orderedAlerts(t *testing.T, lines []string, size, cut int, drain bool) []string {
	t.Helper()
	newOrdered := func() *Ordered {
		e, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		return NewOrdered(e, 0)
	}
	o := newOrdered()
	var out []string
	emit := func(a *event.Event) { out = append(out, string(a.AppendJSON(nil))) }
	for b := 0; b*size < len(lines); b++ {
		batch := make([]event.Event, 0, size)
		for _, l := range lines[b*size : min((b+1)*size, len(lines))] {
			var ev event.Event
			if err := event.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			batch = append(batch, ev)
		}
		for i := range batch {
			o.Process(&batch[i], emit)
		}
		if drain {
			o.Drain(emit)
		}
		if b == cut {
			var st bytes.Buffer
			if err := o.SaveState(&st); err != nil {
				t.Fatal(err)
			}
			held := o.Held()
			o = newOrdered()
			if err := o.LoadState(&st); err != nil {
				t.Fatal(err)
			}
			if o.Held() != held {
				t.Fatalf("%d events held before saving, %d after loading", held, o.Held())
			}
		}
	}
	o.Flush(emit)
	return out
}

// TestOrdered: nfr-engine's scorer gives the alerts nfr-score gives, byte
// for byte, whether the events arrive in time order or shuffled within the
// reorder window, in batches of any size, and across a save and load of
// its state with events held.
func TestOrdered(t *testing.T) {
	sorted, shuffled := timeOrderedInput(t)
	want := strings.Join(scoreLines(t, sorted), "\n")
	if want == "" {
		t.Fatal("no alerts from nfr-score")
	}
	for _, c := range []struct {
		name  string
		lines []string
		size  int
		cut   int
	}{
		{"in order, one by one", sorted, 1, -1},
		{"shuffled, batches of 7", shuffled, 7, -1},
		{"shuffled, batches of 100, state saved with events held", shuffled, 100, 3},
	} {
		if got := strings.Join(orderedAlerts(t, c.lines, c.size, c.cut, false), "\n"); got != want {
			t.Errorf("%s:\n%s\nwant (nfr-score):\n%s", c.name, got, want)
		}
	}
}

// TestOrderedAdvance: a clock moved on releases the events a window older
// and no others, and the engine's clock stops at the oldest event held.
func TestOrderedAdvance(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	o := NewOrdered(e, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nop := func(*event.Event) {}
	for _, d := range []time.Duration{0, 30 * time.Second, 10 * time.Second} {
		ev := edgeDNS(d, "example.com", "93.184.216.34")
		ev.TS = t0.Add(d)
		o.Process(&ev, nop)
	}
	if o.Held() != 3 {
		t.Fatalf("held %d, want 3", o.Held())
	}
	o.Advance(t0.Add(75*time.Second), nop)
	if o.Held() != 1 || !e.now.Equal(t0.Add(30*time.Second)) {
		t.Errorf("after advancing 75 s: held %d (want 1), engine clock %v (want the held event's ts)", o.Held(), e.now)
	}
	o.Drain(nop)
	if o.Held() != 0 || e.Stats().Events != 3 {
		t.Errorf("after draining: held %d, scored %d", o.Held(), e.Stats().Events)
	}
}

// TestOrderedTick: held events are released once Hold has passed since an
// event at least as new arrived, and not before.
func TestOrderedTick(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	o := NewOrdered(e, time.Hour)
	o.Hold = 5 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	wall := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	nop := func(*event.Event) {}
	push := func(d time.Duration) {
		ev := edgeDNS(d, "example.com", "93.184.216.34")
		ev.TS = t0.Add(d)
		o.Process(&ev, nop)
	}
	push(10 * time.Second)
	o.Tick(wall, nop) // the newest is 10 s
	push(20 * time.Second)
	push(5 * time.Second) // an older event from another batch, in time
	o.Tick(wall.Add(3*time.Second), nop)
	if o.Held() != 3 {
		t.Fatalf("released before Hold: held %d, want 3", o.Held())
	}
	o.Tick(wall.Add(5*time.Second), nop) // 5 s after the first tick: up to 10 s
	if o.Held() != 1 || e.Stats().Events != 2 {
		t.Fatalf("after Hold: held %d (want 1), scored %d (want 2)", o.Held(), e.Stats().Events)
	}
	o.Tick(wall.Add(8*time.Second), nop) // 5 s after the second: up to 20 s
	if o.Held() != 0 || o.Late() != 0 {
		t.Fatalf("held %d, late %d, want 0 and 0", o.Held(), o.Late())
	}
}
