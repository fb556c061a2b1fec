package scope

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nfr-project/nfr/pkg/config"
	yaml "gopkg.in/yaml.v2"
)

// MaxGroups is how many groups a scope may have.
const MaxGroups = 64

// file is scope.yml. Both schemas real users have are accepted, also
// mixed: the original one (networks, exclude: {networks, domains}) and the
// later one (label, in_scope, out_scope, trusted_domains, trusted_ips).
type file struct {
	Groups map[string]*groupItem `yaml:"groups"`
}

type group struct {
	Label          string   `yaml:"label"`
	InScope        []netw   `yaml:"in_scope"`
	OutScope       []netw   `yaml:"out_scope"`
	TrustedDomains []domain `yaml:"trusted_domains"`
	TrustedIPs     []netw   `yaml:"trusted_ips"`
	Networks       []netw   `yaml:"networks"`
	Exclude        struct {
		Networks []netw   `yaml:"networks"`
		Domains  []domain `yaml:"domains"`
	} `yaml:"exclude"`
}

// netw is one network of a list: a CIDR or a single address.
type netw struct{ p netip.Prefix }

func (n *netw) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	p, err := ParsePrefix(s)
	if err != nil {
		return lineError(unmarshal, err)
	}
	n.p = p
	return nil
}

type domain struct{ p pattern }

func (d *domain) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	p, err := parsePattern(s)
	if err != nil {
		return lineError(unmarshal, err)
	}
	d.p = p
	return nil
}

// lineError returns err as a yaml.TypeError naming the line of the node
// being decoded. yaml.v2 tells custom unmarshalers nothing about positions,
// but it names the line in its own type errors, so decoding the node into a
// type it cannot fit recovers it.
func lineError(unmarshal func(any) error, err error) error {
	var probe struct{ lineProbe struct{} }
	perr := unmarshal(&probe)
	if m := yamlLine.FindStringSubmatch(fmt.Sprint(perr)); m != nil {
		return &yaml.TypeError{Errors: []string{"line " + m[1] + ": " + err.Error()}}
	}
	return &yaml.TypeError{Errors: []string{err.Error()}}
}

