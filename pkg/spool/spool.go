// Package spool is nfr-submit's on-disk queue of event batches. An event
// counts as taken once it is written to the spool; a batch leaves the spool
// only when the caller says the server accepted it (Done). A process killed
// at any moment loses nothing that was written: on the next Open, segments
// that were still being filled are cut at their last whole record and
// queued as batches.
//
// The spool is a directory holding one file per batch, named
// TYPE-CREATED-RANDOM.open while it is being filled and .ready once closed.
// The name without its suffix is the batch id sent to the server, the same
// across retries and restarts so the server can drop a replay. Batches the
// server refused outright are moved to rejected/ and kept for a person to
// look at. A lock file keeps a second process out.
//
// Fsync policy (Options.Fsync): "always" syncs every write and the directory,
// "batch" syncs a batch when it is closed (before it is sent), "never"
// leaves it to the kernel. All three survive a killed process, since written
// data is in the kernel; only "always" survives a power cut without losing
// the batch being filled.
package spool

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures Open.
type Options struct {
	Dir       string
	Limit     int64  // bytes of spooled data above which Append waits
	Fsync     string // always, batch (default) or never
	MaxEvents int    // events per batch
	MaxBytes  int64  // NDJSON body bytes per batch
	// Warn receives messages for people: recovered segments, a full disk.
	Warn func(msg string)
	// Info receives messages about recovering from a problem.
	Info func(msg string)
}

// A Batch is one closed segment waiting to be sent.
type Batch struct {
	ID     string // TYPE-CREATED-RANDOM
	Type   string
	Events int
	Bytes  int64 // NDJSON body size
	path   string
	size   int64 // on disk
}

type segment struct {
	typ     string
	id      string
	f       *os.File // nil until the first write
	first   time.Time
	events  int   // on disk
	body    int64 // NDJSON bytes of all events, written or not
	disk    int64 // bytes written to f
	pending []byte
	pendEv  int
}

// Spool is safe for concurrent use: one goroutine appends, others take
// batches and mark them done.
type Spool struct {
	o    Options
	lock *os.File

	mu       sync.Mutex
	cond     *sync.Cond
	open     map[string]*segment
	backlog  []*segment // closed while the disk was full; Flush writes them
	ready    []*Batch
	inflight int
	size     int64 // bytes on disk plus bytes pending in memory
	events   int64 // events not yet done
	closed   bool
	stuck    bool // last write failed; input is paused
	// badRecords counts records Open moved to rejected/ as unreadable.
	badRecords int64
}

// ErrClosed is returned by calls blocked when Close is called.
var ErrClosed = errors.New("spool closed")

// Open opens (creating it, mode 0700) the spool directory and recovers what
// a previous process left.
func Open(o Options) (*Spool, error) {
	if o.Fsync == "" {
		o.Fsync = "batch"
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 5000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	if o.Limit <= 0 {
		o.Limit = 1 << 30
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if o.Info == nil {
		o.Info = func(string) {}
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := checkPrivate(o.Dir); err != nil {
		return nil, err
	}
	lock, err := Lock(filepath.Join(o.Dir, "lock"))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("spool %s is in use by another process", o.Dir)
		}
		return nil, err
	}
	s := &Spool{o: o, lock: lock, open: map[string]*segment{}}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// checkPrivate refuses a spool directory that someone else can write to,
// as ssh refuses a loose key file: every batch in it is sent under this
// sensor's key.
func checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("spool %s is not a directory", dir)
	}
	if m := fi.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("spool %s can be written by others (mode %04o), and what they put there would be sent under this sensor's key; run: chmod go-w %s", dir, m, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("spool %s belongs to uid %d, not to this user (uid %d), and what its owner puts there would be sent under this sensor's key; run: chown %d %s", dir, st.Uid, os.Geteuid(), os.Geteuid(), dir)
	}
	return nil
}

