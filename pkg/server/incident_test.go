package server

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// TestStoreMigratesIncident opens a database of schema 1 (alerts without
// the incident column), as an older nfr-engine left it: the column is
// added, old rows read back with an empty incident, new rows keep theirs.
func TestStoreMigratesIncident(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant INTEGER NOT NULL, created INTEGER NOT NULL,
			event_type TEXT NOT NULL, event TEXT NOT NULL, threats TEXT NOT NULL, flags TEXT NOT NULL)`,
		`INSERT INTO alerts(tenant, created, event_type, event, threats, flags) VALUES (1, 0, 'dns', '{}', '{}', '[]')`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	st, err := OpenStore(path, SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Server{store: st}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &event.Event{Type: event.TypeAlert, EventType: event.TypeDNS, TS: ts, Query: "x.evil.test", Severity: 5,
		Threats: testThreat, Reason: "why", ID: "abc", Count: 3, FirstSeen: ts, LastSeen: ts.Add(time.Minute), Examples: []string{"evil.test"}}
	if err := s.storeAlert(st.insAlert, 1, ts, a); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Alerts(1, 0, 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if rows[0].Incident != "{}" {
		t.Errorf("old row: incident %q", rows[0].Incident)
	}
	want := `{"severity":5,"reason":"why","id":"abc","count":3,"firstSeen":"2026-01-01T00:00:00Z","lastSeen":"2026-01-01T00:01:00Z","examples":["evil.test"]}`
	if rows[1].Incident != want {
		t.Errorf("new row: incident %s\nwant %s", rows[1].Incident, want)
	}
}
