package handshake

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// suricataVersion spells a version as Suricata's eve tls.version does.
func suricataVersion(v string) string {
	switch {
	case v == "TLSv10":
		return "TLSv1"
	case strings.HasPrefix(v, "TLSv13-draft"):
		return "TLS 1.3 draft-" + strings.TrimPrefix(v, "TLSv13-draft")
	case strings.HasPrefix(v, "TLSv1"):
		return "TLS 1." + v[5:6]
	}
	return v
}

// suricataDN turns a Zeek-style DN (last RDN first, comma-separated) into
// Suricata's (first RDN first, ", ").
func suricataDN(dn string) string {
	var parts []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			parts = append(parts, dn[start:i])
			start = i + 1
		}
	}
	parts = append(parts, dn[start:])
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.ReplaceAll(strings.Join(parts, ", "), `\,`, ",")
}

func colonHex(h string) string {
	var b strings.Builder
	for i := 0; i+1 < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// eve renders a tls event with the eve field names it can answer for.
func eve(e *event.Event) map[string]any {
	m := map[string]any{
		"event_type": "tls", "src_ip": e.SrcIP.String(), "dest_ip": e.DestIP.String(),
		"src_port": float64(e.SrcPort), "dest_port": float64(e.DestPort), "proto": strings.ToUpper(e.Proto),
		"tls.sni": e.SNI, "tls.version": suricataVersion(e.TLSVersion),
		"tls.ja3.hash": e.JA3, "tls.ja3.string": e.JA3Raw, "tls.ja3s.hash": e.JA3S, "tls.ja3s.string": e.JA3SRaw,
		"tls.ja4": e.JA4, "tls.fingerprint": colonHex(e.CertHash),
		"tls.subject": suricataDN(e.Subject), "tls.issuerdn": suricataDN(e.Issuer),
	}
	if !e.ValidFrom.IsZero() {
		m["tls.notbefore"] = e.ValidFrom.Format("2006-01-02T15:04:05")
		m["tls.notafter"] = e.ValidTo.Format("2006-01-02T15:04:05")
	}
	return m
}

// suricataKnown lists Suricata tls cases we do not match, and why.
var suricataKnown = map[string]string{}

func TestSuricataTLS(t *testing.T) {
	dirs, _ := filepath.Glob(testenv.SharedPath(t, "suricata", "tls*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			checks := pcaptest.SuricataChecks(t, dir, "tls")
			if len(checks) == 0 {
				t.Skip("no tls checks for current Suricata versions")
			}
			evs, _ := runCase(t, pcaptest.Captures(t, dir)...)
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
