package score

import (
	"path/filepath"
	"strings"

	"github.com/nfr-project/nfr/pkg/capture"
	"github.com/nfr-project/nfr/pkg/decode"
	"github.com/nfr-project/nfr/pkg/event"
)

// isCapture tells the captures of the shared data (pcap/, and those of the
// suricata/, ja4/ and tcpdump/ cases) from the files beside them; Zeek's
// cases are read from their logs, not their captures.
func isCapture(root, f string) bool {
	rel, _ := filepath.Rel(root, f)
	rel = filepath.ToSlash(rel)
	ext := filepath.Ext(f)
	if ext != ".pcap" && ext != ".pcapng" {
		return false
	}
	for _, dir := range []string{"pcap/", "suricata/", "ja4/", "tcpdump/"} {
		if strings.HasPrefix(rel, dir) {
			return true
		}
	}
	return false
}

// readCapture turns a capture into events as nfr-capture does with every
// type on. A capture cut short (pcap/broken) gives the events before the
// cut; the error is returned for the others.
func readCapture(path string) ([]event.Event, error) {
	var evs []event.Event
	a, err := capture.NewAnalysers(capture.DefaultTypes(), capture.Options{Emit: func(e *event.Event) { evs = append(evs, *e) }})
	if err != nil {
		return nil, err
	}
	r := &capture.Runner{Decoder: decode.NewDecoder(a.Handlers...)}
	f, err := capture.Open(path, nil)
	if err == nil {
		err = r.Run(f, filepath.Base(path))
		f.Close()
	}
	r.Finish()
	if err != nil && strings.Contains(filepath.ToSlash(path), "/pcap/broken/") {
		err = nil
	}
	return evs, err
}
