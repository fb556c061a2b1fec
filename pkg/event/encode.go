package event

import (
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e as one JSON object, without the trailing newline.
// It allocates nothing for typical events.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = AppendString(b, e.Type)
	v := e.V
	if v == 0 {
		v = Version
	}
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, int64(v), 10)
	if !e.TS.IsZero() {
		b = append(b, `,"ts":"`...)
		b = AppendTime(b, e.TS)
		b = append(b, '"')
	}
	b = appendAddr(b, `,"srcIP":`, e.SrcIP)
	b = appendUint(b, `,"srcPort":`, uint64(e.SrcPort), e.SrcIP.IsValid())
	b = appendAddr(b, `,"destIP":`, e.DestIP)
	b = appendUint(b, `,"destPort":`, uint64(e.DestPort), e.DestIP.IsValid())
	b = appendStr(b, `,"proto":`, e.Proto)
	b = appendStr(b, `,"communityId":`, e.CommunityID)
	b = appendStr(b, `,"uid":`, e.UID)
	b = appendUint(b, `,"flowId":`, e.FlowID, e.FlowID != 0)

	b = appendStr(b, `,"query":`, e.Query)
	b = appendStr(b, `,"qtype":`, e.QType)
	b = appendStr(b, `,"rcode":`, e.RCode)
	if e.Answers != nil {
		b = append(b, `,"answers":[`...)
		for i, a := range e.Answers {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, a)
		}
		b = append(b, ']')
	}
	if e.TTLs != nil {
		b = append(b, `,"ttls":[`...)
		for i, t := range e.TTLs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(t), 10)
		}
		b = append(b, ']')
	}

	if e.Type == TypeIP || e.EventType == TypeIP {
		b = appendUint(b, `,"bytesIn":`, uint64(e.BytesIn), true)
		b = appendUint(b, `,"bytesOut":`, uint64(e.BytesOut), true)
		b = appendUint(b, `,"pktsIn":`, uint64(e.PktsIn), true)
		b = appendUint(b, `,"pktsOut":`, uint64(e.PktsOut), true)
		b = append(b, `,"duration":`...)
		b = appendSeconds(b, e.Duration)
	} else if e.Type == TypeSSH && e.PktsIn+e.PktsOut > 0 {
		// an ssh event from a capture; ssh.log has no counters
		b = appendUint(b, `,"bytesIn":`, uint64(e.BytesIn), true)
		b = appendUint(b, `,"bytesOut":`, uint64(e.BytesOut), true)
		b = appendUint(b, `,"pktsIn":`, uint64(e.PktsIn), true)
		b = appendUint(b, `,"pktsOut":`, uint64(e.PktsOut), true)
		b = append(b, `,"duration":`...)
		b = appendSeconds(b, e.Duration)
	}
	b = appendStr(b, `,"connState":`, e.ConnState)
	b = appendStr(b, `,"history":`, e.History)
	b = appendStr(b, `,"service":`, e.Service)
	b = appendStr(b, `,"tunnel":`, e.Tunnel)
	b = appendStr(b, `,"tunnelParent":`, e.TunnelParent)
	if e.ICMPType != nil {
		b = appendUint(b, `,"icmpType":`, uint64(*e.ICMPType), true)
	}
	if e.ICMPCode != nil {
		b = appendUint(b, `,"icmpCode":`, uint64(*e.ICMPCode), true)
	}

	b = appendStr(b, `,"host":`, e.Host)
	b = appendStr(b, `,"url":`, e.URL)
	b = appendStr(b, `,"method":`, e.Method)
	b = appendUint(b, `,"status":`, uint64(e.Status), e.Status > 0)
	b = appendStr(b, `,"userAgent":`, e.UserAgent)
	b = appendStr(b, `,"referrer":`, e.Referrer)
	b = appendStr(b, `,"contentType":`, e.ContentType)
	b = appendUint(b, `,"reqLen":`, uint64(e.ReqLen), e.ReqLen > 0)
	b = appendUint(b, `,"respLen":`, uint64(e.RespLen), e.RespLen > 0)

	b = appendStr(b, `,"sni":`, e.SNI)
	b = appendStr(b, `,"version":`, e.TLSVersion)
	b = appendStrings(b, `,"alpn":`, e.ALPN)
	b = appendStr(b, `,"ja3":`, e.JA3)
	b = appendStr(b, `,"ja3s":`, e.JA3S)
	b = appendStr(b, `,"ja3Raw":`, e.JA3Raw)
	b = appendStr(b, `,"ja3sRaw":`, e.JA3SRaw)
	b = appendStr(b, `,"ja4":`, e.JA4)
	b = appendStr(b, `,"certHash":`, e.CertHash)
	b = appendStr(b, `,"issuer":`, e.Issuer)
	b = appendStr(b, `,"subject":`, e.Subject)
	if !e.ValidFrom.IsZero() {
		b = append(b, `,"validFrom":"`...)
		b = AppendTime(b, e.ValidFrom)
		b = append(b, '"')
	}
	if !e.ValidTo.IsZero() {
		b = append(b, `,"validTo":"`...)
		b = AppendTime(b, e.ValidTo)
		b = append(b, '"')
	}

	b = appendStr(b, `,"clientVersion":`, e.ClientVersion)
	b = appendStr(b, `,"serverVersion":`, e.ServerVersion)
	b = appendStr(b, `,"hassh":`, e.HASSH)
	b = appendStr(b, `,"hasshAlgorithms":`, e.HASSHAlgorithms)
	b = appendStr(b, `,"hasshServer":`, e.HASSHServer)
	b = appendStr(b, `,"hasshServerAlgorithms":`, e.HASSHServerAlgorithms)
	if e.AuthSuccess != nil {
		b = append(b, `,"authSuccess":`...)
		b = strconv.AppendBool(b, *e.AuthSuccess)
	}
	b = appendUint(b, `,"authAttempts":`, uint64(e.AuthAttempts), e.AuthAttempts > 0)

	b = appendStr(b, `,"eventType":`, e.EventType)
	b = appendUint(b, `,"severity":`, uint64(e.Severity), e.Severity > 0)
	if len(e.Threats) > 0 {
		ids := make([]string, 0, len(e.Threats))
		for id := range e.Threats {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		b = append(b, `,"threats":{`...)
		for i, id := range ids {
			t := e.Threats[id]
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, id)
			b = append(b, `:{"title":`...)
			b = AppendString(b, t.Title)
			b = append(b, `,"severity":`...)
			b = strconv.AppendInt(b, int64(t.Severity), 10)
			b = append(b, `,"policy":`...)
			b = strconv.AppendBool(b, t.Policy)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = appendStrings(b, `,"flags":`, e.Flags)
	b = appendStr(b, `,"reason":`, e.Reason)
	b = appendStr(b, `,"id":`, e.ID)
	b = appendUint(b, `,"count":`, uint64(e.Count), e.Count > 0)
	if !e.FirstSeen.IsZero() {
		b = append(b, `,"firstSeen":"`...)
		b = AppendTime(b, e.FirstSeen)
		b = append(b, '"')
	}
	if !e.LastSeen.IsZero() {
		b = append(b, `,"lastSeen":"`...)
		b = AppendTime(b, e.LastSeen)
		b = append(b, '"')
	}
	b = appendStrings(b, `,"examples":`, e.Examples)

	b = appendStrings(b, `,"groups":`, e.Groups)
	b = appendStr(b, `,"source":`, e.Source)
	return append(b, '}')
}

// AppendTime appends t as RFC 3339 in UTC with up to nanosecond precision,
// trailing zeros of the fraction removed: time.RFC3339Nano, written
// without the general formatter for the years 0 to 9999.
func AppendTime(b []byte, t time.Time) []byte {
	const (
		minSec = -62167219200 // 0000-01-01T00:00:00Z
		maxSec = 253402300799 // 9999-12-31T23:59:59Z
	)
	sec := t.Unix()
	if sec < minSec || sec > maxSec {
		return t.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	// Unsigned from here: seconds since 0000-01-01.
	u := uint64(sec - minSec)
	days, rem := u/86400, u%86400
	// Civil date (H. Hinnant, "chrono-Compatible Low-Level Date
	// Algorithms"), with years counted from March so that the leap day
	// ends the year, and one era (400 years) added to keep every
	// quantity positive.
	z := days + 146097 - 60 // days since -0400-03-01
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	y := yoe + era*400 - 400
	if m > 12 {
		m -= 12
		y++
	}
	hh, mm, ss := rem/3600, rem/60%60, rem%60
	b = append(b, digits2[2*(y/100)], digits2[2*(y/100)+1], digits2[2*(y%100)], digits2[2*(y%100)+1], '-',
		digits2[2*m], digits2[2*m+1], '-', digits2[2*d], digits2[2*d+1], 'T',
		digits2[2*hh], digits2[2*hh+1], ':', digits2[2*mm], digits2[2*mm+1], ':',
		digits2[2*ss], digits2[2*ss+1])
	if ns := uint32(t.Nanosecond()); ns != 0 {
		frac := [10]byte{'.'}
		frac[9] = byte('0' + ns%10)
		ns /= 10
		for i := 7; i >= 1; i -= 2 {
			frac[i], frac[i+1] = digits2[2*(ns%100)], digits2[2*(ns%100)+1]
			ns /= 100
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

// digits2 holds the two decimal digits of 0 to 99 at 2n and 2n+1.
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// appendSeconds appends s as strconv.AppendFloat(b, s, 'f', -1, 64) does.
// Capture durations are mostly whole microseconds: when s is the double
// nearest to k microseconds, k below 1e15, the shortest decimal that reads
// back as s is k/1e6 itself (two decimals of at most 15 digits are never
// the same double), written here without the general shortest-digits
// search, which showed in the profile of every flow line.
func appendSeconds(b []byte, s float64) []byte {
	if s >= 0 && s < 1e9 && !math.Signbit(s) {
		if k := uint64(s*1e6 + 0.5); float64(k)/1e6 == s {
			b = strconv.AppendUint(b, k/1e6, 10)
			if f := k % 1e6; f != 0 {
				n := 6
				for f%10 == 0 {
					f /= 10
					n--
				}
				var frac [7]byte
				frac[0] = '.'
				for i := n; i > 0; i-- {
					frac[i] = byte('0' + f%10)
					f /= 10
				}
				b = append(b, frac[:n+1]...)
			}
			return b
		}
	}
	return strconv.AppendFloat(b, s, 'f', -1, 64)
}

func appendAddr(b []byte, key string, a netip.Addr) []byte {
	if !a.IsValid() {
		return b
	}
	b = append(b, key...)
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendUint(b []byte, key string, v uint64, ok bool) []byte {
	if !ok {
		return b
	}
	b = append(b, key...)
	return strconv.AppendUint(b, v, 10)
}

func appendStr(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return AppendString(b, s)
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// load8 reads eight bytes little-endian; the compiler makes one load of it.
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plain8 reports whether none of the eight bytes of x needs escaping or a
// UTF-8 check: each is in 0x20-0x7e and is neither '"' nor '\\'.
func plain8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - lo) & ^v & hi } // a zero byte in v
	return (x|(x-0x20*lo)|zero(x^'"'*lo)|zero(x^'\\'*lo)|zero(x^0x7f*lo))&hi == 0
}

// AppendString appends s as a JSON string. Control characters, DEL and bytes
// that are not valid UTF-8 become the text \xNN (as Zeek writes them), so the
// output is always valid UTF-8 and no byte is lost or replaced.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start, i := 0, 0
	// The plain prefix eight bytes at a time: none below 0x20, none of
	// '"', '\\' or DEL, none with the high bit (UTF-8 is checked byte by
	// byte); from the first byte that needs care on, byte by byte.
	for i+8 <= len(s) && plain8(load8(s[i:i+8])) {
		i += 8
	}
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, '\\', '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
