package intel

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// Formats Load understands.
var Formats = []string{"plain", "hosts", "csv", "tor-exits", "feodo", "urlhaus", "threatfox", "sslbl-ja3", "zeek-intel"}

// Feed describes one user feed file.
type Feed struct {
	Name   string // shown in alerts; defaults to the file's base name
	Format string // one of Formats
	Threat string // threat id its indicators imply
	Column int    // 1-based column for csv
}

// LoadStats counts what one Load did.
type LoadStats struct {
	Added   int
	Skipped int    // lines that held no usable indicator
	First   string // "line N: why" of the first skipped line
}

func (st *LoadStats) skip(line int, why string) {
	st.Skipped++
	if st.First == "" {
		st.First = fmt.Sprintf("line %d: %s", line, why)
	}
}

// Load reads indicators in f.Format from r into s. Bad lines are skipped and
// counted; only read errors and an unknown format are errors.
func (s *Set) Load(r io.Reader, f Feed) (LoadStats, error) {
	var st LoadStats
	tag := Tag{Threat: f.Threat, Source: f.Name}
	add := func(line int, v string, kind string) {
		if s.addTyped(v, kind, tag) {
			st.Added++
		} else {
			st.skip(line, fmt.Sprintf("%q is not a %s indicator", clip(v), kindName(kind)))
		}
	}
	switch f.Format {
	case "plain", "", "feodo", "urlhaus", "tor-exits", "hosts", "zeek-intel":
		return st, s.loadLines(r, f, &st, add)
	case "csv", "threatfox", "sslbl-ja3":
		col, kind := f.Column, ""
		switch f.Format {
		case "threatfox":
			col = 3
		case "sslbl-ja3":
			col, kind = 1, "ja3"
		}
		if col < 1 {
			return st, errors.New("csv feed needs a column (1-based)")
		}
		return st, loadCSV(r, col, &st, func(line int, rec []string) {
			v := rec[col-1]
			k := kind
			if f.Format == "threatfox" && len(rec) > 3 {
				switch strings.TrimSpace(rec[3]) {
				case "ip:port":
					k = "ip"
				case "domain", "url":
				default: // md5_hash, sha256_hash, ...: not network indicators
					st.Skipped++
					return
				}
			}
			add(line, v, k)
		})
	}
	return st, fmt.Errorf("unknown feed format %q (one of %s)", f.Format, strings.Join(Formats, ", "))
}

func (s *Set) loadLines(r io.Reader, f Feed, st *LoadStats, add func(int, string, string)) error {
	zeekCols := map[string]int{}
	return eachLine(r, maxFeedLine, func(n int, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		if f.Format == "zeek-intel" && bytes.HasPrefix(line, []byte("#fields")) {
			for i, name := range strings.Split(string(line), "\t")[1:] {
				zeekCols[name] = i
			}
			return
		}
		if line[0] == '#' || line[0] == ';' || bytes.HasPrefix(line, []byte("//")) {
			return
		}
		if f.Format == "plain" || f.Format == "" {
			// The common case of millions of lines: no copies but the key.
			v := firstField(unsafeString(line))
			if v != "" {
				add(n, strings.Clone(v), "")
			}
			return
		}
		text := string(line)
		switch f.Format {
		case "hosts":
			fields := strings.Fields(stripComment(text))
			if len(fields) < 2 {
				st.skip(n, "want ADDRESS NAME...")
				return
			}
			for _, h := range fields[1:] {
				if h == "localhost" || strings.HasPrefix(h, "localhost.") || h == "broadcasthost" || strings.HasPrefix(h, "ip6-") {
					continue
				}
				add(n, h, "domain")
			}
		case "tor-exits":
			fields := strings.Fields(text)
			if len(fields) >= 2 && fields[0] == "ExitAddress" {
				add(n, fields[1], "ip")
			}
		case "feodo", "urlhaus":
			// Both publish a plain list and a CSV with the indicator in
			// the second (feodo dst_ip) or third (urlhaus url) column.
			v := stripComment(text)
			if strings.Contains(v, ",") {
				rec, err := csvLine(v)
				col := 1
				if f.Format == "urlhaus" {
					col = 2
				}
				if err != nil || len(rec) <= col {
					st.skip(n, "not a feed line")
					return
				}
				if f.Format == "urlhaus" {
					add(n, rec[col], "url")
				} else {
					add(n, rec[col], "ip")
				}
				return
			}
			kind := "ip"
			if f.Format == "urlhaus" {
				kind = "url"
			}
			add(n, strings.Fields(v)[0], kind)
		case "zeek-intel":
			fields := strings.Split(text, "\t")
			ic, ok1 := zeekCols["indicator"]
			tc, ok2 := zeekCols["indicator_type"]
			if !ok1 || !ok2 {
				ic, tc = 0, 1
			}
			if len(fields) <= ic || len(fields) <= tc {
				st.skip(n, "too few fields")
				return
			}
			kind := ""
			switch fields[tc] {
			case "Intel::ADDR", "Intel::SUBNET":
				kind = "ip"
			case "Intel::DOMAIN":
				kind = "domain"
			case "Intel::URL":
				kind = "url"
			case "Intel::JA3":
				kind = "ja3"
			default: // hashes, e-mail addresses, software, ...
				st.Skipped++
				return
			}
			add(n, fields[ic], kind)
		default:
			v := firstField(text)
			if v == "" {
				return
			}
			add(n, v, "")
		}
	}, func(n int) { st.skip(n, fmt.Sprintf("line longer than %d bytes", maxFeedLine)) })
}

