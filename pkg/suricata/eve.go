package suricata

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/nfr-project/nfr/pkg/event"
)

// This file is the package's JSON codec: a small scanner that decodes just
// the fields NFR maps and skips the rest without allocating. Strings point
// into the line, or into an arena when they held escapes; both live until
// the next line. (json-iterator allocated a string per key and per skipped
// escaped string, which made eve decoding four times slower.)

type answer struct {
	rrname, rrtype, rdata []byte
	ttl                   int64
}

type record struct {
	timestamp, eventType []byte
	srcIP, destIP, proto []byte
	srcPort, destPort    int64
	flowID               uint64
	hasFlowID            bool
	communityID          []byte
	appProto, appOrig    []byte
	icmpType, icmpCode   int64
	hasICMP              bool

	// dns
	dnsType, rrname, rrtype, rcode, rdata []byte
	dnsID, dnsVersion, ttl                int64
	hasDNS                                bool
	answers                               []answer
	queries                               []answer
	grouped                               []answer // rrtype and rdata only

	// flow
	pktsToServer, pktsToClient, bytesToServer, bytesToClient int64
	flowStart, flowEnd                                       []byte
	hasFlow                                                  bool

	// http
	hostname, url, method, userAgent, referrer, contentType []byte
	status, length                                          int64
	hasHTTP                                                 bool

	// tls
	sni, version, ja3, ja3Raw, ja3s, ja3sRaw, ja4 []byte
	fingerprint, subject, issuer, notBefore       []byte
	notAfter                                      []byte
	alpn                                          [][]byte
	hasTLS                                        bool

	// ssh: client [0] and server [1]
	sshProto, sshSoft, hassh, hasshRaw [2][]byte
	hasSSH                             bool
}

func (r *record) reset() {
	answers, queries, grouped, alpn := r.answers[:0], r.queries[:0], r.grouped[:0], r.alpn[:0]
	*r = record{}
	r.answers, r.queries, r.grouped, r.alpn = answers, queries, grouped, alpn
}

type decoder struct {
	s     scanner
	arena []byte
}

var errNotObject = errors.New("not a JSON object")

// eventType finds the top-level event_type without decoding the line, so
// records of types we ignore cost a byte search. Suricata writes it among
// the first keys; nil when not found.
func eventType(line []byte) []byte {
	const key = `"event_type":"`
	for i := 0; i+len(key) < len(line); i++ {
		if line[i] == '"' && string(line[i:i+len(key)]) == key {
			v := line[i+len(key):]
			for j, c := range v {
				if c == '"' {
					return v[:j]
				}
				if c == '\\' {
					return nil
				}
			}
			return nil
		}
		if line[i] == '{' && i > 0 {
			return nil // nested objects come after the top-level keys
		}
	}
	return nil
}

func (d *decoder) decode(line []byte, r *record) error {
	r.reset()
	d.arena = d.arena[:0]
	s := &d.s
	s.b, s.i, s.err, s.arena = line, 0, nil, &d.arena
	if s.next() != '{' {
		return errNotObject
	}
	s.object(func(key []byte) {
		switch string(key) {
		case "timestamp":
			r.timestamp = s.str()
		case "event_type":
			r.eventType = s.str()
		case "src_ip":
			r.srcIP = s.str()
		case "dest_ip":
			r.destIP = s.str()
		case "src_port":
			r.srcPort = s.int()
		case "dest_port":
			r.destPort = s.int()
		case "proto":
			if s.next() == '"' {
				r.proto = s.str()
			} else {
				r.proto = s.raw()
			}
		case "flow_id":
			if c := s.next(); c >= '0' && c <= '9' {
				r.flowID, r.hasFlowID = s.uint(), true
			} else {
				s.skip()
			}
		case "community_id":
			r.communityID = s.str()
		case "app_proto":
			r.appProto = s.str()
		case "app_proto_orig":
			r.appOrig = s.str()
		case "icmp_type":
			r.icmpType, r.hasICMP = s.int(), true
		case "icmp_code":
			r.icmpCode = s.int()
		case "dns":
			if r.eventType != nil && string(r.eventType) != "dns" {
				s.skip()
			} else {
				r.hasDNS = s.next() == '{'
				readDNS(s, r)
			}
		case "flow":
			if r.eventType != nil && string(r.eventType) != "flow" {
				s.skip()
			} else {
				r.hasFlow = s.next() == '{'
				readFlow(s, r)
			}
		case "http":
			if r.eventType != nil && string(r.eventType) != "http" {
				s.skip()
			} else {
				r.hasHTTP = s.next() == '{'
				readHTTP(s, r)
			}
		case "ssh":
			if r.eventType != nil && string(r.eventType) != "ssh" {
				s.skip()
			} else {
				r.hasSSH = s.next() == '{'
				readSSH(s, r)
			}
		case "tls":
			if r.eventType != nil && string(r.eventType) != "tls" {
				s.skip()
			} else {
				r.hasTLS = s.next() == '{'
				readTLS(s, r)
			}
		default:
			s.skip()
		}
	})
	if s.err == nil {
		if c := s.next(); c != 0 {
			s.fail("data after the object")
		}
	}
	return s.err
}

