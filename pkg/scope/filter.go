package scope

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/nfr-project/nfr/pkg/event"
)

// Filter applies a scope to event lines. Its scope can be replaced while it
// runs (SetScope, for SIGHUP); everything else belongs to the one goroutine
// that calls Line or Run.
type Filter struct {
	// Warn, if set, receives one message per bad line, naming file and line.
	Warn func(msg string)

	scope atomic.Pointer[Scope]
	stats stats

	f       fields
	buf     []byte // the output line
	nameBuf []byte
	srcBuf  []byte
	cached  *Scope
	arrays  map[groupSet][]byte // encoded "groups" values for cached
}

// stats are atomic so that another goroutine may print them (SIGUSR1, or
// an exit on a second interrupt).
type stats struct {
	read, bad atomic.Int64
	verdicts  [numVerdicts]atomic.Int64
}

// Stats are the counts of a Filter.
type Stats struct {
	Read     int64 // event lines read (bad ones included)
	Bad      int64 // lines skipped as bad
	Verdicts [numVerdicts]int64
}

// Kept, Passed and Dropped sum the verdicts.
func (s Stats) Kept() int64   { return s.Verdicts[Keep] }
func (s Stats) Passed() int64 { return s.Verdicts[Pass] }
func (s Stats) Dropped() int64 {
	var n int64
	for v := OutOfScope; v < numVerdicts; v++ {
		n += s.Verdicts[v]
	}
	return n
}

// String formats the counts on one line.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %d, kept %d, dropped %d (", s.Read, s.Kept(), s.Dropped())
	for v := OutOfScope; v < numVerdicts; v++ {
		if v > OutOfScope {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", v, s.Verdicts[v])
	}
	fmt.Fprintf(&b, "), passed %d (unknown type), bad %d", s.Passed(), s.Bad)
	return b.String()
}

// NewFilter returns a Filter applying s.
func NewFilter(s *Scope) *Filter {
	f := &Filter{nameBuf: make([]byte, 0, 1024), srcBuf: make([]byte, 0, 64)}
	f.scope.Store(s)
	return f
}

// SetScope replaces the scope; the next line uses it.
func (f *Filter) SetScope(s *Scope) { f.scope.Store(s) }

// Scope returns the scope in use.
func (f *Filter) Scope() *Scope { return f.scope.Load() }

// Stats returns the counts so far.
func (f *Filter) Stats() Stats {
	s := Stats{Read: f.stats.read.Load(), Bad: f.stats.bad.Load()}
	for i := range s.Verdicts {
		s.Verdicts[i] = f.stats.verdicts[i].Load()
	}
	return s
}

// Line decides one event line. For Keep it returns the line with "groups"
// set, for Pass the line itself, otherwise nil. The result is valid until
// the next call. An error means the line is bad (and is not counted as read).
func (f *Filter) Line(line []byte) ([]byte, Verdict, error) {
	s := f.scope.Load()
	fl := &f.f
	if err := fl.scan(line, true); err != nil {
		return nil, 0, err
	}
	if !fl.typ.ok {
		return nil, 0, fmt.Errorf("no \"type\"")
	}
	kind := KindOf(string(line[fl.typ.start:fl.typ.end]))
	if fl.typ.escaped {
		t, err := fl.typ.str(line, f.nameBuf)
		if err != nil {
			return nil, 0, fmt.Errorf("field \"type\": %v", err)
		}
		kind = KindOf(string(t))
	}
	if kind == KindOther {
		return line, Pass, nil
	}
	var src, dst netip.Addr
	if fl.src.ok {
		b, err := fl.src.str(line, f.srcBuf)
		if err != nil {
			return nil, 0, fmt.Errorf("field \"srcIP\": %v", err)
		}
		if src, err = parseAddr(b); err != nil {
			return nil, 0, fmt.Errorf("field \"srcIP\": %v", err)
		}
	}
	if fl.dst.ok && kind != KindDNS {
		b, err := fl.dst.str(line, f.srcBuf)
		if err != nil {
			return nil, 0, fmt.Errorf("field \"destIP\": %v", err)
		}
		if dst, err = parseAddr(b); err != nil {
			return nil, 0, fmt.Errorf("field \"destIP\": %v", err)
		}
	}
	var ns span
	switch kind {
	case KindDNS:
		ns = fl.query
	case KindHTTP:
		ns = fl.host
	case KindTLS:
		ns = fl.sni
	}
	var name []byte
	if ns.ok {
		b, err := ns.str(line, f.nameBuf)
		if err != nil {
			return nil, 0, fmt.Errorf("name: %v", err)
		}
		if kind == KindHTTP {
			b = hostName(b)
		}
		name = normName(f.nameBuf[:0], b)
	}
	g, v := s.Match(kind, src, dst, name)
	if v != Keep {
		return nil, v, nil
	}
	arr := f.groupsJSON(s, g)
	if fl.groups.ok {
		f.buf = event.SetField(f.buf[:0], line, "groups", arr)
		return f.buf, Keep, nil
	}
	f.buf = append(f.buf[:0], line[:fl.end]...)
	f.buf = append(f.buf, `,"groups":`...)
	f.buf = append(f.buf, arr...)
	f.buf = append(f.buf, line[fl.end:]...)
	return f.buf, Keep, nil
}

func (f *Filter) groupsJSON(s *Scope, g groupSet) []byte {
	if f.cached != s {
		f.cached, f.arrays = s, map[groupSet][]byte{}
	}
	b, ok := f.arrays[g]
	if !ok {
		b = s.appendGroups(nil, g)
		f.arrays[g] = b
	}
	return b
}

// hostName strips the port and IPv6 brackets from an HTTP Host value; an
// address literal yields nothing, as there is no name to match.
func hostName(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		return nil
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 {
		if bytes.IndexByte(h[:i], ':') >= 0 {
			return nil // a bare IPv6 address
		}
		h = h[:i]
	}
	if _, ok := parseIPv4(h); ok {
		return nil
	}
	return h
}

// Run filters the event lines of r (named name in messages) into w. It
// returns only read and write errors; bad lines are counted and reported
// through Warn.
func (f *Filter) Run(r io.Reader, name string, w *event.Writer) error {
	rd := event.NewReader(r, name)
	rd.Warn = func(msg string) {
		f.stats.read.Add(1)
		f.stats.bad.Add(1)
		if f.Warn != nil {
			f.Warn(msg)
		}
	}
	for {
		line, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		f.stats.read.Add(1)
		out, v, err := f.Line(line)
		if err != nil {
			f.stats.read.Add(-1) // Skip counts it again
			rd.Skip(err.Error())
			continue
		}
		f.stats.verdicts[v].Add(1)
		if out != nil {
			if err := w.WriteLine(out); err != nil {
				return err
			}
		}
	}
}
