package zeek

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nfr-project/nfr/pkg/event"
)

// Log kinds this package turns into events, as Zeek names them in #path.
const (
	KindDNS  = "dns"
	KindConn = "conn"
	KindHTTP = "http"
	KindSSL  = "ssl"
	KindX509 = "x509"
	KindSSH  = "ssh"
)

// Kinds lists the kinds accepted by Parser.Type.
var Kinds = []string{KindDNS, KindConn, KindHTTP, KindSSL, KindX509, KindSSH}

// KindFromName guesses the log kind from a file name: dns.log,
// dns.2026-01-02-03-00-00.log.gz, conn_json.log and ssl1_2.log all count.
// It returns "" when the name says nothing.
func KindFromName(name string) string {
	base := filepath.Base(name)
	for _, k := range Kinds {
		if strings.HasPrefix(base, k) {
			if len(base) == len(k) {
				return k
			}
			c := base[len(k)]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return k
			}
		}
	}
	return ""
}

// Stats counts what a Parser saw.
type Stats struct {
	Records int64            // data records (TSV rows and JSON objects)
	Events  int64            // events emitted
	Ignored map[string]int64 // records of kinds without an event, by kind
}

// A Parser reads one log stream line by line. It is not safe for concurrent
// use; give every file its own Parser (they may share Certs).
type Parser struct {
	// Name is the file name, used to guess the kind when the log names none,
	// and written as the events' source ("" or "-" for stdin: no source).
	Name string
	// Type, when set, overrides the kind the log declares.
	Type string
	// Certs collects x509.log records and completes ssl.log records; nil
	// means no join.
	Certs *Certs

	Stats Stats

	nameKind string
	source   string

	lastPath, lastKind string // the kind of the last #path or _path seen

	// The current TSV header block.
	sep, setSep, empty, unset []byte
	path                      string
	cols                      []int // column -> field id, -1 when unused
	hasFields                 bool
	header                    []byte // raw header lines of the block, for Context
	inData                    bool

	strs map[string]string // interned column values
	ans  []string          // answer buffers reused between events
	ttls []uint32
	rec  record
	ev   event.Event
	js   jsonState
}

// NewParser returns a Parser for the file name (used for the kind and as the
// events' source); typ, when not empty, forces the kind.
func NewParser(name, typ string, certs *Certs) *Parser {
	p := &Parser{Name: name, Type: typ, Certs: certs}
	p.nameKind = KindFromName(name)
	if name != "" && name != "-" {
		p.source = name
	}
	p.resetHeader()
	return p
}

func (p *Parser) resetHeader() {
	p.sep = []byte{'\t'}
	p.setSep = []byte{','}
	p.empty = []byte("(empty)")
	p.unset = []byte("-")
	p.path = ""
	p.cols = p.cols[:0]
	p.hasFields = false
	p.header = p.header[:0]
	p.inData = false
}

// Context returns the header lines of the current TSV block. A reader that
// resumes in the middle of a file feeds them to a fresh Parser first, so rows
// read later are mapped by the header they belong to.
func (p *Parser) Context() []byte { return p.header }

// Flush emits nothing: Zeek records are complete on their own. It exists so
// Parser satisfies the same contract as the eve parser.
func (p *Parser) Flush(emit func(*event.Event) error) error { return nil }

// ErrNoHeader is returned for TSV rows that come before any #fields line.
var ErrNoHeader = errors.New("no #fields header before this row (headerless TSV cannot be mapped)")

// Line handles one line (without its line ending): a header line, a TSV row
// or a JSON object. It calls emit for an event the line completes. An error
// means the line was malformed and skipped; it names no file or line, which
// the caller adds.
func (p *Parser) Line(line []byte, emit func(*event.Event) error) error {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 {
		return nil
	}
	if line[0] == '#' {
		p.headerLine(line)
		return nil
	}
	if line[0] == '{' && (!p.hasFields || bytes.Index(line, p.sep) < 0) {
		return p.jsonLine(line, emit)
	}
	if !p.hasFields {
		return ErrNoHeader
	}
	p.inData = true
	return p.tsvLine(line, emit)
}

func (p *Parser) headerLine(line []byte) {
	if bytes.HasPrefix(line, []byte("#separator ")) {
		p.resetHeader()
		p.sep = unescapeHex(line[len("#separator "):])
		if len(p.sep) == 0 {
			p.sep = []byte{'\t'}
		}
		p.addHeader(line)
		return
	}
	if p.inData {
		// A header without #separator after rows: a new block that keeps
		// the separators (as when a writer restarts with the same options).
		if !bytes.HasPrefix(line, []byte("#close")) {
			p.header = p.header[:0]
			p.inData = false
		}
	}
	name, value, ok := bytes.Cut(line[1:], p.sep)
	if !ok {
		return // a comment such as "### BTest baseline", or #close/#open without value
	}
	switch string(name) {
	case "set_separator":
		p.setSep = append([]byte(nil), value...)
	case "empty_field":
		p.empty = append([]byte(nil), value...)
	case "unset_field":
		p.unset = append([]byte(nil), value...)
	case "path":
		p.path = string(value)
	case "fields":
		p.cols = p.cols[:0]
		for len(value) > 0 {
			var f []byte
			f, value, _ = cut(value, p.sep)
			p.cols = append(p.cols, fieldID(string(f)))
		}
		p.hasFields = true
	case "close":
		return
	}
	p.addHeader(line)
}

