// Package api holds the wire types of the AlphaSOC analytics API v1, spoken by
// nfr-submit and nfr-account (clients) and nfr-engine (server).
//
// Endpoints: POST /v1/events/{dns,ip,http,tls} with an NDJSON body of events in
// nfr-event(5) field names, answered by EventsResponse (and
// POST /v1/events/ssh, NFR's extension, which a plain AlphaSOC server
// answers 404); GET /v1/alerts?follow=
// CURSOR answered by AlertsResponse; POST /v1/account/register
// (RegisterRequest); GET /v1/account/status (StatusResponse); POST
// /v1/key/request (KeyRequest -> KeyResponse); POST /v1/key/reset
// (ResetRequest). Auth is HTTP Basic with the API key as user name and an
// empty password. Errors are non-2xx with ErrorResponse; 429 and 503 may carry
// Retry-After. A batch may carry an id in the BatchIDHeader so a server drops
// a replayed batch it already has.
package api

import (
	"encoding/json"
	"time"
)

// BatchIDHeader carries a batch's id on POST /v1/events/*.
const BatchIDHeader = "X-NFR-Batch-Id"

// EventsResponse answers POST /v1/events/TYPE.
type EventsResponse struct {
	Received int            `json:"received"`
	Accepted int            `json:"accepted"`
	Rejected map[string]int `json:"rejected,omitempty"` // reason -> count
}

// AlertsResponse answers GET /v1/alerts.
type AlertsResponse struct {
	Follow  string                `json:"follow"`
	More    bool                  `json:"more"`
	Alerts  []Alert               `json:"alerts"`
	Threats map[string]ThreatInfo `json:"threats"`
}

// Alert is one alert on the wire.
type Alert struct {
	EventType string          `json:"eventType"`
	Event     json.RawMessage `json:"event"`
	Threats   []string        `json:"threats"`
	Wisdom    Wisdom          `json:"wisdom"`
	Incident
	// Status is NFR's extension: what an analyst said of the alert in the
	// nfr-engine console. Other servers leave it out; clients that do not
	// know it ignore it.
	Status *AlertStatus `json:"nfrStatus,omitempty"`
}

// AlertStatus is an alert's triage state in the nfr-engine console.
type AlertStatus struct {
	State string    `json:"state"` // acknowledged or closed
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
}

// Incident carries what nfr-score says about an alert besides its threats
// (NFR's extension of the wire format; see nfr-event(5)): why, and the
// incident it belongs to. An update of an incident repeats its id with a
// higher count.
type Incident struct {
	Severity  int        `json:"severity,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	ID        string     `json:"id,omitempty"`
	Count     int        `json:"count,omitempty"`
	FirstSeen *time.Time `json:"firstSeen,omitempty"`
	LastSeen  *time.Time `json:"lastSeen,omitempty"`
	Examples  []string   `json:"examples,omitempty"`
}

// Wisdom carries weaker signals about an alert's event.
type Wisdom struct {
	Flags  []string `json:"flags,omitempty"`
	Labels []string `json:"labels,omitempty"`
}

// ThreatInfo describes a threat id.
type ThreatInfo struct {
	Title    string `json:"title"`
	Severity int    `json:"severity"`
	Policy   bool   `json:"policy"`
}

// RegisterRequest is POST /v1/account/register.
type RegisterRequest struct {
	Details struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"details"`
}

// StatusResponse answers GET /v1/account/status.
type StatusResponse struct {
	Registered bool      `json:"registered"`
	Expired    bool      `json:"expired"`
	Messages   []Message `json:"messages"`
}

// Message is an account message.
type Message struct {
	Level int    `json:"level"`
	Body  string `json:"body"`
}

// KeyRequest is POST /v1/key/request.
type KeyRequest struct {
	Platform struct {
		Name string `json:"name"`
	} `json:"platform"`
}

// KeyResponse answers POST /v1/key/request.
type KeyResponse struct {
	Key string `json:"key"`
}

// ResetRequest is POST /v1/key/reset.
type ResetRequest struct {
	Email string `json:"email"`
}

// ErrorResponse is the body of a non-2xx answer.
type ErrorResponse struct {
	Message string `json:"message"`
}
