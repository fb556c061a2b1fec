package service

import (
	"encoding/hex"
	"strings"
	"testing"
)

type pkt struct {
	orig bool
	data string
}

func h(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The reference agreement is in pkg/capture (Zeek's conn.log) and pkg/flow
// (Suricata's app_proto); these cases pin down the rules the references
// do not reach.
func TestTracker(t *testing.T) {
	clientHello := h("160301002e0100002a0303") + string(make([]byte, 40))
	serverHello := h("160303003d0200003903") + string(make([]byte, 40))
	tests := []struct {
		name string
		tcp  bool
		pkts []pkt
		want string
	}{
		{"http request and reply", true, []pkt{{true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"}, {false, "HTTP/1.1 200 OK\r\n\r\n"}}, "http"},
		{"http request alone confirms", true, []pkt{{true, "POST /a HTTP/1.0\r\n\r\n"}}, "http"},
		{"unknown method", true, []pkt{{true, "QUERY /users HTTP/1.1\r\n"}}, "http"},
		{"http answered by ssh", true, []pkt{{true, "GET / HTTP/1.1\r\n\r\n"}, {false, "SSH-2.0-OpenSSH_9.0\r\n"}}, ""},
		{"http/0.9 reply without status", true, []pkt{{true, "GET /\r\n\r\n"}, {false, "<html>"}}, "http"},
		{"tls on port 80 is ssl", true, []pkt{{true, clientHello}, {false, serverHello}}, "ssl"},
		{"tls answered by http", true, []pkt{{true, clientHello}, {false, "HTTP/1.1 400 Bad Request\r\n"}}, ""},
		{"ssh both ways", true, []pkt{{false, "SSH-2.0-srv\r\n"}, {true, "SSH-2.0-cli\r\n"}}, "ssh"},
		{"ssh one way", true, []pkt{{true, "SSH-2.0-cli\r\n"}}, ""},
		{"ssh after server text", true, []pkt{{false, "hello\r\nSSH-2.0-srv\r\n"}, {true, "SSH-2.0-cli\r\n"}}, "ssh"},
		{"smtp starttls", true, []pkt{{false, "220 mx ESMTP\r\n"}, {true, "EHLO me\r\n"}, {false, "250 ok\r\n"},
			{true, "STARTTLS\r\n"}, {false, "220 go\r\n"}, {true, clientHello}, {false, serverHello}}, "smtp,ssl"},
		{"ftp", true, []pkt{{false, "220 ftp ready\r\n"}, {true, "USER anonymous\r\n"}}, "ftp"},
		{"pop3", true, []pkt{{false, "+OK ready\r\n"}, {true, "USER bob\r\n"}}, "pop3"},
		{"imap", true, []pkt{{false, "* OK IMAP4rev1\r\n"}, {true, "a001 CAPABILITY\r\n"}}, "imap"},
		{"irc", true, []pkt{{true, "NICK bob\r\nUSER bob 0 * :Bob\r\n"}, {false, ":irc.example.net NOTICE * :hi\r\n"}}, "irc"},
		{"socks5", true, []pkt{{true, h("050100")}, {false, h("0500")}}, "socks"},
		{"rdp", true, []pkt{{true, h("0300002b26e00000000000")}, {false, h("030000130ed00000123400")}}, "rdp"},
		{"smb2", true, []pkt{{true, h("00000010fe534d42400000000000")}, {false, h("00000010fe534d42400000000000")}}, "smb"},
		{"mysql", true, []pkt{{false, h("070000000a382e302e3300")}, {true, h("20000001") + string(make([]byte, 32))}}, "mysql"},
		{"postgresql ssl", true, []pkt{{true, h("0000000804d2162f")}, {false, "S"}, {true, clientHello}, {false, serverHello}}, "postgresql,ssl"},
		{"tiny segments", true, []pkt{{true, "G"}, {true, "E"}, {true, "T / HTTP"}, {true, "/1.1\r\n"}}, "http"},
		{"random tcp", true, []pkt{{true, h("8f3a2b1c9d")}, {false, h("00ff13")}}, ""},
		{"dns", false, []pkt{{true, h("abcd01000001000000000000076578616d706c6503636f6d0000010001")}}, "dns"},
		{"not dns: bad class", false, []pkt{{true, h("abcd01000001000000000000076578616d706c6503636f6d0000010009")}}, ""},
		{"ntp", false, []pkt{{true, h("e30004fa") + string(make([]byte, 44))}}, "ntp"},
		{"quic", false, []pkt{{true, h("c00000000108") + string(make([]byte, 1200))}, {false, h("c0000000010800")}}, "quic,ssl"},
		{"sip", false, []pkt{{true, "OPTIONS sip:bob@example.com SIP/2.0\r\n"}}, "sip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Tracker
			for _, p := range tt.pkts {
				if tr.Done() {
					break
				}
				tr.Observe([]byte(p.data), tt.tcp, p.orig)
			}
			if got := tr.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPartialNeedsBothSides(t *testing.T) {
	var tr Tracker
	tr.Partial()
	tr.Observe([]byte("GET / HTTP/1.1\r\n\r\n"), true, true)
	if tr.String() != "" {
		t.Fatalf("a request alone on a joined connection gave %q", tr.String())
	}
	tr.Observe([]byte("HTTP/1.1 200 OK\r\n\r\n"), true, false)
	if tr.String() != "http" {
		t.Fatalf("got %q", tr.String())
	}
}

func FuzzObserve(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\n"), []byte("HTTP/1.1 200 OK\r\n"), true)
	f.Add([]byte(h("abcd01000001000000000000076578616d706c6503636f6d0000010001")), []byte{}, false)
	f.Add([]byte(h("0000000804d2162f")), []byte("S"), true)
	f.Add([]byte(h("6a8201003082")), []byte(h("7e03300100")), false)
	f.Add([]byte(h("300c020101600702010304008000")), []byte(h("300c02010161070a010004000400")), true)
	f.Fuzz(func(t *testing.T, a, b []byte, tcp bool) {
		var tr Tracker
		for i := 0; i < 20 && !tr.Done(); i++ {
			tr.Observe(a, tcp, true)
			tr.Observe(b, tcp, false)
			if len(a) > 1 {
				a = a[1:]
			}
		}
		s := tr.String()
		if len(tr.Services()) > MaxServices || (s == "") != (len(tr.Services()) == 0) {
			t.Fatalf("inconsistent %q %v", s, tr.Services())
		}
	})
}

func BenchmarkObserve(b *testing.B) {
	req := []byte("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: x\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var tr Tracker
		tr.Observe(req, true, true)
		tr.Observe(resp, true, false)
		if tr.String() != "http" {
			b.Fatal(tr.String())
		}
	}
}

// BenchmarkObserveBinary is the other half of a short-connection capture:
// a DNS exchange over UDP and the TLS records of a handshake, which the
// text protocols' matchers turn away.
func BenchmarkObserveBinary(b *testing.B) {
	query := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01")
	answer := append(append([]byte("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"), query[12:]...),
		"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\xc0\x00\x02\x01"...)
	hello := []byte("\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + strings.Repeat("\x00", 58))
	shello := []byte("\x16\x03\x03\x00\x30\x02\x00\x00\x2c\x03\x03" + strings.Repeat("\x00", 42))
	b.ReportAllocs()
	for b.Loop() {
		var dns, tls Tracker
		dns.Observe(query, false, true)
		dns.Observe(answer, false, false)
		tls.Observe(hello, true, true)
		tls.Observe(shello, true, false)
	}
}