func (p *Parser) addHeader(line []byte) {
	if len(p.header) < 64<<10 {
		p.header = append(p.header, line...)
		p.header = append(p.header, '\n')
	}
}

// kind is the kind records are read as now. A path such as dns-internal
// or conn_local (a Log::add_filter variant of a stream) counts as its
// stream; a path of another stream is returned as is, to be ignored.
func (p *Parser) kind(path string) string {
	switch {
	case p.Type != "":
		return p.Type
	case path != "":
		if path == p.lastPath {
			return p.lastKind
		}
		k := KindFromName(path)
		if k == "" {
			k = path
		}
		p.lastPath, p.lastKind = path, k
		return k
	}
	return p.nameKind
}

func (p *Parser) tsvLine(line []byte, emit func(*event.Event) error) error {
	kind := p.kind(p.path)
	want := wanted(kind)
	r := &p.rec
	r.reset()
	// One pass over the line: only the columns we map are kept, and no
	// slice of all fields is built.
	n, rest := 0, line
	for {
		f, more := rest, false
		if len(p.sep) == 1 {
			if j := bytes.IndexByte(rest, p.sep[0]); j >= 0 {
				f, rest, more = rest[:j], rest[j+1:], true
			}
		} else if j := bytes.Index(rest, p.sep); j >= 0 {
			f, rest, more = rest[:j], rest[j+len(p.sep):], true
		}
		if want && n < len(p.cols) {
			if id := p.cols[n]; id >= 0 {
				p.value(r, id, f)
			}
		}
		n++
		if !more {
			break
		}
	}
	if n != len(p.cols) {
		return fmt.Errorf("%d fields where the #fields header has %d", n, len(p.cols))
	}
	p.Stats.Records++
	if !want {
		p.ignore(kind)
		return nil
	}
	return p.build(kind, r, emit)
}

// value stores one TSV column: unset is absent, (empty) an empty value or
// list, and list columns are split at the set separator.
func (p *Parser) value(r *record, id int, v []byte) {
	if len(v) == len(p.unset) && string(v) == string(p.unset) {
		return
	}
	if !isList(id) {
		if len(v) == len(p.empty) && string(v) == string(p.empty) {
			v = v[:0]
		}
		r.set(id, v)
		return
	}
	r.set(id, nil)
	l := r.list[id][:0]
	if !bytes.Equal(v, p.empty) {
		for len(v) > 0 {
			var el []byte
			el, v, _ = cut(v, p.setSep)
			l = append(l, el)
		}
		if len(l) == 0 { // a one-element list holding ""
			l = append(l, nil)
		}
	}
	r.list[id] = l
}

func (p *Parser) ignore(kind string) {
	if p.Stats.Ignored == nil {
		p.Stats.Ignored = make(map[string]int64)
	}
	switch {
	case kind == "":
		kind = "unknown"
	case !knownLogs[kind]:
		// Counted by name only for Zeek's own logs: a key per name read
		// would let the input grow the counters without bound.
		kind = "other"
	}
	p.Stats.Ignored[kind]++
}

// knownLogs are the paths of the logs Zeek and its common packages write,
// counted by name when ignored; any other path is counted as "other".
var knownLogs = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`analyzer broker capture_loss cluster config conn conn-summary dce_rpc
		dhcp dnp3 dns dpd files ftp http intel irc kerberos known_certs known_hosts known_modbus
		known_services loaded_scripts modbus mqtt_connect mqtt_publish mqtt_subscribe mysql netcontrol
		notice notice_alarm ntlm ntp ocsp openflow packet_filter pe print quic radius rdp reporter
		rfb signatures sip smb_cmd smb_files smb_mapping smtp snmp socks software ssh ssl stats
		syslog telemetry traceroute tunnel unified2 weird weird_stats websocket x509 ja3 ja4 ja4ssh
		ldap ldap_search postgresql redis`) {
		knownLogs[k] = true
	}
}

func wanted(kind string) bool {
	switch kind {
	case KindDNS, KindConn, KindHTTP, KindSSL, KindX509, KindSSH:
		return true
	}
	return false
}

// splitFields splits line at every sep, appending the pieces to dst.
func splitFields(dst [][]byte, line, sep []byte) [][]byte {
	if len(sep) == 1 {
		c := sep[0]
		for {
			i := bytes.IndexByte(line, c)
			if i < 0 {
				return append(dst, line)
			}
			dst = append(dst, line[:i])
			line = line[i+1:]
		}
	}
	for {
		i := bytes.Index(line, sep)
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+len(sep):]
	}
}

func cut(s, sep []byte) (before, after []byte, found bool) {
	if len(sep) == 1 {
		if i := bytes.IndexByte(s, sep[0]); i >= 0 {
			return s[:i], s[i+1:], true
		}
		return s, nil, false
	}
	return bytes.Cut(s, sep)
}

// unescapeHex decodes the \xNN escapes of a #separator value.
func unescapeHex(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]) {
			out = append(out, unhex(s[i+2])<<4|unhex(s[i+3]))
			i += 3
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
