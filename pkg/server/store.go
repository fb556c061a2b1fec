package server

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/nfr-project/nfr/pkg/api"
	_ "modernc.org/sqlite" // pure Go SQLite, no cgo
)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 2

const schema = `
CREATE TABLE IF NOT EXISTS tenants (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	contact    TEXT NOT NULL DEFAULT '',
	email      TEXT NOT NULL DEFAULT '',
	registered INTEGER NOT NULL DEFAULT 0,
	created    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
	id      INTEGER PRIMARY KEY,
	tenant  INTEGER NOT NULL REFERENCES tenants(id),
	hash    TEXT NOT NULL UNIQUE,
	prefix  TEXT NOT NULL,
	created INTEGER NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0,
	seen    INTEGER NOT NULL DEFAULT 0 -- last batch taken with the key
);
CREATE TABLE IF NOT EXISTS batches (
	tenant  INTEGER NOT NULL,
	id      TEXT NOT NULL,
	answer  TEXT NOT NULL,
	created INTEGER NOT NULL,
	PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_created ON batches(created);
CREATE TABLE IF NOT EXISTS alerts (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant     INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	event_type TEXT NOT NULL,
	event      TEXT NOT NULL,
	threats    TEXT NOT NULL,
	flags      TEXT NOT NULL,
	incident   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alerts_tenant ON alerts(tenant, id);
`

// Store is the engine's SQLite database: tenants, their hashed keys, the ids
// of batches already taken, and alerts. Alert row ids are the follow cursor:
// AUTOINCREMENT never reuses one, and a single writer commits them in order,
// so a reader never sees id N+1 before id N.
type Store struct {
	w *sql.DB // one connection: SQLite has one writer
	r *sql.DB // readers, concurrent under WAL

	// Prepared statements of the write path.
	insAlert, insBatch, getBatch, keySeen *sql.Stmt
	// Prepared statements of the read path.
	auth, alerts, batchRead *sql.Stmt
}

// SyncFull and SyncNormal are the durability levels of OpenStore.
const (
	SyncFull   = "full"   // fsync at every commit: an answered batch survives power loss
	SyncNormal = "normal" // fsync at checkpoints: survives a crash of the process, not of the machine
)

