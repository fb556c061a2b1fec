package score

import (
	"bufio"
	"bytes"
	_ "embed"
	"sync"
)

// words.txt holds common English words (SCOWL sizes 10-35, stems only;
// its header says where from and under which license), generated once by
// scripts/genwords. Dictionary-word DGAs (Suppobox, Matsnu, Gozi, Nymaim2,
// Pizd) join two or three words of lists like it.
//
//go:embed words.txt
var wordText []byte

// wordSet is built on first use: most programs that link this package
// never split a label.
var wordSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 14083) // the words in words.txt
	sc := bufio.NewScanner(bytes.NewReader(wordText))
	for sc.Scan() {
		w := sc.Text()
		if w == "" || w[0] == '#' {
			continue
		}
		m[w] = struct{}{}
	}
	return m
})

const (
	minWord  = 3  // shorter words split almost anything
	maxWord  = 12 // the list's longest
	maxWords = 3
)

// wordSplit is a label cut into list words: Words of them (0: the label is
// not two or three words), the i-th ending at Ends[i].
type wordSplit struct {
	Words int
	Ends  [maxWords]uint8
}

// splitWords reports whether label (lowercase letters) is exactly two or
// three list words of three letters or more, preferring the split with the
// fewest words; a label that is one word is not split. It allocates
// nothing: a dynamic programme over the label's positions, each tried with
// the words that may start there.
func splitWords(label string) wordSplit {
	n := len(label)
	if n < 2*minWord || n > maxWords*maxWord {
		return wordSplit{}
	}
	for i := 0; i < n; i++ {
		if !isLetter(label[i]) {
			return wordSplit{}
		}
	}
	set := wordSet()
	// fewest[i] is the fewest words that make label[:i] (0xff: none),
	// from[i] where the last of them starts.
	var fewest, from [maxWords*maxWord + 1]uint8
	for i := 1; i <= n; i++ {
		fewest[i] = 0xff
	}
	for i := 0; i+minWord <= n; i++ {
		if fewest[i] == 0xff || fewest[i] >= maxWords {
			continue
		}
		for l := minWord; l <= maxWord && i+l <= n; l++ {
			if fewest[i]+1 >= fewest[i+l] {
				continue
			}
			if _, ok := set[label[i:i+l]]; ok {
				fewest[i+l], from[i+l] = fewest[i]+1, uint8(i)
			}
		}
	}
	k := fewest[n]
	if k < 2 || k > maxWords {
		return wordSplit{}
	}
	s := wordSplit{Words: int(k)}
	for i, j := n, int(k)-1; j >= 0; i, j = int(from[i]), j-1 {
		s.Ends[j] = uint8(i)
	}
	return s
}

// format joins the words of label with " + ", for reasons.
func (s wordSplit) format(label string) string {
	var b []byte
	start := 0
	for i := 0; i < s.Words; i++ {
		if i > 0 {
			b = append(b, " + "...)
		}
		b = append(b, label[start:s.Ends[i]]...)
		start = int(s.Ends[i])
	}
	return string(b)
}
