package alert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Alert is one decoded alert line, with the line itself.
type Alert struct {
	event.Event
	// Fields of score v2, zero when absent.
	ID        string
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Sensor    string

	// Line is the alert line as read (plus sensor when it was added).
	Line []byte
	// ThreatIDs are the keys of Threats, sorted by severity (highest
	// first), then name, so every format names the same main threat.
	ThreatIDs []string
}

// extras reads the fields event.Event does not have, in one pass over
// the line's top-level keys.
func (a *Alert) extras(line []byte) error {
	var err error
	str := func(v []byte, dst *string) {
		if err == nil {
			*dst, err = jsonString(v)
		}
	}
	tm := func(v []byte, dst *time.Time) {
		var s string
		if str(v, &s); err == nil && s != "" {
			*dst, err = event.ParseTime(s)
		}
	}
	event.Fields(line, func(k, v []byte) {
		switch string(k) {
		case "id":
			str(v, &a.ID)
		case "sensor":
			str(v, &a.Sensor)
		case "firstSeen":
			tm(v, &a.FirstSeen)
		case "lastSeen":
			tm(v, &a.LastSeen)
		case "count":
			if err == nil && string(v) != "null" {
				a.Count, err = strconv.ParseInt(string(v), 10, 64)
			}
		}
	})
	return err
}

// jsonString decodes a JSON string value; null is "".
func jsonString(v []byte) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	var s *string
	if err := json.Unmarshal(v, &s); err != nil || s == nil {
		return "", err
	}
	return *s, nil
}

// Parse decodes line into a, which keeps a reference to line.
func Parse(line []byte, a *Alert) error {
	a.Event.Reset()
	a.ID, a.Count, a.FirstSeen, a.LastSeen, a.Sensor = "", 0, time.Time{}, time.Time{}, ""
	a.Line = line
	if err := event.Unmarshal(line, &a.Event); err != nil {
		return err
	}
	if err := a.extras(line); err != nil {
		return err
	}
	a.ThreatIDs = a.ThreatIDs[:0]
	for id := range a.Threats {
		a.ThreatIDs = append(a.ThreatIDs, id)
	}
	sort.Slice(a.ThreatIDs, func(i, j int) bool {
		ti, tj := a.Threats[a.ThreatIDs[i]], a.Threats[a.ThreatIDs[j]]
		if ti.Severity != tj.Severity {
			return ti.Severity > tj.Severity
		}
		return a.ThreatIDs[i] < a.ThreatIDs[j]
	})
	return nil
}

// WithSensor returns line with "sensor":name added when it has none; dst
// is reused.
func WithSensor(dst, line []byte, name string) []byte {
	if name == "" || bytes.Contains(line, []byte(`"sensor":`)) {
		return append(dst[:0], line...)
	}
	v, _ := json.Marshal(name)
	return event.SetField(dst[:0], line, "sensor", v)
}

// Main returns the id and title of the alert's main threat.
func (a *Alert) Main() (id, title string) {
	if len(a.ThreatIDs) == 0 {
		return "unknown", "NFR alert"
	}
	id = a.ThreatIDs[0]
	return id, a.Threats[id].Title
}

// Policy reports whether every threat of the alert is a policy violation.
func (a *Alert) Policy() bool {
	if len(a.Threats) == 0 {
		return false
	}
	for _, t := range a.Threats {
		if !t.Policy {
			return false
		}
	}
	return true
}

// Subject is what the alert is about: the DNS name, HTTP URL or host, TLS
// server name, or the destination address.
func (a *Alert) Subject() string {
	switch {
	case a.Query != "":
		return a.Query
	case a.URL != "":
		return a.URL
	case a.Host != "":
		return a.Host
	case a.SNI != "":
		return a.SNI
	case a.DestIP.IsValid():
		return a.DestIP.String()
	}
	return ""
}

// Time is when the alert happened: ts, else lastSeen.
func (a *Alert) Time() time.Time {
	if !a.TS.IsZero() {
		return a.TS
	}
	return a.LastSeen
}

// SyslogSeverity maps NFR severity 1-5 to a syslog severity: 5 crit,
// 4 err, 3 warning, 2 notice, 1 (and anything else) info.
func SyslogSeverity(sev int) int {
	switch {
	case sev >= 5:
		return 2
	case sev == 4:
		return 3
	case sev == 3:
		return 4
	case sev == 2:
		return 5
	}
	return 6
}

func hostPort(ip interface{ String() string }, port uint16) string {
	return ip.String() + ":" + strconv.Itoa(int(port))
}

// Route selects the alerts an output receives.
type Route struct {
	MinSeverity int
	Include     []string // threat ids; empty means all
	Exclude     []string // threat ids
	Groups      []string // scope groups; empty means all
	Policy      *bool    // nil: any; false: no policy-only alerts; true: only those
}

// Empty reports whether the route takes every alert.
func (r *Route) Empty() bool {
	return r.MinSeverity <= 1 && len(r.Include) == 0 && len(r.Exclude) == 0 && len(r.Groups) == 0 && r.Policy == nil
}

// Match reports whether the route takes a.
func (r *Route) Match(a *Alert) bool {
	if a.Severity < r.MinSeverity {
		return false
	}
	if r.Policy != nil && a.Policy() != *r.Policy {
		return false
	}
	if len(r.Include) > 0 && !anyThreat(a, r.Include) {
		return false
	}
	if len(r.Exclude) > 0 {
		// An alert is dropped only when every threat it carries is excluded.
		left := false
		for id := range a.Threats {
			if !contains(r.Exclude, id) {
				left = true
			}
		}
		if !left {
			return false
		}
	}
	if len(r.Groups) > 0 {
		ok := false
		for _, g := range a.Groups {
			if contains(r.Groups, g) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func anyThreat(a *Alert, ids []string) bool {
	for id := range a.Threats {
		if contains(ids, id) {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// String is for messages.
func (r Route) String() string {
	return fmt.Sprintf("min_severity=%d include=%v exclude=%v groups=%v", r.MinSeverity, r.Include, r.Exclude, r.Groups)
}
