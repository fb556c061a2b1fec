package traffic

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/nfr-project/nfr/pkg/event"
)

// Variant is one point of a behaviour's variant space (pace, jitter,
// sizes, spread over addresses, proxies, transport), or a benign chore,
// for `make eval`. The variants are written from the ranges the issue
// names (jitter up to 50 %, intervals 10 s to 1 h, sizes varying by half,
// rates down to one a minute, many addresses, proxies, UDP), not from
// nfr-score's thresholds; Claimed says whether nfr-score's documentation
// claims to cover it (an unclaimed variant shows what is not covered).
type Variant struct {
	Behaviour string
	Name      string
	Threat    string // the threat id that must be raised; "" for a chore (no non-policy alert)
	Claimed   bool
	Run       func(g *Gen, host netip.Addr, t time.Time) time.Time
}

// jittered returns d varied uniformly by up to frac either way.
func (g *Gen) jittered(d time.Duration, frac float64) time.Duration {
	return d + time.Duration((g.Rand.Float64()*2-1)*frac*float64(d))
}

// sized returns n varied uniformly by up to frac either way.
func (g *Gen) sized(n int, frac float64) int {
	return n + int((g.Rand.Float64()*2-1)*frac*float64(n))
}

// every calls f n times, d apart with jitter frac, and returns the end.
func (g *Gen) every(t time.Time, n int, d time.Duration, frac float64, f func(t time.Time)) time.Time {
	for i := 0; i < n; i++ {
		f(t)
		t = t.Add(g.jittered(d, frac))
	}
	return t
}

// Connect writes a CONNECT through a web proxy to name:443 and its http
// and ip events.
func (g *Gen) Connect(ts time.Time, src, proxy netip.Addr, proxyPort uint16, name string, out int) time.Time {
	req := fmt.Sprintf("CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\nUser-Agent: %s\r\n\r\n", name, name, ua)
	start := len(g.events)
	end := g.TCP(ts, Conn{Src: src, Dst: proxy, Port: proxyPort, Out: append([]byte(req), make([]byte, out)...),
		In: append([]byte("HTTP/1.1 200 Connection established\r\n\r\n"), make([]byte, 3000)...)})
	ip := g.events[start]
	g.events = append(g.events, event.Event{Type: event.TypeHTTP, V: 1, TS: ts, SrcIP: src, SrcPort: ip.SrcPort, DestIP: proxy, DestPort: proxyPort,
		Proto: "tcp", Host: name, URL: name + ":443", Method: "CONNECT", Status: 200, UserAgent: ua})
	return end
}

var (
	c2Addr   = addr("203.0.113.80")
	proxy    = addr("10.0.0.8")
	dictWord = []string{"river", "candle", "market", "silver", "garden", "window", "thunder", "pocket", "castle", "forest",
		"yellow", "bottle", "planet", "winter", "copper", "shadow", "butter", "marble", "violet", "harbor"}
)

// twoWordSites are real, popular sites whose names join two English
// words: the look-alikes of a dictionary-word DGA that must stay silent.
var twoWordSites = []string{"facebook.com", "youtube.com", "dropbox.com", "salesforce.com", "mailchimp.com", "wordpress.com",
	"stackoverflow.com", "firefox.com", "godaddy.com", "bestbuy.com", "homedepot.com", "tripadvisor.com", "foxnews.com",
	"theguardian.com", "glassdoor.com", "squarespace.com", "hubspot.com", "sharepoint.com", "soundcloud.com", "bandcamp.com",
	"minecraft.net", "playstation.com", "autodesk.com", "trustpilot.com", "surveymonkey.com", "nextdoor.com", "photobucket.com",
	"stackexchange.com", "serverfault.com", "superuser.com", "snapchat.com", "doubleclick.net", "cloudflare.com",
	"bitbucket.org", "paypal.com", "livejournal.com", "onedrive.com", "hotmail.com", "bluehost.com", "mathoverflow.net"}

