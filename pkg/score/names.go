package score

import (
	"bufio"
	"bytes"
	_ "embed"
	"math"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Registered returns the registered domain of name (example.co.uk for
// a.b.example.co.uk), using the public suffix list compiled into
// golang.org/x/net/publicsuffix. ok is false for names under no ICANN
// suffix (single labels, .local, .lan, .arpa lookups of private space,
// .onion) and for a bare suffix.
func Registered(name string) (reg string, ok bool) {
	suffix, icann := publicsuffix.PublicSuffix(name)
	if !icann || len(suffix) >= len(name) {
		return "", false
	}
	i := len(name) - len(suffix) - 1 // the dot before the suffix
	if i <= 0 || name[i] != '.' {
		return "", false
	}
	j := strings.LastIndexByte(name[:i], '.')
	return name[j+1:], true
}

// mainLabel returns the label of reg before its public suffix
// ("example" of example.co.uk).
func mainLabel(reg string) string {
	if i := strings.IndexByte(reg, '.'); i >= 0 {
		return reg[:i]
	}
	return reg
}

//go:embed bigrams.txt
var bigramText []byte

// bigram[i][j] is log P(next = j | prev = i) over the alphabet ^ a-z $,
// from the counts in bigrams.txt with add-one smoothing.
var bigram = loadBigrams(bigramText)

func loadBigrams(b []byte) (m [28][28]float64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	row := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 27 || row >= 27 {
			panic("score: bigrams.txt is malformed")
		}
		var counts [28]float64
		total := 0.0
		for j, s := range f {
			n, err := strconv.Atoi(s)
			if err != nil {
				panic("score: bigrams.txt is malformed")
			}
			counts[j+1] = float64(n) + 1
			total += counts[j+1]
		}
		for j := 1; j < 28; j++ {
			m[row][j] = math.Log(counts[j] / total)
		}
		row++
	}
	return m
}

// labelStats are the statistics of one label the DGA detector scores.
type labelStats struct {
	Len        int
	Digits     int
	Entropy    float64 // Shannon entropy of the characters, bits
	LogLik     float64 // mean letter-bigram log-likelihood per transition
	MaxConsRun int
	DigitIn    bool // a digit between letters (paxeo0jk)
}

func statsOf(l string) labelStats {
	var st labelStats
	st.Len = len(l)
	var freq [256]int
	sum, n := 0.0, 0
	prev := 0
	run := 0
	for i := 0; i < len(l); i++ {
		c := l[i]
		freq[c]++
		switch {
		case c >= 'a' && c <= 'z':
			cur := int(c-'a') + 1
			sum += bigram[prev][cur]
			n++
			prev = cur
			if strings.IndexByte("aeiouy", c) < 0 {
				run++
				if run > st.MaxConsRun {
					st.MaxConsRun = run
				}
			} else {
				run = 0
			}
		case c >= '0' && c <= '9':
			st.Digits++
			if i > 0 && i < len(l)-1 && isLetter(l[i-1]) && isLetter(l[i+1]) {
				st.DigitIn = true
			}
			if prev != 0 {
				sum += bigram[prev][27]
				n++
			}
			prev, run = 0, 0
		default:
			if prev != 0 {
				sum += bigram[prev][27]
				n++
			}
			prev, run = 0, 0
		}
	}
	if prev != 0 {
		sum += bigram[prev][27]
		n++
	}
	if n > 0 {
		st.LogLik = sum / float64(n)
	}
	for _, f := range freq {
		if f > 0 {
			p := float64(f) / float64(len(l))
			st.Entropy -= p * math.Log2(p)
		}
	}
	return st
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

// dgaScore rates how generated a registered domain's main label looks, from
// 0 (a word) to about 1 (random). Labels shorter than 7 characters, with
// hyphens or in punycode score 0: too little evidence, or made by people.
func dgaScore(label string) (float64, labelStats) {
	st := statsOf(label)
	if st.Len < 7 || strings.Contains(label, "-") || strings.HasPrefix(label, "xn--") || st.Digits == st.Len {
		return 0, st
	}
	s := 0.0
	// English-like names average about -2.3 per transition; random letters
	// about -3.4.
	switch {
	case st.LogLik < -3.3:
		s += 0.5
	case st.LogLik < -3.0:
		s += 0.35
	case st.LogLik < -2.8:
		s += 0.2
	}
	if st.DigitIn {
		s += 0.35
	} else if st.Digits > 0 && st.Digits*4 >= st.Len && st.Digits < st.Len {
		s += 0.15
	}
	if st.MaxConsRun >= 5 {
		s += 0.2
	} else if st.MaxConsRun >= 4 {
		s += 0.1
	}
	if st.Entropy >= 3.0 && st.Len <= 12 || st.Entropy >= 3.5 {
		s += 0.1
	}
	if st.Len >= 16 && st.LogLik < -3.3 {
		s += 0.2
	}
	return math.Min(s, 1), st
}

// shannon returns the entropy in bits per character of s.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	var freq [256]int
	for i := 0; i < len(s); i++ {
		freq[s[i]]++
	}
	h := 0.0
	for _, f := range freq {
		if f > 0 {
			p := float64(f) / float64(len(s))
			h -= p * math.Log2(p)
		}
	}
	return h
}
