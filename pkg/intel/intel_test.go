package intel

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func matches(s *Set, kind, v string) []string {
	var got []string
	add := func(m string, t Tag) { got = append(got, t.Threat+"@"+m) }
	switch kind {
	case "domain":
		s.MatchDomain(v, add)
	case "ip":
		s.MatchIP(netip.MustParseAddr(v), add)
	case "ipport":
		s.MatchAddrPort(netip.MustParseAddrPort(v), add)
	case "url":
		host, path, _ := strings.Cut(v, "/")
		s.MatchURL(host, "/"+path, add)
	case "ja3":
		s.MatchJA3(v, add)
	case "ja4":
		s.MatchJA4(v, add)
	}
	return got
}

func TestFeedFormats(t *testing.T) {
	tests := []struct {
		file    string
		feed    Feed
		added   int
		skipped int
		kind    string
		probe   string
		want    string // first match, "" for none
	}{
		{"feodo.txt", Feed{Format: "feodo", Threat: "c2"}, 2, 0, "ip", "162.243.103.246", "c2@162.243.103.246"},
		{"feodo.csv", Feed{Format: "feodo", Threat: "c2"}, 2, 0, "ip", "185.10.68.4", "c2@185.10.68.4"},
		{"urlhaus.csv", Feed{Format: "urlhaus", Threat: "malware"}, 2, 0, "url", "198.51.100.9:35477/Mozi.m", "malware@198.51.100.9:35477/Mozi.m"},
		{"urlhaus.csv", Feed{Format: "urlhaus", Threat: "malware"}, 2, 0, "url", "evil-cdn.example.net/dl/payload.exe?id=7", "malware@evil-cdn.example.net/dl/payload.exe?id=7"},
		{"threatfox.csv", Feed{Format: "threatfox", Threat: "c2"}, 2, 1, "ip", "203.0.113.45", "c2@203.0.113.45"},
		{"threatfox.csv", Feed{Format: "threatfox", Threat: "c2"}, 2, 1, "domain", "x.login-update-check.example.org", "c2@login-update-check.example.org"},
		{"sslbl-ja3.csv", Feed{Format: "sslbl-ja3", Threat: "c2"}, 2, 0, "ja3", "b386946a5a44d1ddcc843bc75336dfce", "c2@b386946a5a44d1ddcc843bc75336dfce"},
		{"exit-addresses.txt", Feed{Format: "tor-exits", Threat: "tor"}, 2, 0, "ip", "176.10.99.200", "tor@176.10.99.200"},
		{"hosts.txt", Feed{Format: "hosts", Threat: "malware"}, 2, 0, "domain", "malware.example.net", "malware@malware.example.net"},
		{"hosts.txt", Feed{Format: "hosts", Threat: "malware"}, 2, 0, "domain", "localhost", ""},
		{"zeek-intel.dat", Feed{Format: "zeek-intel", Threat: "c2"}, 4, 1, "ip", "192.0.2.63", "c2@192.0.2.0/26"},
		{"zeek-intel.dat", Feed{Format: "zeek-intel", Threat: "c2"}, 4, 1, "ip", "192.0.2.64", ""},
		{"zeek-intel.dat", Feed{Format: "zeek-intel", Threat: "c2"}, 4, 1, "url", "evil.example.com/gate.php", "c2@evil.example.com/gate.php"},
		{"plain.txt", Feed{Format: "plain", Threat: "c2"}, 6, 1, "domain", "a.wild.example.org", "c2@wild.example.org"},
		{"plain.txt", Feed{Format: "plain", Threat: "c2"}, 6, 1, "ip", "2001:db8:bad:1::5", "c2@2001:db8:bad::/48"},
		{"plain.txt", Feed{Format: "plain", Threat: "c2"}, 6, 1, "ip", "::ffff:198.51.100.7", "c2@198.51.100.7"},
		{"plain.txt", Feed{Format: "plain", Threat: "c2"}, 6, 1, "ja4", "t13d1516h2_8daaf6152771_02713d6af862", "c2@t13d1516h2_8daaf6152771_02713d6af862"},
		{"plain.txt", Feed{Format: "plain", Threat: "c2"}, 6, 1, "domain", "example.com", ""},
		{"list.csv", Feed{Format: "csv", Column: 2, Threat: "c2"}, 2, 1, "domain", "csv-listed.example.com", "c2@csv-listed.example.com"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.file, "/", tt.probe), func(t *testing.T) {
			s := NewSet()
			st, err := s.LoadFile(filepath.Join("testdata", tt.file), tt.feed)
			if err != nil {
				t.Fatal(err)
			}
			if st.Added != tt.added || st.Skipped != tt.skipped {
				t.Errorf("added %d skipped %d (%s), want %d and %d", st.Added, st.Skipped, st.First, tt.added, tt.skipped)
			}
			got := matches(s, tt.kind, tt.probe)
			if tt.want == "" {
				if len(got) > 0 {
					t.Errorf("%s matched %v, want nothing", tt.probe, got)
				}
				return
			}
			if len(got) == 0 || got[0] != tt.want {
				t.Errorf("%s matched %v, want %s", tt.probe, got, tt.want)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewSet().Load(strings.NewReader("x.com\n"), Feed{Format: "stix"}); err == nil {
		t.Error("want an error for an unknown format")
	}
	if _, err := NewSet().Load(strings.NewReader("x.com\n"), Feed{Format: "csv"}); err == nil {
		t.Error("want an error for csv without a column")
	}
}

func TestTwoLists(t *testing.T) {
	s := NewSet()
	s.AddDomain("Example.COM.", Tag{"c2", "a"})
	s.AddDomain("example.com", Tag{"c2", "a"})
	s.AddDomain("example.com", Tag{"malware", "b"})
	got := matches(s, "domain", "www.example.com")
	if len(got) != 2 {
		t.Errorf("got %v, want both tags once", got)
	}
	if s.Len() != 1 {
		t.Errorf("Len %d, want 1", s.Len())
	}
}

func TestBuiltin(t *testing.T) {
	s, lists, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) < 10 {
		t.Errorf("%d built-in lists", len(lists))
	}
	for _, l := range lists {
		if l.Threat == "" || l.Source == "" || l.Date == "" || l.Len == 0 {
			t.Errorf("list %s lacks a header or entries: %+v", l.Name, l)
		}
	}
	for _, c := range []struct{ kind, v, want string }{
		{"domain", "xmr-eu1.nanopool.org", "cryptomining@nanopool.org"},
		{"domain", "abc.oast.fun", "oast@oast.fun"},
		{"domain", "api.telegram.org", "c2_public_api@api.telegram.org"},
		{"domain", "myhost.duckdns.org", "dynamic_dns@duckdns.org"},
		{"domain", "something.xyz", "suspicious_tld@xyz"},
		{"ip", "128.31.0.39", "tor@128.31.0.39"},
		{"ip", "199.2.137.10", "sinkhole@199.2.137.0/24"},
		{"ip", "8.8.8.8", "public_resolver@8.8.8.8"},
	} {
		got := matches(s, c.kind, c.v)
		found := false
		for _, g := range got {
			found = found || g == c.want
		}
		if !found {
			t.Errorf("%s: got %v, want %s", c.v, got, c.want)
		}
	}
}

// TestMillion loads a million-indicator feed, as the issue asks; the time
// it takes is measured by BenchmarkLoad, not asserted here.
func TestMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var b bytes.Buffer
	for i := 0; i < 1000000; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "c2-%d.example%d.net\n", i, i%977)
		} else {
			fmt.Fprintf(&b, "10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
		}
	}
	s := NewSet()
	st, err := s.Load(&b, Feed{Format: "plain", Threat: "c2"})
	if err != nil || st.Added != 1000000 {
		t.Fatalf("added %d, err %v", st.Added, err)
	}
	if got := matches(s, "domain", "x.c2-10.example10.net"); len(got) != 1 {
		t.Errorf("got %v", got)
	}
}

