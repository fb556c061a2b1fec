package account

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
	"github.com/nfr-project/nfr/pkg/config"
)

func TestSetAlphaSOC(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		set            map[string]string
		err            string
	}{
		{"replace, keep comment and indentation",
			"# top\nalphasoc:\n    host: https://a.example  # where\n    api_key: \"\"   # the key\nsubmit:\n  gzip: true\n",
			"# top\nalphasoc:\n    host: https://a.example  # where\n    api_key: \"K1\"   # the key\nsubmit:\n  gzip: true\n",
			map[string]string{"api_key": "K1"}, ""},
		{"add missing field at the top of the section",
			"alphasoc:\n  # the server\n  host: https://a.example\n\n# next\nsubmit: {}\n",
			"alphasoc:\n  api_key: \"K1\"\n  # the server\n  host: https://a.example\n\n# next\nsubmit: {}\n",
			map[string]string{"api_key": "K1"}, ""},
		{"both fields, unquoted and single-quoted values",
			"alphasoc:\n  host: 'https://old.example'\n  api_key: oldkey\n",
			"alphasoc:\n  host: \"http://127.0.0.1:8080\"\n  api_key: \"K2\"\n",
			map[string]string{"api_key": "K2", "host": "http://127.0.0.1:8080"}, ""},
		{"no section", "submit:\n  gzip: true", "submit:\n  gzip: true\n\n# The analytics API; written by nfr-account.\nalphasoc:\n  api_key: \"K\"\n",
			map[string]string{"api_key": "K"}, ""},
		{"empty file", "", "\n# The analytics API; written by nfr-account.\nalphasoc:\n  api_key: \"K\"\n", map[string]string{"api_key": "K"}, ""},
		{"CRLF", "alphasoc:\r\n  api_key: \"\"\r\n", "alphasoc:\r\n  api_key: \"K\"\r\n", map[string]string{"api_key": "K"}, ""},
		{"empty value", "alphasoc:\n  api_key:\n", "alphasoc:\n  api_key: \"K\"\n", map[string]string{"api_key": "K"}, ""},
		{"flow style refused", "alphasoc: {host: https://a.example}\n", "", map[string]string{"api_key": "K"}, "c.yml:1: the alphasoc section is written on one line"},
		{"broken config refused", "alphasoc:\n  api_kye: x\n", "", map[string]string{"api_key": "K"}, "does not load"},
		{"api_key of another section untouched",
			"engine:\n  listen: 127.0.0.1:8080\nalphasoc:\n  host: https://a.example\n",
			"engine:\n  listen: 127.0.0.1:8080\nalphasoc:\n  api_key: \"K\"\n  host: https://a.example\n",
			map[string]string{"api_key": "K"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetAlphaSOC([]byte(tc.in), "c.yml", tc.set)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestSampleConfig edits the repository's config.yml: only the api_key
// line may change.
func TestSampleConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testenv.Root(t), "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := SetAlphaSOC(src, "config.yml", map[string]string{"api_key": "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Split(string(src), "\n"), strings.Split(string(got), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count changed: %d -> %d", len(a), len(b))
	}
	changed := 0
	for i := range a {
		if a[i] != b[i] {
			changed++
			if strings.TrimSpace(b[i]) != `api_key: "abc123"` {
				t.Errorf("line %d: %q -> %q", i+1, a[i], b[i])
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want 1", changed)
	}
	c, err := config.Parse(got, "config.yml")
	if err != nil || c.AlphaSOC.APIKey != "abc123" {
		t.Fatalf("%v %q", err, c.AlphaSOC.APIKey)
	}
}

func TestWriteKeyMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yml")
	os.WriteFile(p, []byte("# mine\nalphasoc:\n  api_key: \"\"\n"), 0o644)
	if err := WriteKey(p, "K9", ""); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o640 { // its mode, less others' access: it holds a key now
		t.Errorf("mode %04o, want 0640", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if string(b) != "# mine\nalphasoc:\n  api_key: \"K9\"\n" {
		t.Errorf("content %q", b)
	}
	if err := WriteKey(filepath.Join(dir, "new", "config.yml"), "K10", "http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(filepath.Join(dir, "new", "config.yml"))
	if err != nil || c.AlphaSOC.APIKey != "K10" || c.AlphaSOC.Host != "http://127.0.0.1:1" {
		t.Fatalf("new file: %v %+v", err, c.AlphaSOC)
	}
	if err := WriteKey(p, "bad key\n", ""); err == nil {
		t.Error("a key with white space was written")
	}
}

func TestValidEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"ann@example.com": true, "a.b+c@sub.example.org": true,
		"": false, "ann": false, "ann@localhost": false, "Ann <ann@example.com>": false,
		"ann@example.com ": false, "ann@@example.com": false, "ann@.com": false, "ann@example.": false,
	} {
		if err := ValidEmail(in); (err == nil) != ok {
			t.Errorf("ValidEmail(%q) = %v", in, err)
		}
	}
}

func TestPrompt(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"ann@example.com\n", "ann@example.com", ""},
		{"  ann@example.com  \n", "ann@example.com", ""},
		{"nope\nann@example.com\n", "ann@example.com", ""},
		{"a\nb\nc\nann@example.com\n", "", "no valid answer"},
		{"", "", "no answer"},
		{"ann@example.com", "ann@example.com", ""}, // no final newline
	} {
		var out strings.Builder
		got, err := Prompt(bufio.NewReader(strings.NewReader(tc.in)), &out, "E-mail", ValidEmail)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: got %q, %v", tc.in, got, err)
		}
		if !strings.HasPrefix(out.String(), "E-mail: ") {
			t.Errorf("%q: prompt %q", tc.in, out.String())
		}
	}
}
