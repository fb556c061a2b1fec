// Package service recognises the application protocol a flow carries from
// the first payload bytes of each direction, on any port, as Zeek's dynamic
// protocol detection fills conn.log's service column. Names are Zeek's
// (dns, http, ssl, quic, ssh, smtp, ftp, irc, socks, rdp, smb, krb and
// krb_tcp, ntp, dhcp, sip, imap, pop3, mysql, postgresql, ldap_tcp and
// ldap_udp). Most protocols are confirmed only when both sides spoke it (a
// request and a reply), as Zeek's analysers confirm: a TLS ClientHello
// answered by an HTTP server is nothing. Message-per-datagram protocols
// (DNS, DHCP, NTP, SIP) are confirmed by one well-formed message.
//
// A Tracker lives in each flow; Observe is called with the payload of the
// first few packets each way and allocates nothing.
package service

import "strings"

// ID numbers a service; Names gives Zeek's name.
type ID uint8

// Services, in no particular order; a flow lists them in the order they
// were confirmed, as Zeek does.
const (
	None ID = iota
	DNS
	HTTP
	SSL
	QUIC
	SSH
	SMTP
	FTP
	IRC
	SOCKS
	RDP
	SMB
	KRB
	KRBTCP
	NTP
	DHCP
	SIP
	IMAP
	POP3
	MySQL
	PostgreSQL
	LDAPTCP
	LDAPUDP
	numIDs
)

var names = [numIDs]string{"", "dns", "http", "ssl", "quic", "ssh", "smtp", "ftp", "irc", "socks",
	"rdp", "smb", "krb", "krb_tcp", "ntp", "dhcp", "sip", "imap", "pop3", "mysql", "postgresql",
	"ldap_tcp", "ldap_udp"}

// String is Zeek's name of the service.
func (id ID) String() string {
	if id < numIDs {
		return names[id]
	}
	return ""
}

// Names lists every service name this package recognises.
func Names() []string { return append([]string(nil), names[1:]...) }

// oneSided services are confirmed by a single well-formed message from
// either side.
const oneSided = 1<<DNS | 1<<DHCP | 1<<NTP | 1<<SIP

// clientConfirms services are confirmed by the originator's request alone
// (Zeek's HTTP and SSL analysers confirm on a parsed request), and undone
// when the responder's next payload is not the protocol (a TLS ClientHello
// answered by an HTTP server, an HTTP request answered by an SSH banner).
const clientConfirms = 1<<HTTP | 1<<SSL

// upgradable services may be followed by another one on the same
// connection (STARTTLS, AUTH TLS, an SSL request, an HTTP CONNECT or
// Upgrade, a SOCKS tunnel): the tracker keeps looking after them.
const upgradable = 1<<HTTP | 1<<FTP | 1<<SMTP | 1<<IMAP | 1<<POP3 | 1<<PostgreSQL | 1<<MySQL |
	1<<LDAPTCP | 1<<SOCKS | 1<<IRC

// MaxPackets is how many payload packets of each direction are looked at.
const MaxPackets = 16

// MaxServices bounds how many services one flow lists.
const MaxServices = 4

// Tracker follows one flow. The zero value is ready to use.
type Tracker struct {
	partial   bool      // a TCP connection joined after its handshake
	small     *segments // tiny first segments being gathered, rarely used
	seen      [2]uint32 // candidates matched per direction (0 originator)
	confirmed uint32
	violated  uint32
	order     [MaxServices]ID
	n         uint8
	pkts      [2]uint8
}

// Done reports whether the tracker wants no more payload: it has looked at
// enough packets, or what it found cannot be followed by anything.
func (t *Tracker) Done() bool {
	return t.pkts[0] >= MaxPackets && t.pkts[1] >= MaxPackets || t.n == MaxServices ||
		t.n > 0 && t.confirmed&upgradable == 0 && t.confirmed&clientConfirms&^t.seen[1] == 0
}

// http09 marks an HTTP/0.9 request in a match: its reply has no status line.
const http09 = 1 << 31

// segments gathers the first bytes of an originator that began with a tiny
// TCP segment of text (a request sent a byte or two at a time), so the
// matchers see a whole line.
type segments struct {
	buf    [2][]byte
	active [2]bool
}

// smallSegment is the length below which a first TCP segment is gathered
// with the following ones; gatherMax is how much is gathered.
const (
	smallSegment = 8
	gatherMax    = 96
)

// Partial says the TCP connection was joined after its handshake: as in
// Zeek, a request alone then confirms nothing; both sides must speak.
func (t *Tracker) Partial() { t.partial = true }

