package score

import (
	"testing"
	"time"
)

// TestSlide: a ring of buckets sums what was added in its window, drops
// whole buckets as time moves on, and ignores what is older than the
// window.
func TestSlide(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	width, n := 5*time.Minute, 12
	tests := []struct {
		name string
		adds []time.Duration // offsets from base, one count each
		at   time.Duration   // when the window is summed
		want int
	}{
		{"one bucket", []time.Duration{0, time.Minute}, 2 * time.Minute, 2},
		{"across the hour", []time.Duration{50 * time.Minute, 55 * time.Minute, 62 * time.Minute, 70 * time.Minute}, 70 * time.Minute, 4},
		{"oldest bucket dropped", []time.Duration{0, 30 * time.Minute, 61 * time.Minute}, 61 * time.Minute, 2},
		{"all dropped after a quiet day", []time.Duration{0, 10 * time.Minute}, 24 * time.Hour, 0},
		{"late event within the window", []time.Duration{30 * time.Minute, 10 * time.Minute}, 31 * time.Minute, 2},
		{"late event before the window", []time.Duration{90 * time.Minute, 10 * time.Minute}, 91 * time.Minute, 1},
		{"before 1970", []time.Duration{-60 * 365 * 24 * time.Hour, -60*365*24*time.Hour + time.Minute}, -60*365*24*time.Hour + 2*time.Minute, 2},
	}
	for _, tt := range tests {
		var s slide[int]
		for _, d := range tt.adds {
			if b := s.at(base.Add(d), width, n); b != nil {
				*b++
			}
		}
		got := 0
		s.each(base.Add(tt.at), width, n, func(b *int) { got += *b })
		if got != tt.want {
			t.Errorf("%s: sum %d, want %d", tt.name, got, tt.want)
		}
	}
}
