package explain

import (
	"math"
	"testing"
)

// Hand-computed contrasts and examples on four rows.
func TestDescribeContrastsAndExamples(t *testing.T) {
	// f: A = {1, 2}, B = {3, 4}: means 1.5 / 3.5, variances 0.25 / 0.25,
	// pooled SD 0.5, SMD -4; the distributions do not overlap, KS 1.
	// g: A = {1, 3}, B = {2, 4}: means 2 / 3, variances 1 / 1, SMD -1;
	// ECDFs at 1, 2, 3: A .5 .5 1, B 0 .5 .5, KS .5.
	X4 := mustTable(t, NumericColumn("f", []float64{1, 2, 3, 4}), NumericColumn("g", []float64{1, 3, 2, 4}))
	res, err := Describe(Input{X: X4, Groups: []string{"A", "A", "B", "B"}, Holdout: 0, Examples: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Groups[0]
	if a.Name != "A" || len(a.Contrasts) != 2 {
		t.Fatalf("%+v", a)
	}
	want := []Contrast{{Feature: "f", SMD: -4, KS: 1, MeanIn: 1.5, MeanOut: 3.5}, {Feature: "g", SMD: -1, KS: 0.5, MeanIn: 2, MeanOut: 3}}
	for i, w := range want {
		g := a.Contrasts[i]
		if g.Feature != w.Feature || math.Abs(g.SMD-w.SMD) > 1e-12 || math.Abs(g.KS-w.KS) > 1e-12 || g.MeanIn != w.MeanIn || g.MeanOut != w.MeanOut {
			t.Fatalf("contrast %d = %+v, want %+v", i, g, w)
		}
	}
	if b := res.Groups[1].Contrasts[0]; b.SMD != 4 || b.KS != 1 {
		t.Fatalf("B: %+v", b)
	}
	// Four rows are under the default minimum leaf of 5: no split, an
	// empty rule, and a warning.
	if len(a.Rule.Conditions) != 0 || a.Warning == "" {
		t.Fatalf("rule %q, warning %q", a.Rule.String(Pandas), a.Warning)
	}

	// Examples in a 1-D space: A at 0, 1, 5 (centre 2), B at 10, 11
	// (centre 10.5). Typical A: row 1 (distance 1). Margins (distance to B's
	// centre minus to A's): 8.5, 8.5, 2.5: the borderline row is 2.
	Xe := mustTable(t, NumericColumn("x", []float64{0, 1, 5, 10, 11}))
	res, err = Describe(Input{X: Xe, Groups: []string{"A", "A", "A", "B", "B"}, Space: []float64{0, 1, 5, 10, 11}, Dims: 1, Examples: 1})
	if err != nil {
		t.Fatal(err)
	}
	ex := res.Groups[0].Examples
	if len(ex) != 2 || ex[0].Row != 1 || ex[0].Role != "typical" || ex[0].Distance != 1 ||
		ex[1].Row != 2 || ex[1].Role != "borderline" || ex[1].Margin != 2.5 {
		t.Fatalf("examples %+v", ex)
	}
	if res.Groups[0].Nearest != "B" {
		t.Fatalf("nearest %q", res.Groups[0].Nearest)
	}
}

func TestNaturalLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"novel_2", "novel_10", true}, {"novel_10", "novel_2", false}, {"2", "10", true}, {"a", "b", true}, {"a", "a", false}, {"a1", "a01", false}} {
		if got := NaturalLess(c.a, c.b); got != c.less {
			t.Errorf("NaturalLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// BenchmarkDescribeLetter explains letter's 26 classes on its 20,000 rows
// (rules, contrasts, examples in the z-scored features, surrogate tree).
func BenchmarkDescribeLetter(b *testing.B) {
	X, y, names := loadCSV(&testing.T{}, "../../testdata/letter.csv")
	groups := make([]string, len(y))
	for i, c := range y {
		groups[i] = names[c]
	}
	d := len(X.Cols)
	space := make([]float64, X.Rows*d)
	for j, c := range X.Cols {
		var m, s float64
		for _, v := range c.Num {
			m += v
		}
		m /= float64(X.Rows)
		for _, v := range c.Num {
			s += (v - m) * (v - m)
		}
		s = math.Sqrt(s / float64(X.Rows))
		for i, v := range c.Num {
			space[i*d+j] = (v - m) / s
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Describe(Input{X: X, Groups: groups, Space: space, Dims: d, Holdout: 0.25, Threads: 2}); err != nil {
			b.Fatal(err)
		}
	}
}

// A level present in every row of one group and in none of the other has
// no spread on either side: SMD undefined (0), KS 1, worded as "in every
// row". A numeric feature constant inside a group keeps its exact value
// (0.1 three times sums to 0.30000000000000004) and its real SMD against
// the other rows' spread. One group: no contrasts.
func TestContrastNoSpread(t *testing.T) {
	X := mustTable(t, CategoricalColumn("c", []string{"a", "a", "b", "b"}))
	res, err := Describe(Input{X: X, Groups: []string{"A", "A", "B", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Groups[0].Contrasts[0]
	if c.Feature != "c" || c.Level != "a" || c.SMD != 0 || c.SMDDefined() || !c.ConstantIn || !c.ConstantOut || c.KS != 1 || c.MeanIn != 1 || c.MeanOut != 0 {
		t.Fatalf("%+v", c)
	}
	if d := c.Difference(); d != "in every row, others 0%" {
		t.Errorf("level: %q", d)
	}
	if d := res.Groups[1].Contrasts[0].Difference(); d != "in no row, others 100%" {
		t.Errorf("level, other group: %q", d)
	}
	// x: A = {0.1, 0.1, 0.1}, B = {1, 2, 3, 4}: B's variance 1.25, pooled
	// SD sqrt(1.25/2), SMD (0.1 - 2.5) / 0.790569 = -3.035787.
	X2 := mustTable(t, NumericColumn("x", []float64{0.1, 1, 0.1, 2, 3, 0.1, 4}))
	res, err = Describe(Input{X: X2, Groups: []string{"A", "B", "A", "B", "B", "A", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	c = res.Groups[0].Contrasts[0]
	if !c.ConstantIn || c.ConstantOut || c.MeanIn != 0.1 || c.MeanOut != 2.5 || !c.SMDDefined() || math.Abs(c.SMD+3.035787) > 1e-6 {
		t.Fatalf("numeric: %+v", c)
	}
	if d := c.Difference(); d != "= 0.1 in every row, others mean 2.5" {
		t.Errorf("numeric: %q", d)
	}
	if d := res.Groups[1].Contrasts[0].Difference(); d != "+3.0 sd" {
		t.Errorf("numeric, varying group: %q", d)
	}
	for _, c := range []struct {
		x    float64
		want string
	}{{0, "0%"}, {0.001, "<1%"}, {0.124, "12%"}, {0.999, ">99%"}, {1, "100%"}} {
		if got := percent(c.x); got != c.want {
			t.Errorf("percent(%v) = %q, want %q", c.x, got, c.want)
		}
	}
	res, err = Describe(Input{X: X, Groups: []string{"A", "A", "A", "A"}})
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Groups[0]; len(g.Contrasts) != 0 || g.Warning == "" {
		t.Fatalf("one group: %+v", g)
	}
}