// recover queues the .ready segments and closes the .open ones a killed
// process left, cutting torn records off.
func (s *Spool) recover() error {
	ents, err := os.ReadDir(s.o.Dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".split") {
			os.Remove(filepath.Join(s.o.Dir, e.Name())) // a split cut short; its batch is still whole
			continue
		}
		if e.Type().IsRegular() && (strings.HasSuffix(e.Name(), ".open") || strings.HasSuffix(e.Name(), ".ready")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(s.o.Dir, name)
		id := strings.TrimSuffix(strings.TrimSuffix(name, ".open"), ".ready")
		typ, _, ok := strings.Cut(id, "-")
		if !ok || typ == "" {
			s.o.Warn(fmt.Sprintf("%s: not a spool segment name, left alone", path))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		bt := &Batch{ID: id, Type: typ, path: path}
		var bads []BadRecord
		var ce *CorruptError
		err = Scan(b, func(p []byte) { bt.Events++; bt.Bytes += int64(len(p)) + 1 },
			func(r BadRecord) { bads = append(bads, r) })
		errors.As(err, &ce)
		if len(bads) > 0 {
			nb, cut, rerr := s.rejectRecords(path, id, b, bads, err)
			if rerr != nil {
				return rerr
			}
			b = nb
			if ce != nil {
				ce.Offset = cut
			}
		}
		good := int64(len(b))
		switch {
		case errors.Is(err, ErrNoMagic):
			s.o.Warn(fmt.Sprintf("%s: not a spool segment (bad magic), left alone", path))
			continue
		case errors.As(err, &ce):
			good = ce.Offset
			if strings.HasSuffix(name, ".ready") || int64(len(b))-good > 0 && ce.Reason == "checksum mismatch" {
				kept := filepath.Join(s.o.Dir, "rejected", fmt.Sprintf("%s@%d.bad", id, good))
				if err := os.MkdirAll(filepath.Dir(kept), 0o700); err != nil {
					return err
				}
				if err := s.writeDurable(kept, b[good:]); err != nil {
					return err
				}
				s.badRecords++
				s.o.Warn(fmt.Sprintf("%s: %v; the %d bytes from there to the end cannot be read and are kept in %s", path, ce, int64(len(b))-good, kept))
			}
			if err := os.Truncate(path, good); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if bt.Events == 0 {
			os.Remove(path)
			continue
		}
		if strings.HasSuffix(name, ".open") {
			if err := s.syncFile(path); err != nil {
				return err
			}
			rp := strings.TrimSuffix(path, ".open") + ".ready"
			if err := os.Rename(path, rp); err != nil {
				return err
			}
			bt.path = rp
		}
		bt.size = good
		s.ready = append(s.ready, bt)
		s.size += good
		s.events += int64(bt.Events)
	}
	return s.syncDir()
}

// rejectRecords moves the bad records of the segment at path to rejected/
// (ID@OFFSET.bad, with the reason in ID@OFFSET.reason) and rewrites the
// segment with the good records only, so one bad byte costs one record, not
// the rest of the batch. tailErr is what Scan said about the segment's end;
// the returned cut is where a torn tail starts in the new bytes (0: none).
func (s *Spool) rejectRecords(path, id string, b []byte, bads []BadRecord, tailErr error) (nb []byte, cut int64, err error) {
	dir := filepath.Join(s.o.Dir, "rejected")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, err
	}
	end := int64(len(b))
	var ce *CorruptError
	if errors.As(tailErr, &ce) {
		end = ce.Offset
	}
	for _, r := range bads {
		base := filepath.Join(dir, fmt.Sprintf("%s@%d", id, r.Offset))
		if err := s.writeDurable(base+".bad", b[r.Offset:r.End]); err != nil {
			return nil, 0, err
		}
		reason := fmt.Sprintf("%s: offset %d: %s; %d bytes skipped, the records around them were kept\n", path, r.Offset, r.Reason, r.End-r.Offset)
		if err := s.writeDurable(base+".reason", []byte(reason)); err != nil {
			return nil, 0, err
		}
		s.o.Warn(fmt.Sprintf("%s: offset %d: %s; that record (%d bytes) is skipped and kept in %s.bad, the rest of the batch is sent", path, r.Offset, r.Reason, r.End-r.Offset, base))
		s.badRecords++
	}
	nb = []byte(magic)
	Scan(b[:end], func(p []byte) { nb = appendRecord(nb, p) }, func(BadRecord) {})
	if end < int64(len(b)) {
		cut = int64(len(nb))
		nb = append(nb, b[end:]...)
	}
	tmp := path + ".split" // removed by the next Open if a crash cuts this short
	if err := s.writeDurable(tmp, nb); err != nil {
		os.Remove(tmp)
		return nil, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, 0, err
	}
	return nb, cut, s.syncDir()
}

// BadRecords returns how many records Open found unreadable in the middle
// of a batch and moved to rejected/.
func (s *Spool) BadRecords() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badRecords
}

