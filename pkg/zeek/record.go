package zeek

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/nfr-project/nfr/pkg/communityid"
	"github.com/nfr-project/nfr/pkg/event"
)

// Field ids of the Zeek columns NFR reads; every other column is skipped.
const (
	fTS = iota
	fOrigH
	fOrigP
	fRespH
	fRespP
	fProto
	fQuery
	fQType
	fQTypeName
	fRCode
	fRCodeName
	fAnswers
	fTTLs
	fOrigBytes
	fRespBytes
	fOrigPkts
	fRespPkts
	fDuration
	fConnState
	fHistory
	fHost
	fURI
	fMethod
	fStatus
	fUserAgent
	fReferrer
	fReqLen
	fRespLen
	fRespMime
	fServerName
	fVersion
	fNextProto
	fJA3
	fJA3S
	fJA4
	fSubject
	fIssuer
	fCertFuids
	fCertFps
	fID
	fFingerprint
	fCertSubject
	fCertIssuer
	fNotBefore
	fNotAfter
	fPath
	fIPProto
	fService
	fUID
	fCommunityID
	fClient
	fServer
	fAuthSuccess
	fAuthAttempts
	fHASSH
	fHASSHAlgorithms
	fHASSHServer
	fHASSHServerAlgorithms
	nField
)

var fieldIDs = map[string]int{
	"ts": fTS, "id.orig_h": fOrigH, "id.orig_p": fOrigP, "id.resp_h": fRespH, "id.resp_p": fRespP,
	"proto": fProto, "query": fQuery, "qtype": fQType, "qtype_name": fQTypeName, "rcode": fRCode,
	"rcode_name": fRCodeName, "answers": fAnswers, "TTLs": fTTLs,
	"orig_bytes": fOrigBytes, "resp_bytes": fRespBytes, "orig_pkts": fOrigPkts, "resp_pkts": fRespPkts,
	"duration": fDuration, "conn_state": fConnState, "history": fHistory,
	"host": fHost, "uri": fURI, "method": fMethod, "status_code": fStatus, "user_agent": fUserAgent,
	"referrer": fReferrer, "request_body_len": fReqLen, "response_body_len": fRespLen,
	"resp_mime_types": fRespMime,
	"server_name":     fServerName, "version": fVersion, "next_protocol": fNextProto,
	"ja3": fJA3, "ja3s": fJA3S, "ja4": fJA4, "subject": fSubject, "issuer": fIssuer,
	"cert_chain_fuids": fCertFuids, "cert_chain_fps": fCertFps,
	"id": fID, "fingerprint": fFingerprint, "certificate.subject": fCertSubject,
	"certificate.issuer": fCertIssuer, "certificate.not_valid_before": fNotBefore,
	"certificate.not_valid_after": fNotAfter, "_path": fPath, "ip_proto": fIPProto,
	"service": fService, "uid": fUID, "community_id": fCommunityID,
	"client": fClient, "server": fServer, "auth_success": fAuthSuccess, "auth_attempts": fAuthAttempts,
	// the hassh package's columns
	"hassh": fHASSH, "hasshAlgorithms": fHASSHAlgorithms, "hasshServer": fHASSHServer,
	"hasshServerAlgorithms": fHASSHServerAlgorithms,
}

func fieldID(name string) int {
	if id, ok := fieldIDs[name]; ok {
		return id
	}
	return -1
}

func isList(id int) bool {
	switch id {
	case fAnswers, fTTLs, fRespMime, fCertFuids, fCertFps:
		return true
	}
	return false
}

// record holds the values of one log record by field id. Values point into
// the line (TSV) or into decoder scratch (JSON) and live until the next line.
type record struct {
	has  [nField]bool
	val  [nField][]byte
	list [nField][][]byte
}

func (r *record) reset() {
	r.has = [nField]bool{}
}

func (r *record) set(id int, v []byte) {
	r.has[id] = true
	r.val[id] = v
}

func (r *record) str(id int) string {
	if !r.has[id] {
		return ""
	}
	return string(r.val[id])
}

