package report

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

var (
	style  = mustRead("assets/report.css")
	script = mustRead("assets/report.js")
	// CSP allows exactly our style and script, by hash; nothing may be
	// fetched, framed, or submitted anywhere.
	CSP = "default-src 'none'; img-src data:; style-src '" + hash(style) + "'; script-src '" +
		hash(script) + "'; base-uri 'none'; form-action 'none'"
	tmpl = template.Must(template.New("").Funcs(Funcs).ParseFS(assets, "assets/*.tmpl"))
)

func mustRead(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// Funcs are the template functions of the report's templates.
var Funcs = template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if t.Nanosecond() == 0 {
			return t.UTC().Format("2006-01-02 15:04:05")
		}
		return t.UTC().Format("2006-01-02 15:04:05.000")
	},
	"utcs":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"statuses":  func() []string { return []string{"", "open", "acknowledged", "closed"} },
	"unixms":    func(t time.Time) int64 { return t.UnixMilli() },
	"sevname":   SeverityName,
	"threatids": ThreatIDs,
	"search":    SearchText,
	"addrkey":   sortKey,
	"join":      strings.Join,
	"pct":       func(f float64) string { return strconv.FormatFloat(f*1000, 'f', 1, 64) },
	"add":       func(a, b float64) float64 { return a + b },
	"seq": func(from, to int) []int {
		var s []int
		for i := from; i >= to; i-- {
			s = append(s, i)
		}
		return s
	},
	// bar is a small horizontal bar for a share 0-1, in colour c or the
	// accent colour. c is a palette colour, never data.
	"bar": func(share float64, c string) template.HTML {
		w := strconv.FormatFloat(max(share*90, 2), 'f', 1, 64)
		fill := `class="fill"`
		if c != "" {
			fill = `fill="` + template.HTMLEscapeString(c) + `"`
		}
		return template.HTML(`<svg viewBox="0 0 90 8" aria-hidden="true"><rect class="track" width="90" height="8" rx="4"/><rect ` +
			fill + ` width="` + w + `" height="8" rx="4"/></svg>`)
	},
}

// Write renders p as one self-contained HTML page.
func Write(w io.Writer, p *Page) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	data := struct {
		Page   *Page
		CSP    string
		Style  template.CSS
		Script template.JS
	}{p, CSP, template.CSS(style), template.JS(script)}
	if err := tmpl.ExecuteTemplate(bw, "report", data); err != nil {
		return fmt.Errorf("rendering the report: %v", err)
	}
	return bw.Flush()
}
