package io

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// irisWith returns iris.csv with data row `row` (1-based), column `col`
// (0-based) replaced by val, read as a table named name.
func irisWith(t *testing.T, name string, edits map[[2]int]string) *Table {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/iris.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for rc, val := range edits {
		f := strings.Split(lines[rc[0]], ",")
		f[rc[1]] = val
		lines[rc[0]] = strings.Join(f, ",")
	}
	return mustRead(t, name, strings.Join(lines, "\n"))
}

// TestStrayWordInNumbers: one "five" in iris' sepal_length (row 9, which
// holds 4.4) is an error naming the file, row, column and value; with
// --impute it is a missing value, and the features are exactly those of
// the file with that cell empty.
func TestStrayWordInNumbers(t *testing.T) {
	typo := irisWith(t, "iris_typo.csv", map[[2]int]string{{9, 0}: "five"})
	_, err := Fit(typo, Roles{})
	wantUserErr(t, "five", err, `iris_typo.csv: row 9: column "sepal_length": "five" is not a number, in a column of 149 numbers; fix it, or use --impute mean or --impute median to treat it as missing`)

	for _, imp := range []string{"mean", "median"} {
		empty := irisWith(t, "iris_empty.csv", map[[2]int]string{{9, 0}: ""})
		pe, de := fitTransform(t, empty, Roles{Impute: imp})
		pt, dt := fitTransform(t, typo, Roles{Impute: imp})
		if !reflect.DeepEqual(dt.X.Data, de.X.Data) || !reflect.DeepEqual(pt.Features, pe.Features) {
			t.Errorf("--impute %s: the typo file's features differ from the empty-cell file's", imp)
		}
		f := pt.Features[0]
		if f.Name != "sepal_length" || f.Kind != Float || f.Width() != 1 {
			t.Errorf("--impute %s: feature %+v, want numeric sepal_length", imp, f)
		}
		// iris' sepal lengths sum to 876.5; without 4.4, 872.1 over 149.
		if want := map[string]float64{"mean": 872.1 / 149, "median": 5.8}[imp]; !near(f.Fill, want, 1e-15) {
			t.Errorf("--impute %s: fill %v, want %v", imp, f.Fill, want)
		}
		wantNote := fmt.Sprintf(`column "sepal_length": row 9 "five" is not a number; treated as missing and filled with the %s %s (--impute %s)`, imp, formatFloat(f.Fill), imp)
		if !reflect.DeepEqual(pt.Notes, []string{wantNote}) {
			t.Errorf("notes %q, want %q", pt.Notes, wantNote)
		}
		if len(pe.Notes) != 0 {
			t.Errorf("empty-cell file: notes %q", pe.Notes)
		}
	}

	// Several stray cells are listed together.
	three := irisWith(t, "iris3.csv", map[[2]int]string{{9, 1}: "?", {40, 1}: "n/a", {120, 1}: "3..1"})
	_, err = Fit(three, Roles{})
	wantUserErr(t, "three", err, `iris3.csv: row 9: column "sepal_width": "?" is not a number (nor are row 40 "n/a", row 120 "3..1"), in a column of 147 numbers; fix them`)
	p, _ := fitTransform(t, three, Roles{Impute: "mean"})
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], `column "sepal_width": rows 9 "?", 40 "n/a", 120 "3..1" are not a number; treated as missing`) {
		t.Errorf("notes %q", p.Notes)
	}
}

// TestStrayRuleBounds: the rule's two bounds. 19 numbers and 1 word is a
// typo (95%); 18 and 1 is text. 10 stray cells among 1000 numbers are typos,
// 11 are a text column (and keep the one-hot note).
func TestStrayRuleBounds(t *testing.T) {
	column := func(nums int, words ...string) string {
		var b strings.Builder
		b.WriteString("x,class\n")
		for i := range nums {
			fmt.Fprintf(&b, "%d,%c\n", i%7, 'a'+i%2)
		}
		for _, w := range words {
			fmt.Fprintf(&b, "%s,a\n", w)
		}
		return b.String()
	}
	many := func(n int) []string {
		w := make([]string, n)
		for i := range w {
			w[i] = fmt.Sprintf("w%d", i)
		}
		return w
	}
	_, err := Fit(mustRead(t, "a.csv", column(19, "oops")), Roles{})
	wantUserErr(t, "19+1", err, "a.csv: row 20", `"oops" is not a number, in a column of 19 numbers`)
	// Missing cells do not count either way.
	_, err = Fit(mustRead(t, "a.csv", column(19, "oops", "NA", "", "null")), Roles{Impute: "mean"})
	if err != nil {
		t.Errorf("19+1 with missing cells, --impute: %v", err)
	}
	p, err := Fit(mustRead(t, "b.csv", column(18, "oops")), Roles{})
	if err != nil || p.Features[0].Kind != Text || len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "one-hot encoded as text") {
		t.Errorf("18+1: %v, notes %q", err, p.Notes)
	}
	_, err = Fit(mustRead(t, "c.csv", column(1000, many(10)...)), Roles{MaxLevels: 100000})
	wantUserErr(t, "1000+10", err, "c.csv: row 1001", `"w0" is not a number (nor are row 1002 "w1"`, `row 1010 "w9"), in a column of 1000 numbers`)
	p, err = Fit(mustRead(t, "d.csv", column(1000, many(11)...)), Roles{MaxLevels: 100000})
	if err != nil || p.Features[0].Kind != Text || len(p.Features[0].Levels) != 7+11 {
		t.Errorf("1000+11: %v, feature %+v", err, p.Features[0])
	}
	// The stray check comes before the level limit: a column of many
	// distinct numbers and one word is reported as the typo it is.
	_, err = Fit(mustRead(t, "e.csv", strings.Replace(column(0), "x,class\n", "x,class\n"+numbers(5000), 1)+"five,a\n"), Roles{})
	wantUserErr(t, "levels", err, "e.csv: row 5001", `"five" is not a number, in a column of 5000 numbers`)
}

