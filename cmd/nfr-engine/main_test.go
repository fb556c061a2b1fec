package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/api"
)

// engine is a running nfr-engine process.
type engine struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer // complete once logged is closed
	logged chan struct{}
	exited chan error
}

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return testenv.Run(t, testenv.Bin(t, "nfr-engine"), nil, []string{"NFR_CONFIG=/dev/null"}, args...)
}

func start(t *testing.T, args ...string) *engine {
	t.Helper()
	cmd := exec.Command(testenv.Bin(t, "nfr-engine"), append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "NFR_CONFIG=/dev/null")
	pr, pw := io.Pipe()
	e := &engine{cmd: cmd, stderr: &bytes.Buffer{}, logged: make(chan struct{}), exited: make(chan error, 1)}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.exited <- cmd.Wait(); pw.Close() }()
	urls := make(chan string, 1)
	go func() {
		defer close(e.logged)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			e.stderr.WriteString(line + "\n")
			if _, rest, ok := strings.Cut(line, "nfr-engine: listening on "); ok {
				urls <- strings.SplitN(rest, ",", 2)[0]
			}
		}
		close(urls)
	}()
	e.url = <-urls
	if e.url == "" {
		<-e.logged
		t.Fatalf("nfr-engine did not start: %s", e.stderr)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
	})
	return e
}

