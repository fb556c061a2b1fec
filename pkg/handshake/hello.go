// Package handshake reads TLS handshakes: the ClientHello (server name,
// offered versions, ALPN, JA3 and JA4 fingerprints), the ServerHello
// (negotiated version, JA3S) and, for TLS 1.2 and older, the server's leaf
// certificate (SHA-1, subject, issuer, validity). The Analyzer follows TLS
// over reassembled TCP connections, on any port and after STARTTLS, and
// emits one event of type "tls" per connection; ParseClientHello is shared
// with the QUIC analyser.
package handshake

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"

	"github.com/nfr-project/nfr/pkg/event"
)

// Extension numbers used here.
const (
	extServerName        = 0
	extSupportedGroups   = 10
	extECPointFormats    = 11
	extSignatureAlgs     = 13
	extALPN              = 16
	extSupportedVersions = 43
)

// ClientHello is what NFR keeps of a ClientHello.
type ClientHello struct {
	Version      uint16   // legacy_version
	Versions     []uint16 // supported_versions, in order, GREASE included
	Ciphers      []uint16 // in order, GREASE included
	Extensions   []uint16 // in order, GREASE included
	Groups       []uint16 // supported_groups
	PointFormats []uint8
	SigAlgs      []uint16 // signature_algorithms, in order
	SNI          string
	ALPN         []string
	// strs, when set (an analyser's connections), makes SNI out of an
	// arena instead of an allocation of its own (a nil Arena allocates).
	strs *event.Arena
}

// ServerHello is what NFR keeps of a ServerHello.
type ServerHello struct {
	Version    uint16 // legacy_version
	Selected   uint16 // supported_versions, 0 when absent
	Cipher     uint16
	Extensions []uint16
}

var errShort = errors.New("handshake: message too short")

