package traffic

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/nfr-project/nfr/pkg/event"
)

// Scenario is one behaviour the generator can play.
type Scenario struct {
	Name   string
	Threat string // threat id nfr-score must raise ("" for benign traffic)
	Desc   string
	Run    func(g *Gen, host netip.Addr, t time.Time) time.Time // returns the end time
}

// C2Domain and C2Addr are what the c2 scenario talks to; tests list them in
// a feed.
const (
	C2Domain = "update.cdn-telemetry-sync.net"
	C2Addr   = "198.51.100.66"
)

const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func (g *Gen) randLabel(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.Rand.Intn(len(alphabet))]
	}
	return string(b)
}

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	alnum  = "abcdefghijklmnopqrstuvwxyz0123456789"
	base32 = "abcdefghijklmnopqrstuvwxyz234567"
)

// lookupAndTLS resolves name to a and opens a TLS connection naming it.
func (g *Gen) lookupAndTLS(t time.Time, host netip.Addr, name, a string, port uint16) time.Time {
	g.DNS(t, host, name, layers.DNSTypeA, layers.DNSResponseCodeNoErr, a)
	return g.TLS(t.Add(50*time.Millisecond), host, addr(a), port, name, 400+g.Rand.Intn(600), 1500+g.Rand.Intn(3000))
}

// spam looks up the mail exchangers of 8 providers and connects to each on
// tcp/25; blocked makes the connections go unanswered.
func (g *Gen) spam(h netip.Addr, t time.Time, mxPrefix string, firstAddr int, blocked bool) time.Time {
	for i, d := range []string{"gmail.com", "yahoo.com", "outlook.com", "gmx.net", "mail.ru", "aol.com", "web.de", "orange.fr"} {
		mx := mxPrefix + d
		a := fmt.Sprintf("198.51.100.%d", firstAddr+i)
		g.DNS(t, h, d, layers.DNSTypeMX, layers.DNSResponseCodeNoErr, mx)
		g.DNS(t.Add(20*time.Millisecond), h, mx, layers.DNSTypeA, layers.DNSResponseCodeNoErr, a)
		c := Conn{Src: h, Dst: addr(a), Port: 25, NoAnswer: blocked}
		if !blocked {
			c.Out, c.In = []byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\n"), []byte("220 mx ESMTP\r\n250 ok\r\n")
		}
		t = g.TCP(t.Add(100*time.Millisecond), c)
	}
	return t
}