// Variants lists the threat variants make eval plays, each alone.
var Variants = []Variant{
	{"beacon", "TLS every 10 s, no jitter", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 40, 10*time.Second, 0, func(t time.Time) { g.TLS(t, h, c2Addr, 443, "sync.example-c2.net", 600, 900) })
	}},
	{"beacon", "TLS every 60 s, 50 % jitter, sizes ±50 %", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 40, time.Minute, 0.5, func(t time.Time) { g.TLS(t, h, c2Addr, 443, "sync.example-c2.net", g.sized(600, 0.5), 900) })
	}},
	{"beacon", "plain TCP every 1 h, 20 % jitter, 14 h", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 14, time.Hour, 0.2, func(t time.Time) {
			g.TCP(t, Conn{Src: h, Dst: c2Addr, Port: 8443, OutSize: 700, In: make([]byte, 300)})
		})
	}},
	{"beacon", "UDP every 30 s, 10 % jitter", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 40, 30*time.Second, 0.1, func(t time.Time) { g.UDP(t, h, c2Addr, 5151, 120, 80) })
	}},
	{"beacon", "proxy CONNECT every 5 min, 20 % jitter", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 30, 5*time.Minute, 0.2, func(t time.Time) { g.Connect(t, h, proxy, 3128, "www.example-c2.net", 500) })
	}},
	{"beacon", "TLS every 2 min over 8 CDN addresses", "beacon", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		i := 0
		return g.every(t, 30, 2*time.Minute, 0.1, func(t time.Time) {
			i++
			g.TLS(t, h, addr(fmt.Sprintf("198.51.100.%d", 20+i%8)), 443, "edge.example-c2.net", 600, 900)
		})
	}},
	{"dns_tunnel", "TXT lookups every 20-60 s for 90 min", "dns_tunnel", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		end := t.Add(90 * time.Minute)
		for t.Before(end) {
			g.DNS(t, h, g.randLabel(30, base32)+".t.example-tunnel.net", layers.DNSTypeTXT, layers.DNSResponseCodeNoErr)
			t = t.Add(time.Duration(20+g.Rand.Intn(41)) * time.Second)
		}
		return t
	}},
	{"dga", "random names with digits, one per 3 min, NXDOMAIN", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 20, 3*time.Minute, 0.3, func(t time.Time) {
			g.DNS(t, h, g.randLabel(5, lower)+fmt.Sprint(g.Rand.Intn(10))+g.randLabel(4, lower)+".com", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		})
	}},
	{"dga", "dictionary words (two English words + .com), one a minute, NXDOMAIN", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 30, time.Minute, 0.3, func(t time.Time) {
			g.DNS(t, h, dictWord[g.Rand.Intn(len(dictWord))]+dictWord[g.Rand.Intn(len(dictWord))]+".com", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		})
	}},
	{"dga", "dictionary words (two English words + .com), one a minute, resolving", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 30, time.Minute, 0.3, func(t time.Time) {
			g.DNS(t, h, dictWord[g.Rand.Intn(len(dictWord))]+dictWord[g.Rand.Intn(len(dictWord))]+".com", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "203.0.113.90")
		})
	}},
	{"dga", "dictionary words (three words + .net), one per 5 min, 80 % NXDOMAIN, the rest parked", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 24, 5*time.Minute, 0.5, func(t time.Time) {
			name := dictWord[g.Rand.Intn(len(dictWord))] + dictWord[g.Rand.Intn(len(dictWord))] + dictWord[g.Rand.Intn(len(dictWord))] + ".net"
			if g.Rand.Intn(5) == 0 {
				g.DNS(t, h, name, layers.DNSTypeA, layers.DNSResponseCodeNoErr, "203.0.113.91")
			} else {
				g.DNS(t, h, name, layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
			}
		})
	}},
	{"dga", "dictionary words (two words + .ru), one per 15 min for 8 h, NXDOMAIN", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 32, 15*time.Minute, 0.3, func(t time.Time) {
			g.DNS(t, h, dictWord[g.Rand.Intn(len(dictWord))]+dictWord[g.Rand.Intn(len(dictWord))]+".ru", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		})
	}},
	{"scan", "20 ports of one host, one every 3 min", "scan_port", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		p := 0
		return g.every(t, 20, 3*time.Minute, 0.2, func(t time.Time) {
			p++
			g.TCP(t, Conn{Src: h, Dst: addr("198.51.100.9"), Port: uint16(1000 + 37*p), NoAnswer: true})
		})
	}},
	{"scan", "tcp/445 of 40 hosts over an hour", "scan_host", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		i := 0
		return g.every(t, 40, 90*time.Second, 0.2, func(t time.Time) {
			i++
			g.TCP(t, Conn{Src: h, Dst: addr(fmt.Sprintf("198.51.100.%d", 100+i)), Port: 445, Refused: i%2 == 0, NoAnswer: i%2 == 1})
		})
	}},
	{"exfil", "500 MB in 25 MB chunks over 23 h to 20 addresses of one domain", "exfil_upload", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 20; i++ {
			a := fmt.Sprintf("203.0.113.%d", 100+i)
			g.DNS(t, h, fmt.Sprintf("u%d.files.example-drop.com", i), layers.DNSTypeA, layers.DNSResponseCodeNoErr, a)
			g.TCP(t.Add(time.Second), Conn{Src: h, Dst: addr(a), Port: 443, OutSize: 25 << 20, In: make([]byte, 40<<10)})
			t = t.Add(70 * time.Minute)
		}
		return t
	}},
	{"exfil", "10 MB over SSH (tcp/22)", "exfil_ssh", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.30"), Port: 22, Out: sshPayload(10<<20, "SSH-2.0-OpenSSH_9.6\r\n"),
			In: sshPayload(30<<10, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), Service: "ssh"})
	}},
	{"exfil", "10 MB over SSH on tcp/465", "exfil_ssh", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.31"), Port: 465, Out: sshPayload(10<<20, "SSH-2.0-OpenSSH_9.6\r\n"),
			In: sshPayload(30<<10, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), Service: "ssh"})
	}},
	{"strobe", "300 refused attempts, one every 2 s", "strobe", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 300, 2*time.Second, 0.3, func(t time.Time) { g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.40"), Port: 5888, Refused: true}) })
	}},
	{"tor", "bootstrap: unanswered SYNs to 5 fallback mirrors", "tor", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for _, a := range []string{"95.217.112.243", "185.220.101.28", "51.91.73.194", "109.70.100.17", "94.142.241.194"} {
			t = g.TCP(t, Conn{Src: h, Dst: addr(a), Port: 443, NoAnswer: true}).Add(time.Second)
		}
		return t
	}},
	{"c2_direct", "TLS without SNI to a bare address on 8080, every 3-5 min", "c2_direct", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		for i := 0; i < 12; i++ {
			g.DNS(t, h, fmt.Sprintf("www.site%d.example.com", i), layers.DNSTypeA, layers.DNSResponseCodeNoErr, "93.184.216.34")
		}
		return g.every(t.Add(time.Minute), 12, 4*time.Minute, 0.25, func(t time.Time) { g.TLS(t, h, addr("203.0.113.50"), 8080, "", 1400, 1200) })
	}},
	{"lateral", "SMB sessions with 12 internal hosts over 40 min", "lateral", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		i := 0
		return g.every(t, 12, 200*time.Second, 0.2, func(t time.Time) {
			i++
			g.TCP(t, Conn{Src: h, Dst: addr(fmt.Sprintf("10.0.3.%d", 10+i)), Port: 445, OutSize: 3000, In: make([]byte, 3000)})
		})
	}},
	{"probe", "TLS handshakes with 12 ports of one internal host", "probe", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		p := 0
		return g.every(t, 12, 20*time.Second, 0.2, func(t time.Time) {
			p++
			g.TLS(t, h, addr("10.0.3.5"), uint16(8440+p), "", 300, 300)
		})
	}},
	{"long_conn", "one 2-hour session", "long_conn", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("203.0.113.60"), Port: 8443, OutSize: 200 << 10, In: make([]byte, 200<<10), Dur: 2 * time.Hour})
	}},
	{"dns_probe", "CHAOS version.bind", "dns_probe", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "version.bind", layers.DNSTypeTXT, layers.DNSResponseCodeNoErr)
		return t.Add(time.Second)
	}},
	// Slow behaviour and window edges (issue 10): paces from the slow end
	// of what implants and careful scanners do, and bursts that straddle
	// the hour.
	{"dns_tunnel", "A lookups of 30-character base32 names every 2-5 min for 12 h", "dns_tunnel", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.trickle(t, h, 12*time.Hour, 2*time.Minute, 5*time.Minute, "s.example-trickle.net")
	}},
	{"dns_tunnel", "A lookups of 30-character base32 names every 5-15 min for 24 h", "dns_tunnel", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.trickle(t, h, 24*time.Hour, 5*time.Minute, 15*time.Minute, "s.example-drip.net")
	}},
	{"dga", "random letters (no digits), one every 10-20 min for 24 h, NXDOMAIN", "dga", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		end := t.Add(24 * time.Hour)
		for t.Before(end) {
			g.DNS(t, h, g.randLabel(8+g.Rand.Intn(6), lower)+".net", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
			t = t.Add(time.Duration(600+g.Rand.Intn(601)) * time.Second)
		}
		return t
	}},
	{"scan", "20 ports of one host in 10 min, straddling the hour after a first failed connection", "scan_port", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.TCP(t, Conn{Src: h, Dst: addr("198.51.100.77"), Port: 8443, NoAnswer: true})
		t = t.Add(55 * time.Minute)
		p := 0
		return g.every(t, 20, 30*time.Second, 0.2, func(t time.Time) {
			p++
			g.TCP(t, Conn{Src: h, Dst: addr("198.51.100.9"), Port: uint16(2000 + 53*p), NoAnswer: true})
		})
	}},
	{"scan", "tcp/22 of a /24, one host every 5 min ± 50 %", "scan_host", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		i := 0
		return g.every(t, 254, 5*time.Minute, 0.5, func(t time.Time) {
			i++
			g.TCP(t, Conn{Src: h, Dst: addr(fmt.Sprintf("203.0.113.%d", i)), Port: 22, NoAnswer: true})
		})
	}},
	{"exfil", "two 30 MB uploads to one host 10 min apart, straddling the hour after a first small one", "exfil_upload", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		dst := addr("198.51.100.88")
		g.TCP(t, Conn{Src: h, Dst: dst, Port: 443, OutSize: 200 << 10, In: make([]byte, 20<<10)})
		g.TCP(t.Add(55*time.Minute), Conn{Src: h, Dst: dst, Port: 443, OutSize: 30 << 20, In: make([]byte, 100<<10)})
		return g.TCP(t.Add(65*time.Minute), Conn{Src: h, Dst: dst, Port: 443, OutSize: 30 << 20, In: make([]byte, 100<<10)})
	}},
	{"scan", "100 ports of one host, one every 10 min", "scan_port", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		p := 0
		return g.every(t, 100, 10*time.Minute, 0.2, func(t time.Time) {
			p++
			g.TCP(t, Conn{Src: h, Dst: addr("198.51.100.10"), Port: uint16(100 + 11*p), Refused: true})
		})
	}},
	{"strobe", "300 refused attempts in 10 min, straddling the hour after two first ones", "strobe", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		c := Conn{Src: h, Dst: addr("203.0.113.41"), Port: 5888, Refused: true}
		g.TCP(t, c)
		g.TCP(t.Add(time.Second), c)
		return g.every(t.Add(55*time.Minute), 300, 2*time.Second, 0.3, func(t time.Time) { g.TCP(t, c) })
	}},
	{"icmp_tunnel", "two runs of 3 large echoes 40 s apart, straddling 5 min after a first one", "icmp_tunnel", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		dst := addr("203.0.113.165")
		g.ICMPEcho(t, h, dst, 1, 1000, time.Second)
		g.ICMPEcho(t.Add(4*time.Minute+40*time.Second), h, dst, 3, 1000+g.Rand.Intn(400), time.Second)
		g.ICMPEcho(t.Add(5*time.Minute+20*time.Second), h, dst, 3, 1000+g.Rand.Intn(400), time.Second)
		return t.Add(6 * time.Minute)
	}},
	{"spam", "SMTP sessions with 6 mail servers over 5 min, straddling the hour after a first one", "spam", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		smtp := func(t time.Time, a string) time.Time {
			return g.TCP(t, Conn{Src: h, Dst: addr(a), Port: 25, Out: []byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\n"), In: []byte("220 mx ESMTP\r\n250 ok\r\n")})
		}
		smtp(t, "198.51.100.180")
		i := 0
		return g.every(t.Add(58*time.Minute), 5, time.Minute, 0.3, func(t time.Time) {
			i++
			smtp(t, fmt.Sprintf("198.51.100.%d", 180+i))
		})
	}},
}