// reader walks a handshake message, failing softly on truncation.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// u16s appends the big-endian values of b to out, which is made when nil
// (so a fresh hello has its lists non-nil, as it always had).
func u16s(out []uint16, b []byte) []uint16 {
	if out == nil {
		out = make([]uint16, 0, len(b)/2)
	}
	for i := 0; i+1 < len(b); i += 2 {
		out = append(out, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return out
}

// ParseClientHello parses the body of a ClientHello handshake message
// (after its 4-byte header).
func ParseClientHello(b []byte) (*ClientHello, error) {
	ch := &ClientHello{}
	ok, err := ch.parse(b)
	if !ok {
		return nil, err
	}
	return ch, err
}

// parse is ParseClientHello into ch, reusing the storage of its lists (an
// analyser's connections reuse theirs); false when b is not a hello.
func (ch *ClientHello) parse(b []byte) (bool, error) {
	r := reader{b: b}
	*ch = ClientHello{Version: r.u16(), Versions: ch.Versions[:0], Ciphers: ch.Ciphers[:0], Extensions: ch.Extensions[:0],
		Groups: ch.Groups[:0], PointFormats: ch.PointFormats[:0], SigAlgs: ch.SigAlgs[:0], ALPN: ch.ALPN[:0], strs: ch.strs}
	r.bytes(32) // random
	r.vec8()    // session id
	if ch.Version >= 0xfe00 {
		r.vec8() // DTLS cookie
	}
	ch.Ciphers = u16s(ch.Ciphers, r.vec16())
	r.vec8() // compression methods
	if r.bad {
		return false, errShort
	}
	if len(r.b) == 0 {
		return true, nil // no extensions
	}
	whole := extensions(r.vec16(), func(typ uint16, data []byte) {
		ch.Extensions = append(ch.Extensions, typ)
		e := reader{b: data}
		switch typ {
		case extServerName:
			list := reader{b: e.vec16()}
			for len(list.b) > 0 && !list.bad {
				kind := list.u8()
				name := list.vec16()
				if kind == 0 && ch.SNI == "" && !list.bad {
					ch.SNI = ch.strs.String(name)
				}
			}
		case extSupportedGroups:
			ch.Groups = u16s(ch.Groups[:0], e.vec16())
		case extECPointFormats:
			ch.PointFormats = append(ch.PointFormats[:0], e.vec8()...)
		case extSignatureAlgs:
			ch.SigAlgs = u16s(ch.SigAlgs[:0], e.vec16())
		case extALPN:
			list := reader{b: e.vec16()}
			for len(list.b) > 0 && !list.bad {
				p := list.vec8()
				if !list.bad {
					ch.ALPN = append(ch.ALPN, alpnName(p))
				}
			}
		case extSupportedVersions:
			ch.Versions = u16s(ch.Versions[:0], e.vec8())
		}
	})
	if !whole {
		return true, errShort
	}
	return true, nil
}

// alpnName returns p as a string, without a copy for the usual protocols.
func alpnName(p []byte) string {
	switch string(p) {
	case "h2":
		return "h2"
	case "http/1.1":
		return "http/1.1"
	}
	return string(p)
}

// ParseServerHello parses the body of a ServerHello message.
func ParseServerHello(b []byte) (*ServerHello, error) {
	sh := &ServerHello{}
	if err := sh.parse(b); err != nil {
		return nil, err
	}
	return sh, nil
}

// parse is ParseServerHello into sh, reusing its list's storage.
func (sh *ServerHello) parse(b []byte) error {
	r := reader{b: b}
	*sh = ServerHello{Version: r.u16(), Extensions: sh.Extensions[:0]}
	r.bytes(32)
	draft := sh.Version>>8 == 0x7f // TLS 1.3 drafts before 22: no session id, no compression
	if !draft {
		r.vec8()
	}
	sh.Cipher = r.u16()
	if !draft {
		r.u8() // compression
	}
	if r.bad {
		return errShort
	}
	if len(r.b) == 0 {
		return nil
	}
	extensions(r.vec16(), func(typ uint16, data []byte) { // a cut-off extension ends them, no error
		sh.Extensions = append(sh.Extensions, typ)
		if typ == extSupportedVersions && len(data) == 2 {
			sh.Selected = uint16(data[0])<<8 | uint16(data[1])
		}
	})
	return nil
}

// extensions calls f with the type and data of each extension of an
// extensions block, in order; false when the block is cut short.
func extensions(b []byte, f func(typ uint16, data []byte)) bool {
	exts := reader{b: b}
	for len(exts.b) > 0 {
		typ, data := exts.u16(), exts.vec16()
		if exts.bad {
			return false
		}
		f(typ, data)
	}
	return true
}

// Grease says whether v is a GREASE value (RFC 8701): 0x?a?a.
func Grease(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// Negotiated is the version the server chose.
func (sh *ServerHello) Negotiated() uint16 {
	if sh.Selected != 0 {
		return sh.Selected
	}
	return sh.Version
}

// Offered is the highest version the client offers.
func (ch *ClientHello) Offered() uint16 {
	var best uint16
	for _, v := range ch.Versions {
		if !Grease(v) && rank(v) > rank(best) {
			best = v
		}
	}
	if best == 0 {
		return ch.Version
	}
	return best
}

// rank orders versions, placing DTLS ones (whose numbers go down) at the
// TLS version they derive from.
func rank(v uint16) int {
	switch v {
	case 0xfeff: // DTLS 1.0 ~ TLS 1.1
		return 0x0302
	case 0xfefd:
		return 0x0303
	case 0xfefc:
		return 0x0304
	}
	return int(v)
}

// VersionName is the stream's name of a protocol version.
func VersionName(v uint16) string {
	switch v {
	case 0x0002:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv10"
	case 0x0302:
		return "TLSv11"
	case 0x0303:
		return "TLSv12"
	case 0x0304:
		return "TLSv13"
	case 0xfeff:
		return "DTLSv10"
	case 0xfefd:
		return "DTLSv12"
	case 0xfefc:
		return "DTLSv13"
	}
	if v>>8 == 0x7f {
		return "TLSv13-draft" + strconv.Itoa(int(v&0xff))
	}
	return "unknown-" + strconv.Itoa(int(v))
}

func appendDec[T uint8 | uint16](b []byte, vs []T, skipGrease bool) []byte {
	first := true
	for _, v := range vs {
		if skipGrease && Grease(uint16(v)) {
			continue
		}
		if !first {
			b = append(b, '-')
		}
		first = false
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return b
}

// JA3 returns the JA3 string of the hello and its MD5 in hex.
func (ch *ClientHello) JA3() (raw, hash string) {
	b := ch.appendJA3(make([]byte, 0, 512))
	sum := md5.Sum(b)
	return string(b), hex.EncodeToString(sum[:])
}

// appendJA3 appends the JA3 string of the hello to b.
func (ch *ClientHello) appendJA3(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(ch.Version), 10)
	b = append(b, ',')
	b = appendDec(b, ch.Ciphers, true)
	b = append(b, ',')
	b = appendDec(b, ch.Extensions, true)
	b = append(b, ',')
	b = appendDec(b, ch.Groups, true)
	b = append(b, ',')
	return appendDec(b, ch.PointFormats, false)
}

// JA3S returns the JA3S string of the server hello and its MD5 in hex.
func (sh *ServerHello) JA3S() (raw, hash string) {
	b := sh.appendJA3S(make([]byte, 0, 128))
	sum := md5.Sum(b)
	return string(b), hex.EncodeToString(sum[:])
}

// appendJA3S appends the JA3S string of the server hello to b.
func (sh *ServerHello) appendJA3S(b []byte) []byte {
	b = strconv.AppendUint(b, uint64(sh.Version), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(sh.Cipher), 10)
	b = append(b, ',')
	return appendDec(b, sh.Extensions, true)
}

// JA4 returns the JA4 fingerprint per FoxIO's specification; transport is
// 't' (TCP), 'q' (QUIC) or 'd' (DTLS).
func (ch *ClientHello) JA4(transport byte) string {
	return string(ch.appendJA4(make([]byte, 0, 36), transport))
}

// appendJA4 appends the JA4 fingerprint to out.
func (ch *ClientHello) appendJA4(out []byte, transport byte) []byte {
	var scratch [128]uint16
	ciphers := noGrease(scratch[:0], ch.Ciphers, nil)
	nc := len(ciphers)
	exts := noGrease(ciphers[nc:nc], ch.Extensions, nil)
	ne := len(exts)
	out = append(out, transport)
	out = append(out, ja4Version(ch.Offered())...)
	if slices.Contains(ch.Extensions, extServerName) {
		out = append(out, 'd')
	} else {
		out = append(out, 'i')
	}
	out = appendTwoDigits(out, nc)
	out = appendTwoDigits(out, ne)
	out = appendJA4ALPN(out, ch.ALPN)
	out = append(out, '_')
	// Four-digit hex sorts as the numbers do.
	slices.Sort(ciphers)
	var stack [1024]byte // enough for usual hellos: no allocation
	buf := appendHexList(stack[:0], ciphers)
	out = appendHash12(out, buf)
	out = append(out, '_')
	exts = noGrease(exts[:0], ch.Extensions, func(v uint16) bool { return v == extServerName || v == extALPN })
	if len(exts) == 0 {
		return append(out, "000000000000"...)
	}
	slices.Sort(exts)
	buf = appendHexList(buf[:0], exts)
	if sigs := noGrease(ciphers[:0], ch.SigAlgs, nil); len(sigs) > 0 {
		buf = append(buf, '_')
		buf = appendHexList(buf, sigs)
	}
	return appendHash12(out, buf)
}

// noGrease appends the values that are not GREASE and not skipped.
func noGrease(dst, vs []uint16, skip func(uint16) bool) []uint16 {
	for _, v := range vs {
		if !Grease(v) && (skip == nil || !skip(v)) {
			dst = append(dst, v)
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendHexList appends the values as comma-separated 4-digit hex.
func appendHexList(b []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&15], hexDigits[v>>4&15], hexDigits[v&15])
	}
	return b
}

// appendHash12 appends the first 12 hex digits of s's SHA-256, or zeros
// for an empty list.
func appendHash12(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	for _, c := range sum[:6] {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

func appendTwoDigits(b []byte, n int) []byte {
	n = min(n, 99)
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// appendJA4ALPN appends the first and last characters of the first ALPN
// value, or of its hex form when either is not alphanumeric; 00 without
// ALPN.
func appendJA4ALPN(b []byte, alpn []string) []byte {
	if len(alpn) == 0 || alpn[0] == "" {
		return append(b, "00"...)
	}
	a := alpn[0]
	if !alnum(a[0]) || !alnum(a[len(a)-1]) {
		// The first hex digit of the first byte, the last of the last.
		return append(b, hexDigits[a[0]>>4], hexDigits[a[len(a)-1]&15])
	}
	return append(b, a[0], a[len(a)-1])
}
