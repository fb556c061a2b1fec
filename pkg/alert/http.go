package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// httpSender POSTs alerts: one per request to a webhook (json, slack,
// teams), many per request to Splunk HEC and the Elasticsearch _bulk API.
type httpSender struct {
	d      Dest
	client *http.Client
}

// RetryAfter is an answer that asks to wait before the next try (HTTP 429
// or 503 with Retry-After).
type RetryAfter struct {
	Wait time.Duration
	Err  error
}

func (e *RetryAfter) Error() string { return e.Err.Error() }
func (e *RetryAfter) Unwrap() error { return e.Err }

func newHTTPSender(d Dest) (*httpSender, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p, _ := url.Parse(d.URL)
	if p.Scheme == "https" {
		tc, err := tlsConfig(d, p.Hostname())
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	if d.Body == "" {
		d.Body = "json"
	}
	if d.Index == "" {
		d.Index = "nfr-alerts"
	}
	return &httpSender{d: d, client: &http.Client{Transport: tr, Timeout: d.Timeout}}, nil
}

// batchSize is how many messages go in one HEC or _bulk request.
const batchSize = 500

func (s *httpSender) Send(msgs [][]byte) (int, error) {
	switch s.d.Body {
	case "hec":
		return s.sendBatches(msgs, s.hec)
	case "bulk":
		return s.sendBatches(msgs, s.bulk)
	}
	for i, m := range msgs {
		var body []byte
		switch s.d.Body {
		case "slack":
			body = append(append([]byte(`{"text":`), event.AppendString(nil, string(m))...), '}')
		case "teams":
			body = teamsCard(m)
		default:
			body = m
		}
		resp, err := s.post(body, "application/json")
		if err != nil {
			return i, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := s.status(resp); err != nil {
			if _, ok := err.(*permanent); ok {
				s.d.Reject(m, err.Error())
				continue
			}
			return i, err
		}
	}
	return len(msgs), nil
}

// teamsCard is a MessageCard for a Microsoft Teams incoming webhook.
func teamsCard(text []byte) []byte {
	b := []byte(`{"@type":"MessageCard","@context":"https://schema.org/extensions","summary":"NFR alert","themeColor":"D93F0B","title":"NFR alert","text":`)
	b = event.AppendString(b, string(text))
	return append(b, '}')
}

func (s *httpSender) sendBatches(msgs [][]byte, send func([][]byte) (int, error)) (int, error) {
	done := 0
	for done < len(msgs) {
		n, err := send(msgs[done:min(len(msgs), done+batchSize)])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (s *httpSender) post(body []byte, ctype string) (*http.Response, error) {
	req, err := http.NewRequest("POST", s.d.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "nfr-alert")
	switch {
	case s.d.Token == "":
	case s.d.Body == "hec":
		req.Header.Set("Authorization", "Splunk "+s.d.Token)
	case s.d.Body == "bulk":
		req.Header.Set("Authorization", "ApiKey "+s.d.Token)
	default:
		req.Header.Set("Authorization", "Bearer "+s.d.Token)
	}
	return s.client.Do(req)
}

// permanent is an answer that will not change on a retry (a 4xx other
// than 408 and 429): the message is refused for good.
type permanent struct{ msg string }

func (e *permanent) Error() string { return e.msg }

// status turns an HTTP answer into nil, a *RetryAfter, a *permanent, or
// another (retryable) error. 401 and 403 are retried: they mean the token
// is wrong, which a person fixes, and the alerts wait for them.
func (s *httpSender) status(resp *http.Response) error {
	c := resp.StatusCode
	if c >= 200 && c < 300 {
		return nil
	}
	err := fmt.Errorf("%s answered %s", redact(s.d.URL), resp.Status)
	if c == 429 || c == 503 {
		wait := time.Duration(0)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if n, e := strconv.Atoi(ra); e == nil {
				wait = time.Duration(n) * time.Second
			} else if t, e := http.ParseTime(ra); e == nil {
				wait = time.Until(t)
			}
		}
		return &RetryAfter{Wait: min(max(wait, 0), 10*time.Minute), Err: err}
	}
	if c >= 400 && c < 500 && c != 408 && c != 401 && c != 403 {
		return &permanent{err.Error()}
	}
	return err
}

// redact drops credentials from a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the server"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}

// hec sends one Splunk HTTP Event Collector request: events concatenated,
// each {"time":..,"host":..,"source":"nfr","sourcetype":"nfr:alert","event":MSG}.
// An answer of 400 with "invalid-event-number" N means the events before
// N were taken and N is refused; the rest is sent again.
func (s *httpSender) hec(msgs [][]byte) (int, error) {
	var body []byte
	for _, m := range msgs {
		body = append(body, `{"source":"nfr","sourcetype":"nfr:alert",`...)
		// HEC's own time (epoch seconds) and host, from the alert.
		if v, ok := event.Field(m, "ts"); ok && len(v) > 2 {
			if t, err := event.ParseTime(string(v[1 : len(v)-1])); err == nil {
				body = append(body, `"time":`...)
				body = strconv.AppendFloat(body, float64(t.UnixMilli())/1e3, 'f', 3, 64)
				body = append(body, ',')
			}
		}
		if v, ok := event.Field(m, "sensor"); ok && len(v) > 2 && v[0] == '"' {
			body = append(body, `"host":`...)
			body = append(body, v...)
			body = append(body, ',')
		}
		body = append(body, `"event":`...)
		if json.Valid(m) {
			body = append(body, m...)
		} else {
			body = event.AppendString(body, string(m))
		}
		body = append(body, "}\n"...)
	}
	resp, err := s.post(body, "application/json")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ans struct {
		Text    string `json:"text"`
		Code    int    `json:"code"`
		Invalid *int   `json:"invalid-event-number"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans)
	err = s.status(resp)
	if err == nil {
		return len(msgs), nil
	}
	if ans.Text != "" {
		err = fmt.Errorf("%w: %s (HEC code %d)", err, ans.Text, ans.Code)
	}
	if _, ok := err.(*permanent); ok || resp.StatusCode == 400 {
		if ans.Invalid != nil && *ans.Invalid >= 0 && *ans.Invalid < len(msgs) {
			n := *ans.Invalid
			s.d.Reject(msgs[n], err.Error())
			return n + 1, fmt.Errorf("event %d refused: %w", n, err)
		}
		for _, m := range msgs {
			s.d.Reject(m, err.Error())
		}
		return len(msgs), nil
	}
	return 0, err
}

// bulk sends one Elasticsearch/OpenSearch _bulk request. Each document
// has an _id derived from its content and is sent with "create", so a
// resend after a lost answer is refused as a conflict (409) instead of
// stored twice. Per item: 2xx and 409 are delivered, 429 and 5xx are sent
// again, other 4xx (mapping errors) are refused for good.
func (s *httpSender) bulk(msgs [][]byte) (int, error) {
	var body []byte
	for _, m := range msgs {
		sum := sha256.Sum256(m)
		body = append(body, `{"create":{"_index":`...)
		body = event.AppendString(body, s.d.Index)
		body = append(body, `,"_id":"`...)
		body = hex.AppendEncode(body, sum[:16])
		body = append(body, "\"}}\n"...)
		body = append(body, m...)
		body = append(body, '\n')
	}
	resp, err := s.post(body, "application/x-ndjson")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := s.status(resp); err != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if _, ok := err.(*permanent); ok {
			for _, m := range msgs {
				s.d.Reject(m, err.Error())
			}
			return len(msgs), nil
		}
		return 0, err
	}
	var ans struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&ans); err != nil {
		return 0, fmt.Errorf("%s: bad _bulk answer: %v", redact(s.d.URL), err)
	}
	if !ans.Errors {
		return len(msgs), nil
	}
	if len(ans.Items) != len(msgs) {
		return 0, fmt.Errorf("%s: _bulk answered %d items for %d documents", redact(s.d.URL), len(ans.Items), len(msgs))
	}
	for i, it := range ans.Items {
		for _, r := range it {
			switch {
			case r.Status >= 200 && r.Status < 300 || r.Status == 409:
			case r.Status == 429 || r.Status >= 500:
				why := strconv.Itoa(r.Status)
				if r.Error != nil {
					why += " " + r.Error.Type
				}
				// Items before i are settled; i and after go again (those
				// already stored come back as 409).
				return i, &RetryAfter{Err: fmt.Errorf("%s: _bulk item %d: %s", redact(s.d.URL), i, why)}
			default:
				why := fmt.Sprintf("_bulk item status %d", r.Status)
				if r.Error != nil {
					why += ": " + r.Error.Type + ": " + r.Error.Reason
				}
				s.d.Reject(msgs[i], why)
			}
		}
	}
	return len(msgs), nil
}

func (s *httpSender) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
