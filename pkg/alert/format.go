package alert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nfr-project/nfr/pkg/event"
)

// Formats are the names Formatter.Name takes.
var Formats = []string{"json", "ecs", "cef", "leef", "gelf", "syslog", "text"}

// Formatter writes alerts in one format.
type Formatter struct {
	Name     string // one of Formats
	Host     string // the sensor's name: syslog HOSTNAME, GELF host, CEF dvchost
	Version  string // NFR's version, in CEF and LEEF headers
	Facility int    // syslog facility, 0-23 (default 16, local0, when Facility is 0 and FacilitySet is false)
	RFC3164  bool   // syslog: the BSD format instead of RFC 5424
	Color    bool   // text: colour by severity
	// ProcID is the RFC 5424 PROCID (the process id); "" writes "-".
	ProcID string

	scratch []byte // AppendSyslog's message; a Formatter is not for concurrent use
}

// FormatError is an unknown format name.
func CheckFormat(name string) error {
	for _, f := range Formats {
		if f == name {
			return nil
		}
	}
	return fmt.Errorf("unknown format %q (one of %s)", name, strings.Join(Formats, ", "))
}

// Append appends a, formatted, to dst, without a line end.
func (f *Formatter) Append(dst []byte, a *Alert) []byte {
	switch f.Name {
	case "ecs":
		return f.appendECS(dst, a)
	case "cef":
		return f.appendCEF(dst, a)
	case "leef":
		return f.appendLEEF(dst, a)
	case "gelf":
		return f.appendGELF(dst, a)
	case "syslog":
		return f.appendSyslog(dst, a, nil)
	case "text":
		return f.appendText(dst, a)
	}
	return append(dst, a.Line...)
}

// AppendSyslog appends a as one syslog message: the syslog format as it
// is, any other format as the MSG of a syslog header (so CEF and LEEF reach
// a SIEM as they do from appliances).
func (f *Formatter) AppendSyslog(dst []byte, a *Alert) []byte {
	if f.Name == "syslog" {
		return f.appendSyslog(dst, a, nil)
	}
	f.scratch = f.Append(f.scratch[:0], a)
	return f.appendSyslog(dst, a, f.scratch)
}

// --- CEF (ArcSight Common Event Format, revision 25) ---

