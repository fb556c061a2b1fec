package event

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// This file is the only one that knows json-iterator.

var iterPool = jsoniter.ConfigCompatibleWithStandardLibrary

// Unmarshal decodes one JSON object line into e, which it resets first.
// Unknown fields are skipped. A missing "v" means version 1.
func Unmarshal(line []byte, e *Event) error {
	e.Reset()
	it := iterPool.BorrowIterator(line)
	defer iterPool.ReturnIterator(it)
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return errors.New("not a JSON object")
	}
	var err error
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		if ferr := e.readField(it, key); ferr != nil && err == nil {
			err = fmt.Errorf("field %q: %v", key, ferr)
		}
		return it.Error == nil
	})
	if it.Error != nil {
		return trimIterError(it.Error)
	}
	if err != nil {
		return err
	}
	if e.V == 0 {
		e.V = Version
	}
	return nil
}

func trimIterError(err error) error {
	s := err.Error()
	// json-iterator appends a large dump of the buffer; keep the first part.
	if i := indexOf(s, ", error found in #"); i > 0 {
		s = s[:i]
	}
	return errors.New(s)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func (e *Event) readField(it *jsoniter.Iterator, key string) error {
	switch key {
	case "type":
		e.Type = readInterned(it)
	case "v":
		e.V = it.ReadInt()
	case "ts":
		return readTime(it, &e.TS)
	case "srcIP":
		return readAddr(it, &e.SrcIP)
	case "srcPort":
		e.SrcPort = it.ReadUint16()
	case "destIP":
		return readAddr(it, &e.DestIP)
	case "destPort":
		e.DestPort = it.ReadUint16()
	case "proto":
		e.Proto = readInterned(it)
	case "query":
		e.Query = it.ReadString()
	case "qtype":
		e.QType = readInterned(it)
	case "rcode":
		e.RCode = readInterned(it)
	case "answers":
		e.Answers = readStrings(it, e.spare.answers)
	case "ttls":
		e.TTLs = e.spare.ttls[:0]
		if e.TTLs == nil {
			e.TTLs = []uint32{}
		}
		for it.ReadArray() {
			e.TTLs = append(e.TTLs, it.ReadUint32())
		}
	case "bytesIn":
		e.BytesIn = it.ReadInt64()
	case "bytesOut":
		e.BytesOut = it.ReadInt64()
	case "pktsIn":
		e.PktsIn = it.ReadInt64()
	case "pktsOut":
		e.PktsOut = it.ReadInt64()
	case "duration":
		e.Duration = it.ReadFloat64()
	case "connState":
		e.ConnState = readInterned(it)
	case "history":
		e.History = it.ReadString()
	case "service":
		e.Service = readInterned(it)
	case "tunnel":
		e.Tunnel = readInterned(it)
	case "tunnelParent":
		e.TunnelParent = it.ReadString()
	case "clientVersion":
		e.ClientVersion = it.ReadString()
	case "serverVersion":
		e.ServerVersion = it.ReadString()
	case "hassh":
		e.HASSH = it.ReadString()
	case "hasshAlgorithms":
		e.HASSHAlgorithms = it.ReadString()
	case "hasshServer":
		e.HASSHServer = it.ReadString()
	case "hasshServerAlgorithms":
		e.HASSHServerAlgorithms = it.ReadString()
	case "authSuccess":
		v := it.ReadBool()
		e.AuthSuccess = &v
	case "authAttempts":
		e.AuthAttempts = it.ReadInt()
	case "communityId":
		e.CommunityID = it.ReadString()
	case "uid":
		e.UID = it.ReadString()
	case "flowId":
		e.FlowID = it.ReadUint64()
	case "icmpType":
		v := it.ReadUint8()
		e.ICMPType = &v
	case "icmpCode":
		v := it.ReadUint8()
		e.ICMPCode = &v
	case "host":
		e.Host = it.ReadString()
	case "url":
		e.URL = it.ReadString()
	case "method":
		e.Method = readInterned(it)
	case "status":
		e.Status = it.ReadInt()
	case "userAgent":
		e.UserAgent = it.ReadString()
	case "referrer":
		e.Referrer = it.ReadString()
	case "contentType":
		e.ContentType = it.ReadString()
	case "reqLen":
		e.ReqLen = it.ReadInt64()
	case "respLen":
		e.RespLen = it.ReadInt64()
	case "sni":
		e.SNI = it.ReadString()
	case "version":
		e.TLSVersion = readInterned(it)
	case "alpn":
		e.ALPN = readStrings(it, e.spare.alpn)
	case "ja3":
		e.JA3 = it.ReadString()
	case "ja3s":
		e.JA3S = it.ReadString()
	case "ja3Raw":
		e.JA3Raw = it.ReadString()
	case "ja3sRaw":
		e.JA3SRaw = it.ReadString()
	case "ja4":
		e.JA4 = it.ReadString()
	case "certHash":
		e.CertHash = it.ReadString()
	case "issuer":
		e.Issuer = it.ReadString()
	case "subject":
		e.Subject = it.ReadString()
	case "validFrom":
		return readTime(it, &e.ValidFrom)
	case "validTo":
		return readTime(it, &e.ValidTo)
	case "eventType":
		e.EventType = readInterned(it)
	case "severity":
		e.Severity = it.ReadInt()
	case "threats":
		e.Threats = map[string]Threat{}
		it.ReadMapCB(func(it *jsoniter.Iterator, id string) bool {
			var t Threat
			it.ReadVal(&t)
			e.Threats[id] = t
			return it.Error == nil
		})
	case "flags":
		e.Flags = readStrings(it, e.spare.flags)
	case "reason":
		e.Reason = it.ReadString()
	case "id":
		e.ID = it.ReadString()
	case "count":
		e.Count = it.ReadInt()
	case "firstSeen":
		return readTime(it, &e.FirstSeen)
	case "lastSeen":
		return readTime(it, &e.LastSeen)
	case "examples":
		e.Examples = readStrings(it, nil)
	case "groups":
		e.Groups = readStrings(it, e.spare.groups)
	case "source":
		e.Source = it.ReadString()
	default:
		it.Skip()
	}
	return nil
}

// interned holds the values of low-cardinality fields, so decoding them
// allocates nothing.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		TypeDNS, TypeIP, TypeHTTP, TypeTLS, TypeSSH, TypeAlert, "udp", "tcp", "icmp", "icmp6",
		"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "NULL", "HTTPS", "SVCB", "*", "ANY", "NAPTR", "CAA",
		"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP",
		"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "CONNECT", "PATCH",
		"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
		"dns", "http", "ssl", "ssh", "quic", "smtp", "ftp", "ntp", "dhcp",
		"TLSv10", "TLSv11", "TLSv12", "TLSv13", "SSLv3",
	} {
		m[s] = s
	}
	return m
}()

