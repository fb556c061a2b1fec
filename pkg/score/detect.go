package score

import (
	"fmt"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// What the detectors share: windows, hashes, the outcome of a connection,
// and the words of reasons.

// roll restarts a tumbling window when it is over.
func roll(start *time.Time, now time.Time, w time.Duration) bool {
	if start.IsZero() || now.Sub(*start) >= w || now.Before(*start) {
		*start = now
		return true
	}
	return false
}

func addDistinct(s []uint64, h uint64, max int) ([]uint64, bool) {
	for _, x := range s {
		if x == h {
			return s, false
		}
	}
	if len(s) >= max {
		return s, false
	}
	return append(s, h), true
}

// hash is FNV-1a: stable across runs, so saved state keeps its meaning.
func hash(s string) uint64 { return fnv(fnvOffset, s) }

const fnvOffset = 14695981039346656037

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// since says how long a window has run: at least a second.
func since(now, start time.Time) string {
	return dur(max(now.Sub(start), time.Second).Round(time.Second))
}

// windowSince says how long a sliding window of width w has run, from
// start or, when start has slid out of it, from its far edge.
func windowSince(now, start time.Time, w time.Duration) string {
	if edge := now.Add(-w); edge.After(start) {
		start = edge
	}
	return since(now, start)
}

func dur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func protoNum(p string) uint8 {
	switch p {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp", "icmp6":
		return 1
	}
	return 0
}

// failed reports a connection attempt that got no answer or a reset.
func failed(ev *event.Event) bool {
	switch ev.ConnState {
	case "S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR":
		return true
	case "":
		return ev.PktsIn == 0 && ev.BytesIn == 0 && ev.BytesOut == 0
	}
	return false
}

// established reports a connection that carried data both ways or was
// completed.
func established(ev *event.Event) bool {
	switch ev.ConnState {
	case "SF", "S1", "S2", "S3", "RSTO", "RSTR":
		return true
	case "":
		return ev.PktsIn > 0 && (ev.BytesOut > 0 || ev.BytesIn > 0)
	}
	return ev.BytesOut > 0 && ev.BytesIn > 0
}

func hostOnly(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i]
	}
	return h
}