// maxFeedLine is the longest feed line read; a longer one is skipped and
// counted like any other bad line.
const maxFeedLine = 1 << 20

// eachLine calls fn with each line of r (its line end included) and its
// number; a line longer than max is not read into memory but skipped and
// reported to long, so it costs that line, not the feed.
func eachLine(r io.Reader, max int, fn func(n int, line []byte), long func(n int)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	n, skipping := 0, false
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !skipping && len(buf)+len(frag) > max {
				skipping, buf = true, buf[:0]
			}
			if !skipping {
				buf = append(buf, frag...)
			}
			continue
		}
		if len(frag) > 0 || len(buf) > 0 || skipping {
			n++
			switch {
			case skipping || len(buf)+len(frag) > max:
				long(n)
			case len(buf) > 0:
				fn(n, append(buf, frag...))
			default:
				fn(n, frag)
			}
			buf, skipping = buf[:0], false
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func loadCSV(r io.Reader, col int, st *LoadStats, fn func(int, []string)) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				st.skip(pe.Line, pe.Err.Error())
				continue
			}
			return err
		}
		if len(rec) < col {
			st.skip(line, fmt.Sprintf("no column %d", col))
			continue
		}
		fn(line, rec)
	}
}

func csvLine(s string) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(s))
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	return cr.Read()
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// addTyped adds v as kind ("ip", "domain", "url", "ja3", "ja4"), or guesses
// the kind when it is "". It reports whether v was a usable indicator.
func (s *Set) addTyped(v, kind string, t Tag) bool {
	v = strings.TrimSpace(strings.Trim(v, `"'`))
	if v == "" {
		return false
	}
	if kind == "" {
		kind = guessKind(v)
	}
	switch kind {
	case "ip":
		if p, err := netip.ParsePrefix(v); err == nil {
			s.AddPrefix(p, t)
			return true
		}
		if a, err := netip.ParseAddr(v); err == nil {
			s.AddIP(a, t)
			return true
		}
		if ap, err := netip.ParseAddrPort(v); err == nil {
			s.AddIP(ap.Addr(), t) // ThreatFox ip:port: the host is what matters
			return true
		}
		return false
	case "domain":
		d := NormalizeDomain(v)
		if d == "" || !strings.Contains(d, ".") {
			return false
		}
		s.AddDomain(d, t)
		return true
	case "url":
		if NormalizeURL(v) == "" {
			return false
		}
		s.AddURL(v, t)
		return true
	case "ja3":
		if !isHex(v, 32) {
			return false
		}
		s.AddJA3(v, t)
		return true
	case "ja4":
		s.AddJA4(v, t)
		return true
	}
	return false
}

// firstField returns the first blank-separated field of s before any '#'.
func firstField(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '#' {
		j++
	}
	return s[i:j]
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// looksNumeric reports whether v could be an address (digits, hex, dots,
// colons), so names skip the costly failing parse.
func looksNumeric(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.' || c == ':' || c == '[' || c == ']' || c == '%') {
			return false
		}
	}
	return true
}

func guessKind(v string) string {
	switch {
	case strings.Contains(v, "://"):
		return "url"
	case isJA4(v):
		return "ja4"
	case strings.IndexByte(v, '/') > 0:
		if _, err := netip.ParsePrefix(v); err == nil {
			return "ip"
		}
		return "url"
	}
	if !looksNumeric(v) {
		return "domain"
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return "ip"
	}
	if _, err := netip.ParseAddrPort(v); err == nil {
		return "ip"
	}
	return "domain"
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isJA4 recognises t13d1516h2_8daaf6152771_02713d6af862 (TCP, QUIC or DTLS).
func isJA4(s string) bool {
	if len(s) != 36 || s[10] != '_' || s[23] != '_' {
		return false
	}
	p := strings.Split(s, "_")
	if len(p) != 3 || len(p[0]) != 10 || !isHex(p[1], 12) || !isHex(p[2], 12) {
		return false
	}
	c := p[0][0]
	if c != 't' && c != 'q' && c != 'd' {
		return false
	}
	_, err := strconv.Atoi(p[0][4:8])
	return err == nil
}

func kindName(k string) string {
	if k == "" {
		return "domain, IP, CIDR, URL or fingerprint"
	}
	return k
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// LoadFile loads the feed file path into s; a name ending in .gz is read
// through gzip. f.Name defaults to the file's base name.
func (s *Set) LoadFile(path string, f Feed) (LoadStats, error) {
	if f.Name == "" {
		f.Name = filepath.Base(path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return LoadStats{}, err
	}
	defer fh.Close()
	var r io.Reader = fh
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(fh)
		if err != nil {
			return LoadStats{}, fmt.Errorf("%s: %v", path, err)
		}
		defer zr.Close()
		r = zr
	}
	st, err := s.Load(bufio.NewReaderSize(r, 1<<20), f)
	if err != nil {
		return st, fmt.Errorf("%s: %v", path, err)
	}
	return st, nil
}