// line returns the line the node being decoded starts on, or 0.
func line(unmarshal func(any) error) int {
	var probe int
	if m := yamlLine.FindStringSubmatch(fmt.Sprint(unmarshal(&probe))); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var (
	yamlLine = regexp.MustCompile(`line (\d+): (.*)`)
	notFound = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// ParsePrefix parses a CIDR ("10.0.0.0/8", "2001:db8::/32") or a single
// address ("10.1.2.3", "fe80::1", a /32 or /128). Host bits are cleared, as
// net.ParseCIDR and the original NFR did; IPv4-mapped IPv6 prefixes become
// IPv4 prefixes, because event addresses are compared unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
	t := strings.TrimSpace(s)
	var p netip.Prefix
	var err error
	if strings.Contains(t, "/") {
		p, err = netip.ParsePrefix(t)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(t)
		if err == nil {
			if a.Zone() != "" {
				return p, fmt.Errorf("bad network %q: zones are not allowed", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return p, fmt.Errorf("bad network %q: %s (want a CIDR such as 10.0.0.0/8 or an address)", s, msg)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Errors is every problem found in a scope file, in order. Error returns
// the first, which is what most callers print.
type Errors []*config.Error

func (e Errors) Error() string {
	if len(e) == 1 {
		return e[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", e[0].Error(), len(e)-1)
}

func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, x := range e {
		errs[i] = x
	}
	return errs
}

// Load reads and compiles the scope file path.
func Load(path string) (*Scope, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b, path)
}

// Parse compiles scope.yml content; name is used in errors. Errors are of
// type Errors, each naming the file and, where known, the line.
func Parse(b []byte, name string) (*Scope, error) {
	var f file
	var errs Errors
	addYAML := func(msg string) {
		e := &config.Error{File: name, Msg: msg}
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		if m := notFound.FindStringSubmatch(e.Msg); m != nil {
			e.Msg = fmt.Sprintf("unknown key %q", m[1])
		}
		e.Msg = config.Explain(e.Msg)
		errs = append(errs, e)
	}
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			addYAML(strings.TrimPrefix(err.Error(), "yaml: "))
			return nil, errs
		}
		for _, m := range te.Errors {
			addYAML(m)
		}
	}
	if len(f.Groups) == 0 && len(errs) == 0 {
		errs = append(errs, &config.Error{File: name, Line: firstLine(b),
			Msg: "no groups: a scope needs at least one group with networks (see nfr-scope(1))"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return compile(f.Groups, name)
}

func firstLine(b []byte) int {
	for i, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return i + 1
		}
	}
	return 0
}

// groupItem is one group with the line it starts on, for messages.
type groupItem struct {
	group
	line int
}

func (g *groupItem) UnmarshalYAML(unmarshal func(any) error) error {
	g.line = line(unmarshal)
	return unmarshal(&g.group)
}

// compile checks the groups and builds the tries and domain maps. Group bits
// follow the names' sorted order, so "groups" lists them sorted.
func compile(items map[string]*groupItem, name string) (*Scope, error) {
	var errs Errors
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &config.Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	names := make([]string, 0, len(items))
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > MaxGroups {
		fail(0, "%d groups: at most %d are supported", len(names), MaxGroups)
		return nil, errs
	}
	n := 0
	for _, g := range items {
		if g != nil {
			n += len(g.TrustedDomains) + len(g.Exclude.Domains)
		}
	}
	s := newScope(n)
	for i, n := range names {
		g := items[n]
		line := 0
		if g != nil {
			line = g.line
		}
		if err := checkGroupName(n); err != nil {
			fail(line, "%v", err)
			continue
		}
		if g == nil {
			fail(0, "group %q is empty: give it networks (in_scope)", n)
			continue
		}
		bit := groupSet(1) << i
		in := append(g.InScope, g.Networks...)
		if len(in) == 0 {
			fail(line, "group %q has no networks: list its source networks under in_scope (or networks)", n)
			continue
		}
		// A bare "-" decodes to a zero entry without reaching UnmarshalYAML.
		empty := func(what string) { fail(line, "group %q: an empty entry in %s", n, what) }
		sg := Group{Name: n, Label: g.Label}
		for _, l := range []struct {
			what string
			list []netw
			add  sets
			dst  *[]netip.Prefix
		}{
			{"in_scope (networks)", in, sets{in: bit}, &sg.Networks},
			{"out_scope (exclude.networks)", append(g.OutScope, g.Exclude.Networks...), sets{out: bit}, &sg.Excluded},
			{"trusted_ips", g.TrustedIPs, sets{trust: bit}, &sg.TrustedIPs},
		} {
			for _, x := range l.list {
				if !x.p.IsValid() {
					empty(l.what)
					break
				}
				s.nets.insert(x.p, l.add)
				*l.dst = append(*l.dst, x.p)
			}
		}
		if len(g.TrustedIPs) > 0 {
			s.trustGroups |= bit
		}
		for _, d := range append(g.TrustedDomains, g.Exclude.Domains...) {
			if d.p.name == "" {
				empty("trusted_domains (exclude.domains)")
				break
			}
			s.domains.add(d.p, bit)
			sg.TrustedDomains = append(sg.TrustedDomains, d.p.String())
			s.domainGroups |= bit
		}
		s.groups = append(s.groups, sg)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.source = name
	s.finish()
	// Exclusions outside the group's own networks change nothing: say so,
	// as they usually mean a typo or a network moved.
	for i, g := range s.groups {
		for _, p := range g.Excluded {
			if s.nets.lookup(p.Addr()).in&(groupSet(1)<<i) == 0 {
				s.notes = append(s.notes, fmt.Sprintf("%s: group %q: out_scope %s is outside the group's networks, so it excludes nothing", name, g.Name, p))
			}
		}
	}
	return s, nil
}

func checkGroupName(n string) error {
	if strings.TrimSpace(n) == "" {
		return fmt.Errorf("empty group name")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return fmt.Errorf("group name %q: quotes, backslashes and control characters are not allowed", n)
		}
	}
	return nil
}
