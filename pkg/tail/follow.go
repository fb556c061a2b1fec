package tail

import (
	"bytes"
	"fmt"
	"os"
	"time"
)

// follow reads the files as they grow, like tail -F: a file renamed away is
// read to its end and the new file at the name is opened from the start; a
// truncated or rewritten file is read again from the start; a missing file
// is waited for. State is saved when idle and every SaveEvery while busy.
func (ru *runner) follow(names []string) error {
	ins := make([]*input, len(names))
	ru.inputs = ins
	missing := make([]bool, len(names))
	lastData := time.Now()
	dirty, held := false, false
	var timer *time.Timer
	for {
		progress := false
		for i, n := range names {
			in := ins[i]
			if in == nil {
				if missing[i] && !exists(n) {
					continue
				}
				var err error
				in, err = ru.open(n)
				if err != nil {
					if !missing[i] {
						ru.o.Info(fmt.Sprintf("%s: %v; waiting for it to appear", n, unwrapOpen(err)))
						missing[i] = true
					}
					continue
				}
				if missing[i] {
					ru.o.Info(fmt.Sprintf("%s: has appeared, following it", n))
				}
				missing[i] = false
				ins[i] = in
			}
			if in.eof {
				continue
			}
			before := in.off + int64(len(in.partial))
			if err := ru.read(in, in.stdin || in.gz); err != nil {
				return ru.finish(ins, err)
			}
			if in.off+int64(len(in.partial)) != before {
				progress, dirty = true, true
			}
			if in.stdin || in.gz {
				in.eof = true
				if err := in.h.Flush(); err != nil {
					return ru.finish(ins, err)
				}
				continue
			}
			next, err := ru.checkFile(in)
			if err != nil {
				return ru.finish(ins, err)
			}
			if next != in {
				ins[i] = next
				progress, dirty = true, true
			}
		}
		if ru.stopped() {
			return ru.finish(ins, nil)
		}
		if progress {
			lastData, held = time.Now(), true
			if time.Since(ru.lastSave) >= ru.o.SaveEvery {
				if err := ru.checkpoint(ins, false); err != nil {
					return ru.finish(ins, err)
				}
			}
			continue
		}
		if dirty {
			// Idle: make what was read durable; what handlers hold is
			// saved as context.
			if err := ru.checkpoint(ins, false); err != nil {
				return ru.finish(ins, err)
			}
			dirty = false
		}
		if held && time.Since(lastData) >= ru.o.IdleFlush {
			// Idle for long: give up waiting (an eve query whose answer
			// did not come) and write what handlers hold.
			if err := ru.checkpoint(ins, true); err != nil {
				return ru.finish(ins, err)
			}
			held = false
		}
		if ru.o.Tick != nil {
			ru.o.Tick(ru.stats)
		}
		if timer == nil {
			timer = time.NewTimer(ru.o.Poll)
		} else {
			timer.Reset(ru.o.Poll)
		}
		select {
		case <-timer.C:
		case <-ru.o.Stop:
		}
	}
}

func unwrapOpen(err error) error {
	if oe, ok := err.(*OpenError); ok {
		return oe.Err
	}
	return err
}

func exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// checkpoint flushes downstream and saves the state; idle also flushes what
// handlers hold (an eve query whose answer did not come). The state never
// gets ahead of the output, so nothing is skipped, and a kill -9 repeats at
// most what was written since the last checkpoint.
func (ru *runner) checkpoint(ins []*input, idle bool) error {
	ru.lastSave, ru.sinceSave = time.Now(), 0
	if idle {
		for _, in := range ins {
			if in != nil {
				if err := in.h.Flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := ru.o.Sync(); err != nil {
		return err
	}
	if ru.o.State == "" {
		return nil
	}
	return ru.save(live(ins))
}

func live(ins []*input) []*input {
	var out []*input
	for _, in := range ins {
		if in != nil {
			out = append(out, in)
		}
	}
	return out
}

// finish flushes handlers and downstream and saves the state.
func (ru *runner) finish(ins []*input, err error) error {
	for _, in := range ins {
		if in != nil {
			if ferr := in.h.Flush(); ferr != nil && err == nil {
				err = ferr
			}
		}
	}
	if serr := ru.o.Sync(); serr != nil && err == nil {
		err = serr
	}
	if err == nil {
		err = ru.save(live(ins))
	}
	for _, in := range ins {
		if in != nil {
			in.close()
		}
	}
	return err
}

// checkFile notices rotation (another file at the name) and truncation or
// rewriting (the open file shorter than read, or its first bytes changed).
func (ru *runner) checkFile(in *input) (*input, error) {
	fi, err := os.Stat(in.name)
	if err == nil {
		dev, ino := fileID(fi)
		if dev != in.dev || ino != in.ino {
			// Rotated: finish the old file (a writer may have added a
			// last line after our read), then start on the new one.
			if err := ru.read(in, true); err != nil {
				return in, err
			}
			if len(in.partial) > 0 {
				if err := ru.line(in, nil); err != nil {
					return in, err
				}
			}
			if err := in.h.Flush(); err != nil {
				return in, err
			}
			if e := in.entry(); e != nil {
				ru.finished = append(ru.finished, e)
			}
			in.close()
			ru.o.Info(fmt.Sprintf("%s: has been replaced, following the new file", in.name))
			next, err := ru.open(in.name)
			if err != nil {
				return in, nil // try again next round
			}
			return next, nil
		}
	}
	ofi, err := in.f.Stat()
	if err != nil {
		return in, nil
	}
	truncated := ofi.Size() < in.off
	if !truncated && len(in.head) > 0 {
		buf := make([]byte, len(in.head))
		if n, _ := in.f.ReadAt(buf, 0); n < len(buf) || !bytes.Equal(buf, in.head) {
			truncated = true
		}
	}
	if !truncated {
		return in, nil
	}
	ru.o.Info(fmt.Sprintf("%s: file truncated, reading from the start", in.name))
	if err := in.h.Flush(); err != nil {
		return in, err
	}
	if _, err := in.f.Seek(0, 0); err != nil {
		return in, err
	}
	in.r.Reset(in.f)
	in.off, in.line = 0, 0
	in.partial, in.tooLong = in.partial[:0], false
	head := make([]byte, HeadLen)
	n, _ := in.f.ReadAt(head, 0)
	in.head = head[:n]
	return in, nil
}
