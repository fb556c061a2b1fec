package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Chart geometry, in SVG user units; the SVG scales to its box.
const (
	chartW, chartH = 960, 240
	padL, padR     = 44, 12
	padT, padB     = 12, 28
	maxBins        = 72
)

// binSteps are the bin widths the timeline may use, smallest first.
var binSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// binStep picks the smallest step that covers d in at most maxBins bins.
func binStep(d time.Duration) time.Duration {
	for _, s := range binSteps {
		if d/s < maxBins {
			return s
		}
	}
	s := binSteps[len(binSteps)-1]
	return s * time.Duration(d/s/maxBins+1)
}

// timeline draws the alerts per bin as bars stacked by each alert's
// primary threat. Every value written into the SVG is either a number
// computed here, a colour of the palette, or text escaped here.
func timeline(p *Page) template.HTML {
	if p.First.IsZero() {
		return ""
	}
	step := binStep(p.Last.Sub(p.First))
	start := p.First.Truncate(step)
	nbins := int(p.Last.Sub(start)/step) + 1
	bins := make([]map[string]int, nbins)
	totals := make([]int, nbins)
	peak := 0
	for i := range p.Alerts {
		a := &p.Alerts[i]
		if a.TS.IsZero() {
			continue
		}
		k := int(a.TS.Sub(start) / step)
		if bins[k] == nil {
			bins[k] = map[string]int{}
		}
		bins[k][a.Primary()]++
		totals[k]++
		peak = max(peak, totals[k])
	}
	ymax, ystep := niceScale(peak)
	plotW := float64(chartW - padL - padR)
	plotH := float64(chartH - padT - padB)
	bw := plotW / float64(nbins)
	y := func(v int) float64 { return padT + plotH - plotH*float64(v)/float64(ymax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" viewBox="0 0 %d %d" role="img" aria-labelledby="tl-title">`, chartW, chartH)
	fmt.Fprintf(&b, `<title id="tl-title">Alerts per %s, stacked by threat</title>`, stepName(step))
	for v := 0; v <= ymax; v += ystep {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text class="ylab" x="%d" y="%.1f">%d</text>`, padL-6, y(v)+4, v)
	}
	gap := math.Min(2, bw*0.15)
	for k, m := range bins {
		if m == nil {
			continue
		}
		x := padL + bw*float64(k) + gap/2
		from := start.Add(time.Duration(k) * step)
		acc := 0
		// Stack in the legend's order so colours sit in the same place.
		for _, tc := range p.ByThreat {
			n := m[tc.ID]
			if n == 0 {
				continue
			}
			y0, y1 := y(acc+n), y(acc)
			fmt.Fprintf(&b, `<rect class="bar" data-threat="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">`,
				template.HTMLEscapeString(tc.ID), x, y0, bw-gap, y1-y0, tc.Color)
			fmt.Fprintf(&b, `<title>%s: %d alert%s, %s</title></rect>`, template.HTMLEscapeString(tc.ID), n,
				map[bool]string{true: "", false: "s"}[n == 1], from.Format("2006-01-02 15:04:05")+" UTC")
			acc += n
		}
		if n := totals[k] - acc; n > 0 { // alerts without a threat
			y0, y1 := y(acc+n), y(acc)
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#888888"/>`, x, y0, bw-gap, y1-y0)
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(0), y(0))
	// About six time labels, on bin boundaries.
	every := max(1, nbins/6)
	layout := timeLayout(step, p.First, p.Last)
	for k := 0; k < nbins; k += every {
		x := padL + bw*float64(k)
		fmt.Fprintf(&b, `<line class="tick" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, x, x, y(0), y(0)+4)
		fmt.Fprintf(&b, `<text class="xlab" x="%.1f" y="%d">%s</text>`, x, chartH-8,
			start.Add(time.Duration(k)*step).Format(layout))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceScale returns an axis maximum >= peak and a step giving 2-5 lines.
func niceScale(peak int) (int, int) {
	if peak <= 0 {
		return 1, 1
	}
	for _, s := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000} {
		if peak <= 5*s {
			return (peak + s - 1) / s * s, s
		}
	}
	s := int(math.Pow(10, math.Ceil(math.Log10(float64(peak)/5))))
	return (peak + s - 1) / s * s, s
}

func stepName(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return plural(int(d/time.Second), "second")
}

func timeLayout(step time.Duration, first, last time.Time) string {
	sameDay := first.YearDay() == last.YearDay() && first.Year() == last.Year()
	switch {
	case step >= 24*time.Hour:
		return "Jan 2"
	case !sameDay:
		return "Jan 2 15:04"
	case step >= time.Minute:
		return "15:04"
	}
	return "15:04:05"
}
