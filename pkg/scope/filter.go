package scope

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nfr-project/nfr/pkg/event"
)

// Filter applies a scope to event lines. Its scope can be replaced while it
// runs (SetScope, for SIGHUP); everything else belongs to the one goroutine
// that calls Line or Run.
type Filter struct {
	// Warn, if set, receives one message per bad line, naming file and line.
	Warn func(msg string)

	// Workers is how many goroutines Run filters with; 0 means GOMAXPROCS.
	Workers int

	scope atomic.Pointer[Scope]
	stats stats
	lf    lineFilter
	pool  sync.Pool // of *batch
}

// lineFilter is what one goroutine needs to filter lines.
type lineFilter struct {
	f       fields
	buf     []byte // the output line
	nameBuf []byte
	srcBuf  []byte
	cached  *Scope
	arrays  map[groupSet][]byte // encoded "groups" values for cached
}

func newLineFilter() *lineFilter {
	return &lineFilter{nameBuf: make([]byte, 0, 1024), srcBuf: make([]byte, 0, 64)}
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
	f := &Filter{lf: *newLineFilter()}
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
// the next call. An error means the line is bad. Line counts nothing; Run
// keeps the counts.
func (f *Filter) Line(line []byte) ([]byte, Verdict, error) {
	return f.lf.line(f.scope.Load(), line)
}

func (f *lineFilter) line(s *Scope, line []byte) ([]byte, Verdict, error) {
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
		if src, err = event.ParseAddr(b); err != nil {
			return nil, 0, fmt.Errorf("field \"srcIP\": %v", err)
		}
	}
	if fl.dst.ok && kind != KindDNS {
		b, err := fl.dst.str(line, f.srcBuf)
		if err != nil {
			return nil, 0, fmt.Errorf("field \"destIP\": %v", err)
		}
		if dst, err = event.ParseAddr(b); err != nil {
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
		if err := event.CheckName(name); err != nil {
			return nil, 0, fmt.Errorf("name: %v", err)
		}
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

func (f *lineFilter) groupsJSON(s *Scope, g groupSet) []byte {
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
	if _, ok := event.ParseIPv4(h); ok {
		return nil
	}
	return h
}

// Run filters the event lines of r (named name in messages) into w. It
// returns only read and write errors; bad lines are counted and reported
// through Warn, in input order.
//
// One goroutine reads and splits lines into batches, Workers goroutines
// filter batches, and the calling goroutine writes them in order. A batch
// is cut when it is full or when the input has nothing more buffered, so a
// live stream is not held back waiting for a batch to fill.
func (f *Filter) Run(r io.Reader, name string, w *event.Writer) error {
	workers := f.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	todo := make(chan *batch, workers)
	results := make(chan *batch, 2*workers)
	var readErr error
	go func() { // reader
		readErr = f.read(r, name, todo, results)
		close(todo)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lf := newLineFilter()
			for b := range todo {
				b.filter(f, lf, name)
				b.done <- struct{}{}
			}
		}()
	}
	// results holds batches in input order; each is written once filtered.
	var werr error
	for b := range results {
		<-b.done
		if werr == nil {
			werr = f.emit(b, w)
		}
		f.pool.Put(b)
	}
	wg.Wait()
	if readErr != nil {
		return readErr
	}
	return werr
}

const batchLines = 256

// batch is a run of consecutive input lines and, once filtered, the output.
type batch struct {
	in      []byte  // the lines, back to back
	ends    []int   // end of each line in in
	nums    []int64 // line numbers, for messages
	warns   []warning
	out     []byte
	counts  [numVerdicts]int64
	skipped int64 // by the reader
	bad     int64 // by the filter
	done    chan struct{}
}

type warning struct {
	num int64
	msg string
}

func (f *Filter) read(r io.Reader, name string, todo, results chan<- *batch) error {
	defer close(results)
	br := bufio.NewReaderSize(r, 256<<10) // event.NewReader keeps it as is
	rd := event.NewReader(br, name)
	var b *batch
	ship := func() {
		if b != nil && (len(b.ends) > 0 || len(b.warns) > 0) {
			results <- b // order first, then the work
			todo <- b
			b = nil
		}
	}
	get := func() *batch {
		if b == nil {
			b, _ = f.pool.Get().(*batch)
			if b == nil {
				b = &batch{done: make(chan struct{}, 1)}
			}
			b.in, b.ends, b.nums, b.warns, b.out = b.in[:0], b.ends[:0], b.nums[:0], b.warns[:0], b.out[:0]
			b.counts, b.skipped, b.bad = [numVerdicts]int64{}, 0, 0
		}
		return b
	}
	rd.Warn = func(msg string) {
		get()
		b.warns = append(b.warns, warning{rd.Line(), msg})
		b.skipped++
	}
	for {
		line, err := rd.Next()
		if err != nil {
			ship()
			if err == io.EOF {
				return nil
			}
			return err
		}
		get()
		b.in = append(b.in, line...)
		b.ends = append(b.ends, len(b.in))
		b.nums = append(b.nums, rd.Line())
		if len(b.ends) >= batchLines || br.Buffered() == 0 {
			ship()
		}
	}
}

// filter runs the lines of b through lf. Bad lines found here are reported
// after the reader's own (which came earlier in the input).
func (b *batch) filter(f *Filter, lf *lineFilter, name string) {
	s := f.scope.Load()
	start := 0
	for i, end := range b.ends {
		line := b.in[start:end]
		start = end
		out, v, err := lf.line(s, line)
		if err != nil {
			b.bad++
			b.warns = append(b.warns, warning{b.nums[i], name + ":" + strconv.FormatInt(b.nums[i], 10) + ": " + err.Error()})
			continue
		}
		b.counts[v]++
		if out != nil {
			b.out = append(b.out, out...)
			b.out = append(b.out, '\n')
		}
	}
}

func (f *Filter) emit(b *batch, w *event.Writer) error {
	f.stats.read.Add(int64(len(b.ends)) + b.skipped)
	f.stats.bad.Add(b.skipped + b.bad)
	for v, n := range b.counts {
		f.stats.verdicts[v].Add(n)
	}
	if f.Warn != nil {
		slices.SortStableFunc(b.warns, func(x, y warning) int { return int(x.num - y.num) })
		for _, m := range b.warns {
			f.Warn(m.msg)
		}
	}
	if len(b.out) == 0 {
		return nil
	}
	// The batch's lines in one call: WriteLine adds the last newline (and
	// flushes the whole batch when line-buffered).
	return w.WriteLine(b.out[:len(b.out)-1])
}
