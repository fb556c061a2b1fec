package scope

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nfr-project/nfr/pkg/event"
)

// Scope is a compiled scope file. It is read-only once built and safe for
// concurrent use.
type Scope struct {
	groups  []Group // sorted by name; bit i of a groupSet is groups[i]
	nets    nets
	domains domains
	// Groups with at least one trusted domain or trusted IP: lookups are
	// skipped when no covering group has any.
	domainGroups, trustGroups groupSet
	source                    string
	notes                     []string
}

// Group describes one group of a scope.
type Group struct {
	Name           string
	Label          string
	Networks       []netip.Prefix // in_scope and networks
	Excluded       []netip.Prefix // out_scope and exclude.networks
	TrustedDomains []string       // trusted_domains and exclude.domains, normalised ("*.x" for wildcards)
	TrustedIPs     []netip.Prefix
}

func newScope(domains int) *Scope {
	return &Scope{nets: newNets(), domains: newDomains(domains)}
}

// finish drops what was only needed while building.
func (s *Scope) finish() {
	s.nets.v4.intern = nil
	s.nets.v6.intern = nil
}

// Groups returns the scope's groups, sorted by name.
func (s *Scope) Groups() []Group { return s.groups }

// Notes returns warnings about a scope that loaded: entries that have no
// effect.
func (s *Scope) Notes() []string { return s.notes }

// Source returns the file the scope was read from, or "built-in".
func (s *Scope) Source() string { return s.source }

// Summary describes the scope in one line for people.
func (s *Scope) Summary() string {
	var nets, excl, doms, ips int
	names := make([]string, len(s.groups))
	for i, g := range s.groups {
		nets += len(g.Networks)
		excl += len(g.Excluded)
		doms += len(g.TrustedDomains)
		ips += len(g.TrustedIPs)
		names[i] = g.Name
	}
	return fmt.Sprintf("%d groups (%s): %d networks, %d excluded networks, %d trusted domains, %d trusted ips",
		len(s.groups), strings.Join(names, ", "), nets, excl, doms, ips)
}

// Verdict is what the scope decides for one event.
type Verdict uint8

const (
	Keep          Verdict = iota // in scope: written with its groups
	Pass                         // a type nfr-scope does not filter: written untouched
	OutOfScope                   // the source is in no group's networks
	Excluded                     // a covering group excludes the source network
	TrustedDomain                // a covering group trusts the name
	TrustedIP                    // a covering group trusts the destination
	NoSource                     // no source address to judge by
	numVerdicts
)

var verdictNames = [numVerdicts]string{"kept", "passed", "out-of-scope", "excluded", "trusted-domain", "trusted-ip", "no-source"}

func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("verdict(%d)", v)
}

// Kind is the event type as far as the scope cares.
type Kind uint8

const (
	KindOther Kind = iota // not filtered: passed through
	KindDNS               // name is the query
	KindIP
	KindHTTP // name is the host
	KindTLS  // name is the SNI
)

// KindOf maps an event type to its Kind.
func KindOf(typ string) Kind {
	switch typ {
	case event.TypeDNS:
		return KindDNS
	case event.TypeIP, event.TypeSSH:
		return KindIP // ssh is a connection like ip: kept by source
	case event.TypeHTTP:
		return KindHTTP
	case event.TypeTLS:
		return KindTLS
	}
	return KindOther
}

// Match decides an event: the groups covering its source and the verdict.
// name is the dns query, http host or tls sni, normalised (lower case, no
// trailing dot; see normName); src or dst may be invalid when absent.
//
// A group covers an event when the source is inside the group's networks.
// The event is dropped when no group covers it, or when any covering group
// excludes the source network, trusts the name, or (for ip, http and tls,
// whose destination is the peer; a dns event's is the resolver) trusts the
// destination address.
func (s *Scope) Match(k Kind, src, dst netip.Addr, name []byte) (groupSet, Verdict) {
	if k == KindOther {
		return 0, Pass
	}
	if !src.IsValid() {
		return 0, NoSource
	}
	ss := s.nets.lookup(src)
	if ss.in == 0 {
		return 0, OutOfScope
	}
	if ss.in&ss.out != 0 {
		return ss.in, Excluded
	}
	if len(name) > 0 && ss.in&s.domainGroups != 0 {
		if s.domains.match(name)&ss.in != 0 {
			return ss.in, TrustedDomain
		}
	}
	if k != KindDNS && dst.IsValid() && ss.in&s.trustGroups != 0 {
		if s.nets.lookup(dst).trust&ss.in != 0 {
			return ss.in, TrustedIP
		}
	}
	return ss.in, Keep
}

// appendGroups appends the JSON array of the groups in g.
func (s *Scope) appendGroups(b []byte, g groupSet) []byte {
	b = append(b, '[')
	first := true
	for i := range s.groups {
		if g&(1<<i) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = event.AppendString(b, s.groups[i].Name)
	}
	return append(b, ']')
}
