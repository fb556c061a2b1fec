package server

import (
	"bytes"
	"errors"
	"strings"
	"sync"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// Event types the API takes, one endpoint each; ssh (POST /v1/events/ssh)
// is NFR's extension of the AlphaSOC API.
var eventTypes = map[string]bool{event.TypeDNS: true, event.TypeIP: true, event.TypeHTTP: true, event.TypeTLS: true, event.TypeSSH: true}

// Reasons a batch line is rejected, as counted in EventsResponse.Rejected.
const (
	ReasonMalformed    = "malformed"     // not a JSON object
	ReasonInvalidField = "invalid_field" // a field has the wrong type or a bad value
	ReasonWrongType    = "wrong_type"    // "type" is not the endpoint's type
	ReasonMissingTS    = "missing_ts"
	ReasonMissingSrcIP = "missing_src_ip"
	ReasonMissingQuery = "missing_query"   // dns without a query name
	ReasonMissingDest  = "missing_dest_ip" // ip, http, tls without a destination
)

// DecodeBatch decodes an NDJSON batch body of events of type typ (one of
// dns, ip, http, tls) and appends the accepted ones to evs. Blank lines are
// not events; every other line is received and either accepted or counted
// under a reason in the answer. A line without "type" takes typ.
func DecodeBatch(body []byte, typ string, evs []event.Event) ([]event.Event, api.EventsResponse) {
	var resp api.EventsResponse
	if n := countLines(body); cap(evs)-len(evs) < n {
		// One allocation for the batch: events are large to copy on growth.
		evs = append(make([]event.Event, 0, len(evs)+n), evs...)
	}
	reject := func(reason string) {
		if resp.Rejected == nil {
			resp.Rejected = map[string]int{}
		}
		resp.Rejected[reason]++
	}
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		resp.Received++
		if line[0] != '{' {
			reject(ReasonMalformed)
			continue
		}
		evs = append(evs, event.Event{})
		ev := &evs[len(evs)-1]
		if reason := check(line, typ, ev); reason != "" {
			evs = evs[:len(evs)-1]
			reject(reason)
			continue
		}
		resp.Accepted++
	}
	return evs, resp
}

// countLines counts the lines of b, the last one with or without its
// newline.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// check decodes line into ev and returns why it cannot be taken, or "".
func check(line []byte, typ string, ev *event.Event) string {
	if err := event.Unmarshal(line, ev); err != nil {
		if strings.HasPrefix(err.Error(), "field ") {
			return ReasonInvalidField
		}
		return ReasonMalformed
	}
	switch {
	case ev.Type == "":
		ev.Type = typ
	case ev.Type != typ:
		return ReasonWrongType
	}
	switch {
	case ev.TS.IsZero():
		return ReasonMissingTS
	case !ev.SrcIP.IsValid():
		return ReasonMissingSrcIP
	case typ == event.TypeDNS && ev.Query == "":
		return ReasonMissingQuery
	case typ != event.TypeDNS && !ev.DestIP.IsValid():
		return ReasonMissingDest
	case event.CheckLengths(ev) != nil:
		return ReasonInvalidField
	}
	return ""
}

// errTooLarge is returned when a (decompressed) body passes the size limit.
var errTooLarge = errors.New("request body too large")

// parallelMin is the body size from which DecodeBatchParallel splits work.
const parallelMin = 128 << 10

// DecodeBatchParallel is DecodeBatch spread over up to parts goroutines, for
// a single client's large batch: it cuts the body at line ends, decodes the
// pieces at once into one slice, and sums their answers.
func DecodeBatchParallel(body []byte, typ string, parts int) ([]event.Event, api.EventsResponse) {
	return decodeParallel(body, typ, parts, parallelMin)
}

func decodeParallel(body []byte, typ string, parts, minSize int) ([]event.Event, api.EventsResponse) {
	if parts <= 1 || len(body) < minSize {
		return DecodeBatch(body, typ, nil)
	}
	type piece struct {
		body []byte
		off  int // first slot in evs
		evs  []event.Event
		resp api.EventsResponse
	}
	pieces := make([]piece, 0, parts)
	lines := 0
	for rest := body; len(rest) > 0; {
		cut := len(rest)
		if left := parts - len(pieces); left > 1 {
			cut = len(rest) / left
			if i := bytes.IndexByte(rest[cut:], '\n'); i >= 0 {
				cut += i + 1
			} else {
				cut = len(rest)
			}
		}
		p := piece{body: rest[:cut], off: lines}
		lines += countLines(p.body)
		pieces = append(pieces, p)
		rest = rest[cut:]
	}
	evs := make([]event.Event, lines)
	var wg sync.WaitGroup
	for i := range pieces {
		p := &pieces[i]
		end := lines
		if i+1 < len(pieces) {
			end = pieces[i+1].off
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Capacity is exactly the piece's lines: DecodeBatch never
			// grows it, so pieces cannot overwrite each other.
			p.evs, p.resp = DecodeBatch(p.body, typ, evs[p.off:p.off:end])
		}()
	}
	wg.Wait()
	var resp api.EventsResponse
	n := 0
	for _, p := range pieces {
		if p.off != n || len(p.evs) > 0 && &p.evs[0] != &evs[p.off] {
			copy(evs[n:], p.evs) // close the gap left by blank or rejected lines
		}
		n += len(p.evs)
		resp.Received += p.resp.Received
		resp.Accepted += p.resp.Accepted
		for reason, k := range p.resp.Rejected {
			if resp.Rejected == nil {
				resp.Rejected = map[string]int{}
			}
			resp.Rejected[reason] += k
		}
	}
	return evs[:n], resp
}
