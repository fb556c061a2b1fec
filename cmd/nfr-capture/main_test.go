package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
)

func runCapture(t *testing.T, stdin []byte, args ...string) testenv.Result {
	t.Helper()
	return testenv.RunBin(t, "nfr-capture", stdin, args...)
}

func lines(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestCLI(t *testing.T) {
	dnsUDP := testenv.SharedPath(t, "tcpdump/dns_udp/dns_udp.pcap")
	dnsTCP := testenv.SharedPath(t, "tcpdump/dns_tcp/dns_tcp.pcap")
	broken := testenv.SharedPath(t, "pcap/broken/tls_DER-incomplete-header.pcap")
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		events int
		stderr string
	}{
		{"one file", []string{"--types", "dns", "-r", dnsUDP}, 0, 1, ""},
		{"file as argument", []string{"-t", "dns", dnsUDP}, 0, 1, ""},
		{"several files", []string{"-t", "dns", "-r", dnsUDP, "-r", dnsTCP}, 0, 2, ""},
		{"stats", []string{"-t", "dns", "--stats", "-r", dnsUDP}, 0, 1, "nfr-capture: dns messages 2 (queries 1, responses 1), events 1"},
		{"all types", []string{"--stats", "-r", dnsUDP}, 0, 2, "nfr-capture: flows emitted 1"},
		{"damaged file", []string{"-t", "dns", "-r", dnsUDP, broken}, 1, 1, "nfr-capture: error: " + broken + ": invalid packet capture length 4325376, bigger than maximum of 262144 at offset 5035"},
		{"missing file", []string{"-r", "/nonexistent.pcap"}, 1, 0, "nfr-capture: error: open /nonexistent.pcap"},
		{"not a capture", []string{"-r", "main.go"}, 1, 0, "not a pcap or pcapng file"},
		{"no input", nil, 2, 0, "nfr-capture: hint: run: nfr-capture eth0, or nfr-capture -r FILE.pcap"},
		{"unknown type", []string{"--types", "flows", "-r", dnsUDP}, 2, 0, `unknown event type "flows"`},
		{"bad port", []string{"--dns-port", "70000", "-r", dnsUDP}, 2, 0, `bad port "70000"`},
		{"bad option", []string{"--bogus"}, 2, 0, "nfr-capture: hint: run: nfr-capture --help"},
		{"interface and file", []string{"-i", "lo", "-r", dnsUDP}, 2, 0, "not both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCapture(t, nil, c.args...)
			if r.Code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.Code, c.code, r.Stderr)
			}
			if n := len(lines(r.Stdout)); n != c.events {
				t.Errorf("%d events, want %d:\n%s", n, c.events, r.Stdout)
			}
			if !strings.Contains(r.Stderr, c.stderr) {
				t.Errorf("stderr %q does not contain %q", r.Stderr, c.stderr)
			}
			for _, l := range lines(r.Stdout) {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || (m["type"] != "dns" && m["type"] != "ip") {
					t.Errorf("bad event line %q: %v", l, err)
				}
			}
		})
	}
}

func TestHelpVersion(t *testing.T) {
	r := runCapture(t, nil, "--help")
	if r.Code != 0 || !strings.Contains(r.Stdout, "--dns-timeout") || r.Stderr != "" {
		t.Errorf("--help: %+v", r)
	}
	r = runCapture(t, nil, "--version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "nfr-capture ") {
		t.Errorf("--version: %+v", r)
	}
}

// TestStdinGzip pipes a gzip-compressed capture through -r - and checks
// the events equal those of the plain file.
func TestStdinGzip(t *testing.T) {
	path := testenv.SharedPath(t, "zeek/dns-rrsig/rrsig.pcap")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	a := runCapture(t, nil, "-t", "dns", "-r", path)
	b := runCapture(t, gz.Bytes(), "-t", "dns", "-r", "-")
	if a.Code != 0 || b.Code != 0 {
		t.Fatalf("exit %d, %d: %s %s", a.Code, b.Code, a.Stderr, b.Stderr)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, `"source":"`+path+`"`, `"source":"-"`) }
	if strip(a.Stdout) != b.Stdout || len(lines(a.Stdout)) != 4 {
		t.Errorf("file:\n%s\nstdin:\n%s", a.Stdout, b.Stdout)
	}
}

