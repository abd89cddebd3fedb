package io

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func fitTransform(t *testing.T, tb *Table, r Roles) (*Preprocessor, *dataset.Dataset) {
	t.Helper()
	p, err := Fit(tb, r)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := p.Transform(tb)
	if err != nil {
		t.Fatal(err)
	}
	return p, ds
}

func TestZScoreAndOneHot(t *testing.T) {
	tb := mustRead(t, "d.csv", "x,color,class\n1,red,a\n2,blue,b\n3,red,a\n4,green,NA\n")
	p, ds := fitTransform(t, tb, Roles{})
	// x: mean 2.5, population std sqrt(1.25); z = ±1.5/sqrt(1.25), ±0.5/sqrt(1.25).
	const z1, z0 = 1.3416407864998738, 0.4472135954999579
	want := []float64{
		-z1, 0, 0, 1, // red
		-z0, 1, 0, 0, // blue
		z0, 0, 0, 1, // red
		z1, 0, 1, 0, // green
	}
	if ds.X.Rows != 4 || ds.X.Cols != 4 {
		t.Fatalf("X is %dx%d", ds.X.Rows, ds.X.Cols)
	}
	for i, w := range want {
		if !near(ds.X.Data[i], w, 1e-15) {
			t.Errorf("X[%d] = %v, want %v", i, ds.X.Data[i], w)
		}
	}
	if f := p.Features[0]; f.Mean != 2.5 || f.Std != 1.118033988749895 || f.Kind != Int {
		t.Errorf("x feature %+v", f)
	}
	if got := ds.Features; !reflect.DeepEqual(got, []string{"x", "color=blue", "color=green", "color=red"}) {
		t.Errorf("features %q", got)
	}
	if !reflect.DeepEqual(ds.Classes, []string{"a", "b"}) || !reflect.DeepEqual(ds.Known, []int{0, 1, 0, -1}) ||
		!reflect.DeepEqual(ds.Truth, []string{"a", "b", "a", ""}) {
		t.Errorf("classes %q known %v truth %q", ds.Classes, ds.Known, ds.Truth)
	}
	// An unseen level is an all-zero block, a new label is unlabeled with
	// its truth kept, a null text cell is all zeros too.
	test := mustRead(t, "t.csv", "class,color,x\nb,purple,2.5\nc,red,0\na,,1\n")
	ds, err := p.Transform(test)
	if err != nil {
		t.Fatal(err)
	}
	want = []float64{0, 0, 0, 0, -2.5 / 1.118033988749895, 0, 0, 1, -z1, 0, 0, 0}
	for i, w := range want {
		if !near(ds.X.Data[i], w, 1e-15) {
			t.Errorf("test X[%d] = %v, want %v", i, ds.X.Data[i], w)
		}
	}
	if !reflect.DeepEqual(ds.Known, []int{1, -1, 0}) || !reflect.DeepEqual(ds.Truth, []string{"b", "c", "a"}) {
		t.Errorf("test known %v truth %q", ds.Known, ds.Truth)
	}
}

