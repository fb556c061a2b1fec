package score

import (
	"fmt"
	"strings"
	"time"
)

// Uploads: bytes a monitored host sends out, four times more than it
// receives, summed in sliding windows (a ring of buckets, so a transfer
// straddling the hour is one):
//
//   - per destination address and port, UploadWindow (1 h, twelve
//     buckets): UploadBytes (50 MiB), or SSHUploadBytes (10 MiB) over SSH:
//     tcp/22 and 2222, or any port whose service (by content) is ssh
//     (exfil_ssh);
//   - per registered domain of the destination (from the DNS answer that
//     gave its address, an SNI or HTTP host), Horizon (24 h, twenty-four
//     buckets): DayUploadBytes (256 MiB), so 500 MB in chunks over a day,
//     or over twenty addresses of one provider, is one upload;
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

// uploadState is the uploads from one source to one registered domain in
// the horizon.
type uploadState struct {
	Start time.Time // first upload since the window was last empty
	Bytes byteWindow[[longBuckets][2]int64]
	Addrs int // distinct addresses seen since Start (counted when new to the pair table)
}

// uploadPair is the upload detector's part of a pair's state (pairs.go):
// the bytes to one address and port in UploadWindow.
type uploadPair struct {
	Start time.Time
	Bytes byteWindow[[shortBuckets][2]int64]
}

// byteWindow is a sliding window of bytes out and in: a ring of buckets
// as in slide.go, but held inline and with the sums kept as buckets come
// and go, since it runs for every flow out and a walk over a ring
// elsewhere in memory costs a cache miss or more per flow.
type byteWindow[A [shortBuckets][2]int64 | [longBuckets][2]int64] struct {
	Head    int64 // number of the newest bucket; 0: empty
	Out, In int64 // sums over the ring
	B       A
}

// add adds a flow's bytes at now to a window of buckets of width and
// returns the window's sums, and fresh when the window was empty (the
// flow starts it); ok is false for a flow older than the window.
func (w *byteWindow[A]) add(now time.Time, width time.Duration, out, in int64) (sumOut, sumIn int64, fresh, ok bool) {
	n := int64(len(w.B))
	b := bucketOf(now, width)
	switch {
	case w.Head == 0:
		w.Head = b
		fresh = true
	case b > w.Head:
		for i := w.Head + 1; i <= b && i <= w.Head+n; i++ {
			x := &w.B[ring(i, int(n))]
			w.Out, w.In = w.Out-x[0], w.In-x[1]
			*x = [2]int64{}
		}
		fresh = w.Out == 0 && w.In == 0
		w.Head = b
	case b <= w.Head-n:
		return 0, 0, false, false
	}
	x := &w.B[ring(b, int(n))]
	x[0], x[1] = x[0]+out, x[1]+in
	w.Out, w.In = w.Out+out, w.In+in
	return w.Out, w.In, fresh, true
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
		d.domains.expire(now.Add(-d.th.Horizon))
	}
}

func (d *uploads) observe(o *observation, f *findings) {
	ev := o.ev
	if o.pair == nil || o.proto != 6 || o.failed || ev.BytesOut <= 0 {
		return
	}
	p := &o.pair.Upload
	out, in, fresh, ok := p.Bytes.add(o.now, d.th.UploadWindow/shortBuckets, ev.BytesOut, ev.BytesIn)
	if !ok {
		return
	}
	if fresh {
		p.Start = o.now
	}
	span := func() string { return windowSince(o.now, p.Start, d.th.UploadWindow) }
	// Only flows that send more than they receive are uploads; the name
	// of the destination is looked up for those only.
	if ev.BytesOut < 4*ev.BytesIn && out < 4*in {
		return
	}
	ans, named := d.answers.peek(ev.DestIP)
	if named && ans.Cloud {
		if out >= d.th.UploadBytes && out >= 4*in {
			f.add(ThreatCloudUpload, ev.DestIP.String(), "%s sent %s to %s (%s, cloud storage) in %s: a backup or a copy to storage outside",
				ev.SrcIP, size(out), ev.DestIP, d.answers.name(ans.Reg), span())
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
	if out >= limit && out >= 4*in {
		id, what := ThreatExfilUpload, "tcp"
		if ssh {
			id, what = ThreatExfilSSH, "SSH"
		}
		f.add(id, fmt.Sprint(ev.DestIP, ":", ev.DestPort), "%s sent %s to %s over %s/%d in %s and received %s",
			ev.SrcIP, size(out), ev.DestIP, what, ev.DestPort, span(), size(in))
		return
	}
	if !named || ans.Reg == 0 || ev.BytesOut < 4*ev.BytesIn {
		return
	}
	u := d.domains.get(uploadKey{Src: ev.SrcIP.As16(), Dom: ans.Reg}, o.now)
	if out, in, fresh, ok = u.Bytes.add(o.now, d.th.Horizon/longBuckets, ev.BytesOut, ev.BytesIn); !ok {
		return
	}
	if fresh {
		u.Start, u.Addrs = o.now, 0
	}
	if o.newPair {
		u.Addrs++
	}
	if out >= dayUploadBytes && out >= 4*in {
		reg := d.answers.name(ans.Reg)
		f.add(ThreatExfilUpload, reg, "%s sent %s to %s (%d addresses) in %s and received %s",
			ev.SrcIP, size(out), reg, max(u.Addrs, 1), windowSince(o.now, u.Start, d.th.Horizon), size(in))
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
