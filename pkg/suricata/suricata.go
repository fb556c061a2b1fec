// Package suricata turns Suricata eve.json records into NFR events: dns
// into dns, flow into ip, http into http and tls into tls. Other event types
// are counted and ignored.
//
// DNS follows Zeek's dns.log: one event per query and its response, with the
// originator as srcIP. The three eve dns formats are paired as follows.
// Version 3 (Suricata 8, request/response with queries[] and answers[]) and
// version 2 (a flat "query" record, then an "answer" record with answers[]
// or grouped{}) are paired on flow_id and the DNS transaction id: a query is
// held until its answer arrives and the answer completes it (timestamp and
// direction of the query, rcode and answers of the response). Version 1 logs
// one "answer" record per resource record; consecutive records of one
// transaction are gathered into one event, and only the answer chain
// (records whose owner is the query name or a CNAME target within it) counts
// as answers, since v1 mixes authority records in. A query with no answer
// within the next PendingRecords dns records (or at the end of input, or
// when a follower is idle) is emitted on its own without rcode, as Zeek logs unanswered
// queries; an answer with no query seen is emitted from the answer alone.
//
// Timestamps carry the sensor's zone offset (+0200, -0800, Z) and become UTC.
package suricata

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/event"
)

// PendingRecords is how many later dns records a query waits for its
// answer. Counting records rather than reading the clock keeps pairing
// deterministic (a resumed run pairs as the first run would) and immune to
// eve files that mix pcap and wall-clock time or are out of order.
const PendingRecords = 4096

// MaxPending caps the queries waiting for answers; the oldest go first.
const MaxPending = 65536

// Stats counts what a Parser saw.
type Stats struct {
	Records    int64            // JSON records read
	Events     int64            // events emitted
	Unanswered int64            // dns queries emitted without an answer
	Ignored    map[string]int64 // records of other event types, by type
}

type txKey struct {
	flow uint64
	id   int64
	src  netip.AddrPort // client side when there is no flow_id
}

type pending struct {
	key   txKey
	ev    event.Event
	seq   int64
	lines []byte // raw lines, for Context
	done  bool
}

// A Parser reads one eve.json stream. It is not safe for concurrent use.
type Parser struct {
	Stats Stats

	source string
	dec    decoder
	rec    record
	ev     event.Event

	pend    map[txKey][]*pending // queries waiting, oldest first
	order   []*pending           // arrival order, for expiry and Context
	open    *pending             // v1 answer records being gathered
	dnsSeq  int64                // dns records seen, the clock that expires queries
	context []byte
	ans     []string // answer buffers reused between events
	ttls    []uint32
}

// NewParser returns a Parser; name is written as the events' source ("" or
// "-": none).
func NewParser(name string) *Parser {
	p := &Parser{pend: make(map[txKey][]*pending)}
	if name != "" && name != "-" {
		p.source = name
	}
	return p
}

// Line handles one eve line. An error means the line was skipped.
func (p *Parser) Line(line []byte, emit func(*event.Event) error) error {
	if len(line) == 0 || isSpace(line) {
		return nil
	}
	if line[0] != '{' {
		return errNotObject
	}
	// Records of types we do not map are counted without decoding them.
	if et := eventType(line); et != nil && !mapped(et) {
		p.Stats.Records++
		p.ignore(string(et))
		return nil
	}
	r := &p.rec
	if err := p.dec.decode(line, r); err != nil {
		return err
	}
	p.Stats.Records++
	ts, err := parseTime(r.timestamp)
	if err != nil {
		return err
	}
	if err := checkLengths(r); err != nil {
		return err
	}
	if string(r.eventType) == "dns" {
		p.dnsSeq++
	}
	// Anything but the next v1 record of the same transaction closes it.
	if p.open != nil && !(string(r.eventType) == "dns" && r.dnsVersion == 0 && string(r.dnsType) == "answer" && p.keyOf(r, true) == p.open.key) {
		if err := p.emitOpen(emit); err != nil {
			return err
		}
	}
	if err := p.expire(emit); err != nil {
		return err
	}
	switch string(r.eventType) {
	case "dns":
		if !r.hasDNS {
			return errors.New("dns record without a dns object")
		}
		return p.dns(r, ts, line, emit)
	case "flow":
		return p.flow(r, ts, emit)
	case "http":
		return p.http(r, ts, emit)
	case "tls":
		return p.tls(r, ts, emit)
	case "ssh":
		return p.ssh(r, ts, emit)
	case "":
		return errors.New("no event_type")
	}
	p.ignore(string(r.eventType))
	return nil
}

