package ssh

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// The reference agreement (Zeek's ssh.log, suricata-verify's HASSH checks,
// FoxIO's HASSH values) is in pkg/capture; these pin down the parser.

func nameList(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func kexinit(lists ...string) []byte {
	p := append([]byte{msgKexInit}, make([]byte, 16)...)
	for _, l := range lists {
		p = nameList(p, l)
	}
	return append(p, 0, 0, 0, 0, 0)
}

func packet(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

func TestConn(t *testing.T) {
	var got []*event.Event
	a := New(func(e *event.Event) { got = append(got, e) })
	id := stream.ID{Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.2:465"), Start: time.Unix(1, 0)}
	c := a.Conn(id)
	lists := []string{"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes256-ctr", "hmac-sha2-256", "hmac-sha1", "none", "none,zlib@openssh.com", "", ""}
	srv := append([]byte("Welcome\r\nSSH-2.0-OpenSSH_9.2\r\n"), packet(kexinit(lists...))...)
	// The client's KEXINIT split across segments.
	cli := append([]byte("SSH-2.0-Go\r\n"), packet(kexinit(lists...))...)
	c.Data(stream.ServerToClient, srv, time.Unix(1, 0))
	c.Data(stream.ClientToServer, cli[:20], time.Unix(1, 0))
	c.Data(stream.ClientToServer, cli[20:], time.Unix(1, 0))
	c.Data(stream.ClientToServer, packet([]byte{msgNewKeys}), time.Unix(2, 0))
	c.Data(stream.ServerToClient, packet([]byte{msgNewKeys}), time.Unix(2, 0))
	for _, n := range []int{52, 84, 84, 36} { // service accept, failure size, failure, success
		c.Data(stream.ServerToClient, make([]byte, n), time.Unix(3, 0))
	}
	c.End(time.Unix(4, 0))
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	e := got[0]
	if e.ClientVersion != "SSH-2.0-Go" || e.ServerVersion != "SSH-2.0-OpenSSH_9.2" {
		t.Errorf("versions %q %q", e.ClientVersion, e.ServerVersion)
	}
	if e.HASSHAlgorithms != "curve25519-sha256;aes128-ctr;hmac-sha2-256;none" ||
		e.HASSHServerAlgorithms != "curve25519-sha256;aes256-ctr;hmac-sha1;none,zlib@openssh.com" {
		t.Errorf("algorithms %q %q", e.HASSHAlgorithms, e.HASSHServerAlgorithms)
	}
	if e.AuthSuccess == nil || !*e.AuthSuccess || e.AuthAttempts != 2 {
		t.Errorf("auth %v attempts %d, want success after one failure", e.AuthSuccess, e.AuthAttempts)
	}
	if e.Duration != 2 || e.DestPort != 465 {
		t.Errorf("duration %v port %d", e.Duration, e.DestPort)
	}
}

func TestNotSSH(t *testing.T) {
	n := 0
	a := New(func(*event.Event) { n++ })
	c := a.Conn(stream.ID{Start: time.Unix(1, 0)})
	if c.Data(stream.ClientToServer, []byte("GET / HTTP/1.1\r\n\r\n"), time.Unix(1, 0)) {
		t.Error("wants more of an HTTP connection")
	}
	c.End(time.Unix(2, 0))
	if n != 0 {
		t.Error("event for a connection without an SSH identification string")
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range [][3]string{{"a,b,c", "c,b", "b"}, {"a", "b", ""}, {"", "a", ""}, {"zlib@openssh.com,none", "none,zlib@openssh.com", "zlib@openssh.com"}} {
		if got := Negotiate(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func FuzzKexInit(f *testing.F) {
	f.Add(kexinit("a", "b", "c", "d", "e", "f", "g", "h", "", ""))
	f.Add([]byte{msgKexInit})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKexInit(b)
		if err == nil {
			_ = k.Algorithms(true) + k.Algorithms(false)
		}
	})
}

// FuzzConn feeds arbitrary bytes both ways, in pieces, through banner and
// packet parsing and the authentication heuristic.
func FuzzConn(f *testing.F) {
	f.Add([]byte("SSH-2.0-x\r\n"), append([]byte("pre\r\nSSH-2.0-y\r\n"), packet(kexinit("a", "b", "c", "d", "e", "f", "g", "h", "", ""))...), uint8(7))
	f.Fuzz(func(t *testing.T, cli, srv []byte, cut uint8) {
		a := New(func(*event.Event) {})
		c := a.Conn(stream.ID{Start: time.Unix(1, 0)})
		k := int(cut) % (len(cli) + 1)
		c.Data(stream.ClientToServer, cli[:k], time.Unix(1, 0))
		c.Data(stream.ServerToClient, srv, time.Unix(1, 0))
		c.Data(stream.ClientToServer, cli[k:], time.Unix(1, 0))
		c.Data(stream.ServerToClient, srv, time.Unix(1, 0))
		c.Gap(stream.ClientToServer, 10)
		c.End(time.Unix(2, 0))
	})
}

func BenchmarkConn(b *testing.B) {
	lists := []string{"curve25519-sha256,ecdh-sha2-nistp256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""}
	cli := append([]byte("SSH-2.0-OpenSSH_9.6\r\n"), packet(kexinit(lists...))...)
	srv := append([]byte("SSH-2.0-OpenSSH_9.2\r\n"), packet(kexinit(lists...))...)
	a := New(func(*event.Event) {})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := a.Conn(stream.ID{Start: time.Unix(1, 0)})
		c.Data(stream.ClientToServer, cli, time.Unix(1, 0))
		c.Data(stream.ServerToClient, srv, time.Unix(1, 0))
		c.End(time.Unix(2, 0))
	}
}