func (s *Spool) syncFile(path string) error {
	if s.o.Fsync == "never" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (s *Spool) syncDir() error {
	if s.o.Fsync == "never" {
		return nil
	}
	return SyncDir(s.o.Dir)
}

// SyncDir fsyncs a directory so renames and removals in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append adds one event line of type typ. It waits while the spool is over
// its limit (backpressure). The line is copied. It is in memory until the
// next Flush, which the caller does before it blocks reading more input.
func (s *Spool) Append(typ string, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.size >= s.o.Limit {
		if err := s.waitRoom(); err != nil {
			return err
		}
	}
	seg := s.open[typ]
	if seg != nil && seg.body+int64(len(line))+1 > s.o.MaxBytes {
		// Keep batches within MaxBytes: close this one first.
		if err := s.sealLocked(seg); err != nil {
			return err
		}
		seg = nil
	}
	if seg == nil {
		seg = &segment{typ: typ, id: newID(typ), first: time.Now()}
		s.open[typ] = seg
	}
	if seg.pending == nil {
		seg.pending = make([]byte, 0, 64<<10)
	}
	n := len(seg.pending)
	seg.pending = appendRecord(seg.pending, line)
	seg.pendEv++
	seg.body += int64(len(line)) + 1
	s.size += int64(len(seg.pending) - n)
	s.events++
	if seg.events+seg.pendEv >= s.o.MaxEvents {
		return s.sealLocked(seg)
	}
	if len(seg.pending) >= 256<<10 {
		cur, err := s.writeLocked(seg)
		s.open[typ] = cur
		return deferWrite(err)
	}
	return nil
}

// waitRoom closes every open segment so it can be sent, then waits for Done
// to free space.
func (s *Spool) waitRoom() error {
	for _, typ := range sortedKeys(s.open) {
		if err := s.sealLocked(s.open[typ]); err != nil {
			return err
		}
	}
	for s.size >= s.o.Limit && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Flush writes every event appended so far to disk. When the disk is full
// it says so once, closes what is on disk so it can be sent, and waits,
// retrying every second, until the write succeeds or the spool is closed.
func (s *Spool) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var failedAt time.Time
	for {
		err := s.flushLocked()
		if err == nil {
			if s.stuck {
				s.stuck = false
				s.o.Info(fmt.Sprintf("spool %s: writing again after %s", s.o.Dir, time.Since(failedAt).Round(time.Second)))
			}
			return nil
		}
		if s.closed {
			return err
		}
		if !s.stuck {
			s.stuck = true
			failedAt = time.Now()
			ev, by := s.pendingLocked()
			s.o.Warn(fmt.Sprintf("spool %s: cannot store %d events (%d bytes): %v; input paused until there is room",
				s.o.Dir, ev, by, cause(err)))
		}
		t := time.AfterFunc(time.Second, s.cond.Broadcast)
		s.cond.Wait()
		t.Stop()
	}
}

// Stuck reports whether writes are failing and input is paused.
func (s *Spool) Stuck() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stuck
}

