package report

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"
)

// Severity names, index = level.
var sevNames = [...]string{"none", "info", "low", "medium", "high", "critical"}

// SeverityName returns the word for a severity level 1-5.
func SeverityName(n int) string {
	if n < 0 || n >= len(sevNames) {
		return "unknown"
	}
	return sevNames[n]
}

// palette colours threats in the chart and legend, most frequent first.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#8cd17d", "#86bcb6", "#d37295"}

// Options are the page's settings.
type Options struct {
	Title     string    // default "NFR report"
	Generated time.Time // shown in the footer; zero: not shown
	Top       int       // rows in the top sources and destinations; default 10
}

// ThreatCount is one row of the alerts-by-threat table.
type ThreatCount struct {
	Threat
	Alerts  int
	Events  int64 // sum of the incidents' counts, or Alerts
	Sources int
	Color   string
	Share   float64 // of the most frequent threat, 0-1
}

// SevCount is one severity level's count.
type SevCount struct {
	Level  int
	Name   string
	Alerts int
	Share  float64 // of all alerts
}

// HostCount is one row of the top sources or destinations.
type HostCount struct {
	Name     string
	Alerts   int
	Severity int // the highest
	Threats  []string
	Share    float64 // of the first row
}

// TypeCount counts lines of one other type.
type TypeCount struct {
	Type  string
	Lines int64
}

// Page is everything the template shows.
type Page struct {
	Title        string
	Generated    time.Time
	Inputs       []string
	Origins      []string // the alerts' interfaces and files, most alerts first
	First, Last  time.Time
	Span         string
	Total        int
	Events       int64 // events behind the alerts (incident counts)
	Sources      int
	Dests        int
	BySeverity   []SevCount
	ByThreat     []ThreatCount
	Timeline     template.HTML
	TopSources   []HostCount
	TopDests     []HostCount
	Alerts       []Alert
	Other        []TypeCount
	Skipped      int64
	HasIncidents bool
	colors       map[string]string
}

// Build summarises s into a page. The alerts are shown in time order.
func Build(s *Set, o Options) *Page {
	if o.Title == "" {
		o.Title = "NFR report"
	}
	if o.Top <= 0 {
		o.Top = 10
	}
	p := &Page{Title: o.Title, Generated: o.Generated, Inputs: s.Inputs, Skipped: s.Skipped,
		Total: len(s.Alerts), colors: map[string]string{}}
	p.Alerts = append([]Alert(nil), s.Alerts...)
	sort.SliceStable(p.Alerts, func(i, j int) bool { return p.Alerts[i].TS.Before(p.Alerts[j].TS) })
	for t, n := range s.Events {
		p.Other = append(p.Other, TypeCount{t, n})
	}
	sort.Slice(p.Other, func(i, j int) bool { return p.Other[i].Type < p.Other[j].Type })

	threats := map[string]*ThreatCount{}
	threatSrc := map[string]map[string]bool{}
	origins := map[string]*HostCount{}
	src := map[string]*HostCount{}
	dst := map[string]*HostCount{}
	var sev [6]int
	for i := range p.Alerts {
		a := &p.Alerts[i]
		if a.ID != "" || a.Count > 0 {
			p.HasIncidents = true
		}
		// An incident spans its first to its latest finding.
		first, last := a.TS, a.TS
		if !a.FirstSeen.IsZero() && (first.IsZero() || a.FirstSeen.Before(first)) {
			first = a.FirstSeen
		}
		if a.LastSeen.After(last) {
			last = a.LastSeen
		}
		if !first.IsZero() {
			if p.First.IsZero() || first.Before(p.First) {
				p.First = first
			}
			if last.After(p.Last) {
				p.Last = last
			}
		}
		if a.Severity >= 1 && a.Severity <= 5 {
			sev[a.Severity]++
		}
		n := a.Count
		if n <= 0 {
			n = 1
		}
		p.Events += n
		for _, t := range a.Threats {
			tc := threats[t.ID]
			if tc == nil {
				tc = &ThreatCount{Threat: t}
				threats[t.ID] = tc
				threatSrc[t.ID] = map[string]bool{}
			}
			tc.Alerts++
			tc.Events += n
			threatSrc[t.ID][a.SrcIP] = true
		}
		countHost(origins, a.Origin, a)
		countHost(src, a.SrcIP, a)
		countHost(dst, a.Dest(), a)
	}
	for t, tc := range threats {
		tc.Sources = len(threatSrc[t])
		p.ByThreat = append(p.ByThreat, *tc)
	}
	sort.Slice(p.ByThreat, func(i, j int) bool {
		a, b := p.ByThreat[i], p.ByThreat[j]
		if a.Alerts != b.Alerts {
			return a.Alerts > b.Alerts
		}
		return a.ID < b.ID
	})
	for i := range p.ByThreat {
		tc := &p.ByThreat[i]
		tc.Color = palette[i%len(palette)]
		tc.Share = float64(tc.Alerts) / float64(p.ByThreat[0].Alerts)
		p.colors[tc.ID] = tc.Color
	}
	for l := 5; l >= 1; l-- {
		if sev[l] > 0 {
			p.BySeverity = append(p.BySeverity, SevCount{l, SeverityName(l), sev[l], float64(sev[l]) / float64(p.Total)})
		}
	}
	p.Sources, p.Dests = len(src), len(dst)
	p.TopSources = top(src, o.Top)
	p.TopDests = top(dst, o.Top)
	for _, o := range top(origins, 5) {
		p.Origins = append(p.Origins, o.Name)
	}
	if len(origins) > 5 {
		p.Origins = append(p.Origins, fmt.Sprintf("%d more", len(origins)-5))
	}
	p.Span = span(p.First, p.Last)
	p.Timeline = timeline(p)
	return p
}

