package cli

import "testing"

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain é":           "plain é",
		"raw \xff\xfe byte": `raw \xff\xfe byte`,
		"tab\tbell\a":       `tab\x09bell\x07`,
		"del\x7f":           `del\x7f`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