// TestPipeline runs nfr-capture into a reader that stops after the first
// line, as `| head -1` does: it must end quietly (SIGPIPE), not hang.
func TestPipeline(t *testing.T) {
	path := testenv.SharedPath(t, "zeek/dns-rrsig/rrsig.pcap")
	cmd := exec.Command("sh", "-c", `"$0" -r "$1" | head -n 1`, testenv.Bin(t, "nfr-capture"), path)
	out, err := cmd.CombinedOutput()
	if err != nil || len(lines(string(out))) != 1 || !strings.Contains(string(out), `"type":"dns"`) {
		t.Errorf("pipeline: %v\n%s", err, out)
	}
}

// TestLive captures on the loopback interface while the test sends a DNS
// query to a responder of its own on 127.0.0.1, then stops the capture
// with SIGINT: the paired event must come out and the exit status be 0.
func TestLive(t *testing.T) {
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	port := srv.LocalAddr().(*net.UDPAddr).Port
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			// Answer with 192.0.2.44: flags, one answer pointing at the question.
			resp := append([]byte(nil), buf[:n]...)
			resp[2], resp[3] = 0x81, 0x80
			binary.BigEndian.PutUint16(resp[6:], 1)
			resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 44)
			srv.WriteTo(resp, addr)
		}
	}()

	var out, errb testenv.SyncBuffer
	cmd := exec.Command(testenv.Bin(t, "nfr-capture"), "-i", "lo", "--filter", "udp port "+itoa(port), "--dns-port", itoa(port), "--stats")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Send queries until the capture has seen one (it needs a moment to
	// open the interface); each query is a distinct transaction.
	c, err := net.Dial("udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := []byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'l', 'i', 'v', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	deadline := time.Now().Add(20 * time.Second)
	for id := 1; time.Now().Before(deadline) && !strings.Contains(errb.String(), "error") && !strings.Contains(out.String(), "192.0.2.44"); id++ {
		binary.BigEndian.PutUint16(q, uint16(id))
		c.Write(q)
		c.SetReadDeadline(time.Now().Add(time.Second))
		c.Read(make([]byte, 512))
		time.Sleep(200 * time.Millisecond) // the live output is flushed at least once a second
		if id > 5 {
			time.Sleep(time.Second)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if strings.Contains(errb.String(), "permitted") {
		t.Skipf("no permission to capture on lo: %s", errb.String())
	}
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), `"query":"live.example","qtype":"A","rcode":"NOERROR","answers":["192.0.2.44"]`) || !strings.Contains(out.String(), `"source":"lo"`) {
		t.Errorf("events:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "kernel received") {
		t.Errorf("no kernel counters in --stats:\n%s", errb.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSignals feeds a capture through a pipe that stays open, asks for the
// counters with SIGUSR1, then stops with SIGTERM: the pending query must
// come out and the exit status be 0.
func TestSignals(t *testing.T) {
	raw, err := os.ReadFile(testenv.SharedPath(t, "tcpdump/dns_udp/dns_udp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// The query and its response, then the query again with another id,
	// which stays unanswered.
	qlen := 16 + int(binary.LittleEndian.Uint32(raw[24+8:]))
	again := append([]byte(nil), raw[24:24+qlen]...)
	binary.BigEndian.PutUint16(again[16+42:], 4242)
	cmd := exec.Command(testenv.Bin(t, "nfr-capture"), "--line-buffered", "-t", "dns", "-r", "-")
	var out, errb testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	w.Write(raw)
	w.Write(again)
	// The first event line says the signal handlers are in place.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "\n") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for !strings.Contains(errb.String(), "packets 3") && time.Now().Before(deadline) {
		cmd.Process.Signal(syscall.SIGUSR1)
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "nfr-capture: packets 3 (ethernet 3)") {
		t.Errorf("SIGUSR1 printed no counters: %q", errb.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	w.Close()
	if n := len(lines(out.String())); n != 2 || !strings.Contains(out.String(), `"query":"www.tcpdump.org","qtype":"A","source":"-"`) {
		t.Errorf("want the answered and the pending query, got %q", out.String())
	}
}
