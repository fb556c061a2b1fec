package server

import (
	"fmt"
	"io"
)

// AccountKey runs `nfr-engine keys add --account ACCOUNT`: a new key for an
// account that exists, named by its tenant name or by the name it
// registered with (nfr-account register --name), so several sensors send
// under one account and share its behavioural state and alerts. Unlike
// `keys add NAME` it never creates a tenant, so a typo is an error.
func AccountKey(st *Store, account string, stdout io.Writer, info func(format string, a ...any)) error {
	name, err := st.accountTenant(account)
	if err != nil {
		return err
	}
	key, t, err := st.AddKey(name)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, key); err != nil {
		return err
	}
	info("new key %s... for account %s (tenant %s); it is shown only this once", key[:keyPrefixLen], account, t.Name)
	return nil
}

// accountTenant finds the tenant an account name means: a tenant of that
// name, else the one tenant registered under it.
func (s *Store) accountTenant(account string) (string, error) {
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM tenants WHERE name = ?`, account).Scan(&n); err != nil {
		return "", err
	}
	if n == 1 {
		return account, nil
	}
	rows, err := s.r.Query(`SELECT name FROM tenants WHERE contact = ? ORDER BY id`, account)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no account %q: name a tenant or a registered name from keys list (keys add NAME creates a tenant)", account)
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("%d tenants registered as %q (%v): name the tenant instead", len(names), account, names)
}