func mapped(et []byte) bool {
	switch string(et) {
	case "dns", "flow", "http", "tls", "ssh":
		return true
	}
	return false
}

func (p *Parser) ignore(et string) {
	if p.Stats.Ignored == nil {
		p.Stats.Ignored = make(map[string]int64)
	}
	if !knownTypes[et] {
		// Counted by name only for Suricata's own types: a key per name
		// read would let the input grow the counters without bound.
		et = "other"
	}
	p.Stats.Ignored[et]++
}

// knownTypes are the event types Suricata writes, counted by name when
// ignored; any other event_type is counted as "other".
var knownTypes = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`alert anomaly arp bittorrent-dht dcerpc dhcp dnp3 doh2 drop enip
		engine fileinfo frame ftp ftp_data http2 ike ikev2 krb5 ldap mdns modbus mqtt netflow nfs
		pgsql pop3 quic rdp rfb sip smb smtp snmp ssh stats tftp websocket`) {
		knownTypes[t] = true
	}
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// Context returns the raw lines of queries still waiting for answers (and
// of v1 answers being gathered), to be replayed when resuming.
func (p *Parser) Context() []byte {
	p.context = p.context[:0]
	for _, q := range p.order {
		if !q.done {
			p.context = append(p.context, q.lines...)
		}
	}
	if p.open != nil {
		p.context = append(p.context, p.open.lines...)
	}
	return p.context
}

// Flush emits every query still waiting, and v1 answers being gathered.
func (p *Parser) Flush(emit func(*event.Event) error) error {
	if err := p.emitOpen(emit); err != nil {
		return err
	}
	for len(p.order) > 0 {
		if err := p.emitOldest(emit); err != nil {
			return err
		}
	}
	return nil
}

func (p *Parser) emitOldest(emit func(*event.Event) error) error {
	q := p.order[0]
	p.order[0] = nil
	p.order = p.order[1:]
	if q.done {
		return nil
	}
	p.remove(q)
	p.Stats.Unanswered++
	return p.send(&q.ev, emit)
}