// cefHeader escapes a CEF header field: backslash and pipe.
func cefHeader(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '|':
			dst = append(dst, '\\', c)
		case '\n', '\r':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// cefValue escapes a CEF extension value: backslash, equals sign, and
// line ends as \n and \r. A pipe needs no escape in the extension.
func cefValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '=':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

type kv func(key, val string)

func (f *Formatter) appendCEF(dst []byte, a *Alert) []byte {
	id, title := a.Main()
	dst = append(dst, "CEF:0|AlphaSOC|NFR|"...)
	dst = cefHeader(dst, f.version())
	dst = append(dst, '|')
	dst = cefHeader(dst, id)
	dst = append(dst, '|')
	dst = cefHeader(dst, title)
	dst = append(dst, '|')
	dst = strconv.AppendInt(dst, int64(cefSeverity(a.Severity)), 10)
	dst = append(dst, '|')
	ext := &pairs{dst: dst, sep: ' ', value: cefValue}
	add := ext.add
	f.extension(a, add, extKeys{
		rt: "rt", src: "src", spt: "spt", dst: "dst", dpt: "dpt", proto: "proto",
		msg: "msg", cat: "cat", request: "request", method: "requestMethod",
		agent: "requestClientApplication", dhost: "dhost", sensor: "dvchost",
		id: "externalId", count: "cnt", start: "start", end: "end",
	})
	add("cs1Label", "threats")
	add("cs1", strings.Join(a.ThreatIDs, ","))
	if len(a.Flags) > 0 {
		add("cs2Label", "flags")
		add("cs2", strings.Join(a.Flags, ","))
	}
	if len(a.Groups) > 0 {
		add("cs3Label", "groups")
		add("cs3", strings.Join(a.Groups, ","))
	}
	if a.Query != "" {
		add("cs4Label", "query")
		add("cs4", a.Query)
	}
	return ext.dst
}

// pairs appends the key=value extensions of CEF and LEEF: empty values are
// left out, the others escaped by value and separated by sep.
type pairs struct {
	dst   []byte
	sep   byte
	value func(dst []byte, v string) []byte
	n     int
}

func (p *pairs) add(k, v string) {
	if v == "" {
		return
	}
	if p.n > 0 {
		p.dst = append(p.dst, p.sep)
	}
	p.n++
	p.dst = append(p.dst, k...)
	p.dst = append(p.dst, '=')
	p.dst = p.value(p.dst, v)
}

// cefSeverity maps 1-5 onto CEF's 0-10: 2, 4, 6, 8, 10.
func cefSeverity(sev int) int { return min(max(sev, 0), 5) * 2 }

type extKeys struct {
	rt, src, spt, dst, dpt, proto, msg, cat, request, method, agent, dhost, sensor, id, count, start, end string
}

// extension calls add for the fields CEF and LEEF share, under their keys.
func (f *Formatter) extension(a *Alert, add kv, k extKeys) {
	if t := a.Time(); !t.IsZero() {
		add(k.rt, strconv.FormatInt(t.UnixMilli(), 10))
	}
	if a.SrcIP.IsValid() {
		add(k.src, a.SrcIP.String())
		if a.SrcPort != 0 {
			add(k.spt, strconv.Itoa(int(a.SrcPort)))
		}
	}
	if a.DestIP.IsValid() {
		add(k.dst, a.DestIP.String())
		if a.DestPort != 0 {
			add(k.dpt, strconv.Itoa(int(a.DestPort)))
		}
	}
	add(k.proto, strings.ToUpper(a.Proto))
	add(k.cat, a.EventType)
	add(k.request, a.URL)
	add(k.method, a.Method)
	add(k.agent, a.UserAgent)
	switch {
	case a.Host != "":
		add(k.dhost, a.Host)
	case a.SNI != "":
		add(k.dhost, a.SNI)
	case a.Query != "":
		add(k.dhost, a.Query)
	}
	add(k.sensor, f.sensor(a))
	add(k.id, a.ID)
	if a.Count > 0 {
		add(k.count, strconv.FormatInt(a.Count, 10))
	}
	if !a.FirstSeen.IsZero() {
		add(k.start, strconv.FormatInt(a.FirstSeen.UnixMilli(), 10))
	}
	if !a.LastSeen.IsZero() {
		add(k.end, strconv.FormatInt(a.LastSeen.UnixMilli(), 10))
	}
	add(k.msg, a.Reason)
}

func (f *Formatter) version() string {
	if f.Version == "" {
		return "dev"
	}
	return f.Version
}

func (f *Formatter) sensor(a *Alert) string {
	if a.Sensor != "" {
		return a.Sensor
	}
	return f.Host
}

// --- LEEF 2.0 (IBM QRadar Log Event Extended Format) ---

// leefHeader escapes a LEEF header field: backslash and pipe.
func leefHeader(dst []byte, s string) []byte { return cefHeader(dst, s) }

// leefValue keeps the tab delimiter and line ends out of a value.
func leefValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func (f *Formatter) appendLEEF(dst []byte, a *Alert) []byte {
	id, title := a.Main()
	dst = append(dst, "LEEF:2.0|AlphaSOC|NFR|"...)
	dst = leefHeader(dst, f.version())
	dst = append(dst, '|')
	dst = leefHeader(dst, id)
	dst = append(dst, "|x09|"...)
	ext := &pairs{dst: dst, sep: '\t', value: leefValue}
	add := ext.add
	f.extension(a, add, extKeys{
		rt: "devTime", src: "src", spt: "srcPort", dst: "dst", dpt: "dstPort", proto: "proto",
		msg: "reason", cat: "cat", request: "url", method: "method",
		agent: "userAgent", dhost: "dstHost", sensor: "sensor",
		id: "alertId", count: "count", start: "firstSeen", end: "lastSeen",
	})
	add("sev", strconv.Itoa(cefSeverity(a.Severity)))
	add("threat", id)
	add("title", title)
	add("threats", strings.Join(a.ThreatIDs, ","))
	add("query", a.Query)
	add("flags", strings.Join(a.Flags, ","))
	add("groups", strings.Join(a.Groups, ","))
	return ext.dst
}

// --- syslog ---

// SDID is the structured data element NFR writes: the documentation
// private enterprise number of RFC 5612, as no number is registered.
const SDID = "nfr@32473"

const facilityLocal0 = 16

func (f *Formatter) pri(a *Alert) int {
	fac := f.Facility
	if fac <= 0 || fac > 23 {
		fac = facilityLocal0
	}
	return fac*8 + SyslogSeverity(a.Severity)
}

// appendSyslog writes an RFC 5424 (or 3164) message. msg nil means the
// syslog format itself: the essentials as structured data and the whole
// alert line as the message.
func (f *Formatter) appendSyslog(dst []byte, a *Alert, msg []byte) []byte {
	id, _ := a.Main()
	t := a.Time()
	if t.IsZero() {
		t = time.Now()
	}
	host := printASCII(f.sensor(a), 255)
	if host == "" {
		host = "-"
	}
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(f.pri(a)), 10)
	dst = append(dst, '>')
	if f.RFC3164 {
		// RFC 3164: "Mmm dd hh:mm:ss" local time, HOSTNAME, TAG.
		dst = t.Local().AppendFormat(dst, time.Stamp)
		dst = append(dst, ' ')
		dst = append(dst, host...)
		dst = append(dst, " nfr"...)
		if f.ProcID != "" {
			dst = append(dst, '[')
			dst = append(dst, f.ProcID...)
			dst = append(dst, ']')
		}
		dst = append(dst, ": "...)
		if msg == nil {
			msg = a.Line
		}
		return appendLine(dst, msg)
	}
	dst = append(dst, "1 "...)
	// TIME-SECFRAC has at most 6 digits.
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.999999Z07:00")
	dst = append(dst, ' ')
	dst = append(dst, host...)
	dst = append(dst, " nfr "...)
	if p := printASCII(f.ProcID, 128); p != "" {
		dst = append(dst, p...)
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	if m := printASCII(id, 32); m != "" {
		dst = append(dst, m...)
	} else {
		dst = append(dst, '-')
	}
	dst = append(dst, ' ')
	if msg != nil {
		dst = append(dst, '-', ' ')
		return appendLine(dst, msg)
	}
	dst = append(dst, '[')
	dst = append(dst, SDID...)
	param := func(k, v string) {
		if v == "" {
			return
		}
		dst = append(dst, ' ')
		dst = append(dst, k...)
		dst = append(dst, '=', '"')
		dst = sdValue(dst, v)
		dst = append(dst, '"')
	}
	param("severity", strconv.Itoa(a.Severity))
	param("threat", id)
	param("threats", strings.Join(a.ThreatIDs, ","))
	param("eventType", a.EventType)
	if a.SrcIP.IsValid() {
		param("srcIP", a.SrcIP.String())
		param("srcPort", strconv.Itoa(int(a.SrcPort)))
	}
	if a.DestIP.IsValid() {
		param("destIP", a.DestIP.String())
		param("destPort", strconv.Itoa(int(a.DestPort)))
	}
	param("proto", a.Proto)
	param("subject", a.Subject())
	param("id", a.ID)
	if a.Count > 0 {
		param("count", strconv.FormatInt(a.Count, 10))
	}
	param("sensor", f.sensor(a))
	dst = append(dst, "] "...)
	return appendLine(dst, a.Line)
}

// sdValue escapes an RFC 5424 PARAM-VALUE: '"', '\' and ']'.
func sdValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c == ']' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

// printASCII keeps the PRINTUSASCII (33-126) bytes of s, at most max of
// them, as RFC 5424 header fields require.
func printASCII(s string, max int) string {
	ok := len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] >= 33 && s[i] <= 126
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if s[i] >= 33 && s[i] <= 126 {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// appendLine appends msg with line ends made visible, since a syslog
// message is one line for most receivers.
func appendLine(dst, msg []byte) []byte {
	for _, c := range msg {
		switch c {
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// --- text ---

var colors = [6]string{"", "", "\x1b[36m", "\x1b[33m", "\x1b[31m", "\x1b[1;31m"}

func (f *Formatter) appendText(dst []byte, a *Alert) []byte {
	id, title := a.Main()
	color := ""
	if f.Color {
		color = colors[min(max(a.Severity, 0), 5)]
	}
	dst = append(dst, color...)
	if t := a.Time(); !t.IsZero() {
		dst = t.UTC().AppendFormat(dst, "2006-01-02 15:04:05")
		dst = append(dst, ' ')
	}
	dst = append(dst, "sev "...)
	dst = strconv.AppendInt(dst, int64(a.Severity), 10)
	dst = append(dst, ' ')
	dst = appendPrintable(dst, id)
	if a.SrcIP.IsValid() {
		dst = append(dst, ' ')
		dst = append(dst, a.SrcIP.String()...)
	}
	if s := a.Subject(); s != "" {
		dst = append(dst, " -> "...)
		dst = appendPrintable(dst, s)
	}
	if a.Count > 1 {
		dst = append(dst, " (x"...)
		dst = strconv.AppendInt(dst, a.Count, 10)
		dst = append(dst, ')')
	}
	dst = append(dst, ": "...)
	dst = appendPrintable(dst, title)
	if a.Reason != "" {
		dst = append(dst, " - "...)
		dst = appendPrintable(dst, a.Reason)
	}
	if color != "" {
		dst = append(dst, "\x1b[0m"...)
	}
	return dst
}

// appendPrintable writes s with control characters and invalid UTF-8 as
// \xNN, as the event stream does, so a terminal never sees an escape
// sequence from the network.
func appendPrintable(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError && n == 1 {
			for j := 0; j < n; j++ {
				dst = append(dst, '\\', 'x', hexd[s[i+j]>>4], hexd[s[i+j]&15])
			}
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}

const hexd = "0123456789abcdef"

// --- GELF 1.1 ---

func (f *Formatter) appendGELF(dst []byte, a *Alert) []byte {
	id, title := a.Main()
	host := f.sensor(a)
	if host == "" {
		host = "nfr"
	}
	dst = append(dst, `{"version":"1.1","host":`...)
	dst = event.AppendString(dst, host)
	short := fmt.Sprintf("%s: %s", id, title)
	if s := a.Subject(); s != "" {
		short += " " + s
	}
	dst = append(dst, `,"short_message":`...)
	dst = event.AppendString(dst, short)
	if a.Reason != "" {
		dst = append(dst, `,"full_message":`...)
		dst = event.AppendString(dst, a.Reason)
	}
	if t := a.Time(); !t.IsZero() {
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendFloat(dst, float64(t.UnixMicro())/1e6, 'f', -1, 64)
	}
	dst = append(dst, `,"level":`...)
	dst = strconv.AppendInt(dst, int64(SyslogSeverity(a.Severity)), 10)
	str := func(k, v string) {
		if v == "" {
			return
		}
		dst = append(dst, `,"_`...)
		dst = append(dst, k...)
		dst = append(dst, `":`...)
		dst = event.AppendString(dst, v)
	}
	num := func(k string, v int64) {
		dst = append(dst, `,"_`...)
		dst = append(dst, k...)
		dst = append(dst, `":`...)
		dst = strconv.AppendInt(dst, v, 10)
	}
	num("severity", int64(a.Severity))
	str("threat", id)
	str("threats", strings.Join(a.ThreatIDs, ","))
	str("event_type", a.EventType)
	if a.SrcIP.IsValid() {
		str("src_ip", a.SrcIP.String())
		num("src_port", int64(a.SrcPort))
	}
	if a.DestIP.IsValid() {
		str("dest_ip", a.DestIP.String())
		num("dest_port", int64(a.DestPort))
	}
	str("proto", a.Proto)
	str("query", a.Query)
	str("url", a.URL)
	str("sni", a.SNI)
	str("flags", strings.Join(a.Flags, ","))
	str("groups", strings.Join(a.Groups, ","))
	str("alert_id", a.ID) // "_id" is reserved by GELF
	if a.Count > 0 {
		num("count", a.Count)
	}
	if !a.FirstSeen.IsZero() {
		str("first_seen", a.FirstSeen.UTC().Format(time.RFC3339Nano))
	}
	if !a.LastSeen.IsZero() {
		str("last_seen", a.LastSeen.UTC().Format(time.RFC3339Nano))
	}
	return append(dst, '}')
}
