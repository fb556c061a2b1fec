// Package ssh follows SSH connections in reassembled TCP streams and emits
// one "ssh" event per connection that showed an identification string:
// the client and server version strings, HASSH and HASSHServer (the MD5 of
// each side's KEXINIT algorithm lists, with the strings hashed), whether
// authentication appears to have succeeded, payload bytes and data segments
// each way, and the duration.
//
// Authentication is inferred as Zeek's SSH analyser does for SSH 2, from the
// sizes of the server's first encrypted segments after NEWKEYS: the first is
// the SERVICE_ACCEPT; a segment 16 bytes shorter than it is a
// USERAUTH_SUCCESS (an attempt, success); the first other size is taken as
// the USERAUTH_FAILURE size (a large one is a pre-auth banner and skipped
// once), and each later segment of that size is a failed attempt. An SSH 1 connection, compressed traffic the
// heuristic cannot size (zlib), or a connection that ends before a
// decision stays undecided (authSuccess absent).
package ssh

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/stream"
)

// Stats counts what the analyser saw.
type Stats struct {
	Conns     int64 // connections with an SSH identification string
	Events    int64
	Malformed int64 // connections whose cleartext packets could not be parsed
}

// Analyzer follows SSH connections. Use it from one goroutine.
type Analyzer struct {
	emit       func(*event.Event)
	stats      Stats
	stream.Own         // reassembly when used alone, as a decode.Handler
	free       []*conn // ended connections, reused: most TCP connections are not SSH
}

// New returns an analyser calling emit once per SSH connection; the event
// belongs to the callee. Alone it is a decode.Handler with its own
// reassembly; to share one give Conn to stream.New through stream.Fanout.
func New(emit func(*event.Event)) *Analyzer {
	a := &Analyzer{emit: emit}
	a.Own = stream.Own{Config: stream.DefaultConfig(), Factory: a.Conn}
	return a
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats { return a.stats }

// Conn is a stream.Factory.
func (a *Analyzer) Conn(id stream.ID) stream.Conn {
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free = a.free[:n-1]
		c.a, c.id = a, id
		return c
	}
	return &conn{a: a, id: id}
}

// recycle keeps c for a later connection; the stream calls nothing on c
// after End.
func (a *Analyzer) recycle(c *conn) {
	if len(a.free) < 1024 {
		*c = conn{}
		a.free = append(a.free, c)
	}
}

// Limits on what is held before a direction turns encrypted.
const (
	maxBanner = 1024     // bytes of lines before the identification string (RFC 4253 allows servers some)
	maxClear  = 64 << 10 // cleartext binary packets held
	maxPacket = 35000    // RFC 4253's minimum a receiver must take
)

// Message numbers of RFC 4253.
const (
	msgKexInit = 20
	msgNewKeys = 21
)

type half struct {
	buf       []byte
	version   string // the identification string
	bannerOK  bool
	encrypted bool
	dead      bool // unparseable, gapped or too large: ignored from here on
	kex       *KexInit
	bytes     int64
	segs      int64
}

type conn struct {
	a      *Analyzer
	id     stream.ID
	h      [2]half
	last   time.Time
	done   bool
	notSSH bool

	// Zeek's size heuristic over the server's encrypted segments.
	serviceAccept, failureSize int
	skippedBanner, decided     bool
	success                    *bool
	attempts                   int
}

// Data parses one direction's bytes.
func (c *conn) Data(d stream.Dir, b []byte, ts time.Time) bool {
	if c.done || c.notSSH {
		return false
	}
	h := &c.h[d]
	h.bytes += int64(len(b))
	h.segs++
	c.last = ts
	if h.dead {
		return !c.bothDead()
	}
	if h.encrypted {
		if d == stream.ServerToClient && c.ssh2() {
			c.encryptedFromServer(len(b))
		}
		return true
	}
	if !h.bannerOK && len(h.buf) == 0 && len(b) > 0 && !mayStartSSH(d, b) {
		// Decided on the first bytes, without copying them: a client
		// opens with its identification string, a server with text.
		c.notSSH = true
		return false
	}
	h.buf = append(h.buf, b...)
	if !h.bannerOK {
		if !c.banner(d, h) {
			return !c.notSSH
		}
	}
	c.packets(h)
	if len(h.buf) > maxClear {
		h.dead, h.buf = true, nil
		c.a.stats.Malformed++
	}
	return !c.bothDead()
}

func (c *conn) bothDead() bool {
	return (c.h[0].dead || c.h[0].encrypted) && (c.h[1].dead || c.h[1].encrypted) && c.decided
}

// banner takes lines until the identification string; it reports whether
// one was found. A client's first line must be it; a server may precede it
// with other lines.
func (c *conn) banner(d stream.Dir, h *half) bool {
	for {
		i := indexNL(h.buf)
		if i < 0 {
			if len(h.buf) > maxBanner {
				h.dead, h.buf = true, nil
				if c.h[0].version == "" && c.h[1].version == "" {
					c.notSSH = true
				}
			}
			return false
		}
		line := h.buf[:i]
		rest := h.buf[i+1:]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if isIdent(line) {
			if c.h[0].version == "" && c.h[1].version == "" {
				c.a.stats.Conns++
			}
			h.version = string(line)
			h.bannerOK = true
			h.buf = append(h.buf[:0], rest...)
			return true
		}
		if d == stream.ClientToServer && c.h[0].version == "" {
			c.notSSH = true // RFC 4253: the client sends its identification first
			return false
		}
		h.buf = append(h.buf[:0], rest...)
	}
}

