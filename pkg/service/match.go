package service

// Each matcher says whether b, the start of one packet's payload from the
// originator (orig) or the responder, looks like its protocol. They read
// only b, never past it, and allocate nothing.

func be16(b []byte) int { return int(b[0])<<8 | int(b[1]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// tlsRecord: a handshake record carrying a ClientHello (orig) or a
// ServerHello (responder), or their SSLv2 forms.
func tlsRecord(b []byte, orig bool) bool {
	if len(b) >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && be16(b[3:]) > 0 {
		if orig {
			return b[5] == 1
		}
		return b[5] == 2
	}
	if !orig && len(b) >= 5 && b[0] >= 0x14 && b[0] <= 0x17 && b[1] == 3 && b[2] <= 4 {
		return true // a TLS record of any kind: Zeek's parser takes it
	}
	if len(b) >= 3 && b[0]&0x80 != 0 && b[1] > 0 {
		// SSLv2 record header: 2-byte length, then the message type.
		if orig {
			return b[2] == 1 && len(b) >= 5 && b[3] <= 3
		}
		return b[2] == 4
	}
	return false
}

// rdp: a TPKT-framed X.224 Connection Request (orig) or Confirm.
func rdp(b []byte, orig bool) bool {
	if len(b) < 7 || b[0] != 3 || b[1] != 0 || be16(b[2:]) < 7 || int(b[4])+5 > be16(b[2:]) {
		return false
	}
	if orig {
		return b[5] == 0xe0
	}
	return b[5] == 0xd0
}

// smb: a NetBIOS session message holding an SMB1, SMB2 or SMB3 transform
// header.
func smb(b []byte) bool {
	return len(b) >= 8 && b[0] == 0 && (b[4] == 0xff || b[4] == 0xfe || b[4] == 0xfd) &&
		b[5] == 'S' && b[6] == 'M' && b[7] == 'B'
}

// krbApp: the ASN.1 application tag of a Kerberos AS-REQ, TGS-REQ (orig),
// AS-REP, TGS-REP or KRB-ERROR, with a definite length that fits n bytes,
// followed by a SEQUENCE.
func krbApp(b []byte, orig bool) bool {
	if len(b) < 4 {
		return false
	}
	switch b[0] {
	case 0x6a, 0x6c:
		if !orig {
			return false
		}
	case 0x6b, 0x6d, 0x7e:
		if orig {
			return false
		}
	default:
		return false
	}
	n, hl := berLen(b[1:])
	if hl == 0 || 1+hl >= len(b) || b[1+hl] != 0x30 {
		return false
	}
	return 1+hl+n == len(b) || 1+hl+n > len(b) // whole, or cut by the snaplen or a segment boundary
}

func krbMessage(b []byte, orig bool) bool { return krbApp(b, orig) }

func krbTCP(b []byte, orig bool) bool {
	if len(b) < 8 || b[0]&0x80 != 0 {
		return false
	}
	n := be32(b)
	return n >= 4 && n <= 1<<20 && krbApp(b[4:], orig)
}

// berLen reads a BER definite length; hl is its size, 0 when invalid.
func berLen(b []byte) (n, hl int) {
	if len(b) == 0 {
		return 0, 0
	}
	if b[0] < 0x80 {
		return int(b[0]), 1
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k
}

// ldapOp: an LDAPMessage (SEQUENCE, INTEGER messageID, protocolOp) whose
// operation is a request (orig) or a response.
func ldapOp(b []byte, orig bool) bool {
	if len(b) < 7 || b[0] != 0x30 {
		return false
	}
	_, hl := berLen(b[1:])
	i := 1 + hl
	if hl == 0 || i+2 >= len(b) || b[i] != 0x02 || b[i+1] == 0 || b[i+1] > 4 {
		return false
	}
	i += 2 + int(b[i+1])
	if i >= len(b) {
		return false
	}
	op := b[i]
	if orig {
		switch op {
		case 0x60, 0x42, 0x63, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, 0x77:
			return true
		}
		return false
	}
	switch op {
	case 0x61, 0x64, 0x65, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x73, 0x78, 0x79:
		return true
	}
	return false
}

func ldap(b []byte, orig bool) bool    { return ldapOp(b, orig) }
func ldapUDP(b []byte, orig bool) bool { return ldapOp(b, orig) }

// postgres: a StartupMessage, SSLRequest or GSSENCRequest (orig); the
// one-byte answer to an SSL request, or an authentication request or
// error (responder).
func postgres(b []byte, orig bool) bool {
	if orig {
		if len(b) < 8 {
			return false
		}
		n := be32(b)
		switch be32(b[4:]) {
		case 80877103, 80877104: // SSLRequest, GSSENCRequest
			return n == 8
		case 196608: // protocol 3.0
			return n >= 9 && n <= 10000 && int(n) <= len(b)+1 && b[len(b)-1] == 0
		}
		return false
	}
	if len(b) == 1 {
		return b[0] == 'S' || b[0] == 'N' || b[0] == 'G'
	}
	if len(b) >= 9 && b[0] == 'R' {
		n := be32(b[1:])
		return n >= 8 && n <= 1024 && be32(b[5:]) <= 12
	}
	return false
}

// mysql: the server's initial handshake (protocol 10, a version string
// starting with a digit), or the client's reply to it (sequence 1).
func mysql(b []byte, orig bool) bool {
	if len(b) < 5 {
		return false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if n+4 != len(b) {
		return false
	}
	if orig {
		return b[3] == 1 && n >= 32
	}
	if b[3] != 0 || b[4] != 10 || len(b) < 6 || b[5] < '0' || b[5] > '9' {
		return false
	}
	for _, c := range b[5:] {
		if c == 0 {
			return true
		}
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return false
}

// socks: a SOCKS4(a) CONNECT/BIND or SOCKS5 greeting (orig); the SOCKS4
// reply or SOCKS5 method choice (responder).
func socks(b []byte, orig bool) bool {
	if orig {
		switch {
		case len(b) >= 9 && b[0] == 4 && (b[1] == 1 || b[1] == 2):
			return b[len(b)-1] == 0
		case len(b) >= 3 && b[0] == 5 && b[1] >= 1 && b[1] <= 16:
			if len(b) != 2+int(b[1]) {
				return false
			}
			for _, m := range b[2:] {
				if m > 9 && m < 0x80 && m != 0xff {
					return false
				}
			}
			return true
		}
		return false
	}
	switch {
	case len(b) == 8 && b[0] == 0:
		return b[1] >= 0x5a && b[1] <= 0x5d
	case len(b) == 2 && b[0] == 5:
		return b[1] <= 2 || b[1] == 0xff
	}
	return false
}

// dnsMessage: a DNS header with plausible counts (unassigned opcodes too,
// which Suricata and Zeek parse, but not 15: a DTLS record header reads as
// a DNS response with opcode 15), and a
// question (or, without one, a first record) whose name is well formed.
func dnsMessage(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	if b[2]>>3&0xf == 15 {
		return false
	}
	qd, an, ns, ar := be16(b[4:]), be16(b[6:]), be16(b[8:]), be16(b[10:])
	if qd > 16 || an > 512 || ns > 512 || ar > 512 {
		return false
	}
	response := b[2]&0x80 != 0
	if qd == 0 && (!response || an+ns+ar == 0) {
		return false
	}
	if qd == 0 && b[2]>>3&0xf == 0 && b[3]&0xf != 0 {
		// An error with no question: too little to tell from noise.
		return false
	}
	i, ok := dnsName(b, 12)
	if !ok {
		return false
	}
	if i+4 > len(b) {
		return i == len(b) && len(b) > 13 // cut after the name
	}
	class := be16(b[i+2:]) &^ 0x8000 // mDNS's unicast-response / cache-flush bit
	switch class {
	case 1, 3, 4, 254, 255:
	default:
		return false
	}
	return be16(b[i:]) != 0
}

// dnsName skips a name starting at i; a compression pointer must point
// backwards into the message.
func dnsName(b []byte, i int) (int, bool) {
	for n := 0; n < 128; n++ {
		if i >= len(b) {
			return i, n > 0
		}
		l := int(b[i])
		switch {
		case l == 0:
			return i + 1, true
		case l&0xc0 == 0xc0:
			if i+1 >= len(b) {
				return i, false
			}
			if p := (l&0x3f)<<8 | int(b[i+1]); p < 12 || p >= i {
				return i, false
			}
			return i + 2, true
		case l&0xc0 != 0:
			return i, false
		}
		i += 1 + l
		if i > len(b) {
			return len(b), true
		}
	}
	return i, false
}

// dhcp: a BOOTP message over Ethernet carrying the DHCP magic cookie.
func dhcp(b []byte) bool {
	return len(b) >= 240 && (b[0] == 1 || b[0] == 2) && b[1] == 1 && b[2] == 6 &&
		be32(b[236:]) == 0x63825363
}

// ntp: an NTPv1-4 client/server/broadcast/symmetric message of a standard
// size, with a sane stratum, poll and precision.
func ntp(b []byte) bool {
	switch len(b) {
	case 48, 52, 68, 72: // bare, with a key id, with an MD5 or SHA-1 MAC
	default:
		return false
	}
	li, v, mode := b[0]>>6, b[0]>>3&7, b[0]&7
	if li == 1 || li == 2 || v < 1 || v > 4 || mode < 1 || mode > 5 || b[1] > 16 {
		return false
	}
	if prec := int8(b[3]); prec > 0 || prec < -32 {
		return false
	}
	return b[2] <= 17 || int8(b[2]) < 0 && int8(b[2]) > -8
}

// quicLong: a QUIC long-header packet of version 1, 2 or a draft, with a
// connection id length within the limit; the client's first one is an
// Initial padded to 1200 bytes.
func quicLong(b []byte) bool {
	if len(b) < 7 || b[0]&0xc0 != 0xc0 {
		return false
	}
	switch v := be32(b[1:]); {
	case v == 1, v == 0x6b3343cf, v&0xffffff00 == 0xff000000:
	default:
		return false
	}
	return b[5] <= 20
}

// sip: a request line naming a sip: or sips: URI, or a SIP/2.0 status line.
func sip(b []byte, orig bool) bool {
	if len(b) == 0 || b[0] < 'A' || b[0] > 'Z' {
		return false // every start below is an upper-case word: skip binary data (DNS) at once
	}
	if hasPrefix(b, "SIP/2.0 ") {
		return len(b) >= 11 && digits(b[8:11])
	}
	for _, m := range [...]string{"INVITE ", "REGISTER ", "OPTIONS ", "ACK ", "BYE ", "CANCEL ",
		"SUBSCRIBE ", "NOTIFY ", "MESSAGE ", "INFO ", "PRACK ", "UPDATE ", "REFER ", "PUBLISH "} {
		if hasPrefix(b, m) {
			r := b[len(m):]
			return hasPrefix(r, "sip:") || hasPrefix(r, "sips:")
		}
	}
	return false
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// hasPrefixFold is hasPrefix ignoring ASCII case.
func hasPrefixFold(b []byte, s string) bool {
	if len(b) < len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// httpRequest: a request line "METHOD SP target SP HTTP/1.x" with any
// method token (Zeek accepts unknown methods such as QUERY), or an HTTP/0.9
// "GET target" (v09), whose reply has no status line.
func httpRequest(b []byte) (ok, v09 bool) {
	i := 0
	for i < len(b) && i < 24 && (b[i] >= 'A' && b[i] <= 'Z' || b[i] == '-' || b[i] == '_') {
		i++
	}
	if i < 3 || i >= len(b) || b[i] != ' ' {
		return false, false
	}
	rest := b[i+1:]
	if len(rest) == 0 || rest[0] == ' ' || rest[0] < '!' {
		return false, false
	}
	for j := 0; j < len(rest) && j < 8192; j++ {
		switch rest[j] {
		case '\r', '\n':
			if i == 3 && string(b[:3]) == "GET" && !contains(rest[:j], " ") {
				return true, true
			}
			return false, false
		case ' ':
			if hasPrefix(rest[j:], " HTTP/") {
				return true, false
			}
		}
	}
	return false, false
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}

// sshBanner: an SSH identification string at the start of the payload or,
// from a server, of one of its lines (servers may send text before it).
func sshBanner(b []byte, orig bool) bool {
	isID := func(b []byte) bool {
		return hasPrefix(b, "SSH-") && len(b) >= 6 && (b[4] == '1' || b[4] == '2') && b[5] == '.'
	}
	if isID(b) {
		return true
	}
	if orig {
		return false // only servers send lines before it
	}
	// b starts with a printable byte (text, the only caller, sees to it):
	// pre-banner lines are text, so binary data is not looked through.
	for i := 0; i+1 < len(b) && i < 512; i++ {
		if b[i] == '\n' && isID(b[i+1:]) {
			return true
		}
		if b[i] < '\t' {
			return false // a NUL or control byte: not a text line
		}
	}
	return false
}

// reply3: a three-digit reply code followed by a space or a hyphen.
func reply3(b []byte, code string) bool {
	return len(b) >= 4 && hasPrefix(b, code) && (b[3] == ' ' || b[3] == '-')
}

// text matches the line-based protocols.
func text(b []byte, orig bool) uint32 {
	if len(b) == 0 || b[0] < ' ' || b[0] > '~' {
		// Each protocol below starts with a printable character: a TLS
		// record or other binary data is none of them, without the
		// thirty prefix comparisons.
		return 0
	}
	var m uint32
	if sshBanner(b, orig) {
		m |= bit(SSH)
	}
	// GridFTP's GSI carries the TLS handshake base64-encoded in FTP ADAT
	// commands and replies ("FgM" is a handshake record, 0x16 0x03).
	if orig && hasPrefix(b, "ADAT FgM") || !orig && (hasPrefix(b, "335 ADAT=FgM") || hasPrefix(b, "235 ADAT=FgM")) {
		m |= bit(SSL)
	}
	if orig {
		if ok, v09 := httpRequest(b); ok {
			m |= bit(HTTP)
			if v09 {
				m |= http09
			}
		}
		if hasPrefixFold(b, "EHLO ") || hasPrefixFold(b, "HELO ") || hasPrefixFold(b, "EHLO\r") {
			m |= bit(SMTP)
		}
		for _, c := range [...]string{"USER ", "AUTH ", "FEAT", "SYST", "OPTS ", "PASS "} {
			if hasPrefixFold(b, c) {
				m |= bit(FTP)
			}
		}
		for _, c := range [...]string{"USER ", "CAPA", "APOP ", "AUTH", "STLS", "QUIT"} {
			if hasPrefixFold(b, c) {
				m |= bit(POP3)
			}
		}
		for _, c := range [...]string{"NICK ", "USER ", "PASS ", "CAP LS", "CAP REQ"} {
			if hasPrefixFold(b, c) {
				m |= bit(IRC)
			}
		}
		if imapCommand(b) {
			m |= bit(IMAP)
		}
		return m
	}
	if httpStatus(b) {
		m |= bit(HTTP)
	}
	if reply3(b, "220") || reply3(b, "554") {
		m |= bit(SMTP)
	}
	if reply3(b, "220") || reply3(b, "120") || reply3(b, "421") {
		m |= bit(FTP)
	}
	if hasPrefix(b, "+OK") || hasPrefix(b, "-ERR") {
		m |= bit(POP3)
	}
	if hasPrefixFold(b, "* OK") || hasPrefixFold(b, "* PREAUTH") || hasPrefixFold(b, "* BYE") {
		m |= bit(IMAP)
	}
	if ircServer(b) {
		m |= bit(IRC)
	}
	return m
}

func httpStatus(b []byte) bool {
	return len(b) >= 12 && hasPrefix(b, "HTTP/") && b[6] == '.' && b[8] == ' ' && digits(b[9:12])
}

// imapCommand: "tag SP command" with a command a client opens with.
func imapCommand(b []byte) bool {
	i := 0
	for i < len(b) && i < 32 && b[i] != ' ' {
		c := b[i]
		if c <= ' ' || c > '~' || c == '(' || c == ')' || c == '{' || c == '*' || c == '%' || c == '"' || c == '\\' || c == '+' {
			return false
		}
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ' ' {
		return false
	}
	r := b[i+1:]
	for _, c := range [...]string{"CAPABILITY", "LOGIN ", "STARTTLS", "AUTHENTICATE ", "ID ", "NOOP", "LOGOUT", "SELECT ", "LIST ", "EXAMINE "} {
		if hasPrefixFold(r, c) {
			return true
		}
	}
	return false
}

// ircServer: a prefixed server message (":server 001 nick ..." or
// ":server NOTICE ...") or an unprefixed NOTICE/PING.
func ircServer(b []byte) bool {
	if hasPrefix(b, "NOTICE ") || hasPrefix(b, "PING :") {
		return true
	}
	if len(b) < 4 || b[0] != ':' {
		return false
	}
	i := 1
	for i < len(b) && i < 256 && b[i] != ' ' {
		if b[i] < '!' || b[i] > '~' {
			return false
		}
		i++
	}
	if i >= len(b) {
		return false
	}
	r := b[i+1:]
	return hasPrefix(r, "NOTICE ") || len(r) >= 4 && digits(r[:3]) && r[3] == ' '
}
