package server

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// countScorer counts the events it saw, a state it saves and loads.
type countScorer struct {
	nopScorer
	seen    int
	flushed *int
}

func (c *countScorer) Process(*event.Event, func(*event.Event)) { c.seen++ }
func (c *countScorer) Flush(func(*event.Event))                 { *c.flushed++ }
func (c *countScorer) SaveState(w io.Writer) error {
	_, err := fmt.Fprint(w, c.seen)
	return err
}
func (c *countScorer) LoadState(r io.Reader) error {
	_, err := fmt.Fscan(r, &c.seen)
	return err
}

// TestEvictIdleAndRevoked: the scorer of an idle tenant is saved and let
// go, and the next batch carries on from its saved count; a revoked
// tenant's scorer is flushed, saved and let go at once.
func TestEvictIdleAndRevoked(t *testing.T) {
	var mu sync.Mutex
	made := map[string][]*countScorer{}
	flushed := 0
	e := newEnvWith(t, Config{IdleEvict: time.Second, EvictEvery: 20 * time.Millisecond}, func(name string) (Scorer, error) {
		mu.Lock()
		defer mu.Unlock()
		c := &countScorer{flushed: &flushed}
		made[name] = append(made[name], c)
		return c, nil
	})
	idle, gone := e.key("idle"), e.key("gone")
	e.post(idle, "dns", dnsBatch(5, 0), nil)
	e.post(gone, "dns", dnsBatch(3, 0), nil)
	metric := func(name string) string {
		_, b := e.do("GET", "/metrics", "", nil, nil)
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, name+" "); ok {
				return v
			}
		}
		return ""
	}
	if m := metric("nfr_engine_scorers"); m != "2" {
		t.Fatalf("scorers %s, want 2", m)
	}
	if _, err := e.store.RevokeKeys("gone"); err != nil {
		t.Fatal(err)
	}
	// The revoked one goes within a few checks, long before the idle one.
	waitUntil(t, func() bool { return metric("nfr_engine_scorers") == "1" })
	mu.Lock()
	if flushed != 1 {
		t.Errorf("revoked scorer flushed %d times", flushed)
	}
	mu.Unlock()
	waitUntil(t, func() bool { return metric("nfr_engine_scorers") == "0" })
	if m := metric("nfr_engine_scorers_evicted_total"); m != "2" {
		t.Errorf("evicted %s, want 2", m)
	}
	e.post(idle, "dns", dnsBatch(4, 0), nil)
	mu.Lock()
	defer mu.Unlock()
	if n := len(made["idle"]); n != 2 || made["idle"][1].seen != 9 {
		t.Errorf("%d scorers made for the idle tenant; the second saw %d events, want 5 saved + 4", n, made["idle"][len(made["idle"])-1].seen)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}
