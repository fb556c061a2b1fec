package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// maxLimitedAddrs bounds the addresses keyLimiter remembers: past it,
// addresses whose allowance is whole again are forgotten, and if that is
// not enough, those last seen before the mean time, so its memory does not grow with a flood of source
// addresses.
const maxLimitedAddrs = 10000

// keyLimiter is a token bucket per client address for POST
// /v1/key/request: perHour tokens, refilled evenly over an hour.
type keyLimiter struct {
	mu      sync.Mutex
	perHour float64
	addrs   map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newKeyLimiter(perHour int, now func() time.Time) *keyLimiter {
	return &keyLimiter{perHour: float64(perHour), addrs: map[string]*bucket{}, now: now}
}

// allow takes a token for the request's client address, or says how long
// until one is free.
func (l *keyLimiter) allow(r *http.Request) (ok bool, wait time.Duration) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= maxLimitedAddrs {
			l.forget(now)
		}
		b = &bucket{tokens: l.perHour, at: now}
		l.addrs[addr] = b
	}
	b.tokens = min(l.perHour, b.tokens+now.Sub(b.at).Hours()*l.perHour)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.perHour * float64(time.Hour))
}

func (l *keyLimiter) forget(now time.Time) {
	for a, b := range l.addrs {
		if b.tokens+now.Sub(b.at).Hours()*l.perHour >= l.perHour {
			delete(l.addrs, a)
		}
	}
	if len(l.addrs) < maxLimitedAddrs {
		return
	}
	var oldest []time.Time
	for _, b := range l.addrs {
		oldest = append(oldest, b.at)
	}
	cut := meanTime(oldest)
	for a, b := range l.addrs {
		if !b.at.After(cut) {
			delete(l.addrs, a)
		}
	}
}

// meanTime is the mean of ts: at least the oldest is at or before it.
func meanTime(ts []time.Time) time.Time {
	var sum time.Duration
	for _, t := range ts {
		sum += t.Sub(ts[0])
	}
	return ts[0].Add(sum / time.Duration(len(ts)))
}
