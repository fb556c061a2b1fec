package score

// The reference logs are read through the project's own parsers, as
// `nfr-parse-bro | nfr-score` and `nfr-parse-suricata | nfr-score` read them.

import (
	"bufio"
	"bytes"
	"os"

	"github.com/nfr-project/nfr/pkg/event"
	"github.com/nfr-project/nfr/pkg/suricata"
	"github.com/nfr-project/nfr/pkg/zeek"
)

// lineParser is what the Zeek and eve parsers have in common.
type lineParser interface {
	Line(line []byte, emit func(*event.Event) error) error
	Flush(emit func(*event.Event) error) error
}

// readZeek reads one Zeek log (TSV or JSON) of kind dns, conn, http or ssl.
func readZeek(path, kind string) ([]event.Event, error) {
	return readLog(path, zeek.NewParser(path, kind, zeek.NewCerts()))
}

// readEve reads the events of an eve.json file.
func readEve(path string) ([]event.Event, error) {
	return readLog(path, suricata.NewParser(path))
}

var masked, epoch = []byte("XXXXXXXXXX.XXXXXX"), []byte("0.000000")

// readLog feeds the lines of path to p. Lines p rejects are skipped, as the
// parsers' commands skip (and count) them.
func readLog(path string, p lineParser) ([]event.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []event.Event
	emit := func(e *event.Event) error {
		// The parser reuses e: keep a copy, made through the wire format
		// the engine reads in a pipeline.
		var c event.Event
		if err := event.Unmarshal(e.AppendJSON(nil), &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		// Zeek's test baselines mask their timestamps, which the parser
		// rightly refuses: read them as the epoch.
		p.Line(bytes.ReplaceAll(sc.Bytes(), masked, epoch), emit)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, p.Flush(emit)
}
