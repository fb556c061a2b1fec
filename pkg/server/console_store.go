package server

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

// consoleSchema is the console's part of the database. The alerts table
// keeps each alert's event as JSON; console_alerts holds the columns the
// console filters on (event time, severity, source, scope groups) and
// console_threats one row per threat, each indexed, so a page over a
// million alerts reads an index range instead of every row. alert_status is
// what analysts said of an alert.
const consoleSchema = `
CREATE TABLE IF NOT EXISTS console_alerts (
	alert    INTEGER PRIMARY KEY, -- alerts.id
	tenant   INTEGER NOT NULL,
	ts       INTEGER NOT NULL,    -- the event's time, Unix milliseconds
	severity INTEGER NOT NULL,
	src      TEXT NOT NULL,
	groups   TEXT NOT NULL        -- " a b ", for LIKE '% a %'
);
CREATE INDEX IF NOT EXISTS console_alerts_tenant ON console_alerts(tenant, alert);
CREATE INDEX IF NOT EXISTS console_alerts_sev ON console_alerts(tenant, severity, alert);
CREATE INDEX IF NOT EXISTS console_alerts_src ON console_alerts(tenant, src, alert);
CREATE INDEX IF NOT EXISTS console_alerts_ts ON console_alerts(tenant, ts);
CREATE TABLE IF NOT EXISTS console_threats (
	tenant INTEGER NOT NULL,
	threat TEXT NOT NULL,
	alert  INTEGER NOT NULL,
	PRIMARY KEY (tenant, threat, alert)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS console_counts (
	tenant INTEGER NOT NULL,
	threat TEXT NOT NULL,
	alerts INTEGER NOT NULL,    -- alerts indexed with this threat
	PRIMARY KEY (tenant, threat)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_status (
	alert  INTEGER PRIMARY KEY, -- alerts.id
	tenant INTEGER NOT NULL,
	state  TEXT NOT NULL,       -- acknowledged, closed
	note   TEXT NOT NULL,
	at     INTEGER NOT NULL     -- Unix seconds
);
CREATE INDEX IF NOT EXISTS alert_status_state ON alert_status(tenant, state, alert);
`

// AlertStatus is what an analyst said of an alert in the console; the API
// serves it as the alert's extension field "nfrStatus".
type AlertStatus = api.AlertStatus

// migrateConsole creates the console's tables; they sit beside the
// engine's own and are filled from them, so an older database gains them
// on the first start.
func (s *Store) migrateConsole() error {
	_, err := s.w.Exec(consoleSchema + consoleAdminSchema)
	return err
}