// remove takes q out of the waiting queries.
func (p *Parser) remove(q *pending) {
	q.done = true
	l := p.pend[q.key]
	for i, x := range l {
		if x == q {
			l = append(l[:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(p.pend, q.key)
	} else {
		p.pend[q.key] = l
	}
}

func (p *Parser) expire(emit func(*event.Event) error) error {
	for len(p.order) > 0 {
		q := p.order[0]
		if !q.done && len(p.order) <= MaxPending && p.dnsSeq-q.seq < PendingRecords {
			return nil
		}
		if err := p.emitOldest(emit); err != nil {
			return err
		}
	}
	return nil
}

func (p *Parser) emitOpen(emit func(*event.Event) error) error {
	o := p.open
	if o == nil {
		return nil
	}
	p.open = nil
	return p.send(&o.ev, emit)
}

func (p *Parser) send(e *event.Event, emit func(*event.Event) error) error {
	communityid.Stamp(e) // when the eve record has no community_id
	p.Stats.Events++
	return emit(e)
}

// keyOf returns the transaction key of a dns record; client says whether
// the record's source is the client (queries, v2 answers) or the server.
func (p *Parser) keyOf(r *record, answerFromServer bool) txKey {
	k := txKey{flow: r.flowID, id: r.dnsID}
	if !r.hasFlowID {
		ip, _ := event.ParseAddr(r.srcIP)
		port := r.srcPort
		if answerFromServer {
			ip, _ = event.ParseAddr(r.destIP)
			port = r.destPort
		}
		k.src = netip.AddrPortFrom(ip.Unmap(), uint16(port))
	}
	return k
}

// base fills what every event has from the record.
func (p *Parser) base(e *event.Event, typ string, r *record, ts time.Time, swap bool) error {
	e.Reset()
	// Only dns events carry answers; an empty list would be written.
	e.Answers, e.TTLs = nil, nil
	e.Type, e.V, e.TS, e.Source = typ, event.Version, ts, p.source
	src, dst := r.srcIP, r.destIP
	sp, dp := r.srcPort, r.destPort
	if swap {
		src, dst, sp, dp = dst, src, dp, sp
	}
	var err error
	if len(src) > 0 {
		if e.SrcIP, err = event.ParseAddr(src); err != nil {
			return err
		}
	}
	if len(dst) > 0 {
		if e.DestIP, err = event.ParseAddr(dst); err != nil {
			return err
		}
	}
	if sp < 0 || sp > 65535 || dp < 0 || dp > 65535 {
		return fmt.Errorf("port out of range")
	}
	e.SrcPort, e.DestPort = uint16(sp), uint16(dp)
	e.Proto = protoName(r.proto)
	e.FlowID = r.flowID
	if len(r.communityID) > 0 {
		e.CommunityID = string(r.communityID)
	}
	return nil
}

// service gives a flow's app_proto (after app_proto_orig when the protocol
// changed, as an HTTP CONNECT to TLS) in Zeek's service names, as
// nfr-capture writes them.
func service(r *record, proto string) string {
	name := func(a []byte) string {
		switch string(a) {
		case "", "failed", "unknown":
			return ""
		case "tls":
			return "ssl"
		case "krb5":
			if proto == "tcp" {
				return "krb_tcp"
			}
			return "krb"
		case "ldap":
			if proto == "tcp" {
				return "ldap_tcp"
			}
			return "ldap_udp"
		case "pgsql":
			return "postgresql"
		case "dns", "http", "ssh", "smtp", "ftp", "smb", "dhcp", "ntp", "sip", "rdp", "imap", "pop3", "mysql", "quic":
			return string(a)
		}
		return string(a)
	}
	app, orig := name(r.appProto), name(r.appOrig)
	switch {
	case orig == "" || orig == app:
		return app
	case app == "":
		return orig
	}
	return orig + "," + app
}

func (p *Parser) dns(r *record, ts time.Time, line []byte, emit func(*event.Event) error) error {
	switch string(r.dnsType) {
	case "query", "request":
		return p.dnsQuery(r, ts, line, emit)
	case "answer", "response":
		if r.dnsVersion == 0 {
			return p.dnsV1Answer(r, ts, line, emit)
		}
		return p.dnsAnswer(r, ts, emit)
	}
	return fmt.Errorf("dns record of unknown type %q", r.dnsType)
}

func (p *Parser) dnsQuery(r *record, ts time.Time, line []byte, emit func(*event.Event) error) error {
	q := &pending{seq: p.dnsSeq}
	if err := p.base(&q.ev, event.TypeDNS, r, ts, false); err != nil {
		return err
	}
	name, qtype := r.rrname, r.rrtype
	if len(r.queries) > 0 {
		name, qtype = r.queries[0].rrname, r.queries[0].rrtype
	}
	q.ev.Query = queryName(name)
	q.ev.QType = string(qtype)
	q.key = p.keyOf(r, false)
	// Several queries may wait on one key (a retransmission, A and AAAA
	// with one id); answers take them in order.
	q.lines = append(append([]byte(nil), line...), '\n')
	p.pend[q.key] = append(p.pend[q.key], q)
	p.order = append(p.order, q)
	return p.expire(emit)
}

// take removes and returns the oldest query waiting for key.
func (p *Parser) take(key txKey) *pending {
	l := p.pend[key]
	if len(l) == 0 {
		return nil
	}
	q := l[0]
	p.remove(q)
	return q
}

// dnsAnswer handles a v2 answer or a v3 response.
func (p *Parser) dnsAnswer(r *record, ts time.Time, emit func(*event.Event) error) error {
	fromServer := r.dnsVersion != 2
	key := p.keyOf(r, fromServer)
	e := &p.ev
	if q := p.take(key); q != nil {
		*e = q.ev
	} else {
		if err := p.base(e, event.TypeDNS, r, ts, fromServer); err != nil {
			return err
		}
		name, qtype := r.rrname, r.rrtype
		if len(r.queries) > 0 {
			name, qtype = r.queries[0].rrname, r.queries[0].rrtype
		}
		e.Query, e.QType = queryName(name), string(qtype)
	}
	e.RCode = string(r.rcode)
	e.Answers, e.TTLs = p.ans[:0], p.ttls[:0]
	if len(r.answers) > 0 {
		for _, a := range r.answers {
			if len(a.rdata) == 0 {
				continue // SOA, SRV, ... logged as objects
			}
			e.Answers = append(e.Answers, rdata(a.rrtype, a.rdata))
			e.TTLs = append(e.TTLs, ttl(a.ttl))
		}
	} else {
		for _, a := range r.grouped { // grouped only: no TTLs logged
			if len(a.rdata) == 0 {
				continue
			}
			e.Answers = append(e.Answers, rdata(a.rrtype, a.rdata))
		}
	}
	p.ans, p.ttls = e.Answers, e.TTLs
	if len(e.Answers) == 0 {
		e.Answers = nil
	}
	if len(e.TTLs) == 0 {
		e.TTLs = nil
	}
	return p.send(e, emit)
}

// dnsV1Answer gathers one v1 answer record into the open event.
func (p *Parser) dnsV1Answer(r *record, ts time.Time, line []byte, emit func(*event.Event) error) error {
	key := p.keyOf(r, true)
	if p.open == nil {
		o := &pending{key: key}
		if q := p.take(key); q != nil {
			o.ev = q.ev
			o.lines = q.lines
		} else {
			if err := p.base(&o.ev, event.TypeDNS, r, ts, true); err != nil {
				return err
			}
			o.ev.Query, o.ev.QType = queryName(r.rrname), string(r.rrtype)
		}
		p.open = o
	}
	o := p.open
	o.lines = append(append(o.lines, line...), '\n')
	if o.ev.RCode == "" {
		o.ev.RCode = string(r.rcode)
	}
	if len(r.rdata) == 0 || len(r.rrname) == 0 {
		return nil
	}
	// Only the answer chain: the query name, then CNAME targets.
	owner := queryName(r.rrname)
	inChain := owner == o.ev.Query
	for _, a := range o.ev.Answers {
		if strings.EqualFold(a, owner) {
			inChain = true
		}
	}
	if !inChain {
		return nil
	}
	o.ev.Answers = append(o.ev.Answers, rdata(r.rrtype, r.rdata))
	o.ev.TTLs = append(o.ev.TTLs, ttl(r.ttl))
	return nil
}

func (p *Parser) flow(r *record, ts time.Time, emit func(*event.Event) error) error {
	if !r.hasFlow {
		return errors.New("flow record without a flow object")
	}
	e := &p.ev
	if err := p.base(e, event.TypeIP, r, ts, false); err != nil {
		return err
	}
	if len(r.flowStart) > 0 {
		start, err := parseTime(r.flowStart)
		if err != nil {
			return fmt.Errorf("flow.start: %v", err)
		}
		e.TS = start
		if len(r.flowEnd) > 0 {
			end, err := parseTime(r.flowEnd)
			if err != nil {
				return fmt.Errorf("flow.end: %v", err)
			}
			if end.After(start) {
				e.Duration = end.Sub(start).Seconds()
			}
		}
	}
	e.BytesOut, e.BytesIn = r.bytesToServer, r.bytesToClient
	e.PktsOut, e.PktsIn = r.pktsToServer, r.pktsToClient
	e.Service = service(r, e.Proto)
	if r.hasICMP && (e.Proto == "icmp" || e.Proto == "icmp6") {
		t, c := uint8(r.icmpType), uint8(r.icmpCode)
		e.ICMPType, e.ICMPCode = &t, &c
		e.SrcPort, e.DestPort = 0, 0
	}
	return p.send(e, emit)
}

func (p *Parser) http(r *record, ts time.Time, emit func(*event.Event) error) error {
	if !r.hasHTTP {
		return errors.New("http record without an http object")
	}
	e := &p.ev
	if err := p.base(e, event.TypeHTTP, r, ts, false); err != nil {
		return err
	}
	e.Host = string(r.hostname)
	switch {
	case len(r.url) > 0 && r.url[0] == '/' && len(r.hostname) > 0:
		e.URL = "http://" + e.Host + string(r.url)
	default:
		e.URL = string(r.url)
	}
	e.Method, e.UserAgent, e.Referrer, e.ContentType = string(r.method), string(r.userAgent), string(r.referrer), string(r.contentType)
	if r.status > 0 && r.status < 1000 {
		e.Status = int(r.status)
	}
	e.RespLen = r.length
	return p.send(e, emit)
}

// ssh turns an eve ssh record into an ssh event; the version strings are
// rebuilt as SSH-proto-software (eve drops the comments after a space).
func (p *Parser) ssh(r *record, ts time.Time, emit func(*event.Event) error) error {
	if !r.hasSSH {
		return errors.New("ssh record without an ssh object")
	}
	e := &p.ev
	if err := p.base(e, event.TypeSSH, r, ts, false); err != nil {
		return err
	}
	version := func(i int) string {
		if len(r.sshProto[i]) == 0 && len(r.sshSoft[i]) == 0 {
			return ""
		}
		return "SSH-" + string(r.sshProto[i]) + "-" + string(r.sshSoft[i])
	}
	e.ClientVersion, e.ServerVersion = version(0), version(1)
	e.HASSH, e.HASSHAlgorithms = string(r.hassh[0]), string(r.hasshRaw[0])
	e.HASSHServer, e.HASSHServerAlgorithms = string(r.hassh[1]), string(r.hasshRaw[1])
	return p.send(e, emit)
}

func (p *Parser) tls(r *record, ts time.Time, emit func(*event.Event) error) error {
	if !r.hasTLS {
		return errors.New("tls record without a tls object")
	}
	e := &p.ev
	if err := p.base(e, event.TypeTLS, r, ts, false); err != nil {
		return err
	}
	e.SNI = string(r.sni)
	e.TLSVersion = tlsVersion(string(r.version))
	for _, a := range r.alpn {
		e.ALPN = append(e.ALPN, string(a))
	}
	e.JA3, e.JA3Raw, e.JA3S, e.JA3SRaw, e.JA4 = string(r.ja3), string(r.ja3Raw), string(r.ja3s), string(r.ja3sRaw), string(r.ja4)
	e.CertHash = strings.ToLower(strings.ReplaceAll(string(r.fingerprint), ":", ""))
	e.Subject, e.Issuer = string(r.subject), string(r.issuer)
	var err error
	if len(r.notBefore) > 0 {
		if e.ValidFrom, err = parseTime(r.notBefore); err != nil {
			return fmt.Errorf("tls.notbefore: %v", err)
		}
	}
	if len(r.notAfter) > 0 {
		if e.ValidTo, err = parseTime(r.notAfter); err != nil {
			return fmt.Errorf("tls.notafter: %v", err)
		}
	}
	return p.send(e, emit)
}

// tlsVersion writes Suricata's "TLS 1.2" as Zeek's "TLSv12".
func tlsVersion(v string) string {
	switch v {
	case "TLS 1.0", "TLSv1":
		return "TLSv10"
	case "TLS 1.1":
		return "TLSv11"
	case "TLS 1.2":
		return "TLSv12"
	case "TLS 1.3":
		return "TLSv13"
	case "UNDETERMINED":
		return ""
	}
	if strings.HasPrefix(v, "TLS 1.3 draft") {
		return "TLSv13"
	}
	return v // SSLv2, SSLv3, DTLS...
}

func protoName[T string | []byte](p T) string {
	switch string(p) {
	case "TCP":
		return "tcp"
	case "UDP":
		return "udp"
	case "ICMP":
		return "icmp"
	case "IPv6-ICMP":
		return "icmp6"
	case "":
		return ""
	}
	return strings.ToLower(string(p))
}

func queryName[T string | []byte](b T) string {
	s := string(b)
	s = strings.TrimSuffix(s, ".")
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// rdata normalises addresses (v1 logged IPv6 fully expanded) as Zeek writes
// them; other data is kept as Suricata wrote it.
func rdata[T string | []byte](rrtype, s T) string {
	if string(rrtype) == "A" || string(rrtype) == "AAAA" {
		if a, err := event.ParseAddr(s); err == nil {
			return a.String()
		}
	}
	return string(s)
}

func ttl(v int64) uint32 {
	if v < 0 {
		return 0
	}
	if v > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(v)
}

// ParseTime parses eve timestamps: 2021-06-06T16:26:27.431769+0200, with
// the offset also as +02:00 or Z, or none (certificate dates, taken as UTC).
// The result is in UTC.
func ParseTime(s string) (time.Time, error) { return parseTime(s) }

func parseTime[T string | []byte](s T) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("bad timestamp %q", s) }
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad()
	}
	var f [6]int
	for i, pos := range [6]int{0, 5, 8, 11, 14, 17} {
		n := 2
		if i == 0 {
			n = 4
		}
		v := 0
		for j := pos; j < pos+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return bad()
			}
			v = v*10 + int(c-'0')
		}
		f[i] = v
	}
	i := 19
	nsec := 0
	if i < len(s) && s[i] == '.' {
		i++
		scale := 100000000
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			nsec += int(s[i]-'0') * scale
			scale /= 10
		}
		if i == start {
			return bad()
		}
	}
	off := 0
	switch {
	case i == len(s):
	case s[i] == 'Z' && i+1 == len(s):
	case s[i] == '+' || s[i] == '-':
		z := s[i+1:]
		var d [4]byte
		switch {
		case len(z) == 5 && z[2] == ':':
			d = [4]byte{z[0], z[1], z[3], z[4]}
		case len(z) == 4:
			d = [4]byte{z[0], z[1], z[2], z[3]}
		default:
			return bad()
		}
		for _, c := range d {
			if c < '0' || c > '9' {
				return bad()
			}
		}
		off = (int(d[0]-'0')*10+int(d[1]-'0'))*3600 + (int(d[2]-'0')*10+int(d[3]-'0'))*60
		if s[i] == '-' {
			off = -off
		}
	default:
		return bad()
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 24 || f[4] > 59 || f[5] > 60 {
		return bad()
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], nsec, time.UTC)
	return t.Add(-time.Duration(off) * time.Second), nil
}

