package main

import (
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/event"
)

// TestCommunityID: every event the program writes carries the Community ID
// of its own connection (computed on the encoding goroutine), and the new
// types and fields come out: ssh events, service on ip events.
func TestCommunityID(t *testing.T) {
	res := runCapture(t, nil, "-r", testenv.SharedPath(t, "zeek", "ssh-basic", "ssh.pcap"))
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	types := map[string]int{}
	for _, l := range lines(res.Stdout) {
		var e event.Event
		if err := event.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		types[e.Type]++
		if e.Type == event.TypeIP && e.Service == "ssh" {
			types["ip service=ssh"]++
		}
		proto := map[string]uint8{"tcp": 6, "udp": 17}[e.Proto]
		if proto == 0 {
			continue
		}
		if want := communityid.Hash(e.SrcIP, e.DestIP, proto, e.SrcPort, e.DestPort); e.CommunityID != want {
			t.Errorf("%s: communityId %q, want %q", l, e.CommunityID, want)
		}
	}
	if types[event.TypeSSH] != 22 || types["ip service=ssh"] != 22 {
		t.Errorf("events by type %v, want 22 ssh events and 22 ssh flows", types)
	}
}
