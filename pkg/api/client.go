package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A Client talks to an analytics API server on behalf of one key. Every
// request has a timeout; TLS certificates are verified. The key travels only
// in the Authorization header, never in a URL, so it cannot leak into an
// error message.
type Client struct {
	base      *url.URL
	key       string
	userAgent string
	timeout   time.Duration
	http      *http.Client
}

// ClientOptions configures NewClient.
type ClientOptions struct {
	Key       string        // API key; empty for the calls that need none
	Version   string        // program version, sent as User-Agent NFR/VERSION
	Timeout   time.Duration // per request; 0 means 30s
	MaxConns  int           // idle connections kept per host; 0 means 4
	TLSConfig *tls.Config   // nil means the system roots
}

// MaxAnswer caps how much of an answer is read; a server sending more is
// broken or hostile.
const MaxAnswer = 16 << 20

// NewClient returns a client for the API at base (https://api.alphasoc.net).
func NewClient(base string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http or https URL", base)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 4
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       o.TLSConfig,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   o.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Client{
		base:      u,
		key:       o.Key,
		userAgent: "NFR/" + o.Version,
		timeout:   o.Timeout,
		http:      &http.Client{Transport: tr},
	}, nil
}

// Host returns the base URL the client talks to.
func (c *Client) Host() string { return c.base.String() }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Error is a failed request. Temporary errors (network failures, timeouts,
// 5xx, 429, answers that cannot be read) are worth retrying; others are not.
type Error struct {
	Op         string        // "POST /v1/events/dns"
	Status     int           // HTTP status, 0 when no answer came
	Message    string        // the server's message, or what went wrong
	RetryAfter time.Duration // from Retry-After, 0 when absent
	Temporary  bool
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Op, e.Message)
}

// KeyRejected reports whether the server refused the API key.
func (e *Error) KeyRejected() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// IsKeyRejected reports whether err is an Error refusing the API key.
func IsKeyRejected(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.KeyRejected()
}

// IsTemporary reports whether err is worth retrying.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// SendEvents posts one batch of NDJSON events of type typ (dns, ip, http,
// tls). body must already be gzipped when gzipped is set. batchID, kept the
// same across retries, lets the server drop a replay.
func (c *Client) SendEvents(ctx context.Context, typ, batchID string, body []byte, gzipped bool) (*EventsResponse, error) {
	h := http.Header{"Content-Type": {"application/x-ndjson"}}
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	if batchID != "" {
		h.Set(BatchIDHeader, batchID)
	}
	var r EventsResponse
	if err := c.do(ctx, http.MethodPost, "/v1/events/"+url.PathEscape(typ), h, body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Alerts fetches the alerts after cursor follow ("" for the start).
func (c *Client) Alerts(ctx context.Context, follow string) (*AlertsResponse, error) {
	p := "/v1/alerts"
	if follow != "" {
		p += "?follow=" + url.QueryEscape(follow)
	}
	var r AlertsResponse
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Register registers the key's account with a name and e-mail address.
func (c *Client) Register(ctx context.Context, name, email string) error {
	var req RegisterRequest
	req.Details.Name, req.Details.Email = name, email
	return c.doJSON(ctx, http.MethodPost, "/v1/account/register", req, nil)
}

// Status fetches the key's account status.
func (c *Client) Status(ctx context.Context) (*StatusResponse, error) {
	var r StatusResponse
	if err := c.do(ctx, http.MethodGet, "/v1/account/status", nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RequestKey asks for a new key for platform (nfr-linux-amd64).
func (c *Client) RequestKey(ctx context.Context, platform string) (string, error) {
	var req KeyRequest
	req.Platform.Name = platform
	var r KeyResponse
	if err := c.doJSON(ctx, http.MethodPost, "/v1/key/request", req, &r); err != nil {
		return "", err
	}
	if r.Key == "" {
		return "", &Error{Op: "POST /v1/key/request", Message: "the answer carries no key", Temporary: true}
	}
	return r.Key, nil
}

// ResetKey asks the server to mail a new key to email.
func (c *Client) ResetKey(ctx context.Context, email string) error {
	return c.doJSON(ctx, http.MethodPost, "/v1/key/reset", ResetRequest{Email: email}, nil)
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, http.Header{"Content-Type": {"application/json"}}, b, out)
}

func (c *Client) do(ctx context.Context, method, path string, h http.Header, body []byte, out any) error {
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return &Error{Op: op, Message: err.Error()}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.SetBasicAuth(c.key, "")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Message: transportMessage(err), Temporary: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return &Error{Op: op, Status: 0, Message: "reading the answer: " + transportMessage(err), Temporary: true}
	}
	if len(b) > MaxAnswer {
		return &Error{Op: op, Message: fmt.Sprintf("answer longer than %d bytes", MaxAnswer), Temporary: true}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Status: resp.StatusCode, Message: errorMessage(b)}
		e.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.Temporary = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests ||
			resp.StatusCode == http.StatusRequestTimeout
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "malformed answer: " + err.Error(), Temporary: true}
	}
	return nil
}

// errorMessage extracts {"message"} from an error body, else a short,
// printable excerpt of it.
func errorMessage(b []byte) string {
	var er ErrorResponse
	if json.Unmarshal(b, &er) == nil && er.Message != "" {
		return er.Message
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "no message"
	}
	return s
}

func transportMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the method and URL, said once in Op
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// RetryAfter parses a Retry-After value (seconds or an HTTP date) relative to
// now; it returns 0 when v is empty or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Cleartext reports whether base is plain http to a host other than the
// loopback, where the key would cross the network readable by anyone on
// the path.
func Cleartext(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return false
	}
	ip := net.ParseIP(h)
	return ip == nil || !ip.IsLoopback()
}