// indexConsole adds the alerts stored since the last call to the console's
// index tables, at most chunk rows a transaction, and returns how many. It
// stops after the first transaction that ends past deadline (zero: none),
// reporting more when alerts are left.
func (s *Store) indexConsole(chunk int, deadline time.Time) (total int, more bool, err error) {
	var last int64
	if err := s.r.QueryRow(`SELECT coalesce(max(alert), 0) FROM console_alerts`).Scan(&last); err != nil {
		return 0, false, err
	}
	for {
		rows, err := s.r.Query(`SELECT id, tenant, event, threats FROM alerts WHERE id > ? ORDER BY id LIMIT ?`, last, chunk)
		if err != nil {
			return total, false, err
		}
		type row struct {
			id, tenant  int64
			ts          int64
			sev         int
			src, groups string
			threats     []string
		}
		var batch []row
		var ev event.Event
		for rows.Next() {
			var r row
			var evJSON, thJSON []byte
			if err := rows.Scan(&r.id, &r.tenant, &evJSON, &thJSON); err != nil {
				rows.Close()
				return total, false, err
			}
			// A row that does not decode is still indexed, with what is
			// known, so the console lists it and the index moves on.
			if event.Unmarshal(evJSON, &ev) == nil {
				r.ts = ev.TS.UnixMilli()
				if ev.SrcIP.IsValid() {
					r.src = ev.SrcIP.String()
				}
				if len(ev.Groups) > 0 {
					r.groups = " " + strings.Join(ev.Groups, " ") + " "
				}
			}
			var th map[string]api.ThreatInfo
			if json.Unmarshal(thJSON, &th) == nil {
				for id, t := range th {
					r.threats = append(r.threats, id)
					r.sev = max(r.sev, t.Severity)
				}
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, false, err
		}
		if len(batch) == 0 {
			return total, false, nil
		}
		tx, err := s.w.Begin()
		if err != nil {
			return total, false, err
		}
		insA, err := tx.Prepare(`INSERT OR IGNORE INTO console_alerts(alert, tenant, ts, severity, src, groups) VALUES (?, ?, ?, ?, ?, ?)`)
		var insT, count *sql.Stmt
		if err == nil {
			insT, err = tx.Prepare(`INSERT OR IGNORE INTO console_threats(tenant, threat, alert) VALUES (?, ?, ?)`)
		}
		if err == nil {
			count, err = tx.Prepare(`INSERT INTO console_counts(tenant, threat, alerts) VALUES (?, ?, ?)
				ON CONFLICT(tenant, threat) DO UPDATE SET alerts = alerts + excluded.alerts`)
		}
		counts := map[[2]any]int{}
		if err == nil {
			for _, r := range batch {
				if err != nil {
					break
				}
				if _, err = insA.Exec(r.id, r.tenant, r.ts, r.sev, r.src, r.groups); err != nil {
					break
				}
				for _, t := range r.threats {
					if _, err = insT.Exec(r.tenant, t, r.id); err != nil {
						break
					}
					counts[[2]any{r.tenant, t}]++
				}
			}
		}
		for k, n := range counts {
			if err != nil {
				break
			}
			_, err = count.Exec(k[0], k[1], n)
		}
		if err != nil {
			tx.Rollback()
			return total, false, err
		}
		if err := tx.Commit(); err != nil {
			return total, false, err
		}
		total += len(batch)
		last = batch[len(batch)-1].id
		if len(batch) < chunk {
			return total, false, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return total, true, nil
		}
	}
}

// AlertQuery selects a tenant's alerts for the console, newest first.
type AlertQuery struct {
	Tenant      int64
	From, To    time.Time // event time; zero: open
	MinSeverity int
	Threat      string
	Src         string
	Group       string
	Status      string // open, acknowledged, closed; empty: any
	Before      int64  // only alerts with a smaller row id; 0: from the newest
	Except      int64  // leave this alert out
	Limit       int
}

// consoleAlert is one alert row with its status.
type consoleAlert struct {
	storedAlert
	Status AlertStatus
}

// ConsoleAlerts returns the alerts q selects.
func (s *Store) ConsoleAlerts(q AlertQuery) ([]consoleAlert, error) {
	var b strings.Builder
	args := []any{}
	b.WriteString(`SELECT a.id, a.event_type, a.event, a.threats, a.flags, a.incident,
		coalesce(st.state, ''), coalesce(st.note, ''), coalesce(st.at, 0)
		FROM console_alerts c`)
	if q.Threat != "" {
		b.WriteString(` JOIN console_threats t ON t.tenant = c.tenant AND t.alert = c.alert AND t.threat = ?`)
		args = append(args, q.Threat)
	}
	b.WriteString(` LEFT JOIN alert_status st ON st.alert = c.alert JOIN alerts a ON a.id = c.alert WHERE c.tenant = ?`)
	args = append(args, q.Tenant)
	// A triaged state is rare: look the alerts up from alert_status's
	// index. Open alerts are most of them: walk the newest first.
	switch q.Status {
	case "acknowledged", "closed":
		b.WriteString(` AND c.alert IN (SELECT alert FROM alert_status WHERE tenant = ? AND state = ?)`)
		args = append(args, q.Tenant, q.Status)
	case "open":
		b.WriteString(` AND st.state IS NULL`)
	}
	if q.MinSeverity > 1 {
		// The unary + keeps SQLite off the severity index: a range of
		// severities in index order would need a sort of all of them,
		// while walking the newest alerts finds a page of common ones
		// at once.
		b.WriteString(` AND +c.severity >= ?`)
		args = append(args, q.MinSeverity)
	}
	if q.Src != "" {
		b.WriteString(` AND c.src = ?`)
		args = append(args, q.Src)
	}
	if q.Group != "" {
		b.WriteString(` AND c.groups LIKE ? ESCAPE '\'`)
		args = append(args, "% "+likeEscape(q.Group)+" %")
	}
	if !q.From.IsZero() {
		b.WriteString(` AND c.ts >= ?`)
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		b.WriteString(` AND c.ts < ?`)
		args = append(args, q.To.UnixMilli())
	}
	if q.Before > 0 {
		b.WriteString(` AND c.alert < ?`)
		args = append(args, q.Before)
	}
	if q.Except > 0 {
		b.WriteString(` AND c.alert != ?`)
		args = append(args, q.Except)
	}
	b.WriteString(` ORDER BY c.alert DESC LIMIT ?`)
	args = append(args, q.Limit)
	rows, err := s.r.Query(b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consoleAlert
	for rows.Next() {
		var a consoleAlert
		var at int64
		if err := rows.Scan(&a.ID, &a.EventType, &a.Event, &a.Threats, &a.Flags, &a.Incident, &a.Status.State, &a.Status.Note, &at); err != nil {
			return nil, err
		}
		if at != 0 {
			a.Status.At = time.Unix(at, 0).UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ConsoleAlert returns one alert of the tenant; found is false when the
// tenant has no alert with that id.
func (s *Store) ConsoleAlert(tenant, id int64) (a consoleAlert, found bool, err error) {
	var at int64
	err = s.r.QueryRow(`SELECT a.id, a.event_type, a.event, a.threats, a.flags, a.incident,
		coalesce(st.state, ''), coalesce(st.note, ''), coalesce(st.at, 0)
		FROM alerts a LEFT JOIN alert_status st ON st.alert = a.id WHERE a.id = ? AND a.tenant = ?`, id, tenant).
		Scan(&a.ID, &a.EventType, &a.Event, &a.Threats, &a.Flags, &a.Incident, &a.Status.State, &a.Status.Note, &at)
	if err == sql.ErrNoRows {
		return a, false, nil
	}
	if at != 0 {
		a.Status.At = time.Unix(at, 0).UTC()
	}
	return a, err == nil, err
}

// SetAlertStatus records an analyst's state and note for one of the
// tenant's alerts; state "open" removes it. It reports whether the tenant
// has that alert.
func (s *Store) SetAlertStatus(tenant, id int64, state, note string, at time.Time) (bool, error) {
	switch state {
	case "acknowledged", "closed", "open":
	default:
		return false, fmt.Errorf("unknown state %q", state)
	}
	tx, err := s.w.Begin()
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM alerts WHERE id = ? AND tenant = ?`, id, tenant).Scan(&n); err != nil || n == 0 {
		return false, err
	}
	if state == "open" {
		_, err = tx.Exec(`DELETE FROM alert_status WHERE alert = ?`, id)
	} else {
		_, err = tx.Exec(`INSERT INTO alert_status(alert, tenant, state, note, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(alert) DO UPDATE SET state = excluded.state, note = excluded.note, at = excluded.at`,
			id, tenant, state, note, at.Unix())
	}
	if err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// alertStatuses returns the statuses of the tenant's alerts with row ids
// from..to, for the API's extension field.
func (s *Store) alertStatuses(tenant, from, to int64) (map[int64]AlertStatus, error) {
	rows, err := s.r.Query(`SELECT alert, state, note, at FROM alert_status WHERE tenant = ? AND alert BETWEEN ? AND ?`, tenant, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int64]AlertStatus{}
	for rows.Next() {
		var id, at int64
		var st AlertStatus
		if err := rows.Scan(&id, &st.State, &st.Note, &at); err != nil {
			return nil, err
		}
		st.At = time.Unix(at, 0).UTC()
		m[id] = st
	}
	return m, rows.Err()
}

// ThreatCounts returns how many alerts the tenant has of each threat.
func (s *Store) ThreatCounts(tenant int64) (map[string]int64, error) {
	rows, err := s.r.Query(`SELECT threat, alerts FROM console_counts WHERE tenant = ?`, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		m[t] = n
	}
	return m, rows.Err()
}

// pruneConsole forgets the console's rows of alerts that retention deleted.
// Alerts are deleted oldest first and row ids grow with time, so every row
// below the smallest id left is gone. Per-threat counts are counted again.
func (s *Store) pruneConsole() error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var low int64
	if err := tx.QueryRow(`SELECT coalesce(min(id), 9223372036854775807) FROM alerts`).Scan(&low); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM console_alerts WHERE alert < ?1`,
		`DELETE FROM console_threats WHERE alert < ?1`,
		`DELETE FROM alert_status WHERE alert < ?1`,
		`DELETE FROM console_counts`,
		`INSERT INTO console_counts(tenant, threat, alerts) SELECT tenant, threat, count(*) FROM console_threats GROUP BY tenant, threat`,
	} {
		if _, err := tx.Exec(q, low); err != nil {
			return err
		}
	}
	return tx.Commit()
}
