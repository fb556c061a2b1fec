package event

import (
	"net/netip"
	"time"
)

// Event types. The set is closed; see nfr-event(5).
const (
	TypeDNS   = "dns"
	TypeIP    = "ip"
	TypeHTTP  = "http"
	TypeTLS   = "tls"
	TypeSSH   = "ssh"
	TypeAlert = "alert"
)

// Version is the stream format version written in "v".
const Version = 1

// Event is one record of the stream. Fields that do not apply to its type
// stay at their zero value and are not written.
type Event struct {
	Type string
	V    int
	TS   time.Time

	SrcIP    netip.Addr
	SrcPort  uint16
	DestIP   netip.Addr
	DestPort uint16
	Proto    string // udp, tcp, icmp, icmp6, or the IP protocol number

	// Pivots back to the sensors: the Community ID v1 flow hash, Zeek's
	// connection uid and Suricata's flow_id.
	CommunityID string
	UID         string
	FlowID      uint64

	// dns
	Query   string   // lower case, no trailing dot
	QType   string   // mnemonic as Zeek's qtype_name; TYPEnnn when unknown
	RCode   string   // mnemonic, empty when no response was seen
	Answers []string // answer-section rdata as text
	TTLs    []uint32 // one per answer

	// ip (flows); Out is what the originator sent.
	BytesIn   int64
	BytesOut  int64
	PktsIn    int64
	PktsOut   int64
	Duration  float64 // seconds
	ConnState string  // Zeek conn_state (S0, SF, REJ, ...)
	History   string  // Zeek-style history of TCP flags seen
	Service   string  // Zeek's service names by content, comma-separated
	// Tunnel is the kind (vxlan, geneve, teredo, gre) on the outer flow of a
	// tunnel; TunnelParent the outer connection's Community ID on a flow
	// that came out of one.
	Tunnel       string
	TunnelParent string
	ICMPType     *uint8
	ICMPCode     *uint8

	// http
	Host        string
	URL         string
	Method      string
	Status      int
	UserAgent   string
	Referrer    string
	ContentType string
	ReqLen      int64 // request body bytes
	RespLen     int64 // response body bytes

	// tls
	SNI        string
	TLSVersion string // written as "version": TLSv10, TLSv11, TLSv12, TLSv13, SSLv3, ...
	ALPN       []string
	JA3        string // MD5
	JA3S       string // MD5
	JA3Raw     string // the string JA3 hashes
	JA3SRaw    string
	JA4        string
	CertHash   string // SHA1 of the leaf certificate, hex
	Issuer     string
	Subject    string
	ValidFrom  time.Time
	ValidTo    time.Time

	// ssh; the bytes, packets and duration are the ip fields
	ClientVersion         string // identification strings, SSH-2.0-...
	ServerVersion         string
	HASSH                 string // MD5 of HASSHAlgorithms
	HASSHAlgorithms       string // the client KEXINIT's kex;enc;mac;comp lists
	HASSHServer           string
	HASSHServerAlgorithms string
	AuthSuccess           *bool // absent when undecided
	AuthAttempts          int

	// alert (nfr-score, nfr-submit)
	EventType string
	Severity  int
	Threats   map[string]Threat
	Flags     []string
	Reason    string
	// incident (nfr-score): a stable id shared by the first alert and
	// its updates, the findings folded into it, when, and up to ten of
	// their subjects.
	ID        string
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
	Examples  []string

	Groups []string // added by nfr-scope
	Source string   // interface or file the event came from

	// spare keeps the storage of the slices across Reset, so decoding into
	// a reused Event allocates little, while a field absent from the next
	// line stays nil (absent on the wire, unlike an empty list).
	spare struct {
		answers, alpn, flags, groups []string
		ttls                         []uint32
	}
}

// Threat describes one threat an alert carries.
type Threat struct {
	Title    string `json:"title"`
	Severity int    `json:"severity"`
	Policy   bool   `json:"policy"`
}

// Reset clears e for reuse: every field is zero (slices nil), and the
// slices' storage is kept for the decoder to fill again.
func (e *Event) Reset() {
	sp := e.spare
	sp.answers, sp.alpn = larger(e.Answers, sp.answers), larger(e.ALPN, sp.alpn)
	sp.flags, sp.groups = larger(e.Flags, sp.flags), larger(e.Groups, sp.groups)
	sp.ttls = larger(e.TTLs, sp.ttls)
	*e = Event{}
	e.spare = sp
}

// larger returns the one of two slices with more capacity, emptied.
func larger[T any](a, b []T) []T {
	if cap(a) >= cap(b) {
		return a[:0]
	}
	return b[:0]
}
