package alert

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd run by a test as a foreground child, with its
// own configuration, ports, work directory and pid file under a temporary
// directory: no system configuration, no /dev/log. Every message it
// receives is parsed (mmpstrucdata for RFC 5424 structured data) and
// written as one JSON object per line to out.json.
type rsyslog struct {
	t                         *testing.T
	dir, conf, pid, out       string
	udp, tcp, tls, relp, tls2 int
	cmd                       *exec.Cmd
	pki                       *testPKI
}

const rsyslogd = "/usr/sbin/rsyslogd"

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newRsyslog(t *testing.T) *rsyslog {
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Skipf("rsyslogd is not installed (%v): apt-get install rsyslog rsyslog-gnutls rsyslog-relp", err)
	}
	dir := t.TempDir()
	r := &rsyslog{t: t, dir: dir, conf: filepath.Join(dir, "rsyslog.conf"), pid: filepath.Join(dir, "rsyslogd.pid"),
		out: filepath.Join(dir, "out.json"), udp: freePort(t), tcp: freePort(t), tls: freePort(t), relp: freePort(t), tls2: freePort(t)}
	r.pki = newTestPKI(t, dir)
	os.Mkdir(filepath.Join(dir, "work"), 0o700)
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
  DefaultNetstreamDriverCAFile=%q DefaultNetstreamDriverCertFile=%q DefaultNetstreamDriverKeyFile=%q)
