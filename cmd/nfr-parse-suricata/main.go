// Command nfr-parse-suricata turns Suricata eve.json dns, flow, http and tls
// records into NFR events on stdout.
package main

import (
	"os"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/suricata"
	"github.com/nfr-project/nfr/pkg/tail"
)

type options struct {
	cli.Common
	tail.Flags
}

const usage = "[OPTION]... [FILE]...\n\nRead Suricata eve.json (plain or gzip; none or - is stdin) and write dns, ip,\nhttp and tls events, one JSON object per line. Other event types are counted\nand ignored."

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New("nfr-parse-suricata", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, usage, args, os.Stdout)
	if done {
		return code
	}
	var parsers []*suricata.Parser
	newParser := func(name string) tail.Parser {
		p := suricata.NewParser(name)
		parsers = append(parsers, p)
		return p
	}
	report := func(r tail.Result) {
		if !o.Stats {
			return
		}
		var records, unanswered int64
		ignored := map[string]int64{}
		for _, p := range parsers {
			records += p.Stats.Records
			unanswered += p.Stats.Unanswered
			for k, v := range p.Stats.Ignored {
				ignored[k] += v
			}
		}
		ui.Infof("%d files, %d lines, %d records, %d events (%s), %d dns queries without answer, %d skipped", r.Files, r.Lines, records, r.Events, tail.Counts(r.ByType), unanswered, r.Skipped)
		if len(ignored) > 0 {
			ui.Infof("ignored records: %s", tail.Counts(ignored))
		}
	}
	return tail.Main(ui, &o.Flags, files, os.Stdout, cli.IsTerminal(os.Stdout), "eve.json eve.json.1.gz", newParser, report)
}
