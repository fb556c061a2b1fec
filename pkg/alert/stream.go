package alert

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// tlsVerdict is how long a new TLS 1.3 session waits for the server to
// refuse the client's certificate.
const tlsVerdict = 200 * time.Millisecond

type framing int

const (
	octetCount framing = iota // RFC 6587 3.4.1: "LEN SP MSG"
	nullEnd                   // GELF TCP: MSG NUL
)

// streamSender writes messages over TCP or TLS. A message counts as
// delivered once the kernel took it; TCP cannot say more, so a receiver
// killed hard loses what was in flight.
type streamSender struct {
	network, addr string
	d             Dest
	frame         framing
	tls           *tls.Config

	mu   sync.Mutex
	conn net.Conn
	bw   *bufio.Writer
	ends []int

	recent     [][]byte // settled on this connection, newest last
	recentSize int
	redo       [][]byte // to send again before anything else
}

func (s *streamSender) connect() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return nil
	}
	c, err := dial(s.network, s.addr, s.d.Timeout)
	if err != nil {
		return err
	}
	if s.tls != nil {
		tc := tls.Client(c, s.tls)
		tc.SetDeadline(time.Now().Add(s.d.Timeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return err
		}
		tc.SetDeadline(time.Time{})
		// In TLS 1.3 the server judges the client's certificate after the
		// client's handshake is done, and says no with an alert: wait a
		// moment for one, so no batch is written into a refused session.
		if tc.ConnectionState().Version >= tls.VersionTLS13 {
			tc.SetReadDeadline(time.Now().Add(tlsVerdict))
			var b [1]byte
			_, err := tc.Read(b[:])
			tc.SetReadDeadline(time.Time{})
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				c.Close()
				if err == nil {
					err = fmt.Errorf("%s: the syslog server spoke first", s.addr)
				}
				return err
			}
		}
		c = tc
	}
	s.conn, s.bw = c, bufio.NewWriterSize(c, 64<<10)
	return nil
}

func (s *streamSender) Send(msgs [][]byte) (int, error) {
	// A receiver that closed its side (a graceful stop) shows only on a
	// read; look without waiting, so a batch is not written into a dead
	// connection.
	if s.conn != nil {
		if err := peerClosed(s.conn); err != nil {
			s.lost(err)
			s.Close()
		}
	}
	if err := s.connect(); err != nil {
		return 0, err
	}
	all := msgs
	nredo := len(s.redo)
	if nredo > 0 {
		all = append(append(make([][]byte, 0, nredo+len(msgs)), s.redo...), msgs...)
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.d.Timeout))
	// ends[i] is where message i ends in the bytes written.
	ends := s.ends[:0]
	var num [20]byte
	written := 0
	for _, m := range all {
		switch s.frame {
		case octetCount:
			l := strconv.AppendInt(num[:0], int64(len(m)), 10)
			s.bw.Write(l)
			s.bw.WriteByte(' ')
			written += len(l) + 1
		}
		s.bw.Write(m)
		written += len(m)
		if s.frame == nullEnd {
			s.bw.WriteByte(0)
			written++
		}
		ends = append(ends, written)
	}
	s.ends = ends
	if err := s.bw.Flush(); err != nil {
		s.lost(err)
		s.Close()
		return 0, err
	}
	settled, err := s.waitAcked(all, ends, written)
	s.remember(all[:settled])
	if settled >= nredo {
		s.redo = nil
	} else {
		s.redo = s.redo[settled:]
	}
	if err != nil {
		s.lost(err)
	}
	return max(0, settled-nredo), err
}

// Messages kept after their bytes were acknowledged, to send again if the
// receiver resets the connection (it closed with data unread: a stopping
// rsyslog drops what sat in its socket).
const (
	recentMsgs  = 4096
	recentBytes = 2 << 20
)

// remember keeps copies of settled messages, the newest recentMsgs or
// recentBytes of them.
func (s *streamSender) remember(ms [][]byte) {
	for _, m := range ms {
		s.recent = append(s.recent, append([]byte(nil), m...))
		s.recentSize += len(m)
	}
	drop := 0
	for drop < len(s.recent) && (len(s.recent)-drop > recentMsgs || s.recentSize > recentBytes) {
		s.recentSize -= len(s.recent[drop])
		drop++
	}
	if drop > 0 {
		s.recent = append(s.recent[:0], s.recent[drop:]...)
	}
}

// lost handles a failed connection: after a reset, the messages the
// receiver may not have read are sent again first (at least once: some
// arrive twice); after a clean close it read everything.
func (s *streamSender) lost(err error) {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		s.redo = append(s.recent, s.redo...)
	}
	s.recent, s.recentSize = nil, 0
}

