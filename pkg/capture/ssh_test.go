package capture

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// sshZeekDiffs are the ssh.log cases we do not match in full, and why.
var sshZeekDiffs = map[string]string{}

func boolZeek(b *bool) string {
	if b == nil {
		return "-"
	}
	if *b {
		return "T"
	}
	return "F"
}

// TestZeekSSH compares ssh events with Zeek's ssh.log: endpoints, the
// client and server strings, auth_success and auth_attempts.
func TestZeekSSH(t *testing.T) {
	root := testenv.SharedPath(t, "zeek")
	meta := loadZeekMeta(t)
	logs, _ := filepath.Glob(filepath.Join(root, "*", "ssh.log"))
	agree, total := 0, 0
	for _, log := range logs {
		dir := filepath.Dir(log)
		name := filepath.Base(dir)
		m := meta[name]
		t.Run(name, func(t *testing.T) {
			if l := filepath.Join(dir, "legacy-zeek-3.3.0-dev", "ssh.log"); fileExists(l) && name != "ssh-basic" {
				_ = l // the 9.x baseline is the reference; ts is not compared
			}
			recs := pcaptest.ZeekLog(t, log)
			evs := eventsOf(t, []string{event.TypeSSH}, false, traceFor(dir, "ssh.log", m)...)
			byKey := map[string]*event.Event{}
			for i := range evs {
				e := &evs[i]
				byKey[fmt.Sprintf("%s %d %s %d", e.SrcIP, e.SrcPort, e.DestIP, e.DestPort)] = e
			}
			var diffs []string
			matched := 0
			for _, r := range recs {
				k := fmt.Sprintf("%s %s %s %s", r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
				e := byKey[k]
				if e == nil {
					diffs = append(diffs, "no ssh event for "+k)
					continue
				}
				delete(byKey, k)
				orDash := func(s string) string {
					if s == "" {
						return "-"
					}
					return s
				}
				got := fmt.Sprintf("client %q server %q auth %s attempts %d", orDash(e.ClientVersion), orDash(e.ServerVersion), boolZeek(e.AuthSuccess), e.AuthAttempts)
				want := fmt.Sprintf("client %q server %q auth %s attempts %s", zeekUnescape(r["client"]), zeekUnescape(r["server"]), r["auth_success"], r["auth_attempts"])
				if got != want {
					diffs = append(diffs, k+": "+got+", want "+want)
					continue
				}
				matched++
			}
			for k := range byKey {
				diffs = append(diffs, "extra ssh event "+k)
			}
			agree += matched
			total += len(recs)
			pcaptest.Report(t, sshZeekDiffs[name], matched, len(recs), diffs)
		})
	}
	t.Logf("ssh: %d of %d ssh.log records agree", agree, total)
}

func fileExists(p string) bool {
	m, _ := filepath.Glob(p)
	return len(m) > 0
}

// sshEve renders an ssh event with the eve field names it can answer for.
func sshEve(e *event.Event) map[string]any {
	m := map[string]any{"event_type": "ssh", "src_ip": e.SrcIP.String(), "dest_ip": e.DestIP.String(),
		"src_port": float64(e.SrcPort), "dest_port": float64(e.DestPort), "proto": "TCP"}
	split := func(v, side string) {
		if v == "" {
			return
		}
		// SSH-protoversion-softwareversion SP comments
		rest := strings.TrimPrefix(v, "SSH-")
		proto, soft, _ := strings.Cut(rest, "-")
		soft, _, _ = strings.Cut(soft, " ")
		m["ssh."+side+".proto_version"] = proto
		m["ssh."+side+".software_version"] = soft
	}
	split(e.ClientVersion, "client")
	split(e.ServerVersion, "server")
	if e.HASSH != "" {
		m["ssh.client.hassh.hash"] = e.HASSH
		m["ssh.client.hassh.string"] = e.HASSHAlgorithms
	}
	if e.HASSHServer != "" {
		m["ssh.server.hassh.hash"] = e.HASSHServer
		m["ssh.server.hassh.string"] = e.HASSHServerAlgorithms
	}
	return m
}

// TestSuricataSSH applies suricata-verify's ssh checks (versions, HASSH)
// to our ssh events.
func TestSuricataSSH(t *testing.T) {
	dirs, _ := filepath.Glob(testenv.SharedPath(t, "suricata", "ssh-*"))
	n := 0
	for _, dir := range dirs {
		checks := pcaptest.SuricataChecks(t, dir, "ssh")
		if len(checks) == 0 {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
			var eves []map[string]any
			for _, e := range eventsOf(t, []string{event.TypeSSH}, false, files...) {
				eves = append(eves, sshEve(&e))
			}
			diffs, _, matched := pcaptest.CheckSuricata(checks, eves)
			pcaptest.Report(t, "", matched, len(checks), diffs)
		})
	}
	if n < 8 {
		t.Fatalf("only %d suricata ssh cases", n)
	}
	_ = strconv.Itoa
}

// TestJA4HASSH compares HASSH and HASSHServer with the values FoxIO's JA4
// tools give for the SSH connection inside the GRE sample.
func TestJA4HASSH(t *testing.T) {
	evs := eventsOf(t, []string{event.TypeSSH}, false, testenv.SharedPath(t, "ja4", "gre-sample", "gre-sample.pcap"))
	if len(evs) != 1 {
		t.Fatalf("%d ssh events, want 1", len(evs))
	}
	e := evs[0]
	if e.HASSH != "5ef6678a6b060094834599ca16581b05" || e.HASSHServer != "6e3242d64766f4154c11858bbd654415" {
		t.Errorf("hassh %s, hasshServer %s; want 5ef6678a6b060094834599ca16581b05, 6e3242d64766f4154c11858bbd654415", e.HASSH, e.HASSHServer)
	}
}
