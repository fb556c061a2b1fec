// Command nfr-check tells whether nfr listen would run, and why not; see
// nfr-check(1).
package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/nfr-project/nfr/pkg/check"
	"github.com/nfr-project/nfr/pkg/cli"
)

type options struct {
	cli.Common
	Config    string `short:"c" long:"config" value-name:"FILE" description:"config.yml (default $NFR_CONFIG, else /etc/nfr/config.yml if it exists)"`
	Interface string `short:"i" long:"interface" value-name:"IFACE" description:"check this interface instead of network.interface"`
	Print     bool   `long:"print" description:"print what the nfr wrapper needs to assemble its pipelines (KEY=VALUE lines) and exit"`
	Quiet     bool   `short:"q" long:"quiet" description:"print only the failures"`
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	ui := cli.New("nfr-check", os.Stderr)
	var o options
	rest, done, code := ui.Parse(&o, "[OPTIONS]", args, os.Stdout)
	if done {
		return code
	}
	if len(rest) > 0 {
		return ui.Usagef("unexpected argument %q", rest[0])
	}
	if o.Print {
		if err := check.Answers(os.Stdout, o.Config); err != nil {
			ui.Errorf("%v", err)
			if errors.Is(err, fs.ErrNotExist) {
				return cli.ExitUsage
			}
			ui.Hintf("run: nfr check")
			return cli.ExitUsage
		}
		return cli.ExitOK
	}
	out := os.Stdout
	if o.Quiet {
		out = nil
	}
	c := &check.Checker{ConfigFlag: o.Config, Interface: o.Interface, Version: cli.Version,
		Out: writerOrDiscard(out), Errorf: ui.Errorf, Hintf: ui.Hintf}
	return c.Run()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func writerOrDiscard(f *os.File) interface{ Write([]byte) (int, error) } {
	if f == nil {
		return discard{}
	}
	return f
}
