// Package report writes ncd's self-contained HTML report: one file with
// inline CSS and SVG, no script, and a Content-Security-Policy that
// forbids every fetch, so it opens offline and never contacts anything.
// It also holds the 2-D maps the report draws (PCA, Barnes-Hut t-SNE).
package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// CSP is the policy in the report's meta tag: nothing may be fetched;
// only inline styles and data: images are allowed.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// Palette is Okabe and Ito's colour-blind-safe palette.
var Palette = []string{"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}

// Report is everything the HTML shows.
type Report struct {
	Title   string
	Command string // the command line or its summary
	Version string
	Summary []KV
	Metrics *Metrics
	KScan   *KScan
	Groups  []Group
	Maps    []Map
	// Surrogate is the multi-class tree as text, with a sentence on how
	// well it agrees with the groups.
	Surrogate, SurrogateNote string
	Notes                    []string
}

// KV is one labelled value.
type KV struct{ Key, Value string }

// Metrics score the groups against the true labels.
type Metrics struct {
	Truth         string
	Rows          int
	ACC, NMI, ARI float64
}

// KScan is the estimate of the number of classes: a score per k.
type KScan struct {
	Index  string // the score's name (silhouette, ...)
	Ks     []int
	Scores []float64 // NaN: not computed
	Chosen int
	Note   string
}

// Group is one class's card.
type Group struct {
	Name, Kind    string
	Rows          int
	Share         float64
	Rule, RuleSQL string
	P, R, F1      float64
	MeasuredOn    string // "held-out, 25 rows" or "training rows"
	Warning       string
	Nearest       string
	NearestKnown  string
	Contrasts     []Contrast
	Examples      []Example
	Columns       []string // the example tables' columns
}

// Contrast is one feature's difference from the other rows.
type Contrast struct {
	Feature         string
	SMD, KS         float64
	MeanIn, MeanOut float64
	// Difference words the difference for the summary table ("+3.6 sd",
	// "= 0.2 in every row, others mean 1.7"); empty: SMD in sd.
	Difference string
	// ConstantIn: every row of the class has MeanIn. SMDUndefined: both
	// sides are constant at different values (SMD is 0, not a measure).
	ConstantIn, SMDUndefined bool
}

// Example is a shown row.
type Example struct {
	Row    int
	ID     string
	Role   string
	Values []string // in Group.Columns order
}

// Map is a 2-D scatter: Points row-major n x 2, Group[i] indexing
// Report.Groups.
type Map struct {
	Title, Method, Note string
	Points              []float64
	Group               []int
}

func esc(s string) string { return html.EscapeString(s) }

func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
func f2(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

const style = `
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1a1a1a;background:#fff;line-height:1.45}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1.1rem;margin:.2rem 0}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}caption{text-align:left;padding:.2rem 0}.scroll{overflow-x:auto;max-width:100%}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
.meta{color:#444}.warn{background:#fff4e0;border-left:4px solid #D55E00;padding:.3rem .6rem}
.card{border:1px solid #bbb;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.row{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.bar{display:inline-block;height:.7rem;background:#0072B2;vertical-align:middle}
.bar.neg{background:#D55E00}
.sw{display:inline-block;width:.8rem;height:.8rem;border:1px solid #555;vertical-align:middle;margin-right:.3rem}
nav a{margin-right:1rem}
svg text{font-family:inherit}
`

// Write renders the report.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(&b, "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n", esc(CSP))
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(r.Title), style)
	fmt.Fprintf(&b, "<header><h1>%s</h1>\n<p class=\"meta\">%s", esc(r.Title), esc(r.Command))
	if r.Version != "" {
		fmt.Fprintf(&b, " &middot; ncd %s", esc(r.Version))
	}
	b.WriteString("</p></header>\n<nav aria-label=\"Sections\"><a href=\"#summary\">Summary</a>")
	if r.KScan != nil {
		b.WriteString("<a href=\"#kscan\">Number of classes</a>")
	}
	b.WriteString("<a href=\"#sizes\">Class sizes</a>")
	if len(r.Maps) > 0 {
		b.WriteString("<a href=\"#maps\">Maps</a>")
	}
	b.WriteString("<a href=\"#classes\">Classes</a><a href=\"#surrogate\">Surrogate tree</a><a href=\"#notes\">Notes</a></nav>\n<main>\n")
	r.summary(&b)
	if r.KScan != nil {
		r.kscan(&b)
	}
	r.sizes(&b)
	if len(r.Maps) > 0 {
		b.WriteString("<section id=\"maps\"><h2>Maps</h2>\n")
		for i := range r.Maps {
			r.mapSVG(&b, i)
		}
		b.WriteString("</section>\n")
	}
	r.cards(&b)
	b.WriteString("<section id=\"surrogate\"><h2>Surrogate tree</h2>\n")
	fmt.Fprintf(&b, "<p>%s</p>\n<pre>%s</pre>\n</section>\n", esc(r.SurrogateNote), esc(r.Surrogate))
	b.WriteString("<section id=\"notes\"><h2>Notes</h2>\n<ul>\n")
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "<li>%s</li>\n", esc(n))
	}
	b.WriteString("</ul>\n</section>\n</main>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mark is how a group is drawn: a colour and a shape (0 dot, 1 square,
// 2 cross).
type mark struct {
	colour string
	shape  int
}

// Grey draws the known classes when they would crowd the palette.
const Grey = "#BBBBBB"

// marks assigns the groups' colours and shapes. Up to 8 groups: one
// palette colour each. More, with at most 8 novel ones among known
// classes: the novel classes get the palette and the known ones grey (the
// discovered classes are what the report is about). Otherwise the palette
// repeats with another shape every 8 groups.
func (r *Report) marks() []mark {
	n := len(r.Groups)
	novel := 0
	for _, g := range r.Groups {
		if g.Kind == "novel" {
			novel++
		}
	}
	out := make([]mark, n)
	greyKnown := n > len(Palette) && novel > 0 && novel <= len(Palette)
	j := 0
	for i, g := range r.Groups {
		switch {
		case greyKnown && g.Kind != "novel":
			out[i] = mark{Grey, 0}
		case greyKnown:
			out[i] = mark{Palette[j], 0}
			j++
		default:
			out[i] = mark{Palette[i%len(Palette)], i / len(Palette) % 3}
		}
	}
	return out
}

// swatch is a group's colour and shape key, hidden from screen readers
// (the name follows it).
func (m mark) swatch() string {
	switch m.shape {
	case 1:
		return fmt.Sprintf("<span class=\"sw\" style=\"background:%s\" aria-hidden=\"true\"></span>", m.colour)
	case 2:
		return fmt.Sprintf("<span class=\"sw\" style=\"border:none;color:%s;font-weight:bold;line-height:.8rem;text-align:center\" aria-hidden=\"true\">&#215;</span>", m.colour)
	}
	return fmt.Sprintf("<span class=\"sw\" style=\"background:%s;border-radius:50%%\" aria-hidden=\"true\"></span>", m.colour)
}

func (r *Report) summary(b *strings.Builder) {
	b.WriteString("<section id=\"summary\"><h2>Summary</h2>\n<table><caption class=\"meta\">Run</caption>\n")
	for _, kv := range r.Summary {
		fmt.Fprintf(b, "<tr><th scope=\"row\">%s</th><td>%s</td></tr>\n", esc(kv.Key), esc(kv.Value))
	}
	b.WriteString("</table>\n")
	if m := r.Metrics; m != nil {
		fmt.Fprintf(b, "<table style=\"min-width:26rem\"><caption class=\"meta\">Against the true labels in column %s (%d rows)</caption>\n", esc(m.Truth), m.Rows)
		b.WriteString("<tr><th scope=\"col\">ACC</th><th scope=\"col\">NMI</th><th scope=\"col\">ARI</th></tr>\n")
		fmt.Fprintf(b, "<tr><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n</table>\n", f3(m.ACC), f3(m.NMI), f3(m.ARI))
	} else {
		b.WriteString("<p>No true labels in the file: the groups are described, not scored.</p>\n")
	}
	b.WriteString("<table><caption class=\"meta\">Classes: rule (precision, recall and F1 of the rule for its class), top features</caption>\n")
	mk := r.marks()
	b.WriteString("<tr><th scope=\"col\">Class</th><th scope=\"col\">Rows</th><th scope=\"col\">Rule (pandas query)</th><th scope=\"col\">P</th><th scope=\"col\">R</th><th scope=\"col\">F1</th><th scope=\"col\">Differs most in</th></tr>\n")
	for i, g := range r.Groups {
		var top []string
		for _, c := range g.Contrasts[:min(3, len(g.Contrasts))] {
			d := c.Difference
			if d == "" {
				d = fmt.Sprintf("%+.1f sd", c.SMD)
			}
			top = append(top, c.Feature+" "+d)
		}
		warn := ""
		if g.Warning != "" {
			warn = " (weak)"
		}
		fmt.Fprintf(b, "<tr><td><a href=\"#g%d\">%s%s</a></td><td class=\"n\">%d</td><td><code>%s</code></td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s%s</td><td>%s</td></tr>\n",
			i, mk[i].swatch(), esc(g.Name), g.Rows, esc(g.Rule), f2(g.P), f2(g.R), f2(g.F1), warn, esc(strings.Join(top, ", ")))
	}
	b.WriteString("</table>\n</section>\n")
}

func (r *Report) kscan(b *strings.Builder) {
	k := r.KScan
	b.WriteString("<section id=\"kscan\"><h2>Number of classes</h2>\n<div class=\"row\">\n")
	const W, H, ml, mr, mt, mb = 420.0, 240.0, 50.0, 15.0, 15.0, 35.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range k.Scores {
		if !math.IsNaN(s) {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	if len(k.Ks) > 0 && !math.IsInf(lo, 0) {
		if hi == lo {
			hi, lo = hi+0.5, lo-0.5
		}
		kmin, kmax := float64(k.Ks[0]), float64(k.Ks[len(k.Ks)-1])
		if kmax == kmin {
			kmax++
		}
		px := func(x float64) float64 { return ml + (x-kmin)/(kmax-kmin)*(W-ml-mr) }
		py := func(y float64) float64 { return mt + (hi-y)/(hi-lo)*(H-mt-mb) }
		fmt.Fprintf(b, "<svg role=\"img\" aria-labelledby=\"ks-t ks-d\" viewBox=\"0 0 %g %g\" width=\"%g\" height=\"%g\">", W, H, W, H)
		fmt.Fprintf(b, "<title id=\"ks-t\">%s by number of classes k</title><desc id=\"ks-d\">Line chart of the %s score for k from %d to %d; k = %d was chosen. The same numbers are in the table beside it.</desc>",
			esc(k.Index), esc(k.Index), k.Ks[0], k.Ks[len(k.Ks)-1], k.Chosen)
		fmt.Fprintf(b, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#555\"/><line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#555\"/>", ml, H-mb, W-mr, H-mb, ml, mt, ml, H-mb)
		var path []string
		for i, kk := range k.Ks {
			if s := k.Scores[i]; !math.IsNaN(s) {
				path = append(path, f1(px(float64(kk)))+","+f1(py(s)))
			}
		}
		fmt.Fprintf(b, "<polyline fill=\"none\" stroke=\"#0072B2\" stroke-width=\"2\" points=\"%s\"/>", strings.Join(path, " "))
		for i, kk := range k.Ks {
			s := k.Scores[i]
			if math.IsNaN(s) {
				continue
			}
			fill, rad := "#0072B2", 3.0
			if kk == k.Chosen {
				fill, rad = "#D55E00", 6
			}
			fmt.Fprintf(b, "<circle cx=\"%s\" cy=\"%s\" r=\"%g\" fill=\"%s\"/>", f1(px(float64(kk))), f1(py(s)), rad, fill)
		}
		step := max(1, len(k.Ks)/10)
		for i := 0; i < len(k.Ks); i += step {
			fmt.Fprintf(b, "<text x=\"%s\" y=\"%g\" font-size=\"11\" text-anchor=\"middle\">%d</text>", f1(px(float64(k.Ks[i]))), H-mb+14, k.Ks[i])
		}
		fmt.Fprintf(b, "<text x=\"%g\" y=\"%g\" font-size=\"12\" text-anchor=\"middle\">k</text>", (ml+W-mr)/2, H-4)
		fmt.Fprintf(b, "<text x=\"4\" y=\"%g\" font-size=\"11\">%s</text><text x=\"4\" y=\"%g\" font-size=\"11\">%s</text>", mt+4, f2(hi), H-mb, f2(lo))
		b.WriteString("</svg>\n")
	}
	fmt.Fprintf(b, "<table><caption class=\"meta\">%s per k (chosen: %d)</caption><tr><th scope=\"col\">k</th><th scope=\"col\">%s</th></tr>\n", esc(k.Index), k.Chosen, esc(k.Index))
	for i, kk := range k.Ks {
		mark := ""
		if kk == k.Chosen {
			mark = " (chosen)"
		}
		fmt.Fprintf(b, "<tr><td class=\"n\">%d%s</td><td class=\"n\">%s</td></tr>\n", kk, mark, fmtScore(k.Scores[i]))
	}
	b.WriteString("</table>\n</div>\n")
	if k.Note != "" {
		fmt.Fprintf(b, "<p>%s</p>\n", esc(k.Note))
	}
	b.WriteString("</section>\n")
}

func fmtScore(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

func (r *Report) sizes(b *strings.Builder) {
	b.WriteString("<section id=\"sizes\"><h2>Class sizes</h2>\n<div class=\"row\">\n")
	n := len(r.Groups)
	const W, lw, bh = 460.0, 110.0, 18.0
	H := float64(n)*bh + 10
	mk := r.marks()
	most := 1
	for _, g := range r.Groups {
		most = max(most, g.Rows)
	}
	fmt.Fprintf(b, "<svg role=\"img\" aria-labelledby=\"sz-t sz-d\" viewBox=\"0 0 %g %g\" width=\"%g\" height=\"%g\">", W, H, W, H)
	b.WriteString("<title id=\"sz-t\">Rows per class</title><desc id=\"sz-d\">Horizontal bars, one per class, as long as its number of rows; the numbers are in the table beside it.</desc>")
	for i, g := range r.Groups {
		y := 5 + float64(i)*bh
		w := (W - lw - 60) * float64(g.Rows) / float64(most)
		fmt.Fprintf(b, "<text x=\"%g\" y=\"%s\" font-size=\"12\" text-anchor=\"end\">%s</text>", lw-6, f1(y+bh*0.7), esc(g.Name))
		fmt.Fprintf(b, "<rect x=\"%g\" y=\"%s\" width=\"%s\" height=\"%g\" fill=\"%s\" stroke=\"#555\" stroke-width=\"0.5\"/>", lw, f1(y+2), f1(w), bh-4, mk[i].colour)
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%s\" font-size=\"11\">%d</text>", f1(lw+w+4), f1(y+bh*0.7), g.Rows)
	}
	b.WriteString("</svg>\n<table><caption class=\"meta\">Rows per class</caption><tr><th scope=\"col\">Class</th><th scope=\"col\">Kind</th><th scope=\"col\">Rows</th><th scope=\"col\">Share</th></tr>\n")
	for i, g := range r.Groups {
		fmt.Fprintf(b, "<tr><td>%s%s</td><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%s%%</td></tr>\n", mk[i].swatch(), esc(g.Name), esc(g.Kind), g.Rows, f1(100*g.Share))
	}
	b.WriteString("</table>\n</div>\n</section>\n")
}

func (r *Report) mapSVG(b *strings.Builder, mi int) {
	m := &r.Maps[mi]
	n := len(m.Group)
	const W, H, pad = 640.0, 520.0, 24.0
	minx, maxx, miny, maxy := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := 0; i < n; i++ {
		minx, maxx = min(minx, m.Points[2*i]), max(maxx, m.Points[2*i])
		miny, maxy = min(miny, m.Points[2*i+1]), max(maxy, m.Points[2*i+1])
	}
	sx := (W - 2*pad) / max(maxx-minx, 1e-12)
	sy := (H - 2*pad) / max(maxy-miny, 1e-12)
	s := min(sx, sy)
	ox := pad + (W-2*pad-s*(maxx-minx))/2
	oy := pad + (H-2*pad-s*(maxy-miny))/2
	px := func(x float64) float64 { return ox + (x-minx)*s }
	py := func(y float64) float64 { return H - (oy + (y-miny)*s) }
	id := fmt.Sprintf("map%d", mi)
	fmt.Fprintf(b, "<figure><h3>%s</h3>\n<div class=\"row\">\n", esc(m.Title))
	fmt.Fprintf(b, "<svg role=\"img\" aria-labelledby=\"%s-t %s-d\" viewBox=\"0 0 %g %g\" width=\"%g\" height=\"%g\" style=\"max-width:100%%;height:auto;border:1px solid #ddd\">", id, id, W, H, W, H)
	fmt.Fprintf(b, "<title id=\"%s-t\">%s</title><desc id=\"%s-d\">Scatter plot of %d rows, one dot per row, coloured by class, with each class's name written at its median position. The table beside it lists each class's rows and position.</desc>",
		id, esc(m.Title), id, n)
	per := make([][]int, len(r.Groups))
	for i, g := range m.Group {
		per[g] = append(per[g], i)
	}
	mk := r.marks()
	// Grey (known) classes first, so the coloured ones are drawn on top.
	order := make([]int, 0, len(per))
	for g := range per {
		if mk[g].colour == Grey {
			order = append(order, g)
		}
	}
	for g := range per {
		if mk[g].colour != Grey {
			order = append(order, g)
		}
	}
	for _, g := range order {
		rows := per[g]
		if len(rows) == 0 {
			continue
		}
		var d strings.Builder
		for _, i := range rows {
			x, y := px(m.Points[2*i]), py(m.Points[2*i+1])
			if mk[g].shape == 2 {
				fmt.Fprintf(&d, "M%s %sl4 4m0-4l-4 4", f1(x-2), f1(y-2))
			} else {
				fmt.Fprintf(&d, "M%s %sh0", f1(x), f1(y))
			}
		}
		attr := "stroke-width=\"4\" stroke-linecap=\"round\""
		switch mk[g].shape {
		case 1:
			attr = "stroke-width=\"4\" stroke-linecap=\"square\""
		case 2:
			attr = "stroke-width=\"1.3\""
		}
		fmt.Fprintf(b, "<path d=\"%s\" stroke=\"%s\" %s fill=\"none\" opacity=\"0.75\"><title>%s</title></path>", d.String(), mk[g].colour, attr, esc(r.Groups[g].Name))
	}
	type centre struct{ x, y float64 }
	cs := make([]centre, len(r.Groups))
	for g, rows := range per {
		if len(rows) == 0 {
			continue
		}
		xs, ys := make([]float64, len(rows)), make([]float64, len(rows))
		for t, i := range rows {
			xs[t], ys[t] = m.Points[2*i], m.Points[2*i+1]
		}
		cs[g] = centre{median(xs), median(ys)}
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%s\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"#000\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">%s</text>",
			f1(px(cs[g].x)), f1(py(cs[g].y)), esc(r.Groups[g].Name))
	}
	b.WriteString("</svg>\n")
	fmt.Fprintf(b, "<table><caption class=\"meta\">%s: rows drawn and median position per class</caption><tr><th scope=\"col\">Class</th><th scope=\"col\">Rows</th><th scope=\"col\">x</th><th scope=\"col\">y</th></tr>\n", esc(m.Method))
	for g, rows := range per {
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(b, "<tr><td>%s%s</td><td class=\"n\">%d</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n", mk[g].swatch(), esc(r.Groups[g].Name), len(rows), f2(cs[g].x), f2(cs[g].y))
	}
	b.WriteString("</table>\n</div>\n")
	note := m.Note
	for _, x := range mk {
		if x.colour == Grey {
			note += " Known classes are drawn in grey (their names are written at their median positions), the discovered ones in colour."
			break
		}
	}
	if note != "" {
		fmt.Fprintf(b, "<figcaption>%s</figcaption>\n", esc(note))
	}
	b.WriteString("</figure>\n")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (r *Report) cards(b *strings.Builder) {
	mk := r.marks()
	b.WriteString("<section id=\"classes\"><h2>Classes</h2>\n")
	for i, g := range r.Groups {
		fmt.Fprintf(b, "<article class=\"card\" id=\"g%d\" aria-labelledby=\"g%d-h\"><h3 id=\"g%d-h\">%s%s <span class=\"meta\">(%s, %d rows, %s%%)</span></h3>\n",
			i, i, i, mk[i].swatch(), esc(g.Name), esc(g.Kind), g.Rows, f1(100*g.Share))
		if g.Warning != "" {
			fmt.Fprintf(b, "<p class=\"warn\" role=\"note\">Warning: %s</p>\n", esc(g.Warning))
		}
		if g.Rule != "" {
			fmt.Fprintf(b, "<p>Rule, pandas <code>query</code>:</p><pre><code>%s</code></pre>\n<p>SQL <code>WHERE</code>:</p><pre><code>%s</code></pre>\n", esc(g.Rule), esc(g.RuleSQL))
			fmt.Fprintf(b, "<table><caption class=\"meta\">How well the rule finds %s (%s)</caption><tr><th scope=\"col\">measure</th><th scope=\"col\">value</th><th scope=\"col\">bar</th></tr>\n", esc(g.Name), esc(g.MeasuredOn))
			for _, kv := range []struct {
				k string
				v float64
			}{{"precision", g.P}, {"recall", g.R}, {"F1", g.F1}} {
				fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%s</td><td><span class=\"bar\" style=\"width:%spx\" aria-hidden=\"true\"></span></td></tr>\n", kv.k, f2(kv.v), f1(120*kv.v))
			}
			b.WriteString("</table>\n")
		}
		if g.Nearest != "" {
			fmt.Fprintf(b, "<p>Nearest class (centres): %s", esc(g.Nearest))
			if g.NearestKnown != "" {
				fmt.Fprintf(b, "; nearest known class: %s", esc(g.NearestKnown))
			}
			b.WriteString("</p>\n")
		}
		if len(g.Contrasts) > 0 {
			fmt.Fprintf(b, "<table><caption class=\"meta\">Features that differ most between %s and the other rows (SMD in pooled SDs; KS from 0, same distribution, to 1, no overlap)</caption>\n", esc(g.Name))
			b.WriteString("<tr><th scope=\"col\">feature</th><th scope=\"col\">mean in class</th><th scope=\"col\">mean elsewhere</th><th scope=\"col\">SMD</th><th scope=\"col\">KS</th><th scope=\"col\">SMD bar</th></tr>\n")
			for _, c := range g.Contrasts {
				cls := "bar"
				if c.SMD < 0 || (c.SMDUndefined && c.MeanIn < c.MeanOut) {
					cls = "bar neg"
				}
				in, smd, width := fmtNum(c.MeanIn), fmt.Sprintf("%+.2f", c.SMD), min(30*math.Abs(c.SMD), 150)
				if c.ConstantIn {
					in += " (every row)"
				}
				if c.SMDUndefined {
					// Both sides constant: completely apart, no spread to
					// count standard deviations in.
					smd, width = "none: both constant", 150
				}
				fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td><span class=\"%s\" style=\"width:%spx\" aria-hidden=\"true\"></span></td></tr>\n",
					esc(c.Feature), esc(in), fmtNum(c.MeanOut), esc(smd), f2(c.KS), cls, f1(width))
			}
			b.WriteString("</table>\n")
		}
		if len(g.Examples) > 0 {
			fmt.Fprintf(b, "<div class=\"scroll\"><table><caption class=\"meta\">Typical rows of %s (nearest its centre) and a borderline row (nearest another class); row = data row of the file</caption>\n<tr><th scope=\"col\">role</th><th scope=\"col\">row</th>", esc(g.Name))
			hasID := false
			for _, e := range g.Examples {
				hasID = hasID || e.ID != ""
			}
			if hasID {
				b.WriteString("<th scope=\"col\">id</th>")
			}
			for _, c := range g.Columns {
				fmt.Fprintf(b, "<th scope=\"col\">%s</th>", esc(c))
			}
			b.WriteString("</tr>\n")
			for _, e := range g.Examples {
				fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%d</td>", esc(e.Role), e.Row)
				if hasID {
					fmt.Fprintf(b, "<td>%s</td>", esc(e.ID))
				}
				for _, v := range e.Values {
					fmt.Fprintf(b, "<td>%s</td>", esc(v))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table></div>\n")
		}
		b.WriteString("</article>\n")
	}
	b.WriteString("</section>\n")
}

func fmtNum(x float64) string {
	return strconv.FormatFloat(x, 'g', 4, 64)
}
