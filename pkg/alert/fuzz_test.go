package alert

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzFormat: any line that decodes formats without panicking, and the
// line formats keep line ends out of their output.
func FuzzFormat(f *testing.F) {
	for _, l := range demoAlerts(f)[:5] {
		f.Add(l)
	}
	f.Add([]byte(tricky))
	f.Fuzz(func(t *testing.T, line []byte) {
		var a Alert
		if Parse(line, &a) != nil {
			return
		}
		for _, name := range Formats {
			out := (&Formatter{Name: name, Host: "h"}).AppendSyslog(nil, &a)
			if name != "json" && name != "ecs" && name != "gelf" && bytes.ContainsAny(out, "\n\r") {
				t.Fatalf("%s: line end in %q", name, out)
			}
		}
	})
}

// FuzzRELPFrame: the RELP client reads whatever a server sends without
// panicking or allocating without bound.
func FuzzRELPFrame(f *testing.F) {
	f.Add([]byte("1 rsp 6 200 OK\n"))
	f.Add([]byte("0 serverclose 0\n"))
	f.Add([]byte("2 rsp 92 200 OK\nrelp_version=0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &relpSender{br: bufio.NewReader(bytes.NewReader(b))}
		for i := 0; i < 10; i++ {
			if _, _, _, err := s.readFrame(); err != nil {
				return
			}
		}
	})
}
