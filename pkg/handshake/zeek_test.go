package handshake

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

func runCase(t *testing.T, pcaps ...string) ([]*event.Event, Stats) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	dtls := NewDTLS(a, 0, 0)
	for _, p := range pcaps {
		ps := pcaptest.Packets(t, p)
		for i := range ps {
			a.HandlePacket(&ps[i])
			dtls.HandlePacket(&ps[i])
		}
	}
	a.Close()
	dtls.Close()
	return out, a.Stats()
}

func zeekTime(s string) time.Time {
	f, _ := strconv.ParseFloat(s, 64)
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9+0.5)).UTC().Truncate(time.Second)
}

// knownDiff lists the ssl.log cases we do not match in full, and why.
var knownDiff = map[string]string{}

func TestZeekSSLLog(t *testing.T) {
	logs, _ := filepath.Glob(testenv.SharedPath(t, "zeek", "ssl-*", "ssl.log"))
	// Several traces, one log: the outputs for each trace in a row.
	logs = append(logs, testenv.SharedPath(t, "zeek", "ssl-tls13-multi-trace", "ssl-out.concatenated.log"),
		testenv.SharedPath(t, "zeek", "ssl-dtls", "ssl1_2.log"))
	for _, log := range logs {
		dir := filepath.Dir(log)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			recs := pcaptest.ZeekLog(t, log)
			certs := map[string]pcaptest.Record{}
			// x509.log goes with ssl.log, x5091_2.log with ssl1_2.log.
			if m, _ := filepath.Glob(filepath.Join(dir, strings.Replace(filepath.Base(log), "ssl", "x509", 1))); len(m) > 0 {
				for _, r := range pcaptest.ZeekLog(t, m[0]) {
					certs[r["fingerprint"]] = r
				}
			}
			evs, stats := runCase(t, pcaptest.Captures(t, dir)...)
			t.Logf("%+v", stats)
			byConn := map[string]*event.Event{}
			for _, e := range evs {
				byConn[e.SrcIP.String()+" "+strconv.Itoa(int(e.SrcPort))] = e
			}
			var diffs []string
			matched := 0
			for _, r := range recs {
				k := r["id.orig_h"] + " " + r["id.orig_p"]
				e := byConn[k]
				if e == nil {
					diffs = append(diffs, "missing "+k)
					continue
				}
				var d []string
				if sn := r["server_name"]; sn != "-" && sn != e.SNI {
					d = append(d, fmt.Sprintf("sni %q, want %q", e.SNI, sn))
				}
				if v := r["version"]; v != "-" && v != e.TLSVersion {
					d = append(d, fmt.Sprintf("version %s, want %s", e.TLSVersion, v))
				}
				if fps := r["cert_chain_fps"]; len(certs) > 0 && fps != "" && fps != "-" && fps != "(empty)" {
					c, ok := certs[strings.Split(fps, ",")[0]]
					switch {
					case !ok:
						d = append(d, "leaf not in x509.log")
					case e.Subject != c["certificate.subject"] || e.Issuer != c["certificate.issuer"]:
						d = append(d, fmt.Sprintf("cert %q / %q, want %q / %q", e.Subject, e.Issuer, c["certificate.subject"], c["certificate.issuer"]))
					case !e.ValidFrom.Equal(zeekTime(c["certificate.not_valid_before"])) || !e.ValidTo.Equal(zeekTime(c["certificate.not_valid_after"])):
						d = append(d, fmt.Sprintf("validity %v - %v, want %s - %s", e.ValidFrom, e.ValidTo, c["certificate.not_valid_before"], c["certificate.not_valid_after"]))
					}
				}
				if len(d) > 0 {
					diffs = append(diffs, k+": "+strings.Join(d, "; "))
					continue
				}
				matched++
			}
			pcaptest.Report(t, knownDiff[name], matched, len(recs), diffs)
		})
	}
}
