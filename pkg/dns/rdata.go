package dns

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
)

// Record types with their own text form.
const (
	TypeA          = 1
	TypeNS         = 2
	TypeCNAME      = 5
	TypeSOA        = 6
	TypeWKS        = 11
	TypePTR        = 12
	TypeHINFO      = 13
	TypeMX         = 15
	TypeTXT        = 16
	TypeAAAA       = 28
	TypeLOC        = 29
	TypeSRV        = 33
	TypeNAPTR      = 35
	TypeDNAME      = 39
	TypeOPT        = 41
	TypeDS         = 43
	TypeSSHFP      = 44
	TypeRRSIG      = 46
	TypeNSEC       = 47
	TypeDNSKEY     = 48
	TypeNSEC3      = 50
	TypeNSEC3PARAM = 51
	TypeSVCB       = 64
	TypeHTTPS      = 65
	TypeSPF        = 99
	TypeCAA        = 257
	TypeTKEY       = 249
	TypeTSIG       = 250
	TypeBINDS      = 65534
)

// AppendAnswer appends the text of answer i as Zeek's dns.log writes it
// (names lower-cased, as Zeek's analyser extracts them):
// addresses for A/AAAA, the target name for CNAME/NS/PTR/MX/SRV, the
// primary name server for SOA, "TXT len text" per string, "RRSIG type
// signer", and so on; "<unknown type=N>" for types without a text form.
// ok is false when the record has no text (WKS, as Zeek) or its rdata is
// malformed; such a record is left out of answers, as Zeek leaves it out.
func (m *Message) AppendAnswer(dst []byte, i int) (out []byte, ok bool) {
	rr := &m.Answers[i]
	rd := m.rdata(rr)
	start := len(dst)
	fail := func() ([]byte, bool) { return dst[:start], false }
	switch rr.Type {
	case TypeA:
		if len(rd) != 4 {
			return fail()
		}
		return netip.AddrFrom4([4]byte(rd)).AppendTo(dst), true
	case TypeAAAA:
		if len(rd) != 16 {
			return fail()
		}
		return netip.AddrFrom16([16]byte(rd)).AppendTo(dst), true
	case TypeNS, TypeCNAME, TypePTR, TypeDNAME, TypeSOA:
		return m.appendRDName(dst, rr, 0)
	case TypeMX:
		return m.appendRDName(dst, rr, 2)
	case TypeSRV:
		return m.appendRDName(dst, rr, 6)
	case TypeTXT, TypeSPF:
		if len(rd) == 0 {
			return fail() // Zeek logs nothing for a record without strings
		}
		prefix := "TXT "
		if rr.Type == TypeSPF {
			prefix = "SPF "
		}
		for p, n := 0, 0; p < len(rd); n++ {
			l := int(rd[p])
			if p+1+l > len(rd) {
				return fail()
			}
			if n > 0 {
				dst = append(dst, ' ')
			}
			dst = append(dst, prefix...)
			dst = strconv.AppendInt(dst, int64(l), 10)
			dst = append(dst, ' ')
			dst = appendText(dst, rd[p+1:p+1+l])
			p += 1 + l
		}
		return dst, true
	case TypeNAPTR:
		if len(rd) < 4 {
			return fail()
		}
		dst = append(dst, "NAPTR "...)
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(rd)), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(rd[2:])), 10)
		p := 4
		var strs [3][]byte
		for k := range strs {
			if p >= len(rd) || p+1+int(rd[p]) > len(rd) {
				return fail()
			}
			strs[k] = rd[p+1 : p+1+int(rd[p])]
			p += 1 + int(rd[p])
		}
		dst = append(dst, ' ')
		dst = appendText(dst, strs[0]) // flags
		dst = append(dst, ' ')
		dst = appendText(dst, strs[1]) // service
		dst = append(dst, ' ')
		dst = appendText(dst, strs[2]) // regexp
		if len(strs[2]) > 0 {
			dst = append(dst, ' ')
		}
		return m.appendRDName(dst, rr, p)
	case TypeDS:
		if len(rd) < 4 {
			return fail()
		}
		dst = append(dst, "DS "...)
		dst = strconv.AppendUint(dst, uint64(rd[2]), 10)
		dst = append(dst, ' ')
		return strconv.AppendUint(dst, uint64(rd[3]), 10), true
	case TypeDNSKEY:
		if len(rd) < 4 {
			return fail()
		}
		dst = append(dst, "DNSKEY "...)
		return strconv.AppendUint(dst, uint64(rd[3]), 10), true
	case TypeRRSIG:
		if len(rd) < 18 {
			return fail()
		}
		dst = append(dst, "RRSIG "...)
		dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(rd)), 10)
		dst = append(dst, ' ')
		n := len(dst)
		dst, ok = m.appendRDName(dst, rr, 18)
		if ok && len(dst) == n {
			dst = append(dst, "<Root>"...)
		}
		return dst, ok
	case TypeNSEC:
		dst = append(dst, "NSEC "...)
		dst = AppendQuery(dst, m.names[rr.name.start:rr.name.end])
		dst = append(dst, ' ')
		return m.appendRDName(dst, rr, 0)
	case TypeNSEC3:
		return append(dst, "NSEC3"...), true
	case TypeNSEC3PARAM:
		return append(dst, "NSEC3PARAM"...), true
	case TypeSSHFP:
		if len(rd) < 2 {
			return fail()
		}
		dst = append(dst, "SSHFP: "...)
		return hex.AppendEncode(dst, rd[2:]), true
	case TypeLOC:
		if len(rd) < 4 {
			return fail()
		}
		dst = append(dst, "LOC:  "...)
		dst = strconv.AppendUint(dst, uint64(rd[1]), 10)
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(rd[2]), 10)
		dst = append(dst, ' ')
		return strconv.AppendUint(dst, uint64(rd[3]), 10), true
	case TypeBINDS:
		return append(dst, "BIND9 signing signal"...), true
	case TypeWKS, TypeOPT, TypeTKEY, TypeTSIG:
		// Zeek logs no answer text for these; OPT, TKEY and TSIG are
		// transaction metadata rather than answers.
		return fail()
	case TypeCAA:
		// Zeek logs no text for CAA; we write the presentation form.
		if len(rd) < 2 || 2+int(rd[1]) > len(rd) {
			return fail()
		}
		dst = append(dst, "CAA "...)
		dst = strconv.AppendUint(dst, uint64(rd[0]), 10)
		dst = append(dst, ' ')
		dst = appendText(dst, rd[2:2+rd[1]])
		dst = append(dst, ' ')
		return appendText(dst, rd[2+rd[1]:]), true
	case TypeHINFO:
		var strs [2][]byte
		p := 0
		for k := range strs {
			if p >= len(rd) || p+1+int(rd[p]) > len(rd) {
				return fail()
			}
			strs[k] = rd[p+1 : p+1+int(rd[p])]
			p += 1 + int(rd[p])
		}
		dst = append(dst, "HINFO "...)
		dst = appendText(dst, strs[0])
		dst = append(dst, ' ')
		return appendText(dst, strs[1]), true
	case TypeSVCB, TypeHTTPS:
		return m.appendSVCB(dst, rr)
	}
	dst = append(dst, "<unknown type="...)
	dst = strconv.AppendUint(dst, uint64(rr.Type), 10)
	return append(dst, '>'), true
}

