package server

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// scorerStateSchema keeps the behavioural state of scorers the worker let
// go, so a tenant that comes back carries on where it stopped.
const scorerStateSchema = `
CREATE TABLE IF NOT EXISTS scorer_state (
	tenant INTEGER PRIMARY KEY,
	saved  INTEGER NOT NULL,
	state  BLOB NOT NULL
);
`

// StateSaver is a Scorer whose state can be kept while it is not in memory
// (pkg/score's Engine).
type StateSaver interface {
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
}

// evictEvery is how often the worker looks for scorers to let go.
const evictEvery = time.Minute

// evict lets go of the scorers of tenants idle for IdleEvict and of tenants
// whose keys are all revoked, so memory follows the tenants sending now,
// not all that ever did: what a scorer holds is flushed (its alerts
// stored) for a revoked tenant, and its state saved in the database for
// both, to be loaded when the tenant sends again.
func (s *Server) evict(tenants map[int64]*tenantState) {
	if len(tenants) == 0 {
		return
	}
	active, err := s.store.activeTenants()
	if err != nil {
		s.notice("error: listing active tenants: %v", err)
		return
	}
	now := s.cfg.Now()
	err = s.inTx(func(tx *sql.Tx) error {
		ins := tx.Stmt(s.store.insAlert)
		for id, ts := range tenants {
			revoked := !active[id]
			if !revoked && now.Sub(ts.lastWall) < s.cfg.IdleEvict {
				continue
			}
			var err error
			if revoked {
				ts.scorer.Flush(func(a *event.Event) {
					if e := s.storeAlert(ins, id, now, a); e != nil && err == nil {
						err = e
					}
				})
			}
			if err != nil {
				return err
			}
			if sv, ok := ts.scorer.(StateSaver); ok {
				var b bytes.Buffer
				if err := sv.SaveState(&b); err != nil {
					return fmt.Errorf("saving the scorer state of tenant %d: %w", id, err)
				}
				if _, err := tx.Exec(`INSERT OR REPLACE INTO scorer_state(tenant, saved, state) VALUES (?, ?, ?)`, id, now.Unix(), b.Bytes()); err != nil {
					return err
				}
			}
			delete(tenants, id)
			s.metrics.evicted.Add(1)
		}
		return nil
	})
	if err != nil {
		s.notice("error: letting idle scorers go: %v", err)
	}
	s.metrics.scorers.Store(int64(len(tenants)))
}

// loadScorerState gives a new scorer the state saved when the tenant's
// previous one was let go; a state that does not load is dropped with a
// notice (the tenant starts afresh, as on its first batch).
func (s *Server) loadScorerState(t Tenant, sc Scorer) {
	sv, ok := sc.(StateSaver)
	if !ok {
		return
	}
	var b []byte
	err := s.store.r.QueryRow(`SELECT state FROM scorer_state WHERE tenant = ?`, t.ID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return
	}
	if err == nil {
		err = sv.LoadState(bytes.NewReader(b))
	}
	if err != nil {
		s.notice("error: tenant %s: saved scorer state: %v; starting afresh", t.Name, err)
	}
}

// activeTenants returns the tenants with a key that is not revoked.
func (s *Store) activeTenants() (map[int64]bool, error) {
	rows, err := s.r.Query(`SELECT DISTINCT tenant FROM keys WHERE revoked = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		m[id] = true
	}
	return m, rows.Err()
}