// checkLengths refuses names, URLs and user agents over event's limits, as
// the engine would: the line is skipped and reported.
func checkLengths(r *record) error {
	if err := checkName("dns.rrname", r.rrname); err != nil {
		return err
	}
	for _, q := range r.queries {
		if err := checkName("dns.queries.rrname", q.rrname); err != nil {
			return err
		}
	}
	if err := checkName("http.hostname", r.hostname); err != nil {
		return err
	}
	if err := checkName("tls.sni", r.sni); err != nil {
		return err
	}
	if len(r.url) > event.MaxURL || len(r.referrer) > event.MaxURL || len(r.userAgent) > event.MaxUserAgent {
		for _, f := range []struct {
			field string
			v     []byte
			max   int
		}{{"http.url", r.url, event.MaxURL}, {"http.http_refer", r.referrer, event.MaxURL}, {"http.http_user_agent", r.userAgent, event.MaxUserAgent}} {
			if len(f.v) > f.max {
				return fmt.Errorf("%s: %d bytes, longer than %d", f.field, len(f.v), f.max)
			}
		}
	}
	return nil
}

func checkName(field string, v []byte) error {
	if len(v) <= event.MaxLabel {
		return nil
	}
	if v[len(v)-1] == '.' {
		v = v[:len(v)-1]
	}
	if err := event.CheckName(v); err != nil {
		return fmt.Errorf("%s: %v", field, err)
	}
	return nil
}