// stop sends SIGTERM and returns the exit code.
func (e *engine) stop(t *testing.T) int {
	t.Helper()
	e.cmd.Process.Signal(syscall.SIGTERM)
	err := <-e.exited
	<-e.logged
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

func request(t *testing.T, c *http.Client, method, url, key string, body io.Reader, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

const batch = `{"type":"dns","ts":"2026-11-27T07:00:00Z","srcIP":"10.0.0.1","srcPort":5353,"destIP":"10.0.0.53","destPort":53,"proto":"udp","query":"a.example.com","qtype":"A"}
{"type":"dns","ts":"2026-11-27T07:00:01Z","srcIP":"10.0.0.1","srcPort":5353,"destIP":"10.0.0.53","destPort":53,"proto":"udp","query":"b.example.com","qtype":"A"}
not json
`

func TestCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	if out, _, code := runCmd(t, "--version"); code != 0 || !strings.HasPrefix(out, "nfr-engine ") {
		t.Errorf("--version: %d %q", code, out)
	}
	if out, _, code := runCmd(t, "--help"); code != 0 || !strings.Contains(out, "keys add NAME") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, args := range [][]string{{"--bogus"}, {"serve"}, {"--db", db, "keys"}, {"--db", db, "keys", "add"}, {"--db", db, "keys", "drop", "x"}, {"--db", db, "keys", "add", "two words"}, {"--tls-cert", "c.pem"}} {
		if _, errs, code := runCmd(t, args...); code != 2 || !strings.Contains(errs, "nfr-engine: error: ") || !strings.Contains(errs, "nfr-engine: hint: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	key, errs, code := runCmd(t, "--db", db, "keys", "add", "acme")
	key = strings.TrimSpace(key)
	if code != 0 || len(key) != 40 || !strings.Contains(errs, "tenant acme") || strings.Contains(errs, key) {
		t.Fatalf("keys add: %d %q %q", code, key, errs)
	}
	runCmd(t, "--db", db, "keys", "add", "globex")
	// The console's administrator token, from the command line.
	if tok, errs, code := runCmd(t, "--db", db, "keys", "admin"); code != 0 || len(strings.TrimSpace(tok)) < 32 {
		t.Errorf("keys admin: exit %d, %q", code, errs)
	}
	list, _, code := runCmd(t, "--db", db, "keys", "list")
	if code != 0 || !strings.Contains(list, "acme") || !strings.Contains(list, key[:8]+"...") || strings.Contains(list, key) {
		t.Errorf("keys list: %d\n%s", code, list)
	}
	if _, _, code := runCmd(t, "--db", db, "keys", "revoke", key[:8]); code != 0 {
		t.Errorf("revoke by prefix: %d", code)
	}
	if _, errs, code := runCmd(t, "--db", db, "keys", "revoke", key[:8]); code != 1 || !strings.Contains(errs, "no active key") {
		t.Errorf("revoke twice: %d %q", code, errs)
	}
	js, _, _ := runCmd(t, "--db", db, "keys", "list", "--json")
	var n, revoked int
	for _, line := range strings.Split(strings.TrimSpace(js), "\n") {
		var k struct{ Revoked string }
		if err := json.Unmarshal([]byte(line), &k); err != nil {
			t.Fatalf("keys list --json line %q: %v", line, err)
		}
		n++
		if k.Revoked != "" {
			revoked++
		}
	}
	if n != 2 || revoked != 1 {
		t.Errorf("keys list --json: %d keys, %d revoked:\n%s", n, revoked, js)
	}
	if st, err := os.Stat(db); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("database mode: %v %v", st.Mode(), err)
	}
	cfg := filepath.Join(t.TempDir(), "config.yml")
	os.WriteFile(cfg, []byte("engine:\n  listen: 127.0.0.1:1\n  qeue: 3\n"), 0o600)
	if _, errs, code := runCmd(t, "-c", cfg, "keys", "list"); code != 2 || !strings.Contains(errs, cfg+":3: ") {
		t.Errorf("bad config: %d %q", code, errs)
	}
}

func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	key, _, _ := runCmd(t, "--db", db, "keys", "add", "acme")
	key = strings.TrimSpace(key)
	e := start(t, "--db", db, "-v")
	c := http.DefaultClient
	hdr := map[string]string{api.BatchIDHeader: "b1"}
	code, body := request(t, c, "POST", e.url+"/v1/events/dns", key, strings.NewReader(batch), hdr)
	want := `{"received":3,"accepted":2,"rejected":{"malformed":1}}` + "\n"
	if code != 200 || string(body) != want {
		t.Fatalf("events: %d %s", code, body)
	}
	if code, body := request(t, c, "POST", e.url+"/v1/events/dns", key, strings.NewReader(batch), hdr); code != 200 || string(body) != want {
		t.Errorf("replay: %d %s", code, body)
	}
	if code, body := request(t, c, "GET", e.url+"/v1/alerts", key, nil, nil); code != 200 || !strings.Contains(string(body), `"alerts":[]`) {
		t.Errorf("alerts: %d %s", code, body)
	}
	if list, _, _ := runCmd(t, "--db", db, "keys", "list"); !strings.Contains(list, "LAST BATCH") || strings.Contains(list, "never") {
		t.Errorf("keys list after a batch:\n%s", list)
	}
	// The 2017 protocol of old clients.
	q := `{"data":[["2026-11-27T07:00:00Z","10.0.0.5","A","c2.example.net."]]}`
	if code, body := request(t, c, "POST", e.url+"/v1/queries", key, strings.NewReader(q), nil); code != 200 || string(body) != `{"received":1,"accepted":1}`+"\n" {
		t.Errorf("queries: %d %s", code, body)
	}
	if code, body := request(t, c, "GET", e.url+"/v1/events?follow=0", key, nil, nil); code != 200 || !strings.Contains(string(body), `"events":[]`) {
		t.Errorf("events: %d %s", code, body)
	}
	// A key revoked by another process is refused at once.
	if _, _, code := runCmd(t, "--db", db, "keys", "revoke", "acme"); code != 0 {
		t.Fatal("revoke failed")
	}
	if code, _ := request(t, c, "GET", e.url+"/v1/alerts", key, nil, nil); code != 401 {
		t.Errorf("revoked key: %d", code)
	}
	_, metrics := request(t, c, "GET", e.url+"/metrics", "", nil, nil)
	for _, want := range []string{`nfr_engine_events_accepted_total{type="dns"} 3`, `nfr_engine_batches_replayed_total 1`} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code := e.stop(t); code != 0 {
		t.Errorf("exit %d: %s", code, e.stderr)
	}
	log := e.stderr.String()
	if strings.Contains(log, key) || !strings.Contains(log, "POST /v1/events/dns 200") || !strings.Contains(log, " acme ") {
		t.Errorf("request log:\n%s", log)
	}
}

func TestGracefulShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	key, _, _ := runCmd(t, "--db", db, "keys", "add", "acme")
	key = strings.TrimSpace(key)
	e := start(t, "--db", db)
	// A batch whose body is still being sent when SIGTERM comes.
	pr, pw := io.Pipe()
	type answer struct {
		code int
		body []byte
	}
	answers := make(chan answer, 1)
	go func() {
		code, body := request(t, http.DefaultClient, "POST", e.url+"/v1/events/dns", key, pr, map[string]string{api.BatchIDHeader: "slow-1"})
		answers <- answer{code, body}
	}()
	lines := strings.SplitAfter(batch, "\n")
	io.WriteString(pw, lines[0])
	for metric(t, e.url, "nfr_engine_requests_in_flight") != "1" {
		time.Sleep(5 * time.Millisecond)
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	// New connections are refused once the listener closed.
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(pw, strings.Join(lines[1:], ""))
	pw.Close()
	a := <-answers
	if a.code != 200 || !strings.Contains(string(a.body), `"accepted":2`) {
		t.Fatalf("request in flight at SIGTERM: %d %s", a.code, a.body)
	}
	if err := <-e.exited; err != nil {
		<-e.logged
		t.Fatalf("exit: %v\n%s", err, e.stderr)
	}
	// The batch was committed: after a restart its replay is recognised.
	e2 := start(t, "--db", db)
	request(t, http.DefaultClient, "POST", e2.url+"/v1/events/dns", key, strings.NewReader(batch), map[string]string{api.BatchIDHeader: "slow-1"})
	_, m := request(t, http.DefaultClient, "GET", e2.url+"/metrics", "", nil, nil)
	if !strings.Contains(string(m), "nfr_engine_batches_replayed_total 1\n") {
		t.Errorf("batch not remembered across the restart")
	}
	e2.stop(t)
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nfr-engine test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(priv)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "engine.db")
	key, _, _ := runCmd(t, "--db", db, "keys", "add", "acme")
	key = strings.TrimSpace(key)
	certFile, keyFile, pool := selfSigned(t, dir)
	e := start(t, "--db", db, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(e.url, "https://127.0.0.1:") {
		t.Fatalf("url %s", e.url)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := request(t, c, "POST", e.url+"/v1/events/dns", key, strings.NewReader(batch), nil); code != 200 {
		t.Errorf("over TLS: %d %s", code, body)
	}
	// A client that does not trust the certificate fails the handshake.
	if _, err := http.Get(e.url + "/healthz"); err == nil {
		t.Error("untrusted certificate accepted")
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get("http://" + strings.TrimPrefix(e.url, "https://") + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS port")
	}
	// A renewed certificate is picked up without a restart.
	newDir := t.TempDir()
	newCert, newKey, newPool := selfSigned(t, newDir)
	later := time.Now().Add(5 * time.Second)
	for _, p := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		b, _ := os.ReadFile(p[0])
		os.WriteFile(p[1], b, 0o600)
		os.Chtimes(p[1], later, later)
	}
	c2 := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{RootCAs: newPool}}}
	var err error
	for range 1000 {
		var resp *http.Response
		if resp, err = c2.Get(e.url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("renewed certificate not served: %v", err)
	}
	e.stop(t)
	if !strings.Contains(e.stderr.String(), "reloaded TLS certificate") {
		t.Errorf("no reload message:\n%s", e.stderr)
	}
	if _, errs, code := runCmd(t, "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", keyFile, "--tls-key", keyFile); code != 1 || !strings.Contains(errs, "TLS certificate") {
		t.Errorf("bad certificate: %d %q", code, errs)
	}
}

// metric reads one unlabelled value from /metrics.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	_, m := request(t, http.DefaultClient, "GET", url+"/metrics", "", nil, nil)
	for _, line := range strings.Split(string(m), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestKilled: nfr-engine killed with SIGKILL while batches stream in from
// several connections loses no batch it answered: after a restart on the
// same database each of them is recognised as a replay, and the batches in
// flight at the kill are taken at most once.
func TestKilled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "engine.db")
	key, _, _ := runCmd(t, "--db", db, "keys", "add", "acme")
	key = strings.TrimSpace(key)
	e := start(t, "--db", db)
	post := func(url string, i int) (int, error) {
		req, _ := http.NewRequest("POST", url+"/v1/events/dns", strings.NewReader(batch))
		req.SetBasicAuth(key, "")
		req.Header.Set(api.BatchIDHeader, fmt.Sprintf("k-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var mu sync.Mutex
	var next, answered int
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				code, err := post(e.url, i)
				if err != nil {
					return // killed
				}
				if code != 200 {
					t.Errorf("batch %d: %d", i, code)
					return
				}
				mu.Lock()
				answered++
				if answered == 50 {
					e.cmd.Process.Kill()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-e.exited
	e2 := start(t, "--db", db)
	for i := range next {
		if code, err := post(e2.url, i); err != nil || code != 200 {
			t.Fatalf("batch %d after restart: %d %v", i, code, err)
		}
	}
	replayed, _ := strconv.Atoi(metric(t, e2.url, "nfr_engine_batches_replayed_total"))
	fresh, _ := strconv.Atoi(metric(t, e2.url, `nfr_engine_batches_total{type="dns"}`))
	if replayed < answered || replayed+fresh != next {
		t.Errorf("%d batches sent, %d answered before SIGKILL; after the restart %d replays and %d new batches", next, answered, replayed, fresh)
	}
	t.Logf("%d batches sent, %d answered before SIGKILL, %d committed", next, answered, replayed)
	e2.stop(t)
}
