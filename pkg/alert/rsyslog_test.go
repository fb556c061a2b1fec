package alert

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/rsyslogtest"
)

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
	r := rsyslogtest.Start(t)
	lines := demoAlerts(t)
	input := bytes.Join(lines, []byte("\n"))
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }
	tlsOut := output(t, "syslog+tls://"+addr(r.TLS), "syslog")
	tlsOut.Dest.CAFile = r.PKI.CA
	certOut := output(t, "syslog+tls://"+addr(r.TLSClientAuth), "syslog")
	certOut.Dest.CAFile, certOut.Dest.CertFile, certOut.Dest.KeyFile = r.PKI.CA, r.PKI.ClientCert, r.PKI.ClientKey
	bsd := output(t, "syslog+tcp://"+addr(r.TCP), "syslog")
	bsd.Format.RFC3164 = true
	outs := []*Output{
		output(t, "syslog+udp://"+addr(r.UDP), "syslog"),
		output(t, "syslog+tcp://"+addr(r.TCP), "syslog"),
		tlsOut, certOut,
		output(t, "syslog+relp://"+addr(r.RELP), "syslog"),
		bsd,
	}
	f := runFilter(t, bytes.NewReader(input), 20*time.Second, outs...)
	for _, s := range f.Stats() {
		if s.Delivered != int64(len(lines)) || s.Failed != 0 {
			t.Errorf("%s", s)
		}
	}
	want := len(lines) * len(outs)
	got := r.WaitFor(want, 10*time.Second)
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
	noCert := output(t, "syslog+tls://"+addr(r.TLSClientAuth), "syslog")
	noCert.Dest.CAFile = r.PKI.CA
	f = &Filter{Outputs: []*Output{noCert}}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	f.Run(bytes.NewReader(input), "test")
	if q := f.Drain(time.Second); q != int64(len(lines)) {
		t.Errorf("without a client certificate %d queued, want %d", q, len(lines))
	}
	if n := len(r.WaitFor(want+1, 300*time.Millisecond)); n != want {
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
func seq(t *testing.T, got []rsyslogtest.Message) []int {
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
func restartMidStream(t *testing.T, r *rsyslogtest.Server, url string, n int, sig syscall.Signal) []int {
	in := &slowReader{b: numbered(n), chunk: 8 << 10, pause: 2 * time.Millisecond}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.WaitFor(n/3, 30*time.Second)
		r.Stop(sig)
		time.Sleep(300 * time.Millisecond)
		r.Start()
	}()
	runFilter(t, in, 60*time.Second, output(t, url, "syslog"))
	<-done
	// Duplicates make the count reach n early: wait until it stops growing.
	got := r.WaitFor(n, 10*time.Second)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		time.Sleep(time.Second)
		more := r.Lines()
		if len(more) == len(got) {
			break
		}
		got = more
	}
	return seq(t, got)
}

// TestRsyslogRELPRestart stops rsyslog in the middle of a RELP stream of
// 10,000 alerts and starts it again: all arrive, in order, none twice.
func TestRsyslogRELPRestart(t *testing.T) {
	r := rsyslogtest.Start(t)
	const n = 10000
	s := restartMidStream(t, r, fmt.Sprintf("syslog+relp://127.0.0.1:%d", r.RELP), n, syscall.SIGTERM)
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
	r := rsyslogtest.Start(t)
	const n = 10000
	s := restartMidStream(t, r, fmt.Sprintf("syslog+relp://127.0.0.1:%d", r.RELP), n, syscall.SIGKILL)
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
			r := rsyslogtest.Start(t)
			s := restartMidStream(t, r, fmt.Sprintf("syslog+tcp://127.0.0.1:%d", r.TCP), n, c.sig)
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
