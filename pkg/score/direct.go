package score

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
)

// Direct C2: malware with its C2 addresses compiled in (Dridex, TrickBot,
// Emotet, QakBot) talks TLS to a bare address, without a server name, from
// a host that otherwise resolves names like any other. A host is counted
// as using DNS after directMinLookups lookups; an address is resolved when
// any DNS answer seen (kept a day, capped at MaxDomains) carried it. The
// alert needs directMin TLS sessions without SNI from one host to one
// never-resolved address and port, spanning directSpan, within a day.
// Variant space claimed: any port, any pace from a few a minute to one an
// hour, any session size. Not covered: C2 over plain TCP or HTTP to bare
// addresses (the beacon detector sees those when they are regular).

const (
	directMin        = 10
	directSpan       = 10 * time.Minute
	directMinLookups = 10
)

// answeredOnce records the answers of a name at most every ten minutes
// when the name is in the clean-name cache: most lookups repeat a few
// names with the same answers.
func (e *Engine) answeredOnce(ev *event.Event, q, reg string, regOK bool) {
	if len(ev.Answers) == 0 {
		return
	}
	if !regOK {
		reg = ""
	}
	if e.hasClean {
		now := e.now.Unix()
		if now-e.clean.answered < 600 && now >= e.clean.answered {
			return
		}
		e.clean.answered = now
		e.cleanNames[e.cleanKey] = e.clean
	}
	e.answered(ev, q, reg)
}

// answered remembers the addresses of a DNS event's answers: the
// registered domain of the name they answered (by hash; its text goes to
// regNames) and whether it is cloud storage. The value holds no pointers,
// so the collector skips this large table.
func (e *Engine) answered(ev *event.Event, q, reg string) {
	var h uint64
	cloud, infra := false, false
	for _, ans := range ev.Answers {
		a, err := netip.ParseAddr(ans)
		if err != nil {
			continue
		}
		if h == 0 {
			h = e.hash(reg)
			cloud = isCloudStorage(q)
			infra = e.allowedInfra(q)
		}
		n, created := e.answers.getNew(a.Unmap().As16(), e.now)
		if created || n.Reg != h || n.Cloud != cloud || n.Infra != infra {
			*n = answer{Reg: h, Cloud: cloud, Infra: infra}
			if reg != "" {
				if len(e.regNames) >= maxNameCache {
					clear(e.regNames)
				}
				e.regNames[h] = strings.Clone(reg)
			}
		}
	}
}

// lookedUpBy counts a DNS lookup of src.
func (e *Engine) lookedUpBy(src netip.Addr) {
	if e.isInternal(src) {
		s := e.sources.get(src, e.now)
		s.Lookups++
	}
}

// direct scores a TLS session without a server name.
func (e *Engine) direct(ev *event.Event) {
	dst := ev.DestIP
	if !dst.IsValid() || !e.isExternal(dst) || !e.isInternal(ev.SrcIP) {
		return
	}
	if _, ok := e.answers.peek(dst.Unmap().As16()); ok {
		return
	}
	s, ok := e.sources.peek(ev.SrcIP)
	if !ok || s.Lookups < directMinLookups {
		return
	}
	p := e.pairs.get(pairKey{Src: ev.SrcIP.As16(), Dst: dst.As16(), Port: ev.DestPort, Proto: 6}, e.now)
	ts := ev.TS.UnixMilli()
	if p.DirectN == 0 || ts-p.DirectLast > (24*time.Hour).Milliseconds() {
		p.DirectN, p.DirectFirst = 0, ts
	}
	p.DirectN++
	p.DirectLast = ts
	span := time.Duration(ts-p.DirectFirst) * time.Millisecond
	if p.DirectN >= directMin && span >= directSpan {
		subject := fmt.Sprintf("%s:%d", dst, ev.DestPort)
		e.add(ThreatDirect, subject, "%d TLS sessions without a server name from %s to %s over %s; no DNS answer seen carried the address, though the host made %d lookups",
			p.DirectN, ev.SrcIP, subject, dur(span.Round(time.Minute)), s.Lookups)
	}
}
