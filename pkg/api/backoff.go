package api

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff computes retry delays: exponential from Min to Max with full
// jitter, so that many sensors recovering together do not retry in step.
// A server's Retry-After wins over a shorter computed delay.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the delay before the next attempt, given the error of the
// last one (its Retry-After is honoured, capped at 10 times Max).
func (b *Backoff) Next(err error) time.Duration {
	ceil := b.Min << min(b.attempt, 30)
	if ceil > b.Max || ceil <= 0 {
		ceil = b.Max
	}
	b.attempt++
	d := b.Min/2 + time.Duration(rand.Int64N(int64(ceil-b.Min/2)+1))
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > d {
		d = min(e.RetryAfter, 10*b.Max)
	}
	return d
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }
