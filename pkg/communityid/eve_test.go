package communityid

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// TestSuricataEve recomputes the community_id of every record of a real
// eve.json from its 5-tuple (Suricata 6 wrote them).
func TestSuricataEve(t *testing.T) {
	f, err := os.Open(testenv.SharedPath(t, "eve", "stamus-suricata-analytics-training-02", "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	n := 0
	for sc.Scan() {
		var r struct {
			SrcIP       string `json:"src_ip"`
			DestIP      string `json:"dest_ip"`
			SrcPort     uint16 `json:"src_port"`
			DestPort    uint16 `json:"dest_port"`
			Proto       string `json:"proto"`
			CommunityID string `json:"community_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.CommunityID == "" {
			continue
		}
		proto := map[string]uint8{"TCP": 6, "UDP": 17}[r.Proto]
		if proto == 0 {
			continue
		}
		got := Hash(netip.MustParseAddr(r.SrcIP), netip.MustParseAddr(r.DestIP), proto, r.SrcPort, r.DestPort)
		if got != r.CommunityID {
			t.Errorf("line %s: got %s, want %s", strings.TrimSpace(sc.Text())[:min(80, len(sc.Text()))], got, r.CommunityID)
		}
		n++
	}
	if n < 200 {
		t.Fatalf("only %d records with a community_id", n)
	}
	t.Logf("%d eve records agree", n)
}
