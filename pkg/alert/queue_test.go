package alert

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/rsyslogtest"
)

// syslogTCP is a receiver of RFC 6587 octet-counted syslog messages.
type syslogTCP struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
}

func listenSyslogTCP(t *testing.T, addr string) *syslogTCP {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &syslogTCP{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *syslogTCP) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		l, err := br.ReadString(' ')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(l, " "))
		if err != nil {
			return
		}
		m := make([]byte, n)
		if _, err := io.ReadFull(br, m); err != nil {
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, string(m))
		s.mu.Unlock()
	}
}

func (s *syslogTCP) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// TestQueueAcrossRestart: with the receiver down, alerts wait on disk
// (with a warning when the queue is full, input waiting), survive the end
// of nfr-alert, and arrive in order when it runs again and the receiver
// is back.
func TestQueueAcrossRestart(t *testing.T) {
	port := rsyslogtest.FreePort(t)
	url := fmt.Sprintf("syslog+tcp://127.0.0.1:%d", port)
	o := output(t, url, "json")
	f := &Filter{Outputs: []*Output{o}}
	var warned []string
	var mu sync.Mutex
	o.Warn = func(m string) { mu.Lock(); warned = append(warned, m); mu.Unlock() }
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	if err := f.Run(bytes.NewReader(numbered(300)), "first"); err != nil {
		t.Fatal(err)
	}
	if q := f.Drain(300 * time.Millisecond); q != 300 {
		t.Fatalf("%d queued, want 300", q)
	}
	if st := f.Stats()[0]; st.Retries == 0 || st.Delivered != 0 {
		t.Errorf("%s", st)
	}
	// Second run: a small queue limit, so input waits while the receiver
	// is still down; then the receiver starts.
	o2 := output(t, url, "json")
	o2.QueueDir, o2.QueueLimit = o.QueueDir, 64<<10
	o2.Warn = o.Warn
	f2 := &Filter{Outputs: []*Output{o2}}
	if err := f2.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan *syslogTCP, 1)
	go func() {
		time.Sleep(time.Second)
		started <- listenSyslogTCP(t, fmt.Sprintf("127.0.0.1:%d", port))
	}()
	more := bytes.ReplaceAll(numbered(1000)[:], []byte(`"reason":"alert `), []byte(`"reason":"alert 1`))
	if err := f2.Run(bytes.NewReader(more), "second"); err != nil {
		t.Fatal(err)
	}
	if q := f2.Drain(10 * time.Second); q != 0 {
		t.Fatalf("%d still queued", q)
	}
	mu.Lock()
	full := false
	for _, w := range warned {
		full = full || strings.Contains(w, "queue full")
	}
	mu.Unlock()
	if !full {
		t.Errorf("no queue-full warning in %q", warned)
	}
	// Delivered means written to the receiver's socket; its reader may
	// still be behind on a busy machine.
	recv := <-started
	for deadline := time.Now().Add(10 * time.Second); recv.count() < 1300 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if recv.count() != 1300 {
		t.Fatalf("receiver has %d, want 1300", recv.count())
	}
	// In order: the first run's 0..299, then the second's 10..1999 (its
	// numbers are prefixed with 1).
	for i, m := range recv.msgs {
		var a Alert
		Parse([]byte(m[strings.Index(m, "{"):]), &a)
		want := fmt.Sprintf("alert %d", i)
		if i >= 300 {
			want = fmt.Sprintf("alert 1%d", i-300)
		}
		if a.Reason != want {
			t.Fatalf("message %d is %q, want %q", i, a.Reason, want)
		}
	}
}

// TestFileOutput: appended, mode 0640, reopened after a rename (as
// logrotate does) on Reopen.
func TestFileOutput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.cef")
	o := output(t, "file:"+path, "cef")
	f := &Filter{Outputs: []*Output{o}}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	f.Run(bytes.NewReader(numbered(3)), "a")
	waitEmpty(t, o)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.Reopen()
	f.Run(bytes.NewReader(numbered(2)), "b")
	f.Drain(5 * time.Second)
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if bytes.Count(old, []byte("\n")) != 3 || bytes.Count(cur, []byte("\n")) != 2 || !bytes.HasPrefix(cur, []byte("CEF:0|")) {
		t.Errorf("rotated %q, current %q", old, cur)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
}

func waitEmpty(t *testing.T, o *Output) {
	for i := 0; i < 500; i++ {
		if q, _ := o.sp.Stats(); q == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("queue did not empty")
}

// TestTLSVerified: a server whose certificate the client cannot verify
// gets nothing; the alerts stay queued.
func TestTLSVerified(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	o := output(t, "syslog+tls://"+srv.Listener.Addr().String(), "syslog")
	var warn []string
	o.Warn = func(m string) { warn = append(warn, m) }
	f := &Filter{Outputs: []*Output{o}}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	f.Run(bytes.NewReader(numbered(5)), "x")
	if q := f.Drain(500 * time.Millisecond); q != 5 {
		t.Errorf("%d queued, want 5", q)
	}
	if len(warn) == 0 || !strings.Contains(warn[0], "certificate") {
		t.Errorf("warnings %q", warn)
	}
}

// TestUnixDatagram: syslog:///PATH sends one datagram per message, as to
// /dev/log.
func TestUnixDatagram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := output(t, "syslog://"+path, "syslog")
	o.Format.RFC3164 = true
	runFilter(t, bytes.NewReader(numbered(3)), 5*time.Second, o)
	buf := make([]byte, 65536)
	for i := 0; i < 3; i++ {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m := rfc3164.FindSubmatch(buf[:n]); m == nil || !bytes.Contains(m[5], []byte(fmt.Sprintf(`"reason":"alert %d"`, i))) {
			t.Errorf("datagram %d: %q", i, buf[:n])
		}
	}
}
