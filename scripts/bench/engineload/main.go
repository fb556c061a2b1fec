// Command engineload is the load client of scripts/bench/engine.sh: it posts
// NDJSON event batches to an analytics API (nfr-engine) from several
// connections and prints the events per second the server took.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/cli"
)

type options struct {
	cli.Common
	URL     string `long:"url" value-name:"URL" required:"true" description:"base URL of the API"`
	Events  int    `short:"n" long:"events" default:"2000000" description:"events to send"`
	Batch   int    `short:"b" long:"batch" default:"1000" description:"events per batch"`
	Clients int    `short:"j" long:"clients" default:"4" description:"concurrent connections"`
	Gzip    bool   `long:"gzip" description:"gzip request bodies"`
}

func main() {
	ui := cli.New("engineload", os.Stderr)
	var o options
	if _, done, code := ui.Parse(&o, "[OPTIONS] (key in $NFR_API_KEY)", os.Args[1:], os.Stdout); done {
		os.Exit(code)
	}
	key := os.Getenv("NFR_API_KEY")
	if key == "" || o.Batch < 1 || o.Clients < 1 {
		ui.Errorf("need $NFR_API_KEY, --batch >= 1 and --clients >= 1")
		os.Exit(cli.ExitUsage)
	}
	// A few distinct bodies, built before the clock starts.
	bodies := make([][]byte, 8)
	for i := range bodies {
		var b bytes.Buffer
		for j := range o.Batch {
			n := i*o.Batch + j
			fmt.Fprintf(&b, `{"type":"dns","v":1,"ts":"2026-11-27T07:%02d:%02d.%06dZ","srcIP":"10.%d.%d.%d","srcPort":%d,"destIP":"10.0.0.53","destPort":53,"proto":"udp","query":"host%d.example%d.com","qtype":"A"}`+"\n",
				n/60%60, n%60, n%1000000, n>>16&255, n>>8&255, n&255, 1024+n%60000, n, n%97)
		}
		if o.Gzip {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(b.Bytes())
			zw.Close()
			bodies[i] = z.Bytes()
		} else {
			bodies[i] = b.Bytes()
		}
	}
	batches := (o.Events + o.Batch - 1) / o.Batch
	var next, accepted, retried atomic.Int64
	var failed atomic.Value
	tr := &http.Transport{MaxIdleConnsPerHost: o.Clients}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(batches) || failed.Load() != nil {
					return
				}
				for {
					req, _ := http.NewRequest("POST", o.URL+"/v1/events/dns", bytes.NewReader(bodies[i%int64(len(bodies))]))
					req.SetBasicAuth(key, "")
					req.Header.Set("Content-Type", "application/x-ndjson")
					req.Header.Set(api.BatchIDHeader, fmt.Sprintf("%s-%d", run, i))
					if o.Gzip {
						req.Header.Set("Content-Encoding", "gzip")
					}
					resp, err := client.Do(req)
					if err != nil {
						failed.Store(err)
						return
					}
					var r struct{ Accepted int64 }
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						retried.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if resp.StatusCode != http.StatusOK {
						failed.Store(fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b)))
						return
					}
					fmt.Sscanf(string(b), `{"received":%d,"accepted":%d`, new(int64), &r.Accepted)
					accepted.Add(r.Accepted)
					break
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		ui.Errorf("%v", err)
		os.Exit(cli.ExitFailure)
	}
	fmt.Printf("events %d seconds %.2f events/s %.0f retried429 %d\n",
		accepted.Load(), elapsed.Seconds(), float64(accepted.Load())/elapsed.Seconds(), retried.Load())
}
