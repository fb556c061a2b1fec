package zeek

import (
	"time"
)

// Cert is what ssl events take from an x509.log record.
type Cert struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
	Fingerprint         string
}

// Certs holds x509.log records by file id (Zeek < 6: cert_chain_fuids) and
// by fingerprint (Zeek >= 6: cert_chain_fps), for joining into ssl.log
// records read afterwards.
type Certs struct {
	m map[string]Cert
}

// NewCerts returns an empty store.
func NewCerts() *Certs { return &Certs{m: make(map[string]Cert)} }

// Len returns how many certificates are held.
func (c *Certs) Len() int { return len(c.m) }

func (p *Parser) addCert(r *record) error {
	if p.Certs == nil {
		return nil
	}
	c := Cert{Subject: r.str(fCertSubject), Issuer: r.str(fCertIssuer), Fingerprint: r.str(fFingerprint)}
	var err error
	if r.has[fNotBefore] {
		if c.NotBefore, err = parseTime(r.val[fNotBefore]); err != nil {
			return err
		}
	}
	if r.has[fNotAfter] {
		if c.NotAfter, err = parseTime(r.val[fNotAfter]); err != nil {
			return err
		}
	}
	if r.has[fID] {
		p.Certs.m[string(r.val[fID])] = c
	}
	if c.Fingerprint != "" {
		p.Certs.m[c.Fingerprint] = c
	}
	return nil
}