// intern returns a shared string for the few values a column repeats
// (protocols, record types, response codes, states), so they are not
// allocated per record.
func (p *Parser) intern(r *record, id int) string {
	if !r.has[id] {
		return ""
	}
	b := r.val[id]
	if s, ok := p.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.strs == nil {
		p.strs = make(map[string]string)
	}
	if len(p.strs) < 4096 {
		p.strs[s] = s
	}
	return s
}

func (p *Parser) build(kind string, r *record, emit func(*event.Event) error) error {
	if kind == KindX509 {
		return p.addCert(r)
	}
	e := &p.ev
	e.Reset()
	// Only dns events carry answers; an empty list would be written.
	e.Answers, e.TTLs = nil, nil
	e.V = event.Version
	e.Source = p.source
	if !r.has[fTS] {
		return fmt.Errorf("no ts")
	}
	ts, err := parseTime(r.val[fTS])
	if err != nil {
		return err
	}
	e.TS = ts
	if r.has[fOrigH] {
		if e.SrcIP, err = event.ParseAddr(r.val[fOrigH]); err != nil {
			return fmt.Errorf("id.orig_h: %v", err)
		}
	}
	if r.has[fRespH] {
		if e.DestIP, err = event.ParseAddr(r.val[fRespH]); err != nil {
			return fmt.Errorf("id.resp_h: %v", err)
		}
	}
	var origP, respP uint64
	if r.has[fOrigP] {
		if origP, err = parseUint(r.val[fOrigP], 65535); err != nil {
			return fmt.Errorf("id.orig_p: %v", err)
		}
	}
	if r.has[fRespP] {
		if respP, err = parseUint(r.val[fRespP], 65535); err != nil {
			return fmt.Errorf("id.resp_p: %v", err)
		}
	}
	e.Proto = p.intern(r, fProto)
	e.SrcPort, e.DestPort = uint16(origP), uint16(respP)
	e.UID = r.str(fUID)
	e.CommunityID = r.str(fCommunityID)

	switch kind {
	case KindDNS:
		err = p.dns(r, e)
	case KindConn:
		err = p.conn(r, e)
	case KindHTTP:
		err = p.http(r, e)
	case KindSSL:
		err = p.ssl(r, e)
	case KindSSH:
		err = p.ssh(r, e)
	}
	if err != nil {
		return err
	}
	if err := event.CheckLengths(e); err != nil {
		return err
	}
	communityid.Stamp(e) // when the log has no community_id column
	p.Stats.Events++
	return emit(e)
}

func (p *Parser) dns(r *record, e *event.Event) error {
	e.Type = event.TypeDNS
	q := r.val[fQuery]
	if r.has[fQuery] {
		q = bytes.TrimSuffix(q, []byte("."))
		e.Query = lowerString(q)
	}
	switch {
	case r.has[fQTypeName]:
		e.QType = p.intern(r, fQTypeName)
	case r.has[fQType]:
		e.QType = "TYPE" + string(r.val[fQType])
	}
	switch {
	case r.has[fRCodeName]:
		e.RCode = p.intern(r, fRCodeName)
	case r.has[fRCode]:
		e.RCode = "RCODE" + string(r.val[fRCode])
	}
	e.Answers, e.TTLs = p.ans[:0], p.ttls[:0]
	defer func() {
		p.ans, p.ttls = e.Answers, e.TTLs
		if len(e.Answers) == 0 {
			e.Answers = nil
		}
		if len(e.TTLs) == 0 {
			e.TTLs = nil
		}
	}()
	if r.has[fAnswers] {
		for _, a := range r.list[fAnswers] {
			e.Answers = append(e.Answers, string(a))
		}
	}
	if r.has[fTTLs] {
		for _, t := range r.list[fTTLs] {
			// Whole seconds of an interval such as 3600.000000.
			whole, frac, _ := bytes.Cut(t, []byte("."))
			sec, err := parseUint(whole, 1<<63-1)
			if err == nil && len(frac) > 0 {
				_, err = parseUint(frac, 1<<63-1)
			}
			if err != nil {
				return fmt.Errorf("TTLs: bad interval %q", t)
			}
			e.TTLs = append(e.TTLs, uint32(min(sec, 1<<32-1)))
		}
	}
	return nil
}