func TestImpute(t *testing.T) {
	in := "x,class\n1,a\nNA,a\n3,b\n10,b\n2,a\n"
	test := mustRead(t, "t.csv", "x,class\n,a\n1,b\n")
	cases := []struct {
		impute         string
		fill, mean, sd float64
		z              []float64 // test rows: (fill-mean)/sd, (1-mean)/sd
	}{
		// observed 1,3,10,2: mean 4; column 1,4,3,10,2 has std sqrt(10).
		{"mean", 4, 4, 3.1622776601683795, []float64{0, -3 / 3.1622776601683795}},
		// median of 1,2,3,10 is 2.5; column 1,2.5,3,10,2: mean 3.7, std sqrt(10.36).
		{"median", 2.5, 3.7, 3.2186953878862163, []float64{-0.37282185960072006, -0.8388491841016201}},
	}
	for _, c := range cases {
		p, _ := fitTransform(t, mustRead(t, "d.csv", in), Roles{Impute: c.impute})
		f := p.Features[0]
		if f.Fill != c.fill || !near(f.Mean, c.mean, 1e-15) || !near(f.Std, c.sd, 1e-15) {
			t.Errorf("%s: fill %v mean %v std %v, want %v %v %v", c.impute, f.Fill, f.Mean, f.Std, c.fill, c.mean, c.sd)
		}
		ds, err := p.Transform(test)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.z {
			if !near(ds.X.Data[i], w, 1e-14) {
				t.Errorf("%s: test z[%d] = %v, want %v", c.impute, i, ds.X.Data[i], w)
			}
		}
	}
	// Median of an odd count, and non-finite values imputed too.
	p, _ := fitTransform(t, mustRead(t, "d.csv", "x,class\n1,a\nInf,a\n7,b\n-inf,b\n2,a\n"), Roles{Impute: "median"})
	if p.Features[0].Fill != 2 {
		t.Errorf("median fill %v, want 2", p.Features[0].Fill)
	}
	// A column with no values at all is dropped, with a note.
	p, _ = fitTransform(t, mustRead(t, "d.csv", "x,y,class\n1,NA,a\n2,,b\n"), Roles{Impute: "mean"})
	if !reflect.DeepEqual(p.Dropped, []string{"y"}) || len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "no values") {
		t.Errorf("dropped %q notes %q", p.Dropped, p.Notes)
	}
}

func TestNovelAndClasses(t *testing.T) {
	tb := mustRead(t, "d.csv", "v,class\n1,10\n2,2\n3,1\n4,2\n5,NaN\n6,10\n7,null\n")
	if c := col(t, tb, "class"); c.Kind != Int {
		t.Fatalf("class kind %v", c.Kind)
	}
	p, ds := fitTransform(t, tb, Roles{Novel: []string{"2"}})
	// Numeric class names sort as numbers; "2" is novel, so not a class.
	if !reflect.DeepEqual(p.Classes, []string{"1", "10"}) {
		t.Errorf("classes %q", p.Classes)
	}
	if !reflect.DeepEqual(ds.Known, []int{1, -1, 0, -1, -1, 1, -1}) ||
		!reflect.DeepEqual(ds.Truth, []string{"10", "2", "1", "2", "", "10", ""}) {
		t.Errorf("known %v truth %q", ds.Known, ds.Truth)
	}
	if got := ds.UnlabeledRows(); !reflect.DeepEqual(got, []int{1, 3, 4, 6}) {
		t.Errorf("unlabeled rows %v", got)
	}
	// Text class names sort as strings.
	p, _ = fitTransform(t, mustRead(t, "d.csv", "v,class\n1,b\n2,B\n3,a10\n4,a9\n"), Roles{})
	if !reflect.DeepEqual(p.Classes, []string{"B", "a10", "a9", "b"}) {
		t.Errorf("classes %q", p.Classes)
	}
	// No target: all rows unlabeled, no classes.
	p, ds = fitTransform(t, mustRead(t, "d.csv", "v,w\n1,3\n2,4\n"), Roles{Target: NoTarget})
	if len(p.Classes) != 0 || !reflect.DeepEqual(ds.Known, []int{-1, -1}) || len(p.Features) != 2 {
		t.Errorf("no target: classes %q known %v features %d", p.Classes, ds.Known, len(p.Features))
	}
	// A target column absent from a later file: every row unlabeled.
	p, _ = fitTransform(t, mustRead(t, "d.csv", "v,class\n1,a\n2,b\n"), Roles{})
	ds, err := p.Transform(mustRead(t, "new.csv", "v\n5\n"))
	if err != nil || !reflect.DeepEqual(ds.Known, []int{-1}) || !reflect.DeepEqual(ds.Truth, []string{""}) {
		t.Errorf("absent target: %v %v", ds, err)
	}
}

