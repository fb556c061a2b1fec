package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// The 2017 protocol of the original NFR client: DNS only. POST /v1/queries
// takes {"data":[[ts, srcIP, qtype, fqdn], ...]}; GET /v1/events?follow=
// answers alerts on DNS events as {"follow","more","events":[{"type","ts":[...],
// "ip","record_type","fqdn","risk","flags","threats"}],"threats":{...}}, on
// the same cursor as /v1/alerts.

type legacyQueries struct {
	Data [][]string `json:"data"`
}

type legacyEvents struct {
	Follow  string                  `json:"follow"`
	More    bool                    `json:"more"`
	Events  []legacyEvent           `json:"events"`
	Threats map[string]legacyThreat `json:"threats"`
}

type legacyEvent struct {
	Type       string   `json:"type"`
	TS         []string `json:"ts"`
	IP         string   `json:"ip"`
	RecordType string   `json:"record_type"`
	FQDN       string   `json:"fqdn"`
	Risk       int      `json:"risk"`
	Flags      []string `json:"flags"`
	Threats    []string `json:"threats"`
}

type legacyThreat struct {
	Title      string `json:"title"`
	Severity   int    `json:"severity"`
	Policy     bool   `json:"policy"`
	Deprecated bool   `json:"deprecated"`
}

func (s *Server) postQueries(w http.ResponseWriter, r *http.Request, t Tenant) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); bufPool.Put(buf) }()
	if !s.acquireDecoder(w, r) {
		return
	}
	if !s.readBody(w, r, buf) {
		s.releaseDecoder()
		return
	}
	evs, resp, err := DecodeQueries(buf.Bytes())
	s.releaseDecoder()
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return
	}
	s.submit(w, r, &job{tenant: t, typ: event.TypeDNS, events: evs, resp: resp})
}

// DecodeQueries decodes a 2017 POST /v1/queries body into DNS events; a
// body that is not the expected JSON is an error, a bad query is counted.
func DecodeQueries(body []byte) ([]event.Event, api.EventsResponse, error) {
	var resp api.EventsResponse
	var req legacyQueries
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, resp, err
	}
	evs := make([]event.Event, 0, len(req.Data))
	for _, q := range req.Data {
		resp.Received++
		reason := ""
		var ev event.Event
		if len(q) != 4 {
			reason = ReasonMalformed
		} else {
			ev = event.Event{Type: event.TypeDNS, V: event.Version, QType: strings.ToUpper(q[2]),
				Query: strings.ToLower(strings.TrimSuffix(q[3], "."))}
			var err error
			if ev.TS, err = event.ParseTime(q[0]); err != nil {
				reason = ReasonInvalidField
			} else if a, err := netip.ParseAddr(q[1]); err != nil {
				reason = ReasonInvalidField
			} else if ev.SrcIP = a.Unmap(); ev.Query == "" {
				reason = ReasonMissingQuery
			} else if event.CheckLengths(&ev) != nil {
				reason = ReasonInvalidField
			}
		}
		if reason != "" {
			if resp.Rejected == nil {
				resp.Rejected = map[string]int{}
			}
			resp.Rejected[reason]++
			continue
		}
		resp.Accepted++
		evs = append(evs, ev)
	}
	return evs, resp, nil
}

func (s *Server) getLegacyEvents(w http.ResponseWriter, r *http.Request, t Tenant) {
	rows, follow, more, ok := s.page(w, r, t)
	if !ok {
		return
	}
	resp := legacyEvents{Follow: follow, More: more, Events: []legacyEvent{}, Threats: map[string]legacyThreat{}}
	var ev event.Event
	for _, row := range rows {
		if row.EventType != event.TypeDNS {
			continue // the 2017 protocol knew only DNS
		}
		var threats map[string]api.ThreatInfo
		var flags []string
		if err := json.Unmarshal([]byte(row.Threats), &threats); err != nil {
			s.internalError(w, err)
			return
		}
		if err := json.Unmarshal([]byte(row.Flags), &flags); err != nil {
			s.internalError(w, err)
			return
		}
		if err := event.Unmarshal([]byte(row.Event), &ev); err != nil {
			s.internalError(w, err)
			return
		}
		le := legacyEvent{Type: "alert", IP: addrString(ev.SrcIP), RecordType: ev.QType, FQDN: ev.Query,
			Flags: flags, Threats: sortedKeys(threats)}
		if !ev.TS.IsZero() {
			le.TS = []string{string(event.AppendTime(nil, ev.TS))}
		}
		for id, ti := range threats {
			le.Risk = max(le.Risk, ti.Severity)
			resp.Threats[id] = legacyThreat{Title: ti.Title, Severity: ti.Severity, Policy: ti.Policy}
		}
		resp.Events = append(resp.Events, le)
	}
	writeJSON(w, http.StatusOK, resp)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
