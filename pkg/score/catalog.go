package score

import "sort"

// ThreatInfo describes one threat of the catalog.
type ThreatInfo struct {
	ID       string
	Title    string
	Severity int  // 1-5
	Policy   bool // a policy violation rather than a threat
}

// Catalog lists every threat nfr-score raises, as documented in
// nfr-score(1). Feeds may name any of these ids.
var Catalog = []ThreatInfo{
	{ThreatC2, "Communication with known C2 or malware infrastructure", 5, false},
	{ThreatMalware, "Access to a known malware distribution URL or domain", 4, false},
	{ThreatDGA, "Algorithmically generated domain names (DGA)", 4, false},
	{ThreatDNSTunnel, "DNS tunnelling", 4, false},
	{ThreatICMPTunnel, "ICMP tunnelling", 4, false},
	{ThreatTor, "Tor network use", 3, true},
	{ThreatMining, "Cryptocurrency mining", 4, false},
	{ThreatVPN, "Third-party VPN, proxy or tunnel service", 2, true},
	{ThreatDoH, "DNS over HTTPS to a public resolver", 2, true},
	{ThreatDoT, "DNS over TLS to a public resolver", 2, true},
	{ThreatOAST, "Out-of-band testing or exfiltration domain (OAST)", 4, false},
	{ThreatPublicAPI, "Bot or C2 use of a public API", 3, false},
	{ThreatScanPort, "Port scan", 3, false},
	{ThreatScanHost, "Host scan (address sweep)", 3, false},
	{ThreatSpam, "Spam bot: SMTP to many mail servers", 4, false},
	{ThreatExfilSSH, "Large SSH upload to an external host", 4, false},
	{ThreatExfilUpload, "Large upload to an external host", 3, false},
	{ThreatCleartext, "Clear-text protocol that carries credentials", 2, true},
	{ThreatIRC, "IRC connection to an external server", 3, false},
	{ThreatBeacon, "Beaconing: periodic connections to one destination", 3, false},
	{ThreatImposter, "Lookalike (imposter) domain of a popular brand", 4, false},
	{ThreatSinkhole, "Traffic to a sinkholed destination (infected host)", 4, false},
	{ThreatStrobe, "Strobe: hundreds of connections or refused attempts to one destination", 3, false},
	{ThreatDirect, "Repeated TLS without a server name to an address never looked up", 3, false},
	{ThreatCloudUpload, "Large upload to well-known cloud storage (backup or copy outside)", 1, true},
	{ThreatLongConn, "Long connection: hours to one external host", 2, false},
	{ThreatSSHPort, "SSH to an external host on a non-standard port", 2, true},
	{ThreatLateral, "Lateral movement: sessions to many internal hosts on admin ports", 3, false},
	{ThreatProbe, "Service probing: handshakes with many ports or hosts", 3, false},
	{ThreatDNSProbe, "DNS server fingerprinting (CHAOS version.bind-style query)", 2, false},
	{ThreatDNSExternal, "DNS straight to an outside resolver or on a non-DNS port", 1, true},
}

// Threat ids, as the catalog lists them; the code names them only so.
const (
	ThreatC2         = "c2"
	ThreatMalware    = "malware"
	ThreatDGA        = "dga"
	ThreatDNSTunnel  = "dns_tunnel"
	ThreatICMPTunnel = "icmp_tunnel"
	ThreatTor        = "tor"
	ThreatMining     = "cryptomining"
	ThreatVPN        = "vpn"
	ThreatDoH        = "doh"
	ThreatDoT        = "dot"
	ThreatOAST       = "oast"
	ThreatPublicAPI  = "c2_public_api"
	ThreatScanPort   = "scan_port"
	ThreatScanHost   = "scan_host"
	ThreatSpam       = "spam"
	ThreatCleartext  = "cleartext"
	ThreatIRC        = "irc"
	ThreatImposter   = "imposter"
	ThreatSinkhole   = "sinkhole"

	ThreatBeacon = "beacon"
	ThreatStrobe = "strobe"
	ThreatDirect = "c2_direct"

	ThreatExfilSSH    = "exfil_ssh"
	ThreatExfilUpload = "exfil_upload"
	ThreatCloudUpload = "cloud_upload"
	ThreatLongConn    = "long_conn"
	ThreatSSHPort     = "ssh_port"
	ThreatLateral     = "lateral"
	ThreatProbe       = "probe"
	ThreatDNSProbe    = "dns_probe"
	ThreatDNSExternal = "dns_external"
)

// Flags are the weaker signals an alert may carry besides its threats.
var Flags = map[string]string{
	"dynamic_dns":     "the domain belongs to a free dynamic-DNS provider",
	"suspicious_tld":  "the domain is under a top-level domain with many abusive registrations",
	"dga_like":        "the name looks generated (letter statistics)",
	"dga_words":       "new domains made of two or three English words, looked up in numbers (dictionary-word DGA)",
	"nxdomain":        "the lookup failed with NXDOMAIN",
	"ip_lookup":       "a public what-is-my-IP service",
	"stratum_port":    "a port that mining pools use for stratum",
	"doh_domain":      "a public DNS-over-HTTPS endpoint name",
	"feed":            "an indicator from a user feed",
	"first_seen":      "no monitored host looked the domain up before (after an hour of history)",
	"rare_ja4":        "a TLS client fingerprint (JA4, else JA3) new to the network in the last hour, or used by one host only",
	"rare_user_agent": "an HTTP user agent new to the network in the last hour, or used by one host only",
}

var catalogByID = func() map[string]*ThreatInfo {
	m := map[string]*ThreatInfo{}
	for i := range Catalog {
		m[Catalog[i].ID] = &Catalog[i]
	}
	return m
}()

// Lookup returns the catalog entry for id.
func Lookup(id string) (ThreatInfo, bool) {
	t, ok := catalogByID[id]
	if !ok {
		return ThreatInfo{}, false
	}
	return *t, true
}

// ThreatIDs returns the catalog ids, sorted.
func ThreatIDs() []string {
	ids := make([]string, 0, len(Catalog))
	for _, t := range Catalog {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}
