package http1

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/nfr-project/nfr/internal/pcaptest"
	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

func runCase(t *testing.T, dir string) ([]*event.Event, Stats) {
	var out []*event.Event
	a := New(Config{}, func(e *event.Event) { c := *e; out = append(out, &c) }) // e is reused
	for _, p := range pcaptest.Captures(t, dir) {
		ps := pcaptest.Packets(t, p)
		for i := range ps {
			a.HandlePacket(&ps[i])
		}
	}
	a.Close()
	return out, a.Stats()
}

func zeekField(r pcaptest.Record, k string) string {
	v := r[k]
	if v == "-" || v == "(empty)" {
		return ""
	}
	return v
}

// want renders a Zeek http.log record as the fields we compare.
func want(r pcaptest.Record) string {
	status, _ := strconv.Atoi(zeekField(r, "status_code"))
	host := zeekField(r, "host")
	var url string
	if r["uri"] != "-" || r["method"] != "-" {
		server := netip.AddrPortFrom(netip.MustParseAddr(r["id.resp_h"]), uint16(atoi(r["id.resp_p"])))
		url = string(appendURL(nil, host, []byte(zeekField(r, "uri")), server, r["method"] == "CONNECT"))
	}
	return fmt.Sprintf("%s %s %s ua=%q ref=%q status=%d req=%s resp=%s", zeekField(r, "method"), host, url,
		zeekField(r, "user_agent"), zeekField(r, "referrer"), status, orZero(r["request_body_len"]), orZero(r["response_body_len"]))
}

func got(e *event.Event) string {
	return fmt.Sprintf("%s %s %s ua=%q ref=%q status=%d req=%d resp=%d", e.Method, e.Host, e.URL,
		e.UserAgent, e.Referrer, e.Status, e.ReqLen, e.RespLen)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func orZero(s string) string {
	if s == "" || s == "-" {
		return "0"
	}
	return s
}

// knownDiff lists the http.log cases we do not match in full, and why.
var knownDiff = map[string]string{
	"tunnel-gre-over-udp": "GRE over UDP: the inner connection needs pkg/decode's tunnel support",
	"service-http-on-port-22": "a body ended by the connection's close: the server sent 12649 bytes, 19 of them the header, " +
		"so the body is 12630 bytes as we count it; Zeek's response_body_len says 12632",
}

// useLegacy lists cases compared with the Zeek 3.3 baseline instead of the
// Zeek 9 one, and why.
var useLegacy = map[string]string{
	"http-methods": "a request line without a version but followed by headers (GET /HTTP/1.1) is parsed with its head, as Zeek 3.3 did, " +
		"so the response keeps its status; Zeek 9 takes it for HTTP/0.9 and counts the whole response as body",
}

// respLenDiff lists cases whose response bodies are compressed: Zeek's
// response_body_len counts the bytes after gzip/deflate decompression (and
// gives up on x-gzip midway), we count the body as transferred (after
// removing the chunked encoding). Every other field is still compared.
var respLenDiff = map[string]bool{"http-pipelining": true, "http-x-gzip": true}

func TestZeekHTTPLog(t *testing.T) {
	logs, _ := filepath.Glob(testenv.SharedPath(t, "zeek", "*", "http.log"))
	for _, log := range logs {
		dir := filepath.Dir(log)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			if reason := useLegacy[name]; reason != "" {
				log = filepath.Join(dir, "legacy-zeek-3.3.0-dev", "http.log")
				t.Logf("compared with Zeek 3.3's log: %s", reason)
			}
			var recs []pcaptest.Record
			for _, r := range pcaptest.ZeekLog(t, log) {
				// Zeek 9 writes an empty record (no method, no status, no
				// body) after each HTTP/0.9 exchange; it is no request.
				if r["method"] == "-" && r["status_code"] == "-" && r["version"] == "-" && orZero(r["response_body_len"]) == "0" {
					continue
				}
				recs = append(recs, r)
			}
			evs, stats := runCase(t, dir)
			var diffs []string
			matched := 0
			if len(recs) > 0 && recs[0]["id.orig_h"] == "" {
				// A cut log without endpoints: compare in method/uri order,
				// since Zeek logs unanswered requests in its own order.
				sort.Slice(recs, func(i, j int) bool { return recs[i]["method"]+recs[i]["uri"] < recs[j]["method"]+recs[j]["uri"] })
				sort.Slice(evs, func(i, j int) bool { return evs[i].Method+evs[i].URL < evs[j].Method+evs[j].URL })
				for i, r := range recs {
					if i >= len(evs) {
						diffs = append(diffs, "missing "+r["method"]+" "+r["uri"])
						continue
					}
					if evs[i].Method != zeekField(r, "method") || evs[i].Host != zeekField(r, "host") {
						diffs = append(diffs, fmt.Sprintf("got %s %s, want %s %s %s", evs[i].Method, evs[i].URL, r["method"], r["host"], r["uri"]))
						continue
					}
					matched++
				}
				if len(evs) > len(recs) {
					diffs = append(diffs, fmt.Sprintf("%d extra events", len(evs)-len(recs)))
				}
			} else {
				byConn := map[string][]*event.Event{}
				for _, e := range evs {
					k := e.SrcIP.String() + " " + strconv.Itoa(int(e.SrcPort))
					byConn[k] = append(byConn[k], e)
				}
				for _, r := range recs {
					k := r["id.orig_h"] + " " + r["id.orig_p"]
					list := byConn[k]
					if len(list) == 0 {
						diffs = append(diffs, "missing: "+k+" "+want(r))
						continue
					}
					byConn[k] = list[1:]
					if respLenDiff[name] {
						r["response_body_len"] = strconv.Itoa(int(list[0].RespLen))
					}
					if g, w := got(list[0]), want(r); g != w {
						diffs = append(diffs, k+"\n got  "+g+"\n want "+w)
						continue
					}
					matched++
				}
				for k, list := range byConn {
					for _, e := range list {
						diffs = append(diffs, "extra: "+k+" "+got(e))
					}
				}
			}
			t.Logf("%+v", stats)
			pcaptest.Report(t, knownDiff[name], matched, len(recs), diffs)
		})
	}
}
