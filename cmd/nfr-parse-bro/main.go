// Command nfr-parse-bro turns Zeek (Bro) dns, conn, http and ssl logs into
// NFR events on stdout.
package main

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/tail"
	"github.com/nfr-project/nfr/pkg/zeek"
)

type options struct {
	cli.Common
	tail.Flags
	Type string `short:"t" long:"type" value-name:"KIND" choice:"dns" choice:"conn" choice:"http" choice:"ssl" choice:"x509" choice:"ssh" description:"read every input as this log kind, whatever its #path, _path or name says"`
}

const usage = "[OPTION]... [FILE]...\n\nRead Zeek logs (TSV or JSON, plain or gzip; none or - is stdin) and write\ndns, ip, http and tls events, one JSON object per line. An x509.log given\nalongside completes the certificate fields of ssl.log records."

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New("nfr-parse-bro", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, usage, args, os.Stdout)
	if done {
		return code
	}
	// x509 logs first, so ssl records read after them find their certificates.
	sort.SliceStable(files, func(i, j int) bool { return isX509(files[i], o.Type) && !isX509(files[j], o.Type) })

	certs := zeek.NewCerts()
	var parsers []*zeek.Parser
	newParser := func(name string) tail.Parser {
		p := zeek.NewParser(name, o.Type, certs)
		parsers = append(parsers, p)
		return p
	}
	report := func(r tail.Result) {
		var records, unknown int64
		ignored := map[string]int64{}
		for _, p := range parsers {
			records += p.Stats.Records
			unknown += p.Stats.Ignored["unknown"]
			for k, v := range p.Stats.Ignored {
				ignored[k] += v
			}
		}
		if o.Stats {
			ui.Infof("%d files, %d lines, %d records, %d events (%s), %d skipped", r.Files, r.Lines, records, r.Events, tail.Counts(r.ByType), r.Skipped)
			if len(ignored) > 0 {
				ui.Infof("ignored records: %s", tail.Counts(ignored))
			}
			if certs.Len() > 0 {
				ui.Infof("x509 certificates: %d held, %d let go (least recently used first, at most %d held)", certs.Len(), certs.Evicted, zeek.MaxCerts)
			}
		}
		if unknown > 0 && o.Type == "" {
			ui.Warnf("%d records of a log whose kind could not be told (no #path, no _path, no telling file name)", unknown)
			ui.Hintf("name the kind: nfr-parse-bro --type dns (or conn, http, ssl, x509)")
		}
	}
	return tail.Main(ui, &o.Flags, files, os.Stdout, cli.IsTerminal(os.Stdout), "dns.log dns.log.1.gz", newParser, report)
}

func isX509(name, typ string) bool {
	return typ == "" && zeek.KindFromName(filepath.Base(name)) == zeek.KindX509
}
