package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/faultserver"
	"github.com/nfr-project/nfr/pkg/api"
)

const key = "sekrit-key-123"

func server(t *testing.T) *faultserver.Server {
	t.Helper()
	s := faultserver.New()
	s.Keys[key] = true
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func client(t *testing.T, s *faultserver.Server, k string) *api.Client {
	t.Helper()
	c, err := api.NewClient(s.URL(), api.ClientOptions{Key: k, Version: "1.2.3", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var body = []byte(`{"type":"dns","v":1,"query":"a.example"}` + "\n" + `{"type":"dns","v":1,"query":"b.example"}` + "\nnot json\n")

func TestSendEventsFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      *faultserver.Fault
		key        string
		status     int
		temporary  bool
		keyRefused bool
		retryAfter time.Duration
		msg        string
	}{
		{name: "ok"},
		{name: "500", fault: &faultserver.Fault{Kind: faultserver.Status, Code: 500}, status: 500, temporary: true, msg: "injected 500"},
		{name: "503 retry-after", fault: &faultserver.Fault{Kind: faultserver.Status, Code: 503, RetryAfter: "7"}, status: 503, temporary: true, retryAfter: 7 * time.Second},
		{name: "429 retry-after", fault: &faultserver.Fault{Kind: faultserver.Status, Code: 429, RetryAfter: "2"}, status: 429, temporary: true, retryAfter: 2 * time.Second},
		{name: "400", fault: &faultserver.Fault{Kind: faultserver.Status, Code: 400}, status: 400, temporary: false},
		{name: "bad key", key: "wrong", status: 401, keyRefused: true, msg: "invalid API key"},
		{name: "reset", fault: &faultserver.Fault{Kind: faultserver.Reset}, temporary: true},
		{name: "malformed", fault: &faultserver.Fault{Kind: faultserver.Malformed}, status: 200, temporary: true, msg: "malformed answer"},
		{name: "slow", fault: &faultserver.Fault{Kind: faultserver.Slow, Delay: 2 * time.Second}, temporary: true, msg: "timed out"},
		{name: "trickle", fault: &faultserver.Fault{Kind: faultserver.Trickle, Delay: 50 * time.Millisecond}, temporary: true, msg: "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := server(t)
			if tc.fault != nil {
				s.Inject("/v1/events", *tc.fault, 1)
			}
			k := key
			if tc.key != "" {
				k = tc.key
			}
			r, err := client(t, s, k).SendEvents(context.Background(), "dns", "batch-1", body, false)
			if tc.status == 0 && !tc.temporary && !tc.keyRefused {
				if err != nil {
					t.Fatal(err)
				}
				if r.Received != 3 || r.Accepted != 2 || r.Rejected["malformed"] != 1 {
					t.Errorf("answer %+v", r)
				}
				return
			}
			e, ok := err.(*api.Error)
			if !ok {
				t.Fatalf("err = %v (%T), want *api.Error", err, err)
			}
			if e.Status != tc.status || e.Temporary != tc.temporary || e.KeyRejected() != tc.keyRefused || e.RetryAfter != tc.retryAfter {
				t.Errorf("got %+v", e)
			}
			if !strings.Contains(e.Error(), tc.msg) || !strings.HasPrefix(e.Error(), "POST /v1/events/dns: ") {
				t.Errorf("message %q, want it to contain %q", e.Error(), tc.msg)
			}
			if strings.Contains(e.Error(), key) || strings.Contains(e.Error(), "wrong") {
				t.Errorf("the key leaks into the error: %q", e.Error())
			}
		})
	}
}

func TestReplayDropped(t *testing.T) {
	s := server(t)
	c := client(t, s, key)
	s.Inject("/v1/events", faultserver.Fault{Kind: faultserver.LoseReply}, 1)
	if _, err := c.SendEvents(context.Background(), "dns", "b1", body, false); !api.IsTemporary(err) {
		t.Fatalf("lost reply: %v, want a temporary error", err)
	}
	r, err := c.SendEvents(context.Background(), "dns", "b1", body, false)
	if err != nil || r.Accepted != 2 {
		t.Fatalf("replay: %+v %v", r, err)
	}
	if n := len(s.Events("dns")); n != 2 || s.Replays() != 1 {
		t.Errorf("server has %d events and %d replays, want 2 and 1", n, s.Replays())
	}
	if ua := s.UserAgents(); ua[len(ua)-1] != "NFR/1.2.3" {
		t.Errorf("User-Agent %q", ua[len(ua)-1])
	}
}

func TestAccountCalls(t *testing.T) {
	s := server(t)
	anon := client(t, s, "")
	k, err := anon.RequestKey(context.Background(), "nfr-linux-amd64")
	if err != nil || k == "" {
		t.Fatalf("RequestKey: %q %v", k, err)
	}
	c := client(t, s, k)
	st, err := c.Status(context.Background())
	if err != nil || st.Registered {
		t.Fatalf("status before register: %+v %v", st, err)
	}
	if err := c.Register(context.Background(), "Ann Analyst", "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Status(context.Background()); err != nil || !st.Registered || st.Expired {
		t.Fatalf("status after register: %+v %v", st, err)
	}
	if err := anon.ResetKey(context.Background(), "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	if r := s.Resets(); len(r) != 1 || r[0] != "ann@example.com" {
		t.Errorf("resets %v", r)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"5", 5 * time.Second}, {" 12 ", 12 * time.Second}, {"-3", 0}, {"soon", 0},
		{"999999", 86400 * time.Second},
		{"Fri, 27 Nov 2026 07:00:30 GMT", 30 * time.Second},
		{"Fri, 27 Nov 2026 06:59:00 GMT", 0},
	} {
		if got := api.RetryAfter(tc.in, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := api.Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second}
	for i := range 20 {
		d := b.Next(nil)
		ceil := min(b.Min<<i, b.Max)
		if d < b.Min/2 || d > ceil {
			t.Fatalf("attempt %d: %v outside [%v, %v]", i, d, b.Min/2, ceil)
		}
	}
	if d := b.Next(&api.Error{RetryAfter: 5 * time.Second}); d != 5*time.Second {
		t.Errorf("Retry-After 5s gave %v", d)
	}
	if d := b.Next(&api.Error{RetryAfter: time.Hour}); d != 20*time.Second {
		t.Errorf("Retry-After 1h gave %v, want the cap of 10*Max", d)
	}
}

func TestCleartext(t *testing.T) {
	for in, want := range map[string]bool{
		"https://api.alphasoc.net": false, "http://127.0.0.1:8080": false, "http://localhost:8080": false,
		"http://[::1]:8080": false, "http://10.0.0.5:8080": true, "http://engine.example.org": true,
	} {
		if got := api.Cleartext(in); got != want {
			t.Errorf("Cleartext(%q) = %v", in, got)
		}
	}
}