func (s *Spool) pendingLocked() (events int, bytes int) {
	for _, seg := range s.open {
		events += seg.pendEv
		bytes += len(seg.pending)
	}
	for _, seg := range s.backlog {
		events += seg.pendEv
		bytes += len(seg.pending)
	}
	return
}

// flushLocked writes and closes the backlog, then writes the open segments.
func (s *Spool) flushLocked() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	keep(s.backlogLocked())
	for _, typ := range sortedKeys(s.open) {
		cur, err := s.writeLocked(s.open[typ])
		s.open[typ] = cur
		keep(err)
	}
	return first
}

func sortedKeys(m map[string]*segment) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// backlogLocked writes and closes the segments parked while the disk was
// full.
func (s *Spool) backlogLocked() error {
	var first error
	var kept []*segment
	for _, seg := range s.backlog {
		cur, err := s.writeLocked(seg)
		if err == nil {
			err = s.closeLocked(cur)
		} else {
			kept = append(kept, cur)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	s.backlog = kept
	return first
}

// writeLocked writes seg's pending records. On failure the file is cut back
// to its last good record, and the part on disk, if any, is closed as a
// batch (so sending it frees space); it returns the segment that now holds
// the records not written: seg, or a new one.
func (s *Spool) writeLocked(seg *segment) (*segment, error) {
	if len(seg.pending) == 0 {
		return seg, nil
	}
	err := s.writeSeg(seg)
	if err == nil {
		seg.events += seg.pendEv
		seg.disk += int64(len(seg.pending))
		seg.pending, seg.pendEv = seg.pending[:0], 0
		return seg, nil
	}
	cur := seg
	if seg.f != nil {
		seg.f.Truncate(seg.disk)
		if seg.events > 0 {
			cur = &segment{typ: seg.typ, id: newID(seg.typ), first: seg.first, pending: seg.pending, pendEv: seg.pendEv}
			Records(append([]byte(magic), cur.pending...), func(p []byte) { cur.body += int64(len(p)) + 1 })
			seg.pending, seg.pendEv = nil, 0
			seg.body = -1 // recomputed from the file
			if serr := s.closeLocked(seg); serr != nil {
				s.o.Warn(fmt.Sprintf("spool: closing %s: %v", seg.id, serr))
			}
		} else {
			seg.f.Close()
			os.Remove(s.path(seg, ".open"))
			s.size -= seg.disk
			seg.f, seg.disk = nil, 0
		}
	}
	return cur, &writeError{fmt.Errorf("spool %s: %w", s.o.Dir, err)}
}

// writeError is a failed write of pending records, which stay in memory
// for Flush to retry.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// deferWrite drops a write error, which Flush reports and retries.
func deferWrite(err error) error {
	var we *writeError
	if errors.As(err, &we) {
		return nil
	}
	return err
}

func (s *Spool) path(seg *segment, suffix string) string {
	return filepath.Join(s.o.Dir, seg.id+suffix)
}

func (s *Spool) writeSeg(seg *segment) error {
	if seg.f == nil {
		f, err := os.OpenFile(s.path(seg, ".open"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(magic)); err != nil {
			f.Close()
			os.Remove(s.path(seg, ".open"))
			return err
		}
		seg.f, seg.disk = f, int64(len(magic))
		s.size += int64(len(magic))
		if s.o.Fsync == "always" {
			if err := s.syncDir(); err != nil {
				return err
			}
		}
	}
	if _, err := seg.f.Write(seg.pending); err != nil {
		return err
	}
	if s.o.Fsync == "always" {
		return seg.f.Sync()
	}
	return nil
}

// sealLocked takes the open segment seg out of the open set, writes it out,
// closes it and queues it as a batch. When its records cannot be written
// (a full disk) it is parked in the backlog, whole, for Flush to write and
// close, so that no batch grows past its limits while the disk is full.
func (s *Spool) sealLocked(seg *segment) error {
	if s.open[seg.typ] == seg {
		delete(s.open, seg.typ)
	}
	cur, err := s.writeLocked(seg)
	if err != nil {
		if deferWrite(err) == nil {
			s.backlog = append(s.backlog, cur)
			return nil
		}
		return err
	}
	return s.closeLocked(cur)
}

// closeLocked closes a fully written segment and queues it as a batch.
func (s *Spool) closeLocked(seg *segment) error {
	if seg.f == nil {
		return nil
	}
	if s.o.Fsync != "never" {
		if err := seg.f.Sync(); err != nil {
			return err
		}
	}
	if err := seg.f.Close(); err != nil {
		return err
	}
	rp := s.path(seg, ".ready")
	if err := os.Rename(s.path(seg, ".open"), rp); err != nil {
		return err
	}
	if err := s.syncDir(); err != nil {
		return err
	}
	body := seg.body
	if body < 0 {
		body = 0
		b, _ := os.ReadFile(rp)
		Records(b, func(p []byte) { body += int64(len(p)) + 1 })
	}
	s.ready = append(s.ready, &Batch{ID: seg.id, Type: seg.typ, Events: seg.events, Bytes: body, path: rp, size: seg.disk})
	s.cond.Broadcast()
	return nil
}

// SealOlder closes the open segments whose first event is older than age,
// so a slow stream's events still leave within age.
func (s *Spool) SealOlder(age time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Retry what a full disk held back, even when no input comes to
	// trigger a Flush (at the end of input).
	first := deferWrite(s.backlogLocked())
	for _, typ := range sortedKeys(s.open) {
		seg := s.open[typ]
		if time.Since(seg.first) >= age {
			if err := s.sealLocked(seg); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// SealAll closes every open segment, at the end of input.
func (s *Spool) SealAll() error { return s.SealOlder(-1) }

// Next waits for a batch to send and takes it; the caller must pass it to
// Done, Reject or Release.
func (s *Spool) Next(ctx context.Context) (*Batch, error) {
	defer s.wakeOnDone(ctx)()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.ready) == 0 {
		if s.closed {
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.cond.Wait()
	}
	b := s.ready[0]
	s.ready = s.ready[1:]
	s.inflight++
	return b, nil
}

// Body returns the batch's events as an NDJSON body appended to dst. The
// segment is read into dst and turned into NDJSON in place (a record's
// 8-byte header becomes a 1-byte newline, so writing never overtakes
// reading): no allocation once dst is large enough.
func (s *Spool) Body(b *Batch, dst []byte) ([]byte, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return dst, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = grow(dst, int(fi.Size()))
	raw := dst[start : start+int(fi.Size())]
	if _, err := io.ReadFull(f, raw); err != nil {
		return dst[:start], fmt.Errorf("%s: %w", b.path, err)
	}
	w := 0
	err = Records(raw, func(p []byte) {
		w += copy(raw[w:], p)
		raw[w] = '\n'
		w++
	})
	if err != nil {
		return dst[:start], fmt.Errorf("%s: %w", b.path, err)
	}
	return dst[:start+w], nil
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// Done removes a batch the server accepted.
func (s *Spool) Done(b *Batch) error {
	err := os.Remove(b.path)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		err = s.syncDir()
	}
	s.release(b, true)
	return err
}

// Split replaces a batch of two events or more by two halves, for a server
// that refuses it as too large. The halves' ids derive from the batch's
// (ID+"a", ID+"b"), so a split redone after a crash gives the same ids and
// the server drops what it already has. The halves go to the head of the
// queue; the batch is removed.
func (s *Spool) Split(b *Batch) ([]*Batch, error) {
	if b.Events < 2 {
		return nil, fmt.Errorf("batch %s has one event; it cannot be split", b.ID)
	}
	raw, err := os.ReadFile(b.path)
	if err != nil {
		return nil, err
	}
	var recs [][]byte
	if err := Records(raw, func(p []byte) { recs = append(recs, p) }); err != nil {
		return nil, fmt.Errorf("%s: %w", b.path, err)
	}
	parts := [][][]byte{recs[:len(recs)/2], recs[len(recs)/2:]}
	var halves []*Batch
	var queue []*Batch
	for i, part := range parts {
		h := &Batch{ID: b.ID + string(rune('a'+i)), Type: b.Type, Events: len(part)}
		h.path = filepath.Join(s.o.Dir, h.ID+".ready")
		buf := []byte(magic)
		for _, p := range part {
			buf = appendRecord(buf, p)
			h.Bytes += int64(len(p)) + 1
		}
		h.size = int64(len(buf))
		halves = append(halves, h)
		if _, err := os.Stat(h.path); err == nil {
			continue // made by a split a crash cut short, and queued when the spool opened
		}
		tmp := strings.TrimSuffix(h.path, ".ready") + ".split"
		if err := s.writeDurable(tmp, buf); err != nil {
			os.Remove(tmp)
			return nil, err
		}
		if err := os.Rename(tmp, h.path); err != nil {
			return nil, err
		}
		queue = append(queue, h)
	}
	if err := os.Remove(b.path); err != nil {
		return nil, err
	}
	if err := s.syncDir(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	s.size -= b.size
	s.events -= int64(b.Events)
	for _, h := range queue {
		s.size += h.size
		s.events += int64(h.Events)
	}
	s.ready = append(queue, s.ready...)
	s.cond.Broadcast()
	return halves, nil
}

func (s *Spool) writeDurable(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if s.o.Fsync != "never" {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// Reject moves a batch the server refused for good to rejected/, where it
// is kept for a person to look at rather than retried forever or dropped.
func (s *Spool) Reject(b *Batch) (string, error) {
	dir := filepath.Join(s.o.Dir, "rejected")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(b.path))
	err := os.Rename(b.path, dst)
	if err == nil {
		err = s.syncDir()
	}
	s.release(b, true)
	return dst, err
}

// Release puts a batch back at the head of the queue (when sending stops
// before it was accepted).
func (s *Spool) Release(b *Batch) { s.release(b, false) }

func (s *Spool) release(b *Batch, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if gone {
		s.size -= b.size
		s.events -= int64(b.Events)
	} else {
		s.ready = append([]*Batch{b}, s.ready...)
	}
	s.cond.Broadcast()
}

// Stats says what the spool holds: events not yet accepted, and their bytes
// on disk or in memory.
func (s *Spool) Stats() (events, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events, s.size
}

// WaitEmpty waits until every event appended has been accepted (or the
// context ends). Call SealAll first, or open segments keep it waiting.
func (s *Spool) WaitEmpty(ctx context.Context) error {
	defer s.wakeOnDone(ctx)()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.events > 0 || s.inflight > 0 {
		if s.closed {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cond.Wait()
	}
	return nil
}

// Close writes what it can, closes the open segments' files (they stay
// .open and are recovered next time) and releases the lock. Calls blocked
// in Append, Flush, Next or WaitEmpty return ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.flushLocked()
	if err != nil {
		ev, by := s.pendingLocked()
		err = fmt.Errorf("%d events (%d bytes) read but not stored are lost: %w", ev, by, err)
	}
	for _, seg := range s.open {
		if seg.f != nil {
			if s.o.Fsync != "never" {
				seg.f.Sync()
			}
			seg.f.Close()
		}
	}
	s.cond.Broadcast()
	s.lock.Close()
	return err
}

func newID(typ string) string {
	var r [8]byte
	rand.Read(r[:])
	return typ + "-" + strconv.FormatInt(time.Now().UnixNano(), 16) + "-" + fmt.Sprintf("%016x", binary.BigEndian.Uint64(r[:]))
}

// wakeOnDone wakes the waiters when ctx ends, so they can see it; the
// returned func stops that.
func (s *Spool) wakeOnDone(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
}

// cause returns the system's reason for a failed file operation ("no space
// left on device"), without the path said elsewhere.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
