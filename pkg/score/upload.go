package score

import (
	"fmt"
	"strings"
	"time"
)

// Uploads: bytes a monitored host sends out, four times more than it
// receives. Three counters, each a window from its first byte:
//
//   - per destination address and port, UploadWindow (1 h): UploadBytes
//     (50 MiB), or SSHUploadBytes (10 MiB) over SSH: tcp/22 and 2222, or any
//     port whose service (by content) is ssh (exfil_ssh);
//   - per registered domain of the destination (from the DNS answer that
//     gave its address, an SNI or HTTP host), 24 h: DayUploadBytes
//     (256 MiB), so 500 MB in chunks over a day, or over twenty
//     addresses of one provider, is one upload;
//   - uploads to well-known cloud storage (S3, Azure blobs, Google Cloud
//     Storage, Backblaze: backups) are the low-severity policy threat
//     cloud_upload, not exfiltration.
//
// Variant space claimed: any chunking and pace within the windows, any
// number of addresses behind one registered domain. Not covered: uploads
// to addresses no name was seen for spread over several of them.

const (
	sshUploadBytes = 10 << 20
	dayUploadBytes = 256 << 20
	dayWindow      = 24 * time.Hour
)

// cloudStorage are the registered domains (or suffixes) of object storage
// that backups use.
var cloudStorage = []string{"s3.amazonaws.com", "amazonaws.com", "blob.core.windows.net", "storage.googleapis.com", "backblazeb2.com", "wasabisys.com", "digitaloceanspaces.com"}

func isCloudStorage(name string) bool {
	for _, c := range cloudStorage {
		if name == c || strings.HasSuffix(name, "."+c) {
			if c == "amazonaws.com" && !strings.Contains(name, "s3") {
				return false
			}
			return true
		}
	}
	return false
}

type uploadKey struct {
	Src [16]byte
	Dom uint64 // hash of the registered domain
}

// uploadState is a day's uploads from one source to one registered
// domain.
type uploadState struct {
	Start   time.Time
	Out, In int64
	Addrs   int // distinct addresses seen (counted when new to the pair table)
}

// uploadPair is the upload detector's part of a pair's state (pairs.go):
// UploadWindow of bytes to one address and port.
type uploadPair struct {
	Start   time.Time
	Out, In int64
}

type uploads struct {
	th      Thresholds
	answers *answers
	domains *table[uploadKey, uploadState]
}

func newUploads(th Thresholds, answers *answers, max int) *uploads {
	return &uploads{th: th, answers: answers, domains: newTable[uploadKey, uploadState](max)}
}

func (*uploads) name() string { return "upload" }
func (*uploads) on() kinds    { return onIP }
func (*uploads) threats() []string {
	return []string{ThreatExfilUpload, ThreatExfilSSH, ThreatCloudUpload}
}
func (d *uploads) tables() []stateTable { return []stateTable{d.domains} }

func (d *uploads) sweep(now time.Time, long bool) {
	if long {
		d.domains.expire(now.Add(-dayWindow))
	}
}

func (d *uploads) observe(o *observation, f *findings) {
	ev := o.ev
	if o.pair == nil || o.proto != 6 || o.failed || ev.BytesOut <= 0 {
		return
	}
	p := &o.pair.Upload
	if roll(&p.Start, o.now, d.th.UploadWindow) {
		p.Out, p.In = 0, 0
	}
	p.Out += ev.BytesOut
	p.In += ev.BytesIn
	// Only flows that send more than they receive are uploads; the name
	// of the destination is looked up for those only.
	if ev.BytesOut < 4*ev.BytesIn && p.Out < 4*p.In {
		return
	}
	ans, named := d.answers.peek(ev.DestIP)
	if named && ans.Cloud {
		if p.Out >= d.th.UploadBytes && p.Out >= 4*p.In {
			f.add(ThreatCloudUpload, ev.DestIP.String(), "%s sent %s to %s (%s, cloud storage) in %s: a backup or a copy to storage outside",
				ev.SrcIP, size(p.Out), ev.DestIP, d.answers.name(ans.Reg), since(o.now, p.Start))
		}
		return
	}
	// SSH by its content (nfr-capture's and Zeek's service) on any port,
	// else by its usual ports.
	ssh := ev.DestPort == 22 || ev.DestPort == 2222 || hasService(ev.Service, "ssh")
	limit := d.th.UploadBytes
	if ssh {
		limit = sshUploadBytes
	}
	if p.Out >= limit && p.Out >= 4*p.In {
		id, what := ThreatExfilUpload, "tcp"
		if ssh {
			id, what = ThreatExfilSSH, "SSH"
		}
		f.add(id, fmt.Sprint(ev.DestIP, ":", ev.DestPort), "%s sent %s to %s over %s/%d in %s and received %s",
			ev.SrcIP, size(p.Out), ev.DestIP, what, ev.DestPort, since(o.now, p.Start), size(p.In))
		return
	}
	if !named || ans.Reg == 0 || ev.BytesOut < 4*ev.BytesIn {
		return
	}
	u := d.domains.get(uploadKey{Src: ev.SrcIP.As16(), Dom: ans.Reg}, o.now)
	if roll(&u.Start, o.now, dayWindow) {
		u.Out, u.In, u.Addrs = 0, 0, 0
	}
	u.Out += ev.BytesOut
	u.In += ev.BytesIn
	if o.newPair {
		u.Addrs++
	}
	if u.Out >= dayUploadBytes && u.Out >= 4*u.In {
		reg := d.answers.name(ans.Reg)
		f.add(ThreatExfilUpload, reg, "%s sent %s to %s (%d addresses) in %s and received %s",
			ev.SrcIP, size(u.Out), reg, max(u.Addrs, 1), since(o.now, u.Start), size(u.In))
	}
}

// hasService reports whether the comma-separated service list of an ip
// event (Zeek's conn.log names) holds name.
func hasService(list, name string) bool {
	for list != "" {
		s, rest, _ := strings.Cut(list, ",")
		if s == name {
			return true
		}
		list = rest
	}
	return false
}
