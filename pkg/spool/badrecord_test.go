package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadRecordMidBatch flips one byte of the fourth of ten records, in
// its payload, its checksum or its length: only that record is lost, it is
// kept in rejected/ with the reason, counted, and the other nine are sent.
func TestBadRecordMidBatch(t *testing.T) {
	for _, where := range []string{"payload", "checksum", "length"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{MaxEvents: 10})
			for i := range 10 {
				s.Append("dns", line(i))
			}
			s.Close()
			ents, _ := os.ReadDir(dir)
			var seg string
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".ready") {
					seg = filepath.Join(dir, e.Name())
				}
			}
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			rec := headerSize + len(line(0)) // all test lines are the same length
			off := len(magic) + 3*rec
			switch where {
			case "payload":
				b[off+headerSize+10] ^= 0xff
			case "checksum":
				b[off+5] ^= 0x01
			case "length":
				b[off+1] ^= 0x01 // 256 bytes longer
			}
			os.WriteFile(seg, b, 0o600)

			var warns []string
			s2 := open2(t, dir, &warns)
			got, _ := drain(t, s2)
			n := s2.BadRecords()
			s2.Close()
			var want []string
			for i := range 10 {
				if i != 3 {
					want = append(want, string(line(i)))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("delivered %d events:\n%s\nwant the 9 around the bad one", len(got), strings.Join(got, "\n"))
			}
			if n != 1 || len(warns) != 1 || !strings.Contains(warns[0], fmt.Sprintf("offset %d:", off)) ||
				!strings.Contains(warns[0], "the rest of the batch is sent") {
				t.Errorf("%d bad records, warnings %q", n, warns)
			}
			kept, _ := filepath.Glob(filepath.Join(dir, "rejected", "*"))
			if len(kept) != 2 {
				t.Fatalf("rejected/: %q", kept)
			}
			bad, _ := os.ReadFile(strings.TrimSuffix(kept[0], ".bad") + ".bad")
			reason, _ := os.ReadFile(strings.TrimSuffix(kept[0], ".bad") + ".reason")
			if !bytes.Equal(bad, b[off:off+rec]) || !strings.Contains(string(reason), "mismatch") {
				t.Errorf("kept %q, reason %q", bad, reason)
			}
			// Reopened, the spool holds nothing more: the segment was rewritten.
			s3 := open(t, dir, Options{})
			if ev, _ := s3.Stats(); ev != 0 || s3.BadRecords() != 0 {
				t.Errorf("after delivery: %d events, %d bad", ev, s3.BadRecords())
			}
			s3.Close()
		})
	}
}

// FuzzScan: the good records and the skipped ranges Scan reports tile the
// segment in order, up to the torn tail it returns.
func FuzzScan(f *testing.F) {
	seg := []byte(magic)
	for i := range 4 {
		seg = appendRecord(seg, line(i))
	}
	f.Add(seg)
	bad := bytes.Clone(seg)
	bad[len(magic)+headerSize+3] ^= 0xff
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		pos := len(magic)
		err := Scan(b, func(p []byte) {
			if &p[0:1][0] != &b[pos+headerSize : pos+headerSize+1][0] && len(p) > 0 {
				t.Fatalf("record at %d is not where the last one ended", pos)
			}
			pos += headerSize + len(p)
		}, func(r BadRecord) {
			if r.Offset != int64(pos) || r.End <= r.Offset || r.End > int64(len(b)) {
				t.Fatalf("bad range %+v after good bytes up to %d", r, pos)
			}
			pos = int(r.End)
		})
		var ce *CorruptError
		switch {
		case err == nil:
			if pos != len(b) {
				t.Fatalf("clean scan covered %d of %d bytes", pos, len(b))
			}
		case errors.As(err, &ce):
			if ce.Offset != 0 && ce.Offset != int64(pos) {
				t.Fatalf("tail at %d, scan reached %d", ce.Offset, pos)
			}
		}
	})
}

// TestRefuseLooseSpool: a spool others can write is refused, with the fix.
func TestRefuseLooseSpool(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o1777} {
		dir := filepath.Join(t.TempDir(), "spool")
		os.Mkdir(dir, 0o700)
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Options{Dir: dir})
		if err == nil || !strings.Contains(err.Error(), "can be written by others") || !strings.Contains(err.Error(), "run: chmod go-w "+dir) {
			t.Errorf("mode %o: %v", mode, err)
		}
		os.Chmod(dir, 0o750)
		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("mode 0750: %v", err)
		}
		s.Close()
	}
}
