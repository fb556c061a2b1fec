package server

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// UsageError is a mistake on the command line (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// KeysCommand runs `nfr-engine keys add NAME | list | revoke WHICH` on st:
// data (the new key, the list) on stdout, messages through info.
func KeysCommand(st *Store, args []string, asJSON bool, stdout io.Writer, info func(format string, a ...any)) error {
	if len(args) == 0 {
		return &UsageError{"keys: missing subcommand (add NAME, list, revoke ID|PREFIX|NAME, admin)"}
	}
	want := map[string]int{"add": 1, "list": 0, "revoke": 1, "admin": 0}
	n, ok := want[args[0]]
	if !ok {
		return &UsageError{fmt.Sprintf("keys: unknown subcommand %q (add, list, revoke, admin)", args[0])}
	}
	if len(args)-1 != n {
		return &UsageError{fmt.Sprintf("keys %s takes %d argument(s), got %d", args[0], n, len(args)-1)}
	}
	switch args[0] {
	case "admin":
		return adminCommand(st, stdout, info) // console_admin.go
	case "add":
		if !validName(args[1]) {
			return &UsageError{fmt.Sprintf("keys add: tenant name %q: use 1 to 64 letters, digits, dots, dashes and underscores", args[1])}
		}
		key, t, err := st.AddKey(args[1])
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(stdout, key); err != nil {
			return err
		}
		info("new key %s... for tenant %s; it is shown only this once", key[:keyPrefixLen], t.Name)
	case "list":
		keys, err := st.Keys()
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			for _, k := range keys {
				if err := enc.Encode(k); err != nil {
					return err
				}
			}
			return nil
		}
		if len(keys) == 0 {
			info("no keys yet: run: nfr-engine keys add NAME")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tNAME\tKEY\tCREATED\tLAST BATCH\tSTATUS\tEMAIL")
		for _, k := range keys {
			status := "active"
			if !k.Revoked.IsZero() {
				status = "revoked " + k.Revoked.Format(time.RFC3339)
			}
			email := k.Email
			if email == "" {
				email = "-"
			}
			seen := "never"
			if !k.Seen.IsZero() {
				seen = k.Seen.Format(time.RFC3339)
			}
			name := k.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s...\t%s\t%s\t%s\t%s\n", k.ID, k.Tenant, name, k.Prefix, k.Created.Format(time.RFC3339), seen, status, email)
		}
		return tw.Flush()
	case "revoke":
		n, err := st.RevokeKeys(args[1])
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no active key matches %q (an id, an 8-character key prefix or a tenant name from keys list)", args[1])
		}
		info("revoked %d key(s)", n)
	}
	return nil
}
