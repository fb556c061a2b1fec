package pcaptest

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Record is one line of a Zeek TSV log, by field name.
type Record map[string]string

// ZeekLog reads a Zeek TSV log (with its #fields header).
func ZeekLog(t testing.TB, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fields []string
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#fields\t") {
			fields = strings.Split(line, "\t")[1:]
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if fields == nil {
			// A zeek-cut subset: its first line names the columns.
			fields = strings.Split(line, "\t")
			continue
		}
		vals := strings.Split(line, "\t")
		r := Record{}
		for i, name := range fields {
			if i < len(vals) {
				r[name] = vals[i]
			}
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Report ends a reference comparison: diffs must be empty unless the case
// is a known difference (reason non-empty), and a known difference that
// has gone away is an error too, so the list stays true.
func Report(t testing.TB, reason string, matched, total int, diffs []string) {
	t.Helper()
	switch {
	case reason != "" && len(diffs) == 0:
		t.Errorf("now matches the reference in full; remove it from the known differences (%s)", reason)
	case reason != "":
		t.Logf("%d/%d records match; known difference: %s", matched, total, reason)
		for _, d := range diffs {
			t.Log(d)
		}
	case len(diffs) > 0:
		t.Errorf("%d/%d records match", matched, total)
		for _, d := range diffs {
			t.Error(d)
		}
	default:
		t.Logf("%d/%d records match", matched, total)
	}
}
