package scope

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary scope files to the loader: it must return a
// scope or errors naming the file, never panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(DefaultYAML))
	f.Add([]byte(testScope))
	if b, err := os.ReadFile("testdata/scope.yml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("groups:\n  a:\n    in_scope: [10.0.0.0/8, '::/0', 1.2.3.4]\n    trusted_domains: ['*.x', .y, z.]\n"))
	f.Add([]byte("groups:\n  a: {networks: [0.0.0.0/0], exclude: {networks: [fe80::/10], domains: ['*.a.b']}}\n"))
	f.Add([]byte("groups: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yml")
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(s.Groups()) == 0 || len(s.Groups()) > MaxGroups {
			t.Fatalf("%d groups", len(s.Groups()))
		}
	})
}

// FuzzLine feeds arbitrary lines to the filter: no panic; a kept line is
// the input plus a "groups" field, anything passed is the input itself.
func FuzzLine(f *testing.F) {
	for _, l := range bytes.Split(mustRead(f, "testdata/events.ndjson"), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"type":"dns","srcIP":"10.1.1.1","query":"a\u0041.corp.example","groups":[{"x":"]"}]}`))
	f.Add([]byte(`{"type":"http","srcIP":"::ffff:10.1.1.1","destIP":"[::1]","host":"[::1]:80"}`))
	f.Add([]byte(`{"type":"tls","srcIP":"10.1.1.1","sni":"\ud83d\ude00."}`))
	s := mustParse(f, testScope)
	flt := NewFilter(s)
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		out, v, err := flt.Line(line)
		if err != nil {
			return
		}
		switch v {
		case Pass:
			if !bytes.Equal(out, line) {
				t.Fatalf("passed line changed: %q -> %q", line, out)
			}
		case Keep:
			if !bytes.Contains(out, []byte(`"groups":[`)) {
				t.Fatalf("kept line without groups: %q", out)
			}
			if json.Valid(line) && !json.Valid(out) {
				t.Fatalf("valid JSON %q became invalid: %q", line, out)
			}
		default:
			if out != nil {
				t.Fatalf("dropped line with output %q", out)
			}
		}
	})
}

func mustRead(tb testing.TB, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
