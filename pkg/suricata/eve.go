package suricata

import (
	"errors"
	"strings"

	jsoniter "github.com/json-iterator/go"
)

// This file is the only one of the package that knows json-iterator. It
// decodes just the fields NFR maps into a reusable record.

type answer struct {
	rrname, rrtype, rdata string
	ttl                   int64
	hasTTL                bool
}

type record struct {
	timestamp, eventType string
	srcIP, destIP, proto string
	srcPort, destPort    int64
	flowID               uint64
	hasFlowID            bool
	icmpType, icmpCode   int64
	hasICMP              bool

	// dns
	dnsType, rrname, rrtype, rcode, rdata string
	dnsID, dnsVersion, ttl                int64
	hasTTL, hasDNS                        bool
	answers                               []answer
	queries                               []answer
	grouped                               []answer // rrtype and rdata only

	// flow
	pktsToServer, pktsToClient, bytesToServer, bytesToClient int64
	flowStart, flowEnd, flowState                            string
	hasFlow                                                  bool

	// http
	hostname, url, method, userAgent, referrer, contentType string
	status, length                                          int64
	hasHTTP                                                 bool

	// tls
	sni, version, ja3, ja3Raw, ja3s, ja3sRaw, ja4 string
	fingerprint, subject, issuer, notBefore       string
	notAfter                                      string
	alpn                                          []string
	hasTLS                                        bool
}

func (r *record) reset() {
	answers, queries, grouped, alpn := r.answers[:0], r.queries[:0], r.grouped[:0], r.alpn[:0]
	*r = record{}
	r.answers, r.queries, r.grouped, r.alpn = answers, queries, grouped, alpn
}

var jsonConfig = jsoniter.Config{}.Froze()

type decoder struct {
	it *jsoniter.Iterator
}

func (d *decoder) decode(line []byte, r *record) error {
	if d.it == nil {
		d.it = jsoniter.NewIterator(jsonConfig)
	}
	it := d.it
	it.ResetBytes(line)
	it.Error = nil
	r.reset()
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return errors.New("not a JSON object")
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "timestamp":
			r.timestamp = str(it)
		case "event_type":
			r.eventType = str(it)
		case "src_ip":
			r.srcIP = str(it)
		case "dest_ip":
			r.destIP = str(it)
		case "src_port":
			r.srcPort = num(it)
		case "dest_port":
			r.destPort = num(it)
		case "proto":
			if it.WhatIsNext() == jsoniter.NumberValue {
				r.proto = string(it.ReadNumber())
			} else {
				r.proto = str(it)
			}
		case "flow_id":
			if it.WhatIsNext() == jsoniter.NumberValue {
				r.flowID, r.hasFlowID = it.ReadUint64(), true
			} else {
				it.Skip()
			}
		case "icmp_type":
			r.icmpType, r.hasICMP = num(it), true
		case "icmp_code":
			r.icmpCode = num(it)
		case "dns":
			if r.eventType != "" && r.eventType != "dns" {
				it.Skip()
			} else {
				r.hasDNS = true
				readDNS(it, r)
			}
		case "flow":
			if r.eventType != "" && r.eventType != "flow" {
				it.Skip()
			} else {
				r.hasFlow = true
				readFlow(it, r)
			}
		case "http":
			if r.eventType != "" && r.eventType != "http" {
				it.Skip()
			} else {
				r.hasHTTP = true
				readHTTP(it, r)
			}
		case "tls":
			if r.eventType != "" && r.eventType != "tls" {
				it.Skip()
			} else {
				r.hasTLS = true
				readTLS(it, r)
			}
		default:
			it.Skip()
		}
		return it.Error == nil
	})
	if it.Error != nil {
		return trimIterError(it.Error)
	}
	return nil
}

// str reads a string; null and other types read as "".
func str(it *jsoniter.Iterator) string {
	if it.WhatIsNext() == jsoniter.StringValue {
		return it.ReadString()
	}
	it.Skip()
	return ""
}

func num(it *jsoniter.Iterator) int64 {
	if it.WhatIsNext() == jsoniter.NumberValue {
		return it.ReadInt64()
	}
	it.Skip()
	return 0
}

func readDNS(it *jsoniter.Iterator, r *record) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "type":
			r.dnsType = str(it)
		case "id":
			r.dnsID = num(it)
		case "version":
			r.dnsVersion = num(it)
		case "rrname":
			r.rrname = str(it)
		case "rrtype":
			r.rrtype = str(it)
		case "rcode":
			r.rcode = str(it)
		case "rdata":
			r.rdata = str(it)
		case "ttl":
			r.ttl, r.hasTTL = num(it), true
		case "answers":
			r.answers = readRRs(it, r.answers)
		case "queries":
			r.queries = readRRs(it, r.queries)
		case "grouped":
			readGrouped(it, r)
		default:
			it.Skip()
		}
		return it.Error == nil
	})
}