func (p *Parser) conn(r *record, e *event.Event) error {
	e.Type = event.TypeIP
	var err error
	for _, c := range []struct {
		id  int
		dst *int64
	}{{fOrigBytes, &e.BytesOut}, {fRespBytes, &e.BytesIn}, {fOrigPkts, &e.PktsOut}, {fRespPkts, &e.PktsIn}} {
		if r.has[c.id] {
			var v uint64
			if v, err = parseUint(r.val[c.id], 1<<63-1); err != nil {
				return fmt.Errorf("%s: %v", fieldName(c.id), err)
			}
			*c.dst = int64(v)
		}
	}
	if r.has[fDuration] {
		sec, nsec, err := event.ParseEpoch(r.val[fDuration])
		if err != nil {
			return fmt.Errorf("duration: %v", err)
		}
		e.Duration = float64(sec) + float64(nsec)/1e9
	}
	e.ConnState = p.intern(r, fConnState)
	e.History = p.intern(r, fHistory)
	e.Service = p.service(r)
	switch {
	case e.Proto == "unknown_transport" && r.has[fIPProto]:
		// Zeek >= 6 logs the IP protocol number beside it.
		e.Proto = p.intern(r, fIPProto)
	case e.Proto == "icmp" && e.SrcIP.Is6():
		e.Proto = "icmp6" // Zeek's proto enum has one icmp for both
	}
	if e.Proto == "icmp" || e.Proto == "icmp6" {
		// Zeek logs ICMP type and code in the port columns.
		t, c := uint8(e.SrcPort), uint8(e.DestPort)
		e.ICMPType, e.ICMPCode = &t, &c
		e.SrcPort, e.DestPort = 0, 0
	}
	return nil
}

// ssh reads ssh.log: the version strings, the authentication verdict and
// attempts, and the hassh package's columns when present.
func (p *Parser) ssh(r *record, e *event.Event) error {
	e.Type = event.TypeSSH
	if e.Proto == "" {
		e.Proto = "tcp"
	}
	e.ClientVersion, e.ServerVersion = r.str(fClient), r.str(fServer)
	if r.has[fAuthSuccess] {
		switch v := string(r.val[fAuthSuccess]); v {
		case "T", "true":
			t := true
			e.AuthSuccess = &t
		case "F", "false":
			f := false
			e.AuthSuccess = &f
		default:
			return fmt.Errorf("auth_success: %q is not a bool", v)
		}
	}
	if r.has[fAuthAttempts] {
		n, err := parseUint(r.val[fAuthAttempts], 1<<31-1)
		if err != nil {
			return fmt.Errorf("auth_attempts: %v", err)
		}
		e.AuthAttempts = int(n)
	}
	e.HASSH, e.HASSHAlgorithms = r.str(fHASSH), r.str(fHASSHAlgorithms)
	e.HASSHServer, e.HASSHServerAlgorithms = r.str(fHASSHServer), r.str(fHASSHServerAlgorithms)
	return nil
}

// service is conn.log's service column without the analysers Zeek
// removed after a violation ("-ftp", failed-service-logging).
func (p *Parser) service(r *record) string {
	v := r.val[fService]
	if !r.has[fService] || bytes.IndexByte(v, '-') < 0 {
		return p.intern(r, fService)
	}
	var out []byte
	for _, s := range bytes.Split(v, []byte(",")) {
		if len(s) > 0 && s[0] != '-' {
			if len(out) > 0 {
				out = append(out, ',')
			}
			out = append(out, s...)
		}
	}
	return string(out)
}