func TestFeatureSelection(t *testing.T) {
	in := "id,a,b,c,class\n1,1,5,x,p\n2,2,4,y,q\n3,3,3,x,p\n"
	p, _ := fitTransform(t, mustRead(t, "d.csv", in), Roles{ID: "id"})
	if got := p.FeatureNames(); !reflect.DeepEqual(got, []string{"a", "b", "c=x", "c=y"}) {
		t.Errorf("default features %q", got)
	}
	p, _ = fitTransform(t, mustRead(t, "d.csv", in), Roles{Features: []string{"c", "a", "c"}})
	if got := p.FeatureNames(); !reflect.DeepEqual(got, []string{"c=x", "c=y", "a"}) {
		t.Errorf("--features order %q", got)
	}
	p, _ = fitTransform(t, mustRead(t, "d.csv", in), Roles{ID: "id", Exclude: []string{"b", "class"}})
	if got := p.FeatureNames(); !reflect.DeepEqual(got, []string{"a", "c=x", "c=y"}) {
		t.Errorf("--exclude %q", got)
	}
	// Transform looks columns up by name: another order works.
	ds, err := p.Transform(mustRead(t, "t.csv", "c,class,a\ny,p,2\n"))
	if err != nil || !reflect.DeepEqual(ds.X.Data, []float64{0, 0, 1}) {
		t.Errorf("reordered transform %v %v", ds.X.Data, err)
	}
}

func TestConstantColumns(t *testing.T) {
	// 0.1 three times: the mean is not exactly 0.1 in floating point, so
	// constancy must be decided by min == max, not by std == 0.
	in := "k,t,u,v,class\n0.1,same,x,1,a\n0.1,same,,2,b\n0.1,same,x,4,a\n"
	p, ds := fitTransform(t, mustRead(t, "d.csv", in), Roles{})
	if !reflect.DeepEqual(p.Dropped, []string{"k", "t"}) {
		t.Errorf("dropped %q", p.Dropped)
	}
	// u has a single level but also a null: it still says something.
	if got := ds.Features; !reflect.DeepEqual(got, []string{"u=x", "v"}) {
		t.Errorf("features %q", got)
	}
	if len(p.Notes) != 2 || !strings.Contains(p.Notes[0], `"k" is constant (0.1)`) {
		t.Errorf("notes %q", p.Notes)
	}
}

