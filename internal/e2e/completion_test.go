package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfr-project/nfr/internal/testenv"
)

// complete runs the bash completion for words (the last one being
// completed) and returns the candidates.
func complete(t *testing.T, words ...string) []string {
	t.Helper()
	root := testenv.Root(t)
	fn := "_nfr"
	if words[0] != "nfr" {
		fn = "_" + strings.ReplaceAll(words[0], "-", "_")
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = fmt.Sprintf("%q", w)
	}
	script := fmt.Sprintf(`source %q; COMP_WORDS=(%s); COMP_CWORD=%d; %s; printf '%%s\n' "${COMPREPLY[@]}"`,
		filepath.Join(root, "scripts", "completion", "nfr.bash"), strings.Join(quoted, " "), len(words)-1, fn)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+family(t)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("completion of %q: %v\n%s", words, err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	threats := testenv.RunBin(t, "nfr-score", nil, "--list-threats").Stdout
	firstThreat := strings.Fields(threats)[0]
	tests := []struct {
		words []string
		want  string
	}{
		{[]string{"nfr", "re"}, "read"},
		{[]string{"nfr", "ch"}, "check"},
		{[]string{"nfr", "listen", "l"}, "lo"},
		{[]string{"nfr", "check", "-i", "l"}, "lo"},
		{[]string{"nfr", "-c", "config.y"}, "config.yml"},
		{[]string{"nfr", "account", "st"}, "status"},
		{[]string{"nfr", "read", "testdata/demo.p"}, "testdata/demo.pcap"},
		{[]string{"nfr-capture", "--snap"}, "--snaplen"},
		{[]string{"nfr-capture", "-i", "l"}, "lo"},
		{[]string{"nfr-capture", "-r", "testdata/demo.p"}, "testdata/demo.pcap"},
		{[]string{"nfr-score", "--list-t"}, "--list-threats"},
		{[]string{"nfr-score", "--disable", firstThreat[:2]}, firstThreat},
		{[]string{"nfr-parse-bro", "--type", "x"}, "x509"},
		{[]string{"nfr-account", "reg"}, "register"},
		{[]string{"nfr-engine", "ke"}, "keys"},
		{[]string{"nfr-check", "--pr"}, "--print"},
	}
	for _, tt := range tests {
		got := complete(t, tt.words...)
		found := false
		for _, g := range got {
			found = found || g == tt.want
		}
		if !found {
			t.Errorf("%q: got %q, want %q among them", tt.words, got, tt.want)
		}
	}
}
