package event

import (
	"fmt"
	"strings"
)

// Length limits of event fields, checked wherever events enter (the
// engine's API, the log parsers, nfr-scope): a longer value is not a name
// or URL any peer would send, and one such line must not cost megabytes
// downstream. Names follow RFC 1035 (253 bytes in text form, labels of 63);
// URL and user agent limits are those of common servers' request lines and
// headers (nginx's large_client_header_buffers is 8 KiB).
const (
	MaxName      = 253  // query, host, sni
	MaxLabel     = 63   // each dot-separated label of a name
	MaxURL       = 8192 // url, referrer
	MaxUserAgent = 1024 // userAgent
)

// CheckName says why a domain name (in text form, without a trailing dot)
// is too long, or returns nil.
func CheckName[S ~string | ~[]byte](name S) error {
	if len(name) <= MaxLabel {
		return nil
	}
	if len(name) > MaxName {
		return fmt.Errorf("name of %d bytes, longer than %d", len(name), MaxName)
	}
	for rest := string(name); len(rest) > MaxLabel; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			i = len(rest)
		}
		if i > MaxLabel {
			return fmt.Errorf("label of %d bytes, longer than %d", i, MaxLabel)
		}
		rest = rest[min(i+1, len(rest)):]
	}
	return nil
}

// CheckLengths returns an error naming the first field of e over its
// limit, as `field "query": ...`, or nil.
func CheckLengths(e *Event) error {
	if len(e.Query) <= MaxLabel && len(e.Host) <= MaxLabel && len(e.SNI) <= MaxLabel &&
		len(e.URL) <= MaxURL && len(e.Referrer) <= MaxURL && len(e.UserAgent) <= MaxUserAgent {
		return nil // the common case: nothing can be over a limit
	}
	for _, f := range []struct {
		name, v string
	}{{"query", e.Query}, {"host", hostPart(e.Host)}, {"sni", e.SNI}} {
		if err := CheckName(f.v); err != nil {
			return fmt.Errorf("field %q: %v", f.name, err)
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"url", e.URL, MaxURL}, {"referrer", e.Referrer, MaxURL}, {"userAgent", e.UserAgent, MaxUserAgent}} {
		if len(f.v) > f.max {
			return fmt.Errorf("field %q: %d bytes, longer than %d", f.name, len(f.v), f.max)
		}
	}
	return nil
}

// hostPart is an HTTP Host value without its port.
func hostPart(h string) string {
	if len(h) > 0 && h[0] == '[' {
		return "" // an IPv6 literal: no name
	}
	for i := len(h) - 1; i >= 0; i-- {
		switch {
		case h[i] == ':':
			return h[:i]
		case h[i] < '0' || h[i] > '9':
			return h
		}
	}
	return h
}
