package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nfr-project/nfr/pkg/api"
)

// page reads the follow cursor and returns the next page of the tenant's
// alerts, the new cursor and whether more follow. An empty cursor starts at
// the first alert the tenant has.
func (s *Server) page(w http.ResponseWriter, r *http.Request, t Tenant) (rows []storedAlert, follow string, more, ok bool) {
	q := r.URL.Query()
	follow = q.Get("follow")
	var after int64
	if follow != "" {
		var err error
		after, err = strconv.ParseInt(follow, 10, 64)
		if err != nil || after < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("bad follow cursor %q", follow))
			return nil, "", false, false
		}
	}
	limit := s.cfg.AlertsPage
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("bad limit %q", l))
			return nil, "", false, false
		}
		limit = min(n, 1000)
	}
	rows, err := s.store.Alerts(t.ID, after, limit+1)
	if err != nil {
		s.internalError(w, err)
		return nil, "", false, false
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	if len(rows) > 0 {
		follow = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	} else if follow == "" {
		follow = "0"
	}
	return rows, follow, more, true
}

func (s *Server) getAlerts(w http.ResponseWriter, r *http.Request, t Tenant) {
	rows, follow, more, ok := s.page(w, r, t)
	if !ok {
		return
	}
	resp := api.AlertsResponse{Follow: follow, More: more, Alerts: make([]api.Alert, 0, len(rows)), Threats: map[string]api.ThreatInfo{}}
	for _, row := range rows {
		var threats map[string]api.ThreatInfo
		var flags []string
		if err := json.Unmarshal([]byte(row.Threats), &threats); err != nil {
			s.internalError(w, fmt.Errorf("alert %d: threats: %w", row.ID, err))
			return
		}
		if err := json.Unmarshal([]byte(row.Flags), &flags); err != nil {
			s.internalError(w, fmt.Errorf("alert %d: flags: %w", row.ID, err))
			return
		}
		var in api.Incident
		if err := json.Unmarshal([]byte(row.Incident), &in); err != nil {
			s.internalError(w, fmt.Errorf("alert %d: incident: %w", row.ID, err))
			return
		}
		for id, ti := range threats {
			resp.Threats[id] = ti
		}
		resp.Alerts = append(resp.Alerts, api.Alert{
			EventType: row.EventType,
			Event:     json.RawMessage(row.Event),
			Threats:   sortedKeys(threats),
			Wisdom:    api.Wisdom{Flags: flags},
			Incident:  in,
		})
	}
	if err := s.withStatus(t, rows, resp.Alerts); err != nil {
		s.internalError(w, err)
		return
	}
	s.metrics.alertsServed.Add(int64(len(rows)))
	writeJSON(w, http.StatusOK, resp)
}
