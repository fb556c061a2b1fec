// Package tail reads log files line by line for the parsers: plain or gzip
// (told by magic, not by name), once or followed like `tail -F` across
// growth, rotation by rename and re-create, and truncation; with a state file
// it remembers per file where reading stopped, so a cron job over a log and
// its rotated, maybe compressed, siblings reads every record once; after a
// kill -9 at most the lines since the last checkpoint are read again.
//
// A file is recognised by a hash of its first HeadLen decompressed bytes
// (with device and inode to break ties), so a rename, a copy or gzip keeps
// its identity and an inode re-used for new content loses it. The offset
// saved for a file only covers lines whose events were handed downstream and
// flushed (Options.Sync runs before every save); lines a parser still holds
// (an eve query waiting for its answer, the header of a Zeek log) are saved
// as context and replayed on resume, so nothing is repeated or skipped.
package tail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"
)

// CheckpointLines is the default most lines read between two checkpoints
// (output flushed, then state saved): with the 1 s default of
// Options.SaveEvery, what a reader restarted after kill -9 may repeat.
const CheckpointLines = 64 << 10

// MaxLine is the longest line handed to a Handler; longer lines are skipped
// and reported.
const MaxLine = 1 << 20

// Handler parses the lines of one input.
type Handler interface {
	// Line handles one line without its line ending; an error means the
	// line was malformed and skipped.
	Line(line []byte) error
	// Context returns the lines (newline-terminated) the handler would need
	// to see again to continue where it is; it is saved with the offset.
	Context() []byte
	// Flush emits whatever the handler holds (end of input or idle).
	Flush() error
}

// Options control Run.
type Options struct {
	Follow bool          // keep reading as files grow and rotate
	State  string        // state file path; "" for none
	Poll   time.Duration // how often a follower looks for new data (default 250ms)
	// SaveEvery is the longest a busy reader goes between checkpoints
	// (output flushed, then state saved; default 1s).
	SaveEvery time.Duration
	// SaveLines is the most lines a reader handles between checkpoints
	// (default CheckpointLines). With SaveEvery it bounds what a restart
	// after kill -9 repeats: the output since the last checkpoint.
	SaveLines int64
	// IdleFlush is how long a follower waits without new data before it
	// makes handlers write what they hold (default 2s).
	IdleFlush time.Duration
	// New returns the handler for an input (name "-" is stdin).
	New func(name string) Handler
	// Sync flushes everything emitted so far downstream; it runs before
	// every state save.
	Sync func() error
	// Warn reports a skipped line; a non-nil return stops the run with
	// that error (--strict).
	Warn func(name string, line int64, err error) error
	// Info reports something a person may want to know (rotation,
	// truncation, a file that appeared).
	Info func(msg string)
	// FileError, if set, reports every file that could not be read; Run
	// goes on with the others and returns the first such error.
	FileError func(err error)
	// Tick, if set, is called every few hundred lines and on every poll
	// of a follower, on the goroutine that handles lines, with the counts
	// so far (for SIGUSR1 and --stats-interval).
	Tick func(Stats)
	// Stop, when closed, makes Run finish the current line, flush, save
	// and return.
	Stop  <-chan struct{}
	Stdin io.Reader
}

// Stats counts what Run read.
type Stats struct {
	Files   int64 // inputs opened
	Lines   int64 // lines handed to handlers
	Bytes   int64 // bytes consumed (decompressed)
	Skipped int64 // lines reported through Warn
}

// An OpenError is a file that could not be read; Run carries on with the
// other files and returns the first such error at the end.
type OpenError struct {
	Name string
	Err  error
}

func (e *OpenError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }
func (e *OpenError) Unwrap() error { return e.Err }

type input struct {
	name     string
	h        Handler
	f        *os.File
	r        *bufio.Reader
	gz       bool
	stdin    bool
	dev, ino uint64
	off      int64
	line     int64
	head     []byte
	partial  []byte
	tooLong  bool
	eof      bool // stdin or a finished file: nothing more will come
	trailing bool // gzip trailing garbage reported
}