// Observe looks at one packet's payload; tcp is the transport, fromOrig its
// direction.
func (t *Tracker) Observe(payload []byte, tcp, fromOrig bool) {
	d := 0
	if !fromOrig {
		d = 1
	}
	if len(payload) == 0 || t.pkts[d] >= MaxPackets || t.n == MaxServices {
		return
	}
	t.pkts[d]++
	if tcp {
		if fromOrig && t.pkts[d] == 1 && len(payload) < smallSegment && isLetter(payload[0]) {
			if t.small == nil {
				t.small = &segments{}
			}
			t.small.active[d] = true
		}
		if t.small != nil && t.small.active[d] {
			sm := t.small
			sm.buf[d] = append(sm.buf[d], payload[:min(len(payload), gatherMax-len(sm.buf[d]))]...)
			if len(sm.buf[d]) < gatherMax && t.pkts[d] < MaxPackets && !hasNewline(sm.buf[d]) {
				return
			}
			sm.active[d] = false
			payload = sm.buf[d]
		}
	}
	var m uint32
	if tcp {
		m = matchTCP(payload, fromOrig)
	} else {
		m = matchUDP(payload, fromOrig)
	}
	if m&http09 != 0 {
		m &^= http09
		t.seen[1] |= bit(HTTP) // nothing to check in the reply
	}
	if !fromOrig {
		if v := t.confirmed & clientConfirms &^ t.seen[1] &^ m; v != 0 {
			t.undo(v)
		}
	}
	if m == 0 {
		return
	}
	t.seen[d] |= m
	cand := t.seen[0]&t.seen[1] | (t.seen[0]|t.seen[1])&oneSided
	if !t.partial {
		cand |= t.seen[0] & clientConfirms
	}
	nw := cand &^ t.confirmed &^ t.violated
	for id := ID(1); id < numIDs && nw != 0; id++ {
		if nw&bit(id) == 0 {
			continue
		}
		nw &^= bit(id)
		t.add(id)
		if id == QUIC && !t.Has(SSL) {
			// Zeek decrypts the QUIC Initial packets and runs its TLS
			// analyser over the CRYPTO frames: quic,ssl.
			t.add(SSL)
			t.seen[1] |= bit(SSL)
			nw &^= bit(SSL)
		}
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func hasNewline(b []byte) bool {
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

func (t *Tracker) add(id ID) {
	t.confirmed |= bit(id)
	if t.n < MaxServices {
		t.order[t.n] = id
		t.n++
	}
}

// undo removes services whose confirmation the responder contradicted.
func (t *Tracker) undo(v uint32) {
	t.violated |= v
	t.confirmed &^= v
	k := uint8(0)
	for _, id := range t.order[:t.n] {
		if v&bit(id) == 0 {
			t.order[k] = id
			k++
		}
	}
	t.n = k
}

// Services returns the confirmed services in order.
func (t *Tracker) Services() []ID { return t.order[:t.n] }

// String is the services comma-separated, as conn.log's service column.
// Common single services return a constant string.
func (t *Tracker) String() string {
	switch t.n {
	case 0:
		return ""
	case 1:
		return names[t.order[0]]
	}
	var b strings.Builder
	for i, id := range t.order[:t.n] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(names[id])
	}
	return b.String()
}

// Has reports whether the service was confirmed.
func (t *Tracker) Has(id ID) bool { return t.confirmed&(1<<id) != 0 }

func bit(id ID) uint32 { return 1 << id }

func matchTCP(b []byte, orig bool) uint32 {
	var m uint32
	if tlsRecord(b, orig) {
		m |= bit(SSL)
	}
	if rdp(b, orig) {
		m |= bit(RDP)
	}
	if smb(b) {
		m |= bit(SMB)
	}
	if krbTCP(b, orig) {
		m |= bit(KRBTCP)
	}
	if postgres(b, orig) {
		m |= bit(PostgreSQL)
	}
	if mysql(b, orig) {
		m |= bit(MySQL)
	}
	if socks(b, orig) {
		m |= bit(SOCKS)
	}
	if ldap(b, orig) {
		m |= bit(LDAPTCP)
	}
	if len(b) > 2 && int(b[0])<<8|int(b[1]) >= 12 && dnsMessage(b[2:]) {
		m |= bit(DNS)
	}
	return m | text(b, orig)
}

func matchUDP(b []byte, orig bool) uint32 {
	var m uint32
	if dnsMessage(b) {
		m |= bit(DNS)
	}
	if dhcp(b) {
		m |= bit(DHCP)
	}
	if ntp(b) {
		m |= bit(NTP)
	}
	if quicLong(b) {
		m |= bit(QUIC)
	}
	if krbMessage(b, orig) {
		m |= bit(KRB)
	}
	if ldapUDP(b, orig) {
		m |= bit(LDAPUDP)
	}
	if sip(b, orig) {
		m |= bit(SIP)
	}
	return m
}
