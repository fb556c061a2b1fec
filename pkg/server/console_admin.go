package server

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/report"
)

// Admin tokens open the console for the engine's administrator, who picks
// an account and then sees that account's alerts, one account at a time.
// They give no access to the API. Only their hashes are stored.

const consoleAdminSchema = `
CREATE TABLE IF NOT EXISTS console_admins (
	hash    TEXT PRIMARY KEY,
	prefix  TEXT NOT NULL,
	created INTEGER NOT NULL
);
`

// AddAdminToken makes a console admin token and returns it.
func (s *Store) AddAdminToken() (string, error) {
	if err := s.migrateConsole(); err != nil {
		return "", err
	}
	tok, err := newKey()
	if err != nil {
		return "", err
	}
	_, err = s.w.Exec(`INSERT INTO console_admins(hash, prefix, created) VALUES (?, ?, ?)`, HashKey(tok), tok[:keyPrefixLen], time.Now().Unix())
	return tok, err
}

// isAdminToken reports whether tok is a console admin token.
func (s *Store) isAdminToken(tok string) (bool, error) {
	var n int
	err := s.r.QueryRow(`SELECT count(*) FROM console_admins WHERE hash = ?`, HashKey(tok)).Scan(&n)
	return n > 0, err
}

// adminCommand is `nfr-engine keys admin`: the token on stdout, once.
func adminCommand(st *Store, stdout io.Writer, info func(format string, a ...any)) error {
	tok, err := st.AddAdminToken()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, tok); err != nil {
		return err
	}
	info("new console admin token %s...; it is shown only this once", tok[:keyPrefixLen])
	return nil
}

// accountList returns every tenant, by name.
func (s *Store) accountList() ([]Tenant, error) {
	rows, err := s.r.Query(`SELECT id, name FROM tenants ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []Tenant
	for rows.Next() {
		var t Tenant
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

func (s *Store) tenantByID(id int64) (Tenant, bool, error) {
	t := Tenant{ID: id}
	err := s.r.QueryRow(`SELECT name FROM tenants WHERE id = ?`, id).Scan(&t.Name)
	if err == sql.ErrNoRows {
		return t, false, nil
	}
	return t, err == nil, err
}

// accounts is the admin's page to pick the account to look at.
func (c *console) accounts(w http.ResponseWriter, r *http.Request) {
	ss := c.session(r)
	if ss == nil || !ss.admin {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	ts, err := c.s.store.accountList()
	if err != nil {
		c.fail(w, err)
		return
	}
	v := &report.ConsoleView{Title: "Accounts", Nav: report.NavAccounts, Tenant: ss.tenant.Name, Admin: true, CSRF: ss.csrf}
	for _, t := range ts {
		v.Accounts = append(v.Accounts, report.Account{ID: t.ID, Name: t.Name})
	}
	c.render(w, http.StatusOK, v)
}

// chooseAccount sets the account an admin session looks at.
func (c *console) chooseAccount(w http.ResponseWriter, r *http.Request, ss *session) {
	id, err := strconv.ParseInt(r.PostForm.Get("tenant"), 10, 64)
	var t Tenant
	found := false
	if err == nil && ss.admin {
		t, found, err = c.s.store.tenantByID(id)
		if err != nil {
			c.fail(w, err)
			return
		}
	}
	if !found {
		c.render(w, http.StatusNotFound, &report.ConsoleView{Title: "Not found", CSRF: ss.csrf, Error: "no such account"})
		return
	}
	c.mu.Lock()
	ss.tenant = t
	c.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