// Scenarios lists every behaviour, benign traffic first.
var Scenarios = []Scenario{
	{"benign", "", "ordinary browsing: lookups, HTTPS and HTTP to popular sites", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		sites := []struct{ name, a string }{
			{"www.google.com", "142.250.74.36"}, {"github.com", "140.82.121.4"}, {"www.wikipedia.org", "185.15.59.224"},
			{"news.ycombinator.com", "209.216.230.207"}, {"www.debian.org", "130.89.148.77"}, {"go.dev", "216.239.32.21"},
			{"fonts.gstatic.com", "142.250.74.99"}, {"www.bbc.co.uk", "151.101.0.81"}, {"stackoverflow.com", "104.18.32.7"},
			{"cdn.jsdelivr.net", "151.101.1.229"}, {"login.microsoftonline.com", "20.190.160.20"}, {"www.paypal.com", "151.101.65.21"},
		}
		for i := 0; i < 2; i++ {
			for _, s := range sites {
				t = g.lookupAndTLS(t.Add(time.Duration(g.Rand.Intn(4000))*time.Millisecond), h, s.name, s.a, 443)
			}
		}
		g.DNS(t, h, "deb.debian.org", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "151.101.2.132")
		t = g.HTTP(t.Add(time.Second), h, addr("151.101.2.132"), 80, "deb.debian.org", "/debian/dists/bookworm/InRelease", "Debian APT-HTTP/1.3 (2.6.1)", 200, 5000)
		g.DNS(t, h, "wpad.corp.example", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		g.DNS(t, h, "time.cloudflare.com", layers.DNSTypeAAAA, layers.DNSResponseCodeNoErr, "2606:4700:f1::1")
		return t
	}},
	{"c2", "c2", "lookup of a listed C2 domain and HTTPS to a listed C2 address", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 3; i++ {
			t = g.lookupAndTLS(t.Add(30*time.Second), h, C2Domain, C2Addr, 443)
		}
		return t
	}},
	{"dga", "dga", "15 lookups of random 7-10 character names with a digit (as flightsim's dga module)", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		tlds := []string{".com", ".net", ".biz", ".top", ".info", ".xyz", ".space"}
		n := 7 + g.Rand.Intn(4)
		for i := 0; i < 15; i++ {
			l := []byte(g.randLabel(n, lower))
			l[g.Rand.Intn(n)] = byte('0' + g.Rand.Intn(10))
			t = t.Add(time.Second)
			g.DNS(t, h, string(l)+tlds[g.Rand.Intn(3)], layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		}
		return t
	}},
	{"dns-tunnel", "dns_tunnel", "TXT lookups of 30-character random labels under one domain, 5 a second", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 100; i++ {
			t = t.Add(200 * time.Millisecond)
			g.DNS(t, h, g.randLabel(30, base32)+".t.sandbox-tunnel.xyz", layers.DNSTypeTXT, layers.DNSResponseCodeNoErr, g.randLabel(40, alnum))
		}
		return t
	}},
	{"icmp-tunnel", "icmp_tunnel", "80 ICMP echo requests with 1400-byte random payloads to one host", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.ICMPEcho(t, h, addr("203.0.113.164"), 80, 1419, 250*time.Millisecond)
		return t.Add(20 * time.Second)
	}},
	{"tor", "tor", "directory fetch from a Tor authority, then a relay on its ORPort", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		t = g.TCP(t, Conn{Src: h, Dst: addr("128.31.0.39"), Port: 9131, Out: []byte("GET /tor/status-vote/current/consensus HTTP/1.0\r\n\r\n"), In: make([]byte, 30000)})
		return g.TLS(t.Add(time.Second), h, addr("198.51.100.91"), 9001, "www.k2xq7rfyzm4t.com", 600, 5000)
	}},
	{"miner", "cryptomining", "pool lookup and a stratum login on tcp/3333", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "pool.supportxmr.com", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "198.51.100.33")
		sub := []byte(`{"jsonrpc": "2.0", "id": 1, "method": "mining.subscribe", "params": []}` + "\n")
		return g.TCP(t.Add(100*time.Millisecond), Conn{Src: h, Dst: addr("198.51.100.33"), Port: 3333, Out: sub, In: []byte(`{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"080c",4],"error":null}` + "\n")})
	}},
	{"vpn", "vpn", "a commercial VPN client's API lookup and TLS", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.lookupAndTLS(t, h, "api.nordvpn.com", "198.51.100.120", 443)
	}},
	{"doh", "doh", "DNS over HTTPS to dns.google", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "dns.google", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "8.8.8.8", "8.8.4.4")
		return g.TLS(t.Add(50*time.Millisecond), h, addr("8.8.8.8"), 443, "dns.google", 300, 500)
	}},
	{"dot", "dot", "DNS over TLS to 1.1.1.1:853", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TLS(t, h, addr("1.1.1.1"), 853, "one.one.one.one", 300, 500)
	}},
	{"oast", "oast", "lookups of random 33-character names under an interactsh domain", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 10; i++ {
			t = t.Add(300 * time.Millisecond)
			g.DNS(t, h, g.randLabel(33, alnum)+".oast.fun", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "178.128.16.97")
		}
		return t
	}},
	{"telegram-bot", "c2_public_api", "Telegram bot API over HTTPS", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.lookupAndTLS(t, h, "api.telegram.org", "149.154.167.220", 443)
	}},
	{"scan", "scan_port", "SYNs to 21 common ports of 5 RFC 5737 hosts, none answered", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		ports := []uint16{21, 22, 23, 25, 80, 88, 111, 135, 139, 143, 389, 443, 445, 1433, 1521, 3306, 3389, 5432, 5900, 6000, 8443}
		for i := 0; i < 5; i++ {
			dst := addr(fmt.Sprintf("192.0.2.%d", 10+g.Rand.Intn(200)))
			for _, p := range ports {
				t = t.Add(200 * time.Millisecond)
				g.TCP(t, Conn{Src: h, Dst: dst, Port: p, NoAnswer: true})
			}
		}
		return t
	}},
	{"sweep", "scan_host", "SYNs to tcp/445 of 40 hosts, refused or unanswered", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 40; i++ {
			t = t.Add(100 * time.Millisecond)
			g.TCP(t, Conn{Src: h, Dst: addr(fmt.Sprintf("203.0.113.%d", 10+i)), Port: 445, NoAnswer: i%2 == 0, Refused: i%2 == 1})
		}
		return t
	}},
	{"spambot", "spam", "MX lookups and SMTP sessions to 8 mail providers", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.spam(h, t, "mx1.", 140, false)
	}},
	{"spambot-blocked", "spam", "MX lookups and SMTP attempts to 8 mail providers, tcp/25 blocked upstream", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.spam(h, t, "mx2.", 160, true)
	}},
	{"miner-unlisted", "cryptomining", "stratum to a pool not on the built-in list, named like one", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "eu.eth-pool.example-hash.org", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "198.51.100.34")
		sub := []byte(`{"id":1,"method":"mining.subscribe","params":["lolMiner/1.76"]}` + "\n")
		return g.TCP(t.Add(100*time.Millisecond), Conn{Src: h, Dst: addr("198.51.100.34"), Port: 4444, Out: sub, In: []byte(`{"id":1,"result":true,"error":null}` + "\n")})
	}},
	{"miner-ip", "cryptomining", "stratum login to a pool address with no lookup before (tcp/14444)", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		sub := []byte(`{"jsonrpc": "2.0", "id": 1, "method": "mining.subscribe", "params": []}` + "\n")
		return g.TCP(t, Conn{Src: h, Dst: addr("198.51.100.35"), Port: 14444, Out: sub, In: []byte(`{"id":1,"result":[[["mining.notify","1"]],"08",4],"error":null}` + "\n")})
	}},
	{"tor-relay", "tor", "a Tor client's TLS to a guard on tcp/443 with a random unresolved SNI", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TLS(t, h, addr("198.51.100.92"), 443, "www.y4pbqmzk2fwu7.net", 700, 4000)
	}},
	{"ssh-transfer", "exfil_ssh", "a 60 MB upload over SSH (tcp/22) to an external host", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.22"), Port: 22, OutSize: 60 << 20, In: []byte("SSH-2.0-OpenSSH_9.2p1\r\n"), Dur: 90 * time.Second})
	}},
	{"ssh-exfil", "exfil_upload", "a 60 MB upload to tcp/443 with almost nothing received", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.23"), Port: 443, OutSize: 60 << 20, In: []byte("SSH-2.0-OpenSSH_9.2p1\r\n"), Dur: 90 * time.Second})
	}},
	{"cleartext", "cleartext", "sessions on FTP, Telnet, POP3, IMAP and rsync ports carrying data", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for _, p := range []uint16{21, 23, 110, 143, 873} {
			data := make([]byte, 1000)
			g.Rand.Read(data)
			t = g.TCP(t.Add(time.Second), Conn{Src: h, Dst: addr("198.51.100.200"), Port: p, Out: data, In: []byte("220 ready\r\n")})
		}
		return t
	}},
	{"beacon", "beacon", "20 HTTPS connections to one host every 60 s, 2% jitter, constant size", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 20; i++ {
			jit := time.Duration(g.Rand.Intn(2400)-1200) * time.Millisecond
			g.TCP(t.Add(time.Duration(i)*time.Minute+jit), Conn{Src: h, Dst: addr("203.0.113.80"), Port: 8443, Out: make([]byte, 517), In: make([]byte, 1460)})
		}
		return t.Add(20 * time.Minute)
	}},
	{"imposter", "imposter", "lookups of lookalike brand domains", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for _, d := range []string{"paypal-secure-login.com", "micros0ft.com", "www.g00gle-accounts.net", "arnazon.com", "appleid.apple.com.verify-account.info", "m1crosoft-online.com", "yahooo.com", "login.faceboook.net"} {
			t = t.Add(2 * time.Second)
			g.DNS(t, h, d, layers.DNSTypeA, layers.DNSResponseCodeNoErr, "198.51.100.77")
		}
		return t
	}},
	{"sink", "sinkhole", "a lookup answered with a sinkhole address and a connection to it", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "qhdkwmsnbxk.ru", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "148.81.111.111")
		return g.TCP(t.Add(50*time.Millisecond), Conn{Src: h, Dst: addr("148.81.111.111"), Port: 80, Out: []byte("GET / HTTP/1.1\r\nHost: qhdkwmsnbxk.ru\r\n\r\n"), In: []byte("HTTP/1.1 200 OK\r\n\r\n")})
	}},
	{"irc", "irc", "an IRC session on tcp/6667", func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "irc.libera.chat", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "198.51.100.210")
		return g.TCP(t.Add(50*time.Millisecond), Conn{Src: h, Dst: addr("198.51.100.210"), Port: 6667, Out: []byte("NICK bot1234\r\nUSER bot 0 * :bot\r\nJOIN #cmd\r\n"), In: []byte(":server 001 bot1234 :Welcome\r\n")})
	}},
}