func readDNS(s *scanner, r *record) {
	s.object(func(key []byte) {
		switch string(key) {
		case "type":
			r.dnsType = s.str()
		case "id":
			r.dnsID = s.int()
		case "version":
			r.dnsVersion = s.int()
		case "rrname":
			r.rrname = s.str()
		case "rrtype":
			r.rrtype = s.str()
		case "rcode":
			r.rcode = s.str()
		case "rdata":
			r.rdata = s.str()
		case "ttl":
			r.ttl = s.int()
		case "answers":
			r.answers = readRRs(s, r.answers)
		case "queries":
			r.queries = readRRs(s, r.queries)
		case "grouped":
			s.object(func(rrtype []byte) {
				s.array(func() {
					if s.next() == '"' {
						r.grouped = append(r.grouped, answer{rrtype: rrtype, rdata: s.str()})
					} else {
						s.skip() // SOA, SRV, ... as objects
					}
				})
			})
		default:
			s.skip()
		}
	})
}

func readRRs(s *scanner, dst []answer) []answer {
	s.array(func() {
		var a answer
		s.object(func(key []byte) {
			switch string(key) {
			case "rrname":
				a.rrname = s.str()
			case "rrtype":
				a.rrtype = s.str()
			case "rdata":
				a.rdata = s.str()
			case "ttl":
				a.ttl = s.int()
			default:
				s.skip()
			}
		})
		dst = append(dst, a)
	})
	return dst
}

func readFlow(s *scanner, r *record) {
	s.object(func(key []byte) {
		switch string(key) {
		case "pkts_toserver":
			r.pktsToServer = s.int()
		case "pkts_toclient":
			r.pktsToClient = s.int()
		case "bytes_toserver":
			r.bytesToServer = s.int()
		case "bytes_toclient":
			r.bytesToClient = s.int()
		case "start":
			r.flowStart = s.str()
		case "end":
			r.flowEnd = s.str()
		default:
			s.skip()
		}
	})
}

func readHTTP(s *scanner, r *record) {
	s.object(func(key []byte) {
		switch string(key) {
		case "hostname":
			r.hostname = s.str()
		case "url":
			r.url = s.str()
		case "http_method":
			r.method = s.str()
		case "http_user_agent":
			r.userAgent = s.str()
		case "http_refer":
			r.referrer = s.str()
		case "http_content_type":
			r.contentType = s.str()
		case "status":
			if s.next() == '"' { // a string in some versions
				v, err := strconv.ParseInt(string(s.str()), 10, 64)
				if err == nil {
					r.status = v
				}
			} else {
				r.status = s.int()
			}
		case "length":
			r.length = s.int()
		default:
			s.skip()
		}
	})
}

func readTLS(s *scanner, r *record) {
	s.object(func(key []byte) {
		switch string(key) {
		case "sni":
			r.sni = s.str()
		case "version":
			r.version = s.str()
		case "ja3":
			r.ja3, r.ja3Raw = hashString(s)
		case "ja3s":
			r.ja3s, r.ja3sRaw = hashString(s)
		case "ja4":
			r.ja4, _ = hashString(s)
		case "fingerprint":
			r.fingerprint = s.str()
		case "subject":
			r.subject = s.str()
		case "issuerdn":
			r.issuer = s.str()
		case "notbefore":
			r.notBefore = s.str()
		case "notafter":
			r.notAfter = s.str()
		case "client_alpns", "alpn_tc":
			if len(r.alpn) > 0 {
				s.skip()
				return
			}
			s.array(func() {
				if v := s.str(); len(v) > 0 {
					r.alpn = append(r.alpn, v)
				}
			})
		default:
			s.skip()
		}
	})
}

// readSSH reads eve's ssh object: client and server, each with
// proto_version, software_version and hassh {hash, string}.
func readSSH(s *scanner, r *record) {
	s.object(func(key []byte) {
		side := -1
		switch string(key) {
		case "client":
			side = 0
		case "server":
			side = 1
		default:
			s.skip()
			return
		}
		s.object(func(key []byte) {
			switch string(key) {
			case "proto_version":
				r.sshProto[side] = s.str()
			case "software_version":
				r.sshSoft[side] = s.str()
			case "hassh":
				r.hassh[side], r.hasshRaw[side] = hashString(s)
			default:
				s.skip()
			}
		})
	})
}

