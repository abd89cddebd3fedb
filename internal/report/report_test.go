package report

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

func sampleReport() *Report {
	return &Report{
		Title: "ncd explain: <pred>.csv", Command: "ncd explain", Version: "test",
		Summary: []KV{{Key: "input", Value: "a&b.csv"}},
		Metrics: &Metrics{Truth: "class", Rows: 10, ACC: 0.9, NMI: 0.8, ARI: 0.7},
		KScan:   &KScan{Index: "silhouette", Ks: []int{2, 3, 4}, Scores: []float64{0.5, 0.6, math.NaN()}, Chosen: 3},
		Groups: []Group{
			{Name: "novel_0", Kind: "novel", Rows: 6, Share: 0.6, Rule: `x <= 2.5 and s == "<script>"`, RuleSQL: `"x" <= 2.5`, P: 1, R: 0.9, F1: 0.95,
				Contrasts: []Contrast{{Feature: "x", SMD: -2, KS: 0.9, MeanIn: 1, MeanOut: 4}},
				Columns:   []string{"x"}, Examples: []Example{{Row: 3, Role: "typical", Values: []string{"1"}}}},
			{Name: "novel_1", Kind: "novel", Rows: 4, Share: 0.4, Warning: "weak"},
		},
		Maps:      []Map{{Title: "PCA", Method: "PCA", Points: []float64{0, 0, 1, 1, 2, 0}, Group: []int{0, 0, 1}}},
		Surrogate: "|--- x <= 2.5", SurrogateNote: "agrees",
		Notes: []string{"n"},
	}
}

// The report is self-contained: a CSP that forbids fetches, no script, no
// external reference; every chart is an image with a title and a
// description; user text is escaped.
func TestReportSelfContained(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().Write(&b); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{
		`<html lang="en">`,
		`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; img-src data:">`,
		`x &lt;= 2.5 and s == &#34;&lt;script&gt;&#34;`,
		`a&amp;b.csv`,
		`#E69F00`, `#56B4E9`,
		`<td class="n">3 (chosen)</td>`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, bad := range []string{"<script", "src=", "url(", "@import", "http://", "https://", "<link", "<iframe", "<object", "<embed"} {
		if strings.Contains(strings.ToLower(h), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(h, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("link %q leaves the page", m[1])
		}
	}
	svgs := regexp.MustCompile(`<svg[^>]*>`).FindAllStringIndex(h, -1)
	if len(svgs) != 3 {
		t.Fatalf("%d charts, want 3 (k scan, sizes, map)", len(svgs))
	}
	for _, s := range svgs {
		tag := h[s[0]:s[1]]
		rest := h[s[1]:]
		if !strings.Contains(tag, `role="img"`) || !strings.Contains(tag, "aria-labelledby") ||
			!strings.HasPrefix(rest, "<title id=") || !strings.Contains(rest[:strings.Index(rest, "</svg>")], "<desc id=") {
			t.Errorf("chart without role, title or description: %s", tag)
		}
	}
	// Data tables beside the charts.
	if n := strings.Count(h, "<table"); n < 7 {
		t.Errorf("%d tables", n)
	}
}

func TestMarks(t *testing.T) {
	groups := func(known, novel int) *Report {
		r := &Report{}
		for i := 0; i < known; i++ {
			r.Groups = append(r.Groups, Group{Kind: "known"})
		}
		for i := 0; i < novel; i++ {
			r.Groups = append(r.Groups, Group{Kind: "novel"})
		}
		return r
	}
	// Up to 8 groups: one palette colour each, dots.
	m := groups(2, 3).marks()
	for i, x := range m {
		if x != (mark{Palette[i], 0}) {
			t.Fatalf("5 groups: mark %d = %+v", i, x)
		}
	}
	// 19 known and 6 novel (letter): known grey, novel in the palette.
	m = groups(19, 6).marks()
	if m[0] != (mark{Grey, 0}) || m[18] != (mark{Grey, 0}) || m[19] != (mark{Palette[0], 0}) || m[24] != (mark{Palette[5], 0}) {
		t.Fatalf("19+6: %+v", m)
	}
	// 20 known: the palette repeats with squares, then crosses.
	m = groups(20, 0).marks()
	if m[7] != (mark{Palette[7], 0}) || m[8] != (mark{Palette[0], 1}) || m[19] != (mark{Palette[3], 2}) {
		t.Fatalf("20 known: %+v", m)
	}
}
