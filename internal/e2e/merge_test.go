package e2e

import (
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestReadMergesInputs: nfr read of several logs scores their events in
// time order, whatever the order of the files on the command line (a shell
// glob puts conn.log before dns.log): each reader's events go through
// nfr-scope into a file of their own and nfr-score merges the files by
// timestamp. ssl.log and x509.log still go to one parser.
func TestReadMergesInputs(t *testing.T) {
	d := testenv.SharedPath(t, "zeek-extra", "slips-test18-ctu-sme-11-labeled")
	conn, dns, ssl := d+"/conn.log.labeled", d+"/dns.log.labeled", d+"/ssl.log.labeled"
	out, _, code := nfrIn(t, nil, "-n", "read", conn, dns, ssl)
	if code != 0 || !strings.Contains(out, `nfr-score "$tmp/in.0" "$tmp/in.1" "$tmp/in.2"`) ||
		strings.Count(out, "| nfr-scope > ") != 3 {
		t.Fatalf("dry run: exit %d, %s", code, out)
	}
	_, a1, code1 := nfrIn(t, nil, "read", conn, dns, ssl)
	_, a2, code2 := nfrIn(t, nil, "read", ssl, dns, conn)
	if code1 != 0 || code2 != 0 {
		t.Fatalf("exit %d and %d", code1, code2)
	}
	if a1 != a2 {
		t.Errorf("the order of the files changes the alerts:\n%s\n---\n%s", a1, a2)
	}
	if !strings.Contains(a1, `"strobe"`) {
		t.Errorf("the labelled strobe is not found: %s", a1)
	}

	// Certificates: ssl.log and x509.log are read by one nfr-parse-bro.
	r := testenv.SharedPath(t, "zeek-extra", "rita-proxy")
	out, _, _ = nfrIn(t, nil, "-n", "read", r+"/conn.log", r+"/ssl.log", r+"/x509.log")
	if !strings.Contains(out, "nfr-parse-bro "+r+"/ssl.log "+r+"/x509.log |") {
		t.Errorf("ssl.log and x509.log not read together: %s", out)
	}
}
