package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

type opts struct {
	Common
	Files []string `short:"r" long:"read" description:"file to read"`
}

func TestParse(t *testing.T) {
	tests := []struct {
		args           []string
		done           bool
		code           int
		stdout, stderr string
		rest           []string
	}{
		{args: []string{"-r", "a", "x"}, rest: []string{"x"}},
		{args: []string{"--help"}, done: true, stdout: "Usage:"},
		{args: []string{"-h"}, done: true, stdout: "Usage:"},
		{args: []string{"--version"}, done: true, stdout: "prog dev\n"},
		{args: []string{"--bogus"}, done: true, code: 2, stderr: "prog: error: unknown flag `bogus'\nprog: hint: run: prog --help\n"},
	}
	for _, tt := range tests {
		var o opts
		var out, errb bytes.Buffer
		u := New("prog", &errb)
		rest, done, code := u.Parse(&o, "[OPTIONS] [FILE...]", tt.args, &out)
		if done != tt.done || code != tt.code {
			t.Errorf("%q: done %v code %d, want %v %d", tt.args, done, code, tt.done, tt.code)
		}
		if !strings.Contains(out.String(), tt.stdout) || (tt.stdout == "" && out.Len() > 0) {
			t.Errorf("%q: stdout %q, want %q", tt.args, out.String(), tt.stdout)
		}
		if errb.String() != tt.stderr {
			t.Errorf("%q: stderr %q, want %q", tt.args, errb.String(), tt.stderr)
		}
		if fmt.Sprint(rest) != fmt.Sprint(tt.rest) {
			t.Errorf("%q: rest %q, want %q", tt.args, rest, tt.rest)
		}
	}
}

func TestWarnLimit(t *testing.T) {
	var errb bytes.Buffer
	u := New("p", &errb)
	u.MaxWarnings = 2
	for i := 0; i < 5; i++ {
		u.Warnf("f:%d: bad", i+1)
	}
	u.Summary()
	want := "p: warning: f:1: bad\np: warning: f:2: bad\np: warning: 3 more warnings not shown (5 in all)\n"
	if errb.String() != want {
		t.Errorf("got %q, want %q", errb.String(), want)
	}
}

func TestIsTerminalDevNull(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("/dev/null taken for a terminal: output there would be flushed per line")
	}
}
