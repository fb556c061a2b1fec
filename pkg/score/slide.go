package score

import "time"

// slide is a sliding window kept as a ring of buckets of equal width: the
// sums of what was added in the last len(B) buckets. When time moves on,
// the oldest bucket is dropped whole, so the window covers between
// (n-1)/n of its length and all of it, and a burst that straddles what
// would be the edge of a tumbling window is counted together. A ring of
// n buckets is n values per key, whatever the rate: bounded state.
// Detectors keep two where slow behaviour matters: LongWindow (1 h) in
// twelve buckets, Horizon (24 h) in twenty-four.
type slide[V any] struct {
	Head int64 // number (Unix seconds / width) of the newest bucket
	B    []V
}

// shortBuckets and longBuckets are how many buckets a window has:
// twelve for LongWindow and the shorter windows, twenty-four for Horizon.
const (
	shortBuckets = 12
	longBuckets  = 24
)

func bucketOf(now time.Time, width time.Duration) int64 {
	return now.Unix() / max(int64(width/time.Second), 1)
}

// at returns the bucket for now in a window of n buckets of width,
// dropping the buckets that time left behind; nil for a time before the
// window (a late event).
func (s *slide[V]) at(now time.Time, width time.Duration, n int) *V {
	b := bucketOf(now, width)
	if s.B == nil {
		s.B = make([]V, n)
		s.Head = b
	}
	switch {
	case b > s.Head:
		for i := s.Head + 1; i <= b && i <= s.Head+int64(n); i++ {
			var zero V
			s.B[ring(i, n)] = zero
		}
		s.Head = b
	case b <= s.Head-int64(n):
		return nil
	}
	return &s.B[ring(b, n)]
}

// each calls f with the buckets still in the window at now.
func (s *slide[V]) each(now time.Time, width time.Duration, n int, f func(*V)) {
	if s.B == nil {
		return
	}
	b := bucketOf(now, width)
	for i := max(s.Head-int64(n)+1, b-int64(n)+1); i <= s.Head; i++ {
		f(&s.B[ring(i, n)])
	}
}

// live reports whether anything was added within the window at now.
func (s *slide[V]) live(now time.Time, width time.Duration, n int) bool {
	return s.B != nil && bucketOf(now, width)-s.Head < int64(n)
}

// ring is bucket b's index in a ring of n, also for times before 1970.
func ring(b int64, n int) int {
	i := b % int64(n)
	if i < 0 {
		i += int64(n)
	}
	return int(i)
}
