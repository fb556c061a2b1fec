package stream

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
)

// stream is one TCP stream as tshark's "follow tcp" reassembles it.
type followed struct {
	client   string
	c2s, s2c []byte
}

// follow runs tshark once for streams 0..n-1 and returns those it knows.
func follow(t *testing.T, pcap string, n int) []followed {
	args := []string{"-r", pcap, "-q"}
	for i := 0; i < n; i++ {
		args = append(args, "-z", "follow,tcp,raw,"+strconv.Itoa(i))
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var streams []followed
	var cur *followed
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Follow: "):
			streams = append(streams, followed{})
			cur = &streams[len(streams)-1]
		case cur == nil || strings.HasPrefix(line, "====") || strings.HasPrefix(line, "Filter:") || strings.HasPrefix(line, "Node 1:"):
		case strings.HasPrefix(line, "Node 0: "):
			cur.client = strings.TrimPrefix(line, "Node 0: ")
		case strings.HasPrefix(line, "\t"):
			b, _ := hex.DecodeString(strings.TrimSpace(line))
			cur.s2c = append(cur.s2c, b...)
		case line != "":
			b, _ := hex.DecodeString(line)
			cur.c2s = append(cur.c2s, b...)
		}
	}
	var known []followed
	for _, s := range streams {
		if s.client != "" && s.client != ":0" {
			known = append(known, s)
		}
	}
	return known
}

type collector struct {
	id  ID
	buf [2]bytes.Buffer
}

func (c *collector) Data(d Dir, b []byte, _ time.Time) bool { c.buf[d].Write(b); return true }
func (c *collector) Gap(Dir, int)                           {}
func (c *collector) End(time.Time)                          {}

// TestAgainstTshark checks reassembled streams of reference captures
// byte for byte against tshark's "follow tcp".
func TestAgainstTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatal("tshark is needed for the reassembly reference test (scripts/setup.sh installs it)")
	}
	for _, c := range []string{"zeek/http-get-reassembly", "zeek/http-pipelining", "zeek/http-100-continue", "zeek/ssl-tls12", "zeek/http-tcp-padding", "zeek/http-connect-smtp", "zeek/ssl-fragmented-handshake", "suricata/tls-client-hello-frag"} {
		t.Run(c, func(t *testing.T) {
			pcap := pcaptest.Captures(t, testenv.SharedPath(t, c))[0]
			var conns []*collector
			r := New(Config{}, func(id ID) Conn {
				col := &collector{id: id}
				conns = append(conns, col)
				return col
			})
			pcaptest.Run(r, pcaptest.Packets(t, pcap))
			streams := follow(t, pcap, len(conns)+1)
			if len(streams) != len(conns) {
				t.Errorf("tshark has %d streams, we have %d", len(streams), len(conns))
			}
			for n, st := range streams {
				var got *collector
				for _, col := range conns {
					if col.id.Client.String() == st.client || "["+col.id.Client.Addr().String()+"]:"+strconv.Itoa(int(col.id.Client.Port())) == st.client {
						got = col
					}
				}
				if got == nil {
					t.Errorf("stream %d from %s: not followed", n, st.client)
					continue
				}
				if !bytes.Equal(got.buf[0].Bytes(), st.c2s) || !bytes.Equal(got.buf[1].Bytes(), st.s2c) {
					t.Errorf("stream %d from %s: got %d/%d bytes, tshark %d/%d", n, st.client, got.buf[0].Len(), got.buf[1].Len(), len(st.c2s), len(st.s2c))
				} else {
					t.Logf("stream %d from %s: %d/%d bytes agree", n, st.client, len(st.c2s), len(st.s2c))
				}
			}
		})
	}
}
