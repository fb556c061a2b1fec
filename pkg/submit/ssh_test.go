package submit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/spool"
)

type countLog struct {
	mu    sync.Mutex
	warns []string
}

func (l *countLog) Warnf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, f)
}
func (l *countLog) Infof(string, ...any) {}

// TestSSHFallback sends ssh events to a server of the plain AlphaSOC API,
// which answers 404 to /v1/events/ssh: the sender warns once and sends
// every ssh batch, that one and the next, as ip events.
func TestSSHFallback(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]int{}
	var ipBodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path != "/v1/events/ip" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"unknown event type"}`))
			return
		}
		n := strings.Count(string(body), "\n")
		mu.Lock()
		ipBodies = append(ipBodies, string(body))
		mu.Unlock()
		json.NewEncoder(w).Encode(api.EventsResponse{Received: n, Accepted: n})
	}))
	defer srv.Close()
	c, err := api.NewClient(srv.URL, api.ClientOptions{Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(spool.Options{Dir: t.TempDir(), MaxEvents: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	log := &countLog{}
	s := &Sender{Client: c, Spool: sp, Log: log, Connections: 1, RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond}
	in := strings.Repeat(`{"type":"ssh","v":1,"ts":"2026-01-01T00:00:00Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","destPort":22,"clientVersion":"SSH-2.0-x"}`+"\n", 4)
	if err := s.Read(strings.NewReader(in), "-", nil); err != nil {
		t.Fatal(err)
	}
	sp.SealAll()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error)
	go func() { done <- s.Send(ctx) }()
	for {
		mu.Lock()
		n := len(ipBodies)
		mu.Unlock()
		if n == 2 || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if paths["/v1/events/ssh"] != 1 || paths["/v1/events/ip"] != 2 {
		t.Errorf("requests %v, want one to ssh then two to ip", paths)
	}
	for _, b := range ipBodies {
		if strings.Count(b, `{"type":"ip",`) != 2 || !strings.Contains(b, `"clientVersion":"SSH-2.0-x"`) {
			t.Errorf("ip batch %q", b)
		}
	}
	if len(log.warns) != 1 {
		t.Errorf("warnings %q, want one", log.warns)
	}
}
