package event

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// A Writer writes event lines to one output. It buffers, flushes after every
// line when LineBuffered (a terminal or --line-buffered), and can flush on a
// timer for live sources. It is safe for concurrent use.
type Writer struct {
	mu           sync.Mutex
	bw           *bufio.Writer
	lineBuffered bool
	err          error
	stop         chan struct{}
	lines        int64
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer, lineBuffered bool) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), lineBuffered: lineBuffered}
}

// WriteLine writes line followed by a newline.
func (w *Writer) WriteLine(line []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.bw.Write(line)
	if w.err = w.bw.WriteByte('\n'); w.err != nil {
		return w.err
	}
	return w.ended()
}

// ended counts a line written to the buffer and flushes it when line
// buffered. The caller holds mu.
func (w *Writer) ended() error {
	w.lines++
	if w.lineBuffered {
		w.err = w.bw.Flush()
	}
	return w.err
}

// WriteEvents encodes evs[order[0]], evs[order[1]], ... (all of evs in
// order when order is nil), one line each, straight into the output buffer
// and under one lock: the batch path of Encoder.
func (w *Writer) WriteEvents(evs []Event, order []int32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	n := len(evs)
	if order != nil {
		n = len(order)
	}
	for j := 0; j < n; j++ {
		i := j
		if order != nil {
			i = int(order[j])
		}
		b := w.bw.AvailableBuffer()
		if cap(b) < 4096 { // make room for a typical line, so it is encoded in place
			if w.err = w.bw.Flush(); w.err != nil {
				return w.err
			}
			b = w.bw.AvailableBuffer()
		}
		b = append(evs[i].AppendJSON(b), '\n')
		if _, w.err = w.bw.Write(b); w.err != nil {
			return w.err
		}
		if err := w.ended(); err != nil {
			return err
		}
	}
	return nil
}

// Lines returns how many lines were written.
func (w *Writer) Lines() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines
}

// Flush writes buffered lines out.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.err = w.bw.Flush()
	return w.err
}

// FlushEvery flushes every d until Close; live sources use it so a quiet
// stream still delivers its lines within d.
func (w *Writer) FlushEvery(d time.Duration) {
	w.mu.Lock()
	if w.stop != nil {
		w.mu.Unlock()
		return
	}
	w.stop = make(chan struct{})
	stop := w.stop
	w.mu.Unlock()
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.Flush()
			case <-stop:
				return
			}
		}
	}()
}

// Close stops the timer and flushes.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.stop != nil {
		close(w.stop)
		w.stop = nil
	}
	w.mu.Unlock()
	return w.Flush()
}
