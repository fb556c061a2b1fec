package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestWarningsInOrderAndQuoted: bad lines of both kinds (not an object,
// found by the reader; a bad field, found by a decoder) are reported in
// input order, and raw bytes from the input are quoted as \xNN.
func TestWarningsInOrderAndQuoted(t *testing.T) {
	var in strings.Builder
	for i := range 2000 {
		switch i % 7 {
		case 0:
			in.WriteString("not json \xff\n")
		case 3:
			fmt.Fprintf(&in, `{"type":"dns","ts":"2026-11-02T09:00:00Z","srcIP":"10.0.0.\xff%d","query":"a.example"}`+"\n", i)
		default:
			fmt.Fprintf(&in, `{"type":"dns","ts":"2026-11-02T09:00:00Z","srcIP":"10.0.0.1","query":"q%d.example","qtype":"A"}`+"\n", i)
		}
	}
	_, errs, code := runBin(t, []byte(in.String()))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.ContainsRune(errs, 0xfffd) || strings.Contains(errs, "\xff") {
		t.Errorf("raw bytes on stderr: %q", errs)
	}
	if !strings.Contains(errs, `\xff`) {
		t.Errorf("the bad byte is not quoted: %.300s", errs)
	}
	last := 0
	for _, m := range regexp.MustCompile(`warning: -:(\d+):`).FindAllStringSubmatch(errs, -1) {
		n, _ := strconv.Atoi(m[1])
		if n <= last {
			t.Fatalf("warning for line %d after line %d", n, last)
		}
		last = n
	}
	if last == 0 {
		t.Errorf("no warnings: %s", errs)
	}
}