func (p *Parser) http(r *record, e *event.Event) error {
	e.Type = event.TypeHTTP
	if e.Proto == "" {
		e.Proto = "tcp"
	}
	e.Host = r.str(fHost)
	uri := r.val[fURI]
	switch {
	case !r.has[fURI]:
	case len(uri) > 0 && uri[0] == '/' && e.Host != "":
		e.URL = "http://" + e.Host + string(uri)
	default:
		// absolute-form (proxies), authority-form (CONNECT) or no host
		e.URL = string(uri)
	}
	e.Method = p.intern(r, fMethod)
	var err error
	if r.has[fStatus] {
		var v uint64
		if v, err = parseUint(r.val[fStatus], 999); err != nil {
			return fmt.Errorf("status_code: %v", err)
		}
		e.Status = int(v)
	}
	e.UserAgent = r.str(fUserAgent)
	e.Referrer = r.str(fReferrer)
	if r.has[fReqLen] {
		var v uint64
		if v, err = parseUint(r.val[fReqLen], 1<<63-1); err != nil {
			return fmt.Errorf("request_body_len: %v", err)
		}
		e.ReqLen = int64(v)
	}
	if r.has[fRespLen] {
		var v uint64
		if v, err = parseUint(r.val[fRespLen], 1<<63-1); err != nil {
			return fmt.Errorf("response_body_len: %v", err)
		}
		e.RespLen = int64(v)
	}
	if r.has[fRespMime] && len(r.list[fRespMime]) > 0 {
		e.ContentType = string(r.list[fRespMime][0])
	}
	return nil
}

func (p *Parser) ssl(r *record, e *event.Event) error {
	e.Type = event.TypeTLS
	e.TLSVersion = p.intern(r, fVersion)
	if e.Proto == "" {
		e.Proto = "tcp"
		if len(e.TLSVersion) > 4 && e.TLSVersion[:4] == "DTLS" {
			e.Proto = "udp"
		}
	}
	e.SNI = r.str(fServerName)
	if r.has[fNextProto] && len(r.val[fNextProto]) > 0 {
		e.ALPN = append(e.ALPN, string(r.val[fNextProto]))
	}
	e.JA3 = r.str(fJA3)
	e.JA3S = r.str(fJA3S)
	e.JA4 = r.str(fJA4)
	e.Subject = r.str(fSubject)
	e.Issuer = r.str(fIssuer)
	if p.Certs != nil {
		var leaf []byte
		switch {
		case r.has[fCertFps] && len(r.list[fCertFps]) > 0:
			leaf = r.list[fCertFps][0]
		case r.has[fCertFuids] && len(r.list[fCertFuids]) > 0:
			leaf = r.list[fCertFuids][0]
		}
		if c, ok := p.Certs.get(string(leaf)); ok && leaf != nil {
			if e.Subject == "" {
				e.Subject = c.Subject
			}
			if e.Issuer == "" {
				e.Issuer = c.Issuer
			}
			e.ValidFrom, e.ValidTo = c.NotBefore, c.NotAfter
			if len(c.Fingerprint) == 40 {
				e.CertHash = c.Fingerprint
			}
		}
	}
	return nil
}

func fieldName(id int) string {
	for k, v := range fieldIDs {
		if v == id {
			return k
		}
	}
	return "?"
}

// parseTime reads epoch seconds ("1500565628.123456") or, as the
// JSON-streaming writer and LogAscii::json_timestamps write them, ISO 8601.
func parseTime(b []byte) (time.Time, error) {
	if len(b) > 10 && b[4] == '-' {
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return time.Time{}, fmt.Errorf("bad ts %q", b)
		}
		return t.UTC(), nil
	}
	if millis(b) {
		// LogAscii::json_timestamps=JSON::TS_MILLIS: integer milliseconds.
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad ts %q", b)
		}
		return time.UnixMilli(v).UTC(), nil
	}
	sec, nsec, err := event.ParseEpoch(b)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad ts %q", b)
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// millis tells Zeek's millisecond timestamps (an integer of 12 digits or
// more, no fraction) from epoch seconds, which Zeek always writes with a
// fraction.
func millis(b []byte) bool {
	digits := 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' && i == 0:
		default:
			return false
		}
	}
	return digits >= 12
}

func parseUint(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", b)
		}
		nv := v*10 + uint64(c-'0')
		if nv < v {
			return 0, fmt.Errorf("number out of range %q", b)
		}
		v = nv
	}
	if v > max {
		return 0, fmt.Errorf("number out of range %q", b)
	}
	return v, nil
}

func lowerString(b []byte) string {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return string(bytes.ToLower(b))
		}
	}
	return string(b)
}
