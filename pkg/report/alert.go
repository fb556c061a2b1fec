// Package report turns a stream of NFR alerts (nfr-event(5) lines of type
// alert, as nfr-score and nfr-submit write them) into one self-contained
// HTML page: a summary, a timeline of alerts per threat drawn here as SVG,
// the top sources and destinations, and every alert with its reason and
// evidence, sortable and filterable by a small embedded script.
//
// The page fetches nothing: its style and script are inline and allowed by
// hash in a strict Content-Security-Policy, so it opens on an air-gapped
// laptop and an alert carrying markup cannot run code in it. Every string
// of an alert may come from an attacker; html/template escapes all of them.
package report

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Threat is one threat an alert carries.
type Threat struct {
	ID       string `json:"-"`
	Title    string `json:"title"`
	Severity int    `json:"severity"`
	Policy   bool   `json:"policy"`
}

// Field is one evidence field of an alert, as text.
type Field struct {
	Key, Value string
}

// Alert is one alert line, decoded for display. Fields the page shows in
// their own place have their own member; every other field of the line is
// kept, in the order of the line, in Fields.
type Alert struct {
	N         int // 1-based position in the input
	TS        time.Time
	EventType string
	Severity  int
	Threats   []Threat // highest severity first
	Flags     []string
	Reason    string
	SrcIP     string
	SrcPort   int
	DestIP    string
	DestPort  int
	Proto     string
	Groups    []string
	Origin    string // the event's "source": the interface or file it came from
	// Indicator is what the alert is about: the query, host and URL, SNI,
	// or empty for a flow.
	Indicator string
	// Incident fields (nfr-score v2): set when present.
	ID        string
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time

	Fields []Field

	// Set by the engine console: the alert's row id, its page, and what
	// an analyst said of it.
	Key    int64
	Link   string
	Status string // acknowledged, closed; empty while open
	Note   string
	NoteAt time.Time
}

// Primary returns the alert's highest-severity threat id.
func (a *Alert) Primary() string {
	if len(a.Threats) == 0 {
		return ""
	}
	return a.Threats[0].ID
}

// Dest is the destination shown for the alert: the indicator when there is
// one, else the destination address.
func (a *Alert) Dest() string {
	if a.Indicator != "" {
		return a.Indicator
	}
	return a.DestIP
}

// Set is what was read: the alerts, plus counts of what was not an alert.
type Set struct {
	Alerts  []Alert
	Events  map[string]int64 // lines of other types, by type
	Inputs  []string         // names read, "-" for stdin
	Lines   int64
	Skipped int64 // bad lines, each reported through Warn
	// Updates counts alert lines that were updates of an incident
	// already in Alerts (same id): the incident keeps its place and takes
	// the update with the highest count, as nfr-event(5) tells consumers.
	Updates int64

	byID map[string]int // incident id -> index in Alerts
}

// Read adds the alerts of r to s. A line that is not JSON, or an alert that
// cannot be decoded, is skipped, counted and reported through warn with
// name and line number; only a read error of r is returned.
func (s *Set) Read(r io.Reader, name string, warn func(string)) error {
	rd := event.NewReader(r, name)
	rd.Warn = warn
	s.Inputs = append(s.Inputs, rd.Name)
	defer func() { s.Skipped += rd.Skipped() }()
	for {
		line, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		s.Lines++
		var a Alert
		typ, err := decode(line, &a, false)
		if err != nil {
			rd.Skip(err.Error())
			continue
		}
		if typ != event.TypeAlert {
			if s.Events == nil {
				s.Events = map[string]int64{}
			}
			s.Events[typ]++
			continue
		}
		if a.ID != "" {
			if i, ok := s.byID[a.ID]; ok {
				s.Updates++
				if a.Count >= s.Alerts[i].Count {
					a.N = s.Alerts[i].N
					s.Alerts[i] = a
				}
				continue
			}
			if s.byID == nil {
				s.byID = map[string]int{}
			}
			s.byID[a.ID] = len(s.Alerts)
		}
		a.N = len(s.Alerts) + 1
		s.Alerts = append(s.Alerts, a)
	}
}

// FromEvent decodes an alert from an event line and the threats and flags
// kept beside it, as nfr-engine stores alerts.
func FromEvent(line []byte, threats map[string]Threat, flags []string) (Alert, error) {
	var a Alert
	typ, err := decode(line, &a, true)
	if err != nil {
		return a, err
	}
	if a.EventType == "" {
		a.EventType = typ
	}
	for id, t := range threats {
		t.ID = id
		a.Threats = append(a.Threats, t)
	}
	sortThreats(&a)
	a.Flags = flags
	return a, nil
}

