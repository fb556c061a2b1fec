package scope

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/config"
)

// TestSampleScope loads the sample scope.yml and checks its default group
// is the built-in scope, so the two cannot drift apart.
func TestSampleScope(t *testing.T) {
	s, err := Load(filepath.Join(testenv.Root(t), "scope.yml"))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if !reflect.DeepEqual(s.Groups(), d.Groups()) {
		t.Errorf("scope.yml groups:\n%+v\nbuilt-in:\n%+v", s.Groups(), d.Groups())
	}
}

func TestSchemas(t *testing.T) {
	original := `
groups:
  office:
    networks:
      - 10.0.0.0/8
      - 192.168.1.7
    exclude:
      networks:
        - 10.0.0.53
      domains:
        - "*.Corp.Example."
        - intranet
`
	later := `
groups:
  office:
    label: Office
    in_scope: [10.0.0.0/8, 192.168.1.7/32]
    out_scope: [10.0.0.53/32]
    trusted_domains: ["*.corp.example", "INTRANET."]
    trusted_ips: []
`
	a, err := Parse([]byte(original), "original.yml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(later), "later.yml")
	if err != nil {
		t.Fatal(err)
	}
	ga, gb := a.Groups(), b.Groups()
	gb[0].Label = ""
	gb[0].TrustedIPs = nil
	if !reflect.DeepEqual(ga, gb) {
		t.Errorf("original schema: %+v\nlater schema: %+v", ga, gb)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	if !reflect.DeepEqual(ga[0].Networks, want) {
		t.Errorf("networks = %v, want %v", ga[0].Networks, want)
	}
	if got := ga[0].TrustedDomains; !reflect.DeepEqual(got, []string{"*.corp.example", "intranet"}) {
		t.Errorf("domains = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // file:line: message prefixes, in order
	}{
		{"unknown key", "groups:\n  a:\n    in_scope: [10.0.0.0/8]\n    trusted_domain: [x]\n",
			[]string{`s.yml:4: unknown key "trusted_domain"`}},
		{"unknown top key", "group:\n  a:\n    in_scope: [10.0.0.0/8]\n",
			[]string{`s.yml:1: unknown key "group"`}},
		{"bad cidr", "groups:\n  a:\n    in_scope:\n      - 10.0.0.0/8\n      - 10.0.0.0/33\n",
			[]string{`s.yml:5: bad network "10.0.0.0/33"`}},
		{"bad cidrs in flow lists", "groups:\n  a:\n    in_scope: [10.0.0.0/8]\n    out_scope: [x]\n    trusted_ips: [1.2.3]\n",
			[]string{`s.yml:4: bad network "x"`, `s.yml:5: bad network "1.2.3"`}},
		{"zone", "groups:\n  a:\n    in_scope: [fe80::1%eth0]\n", []string{`s.yml:3: bad network "fe80::1%eth0": zones`}},
		{"bad domain", "groups:\n  a:\n    in_scope: [10.0.0.0/8]\n    exclude:\n      domains: ['a.*.b']\n",
			[]string{`s.yml:5: bad domain "a.*.b"`}},
		{"no networks", "groups:\n  a:\n    label: A\n    trusted_ips: [10.0.0.0/8]\n",
			[]string{`s.yml:3: group "a" has no networks`}},
		{"empty group", "groups:\n  a:\n", []string{`s.yml: group "a" is empty`}},
		{"empty entries", "groups:\n  a:\n    in_scope:\n      -\n    trusted_domains: [~]\n",
			[]string{`s.yml:3: group "a": an empty entry in in_scope`, `s.yml:3: group "a": an empty entry in trusted_domains`}},
		{"no groups", "# nothing\ngroups: {}\n", []string{`s.yml:2: no groups`}},
		{"empty file", "", []string{`s.yml: no groups`}},
		{"not a map", "groups:\n  - a\n", []string{`s.yml:2: cannot unmarshal`}},
		{"list item is a map", "groups:\n  a:\n    in_scope:\n      - {x: 1}\n", []string{`s.yml:4: cannot unmarshal`}},
		{"duplicate key", "groups:\n  a:\n    in_scope: [10.0.0.0/8]\n  a:\n    in_scope: [10.0.0.0/8]\n", []string{`s.yml:5: key "a" already set`}},
		{"syntax", "groups:\n  a: [\n", []string{`s.yml:2: did not find expected node content`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), "s.yml")
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T), want Errors", err, err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %q, want %d", errs, len(tt.want))
			}
			for i, e := range errs {
				var ce *config.Error = e
				if !strings.HasPrefix(ce.Error(), tt.want[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, ce.Error(), tt.want[i])
				}
			}
		})
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8":          "10.0.0.0/8",
		" 10.1.2.3/8 ":        "10.0.0.0/8",
		"192.0.2.1":           "192.0.2.1/32",
		"2001:db8::1":         "2001:db8::1/128",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"::ffff:10.0.0.1":     "10.0.0.1/32",
		"0.0.0.0/0":           "0.0.0.0/0",
	} {
		p, err := ParsePrefix(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
}

func TestTooManyGroups(t *testing.T) {
	var b strings.Builder
	b.WriteString("groups:\n")
	for i := 0; i < MaxGroups+1; i++ {
		b.WriteString("  g" + strings.Repeat("x", i) + ": {in_scope: [10.0.0.0/8]}\n")
	}
	if _, err := Parse([]byte(b.String()), "s.yml"); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("error %v, want at most 64", err)
	}
}

func TestNotes(t *testing.T) {
	s, err := Parse([]byte("groups:\n  a:\n    in_scope: [10.0.0.0/8]\n    out_scope: [10.0.0.53, 192.168.1.1]\n"), "s.yml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`s.yml: group "a": out_scope 192.168.1.1/32 is outside the group's networks, so it excludes nothing`}
	if !reflect.DeepEqual(s.Notes(), want) {
		t.Errorf("notes = %q, want %q", s.Notes(), want)
	}
	if n := Default().Notes(); len(n) != 0 {
		t.Errorf("built-in scope notes: %q", n)
	}
}
