package zeek

import (
	"container/list"
	"time"
)

// Cert is what ssl events take from an x509.log record.
type Cert struct {
	Subject, Issuer     string
	NotBefore, NotAfter time.Time
	Fingerprint         string
}

// MaxCerts is how many certificates Certs holds by default: past it the
// least recently used goes (counted in Evicted), so following an x509.log
// for months costs tens of megabytes, not one entry per certificate ever
// seen. An ssl record normally follows its x509 records within seconds.
const MaxCerts = 65536

// Certs holds x509.log records by file id (Zeek < 6: cert_chain_fuids) and
// by fingerprint (Zeek >= 6: cert_chain_fps), for joining into ssl.log
// records read afterwards; the least recently used go first when it is
// full.
type Certs struct {
	m       map[string]*list.Element
	lru     list.List // of *certEntry, most recently used first
	max     int
	Evicted int64 // certificates let go to stay within the bound
}

type certEntry struct {
	keys [2]string // file id and fingerprint; either may be ""
	cert Cert
}

// NewCerts returns an empty store holding up to MaxCerts certificates.
func NewCerts() *Certs { return NewCertsMax(MaxCerts) }

// NewCertsMax returns an empty store holding up to max certificates.
func NewCertsMax(max int) *Certs {
	return &Certs{m: make(map[string]*list.Element), max: max}
}

// Len returns how many certificates are held.
func (c *Certs) Len() int { return c.lru.Len() }

// get returns the certificate with file id or fingerprint key.
func (c *Certs) get(key string) (Cert, bool) {
	el, ok := c.m[key]
	if !ok {
		return Cert{}, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*certEntry).cert, true
}

func (c *Certs) add(fuid string, cert Cert) {
	ce := &certEntry{keys: [2]string{fuid, cert.Fingerprint}, cert: cert}
	for _, k := range ce.keys {
		if old, ok := c.m[k]; ok && k != "" {
			c.remove(old)
		}
	}
	el := c.lru.PushFront(ce)
	for _, k := range ce.keys {
		if k != "" {
			c.m[k] = el
		}
	}
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back())
		c.Evicted++
	}
}

func (c *Certs) remove(el *list.Element) {
	for _, k := range el.Value.(*certEntry).keys {
		if k != "" && c.m[k] == el {
			delete(c.m, k)
		}
	}
	c.lru.Remove(el)
}

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
	var fuid string
	if r.has[fID] {
		fuid = string(r.val[fID])
	}
	if fuid != "" || c.Fingerprint != "" {
		p.Certs.add(fuid, c)
	}
	return nil
}
