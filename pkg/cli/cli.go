// Package cli holds what every nfr-* command shares: option parsing with
// go-flags, the version string, exit codes, and the rules for talking to
// people on stderr.
//
// UI rules, for every binary:
//   - data on stdout, people on stderr;
//   - messages are "prog: error: ...", "prog: warning: ...", "prog: hint: ...",
//     lower case, no final period; a hint says what to type next;
//   - exit 0 ok, 1 runtime failure, 2 usage or configuration error;
//   - -h/--help prints to stdout and exits 0; --version prints "prog VERSION";
//   - secrets never come from the command line.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	flags "github.com/jessevdk/go-flags"
)

// Version is set at build time with -ldflags "-X .../pkg/cli.Version=...".
var Version = "dev"

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UI writes messages for people on behalf of one program.
type UI struct {
	Prog   string
	Stderr io.Writer

	mu       sync.Mutex
	warnings int64
	// MaxWarnings is how many warnings are printed before they are only
	// counted; 0 means 20.
	MaxWarnings int64
}

// New returns a UI for prog writing to stderr.
func New(prog string, stderr io.Writer) *UI {
	return &UI{Prog: prog, Stderr: stderr}
}

func (u *UI) printf(kind, format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Stderr, "%s: %s%s\n", u.Prog, kind, fmt.Sprintf(format, args...))
}

// Errorf prints "prog: error: ...".
func (u *UI) Errorf(format string, args ...any) { u.printf("error: ", format, args...) }

// Hintf prints "prog: hint: ...".
func (u *UI) Hintf(format string, args ...any) { u.printf("hint: ", format, args...) }

// Usagef reports a usage error: "prog: error: ...", then the hint to read
// --help. It returns ExitUsage for the caller to exit with.
func (u *UI) Usagef(format string, args ...any) int {
	u.Errorf(format, args...)
	u.Hintf("run: %s --help", u.Prog)
	return ExitUsage
}

// Infof prints "prog: ...".
func (u *UI) Infof(format string, args ...any) { u.printf("", format, args...) }

// Warnf prints "prog: warning: ..." for the first MaxWarnings calls and only
// counts the rest; Summary reports how many were not shown.
func (u *UI) Warnf(format string, args ...any) {
	u.mu.Lock()
	u.warnings++
	n, max := u.warnings, u.MaxWarnings
	u.mu.Unlock()
	if max == 0 {
		max = 20
	}
	if n <= max {
		u.printf("warning: ", format, args...)
	}
}

// Warnings returns how many warnings were issued.
func (u *UI) Warnings() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.warnings
}

// Summary prints how many warnings were suppressed, if any.
func (u *UI) Summary() {
	u.mu.Lock()
	n, max := u.warnings, u.MaxWarnings
	u.mu.Unlock()
	if max == 0 {
		max = 20
	}
	if n > max {
		u.printf("warning: ", "%d more warnings not shown (%d in all)", n-max, n)
	}
}

// Options every command embeds.
type Common struct {
	Version bool `short:"V" long:"version" description:"print the version and exit"`
}

// Parse parses args into opts (a struct with go-flags tags that embeds
// Common). It returns the positional arguments, and done=true with an exit
// code when the program should stop now: help (0), version (0), or a usage
// error (2, already reported with a hint).
func (u *UI) Parse(opts any, usage string, args []string, stdout io.Writer) (rest []string, done bool, code int) {
	p := flags.NewParser(opts, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = u.Prog
	p.Usage = usage
	rest, err := p.ParseArgs(args)
	if err != nil {
		var fe *flags.Error
		if errors.As(err, &fe) && fe.Type == flags.ErrHelp {
			p.WriteHelp(stdout)
			return nil, true, ExitOK
		}
		msg := err.Error()
		msg = strings.TrimSuffix(strings.SplitN(msg, "\n", 2)[0], ".")
		return nil, true, u.Usagef("%s", lowerFirst(msg))
	}
	if c, ok := commonOf(opts); ok && c.Version {
		fmt.Fprintf(stdout, "%s %s\n", u.Prog, Version)
		return nil, true, ExitOK
	}
	return rest, false, ExitOK
}

type hasCommon interface{ common() *Common }

func (c *Common) common() *Common { return c }

func commonOf(opts any) (*Common, bool) {
	if h, ok := opts.(hasCommon); ok {
		return h.common(), true
	}
	return nil, false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// IsTerminal reports whether f is a terminal, where output should be
// line-buffered. A character device is not enough: /dev/null is one.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && isTTY(f)
}
