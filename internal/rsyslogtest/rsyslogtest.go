// Package rsyslogtest runs a real rsyslogd for tests: an unprivileged
// foreground child with its own configuration, ports, work directory and
// pid file under the test's temporary directory, never the system's
// syslog. Every message it receives is parsed (RFC 5424 structured data by
// mmpstrucdata, a JSON message by mmjsonparse) and written as one JSON
// object a line to Out.
package rsyslogtest

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
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Server is a running rsyslogd.
type Server struct {
	t              *testing.T
	dir, conf, pid string
	// Out is the file rsyslog writes every message to.
	Out string
	// Ports on 127.0.0.1: imudp, imptcp, imtcp with gtls, imtcp with gtls
	// wanting a client certificate (x509/certvalid), imrelp.
	UDP, TCP, TLS, TLSClientAuth, RELP int
	// PKI is the test CA and the certificates rsyslog and clients use.
	PKI *PKI
	cmd *exec.Cmd
}

const rsyslogd = "/usr/sbin/rsyslogd"

func FreePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func Start(t *testing.T) *Server {
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Skipf("rsyslogd is not installed (%v): apt-get install rsyslog rsyslog-gnutls rsyslog-relp", err)
	}
	dir := t.TempDir()
	r := &Server{t: t, dir: dir, conf: filepath.Join(dir, "rsyslog.conf"), pid: filepath.Join(dir, "rsyslogd.pid"),
		Out: filepath.Join(dir, "out.json"), UDP: FreePort(t), TCP: FreePort(t), TLS: FreePort(t), RELP: FreePort(t), TLSClientAuth: FreePort(t)}
	r.PKI = NewPKI(t, dir)
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
`, filepath.Join(dir, "work"), r.PKI.CA, r.PKI.Cert, r.PKI.Key, r.Out, r.UDP, r.TCP, r.TLS, r.TLSClientAuth, r.RELP)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(func() { r.Stop(syscall.SIGTERM) })
	return r
}

func (r *Server) Start() {
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
	for _, p := range []int{r.TCP, r.TLS, r.RELP, r.TLSClientAuth} {
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				r.Stop(syscall.SIGKILL)
				r.t.Fatalf("rsyslogd did not listen on %d: %s", p, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (r *Server) Stop(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(sig)
	r.cmd.Wait()
	r.cmd = nil
}

type Message struct {
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
		Reason   string `json:"reason"`
	} `json:"tree"`
	Msg string `json:"msg"`
}

// lines reads what rsyslog wrote so far.
func (r *Server) Lines() []Message {
	b, _ := os.ReadFile(r.Out)
	// rsyslog may be writing the last line as we read: only whole lines.
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	var got []Message
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m Message
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
func (r *Server) WaitFor(n int, d time.Duration) []Message {
	deadline := time.Now().Add(d)
	for {
		got := r.Lines()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testPKI is a CA made for the test, a server certificate for 127.0.0.1
// and a client certificate, all signed by it.
type PKI struct{ CA, Cert, Key, ClientCert, ClientKey string }

func NewPKI(t *testing.T, dir string) *PKI {
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
	p := &PKI{CA: write("ca.pem", "CERTIFICATE", caDER)}
	p.Cert, p.Key = issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, "server")
	p.ClientCert, p.ClientKey = issue(3, "nfr-alert", x509.ExtKeyUsageClientAuth, "client")
	return p
}