// Chores lists benign periodic and bulk jobs that must raise no threat
// (policy alerts, such as a backup to cloud storage, are allowed).
var Chores = []Variant{
	{"chore", "monitoring agent posting to an internal collector every 15 s", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 240, 15*time.Second, 0.02, func(t time.Time) {
			g.HTTP(t, h, addr("10.0.0.50"), 8086, "metrics.corp.example", "/write?db=telegraf", ua, 204, 0)
		})
	}},
	{"chore", "hourly Windows Update check", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 14, time.Hour, 0.05, func(t time.Time) {
			g.lookupAndTLS(t, h, "fe2.update.microsoft.com", "20.72.235.82", 443)
		})
	}},
	{"chore", "antivirus update poll every 5 min", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 40, 5*time.Minute, 0.01, func(t time.Time) {
			g.HTTP(t, h, addr("91.228.167.21"), 80, "update.eset.com", "/v1/update.ver", ua, 200, 2000)
		})
	}},
	{"chore", "nightly 800 MB backup to S3", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "corp-backups.s3.amazonaws.com", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "52.216.8.10")
		return g.TCP(t.Add(time.Second), Conn{Src: h, Dst: addr("52.216.8.10"), Port: 443, OutSize: 800 << 20, In: make([]byte, 2<<20)})
	}},
	{"chore", "rsync over SSH to the internal backup server", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.TCP(t, Conn{Src: h, Dst: addr("10.0.0.60"), Port: 22, OutSize: 300 << 20, In: make([]byte, 1<<20)})
	}},
	{"chore", "git push over SSH to github.com", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		g.DNS(t, h, "github.com", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "140.82.121.4")
		return g.TCP(t.Add(time.Second), Conn{Src: h, Dst: addr("140.82.121.4"), Port: 22, OutSize: 3 << 20, In: make([]byte, 200<<10)})
	}},
	{"chore", "Windows telemetry names under nsatc.net", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 60, 20*time.Second, 0.3, func(t time.Time) {
			g.DNS(t, h, g.randLabel(24, alnum)+".vortex-win.data.microsoft.com.nsatc.net", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "13.69.109.130")
		})
	}},
	{"chore", "rackcdn hash names", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 60, 10*time.Second, 0.3, func(t time.Time) {
			g.DNS(t, h, g.randLabel(20, alnum)+"-"+g.randLabel(32, alnum)+".ssl.cf1.rackcdn.com", layers.DNSTypeA, layers.DNSResponseCodeNoErr, "23.40.60.11")
		})
	}},
	{"chore", "mail server DNSBL lookups (Spamhaus)", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 120, 5*time.Second, 0.5, func(t time.Time) {
			ip := fmt.Sprintf("%d.%d.%d.%d", g.Rand.Intn(223)+1, g.Rand.Intn(256), g.Rand.Intn(256), g.Rand.Intn(256))
			g.DNS(t, h, ip+".zen.spamhaus.org", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
		})
	}},
	{"chore", "NTP every 64 s", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		return g.every(t, 60, 64*time.Second, 0, func(t time.Time) { g.UDP(t, h, addr("162.159.200.1"), 123, 48, 48) })
	}},
	{"chore", "a user browsing 40 popular two-word sites in an hour (facebook, dropbox, ...)", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		i := 0
		return g.every(t, len(twoWordSites), 90*time.Second, 0.5, func(t time.Time) {
			g.lookupAndTLS(t, h, "www."+twoWordSites[i], fmt.Sprintf("198.18.%d.%d", i/200, 10+i%200), 443)
			i++
		})
	}},
	{"chore", "a host's day of lookups: 2000 over 24 h, 2 % NXDOMAIN (typos, search-domain suffixes)", "", true, func(g *Gen, h netip.Addr, t time.Time) time.Time {
		end := t.Add(24 * time.Hour)
		for t.Before(end) {
			switch r := g.Rand.Intn(100); {
			case r == 0:
				g.DNS(t, h, dayTypos[g.Rand.Intn(len(dayTypos))], layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
			case r == 1:
				g.DNS(t, h, dayNames[g.Rand.Intn(len(dayNames))]+".corp.example.com", layers.DNSTypeA, layers.DNSResponseCodeNXDomain)
			default:
				g.DNS(t, h, dayNames[g.Rand.Intn(len(dayNames))], layers.DNSTypeA, layers.DNSResponseCodeNoErr, "203.0.113.80")
			}
			t = t.Add(g.jittered(43*time.Second, 0.5))
		}
		return t
	}},
}

