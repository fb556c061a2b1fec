package tail

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/nfr-project/nfr/pkg/cli"
)

// StopOnSignal returns a channel closed on the first SIGINT or SIGTERM (a
// source stops and flushes); a second signal exits at once, and SIGHUP is
// ignored: the rule of cli.Interrupts.
func StopOnSignal() <-chan struct{} {
	stop := make(chan struct{})
	var once sync.Once
	in := &cli.Interrupts{First: func() { once.Do(func() { close(stop) }) }}
	in.Watch(nil)
	return stop
}

// Counts formats a count per name as "a 1, b 2", sorted by name.
func Counts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}

// A LineError is a malformed line that stops a --strict run.
type LineError struct {
	Name string
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }
