package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func line(i int) []byte {
	return []byte(fmt.Sprintf(`{"type":"dns","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"host%d.example.com","qtype":"A"}`, i))
}

func open(t testing.TB, dir string, o Options) *Spool {
	t.Helper()
	o.Dir = dir
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drain takes every ready batch, marks it done and returns its lines.
func drain(t *testing.T, s *Spool) (lines []string, ids []string) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		b, err := s.Next(ctx)
		cancel()
		if err != nil {
			return lines, ids
		}
		body, err := s.Body(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(body, []byte("\n"))
		if n != b.Events || int64(len(body)) != b.Bytes {
			t.Errorf("batch %s: %d lines, %d bytes; its header says %d, %d", b.ID, n, len(body), b.Events, b.Bytes)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			lines = append(lines, l)
		}
		ids = append(ids, b.ID)
		if err := s.Done(b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBatching(t *testing.T) {
	for _, tc := range []struct {
		name      string
		o         Options
		n         int
		batches   int
		sealAfter bool
	}{
		{"by count", Options{MaxEvents: 10}, 35, 4, true},
		{"by bytes", Options{MaxBytes: 1024}, 40, 5, true}, // ~110 bytes a line: 9 or 10 a batch
		{"exact count", Options{MaxEvents: 5}, 10, 2, false},
		{"always", Options{MaxEvents: 7, Fsync: "always"}, 20, 3, true},
		{"never", Options{MaxEvents: 7, Fsync: "never"}, 20, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir(), tc.o)
			defer s.Close()
			for i := range tc.n {
				if err := s.Append("dns", line(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if tc.sealAfter {
				s.SealAll()
			}
			got, ids := drain(t, s)
			if len(got) != tc.n {
				t.Fatalf("got %d events back, want %d", len(got), tc.n)
			}
			for i, l := range got {
				if l != string(line(i)) {
					t.Fatalf("event %d: got %s", i, l)
				}
			}
			if tc.batches != 0 && len(ids) != tc.batches {
				t.Errorf("got %d batches, want %d", len(ids), tc.batches)
			}
			if ev, by := s.Stats(); ev != 0 || by != 0 {
				t.Errorf("after draining: %d events, %d bytes left", ev, by)
			}
		})
	}
}

// TestRecover simulates a process killed while filling segments: the files
// are left .open, one with a torn last record, and a new Open must queue
// every whole record under the same batch ids.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{MaxEvents: 4})
	for i := range 10 {
		s.Append("dns", line(i))
	}
	s.Append("ip", []byte(`{"type":"ip","v":1}`))
	s.Flush()
	// Kill: no Close, just drop the lock by closing its file as the kernel would.
	s.lock.Close()
	var open []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".open") {
			open = append(open, e.Name())
		}
	}
	sort.Strings(open)
	if len(open) != 2 {
		t.Fatalf("want 2 open segments (dns, ip), have %v", open)
	}
	// Tear the dns segment's last record.
	p := filepath.Join(dir, open[0])
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-3], 0o600)

	var warns []string
	s2 := open2(t, dir, &warns)
	defer s2.Close()
	got, ids := drain(t, s2)
	// 8 in two sealed batches, 2 open of which the last is torn, plus ip.
	if len(got) != 8+1+1 {
		t.Fatalf("recovered %d events, want 10: %v", len(got), got)
	}
	want := map[string]bool{strings.TrimSuffix(open[0], ".open"): true, strings.TrimSuffix(open[1], ".open"): true}
	for _, id := range ids {
		delete(want, id)
	}
	if len(want) != 0 {
		t.Errorf("batch ids changed across the restart: missing %v in %v", want, ids)
	}
}

func open2(t *testing.T, dir string, warns *[]string) *Spool {
	return open(t, dir, Options{Warn: func(m string) { *warns = append(*warns, m) }})
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	defer s.Close()
	if _, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v, want an in-use error", err)
	}
}