// mayStartSSH says whether b can begin an SSH connection's direction d.
func mayStartSSH(d stream.Dir, b []byte) bool {
	if d == stream.ServerToClient {
		return b[0] >= ' ' && b[0] <= '~' || b[0] == '\r' || b[0] == '\n'
	}
	const id = "SSH-"
	n := min(len(b), len(id))
	return string(b[:n]) == id[:n]
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func isIdent(line []byte) bool {
	return len(line) >= 8 && string(line[:4]) == "SSH-" && (line[4] == '1' || line[4] == '2') && line[5] == '.'
}

// ssh2 says whether both sides speak SSH 2 (a 1.99 server does both).
func (c *conn) ssh2() bool {
	cv := c.h[0].version
	return len(cv) > 5 && cv[4] == '2' || len(cv) > 8 && cv[4:8] == "1.99"
}

// packets parses the cleartext binary packets held in h.buf.
func (c *conn) packets(h *half) {
	for !h.encrypted && !h.dead {
		if len(h.buf) < 6 {
			return
		}
		n := int(binary.BigEndian.Uint32(h.buf))
		if n < 2 || n > maxPacket {
			if len(c.h[0].version) > 5 && c.h[0].version[4] == '1' || len(c.h[1].version) > 5 && c.h[1].version[4:6] == "1." && c.h[1].version[4:8] != "1.99" {
				h.dead, h.buf = true, nil // SSH 1 framing: nothing more to read
				return
			}
			h.dead, h.buf = true, nil
			c.a.stats.Malformed++
			return
		}
		if len(h.buf) < 4+n {
			return
		}
		pad := int(h.buf[4])
		if pad+1 > n {
			h.dead, h.buf = true, nil
			c.a.stats.Malformed++
			return
		}
		payload := h.buf[5 : 4+n-pad]
		if len(payload) > 0 {
			switch payload[0] {
			case msgKexInit:
				if k, err := ParseKexInit(payload); err == nil {
					h.kex = k
				} else {
					c.a.stats.Malformed++
				}
			case msgNewKeys:
				h.encrypted = true
			}
		}
		h.buf = h.buf[4+n:]
		if h.encrypted {
			h.buf = nil
		}
	}
}

// encryptedFromServer is Zeek's SSH 2 authentication heuristic.
func (c *conn) encryptedFromServer(n int) {
	if c.decided || c.compressed() {
		return
	}
	yes, no := true, false
	switch {
	case c.serviceAccept == 0:
		c.serviceAccept = n
	case c.failureSize == 0 && n+16 == c.serviceAccept:
		c.decided, c.success = true, &yes
		c.attempts++
	case c.failureSize == 0:
		if !c.skippedBanner && n-c.serviceAccept > 256 {
			c.skippedBanner = true
			return
		}
		c.failureSize = n // the first failure only sets the size, as in Zeek
	case n == c.failureSize:
		c.attempts++
		c.success = &no
	case n-c.serviceAccept == -16:
		c.decided, c.success = true, &yes
		c.attempts++
	}
}

// compressed says whether the server's direction is compressed, which
// makes its segment sizes meaningless to the heuristic (Zeek ignores it
// then too).
func (c *conn) compressed() bool {
	ck, sk := c.h[0].kex, c.h[1].kex
	if ck == nil || sk == nil {
		return false
	}
	switch Negotiate(ck.CompS2C, sk.CompS2C) {
	case "zlib", "zlib@openssh.com":
		return true
	}
	return false
}

// Gap ends parsing of that direction.
func (c *conn) Gap(d stream.Dir, n int) {
	h := &c.h[d]
	if !h.encrypted {
		h.dead, h.buf = true, nil
	}
}

// End emits the connection's event.
func (c *conn) End(ts time.Time) {
	if c.done {
		return
	}
	c.done = true
	defer c.a.recycle(c)
	if c.h[0].version == "" && c.h[1].version == "" {
		return
	}
	e := &event.Event{Type: event.TypeSSH, TS: c.id.Start, Proto: "tcp", Source: c.id.Source, TunnelParent: c.id.TunnelParent,
		SrcIP: c.id.Client.Addr(), SrcPort: c.id.Client.Port(), DestIP: c.id.Server.Addr(), DestPort: c.id.Server.Port(),
		ClientVersion: c.h[0].version, ServerVersion: c.h[1].version,
		BytesOut: c.h[0].bytes, BytesIn: c.h[1].bytes, PktsOut: c.h[0].segs, PktsIn: c.h[1].segs,
		AuthSuccess: c.success, AuthAttempts: c.attempts}
	if !c.last.IsZero() && c.last.After(c.id.Start) {
		e.Duration = c.last.Sub(c.id.Start).Seconds()
	}
	if k := c.h[0].kex; k != nil {
		e.HASSHAlgorithms = k.Algorithms(true)
		e.HASSH = md5hex(e.HASSHAlgorithms)
	}
	if k := c.h[1].kex; k != nil {
		e.HASSHServerAlgorithms = k.Algorithms(false)
		e.HASSHServer = md5hex(e.HASSHServerAlgorithms)
	}
	c.h[0].buf, c.h[1].buf = nil, nil
	c.a.stats.Events++
	c.a.emit(e)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
