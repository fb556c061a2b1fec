package server

import (
	"bytes"
	"strings"
	"testing"
)

// TestAccountKeys: a tenant made by a key request and registered as
// sensor1 shows that name in keys list, and keys add --account sensor1
// gives a second key of the same tenant (one state, one set of alerts).
func TestAccountKeys(t *testing.T) {
	e := newEnv(t, Config{}, false)
	st := e.store
	key1, t1, err := st.NewTenantKey("nfr-linux")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Register(t1, "sensor1", "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := AccountKey(st, "sensor1", &out, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	key2 := strings.TrimSpace(out.String())
	a, err1 := st.Authenticate(key1)
	b, err2 := st.Authenticate(key2)
	if err1 != nil || err2 != nil || a.ID != b.ID || a.Name != t1.Name {
		t.Fatalf("keys of %+v and %+v (%v %v), want one tenant", a, b, err1, err2)
	}
	// The second sensor's events raise alerts the first one's key sees.
	e.post(key2, "dns", dnsBatch(3, 1), nil)
	if got, _ := e.allAlerts(key1); len(got) == 0 {
		t.Error("the account's first key does not see the alert of its second")
	}
	out.Reset()
	if err := KeysCommand(st, []string{"list"}, false, &out, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "sensor1") != 2 || !strings.Contains(out.String(), "NAME") {
		t.Errorf("keys list:\n%s", out.String())
	}
	if err := AccountKey(st, t1.Name, &out, func(string, ...any) {}); err != nil {
		t.Errorf("by tenant name: %v", err)
	}
	if err := AccountKey(st, "nobody", &out, func(string, ...any) {}); err == nil || !strings.Contains(err.Error(), `no account "nobody"`) {
		t.Errorf("unknown account: %v", err)
	}
	if n, _ := st.Tenants(); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
}
