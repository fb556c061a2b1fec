package score

import (
	"fmt"
	"strings"
)

// brands are names phishing and imposter domains imitate. A registered
// domain whose main label is exactly the brand (paypal.de, google.co.uk)
// belongs to it; owned lists other labels the brand uses that the rules
// below would otherwise catch.
var brands = []string{
	"google", "facebook", "microsoft", "apple", "amazon", "paypal", "netflix", "instagram",
	"whatsapp", "linkedin", "twitter", "outlook", "office365", "dropbox", "adobe", "docusign",
	"coinbase", "binance", "metamask", "blockchain", "icloud", "gmail", "hotmail", "yahoo",
	"wellsfargo", "bankofamerica", "chase", "citibank", "hsbc", "barclays", "santander",
	"americanexpress", "mastercard", "fedex", "dhl", "usps", "ebay", "alibaba", "walmart",
	"github", "telegram", "discord", "spotify", "steamcommunity", "roblox", "onedrive",
	"sharepoint", "zoom", "skype", "xfinity", "verizon", "kraken", "trezor", "ledger",
}

var owned = map[string]bool{
	"googleapis": true, "googleusercontent": true, "googlevideo": true, "googlesyndication": true,
	"googletagmanager": true, "googleadservices": true, "google-analytics": true, "googlemail": true,
	"googledomains": true, "googlezip": true, "googlehosted": true, "googletagservices": true,
	"microsoftonline": true, "microsoftstore": true, "microsoft365": true, "microsoftazuread-sso": true,
	"microsoftonline-p": true, "microsoftpersonalcontent": true,
	"amazonaws": true, "amazontrust": true, "amazonvideo": true, "amazon-adsystem": true,
	"paypalobjects": true, "paypal-community": true, "netflixdnstest": true, "nflxvideo": true,
	"facebookcorewwwi": true, "instagramstatic": true, "dropboxusercontent": true, "dropboxstatic": true,
	"adobelogin": true, "adobedtm": true, "adobess": true, "githubusercontent": true, "githubassets": true,
	"spotifycdn": true, "yahooapis": true, "yahoodns": true, "zoomgov": true, "skypeassets": true,
	"applecdn": true, "appleid": true, "apple-cloudkit": true, "apple-dns": true, "icloud-content": true,
	"whatsapp-plus": false, "discordapp": true, "telegramdesktop": true, "ledgerwallet": true,
	"dhl-usa": true, "fedexcustomer": true, "ebaystatic": true, "ebayimg": true, "alibabacloud": true,
	"chasecdn": true, "chaseonline": true, "hsbcnet": true, "xboxlive": true,
}

// phishWords are words imposter domains put next to a brand.
var phishWords = []string{"login", "logon", "signin", "secure", "account", "verify", "verification",
	"update", "support", "wallet", "billing", "recovery", "unlock", "confirm", "security",
	"helpdesk", "service", "auth", "password", "payment", "invoice", "refund", "alert", "validate"}

// cdnDomains serve brands' own names as CNAME targets and hostnames
// (www.paypal.com.edgekey.net); they are not imposters.
var cdnDomains = map[string]bool{"edgekey.net": true, "edgesuite.net": true, "akamaiedge.net": true,
	"akamai.net": true, "akadns.net": true, "akamaized.net": true, "cloudfront.net": true,
	"azureedge.net": true, "trafficmanager.net": true, "fastly.net": true, "cloudflare.net": true,
	"azurefd.net": true, "msedge.net": true, "cdn77.org": true, "footprint.net": true}

var (
	homoglyph = strings.NewReplacer("rn", "m", "vv", "w", "0", "o", "1", "l", "3", "e", "4", "a",
		"5", "s", "7", "t", "8", "b", "-", "", "_", "")
	// the same with 1 for i (m1crosoft)
	homoglyphI = strings.NewReplacer("rn", "m", "vv", "w", "0", "o", "1", "i", "3", "e", "4", "a",
		"5", "s", "7", "t", "8", "b", "-", "", "_", "")
)

