package score

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/event"
)

// label is one line of testdata/labels.tsv.
type label struct {
	dataset string // a directory under the shared test data
	expect  []string
	none    bool // a benign set: no non-policy alert
	why     string
}

func readLabels(t *testing.T) []label {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ls []label
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 3 {
			t.Fatalf("labels.tsv:%d: %d fields, want 3", n, len(fs))
		}
		l := label{dataset: fs[0], why: fs[2]}
		switch fs[1] {
		case "none":
			l.none = true
		case "-":
		default:
			l.expect = strings.Split(fs[1], ",")
			for _, id := range l.expect {
				if _, ok := Lookup(id); !ok {
					t.Fatalf("labels.tsv:%d: unknown threat %q", n, id)
				}
			}
		}
		ls = append(ls, l)
	}
	return ls
}

// datasets expands a label's dataset (a directory, or a glob of them; a
// Zeek case's legacy-zeek-3.3.0-dev copy is a dataset of its own) into
// directories relative to the shared root.
func datasets(root, pattern string) []string {
	dirs, _ := filepath.Glob(filepath.Join(root, pattern))
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		rel, _ := filepath.Rel(root, d)
		out = append(out, rel)
		if legacy := filepath.Join(d, "legacy-zeek-3.3.0-dev"); isDir(legacy) {
			out = append(out, filepath.Join(rel, "legacy-zeek-3.3.0-dev"))
		}
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// scoreDataset runs the logs of one dataset through a Filter as nfr-score
// runs them: in file order (one input per log, merged by time, the reorder
// buffer sorting the rest) and in time order (all events sorted into one
// input). It returns the alerts of each run and the number of events.
func scoreDataset(t *testing.T, dir string) (fileOrder, timeOrder []*event.Event, n int) {
	t.Helper()
	cs := loadCorpora(t, dir+"/*")
	var inputs [][]byte
	var all []event.Event
	for _, c := range cs {
		var b bytes.Buffer
		for i := range c.events {
			b.Write(c.events[i].AppendJSON(nil))
			b.WriteByte('\n')
		}
		inputs = append(inputs, b.Bytes())
		all = append(all, c.events...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].TS.Before(all[j].TS) })
	var sorted bytes.Buffer
	for i := range all {
		sorted.Write(all[i].AppendJSON(nil))
		sorted.WriteByte('\n')
	}
	return filterAlerts(t, inputs...), filterAlerts(t, sorted.Bytes()), len(all)
}

// filterAlerts scores the inputs with a Filter and decodes the alerts.
func filterAlerts(t *testing.T, inputs ...[]byte) []*event.Event {
	t.Helper()
	var alerts []*event.Event
	for _, l := range bytes.Split(bytes.TrimSpace(runFilter(t, inputs...)), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		a := new(event.Event)
		if err := event.Unmarshal(l, a); err != nil {
			t.Fatalf("alert %s: %v", l, err)
		}
		alerts = append(alerts, a)
	}
	return alerts
}

// byThreat counts incidents (not their updates) per threat; policy ones
// are marked with a trailing "(policy)".
func byThreat(alerts []*event.Event) map[string]int {
	m := map[string]int{}
	for _, a := range alerts {
		if a.Count > 1 {
			continue
		}
		for id, th := range a.Threats {
			if th.Policy {
				id += "(policy)"
			}
			m[id]++
		}
	}
	return m
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "nothing"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%d", k, m[k])
	}
	return b.String()
}

// TestLabelledData checks nfr-score against every labelled real dataset of
// testdata/labels.tsv: the named behaviour alerts in file order and in
// time order, and benign sets raise no threat (policy alerts, such as the
// clear-text logins of Zeek's POP3 trace, are allowed and counted).
func TestLabelledData(t *testing.T) {
	root := testenv.Shared(t)
	benignEvents, benignAlerts := 0, 0
	for _, l := range readLabels(t) {
		dirs := datasets(root, l.dataset)
		if len(dirs) == 0 {
			t.Errorf("%s: no such dataset", l.dataset)
			continue
		}
		for _, dir := range dirs {
			fo, to, n := scoreDataset(t, dir)
			if n == 0 {
				continue
			}
			got := [2]map[string]int{byThreat(fo), byThreat(to)}
			want := "-"
			switch {
			case l.none:
				want = "none"
			case len(l.expect) > 0:
				want = strings.Join(l.expect, ",")
			}
			t.Logf("eval: %s\t%d events\texpect %s\tfile order: %s\ttime order: %s", dir, n, want, formatCounts(got[0]), formatCounts(got[1]))
			for i, order := range []string{"file order", "time order"} {
				for _, id := range l.expect {
					if got[i][id] == 0 {
						t.Errorf("%s (%s): no %s alert in %s; got %s", dir, l.why, id, order, formatCounts(got[i]))
					}
				}
				if !l.none {
					continue
				}
				alerts := [2][]*event.Event{fo, to}[i]
				for _, a := range alerts {
					if a.Count > 1 || isPolicy(a) {
						continue
					}
					t.Errorf("%s (benign, %s): %s %s -> %s %s: %s", dir, order, ids(a), a.SrcIP, a.DestIP, a.Query+a.SNI+a.Host, a.Reason)
					if i == 1 {
						benignAlerts++
					}
				}
				if i == 1 {
					benignEvents += n
				}
			}
		}
	}
	t.Logf("eval: benign: %d events, %d threat alerts: %.2f per 10,000 events", benignEvents, benignAlerts, float64(benignAlerts)/float64(max(benignEvents, 1))*10000)
}