// appendRDName appends the (possibly compressed) name at rdata offset k.
func (m *Message) appendRDName(dst []byte, rr *RR, k int) ([]byte, bool) {
	if k > int(rr.rdLen) {
		return dst, false
	}
	// Names in rdata may point back into the whole message but must start
	// inside the rdata.
	msg := m.msg[:rr.rdOff+rr.rdLen]
	n := len(m.names)
	var err error
	m.names, _, err = appendName(m.names, msg, int(rr.rdOff)+k)
	name := m.names[n:]
	m.names = m.names[:n]
	if err != nil {
		return dst, false
	}
	return AppendQuery(dst, name), true
}

// appendSVCB writes SVCB and HTTPS records in their presentation form
// (RFC 9460): priority, target, then key=value pairs.
func (m *Message) appendSVCB(dst []byte, rr *RR) ([]byte, bool) {
	rd := m.rdata(rr)
	start := len(dst)
	if len(rd) < 3 {
		return dst, false
	}
	if rr.Type == TypeHTTPS {
		dst = append(dst, "HTTPS "...)
	} else {
		dst = append(dst, "SVCB "...)
	}
	dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(rd)), 10)
	dst = append(dst, ' ')
	// The target name is never compressed (RFC 9460 section 2.2).
	n := len(m.names)
	var err error
	var p int
	m.names, p, err = appendName(m.names, rd, 2)
	target := m.names[n:]
	m.names = m.names[:n]
	if err != nil {
		return dst[:start], false
	}
	if len(target) == 0 {
		dst = append(dst, '.')
	} else {
		dst = AppendQuery(dst, target)
	}
	for p < len(rd) {
		if p+4 > len(rd) {
			return dst[:start], false
		}
		key := binary.BigEndian.Uint16(rd[p:])
		l := int(binary.BigEndian.Uint16(rd[p+2:]))
		if p+4+l > len(rd) {
			return dst[:start], false
		}
		v := rd[p+4 : p+4+l]
		p += 4 + l
		dst = append(dst, ' ')
		switch key {
		case 1: // alpn
			dst = append(dst, "alpn="...)
			for q, k := 0, 0; q < len(v); k++ {
				if q+1+int(v[q]) > len(v) {
					return dst[:start], false
				}
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = appendText(dst, v[q+1:q+1+int(v[q])])
				q += 1 + int(v[q])
			}
		case 2:
			dst = append(dst, "no-default-alpn"...)
		case 3:
			if len(v) != 2 {
				return dst[:start], false
			}
			dst = append(dst, "port="...)
			dst = strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(v)), 10)
		case 4, 6:
			size := 4
			if key == 6 {
				size = 16
				dst = append(dst, "ipv6hint="...)
			} else {
				dst = append(dst, "ipv4hint="...)
			}
			if len(v)%size != 0 {
				return dst[:start], false
			}
			for q := 0; q < len(v); q += size {
				if q > 0 {
					dst = append(dst, ',')
				}
				if size == 4 {
					dst = netip.AddrFrom4([4]byte(v[q:])).AppendTo(dst)
				} else {
					dst = netip.AddrFrom16([16]byte(v[q:])).AppendTo(dst)
				}
			}
		case 0:
			dst = append(dst, "mandatory="...)
			for q := 0; q+1 < len(v); q += 2 {
				if q > 0 {
					dst = append(dst, ',')
				}
				dst = appendKeyName(dst, binary.BigEndian.Uint16(v[q:]))
			}
		default: // ech and unknown keys: base64 would be the norm; hex is lossless and simple
			dst = appendKeyName(dst, key)
			dst = append(dst, '=')
			dst = hex.AppendEncode(dst, v)
		}
	}
	return dst, true
}

func appendKeyName(dst []byte, key uint16) []byte {
	switch key {
	case 0:
		return append(dst, "mandatory"...)
	case 1:
		return append(dst, "alpn"...)
	case 2:
		return append(dst, "no-default-alpn"...)
	case 3:
		return append(dst, "port"...)
	case 4:
		return append(dst, "ipv4hint"...)
	case 5:
		return append(dst, "ech"...)
	case 6:
		return append(dst, "ipv6hint"...)
	}
	dst = append(dst, "key"...)
	return strconv.AppendUint(dst, uint64(key), 10)
}

// appendText appends raw bytes of names and strings. They stay raw in the
// event; the stream encoder writes control characters and invalid UTF-8 as
// \xNN, as Zeek does, so nothing is lost or replaced.
func appendText(dst, b []byte) []byte { return append(dst, b...) }

// AppendQuery appends a query name as the stream carries it: ASCII letters
// lower-cased, without a trailing dot, other bytes raw.
func AppendQuery(dst, name []byte) []byte {
	upper := false
	for _, c := range name {
		if c-'A' < 26 {
			upper = true
			break
		}
	}
	if !upper {
		return append(dst, name...) // the common case: one copy
	}
	for _, c := range name {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