func readRRs(it *jsoniter.Iterator, dst []answer) []answer {
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return dst
	}
	it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
		if it.WhatIsNext() != jsoniter.ObjectValue {
			it.Skip()
			return it.Error == nil
		}
		var a answer
		it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			switch key {
			case "rrname":
				a.rrname = str(it)
			case "rrtype":
				a.rrtype = str(it)
			case "rdata":
				a.rdata = str(it)
			case "ttl":
				a.ttl, a.hasTTL = num(it), true
			default:
				it.Skip()
			}
			return it.Error == nil
		})
		dst = append(dst, a)
		return it.Error == nil
	})
	return dst
}

func readGrouped(it *jsoniter.Iterator, r *record) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, rrtype string) bool {
		if it.WhatIsNext() != jsoniter.ArrayValue {
			it.Skip()
			return it.Error == nil
		}
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			if it.WhatIsNext() == jsoniter.StringValue {
				r.grouped = append(r.grouped, answer{rrtype: rrtype, rdata: it.ReadString()})
			} else {
				it.Skip() // SOA, SRV... as objects
			}
			return it.Error == nil
		})
		return it.Error == nil
	})
}

func readFlow(it *jsoniter.Iterator, r *record) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "pkts_toserver":
			r.pktsToServer = num(it)
		case "pkts_toclient":
			r.pktsToClient = num(it)
		case "bytes_toserver":
			r.bytesToServer = num(it)
		case "bytes_toclient":
			r.bytesToClient = num(it)
		case "start":
			r.flowStart = str(it)
		case "end":
			r.flowEnd = str(it)
		case "state":
			r.flowState = str(it)
		default:
			it.Skip()
		}
		return it.Error == nil
	})
}

func readHTTP(it *jsoniter.Iterator, r *record) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "hostname":
			r.hostname = str(it)
		case "url":
			r.url = str(it)
		case "http_method":
			r.method = str(it)
		case "http_user_agent":
			r.userAgent = str(it)
		case "http_refer":
			r.referrer = str(it)
		case "http_content_type":
			r.contentType = str(it)
		case "status":
			// a number, or a string in some versions
			switch it.WhatIsNext() {
			case jsoniter.NumberValue:
				r.status = it.ReadInt64()
			case jsoniter.StringValue:
				s := it.ReadString()
				for _, c := range s {
					if c < '0' || c > '9' || r.status > 999 {
						r.status = 0
						break
					}
					r.status = r.status*10 + int64(c-'0')
				}
			default:
				it.Skip()
			}
		case "length":
			r.length = num(it)
		default:
			it.Skip()
		}
		return it.Error == nil
	})
}

func readTLS(it *jsoniter.Iterator, r *record) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		it.Skip()
		return
	}
	it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
		switch key {
		case "sni":
			r.sni = str(it)
		case "version":
			r.version = str(it)
		case "ja3":
			r.ja3, r.ja3Raw = hashString(it)
		case "ja3s":
			r.ja3s, r.ja3sRaw = hashString(it)
		case "ja4":
			r.ja4, _ = hashString(it)
		case "fingerprint":
			r.fingerprint = str(it)
		case "subject":
			r.subject = str(it)
		case "issuerdn":
			r.issuer = str(it)
		case "notbefore":
			r.notBefore = str(it)
		case "notafter":
			r.notAfter = str(it)
		case "client_alpns", "alpn_tc":
			if it.WhatIsNext() == jsoniter.ArrayValue && len(r.alpn) == 0 {
				it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
					if s := str(it); s != "" {
						r.alpn = append(r.alpn, s)
					}
					return it.Error == nil
				})
			} else {
				it.Skip()
			}
		default:
			it.Skip()
		}
		return it.Error == nil
	})
}

// hashString reads {"hash":..., "string":...} (ja3, ja3s, and ja4 before
// Suricata 8) or a plain string (ja4 from Suricata 8).
func hashString(it *jsoniter.Iterator) (hash, raw string) {
	switch it.WhatIsNext() {
	case jsoniter.StringValue:
		return it.ReadString(), ""
	case jsoniter.ObjectValue:
		it.ReadObjectCB(func(it *jsoniter.Iterator, key string) bool {
			switch key {
			case "hash":
				hash = str(it)
			case "string":
				raw = str(it)
			default:
				it.Skip()
			}
			return it.Error == nil
		})
		return hash, raw
	}
	it.Skip()
	return "", ""
}

func trimIterError(err error) error {
	s := err.Error()
	if i := strings.Index(s, ", error found in #"); i > 0 {
		s = s[:i]
	}
	return errors.New("bad JSON: " + s)
}
