package tail

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"
)

func gz(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestGzipInGzipsWords: a gzip file with trailing garbage is read whole
// with gzip(1)'s warning; one cut short is read up to the cut and fails
// with gzip(1)'s error; concatenated members are all read.
func TestGzipInGzipsWords(t *testing.T) {
	body := "one\ntwo\nthree\n"
	for _, c := range []struct {
		name, want, warn string
		b                []byte
		err              string
	}{
		{"trailing garbage", body, "x.gz:4: decompression OK, trailing garbage ignored", append(gz(body), "garbage after it\n"...), ""},
		{"one byte of garbage", body, "x.gz:4: decompression OK, trailing garbage ignored", append(gz(body), 'x'), ""},
		{"two members", body + "four\n", "", append(gz(body), gz("four\n")...), ""},
		{"truncated", "", "", func() []byte { b := gz(body + strings.Repeat("more\n", 10000)); return b[:len(b)-10] }(), "unexpected end of file"},
		{"bad crc", body, "", func() []byte { b := gz(body); b[len(b)-6] ^= 1; return b }(), "invalid compressed data--crc error"},
	} {
		h := newHarness(t)
		os.WriteFile(h.path("x.gz"), c.b, 0o644)
		o := h.options(nil)
		o.State = ""
		_, err := Run([]string{h.path("x.gz")}, o)
		got := strings.Join(h.lines, "\n")
		if got != "" {
			got += "\n"
		}
		var oe *OpenError
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (!errors.As(err, &oe) || err.Error() != h.path("x.gz")+": "+c.err):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
		if c.err == "" && got != c.want {
			t.Errorf("%s: read %q", c.name, got)
		}
		if strings.Join(h.warns, "|") != c.warn {
			t.Errorf("%s: warnings %q, want %q", c.name, h.warns, c.warn)
		}
	}
}
