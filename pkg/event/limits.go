package event

import "fmt"

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
	if len(name) > MaxName {
		return fmt.Errorf("name of %d bytes, longer than %d", len(name), MaxName)
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if i-start > MaxLabel {
				return fmt.Errorf("label of %d bytes, longer than %d", i-start, MaxLabel)
			}
			start = i + 1
		}
	}
	return nil
}

// CheckLengths returns an error naming the first field of e over its
// limit, as `field "query": ...`, or nil.
func CheckLengths(e *Event) error {
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
