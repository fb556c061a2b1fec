package score

import (
	"net/netip"
	"time"
)

// Lateral movement: one monitored host completing sessions with many
// other monitored hosts on the ports of remote administration and file
// sharing (SMB 445/139, RDP 3389, WinRM 5985/5986, SSH 22, RPC 135):
// lateralHosts distinct hosts in a sliding LongWindow (1 h; a host counts
// while a session with it was seen within the hour). Variant space: any
// pace within the hour, any mix of those ports. Jump hosts and management
// servers do this by design.
const lateralHosts = 10

var lateralPorts = map[uint16]bool{445: true, 139: true, 3389: true, 5985: true, 5986: true, 22: true, 135: true}

type lateral struct {
	th      Thresholds
	sources *table[netip.Addr, lateralWindow]
}

type lateralWindow struct {
	Hosts []sighting // internal hosts with admin-port sessions, by hash
}

func newLateral(th Thresholds, max int) *lateral {
	return &lateral{th: th, sources: newTable[netip.Addr, lateralWindow](max)}
}

func (*lateral) name() string           { return "lateral" }
func (*lateral) on() kinds              { return onIP }
func (*lateral) threats() []string      { return []string{ThreatLateral} }
func (d *lateral) tables() []stateTable { return []stateTable{d.sources} }
func (d *lateral) held(st *Stats)       { st.Sources += d.sources.len() }

func (d *lateral) sweep(now time.Time, long bool) { d.sources.expire(now.Add(-d.th.LongWindow)) }

func (d *lateral) observe(o *observation, f *findings) {
	ev := o.ev
	if o.proto != 6 || o.failed || !o.established || !lateralPorts[ev.DestPort] || !o.srcInternal || !o.dstInternal || ev.SrcIP == ev.DestIP {
		return
	}
	s := d.sources.get(ev.SrcIP, o.now)
	b := ev.DestIP.As16()
	h, t, hour := fnv(fnvOffset, string(b[:])), o.now.Unix(), int64(d.th.LongWindow/time.Second)
	var added bool
	if s.Hosts, added = sight(s.Hosts, h, t, hour, 256); !added {
		return // a host seen within the hour, or the list full
	}
	n, first := recent(s.Hosts, t-hour)
	if n >= lateralHosts {
		f.add(ThreatLateral, "", "%s completed sessions with %d internal hosts on admin and file-sharing ports in %s, the latest %s:%d",
			ev.SrcIP, n, since(o.now, time.Unix(first, 0)), ev.DestIP, ev.DestPort)
	}
}