type runner struct {
	o        Options
	st       *State
	used     map[*Entry]bool
	finished []*Entry // files read to the end and closed (rotated away)
	stats    Stats
	firstErr error
	// inputs are what a checkpoint saves (nil entries are skipped);
	// sinceSave counts lines since the last one, made at lastSave.
	inputs    []*input
	sinceSave int64
	lastSave  time.Time
}

// Run reads the named files ("-" or none is stdin) and hands their lines to
// handlers from o.New.
func Run(names []string, o Options) (Stats, error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = time.Second
	}
	if o.SaveLines <= 0 {
		o.SaveLines = CheckpointLines
	}
	if o.IdleFlush <= 0 {
		o.IdleFlush = 2 * time.Second
	}
	if o.Sync == nil {
		o.Sync = func() error { return nil }
	}
	if o.Info == nil {
		o.Info = func(string) {}
	}
	ru := &runner{o: o, used: map[*Entry]bool{}, lastSave: time.Now()}
	if o.State != "" {
		st, err := LoadState(o.State)
		if err != nil {
			return ru.stats, err
		}
		ru.st = st
	} else {
		ru.st = &State{Version: 1}
	}
	var err error
	if o.Follow {
		err = ru.follow(names)
	} else {
		err = ru.once(names)
	}
	if err == nil {
		err = ru.firstErr
	}
	return ru.stats, err
}

func (ru *runner) stopped() bool {
	if ru.o.Stop == nil {
		return false
	}
	select {
	case <-ru.o.Stop:
		return true
	default:
		return false
	}
}

// once reads every file to its end, then saves the state.
func (ru *runner) once(names []string) error {
	var done []*input
	var fatal error
	for _, n := range names {
		if ru.stopped() {
			break
		}
		in, err := ru.open(n)
		if err != nil {
			if ru.rotatedAway(n, names, err) {
				continue
			}
			ru.fail(err)
			continue
		}
		done = append(done, in)
		ru.inputs = done
		err = ru.read(in, true)
		if err == nil {
			err = in.h.Flush()
		}
		in.close()
		if err != nil {
			var oe *OpenError
			if errors.As(err, &oe) {
				ru.fail(err)
				continue
			}
			fatal = err
			break
		}
	}
	if err := ru.o.Sync(); err != nil {
		return err
	}
	if fatal != nil {
		return fatal
	}
	return ru.save(done)
}

// rotatedAway tells whether name, which could not be opened, is a rotated
// sibling of another named file (dns.log.1.gz next to dns.log) that does
// not exist yet: normal before the first rotation, so only reported as
// information.
func (ru *runner) rotatedAway(name string, names []string, err error) bool {
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	for _, n := range names {
		if n != name && n != "-" && isRotationOf(name, n) {
			ru.o.Info(fmt.Sprintf("%s: not there (yet): %s has not been rotated", name, n))
			return true
		}
	}
	return false
}

// isRotationOf tells whether name is what logrotate or Zeek's archiver
// makes of base: base.1, base.2.gz, base.gz, base-20261127, base-20261127.gz.
func isRotationOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base)
	if !ok {
		return false
	}
	if rest == ".gz" {
		return true
	}
	if len(rest) < 2 || (rest[0] != '.' && rest[0] != '-') {
		return false
	}
	rest = strings.TrimSuffix(rest[1:], ".gz")
	if rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (ru *runner) fail(err error) {
	if ru.o.FileError != nil {
		ru.o.FileError(err)
	}
	if ru.firstErr == nil {
		ru.firstErr = err
	}
}

func (in *input) close() {
	if in.f != nil && !in.stdin {
		in.f.Close()
	}
	in.f = nil
}

