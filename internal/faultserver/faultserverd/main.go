// Command faultserverd runs internal/faultserver without faults, for
// benchmarks and manual tests: it prints its base URL, serves until killed,
// and on SIGINT or SIGTERM prints how many events of each type it accepted
// and how many replayed batches it dropped.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/nfr-project/nfr/internal/faultserver"
	"github.com/nfr-project/nfr/pkg/api"
)

func main() {
	discard := flag.Bool("discard", false, "count events without keeping or checking them")
	alertEvery := flag.Int("alert-every", 0, "raise an alert for every Nth dns event (0: none)")
	flag.Parse()
	s := faultserver.New()
	s.Discard = *discard
	if *alertEvery > 0 {
		var mu sync.Mutex
		n := 0
		s.Threats["c2"] = api.ThreatInfo{Title: "C2 communication", Severity: 5}
		s.Rule = func(typ string, line []byte) *api.Alert {
			if typ != "dns" {
				return nil
			}
			mu.Lock()
			n++
			hit := n%*alertEvery == 0
			mu.Unlock()
			if !hit {
				return nil
			}
			return &api.Alert{EventType: typ, Event: append([]byte(nil), line...), Threats: []string{"c2"}}
		}
	}
	if err := s.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "faultserverd:", err)
		os.Exit(1)
	}
	fmt.Println(s.URL())
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	s.Stop()
	fmt.Printf("dns=%d ip=%d http=%d tls=%d replays=%d\n", s.Count("dns"), s.Count("ip"), s.Count("http"), s.Count("tls"), s.Replays())
}