func TestCorruptReady(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{MaxEvents: 3})
	for i := range 3 {
		s.Append("dns", line(i))
	}
	s.Close()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".ready") {
			p := filepath.Join(dir, e.Name())
			b, _ := os.ReadFile(p)
			b[len(b)-5] ^= 0xff // flip a byte of the last record
			os.WriteFile(p, b, 0o600)
		}
	}
	os.WriteFile(filepath.Join(dir, "dns-junk.ready"), []byte("hello"), 0o600)
	var warns []string
	s2 := open2(t, dir, &warns)
	defer s2.Close()
	got, _ := drain(t, s2)
	if len(got) != 2 {
		t.Errorf("got %d events, want the 2 before the bad record", len(got))
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "checksum mismatch") || !strings.Contains(warns[1], "bad magic") {
		t.Errorf("warnings: %q", warns)
	}
}

// TestBackpressure: over the limit Append waits until Done frees room.
func TestBackpressure(t *testing.T) {
	s := open(t, t.TempDir(), Options{Limit: 2000, MaxEvents: 5})
	defer s.Close()
	appended := make(chan int, 100)
	go func() {
		for i := range 60 {
			if err := s.Append("dns", line(i)); err != nil {
				return
			}
			appended <- i
		}
		s.Flush()
		s.SealAll()
		close(appended)
	}()
	// Without a consumer, the appender must stop well short of 60.
	n := 0
	for stalled := false; !stalled; {
		select {
		case <-appended:
			n++
		case <-time.After(200 * time.Millisecond):
			stalled = true
		}
	}
	if n >= 60 {
		t.Fatalf("Append never waited: %d appended over a 2000-byte limit", n)
	}
	_, by := s.Stats()
	if by > 2000+200 {
		t.Errorf("spool holds %d bytes over a 2000-byte limit", by)
	}
	var got int
	done := make(chan struct{})
	go func() {
		for range appended {
		}
		close(done)
	}()
	for got < 60 {
		b, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got += b.Events
		s.Done(b)
	}
	<-done
}