// open opens name, detects gzip, and positions it where the state says.
func (ru *runner) open(name string) (*input, error) {
	in := &input{name: name}
	ru.stats.Files++
	if name == "-" {
		in.stdin = true
		src := ru.o.Stdin
		if src == nil {
			src = os.Stdin
		}
		br := bufio.NewReaderSize(src, 256<<10)
		if err := in.setReader(br); err != nil {
			return nil, &OpenError{"-", err}
		}
		in.h = ru.o.New(name)
		return in, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, &OpenError{name, errors.Unwrap(err)}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &OpenError{name, err}
	}
	if fi.IsDir() {
		f.Close()
		return nil, &OpenError{name, errors.New("is a directory")}
	}
	in.f = f
	in.dev, in.ino = fileID(fi)
	if err := in.setReader(bufio.NewReaderSize(f, 256<<10)); err != nil {
		f.Close()
		return nil, &OpenError{name, err}
	}
	in.h = ru.o.New(name)
	head, _ := in.r.Peek(HeadLen)
	in.head = append([]byte(nil), head...)
	e := ru.st.match(in.head, in.dev, in.ino, ru.used)
	if e == nil {
		return in, nil
	}
	ru.used[e] = true
	if !in.gz && fi.Size() < e.Offset {
		ru.o.Info(fmt.Sprintf("%s: shorter than when last read, reading from the start", name))
		return in, nil
	}
	if err := in.skipTo(e.Offset); err != nil {
		// A compressed copy shorter than the offset: not the same file.
		in.close()
		ru.o.Info(fmt.Sprintf("%s: shorter than when last read, reading from the start", name))
		return ru.reopen(name)
	}
	in.line = e.Line
	for ctx := e.Context; len(ctx) > 0; {
		var l []byte
		l, ctx, _ = bytes.Cut(ctx, []byte{'\n'})
		in.h.Line(l) // replayed lines were checked when first read
	}
	return in, nil
}

// reopen opens name from the start, ignoring the state.
func (ru *runner) reopen(name string) (*input, error) {
	st := ru.st
	ru.st = &State{Version: 1}
	defer func() { ru.st = st }()
	ru.stats.Files--
	return ru.open(name)
}

func (in *input) setReader(br *bufio.Reader) error {
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := newGzipStream(br)
		if err != nil {
			return err
		}
		in.gz = true
		in.r = bufio.NewReaderSize(zr, 256<<10)
		return nil
	}
	in.r = br
	return nil
}

// skipTo moves past the first off bytes of the (decompressed) content.
func (in *input) skipTo(off int64) error {
	if !in.gz && !in.stdin {
		if _, err := in.f.Seek(off, io.SeekStart); err != nil {
			return err
		}
		in.r.Reset(in.f)
		in.off = off
		return nil
	}
	for off > in.off {
		n := off - in.off
		if n > 1<<30 {
			n = 1 << 30
		}
		d, err := in.r.Discard(int(n))
		in.off += int64(d)
		if err != nil {
			return err
		}
	}
	return nil
}

