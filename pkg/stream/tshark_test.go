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

// follow returns each direction of TCP stream n as tshark's "follow tcp"
// reassembles it, and the client endpoint; ok is false past the last stream.
func follow(t *testing.T, pcap string, n int) (c2s, s2c []byte, client string, ok bool) {
	out, err := exec.Command("tshark", "-r", pcap, "-q", "-z", "follow,tcp,raw,"+strconv.Itoa(n)).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "Node 0: "):
			client, ok = strings.TrimPrefix(line, "Node 0: "), true
		case strings.HasPrefix(line, "\t"):
			b, _ := hex.DecodeString(strings.TrimSpace(line))
			s2c = append(s2c, b...)
		case line != "" && !strings.ContainsAny(line, ":=") && !strings.HasPrefix(line, "Follow"):
			b, _ := hex.DecodeString(line)
			c2s = append(c2s, b...)
		}
	}
	return c2s, s2c, client, ok && client != ":0"
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
	for _, c := range []string{"zeek/http-get-reassembly", "zeek/http-pipelining", "zeek/http-100-continue", "zeek/ssl-tls12", "zeek/http-tcp-padding"} {
		t.Run(c, func(t *testing.T) {
			pcap := pcaptest.Captures(t, testenv.SharedPath(t, c))[0]
			var conns []*collector
			r := New(Config{}, func(id ID) Conn {
				col := &collector{id: id}
				conns = append(conns, col)
				return col
			})
			pcaptest.Run(r, pcaptest.Packets(t, pcap))
			for n := 0; ; n++ {
				c2s, s2c, client, ok := follow(t, pcap, n)
				if !ok {
					if n != len(conns) {
						t.Errorf("tshark has %d streams, we have %d", n, len(conns))
					}
					break
				}
				var got *collector
				for _, col := range conns {
					if col.id.Client.String() == client || "["+col.id.Client.Addr().String()+"]:"+strconv.Itoa(int(col.id.Client.Port())) == client {
						got = col
					}
				}
				if got == nil {
					t.Errorf("stream %d from %s: not followed", n, client)
					continue
				}
				if !bytes.Equal(got.buf[0].Bytes(), c2s) || !bytes.Equal(got.buf[1].Bytes(), s2c) {
					t.Errorf("stream %d from %s: got %d/%d bytes, tshark %d/%d", n, client, got.buf[0].Len(), got.buf[1].Len(), len(c2s), len(s2c))
				} else {
					t.Logf("stream %d from %s: %d/%d bytes agree", n, client, len(c2s), len(s2c))
				}
			}
		})
	}
}