func numbers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d.5,%c\n", i, 'a'+i%2)
	}
	return b.String()
}

// TestStrayInLaterFile: a numeric feature meeting a stray word in another
// file (--test, or --data under a model) follows the same rule.
func TestStrayInLaterFile(t *testing.T) {
	iris := irisWith(t, "iris.csv", nil)
	test := irisWith(t, "test.csv", map[[2]int]string{{3, 2}: "1.3x"})
	p, err := Fit(iris, Roles{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Transform(test)
	wantUserErr(t, "no impute", err, `test.csv: row 3: column "petal_length": "1.3x" is not a number, in a column of 149 numbers (numeric in the data the preprocessing was fitted on); fix it, or use --impute`)

	p, err = Fit(iris, Roles{Impute: "median"})
	if err != nil {
		t.Fatal(err)
	}
	ds, notes, err := p.TransformNotes(test)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Features[2]
	if f.Name != "petal_length" || f.Fill != 4.35 {
		t.Fatalf("feature %+v, want petal_length with median 4.35", f)
	}
	if got, want := ds.X.At(2, 2), (4.35-f.Mean)/f.Std; math.Abs(got-want) > 1e-15 {
		t.Errorf("imputed cell %v, want %v", got, want)
	}
	if want := test.Source + `: column "petal_length": row 3 "1.3x" is not a number; treated as missing and filled with 4.35 (the --impute median of the fitting data)`; !reflect.DeepEqual(notes, []string{want}) {
		t.Errorf("notes %q, want %q", notes, want)
	}
	// An empty cell in the later file takes the same fill, although the
	// fitting data missed nothing (it used to take 0).
	gap := irisWith(t, "gap.csv", map[[2]int]string{{3, 2}: ""})
	if ds, err = p.Transform(gap); err != nil {
		t.Fatal(err)
	}
	if got, want := ds.X.At(2, 2), (4.35-f.Mean)/f.Std; math.Abs(got-want) > 1e-15 {
		t.Errorf("imputed empty cell %v, want %v", got, want)
	}
	// Many words are not strays: the old error, with --impute too.
	words := mustRead(t, "w.csv", "sepal_length,sepal_width,petal_length,petal_width,class\n1,2,x,4,a\n1,2,y,4,a\n")
	_, err = p.Transform(words)
	wantUserErr(t, "words", err, `w.csv: row 1: column "petal_length": "x" is not a number (the column is numeric`)
}

// TestCategoricalDatasetsUnaffected: soybean's 35 text columns (with empty
// cells) and zoo's text class keep their encoding: no column is taken for
// numbers with strays, and the encoded widths are those of one-hot.
func TestCategoricalDatasetsUnaffected(t *testing.T) {
	for name, dims := range map[string]int{"soybean.csv": 99, "zoo.csv": 16} {
		path := filepath.Join("../../../shared/datasets", name)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s not here: %v", path, err)
		}
		tb, err := Read(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range tb.Columns {
			if s, _ := strayCells(c); s != nil {
				t.Errorf("%s: column %q taken for numbers with stray cells %v", name, c.Name, s)
			}
		}
		for _, imp := range []string{"", "mean"} {
			p, err := Fit(tb, Roles{Impute: imp})
			if err != nil {
				t.Fatalf("%s --impute %q: %v", name, imp, err)
			}
			if p.Dims() != dims || len(p.Notes) != 0 {
				t.Errorf("%s --impute %q: %d dims, notes %q; want %d, none", name, imp, p.Dims(), p.Notes, dims)
			}
		}
	}
}