func countHost(m map[string]*HostCount, name string, a *Alert) {
	if name == "" {
		return
	}
	h := m[name]
	if h == nil {
		h = &HostCount{Name: name}
		m[name] = h
	}
	h.Alerts++
	h.Severity = max(h.Severity, a.Severity)
	for _, t := range a.Threats {
		if !contains(h.Threats, t.ID) {
			h.Threats = append(h.Threats, t.ID)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func top(m map[string]*HostCount, n int) []HostCount {
	out := make([]HostCount, 0, len(m))
	for _, h := range m {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Alerts != out[j].Alerts {
			return out[i].Alerts > out[j].Alerts
		}
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Share = float64(out[i].Alerts) / float64(out[0].Alerts)
	}
	return out
}

// span says how long first..last is, in words.
func span(first, last time.Time) string {
	if first.IsZero() {
		return ""
	}
	d := last.Sub(first)
	switch {
	case d < time.Second:
		return "under a second"
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < time.Hour:
		return short(int(d/time.Minute), "min", int(d%time.Minute/time.Second), "s")
	case d < 48*time.Hour:
		return short(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "min")
	default:
		return short(int(d/(24*time.Hour)), "days", int(d%(24*time.Hour)/time.Hour), "h")
	}
}

// short writes "30 min 14 s", leaving out a zero second part.
func short(n int, unit string, m int, unit2 string) string {
	if m == 0 {
		return fmt.Sprintf("%d %s", n, unit)
	}
	return fmt.Sprintf("%d %s %d %s", n, unit, m, unit2)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Color returns the chart colour of a threat.
func (p *Page) Color(id string) string {
	if c, ok := p.colors[id]; ok {
		return c
	}
	return "#888888"
}

// ThreatIDs returns the alert's threat ids as " a b " for the script's
// filter.
func ThreatIDs(a *Alert) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, t := range a.Threats {
		b.WriteString(t.ID)
		b.WriteByte(' ')
	}
	return b.String()
}

// SearchText is everything a person may type into the filter box to find
// this alert, lower case.
func SearchText(a *Alert) string {
	var b strings.Builder
	add := func(s string) {
		if s != "" {
			b.WriteString(strings.ToLower(s))
			b.WriteByte('\n')
		}
	}
	add(a.SrcIP)
	add(a.DestIP)
	add(a.Indicator)
	add(a.Reason)
	add(a.EventType)
	add(a.ID)
	for _, t := range a.Threats {
		add(t.ID)
		add(t.Title)
	}
	for _, f := range a.Flags {
		add(f)
	}
	for _, g := range a.Groups {
		add(g)
	}
	for _, f := range a.Fields {
		add(f.Value)
	}
	return b.String()
}
