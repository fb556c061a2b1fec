package submit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nfr-project/nfr/pkg/api"
	"github.com/nfr-project/nfr/pkg/event"
)

func TestAlertLine(t *testing.T) {
	info := map[string]api.ThreatInfo{
		"c2":     {Title: "C2 communication", Severity: 5},
		"policy": {Title: "Third-party VPN", Severity: 2, Policy: true},
	}
	for _, tc := range []struct {
		name string
		in   api.Alert
		want string
		err  bool
	}{
		{"dns", api.Alert{EventType: "dns", Event: json.RawMessage(`{"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"evil.example","qtype":"A"}`),
			Threats: []string{"policy", "c2"}, Wisdom: api.Wisdom{Flags: []string{"young_domain"}, Labels: []string{"x"}}},
			`{"type":"alert","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"evil.example","qtype":"A","eventType":"dns","severity":5,"threats":{"c2":{"title":"C2 communication","severity":5,"policy":false},"policy":{"title":"Third-party VPN","severity":2,"policy":true}},"flags":["young_domain"]}`, false},
		{"type taken from the event, unknown fields kept, pretty input compacted", api.Alert{Event: json.RawMessage("{\n \"type\": \"ip\",\n \"destIP\": \"192.0.2.1\",\n \"x-vendor\": {\"a\": [1, 2]}\n}"), Threats: []string{"unknown"}},
			`{"type":"alert","v":1,"destIP":"192.0.2.1","x-vendor":{"a":[1,2]},"eventType":"ip","threats":{"unknown":{"title":"","severity":0,"policy":false}}}`, false},
		{"no threats", api.Alert{EventType: "tls", Event: json.RawMessage(`{"sni":"a"}`)}, `{"type":"alert","v":1,"sni":"a","eventType":"tls"}`, false},
		{"duplicate threat ids", api.Alert{EventType: "dns", Event: json.RawMessage(`{}`), Threats: []string{"c2", "c2"}},
			`{"type":"alert","v":1,"eventType":"dns","severity":5,"threats":{"c2":{"title":"C2 communication","severity":5,"policy":false}}}`, false},
		{"event is an array", api.Alert{Event: json.RawMessage(`[1]`)}, "", true},
		{"event missing", api.Alert{}, "", true},
		{"event broken", api.Alert{Event: json.RawMessage(`{"a":`)}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AlertLine(nil, &tc.in, info)
			if tc.err {
				if err == nil {
					t.Fatalf("want an error, got %s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			var e event.Event
			if err := event.Unmarshal(got, &e); err != nil || e.Type != event.TypeAlert {
				t.Errorf("our own reader: %v, type %q", err, e.Type)
			}
		})
	}
}

func TestLineType(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"dns","v":1}`:        "dns",
		`{"type":"tls"}`:              "tls",
		`{"v":1,"type":"http"}`:       "http",
		`{ "type" : "ip" }`:           "ip",
		`{"type":"flow"}`:             "flow",
		`{"query":"x"}`:               "",
		`{"type":"dns`:                "",
		`{"type":"alert","v":1}`:      "alert",
		`{"type":"verylongtypename"}`: "verylongtypename",
	} {
		if got := lineType([]byte(in)); got != want {
			t.Errorf("lineType(%s) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkLineType(b *testing.B) {
	l := []byte(`{"type":"dns","v":1,"ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","query":"a.example","qtype":"A"}`)
	b.ReportAllocs()
	for b.Loop() {
		lineType(l)
	}
}

// FuzzAlertLine: whatever the server sends as an alert's event, the line
// written is one valid JSON object of type alert, or an error.
func FuzzAlertLine(f *testing.F) {
	f.Add([]byte(`{"ts":"2026-11-27T07:00:00Z","query":"a.example"}`), "dns", "c2")
	f.Add([]byte("{\n \"type\": \"ip\", \"x\": [1, {\"y\": null}]\n}"), "", "")
	f.Add([]byte(`{"type":"alert","v":7,"threats":{"a":1},"flags":"x"}`), "tls", "a")
	f.Add([]byte(`[1,2]`), "dns", "")
	f.Add([]byte(`{"a":"\u0000\xff"}`), "dns\x00", "\xff")
	f.Fuzz(func(t *testing.T, ev []byte, typ, threat string) {
		a := api.Alert{EventType: typ, Event: ev, Threats: []string{threat}, Wisdom: api.Wisdom{Flags: []string{threat}}}
		line, err := AlertLine(nil, &a, map[string]api.ThreatInfo{threat: {Title: threat, Severity: 3}})
		if err != nil {
			return
		}
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("line break in %q", line)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", line, err)
		}
		if string(m["type"]) != `"alert"` {
			t.Fatalf("type %s in %q", m["type"], line)
		}
	})
}