// decode fills a from one line and returns the line's type. For a line of
// another type it stops early, unless whole is set.
func decode(line []byte, a *Alert, whole bool) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", errors.New("not a JSON object")
	}
	typ := ""
	var query, host, url, sni string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", badJSON(err)
		}
		key := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", badJSON(err)
		}
		if err := a.set(key, raw, &typ, &query, &host, &url, &sni); err != nil {
			return "", fmt.Errorf("field %q: %v", key, err)
		}
		if !whole && typ != "" && typ != event.TypeAlert {
			return typ, nil
		}
	}
	if typ == "" {
		return "", errors.New(`no "type" field`)
	}
	switch {
	case query != "":
		a.Indicator = query
	case host != "" || url != "":
		a.Indicator = host + url
	case sni != "":
		a.Indicator = sni
	}
	sortThreats(a)
	return typ, nil
}

// sortThreats puts the highest severity first and sets the alert's severity
// from its threats when the line had none.
func sortThreats(a *Alert) {
	sort.SliceStable(a.Threats, func(i, j int) bool {
		if a.Threats[i].Severity != a.Threats[j].Severity {
			return a.Threats[i].Severity > a.Threats[j].Severity
		}
		return a.Threats[i].ID < a.Threats[j].ID
	})
	if a.Severity == 0 && len(a.Threats) > 0 {
		a.Severity = a.Threats[0].Severity
	}
}

func badJSON(err error) error {
	return fmt.Errorf("bad JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
}

func (a *Alert) set(key string, raw json.RawMessage, typ, query, host, url, sni *string) error {
	var err error
	switch key {
	case "type":
		err = json.Unmarshal(raw, typ)
		return err
	case "v":
		return nil
	case "ts":
		a.TS, err = timeField(raw)
		return err
	case "firstSeen":
		a.FirstSeen, err = timeField(raw)
		return err
	case "lastSeen":
		a.LastSeen, err = timeField(raw)
		return err
	case "eventType":
		return json.Unmarshal(raw, &a.EventType)
	case "severity":
		return json.Unmarshal(raw, &a.Severity)
	case "threats":
		var m map[string]Threat
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		for id, t := range m {
			t.ID = id
			a.Threats = append(a.Threats, t)
		}
		return nil
	case "flags":
		return json.Unmarshal(raw, &a.Flags)
	case "reason":
		return json.Unmarshal(raw, &a.Reason)
	case "srcIP":
		return addrField(raw, &a.SrcIP)
	case "destIP":
		return addrField(raw, &a.DestIP)
	case "srcPort":
		return json.Unmarshal(raw, &a.SrcPort)
	case "destPort":
		return json.Unmarshal(raw, &a.DestPort)
	case "proto":
		return json.Unmarshal(raw, &a.Proto)
	case "groups":
		return json.Unmarshal(raw, &a.Groups)
	case "id":
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			a.ID = n.String()
			return nil
		}
		return json.Unmarshal(raw, &a.ID)
	case "count":
		return json.Unmarshal(raw, &a.Count)
	}
	v := fieldText(raw)
	switch key {
	case "query":
		*query = v
	case "host":
		*host = v
	case "url":
		*url = v
	case "sni":
		*sni = v
	case "source":
		a.Origin = v
	}
	a.Fields = append(a.Fields, Field{key, v})
	return nil
}

func timeField(raw json.RawMessage) (time.Time, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		return event.ParseTime(s)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, errors.New("not a time")
	}
	sec, nsec, err := event.ParseEpoch(n.String())
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec).UTC(), nil
}

func addrField(raw json.RawMessage, dst *string) error {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("bad address %q", s)
	}
	*dst = s
	return nil
}

// fieldText renders any JSON value as text for a person: strings as they
// are, lists joined with ", ", anything else as compact JSON.
func fieldText(raw json.RawMessage) string {
	switch raw[0] { // the decoder gave a whole value: never empty
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			break
		}
		parts := make([]string, len(list))
		for i, v := range list {
			parts[i] = fieldText(v)
		}
		return strings.Join(parts, ", ")
	case 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// sortKey turns an address into a string that sorts in address order.
func sortKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	b := a.As16()
	return hex.EncodeToString(b[:])
}
