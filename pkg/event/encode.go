package event

import (
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
	}
	b = appendStr(b, `,"connState":`, e.ConnState)
	b = appendStr(b, `,"history":`, e.History)
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

	b = appendStrings(b, `,"groups":`, e.Groups)
	b = appendStr(b, `,"source":`, e.Source)
	return append(b, '}')
}

// AppendTime appends t as RFC 3339 in UTC with up to nanosecond precision,
// trailing zeros of the fraction removed.
func AppendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, time.RFC3339Nano)
}

func appendSeconds(b []byte, s float64) []byte {
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

// AppendString appends s as a JSON string. Control characters, DEL and bytes
// that are not valid UTF-8 become the text \xNN (as Zeek writes them), so the
// output is always valid UTF-8 and no byte is lost or replaced.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
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
