package alert

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// appendECS writes an Elastic Common Schema 8.x document. The whole alert
// line is kept in event.original.
func (f *Formatter) appendECS(dst []byte, a *Alert) []byte {
	id, title := a.Main()
	w := jsonObj{b: dst}
	w.open()
	if t := a.Time(); !t.IsZero() {
		w.time("@timestamp", t)
	}
	w.str("message", a.Reason)
	w.obj("ecs")
	w.str("version", "8.11.0")
	w.end()
	w.obj("event")
	w.str("kind", "alert")
	w.key("category")
	w.b = append(w.b, `["network","threat"]`...)
	w.key("type")
	w.b = append(w.b, `["indicator"]`...)
	w.num("severity", int64(a.Severity))
	w.str("module", "nfr")
	w.str("dataset", "nfr.alert")
	w.str("id", a.ID)
	w.str("reason", a.Reason)
	if !a.FirstSeen.IsZero() {
		w.time("start", a.FirstSeen)
	}
	if !a.LastSeen.IsZero() {
		w.time("end", a.LastSeen)
	}
	w.str("original", string(a.Line))
	w.end()
	w.obj("rule")
	w.str("id", id)
	w.str("name", title)
	w.str("ruleset", "nfr")
	w.end()
	w.obj("threat")
	w.str("framework", "NFR")
	w.obj("technique")
	w.strs("id", a.ThreatIDs)
	names := make([]string, len(a.ThreatIDs))
	for i, t := range a.ThreatIDs {
		names[i] = a.Threats[t].Title
	}
	w.strs("name", names)
	w.end()
	w.end()
	addrObj := func(name string, ip netip.Addr, port uint16, domain string) {
		if !ip.IsValid() {
			return
		}
		w.obj(name)
		w.str("ip", ip.String())
		if port != 0 {
			w.num("port", int64(port))
		}
		w.str("domain", domain)
		w.end()
	}
	dstDomain := a.Host
	if dstDomain == "" {
		dstDomain = a.SNI
	}
	addrObj("source", a.SrcIP, a.SrcPort, "")
	addrObj("destination", a.DestIP, a.DestPort, dstDomain)
	if a.Proto != "" || a.EventType != "" {
		w.obj("network")
		w.str("transport", a.Proto)
		w.str("protocol", a.EventType)
		w.end()
	}
	if a.Query != "" {
		w.obj("dns")
		w.obj("question")
		w.str("name", a.Query)
		w.str("type", a.QType)
		w.end()
		w.str("response_code", a.RCode)
		w.strs("resolved_ip", a.Answers)
		w.end()
	}
	if a.URL != "" || a.Host != "" {
		w.obj("url")
		w.str("original", a.URL)
		w.str("domain", a.Host)
		w.end()
	}
	if a.Method != "" || a.Status != 0 {
		w.obj("http")
		if a.Method != "" {
			w.obj("request")
			w.str("method", a.Method)
			w.end()
		}
		if a.Status != 0 {
			w.obj("response")
			w.num("status_code", int64(a.Status))
			w.end()
		}
		w.end()
	}
	if a.UserAgent != "" {
		w.obj("user_agent")
		w.str("original", a.UserAgent)
		w.end()
	}
	if a.SNI != "" || a.JA3 != "" || a.TLSVersion != "" {
		w.obj("tls")
		if v, ok := strings.CutPrefix(a.TLSVersion, "TLSv1"); ok && v != "" {
			w.str("version", "1."+v[len(v)-1:])
			w.str("version_protocol", "tls")
		}
		w.obj("client")
		w.str("server_name", a.SNI)
		w.str("ja3", a.JA3)
		w.end()
		w.end()
	}
	var related []string
	if a.SrcIP.IsValid() {
		related = append(related, a.SrcIP.String())
	}
	if a.DestIP.IsValid() && a.DestIP != a.SrcIP {
		related = append(related, a.DestIP.String())
	}
	if len(related) > 0 {
		w.obj("related")
		w.strs("ip", related)
		w.end()
	}
	if s := f.sensor(a); s != "" {
		w.obj("observer")
		w.str("hostname", s)
		w.str("product", "NFR")
		w.str("vendor", "AlphaSOC")
		w.str("type", "ids")
		w.end()
	}
	w.strs("tags", a.Flags)
	if len(a.Groups) > 0 || a.Count > 0 {
		w.obj("labels")
		w.str("groups", strings.Join(a.Groups, ","))
		if a.Count > 0 {
			w.str("count", strconv.FormatInt(a.Count, 10))
		}
		w.end()
	}
	w.end()
	return w.b
}

// jsonObj writes nested JSON objects, with commas where they belong.
type jsonObj struct {
	b     []byte
	first bool
}

func (w *jsonObj) open() { w.b = append(w.b, '{'); w.first = true }
func (w *jsonObj) end()  { w.b = append(w.b, '}'); w.first = false }

func (w *jsonObj) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = event.AppendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jsonObj) obj(k string) { w.key(k); w.open() }

func (w *jsonObj) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = event.AppendString(w.b, v)
}

func (w *jsonObj) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = event.AppendTime(w.b, t)
	w.b = append(w.b, '"')
}

func (w *jsonObj) num(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonObj) strs(k string, v []string) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = event.AppendString(w.b, s)
	}
	w.b = append(w.b, ']')
}
