package io

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/usererr"
)

var fuzzSeeds = []string{
	"a,b,class\n1,2,x\n3,4,y\n",
	"a\tb\tclass\n1.5\tNA\tx\n\t4\t\n",
	"\"a,1\",\"b\"\"\",class\r\n\"1\n2\",3,\"\"\r\n4,5,z",
	"x,class\n1,a\n2,b\noops,a\nInf,b\n",
	"\xef\xbb\xbf,a, a\n1,2,3\n",
	"x\n\"\"\n1\n\n2\n",
	"a,b\n1,2,3\n",
	"a,\"b\nc\n",
	"a,b\n0x1p-2,1e999\n-0,+5\n",
	"c1,c2,class\nnull,NaN,1\n1,2,2\n3,4,3\n",
	"a;b;class\n1,5;2;x\n3;4,25;y\n",
	"a|b|class\n1|2|x\n\"3|4\"|5|y\n",
	"\"a;b\";c\n\"1;2\";3\n",
	"x,y;z\n1,2;3\n4;5,6\n",
	"a;b\n1;2\n3\n",
	"one;column\n",
	// A stray word in a column of numbers (an error, or missing with
	// --impute), and an earlier run's predictions (cluster, unlabeled).
	"x,class\n" + strings.Repeat("1,a\n2,b\n", 10) + "five,a\n",
	"x,cluster,unlabeled,class\n1,a,false,a\n2,novel_0,true,b\n3,novel_1,True,\n",
}

// FuzzReadCSV feeds arbitrary bytes through the CSV reader, Fit, Transform
// and a write/read round trip. Nothing may panic; every failure must be a
// user error; a table read must survive writing it back unchanged.
func FuzzReadCSV(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(data, []byte("PAR1")) {
			t.Skip("Parquet decoding is not under test here")
		}
		// Every input is read sniffed, and again with a delimiter forced
		// as --delimiter does (which one depends on the input, so that
		// the corpus covers all four).
		for _, opt := range []ReadOptions{{}, {Delimiter: Delimiters[len(data)%len(Delimiters)]}} {
			fuzzOne(t, data, opt)
		}
	})
}

// fuzzOne checks one read of data: nothing panics, every failure is a user
// error, and what is read survives a CSV round trip, Fit and Transform.
func fuzzOne(t *testing.T, data []byte, opt ReadOptions) {
	tb, err := ReadWith("-", bytes.NewReader(data), opt)
	if err != nil {
		if !usererr.Is(err) {
			t.Fatalf("not a user error: %v", err)
		}
		return
	}
	if tb.Rows <= 0 || len(tb.Columns) == 0 {
		t.Fatalf("empty table without error: %d rows, %d columns", tb.Rows, len(tb.Columns))
	}
	if err := tb.check(); err != nil {
		t.Fatalf("inconsistent table: %v", err)
	}
	// Round trip through CSV.
	var buf bytes.Buffer
	if err := WriteTo(&buf, tb, CSV); err != nil {
		t.Fatalf("write: %v", err)
	}
	back, err := Read("-", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("re-read of %q: %v", buf.Bytes(), err)
	}
	sameValues(t, back, tb)

	last := tb.Columns[len(tb.Columns)-1].Name
	for _, r := range []Roles{{Target: last, Impute: "mean"}, {Target: NoTarget}, {Target: last, Impute: "median", MaxLevels: 3}} {
		p, err := Fit(tb, r)
		if err != nil {
			if !usererr.Is(err) {
				t.Fatalf("Fit %+v: not a user error: %v", r, err)
			}
			continue
		}
		ds, err := p.Transform(tb)
		if err != nil {
			if !usererr.Is(err) {
				t.Fatalf("Transform: not a user error: %v", err)
			}
			continue
		}
		if ds.X.Rows != tb.Rows || ds.X.Cols != p.Dims() || len(ds.Known) != tb.Rows || len(ds.Truth) != tb.Rows {
			t.Fatalf("dataset shape %dx%d, known %d, truth %d", ds.X.Rows, ds.X.Cols, len(ds.Known), len(ds.Truth))
		}
		for i, v := range ds.X.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("X[%d] = %v", i, v)
			}
		}
		for i, k := range ds.Known {
			if k < -1 || k >= len(ds.Classes) || (k >= 0 && ds.Classes[k] != ds.Truth[i]) {
				t.Fatalf("row %d: known %d, truth %q, classes %q", i, k, ds.Truth[i], ds.Classes)
			}
		}
	}
}

// sameValues compares a table re-read from CSV with the original: names,
// nulls, text verbatim, numbers by value (a float column of integral values
// may come back as ints).
func sameValues(t *testing.T, got, want *Table) {
	t.Helper()
	if got.Rows != want.Rows || len(got.Columns) != len(want.Columns) {
		t.Fatalf("round trip: %d rows %q, want %d rows %q", got.Rows, got.Names(), want.Rows, want.Names())
	}
	for j, w := range want.Columns {
		g := got.Columns[j]
		if g.Name != w.Name || g.Kind.Numeric() != w.Kind.Numeric() {
			t.Fatalf("round trip column %d: %q %v, want %q %v", j, g.Name, g.Kind, w.Name, w.Kind)
		}
		for i := range want.Rows {
			if g.IsNull(i) != w.IsNull(i) {
				t.Fatalf("round trip %q row %d: null %v, want %v", w.Name, i+1, g.IsNull(i), w.IsNull(i))
			}
			if w.Kind == Text {
				if g.Text[i] != w.Text[i] {
					t.Fatalf("round trip %q row %d: %q, want %q", w.Name, i+1, g.Text[i], w.Text[i])
				}
				continue
			}
			if w.IsNull(i) {
				continue
			}
			gv, _ := numericCell(g, i)
			wv, _ := numericCell(w, i)
			if gv != wv && !(math.IsNaN(gv) && math.IsNaN(wv)) {
				t.Fatalf("round trip %q row %d: %v, want %v", w.Name, i+1, gv, wv)
			}
		}
	}
}

// FuzzParseFloat checks the fast number parser against strconv.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"1", "-0.5", "1e22", "123456789012345678", ".5e-3", "inf", "0x1p3", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconvParse(s)
		got, ok := parseFloat([]byte(s))
		if ok != (err == nil) || (ok && math.Float64bits(got) != math.Float64bits(want) && !math.IsNaN(want)) {
			t.Fatalf("%q: got %v %v, strconv %v %v", s, got, ok, want, err)
		}
	})
}
