package alert

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// relpSender is a client of RELP, rsyslog's Reliable Event Logging
// Protocol (librelp's relp.html): frames "TXNR SP COMMAND SP DATALEN [SP
// DATA] LF"; an "open" offer, then "syslog" commands each answered by an
// "rsp" frame with the same transaction number and a 200 code; "close" at
// the end. Up to Window messages wait for their answer. A message counts
// as delivered only when its answer arrived, so a receiver restart costs
// a resend of the unanswered ones, never a loss.
type relpSender struct {
	addr string
	d    Dest

	mu   sync.Mutex
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	txnr int
}

const relpOffer = "relp_version=0\nrelp_software=nfr-alert\ncommands=syslog"

func (s *relpSender) window() int {
	if s.d.Window > 0 {
		return s.d.Window
	}
	return 128
}

func (s *relpSender) nextTxnr() int {
	s.txnr++
	if s.txnr > 999999999 {
		s.txnr = 1
	}
	return s.txnr
}

func (s *relpSender) writeFrame(txnr int, cmd string, data []byte) {
	w := s.bw
	var num [20]byte
	w.Write(strconv.AppendInt(num[:0], int64(txnr), 10))
	w.WriteByte(' ')
	w.WriteString(cmd)
	w.WriteByte(' ')
	w.Write(strconv.AppendInt(num[:0], int64(len(data)), 10))
	if len(data) > 0 {
		w.WriteByte(' ')
		w.Write(data)
	}
	w.WriteByte('\n')
}

// readFrame reads one frame from the server.
func (s *relpSender) readFrame() (txnr int, cmd string, data []byte, err error) {
	field := func() (string, error) {
		b, err := s.br.ReadSlice(' ')
		if err != nil {
			return "", err
		}
		if len(b) > 32 {
			return "", fmt.Errorf("relp: bad frame header")
		}
		return string(b[:len(b)-1]), nil
	}
	t, err := field()
	if err != nil {
		return 0, "", nil, err
	}
	if txnr, err = strconv.Atoi(t); err != nil {
		return 0, "", nil, fmt.Errorf("relp: bad transaction number %q", t)
	}
	if cmd, err = field(); err != nil {
		return 0, "", nil, err
	}
	// DATALEN ends at a space (data follows) or at the trailer.
	var n int
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return 0, "", nil, err
		}
		if c == ' ' || c == '\n' {
			if c == '\n' {
				if n != 0 {
					return 0, "", nil, fmt.Errorf("relp: frame without data")
				}
				return txnr, cmd, nil, nil
			}
			break
		}
		if c < '0' || c > '9' || n > 1<<20 {
			return 0, "", nil, fmt.Errorf("relp: bad data length")
		}
		n = n*10 + int(c-'0')
	}
	data = make([]byte, n+1)
	if _, err := io.ReadFull(s.br, data); err != nil {
		return 0, "", nil, err
	}
	if data[n] != '\n' {
		return 0, "", nil, fmt.Errorf("relp: frame without trailer")
	}
	return txnr, cmd, data[:n], nil
}

// rspCode returns the code of an "rsp" frame's data ("200 OK ...").
func rspCode(data []byte) (int, string) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	code, msg, _ := bytes.Cut(line, []byte(" "))
	n, err := strconv.Atoi(string(code))
	if err != nil {
		return 0, string(line)
	}
	return n, string(msg)
}

func (s *relpSender) connect() error {
	if s.conn != nil {
		return nil
	}
	c, err := dial("tcp", s.addr, s.d.Timeout)
	if err != nil {
		return err
	}
	s.conn, s.br, s.bw, s.txnr = c, bufio.NewReaderSize(c, 16<<10), bufio.NewWriterSize(c, 64<<10), 0
	c.SetDeadline(time.Now().Add(s.d.Timeout))
	t := s.nextTxnr()
	s.writeFrame(t, "open", []byte(relpOffer))
	if err := s.bw.Flush(); err != nil {
		s.drop()
		return err
	}
	rt, cmd, data, err := s.readFrame()
	if err != nil {
		s.drop()
		return fmt.Errorf("relp open: %w", err)
	}
	if code, msg := rspCode(data); rt != t || cmd != "rsp" || code != 200 {
		s.drop()
		return fmt.Errorf("relp open refused: %d %s", code, msg)
	}
	c.SetDeadline(time.Time{})
	return nil
}

func (s *relpSender) drop() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn = nil
}

var errServerClose = errors.New("relp: the server closed the session")

// Send writes up to Window messages ahead of their answers; the settled
// count is the run of answered messages from the first.
func (s *relpSender) Send(msgs [][]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.connect(); err != nil {
		return 0, err
	}
	pending := map[int]int{} // txnr -> index in msgs
	acked := make([]bool, len(msgs))
	settled, next := 0, 0
	fail := func(err error) (int, error) {
		s.drop()
		return settled, err
	}
	for settled < len(msgs) {
		for next < len(msgs) && len(pending) < s.window() {
			t := s.nextTxnr()
			pending[t] = next
			s.writeFrame(t, "syslog", msgs[next])
			next++
		}
		s.conn.SetDeadline(time.Now().Add(s.d.Timeout))
		if err := s.bw.Flush(); err != nil {
			return fail(err)
		}
		t, cmd, data, err := s.readFrame()
		if err != nil {
			return fail(err)
		}
		if cmd == "serverclose" {
			return fail(errServerClose)
		}
		i, ok := pending[t]
		if cmd != "rsp" || !ok {
			return fail(fmt.Errorf("relp: unexpected %q frame, transaction %d", cmd, t))
		}
		delete(pending, t)
		if code, msg := rspCode(data); code != 200 {
			// The server refused the message; it will not take it later.
			s.d.Reject(msgs[i], fmt.Sprintf("relp %d %s", code, msg))
		}
		acked[i] = true
		for settled < len(msgs) && acked[settled] {
			settled++
		}
	}
	s.conn.SetDeadline(time.Time{})
	return settled, nil
}

// Close ends the session politely when it can.
func (s *relpSender) Close() error {
	if !s.mu.TryLock() {
		// A Send is blocked: cut the connection under it.
		if c := s.conn; c != nil {
			return c.Close()
		}
		return nil
	}
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	s.conn.SetDeadline(time.Now().Add(time.Second))
	t := s.nextTxnr()
	s.writeFrame(t, "close", nil)
	if s.bw.Flush() == nil {
		s.readFrame()
	}
	s.drop()
	return nil
}
