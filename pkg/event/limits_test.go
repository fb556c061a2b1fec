package event

import (
	"strings"
	"testing"
)

func TestCheckLengths(t *testing.T) {
	label := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label, label, label, strings.Repeat("b", 61)}, ".")
	for _, c := range []struct {
		e    Event
		want string // "" for no error
	}{
		{Event{Query: "www.example.com"}, ""},
		{Event{Query: name253}, ""},
		{Event{Query: name253 + "c"}, `field "query": name of 254 bytes, longer than 253`},
		{Event{Query: label + "a.example"}, `field "query": label of 64 bytes`},
		{Event{Query: strings.Repeat("x", 10_000_000)}, `field "query": name of 10000000 bytes`},
		{Event{Host: name253 + ":8080"}, ""},
		{Event{Host: label + "a.example:80"}, `field "host": label of 64`},
		{Event{Host: "[2001:db8::1]:80"}, ""},
		{Event{SNI: label + "a"}, `field "sni"`},
		{Event{URL: "/" + strings.Repeat("a", MaxURL)}, `field "url": 8193 bytes, longer than 8192`},
		{Event{Referrer: strings.Repeat("a", MaxURL+1)}, `field "referrer"`},
		{Event{UserAgent: strings.Repeat("a", MaxUserAgent)}, ""},
		{Event{UserAgent: strings.Repeat("a", MaxUserAgent+1)}, `field "userAgent": 1025 bytes`},
	} {
		err := CheckLengths(&c.e)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%.40q: %v", c.e.Query+c.e.Host+c.e.SNI, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

func BenchmarkCheckLengths(b *testing.B) {
	e := Event{Query: "r3---sn-4g5e6nsz.googlevideo.com", Host: "www.example.com:8080", URL: "/index.html?q=1", UserAgent: "Mozilla/5.0"}
	b.ReportAllocs()
	for b.Loop() {
		if CheckLengths(&e) != nil {
			b.Fatal("rejected")
		}
	}
}
