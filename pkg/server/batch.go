package server

import (
	"bytes"
	"errors"
	"strings"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// Event types the API takes, one endpoint each.
var eventTypes = map[string]bool{event.TypeDNS: true, event.TypeIP: true, event.TypeHTTP: true, event.TypeTLS: true}

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
	if n := bytes.Count(body, []byte{'\n'}) + 1; cap(evs)-len(evs) < n {
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
	}
	return ""
}

// errTooLarge is returned when a (decompressed) body passes the size limit.
var errTooLarge = errors.New("request body too large")