// Demo lists the scenarios of testdata/demo.pcap: benign browsing mixed
// with behaviours that show in a capture of a few hundred kilobytes.
var Demo = []string{"benign", "dga", "dns-tunnel", "miner", "telegram-bot", "doh", "scan", "imposter", "cleartext", "beacon", "oast"}

// Find returns the scenario called name.
func Find(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Names lists the scenario names.
func Names() string {
	var n []string
	for _, s := range Scenarios {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

// Start is the time every generated capture starts at.
var Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// Play runs the scenarios, each from its own internal host (10.0.1.10,
// 10.0.1.11, ...), one after the other with a minute between them.
func (g *Gen) Play(ss []Scenario) {
	t := Start
	for i, s := range ss {
		host := addr(fmt.Sprintf("10.0.1.%d", 10+i))
		end := s.Run(g, host, t)
		t = end.Add(time.Minute)
	}
}

// Mixed makes n events of a busy, ordinary network (no packets), from
// time t on, and passes each to emit (which must not keep it): 500 hosts
// looking up 50,000 names of 5 suffixes and talking to 50,000 addresses
// over DNS, TLS, HTTP and plain flows. Benchmarks feed it to nfr-score.
func (g *Gen) Mixed(n int, t time.Time, emit func(*event.Event)) {
	words := []string{"mail", "www", "api", "cdn", "static", "img", "login", "app", "news", "shop", "docs", "video"}
	tlds := []string{"com", "net", "org", "co.uk", "de"}
	resolver := Resolver
	for i := 0; i < n; i++ {
		t = t.Add(time.Duration(g.Rand.Intn(2000)) * time.Microsecond)
		src := netip.AddrFrom4([4]byte{10, 0, byte(g.Rand.Intn(2)), byte(g.Rand.Intn(250))})
		d := g.Rand.Intn(50000)
		name := fmt.Sprintf("%s.site%d.%s", words[d%len(words)], d, tlds[d%len(tlds)])
		dst := netip.AddrFrom4([4]byte{93, byte(d >> 16), byte(d >> 8), byte(d)})
		e := event.Event{V: 1, TS: t, SrcIP: src, SrcPort: uint16(40000 + g.Rand.Intn(20000))}
		switch k := g.Rand.Intn(10); {
		case k < 5:
			e.Type, e.DestIP, e.DestPort, e.Proto = event.TypeDNS, resolver, 53, "udp"
			e.Query, e.QType, e.RCode = name, "A", "NOERROR"
			e.Answers, e.TTLs = []string{dst.String()}, []uint32{300}
		case k < 8:
			e.Type, e.DestIP, e.DestPort, e.Proto = event.TypeIP, dst, 443, "tcp"
			e.BytesOut, e.BytesIn, e.PktsOut, e.PktsIn, e.ConnState = int64(500+g.Rand.Intn(2000)), int64(g.Rand.Intn(100000)), 10, 12, "SF"
			e.Duration = float64(g.Rand.Intn(5000)) / 1000
		case k < 9:
			e.Type, e.DestIP, e.DestPort, e.Proto = event.TypeTLS, dst, 443, "tcp"
			e.SNI, e.TLSVersion, e.JA3 = name, "TLSv13", "771c93a02bc2b9be2c7a1d8d2f4a0f7e"
		default:
			e.Type, e.DestIP, e.DestPort, e.Proto = event.TypeHTTP, dst, 80, "tcp"
			e.Host, e.URL, e.Method, e.Status, e.UserAgent = name, "/index.html", "GET", 200, ua
		}
		emit(&e)
	}
}