// hashString reads {"hash":..., "string":...} (ja3, ja3s, and ja4 before
// Suricata 8) or a plain string (ja4 from Suricata 8).
func hashString(s *scanner) (hash, raw []byte) {
	if s.next() == '"' {
		return s.str(), nil
	}
	s.object(func(key []byte) {
		switch string(key) {
		case "hash":
			hash = s.str()
		case "string":
			raw = s.str()
		default:
			s.skip()
		}
	})
	return hash, raw
}

// scanner walks one JSON value. After the first error every method is a
// no-op, so callers check err once at the end.
type scanner struct {
	b     []byte
	i     int
	err   error
	arena *[]byte
}

func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = errors.New("bad JSON at offset " + strconv.Itoa(s.i) + ": " + msg)
	}
	s.i = len(s.b)
}

// next skips white space and returns the next byte without consuming it
// (0 at the end).
func (s *scanner) next() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// object calls fn for every key of an object; fn must consume the value.
// Anything but an object is skipped.
func (s *scanner) object(fn func(key []byte)) {
	if s.next() != '{' {
		s.skip()
		return
	}
	s.i++
	if s.next() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		if s.next() != '"' {
			s.fail("expected a key")
			return
		}
		key := s.str()
		if s.next() != ':' {
			s.fail("expected :")
			return
		}
		s.i++
		s.next()
		start := s.i
		fn(key)
		if s.err != nil {
			return
		}
		if s.i == start {
			s.skip() // fn did not consume the value
		}
		switch s.next() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail("expected , or }")
			return
		}
	}
}

// array calls fn for every element; fn must consume it.
func (s *scanner) array(fn func()) {
	if s.next() != '[' {
		s.skip()
		return
	}
	s.i++
	if s.next() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		s.next()
		start := s.i
		fn()
		if s.err != nil {
			return
		}
		if s.i == start {
			s.skip()
		}
		switch s.next() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail("expected , or ]")
			return
		}
	}
}

// str reads a string; null and other values are skipped and read as nil.
func (s *scanner) str() []byte {
	if s.next() != '"' {
		s.skip()
		return nil
	}
	s.i++
	start := s.i
	j := bytes.IndexByte(s.b[s.i:], '"')
	if j < 0 {
		s.fail("unterminated string")
		return nil
	}
	v := s.b[start : start+j]
	if bytes.IndexByte(v, '\\') >= 0 {
		return s.unescape(start)
	}
	s.i = start + j + 1
	return v
}

// unescape decodes a string with escapes, from start (after the opening
// quote), into the arena.
func (s *scanner) unescape(start int) []byte {
	end := start
	for end < len(s.b) && s.b[end] != '"' {
		if s.b[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(s.b) {
		s.fail("unterminated string")
		return nil
	}
	a := *s.arena
	if cap(a)-len(a) < end-start {
		// A new chunk: earlier strings keep pointing at the old one.
		a = make([]byte, 0, max(4096, 2*(end-start)))
	}
	at := len(a)
	a, err := event.AppendUnquoted(a, s.b[start:end])
	if err != nil {
		s.fail(err.Error())
		return nil
	}
	s.i = end + 1
	*s.arena = a
	return a[at:len(a):len(a)]
}

// raw returns a number or literal as written.
func (s *scanner) raw() []byte {
	start := s.i
	s.skip()
	return s.b[start:s.i]
}

// int reads an integer (the integer part of a float); anything else is
// skipped and reads as 0.
func (s *scanner) int() int64 {
	c := s.next()
	neg := c == '-'
	if neg {
		s.i++
	}
	if s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9' {
		s.skip()
		return 0
	}
	var v int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	s.skipNumberRest()
	if neg {
		return -v
	}
	return v
}

func (s *scanner) uint() uint64 {
	var v uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		v = v*10 + uint64(s.b[s.i]-'0')
		s.i++
	}
	s.skipNumberRest()
	return v
}

func (s *scanner) skipNumberRest() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E', '+', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			s.i++
		default:
			return
		}
	}
}

// skip consumes one value of any kind.
func (s *scanner) skip() {
	switch c := s.next(); {
	case c == '"':
		s.i++
		for {
			j := bytes.IndexByte(s.b[s.i:], '"')
			if j < 0 {
				s.fail("unterminated string")
				return
			}
			// The quote ends the string unless an odd number of
			// backslashes precede it.
			k := s.i + j
			n := 0
			for k-n-1 >= s.i && s.b[k-n-1] == '\\' {
				n++
			}
			s.i = k + 1
			if n%2 == 0 {
				return
			}
		}
	case c == '{':
		s.object(func([]byte) { s.skip() })
	case c == '[':
		s.array(func() { s.skip() })
	case c == '-' || c >= '0' && c <= '9':
		s.i++
		s.skipNumberRest()
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return
			}
		}
		s.fail("bad literal")
	case c == 0:
		s.fail("unexpected end of input")
	default:
		s.fail("unexpected " + strconv.QuoteRune(rune(c)))
	}
}
