package score

// A test-only reader of Zeek logs (TSV and JSON) and Suricata eve.json,
// reading just the fields the engine uses, so the false-positive test does
// not wait for the parsers being written in parallel.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// readZeek reads one Zeek log of kind dns, conn, http or ssl.
func readZeek(path, kind string) ([]event.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var fields []string
	var out []event.Event
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#fields\t") {
			fields = strings.Split(line, "\t")[1:]
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		get := map[string]string{}
		if line[0] == '{' {
			line = strings.ReplaceAll(line, "XXXXXXXXXX.XXXXXX", "0")
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			for k, v := range m {
				switch v := v.(type) {
				case string:
					get[k] = v
				case float64:
					get[k] = strconv.FormatFloat(v, 'f', -1, 64)
				case []any:
					var s []string
					for _, x := range v {
						s = append(s, fmt.Sprint(x))
					}
					get[k] = strings.Join(s, ",")
				}
			}
		} else {
			vals := strings.Split(line, "\t")
			for i, n := range fields {
				if i < len(vals) && vals[i] != "-" && vals[i] != "(empty)" {
					get[n] = vals[i]
				}
			}
		}
		ev, ok := zeekEvent(kind, get)
		if ok {
			out = append(out, ev)
		}
	}
	return out, sc.Err()
}

func zeekEvent(kind string, g map[string]string) (event.Event, bool) {
	var ev event.Event
	ev.V = 1
	if s, ns, err := event.ParseEpoch(g["ts"]); err == nil {
		ev.TS = time.Unix(s, ns).UTC()
	}
	ev.SrcIP, _ = netip.ParseAddr(g["id.orig_h"])
	ev.DestIP, _ = netip.ParseAddr(g["id.resp_h"])
	p, _ := strconv.Atoi(g["id.orig_p"])
	ev.SrcPort = uint16(p)
	p, _ = strconv.Atoi(g["id.resp_p"])
	ev.DestPort = uint16(p)
	ev.Proto = g["proto"]
	i64 := func(k string) int64 { n, _ := strconv.ParseInt(g[k], 10, 64); return n }
	switch kind {
	case "dns":
		ev.Type = event.TypeDNS
		ev.Query, ev.QType, ev.RCode = strings.ToLower(g["query"]), g["qtype_name"], g["rcode_name"]
		if a := g["answers"]; a != "" {
			ev.Answers = strings.Split(a, ",")
		}
		if ev.Query == "" {
			return ev, false
		}
	case "conn":
		ev.Type = event.TypeIP
		ev.BytesOut, ev.BytesIn = i64("orig_bytes"), i64("resp_bytes")
		ev.PktsOut, ev.PktsIn = i64("orig_pkts"), i64("resp_pkts")
		ev.ConnState, ev.History = g["conn_state"], g["history"]
		ev.Duration, _ = strconv.ParseFloat(g["duration"], 64)
	case "http":
		ev.Type = event.TypeHTTP
		ev.Host, ev.URL, ev.Method, ev.UserAgent = g["host"], g["uri"], g["method"], g["user_agent"]
		ev.Status, _ = strconv.Atoi(g["status_code"])
	case "ssl":
		ev.Type = event.TypeTLS
		ev.SNI, ev.JA3, ev.TLSVersion = g["server_name"], g["ja3"], g["version"]
	}
	return ev, true
}

// readEve reads the dns, flow, http and tls records of an eve.json file.
func readEve(path string) ([]event.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	var out []event.Event
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
		num := func(m map[string]any, k string) int64 { f, _ := m[k].(float64); return int64(f) }
		obj := func(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }
		var ev event.Event
		ev.V = 1
		if t, err := time.Parse("2006-01-02T15:04:05.999999-0700", str(m, "timestamp")); err == nil {
			ev.TS = t.UTC()
		}
		ev.SrcIP, _ = netip.ParseAddr(str(m, "src_ip"))
		ev.DestIP, _ = netip.ParseAddr(str(m, "dest_ip"))
		ev.SrcPort, ev.DestPort = uint16(num(m, "src_port")), uint16(num(m, "dest_port"))
		ev.Proto = strings.ToLower(str(m, "proto"))
		switch str(m, "event_type") {
		case "dns":
			d := obj(m, "dns")
			ev.Type = event.TypeDNS
			ev.Query, ev.QType, ev.RCode = strings.ToLower(str(d, "rrname")), str(d, "rrtype"), str(d, "rcode")
			if qs, ok := d["queries"].([]any); ok && len(qs) > 0 { // eve dns v3
				q, _ := qs[0].(map[string]any)
				ev.Query, ev.QType = strings.ToLower(str(q, "rrname")), str(q, "rrtype")
			}
			if as, ok := d["answers"].([]any); ok {
				for _, a := range as {
					if a, ok := a.(map[string]any); ok && str(a, "rdata") != "" {
						ev.Answers = append(ev.Answers, str(a, "rdata"))
						if ev.Query == "" {
							ev.Query = strings.ToLower(str(a, "rrname"))
						}
					}
				}
			} else if r := str(d, "rdata"); r != "" {
				ev.Answers = []string{r}
			}
			if ev.Query == "" {
				continue
			}
		case "flow":
			fl := obj(m, "flow")
			ev.Type = event.TypeIP
			ev.BytesOut, ev.BytesIn = num(fl, "bytes_toserver"), num(fl, "bytes_toclient")
			ev.PktsOut, ev.PktsIn = num(fl, "pkts_toserver"), num(fl, "pkts_toclient")
			if ev.Proto == "tcp" {
				ev.ConnState = "SF"
				if ev.PktsIn == 0 {
					ev.ConnState = "S0"
				}
			}
		case "http":
			h := obj(m, "http")
			ev.Type = event.TypeHTTP
			ev.Host, ev.URL, ev.Method, ev.UserAgent = str(h, "hostname"), str(h, "url"), str(h, "http_method"), str(h, "http_user_agent")
			ev.Status = int(num(h, "status"))
		case "tls":
			t := obj(m, "tls")
			ev.Type = event.TypeTLS
			ev.SNI, ev.TLSVersion = str(t, "sni"), str(t, "version")
			ev.JA3 = str(obj(t, "ja3"), "hash")
		default:
			continue
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}