// read hands every complete line to the handler until the end of the data
// available now. With final, an unterminated last line is handed over too
// (the file is complete: compressed, stdin, or no state to resume from).
func (ru *runner) read(in *input, final bool) error {
	n := 0
	for {
		// stdin is drained to its end even when asked to stop, so a
		// pipeline's last records are not lost.
		if n++; n&1023 == 0 && !in.stdin && ru.stopped() {
			return nil
		}
		frag, err := in.r.ReadSlice('\n')
		if errors.Is(err, ErrGzipTrailing) {
			// gzip -d would go on, ignoring it; so do we, saying so once.
			if ru.o.Warn != nil && !in.trailing {
				in.trailing = true
				if werr := ru.o.Warn(in.name, in.line+1, err); werr != nil {
					return werr
				}
			}
			err = io.EOF
		}
		if err == bufio.ErrBufferFull || (err == io.EOF && len(frag) > 0) {
			if !in.tooLong && len(in.partial)+len(frag) > MaxLine {
				in.tooLong = true
				in.off += int64(len(in.partial))
				ru.stats.Bytes += int64(len(in.partial))
				in.partial = in.partial[:0]
			}
			if in.tooLong {
				in.off += int64(len(frag))
				ru.stats.Bytes += int64(len(frag))
			} else {
				in.partial = append(in.partial, frag...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
		}
		if err == io.EOF {
			if final && (len(in.partial) > 0 || in.tooLong) && (in.gz || in.stdin || ru.o.State == "") {
				if err := ru.line(in, nil); err != nil {
					return err
				}
			}
			return nil
		}
		if err != nil {
			return &OpenError{in.name, err}
		}
		if err := ru.line(in, frag); err != nil {
			return err
		}
	}
}

// line completes the line made of in.partial and frag.
func (ru *runner) line(in *input, frag []byte) error {
	l := frag
	if len(in.partial) > 0 {
		in.partial = append(in.partial, frag...)
		l = in.partial
	}
	if !in.tooLong {
		in.off += int64(len(l))
		ru.stats.Bytes += int64(len(l))
	} else {
		in.off += int64(len(frag))
		ru.stats.Bytes += int64(len(frag))
	}
	in.line++
	tooLong := in.tooLong
	in.partial = in.partial[:0]
	in.tooLong = false
	var err error
	if tooLong {
		err = fmt.Errorf("line longer than %d bytes", MaxLine)
	} else {
		l = bytes.TrimSuffix(l, []byte{'\n'})
		l = bytes.TrimSuffix(l, []byte{'\r'})
		ru.stats.Lines++
		err = in.h.Line(l)
	}
	if err != nil {
		ru.stats.Skipped++
		if ru.o.Warn != nil {
			if err := ru.o.Warn(in.name, in.line, err); err != nil {
				return err
			}
		}
	}
	if ru.o.Tick != nil && in.line&255 == 0 {
		ru.o.Tick(ru.stats)
	}
	if ru.sinceSave++; ru.o.State != "" && (ru.sinceSave >= ru.o.SaveLines ||
		ru.sinceSave&255 == 0 && time.Since(ru.lastSave) >= ru.o.SaveEvery) {
		return ru.checkpoint(ru.inputs, false)
	}
	return nil
}

func (in *input) entry() *Entry {
	if in.stdin || in.off == 0 && len(in.head) == 0 {
		return nil
	}
	head := in.head
	if len(head) < HeadLen && !in.gz && in.f != nil {
		buf := make([]byte, HeadLen)
		if n, _ := in.f.ReadAt(buf, 0); n > len(head) {
			head = buf[:n]
			in.head = head
		}
	}
	if len(head) == 0 {
		return nil
	}
	return &Entry{
		Name: in.name, Dev: in.dev, Ino: in.ino, Offset: in.off, Line: in.line,
		HeadLen: len(head), Head: hashHead(head), Context: append([]byte(nil), in.h.Context()...),
		Seen: time.Now().Unix(),
	}
}

// save writes the state for the given inputs and the finished ones,
// keeping the entries of files this run did not read for KeepUnseen.
func (ru *runner) save(inputs []*input) error {
	if ru.o.State == "" {
		return nil
	}
	st := &State{Version: 1}
	for _, in := range inputs {
		if e := in.entry(); e != nil {
			st.Files = append(st.Files, e)
		}
	}
	st.Files = append(st.Files, ru.finished...)
	now := time.Now()
	for _, e := range ru.st.Files {
		if !ru.used[e] && now.Sub(time.Unix(e.Seen, 0)) < KeepUnseen {
			st.Files = append(st.Files, e)
		}
	}
	if len(st.Files) > MaxEntries {
		sort.SliceStable(st.Files, func(i, j int) bool { return st.Files[i].Seen > st.Files[j].Seen })
		st.Files = st.Files[:MaxEntries]
	}
	return st.Save(ru.o.State)
}
