// Command nfr-report turns NFR alerts into one self-contained HTML page.
// See nfr-report(1).
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nfr-project/nfr/pkg/cli"
	"github.com/nfr-project/nfr/pkg/report"
	"github.com/nfr-project/nfr/pkg/spool"
)

type options struct {
	cli.Common
	Output string `short:"o" long:"output" value-name:"FILE" description:"write the page to FILE (replaced atomically) instead of stdout"`
	Title  string `short:"t" long:"title" value-name:"TEXT" default:"NFR report" description:"page title"`
	Top    int    `long:"top" value-name:"N" default:"10" description:"rows in the top sources and destinations"`
	Tee    bool   `long:"tee" description:"also copy the input to stdout as it is read, to sit in a pipeline (needs -o)"`
}

func main() { os.Exit(run()) }

func run() int {
	ui := cli.New("nfr-report", os.Stderr)
	var o options
	files, done, code := ui.Parse(&o, "[OPTIONS] [FILE...]", os.Args[1:], os.Stdout)
	if done {
		return code
	}
	if o.Top < 1 {
		return ui.Usagef("--top must be at least 1")
	}
	if o.Tee && (o.Output == "" || o.Output == "-") {
		return ui.Usagef("--tee needs -o FILE: stdout carries the alerts")
	}
	var set report.Set
	var err error
	warn := func(m string) { ui.Warnf("%s", m) }
	code, err = ui.ReadFiles(files, func(in io.Reader, name string) error {
		if o.Tee {
			in = io.TeeReader(in, os.Stdout)
		}
		return set.Read(in, name, warn)
	})
	if err != nil {
		return code
	}
	page := report.Build(&set, report.Options{Title: o.Title, Generated: time.Now(), Top: o.Top})
	var buf bytes.Buffer
	if err := report.Write(&buf, page); err != nil {
		ui.Errorf("%v", err)
		return cli.ExitFailure
	}
	if o.Output == "" || o.Output == "-" {
		_, err = os.Stdout.Write(buf.Bytes())
	} else {
		err = spool.ReplaceFile(o.Output, buf.Bytes(), 0o644)
	}
	if err != nil {
		ui.Errorf("writing the report: %v", err)
		return cli.ExitFailure
	}
	if set.Skipped > 0 {
		ui.Summary()
		ui.Warnf("%d bad lines skipped", set.Skipped)
	}
	if o.Output != "" && o.Output != "-" {
		folded := ""
		if set.Updates > 0 {
			folded = fmt.Sprintf(" (%d incident updates folded in)", set.Updates)
		}
		ui.Infof("%d alerts from %d lines%s written to %s", len(set.Alerts), set.Lines, folded, o.Output)
	}
	return code
}