// OpenStore opens (creating if needed) the database at path in WAL mode.
func OpenStore(path, sync string) (*Store, error) {
	if sync == "" {
		sync = SyncFull
	}
	if sync != SyncFull && sync != SyncNormal {
		return nil, fmt.Errorf("sync must be full or normal, not %q", sync)
	}
	// The database holds key hashes and alerts: readable by its owner only.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, err
	} else {
		f.Close()
	}
	dsn := func(extra string) string {
		return "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")" + extra
	}
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	s := &Store{w: w}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.r, err = sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	s.r.SetMaxOpenConns(8)
	for _, p := range []struct {
		db   *sql.DB
		stmt **sql.Stmt
		q    string
	}{
		{w, &s.insAlert, `INSERT INTO alerts(tenant, created, event_type, event, threats, flags, incident) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{w, &s.insBatch, `INSERT INTO batches(tenant, id, answer, created) VALUES (?, ?, ?, ?)`},
		{w, &s.keySeen, `UPDATE keys SET seen = ? WHERE id = ?`},
		{w, &s.getBatch, `SELECT answer FROM batches WHERE tenant = ? AND id = ?`},
		{s.r, &s.auth, `SELECT k.tenant, t.name, k.id FROM keys k JOIN tenants t ON t.id = k.tenant WHERE k.hash = ? AND k.revoked = 0`},
		{s.r, &s.batchRead, `SELECT answer FROM batches WHERE tenant = ? AND id = ?`},
		{s.r, &s.alerts, `SELECT id, event_type, event, threats, flags, incident FROM alerts WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?`},
	} {
		if *p.stmt, err = p.db.Prepare(p.q); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return s, nil
}

func (s *Store) migrate() error {
	var v int
	if err := s.w.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("database schema version %d is newer than this nfr-engine knows (%d)", v, schemaVersion)
	}
	if _, err := s.w.Exec(schema + scorerStateSchema); err != nil {
		return err
	}
	// Databases of schema 1 lack the incident column (reason, id, count).
	var has int
	if err := s.w.QueryRow(`SELECT count(*) FROM pragma_table_info('alerts') WHERE name = 'incident'`).Scan(&has); err != nil {
		return err
	}
	if has == 0 {
		if _, err := s.w.Exec(`ALTER TABLE alerts ADD COLUMN incident TEXT NOT NULL DEFAULT '{}'`); err != nil {
			return err
		}
	}
	_, err := s.w.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion))
	return err
}

// Close closes the database.
func (s *Store) Close() error {
	var err error
	if s.r != nil {
		err = s.r.Close()
	}
	if e := s.w.Close(); err == nil {
		err = e
	}
	return err
}

// Tenant is an account; its keys see its alerts and no other.
type Tenant struct {
	ID   int64
	Name string
	Key  int64 // id of the key that authenticated, if any
}

// ErrUnknownKey is returned for a key that does not exist or was revoked.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// HashKey is how keys are stored: they are long random strings, so a plain
// SHA-256 is enough and keeps auth cheap on every request.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// keyPrefixLen is how much of a key is kept in clear to tell keys apart in
// `keys list`; the rest (128 bits) stays secret.
const keyPrefixLen = 8

// newKey returns a new random key: 40 hex digits, 160 bits.
func newKey() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Authenticate returns the tenant owning key.
func (s *Store) Authenticate(key string) (Tenant, error) {
	if key == "" {
		return Tenant{}, ErrUnknownKey
	}
	var t Tenant
	err := s.auth.QueryRow(HashKey(key)).Scan(&t.ID, &t.Name, &t.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrUnknownKey
	}
	return t, err
}

// AddKey creates a key for the tenant called name, creating the tenant when
// it does not exist, and returns the key. Only its hash is stored. A tenant
// made by the administrator counts as registered.
func (s *Store) AddKey(name string) (string, Tenant, error) { return s.addKey(name, true) }

func (s *Store) addKey(name string, registered bool) (string, Tenant, error) {
	if !validName(name) {
		return "", Tenant{}, fmt.Errorf("tenant name %q: use 1 to 64 letters, digits, dots, dashes and underscores", name)
	}
	key, err := newKey()
	if err != nil {
		return "", Tenant{}, err
	}
	tx, err := s.w.Begin()
	if err != nil {
		return "", Tenant{}, err
	}
	defer tx.Rollback()
	now := time.Now().Unix()
	t := Tenant{Name: name}
	err = tx.QueryRow(`SELECT id FROM tenants WHERE name = ?`, name).Scan(&t.ID)
	if errors.Is(err, sql.ErrNoRows) {
		var res sql.Result
		res, err = tx.Exec(`INSERT INTO tenants(name, created, registered) VALUES (?, ?, ?)`, name, now, registered)
		if err == nil {
			t.ID, err = res.LastInsertId()
		}
	}
	if err != nil {
		return "", Tenant{}, err
	}
	if _, err := tx.Exec(`INSERT INTO keys(tenant, hash, prefix, created) VALUES (?, ?, ?, ?)`,
		t.ID, HashKey(key), key[:keyPrefixLen], now); err != nil {
		return "", Tenant{}, err
	}
	return key, t, tx.Commit()
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewTenantKey creates a tenant with a fresh unique name built from base
// and a key for it, as POST /v1/key/request does.
func (s *Store) NewTenantKey(base string) (string, Tenant, error) {
	for range 10 {
		var b [3]byte
		rand.Read(b[:])
		name := base + "-" + hex.EncodeToString(b[:])
		var n int
		if err := s.r.QueryRow(`SELECT count(*) FROM tenants WHERE name = ?`, name).Scan(&n); err != nil {
			return "", Tenant{}, err
		}
		if n == 0 {
			return s.addKey(name, false) // until POST /v1/account/register
		}
	}
	return "", Tenant{}, errors.New("could not find a free tenant name")
}

// Tenants counts the tenants.
func (s *Store) Tenants() (int, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM tenants`).Scan(&n)
	return n, err
}

