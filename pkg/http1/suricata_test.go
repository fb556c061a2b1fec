package http1

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// eve renders an http event with the eve field names it can answer for.
func eve(e *event.Event) map[string]any {
	host := e.Host
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h
	} else if strings.HasPrefix(host, "[") {
		host = host[:strings.IndexByte(host, ']')+1]
	}
	m := map[string]any{
		"event_type": "http", "src_ip": e.SrcIP.String(), "dest_ip": e.DestIP.String(),
		"src_port": float64(e.SrcPort), "dest_port": float64(e.DestPort),
		"http.http_method": e.Method, "http.hostname": host, "http.http_user_agent": e.UserAgent,
		"http.http_refer": e.Referrer, "http.http_content_type": e.ContentType, "http.length": float64(e.RespLen),
	}
	if e.Status > 0 {
		m["http.status"] = float64(e.Status)
	}
	return m
}

// suricataKnown lists Suricata http cases we do not match, and why.
var suricataKnown = map[string]string{}

func TestSuricataHTTP(t *testing.T) {
	dirs, _ := filepath.Glob(testenv.SharedPath(t, "suricata", "http*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			checks := pcaptest.SuricataChecks(t, dir, "http")
			evs, _ := runCase(t, dir)
			var eves []map[string]any
			for _, e := range evs {
				eves = append(eves, eve(e))
			}
			diffs, notes, matched := pcaptest.CheckSuricata(checks, eves)
			for _, n := range notes {
				t.Log(n)
			}
			pcaptest.Report(t, suricataKnown[name], matched, len(checks), diffs)
		})
	}
}