func TestOptdigitsConstantColumns(t *testing.T) {
	const path = "../../testdata/optdigits.csv"
	if _, err := os.Stat(path); err != nil {
		t.Skip("optdigits.csv not available")
	}
	tb, err := Read(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ds := fitTransform(t, tb, Roles{})
	// As in the paper: optdigits' two constant pixels are dropped, 62 remain.
	if !reflect.DeepEqual(p.Dropped, []string{"pixel_0_0", "pixel_4_7"}) || ds.X.Cols != 62 {
		t.Errorf("dropped %q, %d features", p.Dropped, ds.X.Cols)
	}
	if !reflect.DeepEqual(p.Classes, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Errorf("classes %q", p.Classes)
	}
}

func TestLetterStatistics(t *testing.T) {
	if _, err := os.Stat(letterCSV); err != nil {
		t.Skip("letter.csv not available")
	}
	tb, err := Read(letterCSV, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, ds := fitTransform(t, tb, Roles{Novel: []string{"A", "B"}})
	// Reference: python3 statistics.fmean / statistics.pstdev over the
	// column (exactly rounded).
	ref := map[string][2]float64{"x_box": {4.02355, 1.9131637142440268}, "yegvx": {7.8012, 1.617429615161043}}
	for _, f := range p.Features {
		if r, ok := ref[f.Name]; ok && (!near(f.Mean, r[0], 1e-14) || !near(f.Std, r[1], 1e-12)) {
			t.Errorf("%s: mean %v std %v, want %v", f.Name, f.Mean, f.Std, r)
		}
	}
	if ds.X.Rows != 20000 || ds.X.Cols != 16 || len(p.Classes) != 24 || p.Classes[0] != "C" {
		t.Errorf("X %dx%d, classes %q", ds.X.Rows, ds.X.Cols, p.Classes)
	}
	hidden := 0
	for i, k := range ds.Known {
		if ds.Truth[i] == "A" || ds.Truth[i] == "B" {
			hidden++
			if k != dataset.Unlabeled {
				t.Fatalf("row %d of novel class %s has Known %d", i, ds.Truth[i], k)
			}
		} else if p.Classes[k] != ds.Truth[i] {
			t.Fatalf("row %d: class %s, truth %s", i, p.Classes[k], ds.Truth[i])
		}
	}
	if hidden != 789+766 { // UCI letter counts of A and B
		t.Errorf("%d novel rows", hidden)
	}
	// Every column is z-scored: mean 0, population std 1.
	for j := range ds.X.Cols {
		var s, ss float64
		for i := range ds.X.Rows {
			s += ds.X.At(i, j)
		}
		m := s / float64(ds.X.Rows)
		for i := range ds.X.Rows {
			ss += (ds.X.At(i, j) - m) * (ds.X.At(i, j) - m)
		}
		if math.Abs(m) > 1e-12 || math.Abs(math.Sqrt(ss/float64(ds.X.Rows))-1) > 1e-12 {
			t.Errorf("column %d: mean %v std %v", j, m, math.Sqrt(ss/float64(ds.X.Rows)))
		}
	}
}

func TestCategoricalKinds(t *testing.T) {
	// A Bool column is one-hot (false/true) like the same data as text; a
	// numeric column in a later file is matched against text levels by its
	// text; a text column of numbers under a numeric feature is parsed.
	tb := &Table{Source: "mem", Rows: 4, Columns: []*Column{
		{Name: "b", Kind: Bool, Bool: []bool{true, false, true, false}, Null: []bool{false, false, false, true}},
		{Name: "lvl", Kind: Text, Text: []string{"1", "2", "x", "2"}},
		{Name: "n", Kind: Float, Float: []float64{1, 2, 3, 4}},
		{Name: "class", Kind: Text, Text: []string{"a", "b", "a", "b"}},
	}}
	p, ds := fitTransform(t, tb, Roles{})
	if got := ds.Features; !reflect.DeepEqual(got, []string{"b=false", "b=true", "lvl=1", "lvl=2", "lvl=x", "n"}) {
		t.Fatalf("features %q", got)
	}
	if got := ds.X.Row(3)[:5]; !reflect.DeepEqual(got, []float64{0, 0, 0, 1, 0}) {
		t.Errorf("row 3 %v", got)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], `column "lvl" is one-hot encoded as text (3 levels) because row 3 has "x", although 3 other cells are numbers`) {
		t.Errorf("notes %q", p.Notes)
	}
	test := &Table{Source: "mem2", Rows: 1, Columns: []*Column{
		{Name: "b", Kind: Text, Text: []string{"true"}},
		{Name: "lvl", Kind: Int, Int: []int64{2}},
		{Name: "n", Kind: Text, Text: []string{" 2.5 "}},
	}}
	ds, err := p.Transform(test)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.X.Row(0); !reflect.DeepEqual(got, []float64{0, 1, 0, 1, 0, 0}) {
		t.Errorf("test row %v", got)
	}
}

func TestPreprocessorSerialization(t *testing.T) {
	tb := mustRead(t, "d.csv", "x,color,class\n1,red,a\n2,blue,b\n3.5,red,a\nNA,green,NA\n")
	p, ds := fitTransform(t, tb, Roles{Impute: "median", Novel: []string{"b"}, MaxLevels: 10})
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"kind":"float"`) || !strings.Contains(string(js), `"kind":"text"`) {
		t.Errorf("kinds not by name in %s", js)
	}
	var pj Preprocessor
	if err := json.Unmarshal(js, &pj); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		t.Fatal(err)
	}
	var pg Preprocessor
	if err := gob.NewDecoder(&buf).Decode(&pg); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]*Preprocessor{"json": &pj, "gob": &pg} {
		if !reflect.DeepEqual(q, p) {
			t.Errorf("%s round trip: %+v, want %+v", name, q, p)
		}
		ds2, err := q.Transform(tb)
		if err != nil || !reflect.DeepEqual(ds2, ds) {
			t.Errorf("%s: transform differs (%v)", name, err)
		}
	}
	var k Kind
	if err := k.UnmarshalText([]byte("complex")); err == nil {
		t.Errorf("bad kind accepted")
	}
	if Kind(9).String() != "Kind(9)" || slices.Contains(kindNames[:], "") {
		t.Errorf("kind names")
	}
}
