// Command genwords writes the English word list nfr-score's dictionary-word
// DGA detector splits domain labels with (pkg/score/words.txt). It reads
// SCOWL (Spell Checker Oriented Word Lists, Kevin Atkinson; Debian package
// scowl), keeps the common words, and drops the inflected forms whose stem
// is kept, so the list stays near 100 KB:
//
//	apt-get install scowl
//	go run ./scripts/genwords /usr/share/dict/scowl > pkg/score/words.txt
//
// Kept: lowercase ASCII words of 3-12 letters from the english-words and
// american-words lists of sizes 10, 20 and 35 (SCOWL's "small" dictionary:
// common words); words of 9 letters or more only from size 10; inflected
// forms only from size 10 (news, sales).
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genwords SCOWL-DIR > pkg/score/words.txt")
		os.Exit(2)
	}
	dir := os.Args[1]
	level := map[string]int{} // word -> smallest SCOWL size listing it
	for _, size := range []int{10, 20, 35} {
		for _, kind := range []string{"english-words", "american-words"} {
			if err := read(filepath.Join(dir, fmt.Sprintf("%s.%d", kind, size)), size, level); err != nil {
				fmt.Fprintln(os.Stderr, "genwords:", err)
				os.Exit(1)
			}
		}
	}
	var out []string
	for w, size := range level {
		if len(w) >= 9 && size > 10 || size > 10 && inflected(w, level) {
			continue
		}
		out = append(out, w)
	}
	sort.Strings(out)
	version := "unknown"
	if b, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "scowl").Output(); err == nil {
		version = string(b)
	}
	bw := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(bw, "# %d common English words for the dictionary-word DGA detector (dictdga.go)\n", len(out))
	fmt.Fprintf(bw, "# source: SCOWL english-words and american-words, sizes 10-35 (words of 9+ letters and inflected forms: size 10 only),\n")
	fmt.Fprintf(bw, "#   Debian package scowl %s, by Kevin Atkinson, http://wordlist.aspell.net/\n", version)
	fmt.Fprintf(bw, "# license: SCOWL's permissive license (use, copy, modify, distribute and sell for any purpose,\n")
	fmt.Fprintf(bw, "#   with its copyright notice: Copyright 2000-2011 by Kevin Atkinson and the contributors it names)\n")
	fmt.Fprintf(bw, "# filter: lowercase ASCII, 3-12 letters, inflected forms of kept stems dropped above size 10\n")
	fmt.Fprintf(bw, "# generated %s by scripts/genwords; do not edit\n", time.Now().UTC().Format("2006-01-02"))
	for _, w := range out {
		fmt.Fprintln(bw, w)
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genwords:", err)
		os.Exit(1)
	}
}

func read(path string, size int, level map[string]int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := sc.Text()
		if !word(w) {
			continue
		}
		if _, ok := level[w]; !ok {
			level[w] = size
		}
	}
	return sc.Err()
}

func word(w string) bool {
	if len(w) < 3 || len(w) > 12 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// inflected reports a plural, past, participle, adverb or -ness form
// whose stem is listed: the segmenter needs the stems that DGAs pick
// from, and the forms would double the list. (Not -er and -est: butter,
// corner and number are words of their own.)
func inflected(w string, level map[string]int) bool {
	for _, r := range []struct{ suffix, stem string }{
		{"s", ""}, {"es", ""}, {"ies", "y"}, {"ed", ""}, {"ed", "e"}, {"ied", "y"}, {"ing", ""}, {"ing", "e"},
		{"ly", ""}, {"ness", ""},
	} {
		stem, ok := strings.CutSuffix(w, r.suffix)
		if !ok || len(stem) < 3 {
			continue
		}
		if _, ok := level[stem+r.stem]; ok {
			return true
		}
		// stopped, running: the doubled consonant.
		if r.stem == "" && (r.suffix == "ed" || r.suffix == "ing") && len(stem) >= 4 && stem[len(stem)-1] == stem[len(stem)-2] {
			if _, ok := level[stem[:len(stem)-1]]; ok {
				return true
			}
		}
	}
	return false
}