module(load="imudp")
module(load="imptcp")
module(load="imrelp")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
module(load="mmpstrucdata")
module(load="mmjsonparse")
template(name="j" type="string" string="{\"host\":\"%%hostname:::json%%\",\"app\":\"%%app-name:::json%%\",\"msgid\":\"%%msgid:::json%%\",\"pri\":%%pri%%,\"tree\":%%$!%%,\"msg\":\"%%msg:::json%%\"}\n")
ruleset(name="r") {
  action(type="mmpstrucdata")
  action(type="mmjsonparse" cookie="")
  action(type="omfile" file=%q template="j")
}
input(type="imudp" address="127.0.0.1" port="%d" ruleset="r")
input(type="imptcp" address="127.0.0.1" port="%d" ruleset="r")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="r")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="r" StreamDriver.AuthMode="x509/certvalid")
input(type="imrelp" address="127.0.0.1" port="%d" ruleset="r")
`, filepath.Join(dir, "work"), r.pki.ca, r.pki.cert, r.pki.key, r.out, r.udp, r.tcp, r.tls, r.tls2, r.relp)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start()
	t.Cleanup(func() { r.stop(syscall.SIGTERM) })
	return r
}

func (r *rsyslog) start() {
	r.t.Helper()
	os.Remove(r.pid)
	cmd := exec.Command(rsyslogd, "-n", "-f", r.conf, "-i", r.pid)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
	// Ready when every TCP listener answers.
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range []int{r.tcp, r.tls, r.relp, r.tls2} {
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				r.stop(syscall.SIGKILL)
				r.t.Fatalf("rsyslogd did not listen on %d: %s", p, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (r *rsyslog) stop(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(sig)
	r.cmd.Wait()
	r.cmd = nil
}

type received struct {
	Host  string `json:"host"`
	App   string `json:"app"`
	MsgID string `json:"msgid"`
	Pri   int    `json:"pri"`
	Tree  struct {
		SD map[string]map[string]string `json:"rfc5424-sd"`
		// The alert line, parsed by mmjsonparse.
		Severity int    `json:"severity"`
		SrcIP    string `json:"srcIP"`
		Query    string `json:"query"`
		Sensor   string `json:"sensor"`
	} `json:"tree"`
	Msg string `json:"msg"`
}

// lines reads what rsyslog wrote so far.
func (r *rsyslog) lines() []received {
	b, _ := os.ReadFile(r.out)
	var got []received
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m received
		// RFC 3164 messages have no structured data: an empty tree.
		line := bytes.Replace(sc.Bytes(), []byte(`"tree":,`), []byte(`"tree":{},`), 1)
		if err := json.Unmarshal(line, &m); err != nil {
			r.t.Fatalf("rsyslog output: %v: %s", err, sc.Bytes())
		}
		got = append(got, m)
	}
	return got
}

// waitFor waits until rsyslog wrote n messages or the time is up.
func (r *rsyslog) waitFor(n int, d time.Duration) []received {
	deadline := time.Now().Add(d)
	for {
		got := r.lines()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testPKI is a CA made for the test, a server certificate for 127.0.0.1
// and a client certificate, all signed by it.
type testPKI struct{ ca, cert, key, clientCert, clientKey string }

func newTestPKI(t *testing.T, dir string) *testPKI {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nfr test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, name string) (string, string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(k)
		return write(name+".pem", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", kd)
	}
	p := &testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.cert, p.key = issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, "server")
	p.clientCert, p.clientKey = issue(3, "nfr-alert", x509.ExtKeyUsageClientAuth, "client")
	return p
}

// runFilter delivers the lines of in through outs, as nfr-alert does, and
// waits up to wait for the queues to empty.
func runFilter(t *testing.T, in io.Reader, wait time.Duration, outs ...*Output) *Filter {
	t.Helper()
	f := &Filter{Outputs: outs, Sensor: "sensor-1", Warn: func(m string) { t.Log(m) }}
	for _, o := range outs {
		o.Warn = func(m string) { t.Log("warning: " + m) }
		o.Info = func(m string) { t.Log(m) }
		if o.Format.Host == "" {
			o.Format.Host = "sensor-1"
		}
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	if err := f.Run(in, "test"); err != nil {
		t.Fatal(err)
	}
	if q := f.Drain(wait); q > 0 {
		t.Errorf("%d alerts still queued", q)
	}
	return f
}

func output(t *testing.T, url, format string) *Output {
	return &Output{Name: NameOf(url), Dest: Dest{URL: url}, Format: Formatter{Name: format},
		QueueDir: filepath.Join(t.TempDir(), "q"), MaxBackoff: 200 * time.Millisecond}
}

// TestRsyslog sends the demo alerts over UDP, TCP, TLS (with and without a
// client certificate), RELP, RFC 5424 and 3164, to a real rsyslogd: every
// alert arrives, its structured data parsed into the alert's fields, its
// message the alert line.
func TestRsyslog(t *testing.T) {
	r := newRsyslog(t)
	lines := demoAlerts(t)
	input := bytes.Join(lines, []byte("\n"))
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	tlsOut := output(t, "syslog+tls://"+addr(r.tls), "syslog")
	tlsOut.Dest.CAFile = r.pki.ca
	certOut := output(t, "syslog+tls://"+addr(r.tls2), "syslog")
	certOut.Dest.CAFile, certOut.Dest.CertFile, certOut.Dest.KeyFile = r.pki.ca, r.pki.clientCert, r.pki.clientKey
	bsd := output(t, "syslog+tcp://"+addr(r.tcp), "syslog")
	bsd.Format.RFC3164 = true
	outs := []*Output{
		output(t, "syslog+udp://"+addr(r.udp), "syslog"),
		output(t, "syslog+tcp://"+addr(r.tcp), "syslog"),
		tlsOut, certOut,
		output(t, "syslog+relp://"+addr(r.relp), "syslog"),
		bsd,
	}
	f := runFilter(t, bytes.NewReader(input), 20*time.Second, outs...)
	for _, s := range f.Stats() {
		if s.Delivered != int64(len(lines)) || s.Failed != 0 {
			t.Errorf("%s", s)
		}
	}
	want := len(lines) * len(outs)
	got := r.waitFor(want, 10*time.Second)
	if len(got) != want {
		t.Fatalf("rsyslog got %d messages, want %d", len(got), want)
	}
	// Every alert line (with the sensor added) arrives once per output.
	count := map[string]int{}
	bsdSeen := 0
	for _, m := range got {
		// rsyslog keeps the space after an RFC 3164 TAG in the message.
		m.Msg = strings.TrimPrefix(m.Msg, " ")
		count[m.Msg]++
		if m.Host != "sensor-1" || m.App != "nfr" {
			t.Errorf("host %q app %q", m.Host, m.App)
		}
		var a Alert
		if err := Parse([]byte(m.Msg), &a); err != nil {
			t.Fatalf("message is not the alert line: %v: %q", err, m.Msg)
		}
		if m.Pri != 16*8+SyslogSeverity(a.Severity) {
			t.Errorf("pri %d for severity %d", m.Pri, a.Severity)
		}
		// RFC 5424 and 3164 alike: the message parsed into the alert's
		// fields.
		if m.Tree.Severity != a.Severity || m.Tree.SrcIP != a.SrcIP.String() || m.Tree.Query != a.Query || m.Tree.Sensor != "sensor-1" {
			t.Errorf("rsyslog parsed %+v from %s", m.Tree, m.Msg)
		}
		sd := m.Tree.SD[SDID]
		if sd == nil {
			if m.MsgID != "" && m.MsgID != "-" {
				t.Errorf("RFC 5424 message without structured data: %+v", m)
			}
			bsdSeen++
			continue // RFC 3164
		}
		id, _ := a.Main()
		if m.MsgID != id || sd["severity"] != fmt.Sprint(a.Severity) || sd["threat"] != id ||
			sd["srcip"] != a.SrcIP.String() || sd["destport"] != fmt.Sprint(a.DestPort) || sd["subject"] != a.Subject() || sd["sensor"] != "sensor-1" {
			t.Errorf("structured data %v does not match %s", sd, m.Msg)
		}
	}
	if bsdSeen != len(lines) {
		t.Errorf("%d RFC 3164 messages, want %d", bsdSeen, len(lines))
	}
	for _, l := range lines {
		w := string(WithSensor(nil, l, "sensor-1"))
		if count[w] != len(outs) {
			t.Errorf("alert arrived %d times, want %d: %s", count[w], len(outs), w)
		}
	}
	t.Logf("rsyslog received %d alerts over udp, tcp, tls, tls with client certificate, relp and tcp RFC 3164", len(got))

	// The listener that wants a client certificate takes nothing from a
	// client without one; the alerts stay queued.
	noCert := output(t, "syslog+tls://"+addr(r.tls2), "syslog")
	noCert.Dest.CAFile = r.pki.ca
	f = &Filter{Outputs: []*Output{noCert}}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	f.Run(bytes.NewReader(input), "test")
	if q := f.Drain(time.Second); q != int64(len(lines)) {
		t.Errorf("without a client certificate %d queued, want %d", q, len(lines))
	}
	if n := len(r.waitFor(want+1, 300*time.Millisecond)); n != want {
		t.Errorf("rsyslog took %d messages from a client without a certificate", n-want)
	}
}

// numbered makes n alerts, the i-th carrying "reason":"alert i".
func numbered(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"type":"alert","v":1,"ts":"2026-11-02T09:01:55Z","srcIP":"10.0.0.1","destIP":"10.0.0.2","destPort":53,"proto":"udp","query":"x%d.example","eventType":"dns","severity":4,"threats":{"dga":{"title":"DGA","severity":4,"policy":false}},"reason":"alert %d"}`+"\n", i, i)
	}
	return b.Bytes()
}