func TestCloseWakes(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	errc := make(chan error)
	go func() { _, err := s.Next(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
}

func TestRecords(t *testing.T) {
	good := appendRecord(appendRecord([]byte(magic), []byte("a")), []byte(`{"x":1}`))
	for _, tc := range []struct {
		name   string
		in     []byte
		n      int
		offset int64 // -1: no error
		magic  bool
	}{
		{"good", good, 2, -1, false},
		{"empty segment", []byte(magic), 0, -1, false},
		{"torn header", good[:len(good)-len(`{"x":1}`)-3], 1, 17, false},
		{"torn payload", good[:len(good)-1], 1, 17, false},
		{"short magic", []byte("NFR"), 0, 0, false},
		{"not a segment", []byte("hello world"), 0, -1, true},
		{"huge length", append([]byte(magic), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), 0, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := Records(tc.in, func([]byte) { n++ })
			var ce *CorruptError
			switch {
			case tc.magic:
				if !errors.Is(err, ErrNoMagic) {
					t.Fatalf("err %v, want ErrNoMagic", err)
				}
			case tc.offset < 0:
				if err != nil {
					t.Fatal(err)
				}
			case !errors.As(err, &ce) || ce.Offset != tc.offset:
				t.Fatalf("err %v, want corruption at %d", err, tc.offset)
			}
			if n != tc.n {
				t.Errorf("%d records, want %d", n, tc.n)
			}
		})
	}
}

func FuzzRecords(f *testing.F) {
	f.Add([]byte(magic))
	f.Add(appendRecord([]byte(magic), line(1)))
	f.Add(appendRecord(appendRecord([]byte(magic), nil), []byte("x"))[:20])
	f.Add([]byte("NFRSPL1\n\xff\xff\xff\x7f\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var total int
		err := Records(b, func(p []byte) { total += headerSize + len(p) })
		var ce *CorruptError
		switch {
		case err == nil:
			if total+len(magic) != len(b) {
				t.Fatalf("clean read covered %d of %d bytes", total+len(magic), len(b))
			}
		case errors.As(err, &ce):
			if ce.Offset > int64(len(b)) || (ce.Offset != 0 && ce.Offset != int64(total+len(magic))) {
				t.Fatalf("corruption offset %d, good records end at %d", ce.Offset, total+len(magic))
			}
			// Cutting at the offset must give a clean segment.
			if ce.Offset >= int64(len(magic)) {
				if err := Records(b[:ce.Offset], func([]byte) {}); err != nil {
					t.Fatalf("prefix up to the offset is not clean: %v", err)
				}
			}
		case errors.Is(err, ErrNoMagic):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	for _, fs := range []string{"never", "batch"} {
		b.Run(fs, func(b *testing.B) {
			s := open(b, b.TempDir(), Options{Fsync: fs, Limit: 1 << 40})
			defer s.Close()
			l := line(12345)
			b.ReportAllocs()
			b.SetBytes(int64(len(l)))
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				s.Append("dns", l)
				if i%1000 == 999 {
					s.Flush()
				}
				if i%5000 == 4999 { // keep the disk use flat: hand batches back
					for {
						c, cancel := context.WithTimeout(ctx, 0)
						bt, err := s.Next(c)
						cancel()
						if err != nil {
							break
						}
						s.Done(bt)
					}
				}
			}
		})
	}
}

func BenchmarkBody(b *testing.B) {
	s := open(b, b.TempDir(), Options{MaxEvents: 5000})
	defer s.Close()
	for i := range 5000 {
		s.Append("dns", line(i))
	}
	bt, err := s.Next(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(bt.Bytes)
	var body []byte
	for b.Loop() {
		body, err = s.Body(bt, body[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestLockFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	l, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l.Close()
	l2, err := Lock(p)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Close()
}

func TestSplit(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{MaxEvents: 5})
	for i := range 5 {
		s.Append("dns", line(i))
	}
	b, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	halves, err := s.Split(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(halves) != 2 || halves[0].ID != b.ID+"a" || halves[1].ID != b.ID+"b" || halves[0].Events != 2 || halves[1].Events != 3 {
		t.Fatalf("halves %+v", halves)
	}
	// A crash after the halves were made but before the batch was removed:
	// put the batch back; the next Open queues all three, and splitting it
	// again must not queue the halves twice.
	s.Close()
	raw := appendRecord([]byte(magic), line(0))
	for i := 1; i < 5; i++ {
		raw = appendRecord(raw, line(i))
	}
	os.WriteFile(filepath.Join(dir, b.ID+".ready"), raw, 0o600)
	os.WriteFile(filepath.Join(dir, b.ID+"c.split"), []byte("left over"), 0o600)
	s2 := open(t, dir, Options{})
	defer s2.Close()
	if ev, _ := s2.Stats(); ev != 10 {
		t.Fatalf("reopened spool holds %d events, want 10 (the batch and its halves)", ev)
	}
	orig, _ := s2.Next(context.Background())
	if orig.ID != b.ID {
		t.Fatalf("first batch %s, want the original %s", orig.ID, b.ID)
	}
	if _, err := s2.Split(orig); err != nil {
		t.Fatal(err)
	}
	got, ids := drain(t, s2)
	if len(got) != 5 || len(ids) != 2 {
		t.Errorf("after the re-split: %d events in batches %v, want 5 in the two halves", len(got), ids)
	}
	if ev, by := s2.Stats(); ev != 0 || by != 0 {
		t.Errorf("left: %d events, %d bytes", ev, by)
	}
	if _, err := os.Stat(filepath.Join(dir, b.ID+"c.split")); err == nil {
		t.Error("a left-over .split file was not cleaned")
	}
}