// KeyInfo describes a key for `nfr-engine keys list`; the key itself is
// never stored, only its first characters.
type KeyInfo struct {
	ID      int64     `json:"id"`
	Tenant  string    `json:"tenant"`
	Prefix  string    `json:"prefix"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
	Seen    time.Time `json:"seen,omitzero"`  // last batch taken with the key
	Name    string    `json:"name,omitempty"` // the tenant's registered name (nfr-account register --name)
	Email   string    `json:"email,omitempty"`
}

// Keys lists every key, oldest first.
func (s *Store) Keys() ([]KeyInfo, error) {
	rows, err := s.r.Query(`SELECT k.id, t.name, k.prefix, k.created, k.revoked, k.seen, t.contact, t.email
		FROM keys k JOIN tenants t ON t.id = k.tenant ORDER BY k.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ks []KeyInfo
	for rows.Next() {
		var k KeyInfo
		var created, revoked, seen int64
		if err := rows.Scan(&k.ID, &k.Tenant, &k.Prefix, &created, &revoked, &seen, &k.Name, &k.Email); err != nil {
			return nil, err
		}
		k.Created = time.Unix(created, 0).UTC()
		if revoked != 0 {
			k.Revoked = time.Unix(revoked, 0).UTC()
		}
		if seen != 0 {
			k.Seen = time.Unix(seen, 0).UTC()
		}
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// RevokeKeys revokes keys named by id (a number), by the key itself, by its
// 8-character prefix as `keys list` shows it, or by tenant name (every key of
// that tenant), and returns how many it revoked.
func (s *Store) RevokeKeys(which string) (int64, error) {
	res, err := s.w.Exec(`UPDATE keys SET revoked = ?1 WHERE revoked = 0 AND (
		CAST(id AS TEXT) = ?2 OR hash = ?3 OR prefix = ?2
		OR tenant IN (SELECT id FROM tenants WHERE name = ?2))`, time.Now().Unix(), which, HashKey(which))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Register records the contact details of a tenant.
func (s *Store) Register(t Tenant, contact, email string) error {
	_, err := s.w.Exec(`UPDATE tenants SET contact = ?, email = ?, registered = 1 WHERE id = ?`, contact, email, t.ID)
	return err
}

// Registered reports whether the tenant gave its details.
func (s *Store) Registered(t Tenant) (bool, error) {
	var r bool
	err := s.r.QueryRow(`SELECT registered FROM tenants WHERE id = ?`, t.ID).Scan(&r)
	return r, err
}

// TenantsByEmail counts tenants registered with email.
func (s *Store) TenantsByEmail(email string) (int, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM tenants WHERE email = ? COLLATE NOCASE`, email).Scan(&n)
	return n, err
}

// pruneBatches forgets batch ids older than before.
func (s *Store) pruneBatches(before time.Time) (int64, error) {
	res, err := s.w.Exec(`DELETE FROM batches WHERE created < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// pruneAlerts deletes alerts stored before before. Row ids are never
// reused, so cursors stay valid.
func (s *Store) pruneAlerts(before time.Time) (int64, error) {
	res, err := s.w.Exec(`DELETE FROM alerts WHERE created < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// batchAnswer returns the answer given to a batch already taken.
func (s *Store) batchAnswer(tenant int64, id string) (api.EventsResponse, bool, error) {
	var answer string
	var r api.EventsResponse
	err := s.batchRead.QueryRow(tenant, id).Scan(&answer)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(answer), &r)
	}
	return r, err == nil, err
}

// ActiveKeys counts keys not revoked.
func (s *Store) ActiveKeys() (int, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM keys WHERE revoked = 0`).Scan(&n)
	return n, err
}

// storedAlert is one row of the alerts table.
type storedAlert struct {
	ID        int64
	EventType string
	Event     string
	Threats   string // JSON object id -> ThreatInfo
	Flags     string // JSON array
	Incident  string // JSON api.Incident
}

// Alerts returns up to limit alerts of tenant after row id after.
func (s *Store) Alerts(tenant, after int64, limit int) ([]storedAlert, error) {
	rows, err := s.alerts.Query(tenant, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []storedAlert
	for rows.Next() {
		var a storedAlert
		if err := rows.Scan(&a.ID, &a.EventType, &a.Event, &a.Threats, &a.Flags, &a.Incident); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}