// seq returns the numbers of the alerts rsyslog received, in order.
func seq(t *testing.T, got []received) []int {
	var s []int
	for _, m := range got {
		var a Alert
		if err := Parse([]byte(m.Msg), &a); err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscanf(a.Reason, "alert %d", &n)
		s = append(s, n)
	}
	return s
}

// slowReader gives its data in small pieces, so a stream takes a while.
type slowReader struct {
	b     []byte
	chunk int
	pause time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p[:min(len(p), r.chunk)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// restartMidStream streams n alerts to url and stops rsyslog with sig
// once a third arrived, then starts it again.
func restartMidStream(t *testing.T, r *rsyslog, url string, n int, sig syscall.Signal) []int {
	in := &slowReader{b: numbered(n), chunk: 8 << 10, pause: 2 * time.Millisecond}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.waitFor(n/3, 30*time.Second)
		r.stop(sig)
		time.Sleep(300 * time.Millisecond)
		r.start()
	}()
	runFilter(t, in, 60*time.Second, output(t, url, "syslog"))
	<-done
	got := r.waitFor(n, 10*time.Second)
	return seq(t, got)
}

// TestRsyslogRELPRestart stops rsyslog in the middle of a RELP stream of
// 10,000 alerts and starts it again: all arrive, in order, none twice.
func TestRsyslogRELPRestart(t *testing.T) {
	r := newRsyslog(t)
	const n = 10000
	s := restartMidStream(t, r, fmt.Sprintf("syslog+relp://127.0.0.1:%d", r.relp), n, syscall.SIGTERM)
	if len(s) != n {
		t.Errorf("rsyslog has %d alerts, want %d", len(s), n)
	}
	for i, v := range s {
		if v != i {
			t.Fatalf("alert %d is number %d: out of order, lost or twice", i, v)
		}
	}
	t.Logf("relp: %d of %d alerts arrived in order across an rsyslog restart, none twice", len(s), n)
}

// TestRsyslogRELPKill measures what a hard kill of rsyslog costs over
// RELP: rsyslog answers a message once it is in its queue, which is in
// memory unless configured on disk, so a kill loses what it had queued.
func TestRsyslogRELPKill(t *testing.T) {
	r := newRsyslog(t)
	const n = 10000
	s := restartMidStream(t, r, fmt.Sprintf("syslog+relp://127.0.0.1:%d", r.relp), n, syscall.SIGKILL)
	seen := map[int]int{}
	for _, v := range s {
		seen[v]++
	}
	twice := 0
	for _, c := range seen {
		if c > 1 {
			twice++
		}
	}
	t.Logf("relp kill: %d of %d arrived, %d lost, %d twice", len(seen), n, n-len(seen), twice)
}

// TestRsyslogTCPRestart: plain TCP loses nothing over a graceful stop of
// rsyslog; a hard kill costs what was in flight, measured and logged.
func TestRsyslogTCPRestart(t *testing.T) {
	const n = 10000
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"graceful", syscall.SIGTERM}, {"kill", syscall.SIGKILL}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRsyslog(t)
			s := restartMidStream(t, r, fmt.Sprintf("syslog+tcp://127.0.0.1:%d", r.tcp), n, c.sig)
			seen := map[int]int{}
			for _, v := range s {
				seen[v]++
			}
			lost, twice := 0, 0
			for i := 0; i < n; i++ {
				if seen[i] == 0 {
					lost++
				}
				if seen[i] > 1 {
					twice++
				}
			}
			t.Logf("tcp %s stop: %d of %d arrived, %d lost, %d twice", c.name, len(seen), n, lost, twice)
			if c.sig == syscall.SIGTERM && lost > 0 {
				t.Errorf("graceful stop lost %d alerts", lost)
			}
		})
	}
}
