// Command genthreats writes synthetic traffic for every behaviour nfr-score
// detects, as a pcap file or as the events nfr-capture would emit for it.
//
//	go run ./scripts/genthreats -scenario dga -o dga.pcap
//	go run ./scripts/genthreats -scenario all -events -o all.json
//	go run ./scripts/genthreats -list
//	go run ./scripts/genthreats -scenario demo -o testdata/demo.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/scripts/genthreats/traffic"
)

func main() {
	scenario := flag.String("scenario", "all", "scenario name, comma-separated names, all, or demo (see -list)")
	out := flag.String("o", "-", "output file (- for stdout)")
	events := flag.Bool("events", false, "write the events nfr-capture would emit instead of packets")
	seed := flag.Int64("seed", 1, "random seed")
	list := flag.Bool("list", false, "list the scenarios and exit")
	mixed := flag.Int("mixed", 0, "add N events of a busy ordinary network (with -events; for benchmarks)")
	flag.Parse()
	if *list {
		for _, s := range traffic.Scenarios {
			t := s.Threat
			if t == "" {
				t = "-"
			}
			fmt.Printf("%-14s %-14s %s\n", s.Name, t, s.Desc)
		}
		return
	}
	var ss []traffic.Scenario
	names := strings.Split(*scenario, ",")
	if *scenario == "demo" {
		names = traffic.Demo
	}
	if *scenario == "all" {
		ss = traffic.Scenarios
	} else {
		for _, n := range names {
			s, ok := traffic.Find(n)
			if !ok {
				fmt.Fprintf(os.Stderr, "genthreats: error: unknown scenario %q (one of %s)\n", n, traffic.Names())
				os.Exit(2)
			}
			ss = append(ss, s)
		}
	}
	g := traffic.New(*seed)
	g.Play(ss)
	if *mixed > 0 && !*events {
		fmt.Fprintln(os.Stderr, "genthreats: error: -mixed makes events only; add -events")
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(os.Stderr, "genthreats: error: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	if *events {
		err = g.WriteEvents(bw)
		if err == nil && *mixed > 0 {
			var b []byte
			g.Mixed(*mixed, g.End(), func(e *event.Event) {
				b = e.AppendJSON(b[:0])
				b = append(b, '\n')
				bw.Write(b)
			})
		}
	} else {
		err = g.WritePcap(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genthreats: error: %v\n", err)
		os.Exit(1)
	}
}