// trickle is a slow DNS tunnel: for d, A lookups of random 30-character
// names under domain, from lo to hi apart (uniform).
func (g *Gen) trickle(t time.Time, h netip.Addr, d, lo, hi time.Duration, domain string) time.Time {
	end := t.Add(d)
	for t.Before(end) {
		g.DNS(t, h, g.randLabel(30, base32)+"."+domain, layers.DNSTypeA, layers.DNSResponseCodeNoErr, "198.51.100.53")
		t = t.Add(lo + time.Duration(g.Rand.Int63n(int64(hi-lo)+1)))
	}
	return t
}

// dayNames and dayTypos make a host's ordinary day of lookups.
var (
	dayNames = []string{"www.wikipedia.org", "en.wikipedia.org", "news.ycombinator.com", "docs.python.org", "pypi.org",
		"www.debian.org", "deb.debian.org", "stackoverflow.com", "cdn.jsdelivr.net", "fonts.gstatic.com", "www.bbc.co.uk",
		"www.mozilla.org", "addons.mozilla.org", "www.kernel.org", "go.dev", "proxy.golang.org", "www.nytimes.com",
		"www.theguardian.com", "weather.com", "www.openstreetmap.org", "tile.openstreetmap.org", "www.ietf.org"}
	dayTypos = []string{"stackoverfow.com", "wikipeda.org", "pyhton.org", "debain.org", "mozila.org", "kernal.org",
		"openstreetmpa.org", "thegaurdian.com", "nytiems.com", "jsdeliver.net"}
)

// sshPayload is n bytes of one side of an SSH session: its version banner,
// then (encrypted) filler.
func sshPayload(n int, banner string) []byte {
	b := make([]byte, n)
	copy(b, banner)
	return b
}
