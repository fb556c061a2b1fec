package submit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// reserved are the keys an alert line sets itself; the wire event's own
// values for them are replaced.
var reserved = map[string]bool{"type": true, "v": true, "eventType": true, "severity": true, "threats": true, "flags": true,
	"reason": true, "id": true, "count": true, "firstSeen": true, "lastSeen": true, "examples": true}

// AlertLine appends the alert a as one line of our stream: type alert, the
// wire event's fields in their order and bytes (unknown ones included),
// then eventType, severity (the highest of its threats), threats (id ->
// title, severity, policy, from the answer's threats map) and flags (the
// wisdom flags), as nfr-score writes them.
func AlertLine(dst []byte, a *api.Alert, info map[string]api.ThreatInfo) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, a.Event); err != nil {
		return dst, fmt.Errorf("event: %v", err)
	}
	raw := compact.Bytes()
	if len(raw) == 0 || raw[0] != '{' {
		return dst, errors.New("event is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return dst, err
	}
	dst = append(dst, `{"type":"alert","v":`...)
	dst = strconv.AppendInt(dst, event.Version, 10)
	evType := a.EventType
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst, err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return dst, err
		}
		if key == "type" && evType == "" {
			json.Unmarshal(val, &evType)
		}
		if reserved[key] {
			continue
		}
		dst = append(dst, ',')
		dst = event.AppendString(dst, key)
		dst = append(dst, ':')
		dst = append(dst, val...)
	}
	if evType != "" {
		dst = append(dst, `,"eventType":`...)
		dst = event.AppendString(dst, evType)
	}
	ids := append([]string(nil), a.Threats...)
	sort.Strings(ids)
	ids = dedup(ids)
	sev := a.Severity
	for _, id := range ids {
		sev = max(sev, info[id].Severity)
	}
	if sev > 0 {
		dst = append(dst, `,"severity":`...)
		dst = strconv.AppendInt(dst, int64(sev), 10)
	}
	if len(ids) > 0 {
		dst = append(dst, `,"threats":{`...)
		for i, id := range ids {
			t := info[id]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = event.AppendString(dst, id)
			dst = append(dst, `:{"title":`...)
			dst = event.AppendString(dst, t.Title)
			dst = append(dst, `,"severity":`...)
			dst = strconv.AppendInt(dst, int64(t.Severity), 10)
			dst = append(dst, `,"policy":`...)
			dst = strconv.AppendBool(dst, t.Policy)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	if len(a.Wisdom.Flags) > 0 {
		dst = append(dst, `,"flags":[`...)
		for i, f := range a.Wisdom.Flags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = event.AppendString(dst, f)
		}
		dst = append(dst, ']')
	}
	return append(appendIncident(dst, &a.Incident), '}'), nil
}

// appendIncident appends the reason and incident fields nfr-score wrote
// and nfr-engine serves.
func appendIncident(dst []byte, in *api.Incident) []byte {
	str := func(key, v string) {
		if v != "" {
			dst = append(dst, ',')
			dst = event.AppendString(dst, key)
			dst = append(dst, ':')
			dst = event.AppendString(dst, v)
		}
	}
	str("reason", in.Reason)
	str("id", in.ID)
	if in.Count > 0 {
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, int64(in.Count), 10)
	}
	for _, t := range []struct {
		key string
		t   *time.Time
	}{{"firstSeen", in.FirstSeen}, {"lastSeen", in.LastSeen}} {
		if t.t != nil {
			dst = append(dst, `,"`+t.key+`":"`...)
			dst = event.AppendTime(dst, *t.t)
			dst = append(dst, '"')
		}
	}
	if len(in.Examples) > 0 {
		dst = append(dst, `,"examples":[`...)
		for i, x := range in.Examples {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = event.AppendString(dst, x)
		}
		dst = append(dst, ']')
	}
	return dst
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