// waitAcked waits until the receiver's TCP acknowledged every byte, so a
// message counts as delivered only once it reached the receiving host. A
// message whose bytes were not acknowledged when the connection failed is
// sent again. Over TLS the byte counts differ, so a batch is all or none.
func (s *streamSender) waitAcked(msgs [][]byte, ends []int, written int) (int, error) {
	raw := s.conn
	if s.tls != nil {
		raw = s.conn.(*tls.Conn).NetConn()
	}
	deadline := time.Now().Add(s.d.Timeout)
	wait := 50 * time.Microsecond
	last := -1
	for {
		q := unacked(raw)
		if q <= 0 {
			return len(msgs), nil
		}
		last = q
		if err := peerClosed(s.conn); err != nil || time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s: %d bytes not acknowledged in %v", s.addr, q, s.d.Timeout)
			}
			s.Close()
			settled := 0
			if s.tls == nil && last >= 0 {
				for settled < len(ends) && ends[settled] <= written-last {
					settled++
				}
			}
			return settled, err
		}
		time.Sleep(wait)
		wait = min(wait*2, 10*time.Millisecond)
	}
}

// peerClosed reports a connection the peer has closed (EOF on a read that
// would otherwise block).
func peerClosed(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(time.Microsecond))
	var b [1]byte
	_, err := c.Read(b[:])
	c.SetReadDeadline(time.Time{})
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil
	}
	if err == nil {
		return nil // the receiver talks; syslog receivers do not
	}
	return err
}

func (s *streamSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.bw = nil, nil
	return err
}

// packetSender sends one datagram per message: syslog over UDP or a unix
// datagram socket, GELF over UDP (compressed, chunked).
type packetSender struct {
	network, addr string
	d             Dest
	gelf          bool

	mu   sync.Mutex
	conn net.Conn
	zbuf bytes.Buffer
	zw   *zlib.Writer
}

// GELF UDP chunking: at most 128 chunks of a 12-byte header and data.
const (
	gelfChunkData = 1420
	gelfMaxChunks = 128
)

func (s *packetSender) Send(msgs [][]byte) (int, error) {
	s.mu.Lock()
	if s.conn == nil {
		c, err := dial(s.network, s.addr, s.d.Timeout)
		if err != nil {
			s.mu.Unlock()
			return 0, err
		}
		s.conn = c
	}
	c := s.conn
	s.mu.Unlock()
	for i, m := range msgs {
		var err error
		if s.gelf {
			err = s.sendGELF(c, m)
		} else {
			_, err = c.Write(m)
		}
		if err != nil {
			if isTooBig(err) || err == errTooManyChunks {
				s.d.Reject(m, err.Error())
				continue
			}
			s.Close()
			return i, err
		}
	}
	return len(msgs), nil
}

var errTooManyChunks = fmt.Errorf("GELF message over %d chunks of %d bytes, even compressed", gelfMaxChunks, gelfChunkData)

func isTooBig(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("message too long"))
}

func (s *packetSender) sendGELF(c net.Conn, m []byte) error {
	s.zbuf.Reset()
	if s.zw == nil {
		s.zw = zlib.NewWriter(&s.zbuf)
	} else {
		s.zw.Reset(&s.zbuf)
	}
	s.zw.Write(m)
	s.zw.Close()
	z := s.zbuf.Bytes()
	if len(z) <= gelfChunkData {
		_, err := c.Write(z)
		return err
	}
	n := (len(z) + gelfChunkData - 1) / gelfChunkData
	if n > gelfMaxChunks {
		return errTooManyChunks
	}
	var id [8]byte
	rand.Read(id[:])
	pkt := make([]byte, 0, 12+gelfChunkData)
	for i := 0; i < n; i++ {
		pkt = append(pkt[:0], 0x1e, 0x0f)
		pkt = append(pkt, id[:]...)
		pkt = append(pkt, byte(i), byte(n))
		pkt = append(pkt, z[i*gelfChunkData:min(len(z), (i+1)*gelfChunkData)]...)
		if _, err := c.Write(pkt); err != nil {
			return err
		}
	}
	return nil
}

func (s *packetSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// writerSender writes lines to a writer (stdout).
type writerSender struct {
	w  io.Writer
	bw *bufio.Writer
}

func (s *writerSender) Send(msgs [][]byte) (int, error) {
	if s.bw == nil {
		s.bw = bufio.NewWriterSize(s.w, 64<<10)
	}
	for _, m := range msgs {
		s.bw.Write(m)
		s.bw.WriteByte('\n')
	}
	return len(msgs), s.bw.Flush()
}

func (s *writerSender) Close() error { return nil }

// FileSender appends lines to a file (mode 0640), reopened by Reopen so
// logrotate can move it away.
type FileSender struct {
	path string
	mu   sync.Mutex
	f    *os.File
	bw   *bufio.Writer
}

func openFileSender(path string) (*FileSender, error) {
	if path == "" {
		return nil, fmt.Errorf("file: needs a path, as in file:/var/log/nfr/alerts.cef")
	}
	return &FileSender{path: path}, nil
}

func (s *FileSender) Send(msgs [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return 0, err
		}
		s.f, s.bw = f, bufio.NewWriterSize(f, 64<<10)
	}
	for _, m := range msgs {
		s.bw.Write(m)
		s.bw.WriteByte('\n')
	}
	if err := s.bw.Flush(); err != nil {
		s.f.Close()
		s.f = nil
		return 0, err
	}
	return len(msgs), nil
}

// Reopen closes the file; the next Send opens it again by name.
func (s *FileSender) Reopen() error { return s.Close() }

func (s *FileSender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
