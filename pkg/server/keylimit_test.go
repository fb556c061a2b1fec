package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeyRequestLimits: one address gets KeyRequestsPerHour keys, then 429
// with Retry-After; past MaxTenants every key request is refused.
func TestKeyRequestLimits(t *testing.T) {
	e := newEnv(t, Config{KeyRequests: true, KeyRequestsPerHour: 3, MaxTenants: 100}, false)
	for i := range 4 {
		resp, b := e.do("POST", "/v1/key/request", "", []byte(`{"platform":{"name":"nfr-linux"}}`), nil)
		switch {
		case i < 3 && resp.StatusCode != 200:
			t.Fatalf("request %d: %s %s", i, resp.Status, b)
		case i == 3 && (resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "too many key requests")):
			t.Fatalf("request %d: %s %s %q", i, resp.Status, b, resp.Header.Get("Retry-After"))
		}
	}
	e = newEnv(t, Config{KeyRequests: true, KeyRequestsPerHour: 100, MaxTenants: 5}, false)
	e.key("admin")
	ok := 0
	for range 10 {
		resp, b := e.do("POST", "/v1/key/request", "", nil, nil)
		if resp.StatusCode == 200 {
			ok++
		} else if resp.StatusCode != 403 || !strings.Contains(string(b), "as many tenants as it takes") {
			t.Fatalf("%s %s", resp.Status, b)
		}
	}
	if n, _ := e.store.Tenants(); ok != 4 || n != 5 {
		t.Errorf("%d keys given, %d tenants; want 4 and 5", ok, n)
	}
}

// TestKeyLimiter refills over the hour and forgets addresses past its
// bound, so a flood of source addresses cannot grow it.
func TestKeyLimiter(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := newKeyLimiter(2, func() time.Time { return now })
	req := func(addr string) bool {
		ok, _ := l.allow(&http.Request{RemoteAddr: addr + ":4000"})
		return ok
	}
	if !req("10.0.0.1") || !req("10.0.0.1") || req("10.0.0.1") {
		t.Fatal("burst of 2 not kept")
	}
	if !req("10.0.0.2") {
		t.Fatal("another address limited")
	}
	now = now.Add(31 * time.Minute)
	if !req("10.0.0.1") || req("10.0.0.1") {
		t.Fatal("one token not back after half an hour")
	}
	for i := range 3 * maxLimitedAddrs {
		now = now.Add(time.Millisecond)
		req(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	if len(l.addrs) > maxLimitedAddrs {
		t.Errorf("%d addresses remembered, bound %d", len(l.addrs), maxLimitedAddrs)
	}
}
