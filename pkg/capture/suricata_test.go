package capture

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// suricataDiffs are the Suricata checks we do not agree with, by case and
// label, with the reason. Their other checks still run.
var suricataDiffs = map[string]string{
	"dns-over-https2/v3":     "DNS over HTTPS, decrypted HTTP/2 in the capture: nfr-capture does not look for DNS inside HTTP",
	"dns-truncated-rname/v3": "a query name of 1025 bytes: Suricata logs it truncated; names over RFC 1035's 255 bytes are malformed for us, counted and not logged",
}

// Fields of a Suricata eve dns check that a dns event can be held to; the
// rest (ids, flags, pcap_cnt, authority and additional sections, rdata of
// types we write otherwise) describe eve's own structure.
var (
	suriAnswerRdata = regexp.MustCompile(`^dns\.answers\[(\d+)\]\.rdata$`)
	suriGrouped     = regexp.MustCompile(`^dns\.grouped\.(A|AAAA|CNAME|PTR|NS)\[\d+\]$`)
)

type suriFile struct {
	Label  string `json:"label"`
	Checks []struct {
		Filter struct {
			Count int            `json:"count"`
			Match map[string]any `json:"match"`
		} `json:"filter"`
	} `json:"checks"`
}

func TestSuricataDNS(t *testing.T) {
	files, _ := filepath.Glob(testenv.SharedPath(t, "suricata", "*", "expected.*.json"))
	checked, agreed := 0, 0
	ignored := map[string]int{}
	for _, path := range files {
		dir := filepath.Dir(path)
		name := filepath.Base(dir)
		if !strings.Contains(name, "dns") {
			continue
		}
		caps, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
		if len(caps) != 1 {
			continue
		}
		var sf suriFile
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sf); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		label := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "expected."), ".json")
		t.Run(name+"/"+label, func(t *testing.T) {
			evs := decodeFiles(t, false, time.Minute, []uint16{5353}, caps[0])
			diff, known := suricataDiffs[name+"/"+label]
			if known {
				t.Logf("known difference: %s", diff)
			}
			for i, c := range sf.Checks {
				m := c.Filter.Match
				if m["event_type"] != "dns" || c.Filter.Count == 0 {
					continue
				}
				pred, desc := suriPredicate(m, ignored)
				checked++
				n := 0
				for j := range evs {
					if pred(&evs[j]) {
						n++
					}
				}
				if n > 0 {
					agreed++
				} else if !known {
					t.Errorf("check %d: no event with %s\n  match %v\n  events:%s", i, desc, m, eventsText(evs))
				}
			}
		})
	}
	var ig []string
	for k, v := range ignored {
		ig = append(ig, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(ig)
	t.Logf("Suricata dns checks: %d compared, %d agree; fields not comparable to a dns event: %s", checked, agreed, strings.Join(ig, ", "))
	if checked < 40 {
		t.Errorf("only %d Suricata dns checks compared", checked)
	}
}

func suriName(v any) string {
	s := strings.ToLower(fmt.Sprint(v))
	if s == "<root>" {
		return ""
	}
	return strings.TrimSuffix(s, ".")
}

// suriPredicate turns one check into a test on our events.
func suriPredicate(m map[string]any, ignored map[string]int) (func(*event.Event) bool, string) {
	resp := false
	switch m["dns.type"] {
	case "response", "answer":
		resp = true
	}
	var tests []func(*event.Event) bool
	var desc []string
	add := func(d string, f func(*event.Event) bool) { tests = append(tests, f); desc = append(desc, d) }
	for k, v := range m {
		v := v
		s := fmt.Sprint(v)
		switch {
		case k == "event_type" || k == "dns.type":
		case k == "src_ip" || k == "dest_ip":
			// Our events name the client as source. Suricata's response
			// records name either side first depending on its version, so
			// for them the endpoint may be on either side.
			client := k == "src_ip"
			add(k+"="+s, func(e *event.Event) bool {
				if resp {
					return e.SrcIP.String() == s || e.DestIP.String() == s
				}
				if client {
					return e.SrcIP.String() == s
				}
				return e.DestIP.String() == s
			})
		case k == "src_port" || k == "dest_port":
			client := k == "src_port"
			add(k+"="+s, func(e *event.Event) bool {
				if resp {
					return fmt.Sprint(e.SrcPort) == s || fmt.Sprint(e.DestPort) == s
				}
				if client {
					return fmt.Sprint(e.SrcPort) == s
				}
				return fmt.Sprint(e.DestPort) == s
			})
		case k == "proto":
			add("proto="+s, func(e *event.Event) bool { return strings.EqualFold(e.Proto, s) })
		case k == "dns.rrname" || k == "dns.queries[0].rrname" || k == "dns.queries[1].rrname":
			if strings.HasPrefix(k, "dns.rrname") && resp {
				// v1/v2 answers carry the answer's owner name here.
				add("answer owner or query="+s, func(e *event.Event) bool { return e.Query == suriName(v) || len(e.Answers) > 0 })
				continue
			}
			add("query="+s, func(e *event.Event) bool { return e.Query == suriName(v) })
		case k == "dns.rrtype" || k == "dns.queries[0].rrtype" || k == "dns.queries[1].rrtype":
			if k == "dns.rrtype" && resp {
				ignored[k+" of an answer"]++
				continue
			}
			want := s
			if want == "ANY" {
				want = "*"
			}
			add("qtype="+want, func(e *event.Event) bool { return e.QType == want })
		case k == "dns.rcode":
			add("rcode="+s, func(e *event.Event) bool { return e.RCode == s })
		case suriAnswerRdata.MatchString(k):
			idx := suriAnswerRdata.FindStringSubmatch(k)[1]
			rt := fmt.Sprint(m["dns.answers["+idx+"].rrtype"])
			switch rt {
			case "A", "AAAA", "CNAME", "PTR", "NS":
				add("answer "+s, func(e *event.Event) bool { return containsFold(e.Answers, suriName(v)) })
			default:
				ignored["rdata of "+rt]++
			}
		case k == "dns.rdata":
			switch fmt.Sprint(m["dns.rrtype"]) {
			case "A", "AAAA", "CNAME", "PTR", "NS":
				add("answer "+s, func(e *event.Event) bool { return containsFold(e.Answers, suriName(v)) })
			default:
				ignored["rdata of "+fmt.Sprint(m["dns.rrtype"])]++
			}
		case suriGrouped.MatchString(k):
			add("answer "+s, func(e *event.Event) bool { return containsFold(e.Answers, suriName(v)) })
		default:
			ignored[regexp.MustCompile(`\[\d+\]`).ReplaceAllString(k, "[]")]++
		}
	}
	if resp {
		add("a response", func(e *event.Event) bool { return e.RCode != "" })
	}
	return func(e *event.Event) bool {
		for _, f := range tests {
			if !f(e) {
				return false
			}
		}
		return true
	}, strings.Join(desc, " ")
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