func readInterned(it *jsoniter.Iterator) string {
	if it.WhatIsNext() != jsoniter.StringValue {
		return it.ReadString() // records the type error
	}
	b := it.ReadStringAsSlice()
	if s, ok := interned[string(b)]; ok {
		return s
	}
	return string(b)
}

func readStrings(it *jsoniter.Iterator, dst []string) []string {
	dst = dst[:0]
	if dst == nil {
		dst = []string{}
	}
	for it.ReadArray() {
		dst = append(dst, it.ReadString())
	}
	return dst
}

func readTime(it *jsoniter.Iterator, t *time.Time) error {
	if it.WhatIsNext() == jsoniter.NumberValue {
		// Epoch seconds, as Zeek writes them, are accepted too.
		f := it.ReadNumber()
		v, err := parseEpoch(string(f))
		if err != nil {
			return err
		}
		*t = v
		return nil
	}
	s := it.ReadStringAsSlice()
	v, err := ParseTime(string(s))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTime parses an RFC 3339 timestamp and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q", s)
	}
	return t.UTC(), nil
}

// parseEpoch parses decimal epoch seconds exactly (no float rounding).
func parseEpoch(s string) (time.Time, error) {
	sec, nsec, err := ParseEpoch(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// ParseEpoch parses "1234567890.123456" into seconds and nanoseconds without
// going through float64, so microseconds stay microseconds.
func ParseEpoch[T string | []byte](s T) (sec, nsec int64, err error) {
	if len(s) == 0 {
		return 0, 0, errors.New("empty timestamp")
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' || digits > 18 {
			return 0, 0, fmt.Errorf("bad timestamp %q", s)
		}
		sec = sec*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return 0, 0, fmt.Errorf("bad timestamp %q", s)
	}
	if i < len(s) {
		i++ // '.'
		scale := int64(100000000)
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, 0, fmt.Errorf("bad timestamp %q", s)
			}
			nsec += int64(c-'0') * scale
			scale /= 10
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
		if nsec < 0 {
			sec--
			nsec += 1e9
		}
	}
	return sec, nsec, nil
}

func readAddr(it *jsoniter.Iterator, a *netip.Addr) error {
	v, err := ParseAddr(it.ReadStringAsSlice())
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAddr parses an IP address, IPv4 without allocating, and returns
// IPv4-mapped IPv6 addresses as IPv4. The readers of every log format use it.
func ParseAddr[T string | []byte](b T) (netip.Addr, error) {
	if a, ok := ParseIPv4(b); ok {
		return a, nil
	}
	return parseAddrSlow(string(b))
}

// ParseIPv4 parses a dotted-quad IPv4 address without allocating. Like
// netip, it takes no leading zeros (they read as octal elsewhere).
func ParseIPv4[T string | []byte](b T) (netip.Addr, bool) {
	var a [4]byte
	n, part, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || n == 4 {
				return netip.Addr{}, false
			}
			a[n] = byte(part)
			n++
			part, digits = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || (digits > 0 && part == 0) {
			return netip.Addr{}, false
		}
		part = part*10 + int(c-'0')
		digits++
		if part > 255 {
			return netip.Addr{}, false
		}
	}
	if n != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}

func parseAddrSlow(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	return addr.Unmap(), nil
}
