package intel

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

//go:embed lists/*.txt
var lists embed.FS

// List describes one built-in list: its header says the threat its entries
// imply, where they were compiled from and when.
type List struct {
	Name   string // file name without .txt, used as the tag's Source
	Threat string
	Title  string
	Source string
	Date   string
	Len    int
}

var (
	builtinOnce sync.Once
	builtinSet  *Set
	builtinList []List
	builtinErr  error
)

// Builtin returns the set of built-in indicators and the lists it was built
// from. The set is built once and shared; it must not be modified.
func Builtin() (*Set, []List, error) {
	builtinOnce.Do(func() { builtinSet, builtinList, builtinErr = loadBuiltin() })
	return builtinSet, builtinList, builtinErr
}

func loadBuiltin() (*Set, []List, error) {
	s := NewSet()
	names, err := fs.Glob(lists, "lists/*.txt")
	if err != nil {
		return nil, nil, err
	}
	var out []List
	for _, name := range names {
		f, err := lists.Open(name)
		if err != nil {
			return nil, nil, err
		}
		l := List{Name: strings.TrimSuffix(path.Base(name), ".txt")}
		sc := bufio.NewScanner(f)
		var key string
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if strings.HasPrefix(line, "#") {
				h := strings.TrimSpace(strings.TrimPrefix(line, "#"))
				if k, v, ok := strings.Cut(h, ":"); ok && !strings.Contains(k, " ") {
					key = k
					setHeader(&l, key, strings.TrimSpace(v))
				} else if key != "" {
					setHeader(&l, key, h) // continuation line
				}
				continue
			}
			if l.Threat == "" {
				return nil, nil, fmt.Errorf("%s: no threat header", name)
			}
			t := Tag{Threat: l.Threat, Source: l.Name}
			if !strings.Contains(line, ".") && !strings.Contains(line, ":") {
				s.AddDomain(line, t) // a top-level domain
			} else if !s.addTyped(line, "", t) {
				return nil, nil, fmt.Errorf("%s:%d: bad indicator %q", name, n, line)
			}
			l.Len++
		}
		f.Close()
		if l.Date == "" || l.Source == "" {
			return nil, nil, fmt.Errorf("%s: a built-in list needs date and source headers", name)
		}
		out = append(out, l)
	}
	return s, out, nil
}

func setHeader(l *List, key, v string) {
	add := func(p *string) {
		if *p != "" {
			*p += " "
		}
		*p += v
	}
	switch key {
	case "threat":
		l.Threat = v
	case "title":
		add(&l.Title)
	case "source":
		add(&l.Source)
	case "date":
		l.Date = v
	}
}