// imposter checks name (whose registered domain is reg, main label label)
// for the marks of a lookalike of a popular brand.
func (l *lookup) imposter(f *findings, name, reg, label, what string) {
	if cdnDomains[reg] || owned[label] || len(label) < 4 {
		return
	}
	if r := l.nameInfo(reg, label).imposter; r != "" {
		f.add(ThreatImposter, reg, "%s %s %s", what, name, r)
		return
	}
	// A brand's full domain in the subdomain of another registered domain:
	// paypal.com.account-verify.net.
	if sub := strings.TrimSuffix(name, "."+reg); sub != name && strings.Contains(sub, ".com") {
		for _, b := range brands {
			if strings.Contains(sub, b+".com.") || strings.HasSuffix(sub, b+".com") {
				f.add(ThreatImposter, reg, "%s %s puts the brand domain %s.com in front of %s", what, name, b, reg)
				return
			}
		}
	}
}

// imposterReason returns why label (of registered domain reg) imitates a
// brand, or "".
func imposterReason(reg, label string) string {
	if cdnDomains[reg] || owned[label] || len(label) < 4 {
		return ""
	}
	norm := homoglyph.Replace(label)
	normI := norm
	if strings.IndexByte(label, '1') >= 0 {
		normI = homoglyphI.Replace(label)
	}
	for _, b := range brands {
		if label == b {
			return ""
		}
	}
	for _, b := range brands {
		switch {
		case norm == b || normI == b:
			return fmt.Sprintf("imitates %s with lookalike characters (%s)", b, label)
		case strings.HasPrefix(normI, b) && owned[normI] || strings.HasPrefix(norm, b) && owned[norm]:
			return fmt.Sprintf("imitates the %s domain %s with lookalike characters or hyphens", b, normI)
		case doubled(label, b):
			return fmt.Sprintf("repeats a letter of the brand %s", b)
		case len(b) >= 6 && len(label) >= 6 && editDistance1(label, b):
			return fmt.Sprintf("is one character away from the brand %s", b)
		case strings.Contains(norm, b) && hasPhishWord(norm, b):
			return fmt.Sprintf("combines the brand %s with a phishing word", b)
		}
	}
	return ""
}

func hasPhishWord(norm, brand string) bool {
	rest := strings.Replace(norm, brand, " ", 1)
	for _, w := range phishWords {
		if strings.Contains(rest, w) {
			return true
		}
	}
	return false
}

// editDistance1 reports whether a and b differ by exactly one substitution,
// insertion, deletion or adjacent transposition.
func editDistance1(a, b string) bool {
	if a == b {
		return false
	}
	la, lb := len(a), len(b)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && a[i] == b[i] {
		i++
	}
	switch {
	case la == lb:
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la > lb:
		return a[i+1:] == b[i:]
	default:
		return a[i:] == b[i+1:]
	}
}

// nameInfo is what the engine works out once per registered domain.
type nameInfo struct {
	dga      float64
	st       labelStats
	imposter string
}

const maxNameCache = 100000

// nameInfo returns the cached statistics of a registered domain.
func (l *lookup) nameInfo(reg, label string) nameInfo {
	if ni, ok := l.names[reg]; ok {
		return ni
	}
	var ni nameInfo
	ni.dga, ni.st = dgaScore(label)
	ni.imposter = imposterReason(reg, label)
	if len(l.names) >= maxNameCache {
		clear(l.names)
	}
	l.names[reg] = ni
	return ni
}

// doubled reports whether label is brand with one of its letters doubled
// (gooogle, yahooo, appple).
func doubled(label, brand string) bool {
	if len(label) != len(brand)+1 || len(brand) < 4 {
		return false
	}
	for i := 1; i < len(label); i++ {
		if label[i] == label[i-1] && label[:i]+label[i+1:] == brand {
			return true
		}
	}
	return false
}