func BenchmarkLoad(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&buf, "c2-%d.example.net\n10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		NewSet().Load(bytes.NewReader(data), Feed{Format: "plain", Threat: "c2"})
	}
}

func BenchmarkMatchDomain(b *testing.B) {
	s, _, _ := Builtin()
	b.ReportAllocs()
	for b.Loop() {
		s.MatchDomain("a.b.www.example.co.uk", func(string, Tag) {})
	}
}

func BenchmarkMatchIP(b *testing.B) {
	s, _, _ := Builtin()
	a := netip.MustParseAddr("93.184.216.34")
	b.ReportAllocs()
	for b.Loop() {
		s.MatchIP(a, func(string, Tag) {})
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b, uint8(0))
	}
	f.Add([]byte("ExitAddress 1.2.3.4 x\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, fmtIdx uint8) {
		feed := Feed{Format: Formats[int(fmtIdx)%len(Formats)], Threat: "c2", Column: 2}
		s := NewSet()
		if _, err := s.Load(bytes.NewReader(data), feed); err != nil {
			return
		}
		s.MatchDomain("a.example.com", func(string, Tag) {})
		s.MatchIP(netip.MustParseAddr("10.1.2.3"), func(string, Tag) {})
		s.MatchURL("example.com", "/x", func(string, Tag) {})
	})
}
