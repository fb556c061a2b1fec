package handshake

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nfr-project/nfr/pkg/event"
)

// Leaf fills certHash, subject, issuer, validFrom and validTo of ev from a
// DER certificate. The hash is always set; the rest needs a certificate
// that parses (crypto/x509 first, a lenient reading of the to-be-signed
// part second). It reports whether the names and dates were read.
func Leaf(der []byte, ev *event.Event) bool {
	sum := sha1.Sum(der)
	ev.CertHash = hex.EncodeToString(sum[:])
	if cert, err := x509.ParseCertificate(der); err == nil {
		// The raw names keep every attribute in order; pkix.Name drops some.
		var subject, issuer pkix.RDNSequence
		if _, err := asn1.Unmarshal(cert.RawSubject, &subject); err == nil {
			ev.Subject = DN(subject)
		}
		if _, err := asn1.Unmarshal(cert.RawIssuer, &issuer); err == nil {
			ev.Issuer = DN(issuer)
		}
		ev.ValidFrom, ev.ValidTo = cert.NotBefore.UTC(), cert.NotAfter.UTC()
		return true
	}
	// crypto/x509 refuses some certificates seen in the wild (negative
	// serial numbers, bad extensions); the names and dates are still there.
	var c struct {
		TBS asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		return false
	}
	var tbs struct {
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    asn1.RawValue
		SigAlg    asn1.RawValue
		Issuer    asn1.RawValue
		Validity  struct{ NotBefore, NotAfter time.Time }
		Subject   asn1.RawValue
		Remainder asn1.RawContent
	}
	if _, err := asn1.Unmarshal(c.TBS.FullBytes, &tbs); err != nil {
		return false
	}
	var subject, issuer pkix.RDNSequence
	if _, err := asn1.Unmarshal(tbs.Subject.FullBytes, &subject); err != nil {
		return false
	}
	if _, err := asn1.Unmarshal(tbs.Issuer.FullBytes, &issuer); err != nil {
		return false
	}
	ev.Subject, ev.Issuer = DN(subject), DN(issuer)
	ev.ValidFrom, ev.ValidTo = tbs.Validity.NotBefore.UTC(), tbs.Validity.NotAfter.UTC()
	return true
}

// Short names of attribute types as OpenSSL prints them.
var attrNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.17":                   "postalCode",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.97":                   "organizationIdentifier",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"1.2.840.113549.1.9.2":       "unstructuredName",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// DN formats a distinguished name as Zeek's x509.log does (OpenSSL's
// RFC 2253 style: the last RDN first, "+" inside a multi-valued RDN,
// special characters escaped with a backslash).
func DN(rdns pkix.RDNSequence) string {
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			name, ok := attrNames[oid]
			if !ok {
				name = oid
			}
			b.WriteString(name)
			b.WriteByte('=')
			escapeValue(&b, atv.Value)
		}
	}
	return b.String()
}

func escapeValue(b *strings.Builder, v any) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size <= 1 || c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, "\\%02X", c)
			i++
			continue
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';',
			c == '#' && i == 0, c == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
		}
		b.WriteString(s[i : i+size])
		i += size
	}
}
