// Package account is nfr-account: registering for an API key, checking it,
// asking for a reset, and writing the key into config.yml without losing
// the rest of the file or its comments.
package account

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/nfr-project/nfr/pkg/config"
	"github.com/nfr-project/nfr/pkg/spool"
)

var (
	sectionLine = regexp.MustCompile(`^alphasoc:[ \t]*(#.*)?$`)
	flowSection = regexp.MustCompile(`^alphasoc:[ \t]*[^ \t#]`)
	// A key line inside the section: indentation, key, value, comment.
	keyLine  = regexp.MustCompile(`^([ \t]+)([A-Za-z_]+):([ \t]*)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^#\s][^#]*?)?([ \t]+#.*)?[ \t]*$`)
	keyChars = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]{1,256}$`)
)

// ValidKey reports whether k looks like an API key we can write safely.
func ValidKey(k string) bool { return keyChars.MatchString(k) }

// SetAlphaSOC returns config.yml content src with alphasoc.<field> set to
// value for each pair of set, keeping every other byte: comments, order,
// blank lines, other sections. A field already there keeps its indentation
// and trailing comment; a missing one is added at the top of the section;
// a missing section is appended. The result is checked by parsing both
// files: nothing but those fields may differ.
func SetAlphaSOC(src []byte, name string, set map[string]string) ([]byte, error) {
	orig, err := config.Parse(src, name)
	if err != nil {
		return nil, fmt.Errorf("not changing a config that does not load: %w", err)
	}
	lines := strings.SplitAfter(string(src), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	start := -1
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if sectionLine.MatchString(t) {
			start = i
			break
		}
		if flowSection.MatchString(t) {
			return nil, fmt.Errorf("%s:%d: the alphasoc section is written on one line; write it as a block to let nfr-account edit it", name, i+1)
		}
	}
	eol := "\n"
	if len(lines) > 0 && strings.HasSuffix(lines[0], "\r\n") {
		eol = "\r\n"
	}
	fields := make([]string, 0, len(set))
	for f := range set {
		fields = append(fields, f)
	}
	sortStrings(fields)
	if start < 0 {
		var b strings.Builder
		b.WriteString(strings.Join(lines, ""))
		if len(lines) > 0 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
			b.WriteString(eol)
		}
		b.WriteString(eol + "# The analytics API; written by nfr-account." + eol + "alphasoc:" + eol)
		for _, f := range fields {
			b.WriteString("  " + f + ": " + strconv.Quote(set[f]) + eol)
		}
		return check(orig, []byte(b.String()), name, set)
	}
	indent := "  "
	found := map[string]bool{}
	for i := start + 1; i < len(lines); i++ {
		t := strings.TrimRight(lines[i], "\r\n")
		if t != "" && t[0] != ' ' && t[0] != '\t' && t[0] != '#' {
			break // the next section
		}
		m := keyLine.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		indent = m[1]
		v, ok := set[m[2]]
		if !ok || found[m[2]] {
			continue
		}
		found[m[2]] = true
		sep := m[3]
		if sep == "" {
			sep = " "
		}
		lines[i] = m[1] + m[2] + ":" + sep + strconv.Quote(v) + m[5] + lines[i][len(t):]
	}
	var add []string
	for _, f := range fields {
		if !found[f] {
			add = append(add, indent+f+": "+strconv.Quote(set[f])+eol)
		}
	}
	out := append(append(append([]string{}, lines[:start+1]...), add...), lines[start+1:]...)
	return check(orig, []byte(strings.Join(out, "")), name, set)
}

// check parses the edited file and compares it with the original.
func check(orig *config.Config, b []byte, name string, set map[string]string) ([]byte, error) {
	got, err := config.Parse(b, name)
	if err != nil {
		return nil, fmt.Errorf("%s: editing went wrong (%v); the file was not changed", name, err)
	}
	want := *orig
	for f, v := range set {
		switch f {
		case "api_key":
			want.AlphaSOC.APIKey = v
		case "host":
			want.AlphaSOC.Host = v
		default:
			return nil, fmt.Errorf("alphasoc.%s: not a field nfr-account sets", f)
		}
	}
	if !reflect.DeepEqual(&want, got) {
		return nil, fmt.Errorf("%s: editing would change more than the alphasoc fields; the file was not changed", name)
	}
	return b, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// header starts a config.yml that nfr-account creates.
const header = `# NFR configuration, created by nfr account register. It holds the API
# key: keep it mode 0600. Every setting is described in the sample config.yml
# (see nfr-submit(1) and nfr(1)).
`

// WriteKey sets alphasoc.api_key (and alphasoc.host, when host is not
// empty) in the config.yml at path, creating it (mode 0600) when missing.
// An existing file is edited where it is: through a symbolic link, the
// file it points to, which keeps its owner, group and mode (less any
// access for others, since it now holds a secret); the replacement is
// atomic.
func WriteKey(path, key, host string) error {
	if !ValidKey(key) {
		return errors.New("the server sent a key with unexpected characters; not writing it")
	}
	perm, uid, gid := os.FileMode(0o600), -1, -1
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
		if fi, err := os.Stat(path); err == nil {
			perm = fi.Mode().Perm() &^ 0o007
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
	}
	src, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		src = []byte(header)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	set := map[string]string{"api_key": key}
	if host != "" {
		set["host"] = host
	}
	out, err := SetAlphaSOC(src, path, set)
	if err != nil {
		return err
	}
	if bytes.Equal(out, src) {
		return nil
	}
	if uid == os.Geteuid() && gid == os.Getegid() {
		uid, gid = -1, -1 // ours already: no chown, which needs no privilege
	}
	return spool.ReplaceFileOwned(path, out, perm, uid, gid)
}
