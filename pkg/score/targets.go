package score

import (
	"net/netip"
	"time"
)

// targets are the distinct (address, port) pairs one source reached,
// counted per host and per port in two sliding windows, an hour and a
// horizon: a pair counts while it was reached within the window (to
// within a twelfth of the hour, how often they are purged). At most
// maxTargets pairs. The scan (unanswered attempts) and probe (handshakes)
// detectors keep one per source.
type targets struct {
	Seen   map[netip.AddrPort]targetMark
	Ports  map[netip.Addr][2]int32 // per host: ports in the hour, in the horizon
	Hosts  map[uint16][2]int32     // per port: hosts in the hour, in the horizon
	Start  time.Time               // first pair since Seen was last empty
	Purged int64                   // Unix seconds of the last purge
}

// targetMark is when a pair was last reached (Unix seconds), whether it
// is counted in the hour, and whether its host counts on its port.
type targetMark struct {
	T    int64
	Hour bool
	Host bool
}

// maxTargets caps the pairs a source keeps.
const maxTargets = 4096

// add records pair ap reached at now (its host counted on its port when
// countHost) and returns the counts of its host's ports and its port's
// hosts, or false when it changed none.
func (s *targets) add(ap netip.AddrPort, countHost bool, now time.Time, hour, day time.Duration) (ports, hosts [2]int32, ok bool) {
	t := now.Unix()
	if s.Seen == nil {
		s.Seen, s.Ports, s.Hosts = map[netip.AddrPort]targetMark{}, map[netip.Addr][2]int32{}, map[uint16][2]int32{}
	}
	// Purging walks every pair: every twelfth of the hour is enough.
	if t-s.Purged >= int64(hour/time.Second)/shortBuckets {
		s.purge(t, int64(hour/time.Second), int64(day/time.Second))
		s.Purged = t
	}
	if len(s.Seen) == 0 {
		s.Start = now
	}
	m, seen := s.Seen[ap]
	switch {
	case seen && m.Hour:
		m.T = max(m.T, t)
		s.Seen[ap] = m
		return ports, hosts, false
	case seen:
		s.Seen[ap] = targetMark{T: max(m.T, t), Hour: true, Host: m.Host}
		s.count(ap, m.Host, 1, 0)
	case len(s.Seen) >= maxTargets:
		return ports, hosts, false
	default:
		s.Seen[ap] = targetMark{T: t, Hour: true, Host: countHost}
		s.count(ap, countHost, 1, 1)
	}
	return s.Ports[ap.Addr()], s.Hosts[ap.Port()], true
}

// count adds to the hour's and the horizon's counts of ap's host (and of
// its port, when host).
func (s *targets) count(ap netip.AddrPort, host bool, hour, day int32) {
	a, p := ap.Addr(), ap.Port()
	c := s.Ports[a]
	c[0], c[1] = c[0]+hour, c[1]+day
	if c == [2]int32{} {
		delete(s.Ports, a)
	} else {
		s.Ports[a] = c
	}
	if !host {
		return
	}
	c = s.Hosts[p]
	c[0], c[1] = c[0]+hour, c[1]+day
	if c == [2]int32{} {
		delete(s.Hosts, p)
	} else {
		s.Hosts[p] = c
	}
}

// purge takes the pairs out of the windows they left (hour and day in
// seconds).
func (s *targets) purge(t, hour, day int64) {
	for ap, m := range s.Seen {
		switch {
		case t-m.T >= day:
			delete(s.Seen, ap)
			if m.Hour {
				s.count(ap, m.Host, -1, -1)
			} else {
				s.count(ap, m.Host, 0, -1)
			}
		case m.Hour && t-m.T >= hour:
			s.Seen[ap] = targetMark{T: m.T, Host: m.Host}
			s.count(ap, m.Host, -1, 0)
		}
	}
}
