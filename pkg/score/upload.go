package score

import (
	"fmt"
	"strings"
	"time"

	"github.com/nfr-project/nfr/pkg/event"
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

type uploadState struct {
	Start   time.Time
	Out, In int64
	Addrs   int // distinct addresses seen (counted when new to the pair table)
}

func (e *Engine) upload(ev *event.Event, p *pairState, newPair bool) {
	if roll(&p.UpStart, e.now, e.th.UploadWindow) {
		p.Out, p.In = 0, 0
	}
	p.Out += ev.BytesOut
	p.In += ev.BytesIn
	// Only flows that send more than they receive are uploads; the name
	// of the destination is looked up for those only.
	if ev.BytesOut < 4*ev.BytesIn && p.Out < 4*p.In {
		return
	}
	ans, named := e.answers.peek(ev.DestIP.Unmap().As16())
	if named && ans.Cloud {
		if p.Out >= e.th.UploadBytes && p.Out >= 4*p.In {
			e.add(ThreatCloudUpload, ev.DestIP.String(), "%s sent %s to %s (%s, cloud storage) in %s: a backup or a copy to storage outside",
				ev.SrcIP, size(p.Out), ev.DestIP, e.regName(ans.Reg), since(e.now, p.UpStart))
		}
		return
	}
	// SSH by its content (nfr-capture's and Zeek's service) on any port,
	// else by its usual ports.
	ssh := ev.DestPort == 22 || ev.DestPort == 2222 || hasService(ev.Service, "ssh")
	limit := e.th.UploadBytes
	if ssh {
		limit = sshUploadBytes
	}
	if p.Out >= limit && p.Out >= 4*p.In {
		id, what := ThreatExfilUpload, "tcp"
		if ssh {
			id, what = ThreatExfilSSH, "SSH"
		}
		e.add(id, fmt.Sprint(ev.DestIP, ":", ev.DestPort), "%s sent %s to %s over %s/%d in %s and received %s",
			ev.SrcIP, size(p.Out), ev.DestIP, what, ev.DestPort, since(e.now, p.UpStart), size(p.In))
		return
	}
	if !named || ans.Reg == 0 || ev.BytesOut < 4*ev.BytesIn {
		return
	}
	u := e.uploads.get(uploadKey{Src: ev.SrcIP.As16(), Dom: ans.Reg}, e.now)
	if roll(&u.Start, e.now, dayWindow) {
		u.Out, u.In, u.Addrs = 0, 0, 0
	}
	u.Out += ev.BytesOut
	u.In += ev.BytesIn
	if newPair {
		u.Addrs++
	}
	if u.Out >= dayUploadBytes && u.Out >= 4*u.In {
		reg := e.regName(ans.Reg)
		e.add(ThreatExfilUpload, reg, "%s sent %s to %s (%d addresses) in %s and received %s",
			ev.SrcIP, size(u.Out), reg, max(u.Addrs, 1), since(e.now, u.Start), size(u.In))
	}
}

// regName returns the registered domain of hash h, as DNS answers named it.
func (e *Engine) regName(h uint64) string {
	if n, ok := e.regNames[h]; ok {
		return n
	}
	return "one registered domain"
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
