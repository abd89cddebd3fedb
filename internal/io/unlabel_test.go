package io

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/usererr"
)

// unlabelTable has class a 7 rows, b 10, c 1, d 4 and 2 unlabeled rows, in
// an interleaved order.
func unlabelTable(t *testing.T) *Table {
	t.Helper()
	var b strings.Builder
	b.WriteString("x,class\n")
	labels := slices.Concat(rep("a", 7), rep("b", 10), rep("c", 1), rep("d", 4), rep("", 2))
	for i := range labels {
		// Spread the classes over the file, so that "the first rows of a
		// class" and "a random sample" differ.
		l := labels[(i*7)%len(labels)]
		fmt.Fprintf(&b, "%d,%s\n", i, l)
	}
	return mustRead(t, "u.csv", b.String())
}

func rep(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// hiddenPerClass counts, per true class, the rows a transform left
// unlabeled although their class is known.
func hiddenPerClass(ds *dataset.Dataset) map[string]int {
	out := map[string]int{}
	for i, k := range ds.Known {
		if k == dataset.Unlabeled && slices.Contains(ds.Classes, ds.Truth[i]) {
			out[ds.Truth[i]]++
		}
	}
	return out
}

// TestUnlabelKnownCounts: each known class loses exactly round(frac * n_c)
// labels (half away from zero), hand-computed below; novel and unlabeled
// rows are untouched and the truth is kept.
func TestUnlabelKnownCounts(t *testing.T) {
	tb := unlabelTable(t)
	for _, c := range []struct {
		frac float64
		want map[string]int
	}{
		// a 7: 3.5 -> 4; b 10: 5; c 1: 0.5 -> 1; d is novel.
		{0.5, map[string]int{"a": 4, "b": 5, "c": 1}},
		// a 2.1 -> 2; b 3 (0.3*10 is 3.0000000000000004); c 0.3 -> 0.
		{0.3, map[string]int{"a": 2, "b": 3}},
		// a 5.6 -> 6; b 8; c 0.8 -> 1.
		{0.8, map[string]int{"a": 6, "b": 8, "c": 1}},
		{1, map[string]int{"a": 7, "b": 10, "c": 1}},
		{0, map[string]int{}},
	} {
		p, ds := fitTransform(t, tb, Roles{Novel: []string{"d"}, UnlabelKnown: c.frac, UnlabelSeed: 5})
		if got := hiddenPerClass(ds); !reflect.DeepEqual(got, c.want) {
			t.Errorf("frac %v: hidden %v, want %v", c.frac, got, c.want)
		}
		plain, _ := fitTransform(t, tb, Roles{Novel: []string{"d"}})
		base, _ := plain.Transform(tb)
		hidden := 0
		for i := range ds.Known {
			switch {
			case ds.Truth[i] != base.Truth[i]:
				t.Fatalf("frac %v: row %d truth %q, want %q", c.frac, i, ds.Truth[i], base.Truth[i])
			case base.Known[i] == dataset.Unlabeled && ds.Known[i] != dataset.Unlabeled:
				t.Fatalf("frac %v: row %d became labeled", c.frac, i)
			case ds.Known[i] != base.Known[i] && ds.Known[i] != dataset.Unlabeled:
				t.Fatalf("frac %v: row %d changed class", c.frac, i)
			case ds.Known[i] != base.Known[i]:
				hidden++
			}
		}
		if !slices.Equal(p.Classes, []string{"a", "b", "c"}) {
			t.Errorf("frac %v: classes %v", c.frac, p.Classes)
		}
		// Fit's note counts what the transform does.
		note := fmt.Sprintf("the labels of %d of 18 known-class rows hidden (--unlabel-known %v, seed 5, per class)", hidden, c.frac)
		if has := slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, note) }); has != (c.frac > 0) {
			t.Errorf("frac %v: notes %q, want %q", c.frac, p.Notes, note)
		}
	}
}

// TestUnlabelKnownSeeded: the same seed hides the same rows (the
// preprocessing also after a gob round trip, as in a model file); another
// seed other rows; a class's rows do not depend on the other classes (here:
// b hidden as novel).
func TestUnlabelKnownSeeded(t *testing.T) {
	tb := unlabelTable(t)
	known := func(r Roles) []int {
		_, ds := fitTransform(t, tb, r)
		return ds.Known
	}
	rowsOf := func(r Roles, class string) []int {
		p, ds := fitTransform(t, tb, r)
		k := slices.Index(p.Classes, class)
		var out []int
		for i := range ds.Known {
			if ds.Truth[i] == class && ds.Known[i] != k {
				out = append(out, i)
			}
		}
		return out
	}
	r := Roles{UnlabelKnown: 0.5, UnlabelSeed: 11}
	a := known(r)
	if !slices.Equal(a, known(r)) {
		t.Fatal("same seed, other rows")
	}
	differ := 0
	for s := uint64(0); s < 5; s++ {
		if !slices.Equal(known(Roles{UnlabelKnown: 0.5, UnlabelSeed: s}), a) {
			differ++
		}
	}
	if differ < 4 {
		t.Errorf("only %d of 5 other seeds hide other rows", differ)
	}
	if x, y := rowsOf(r, "a"), rowsOf(Roles{UnlabelKnown: 0.5, UnlabelSeed: 11, Novel: []string{"b"}}, "a"); !slices.Equal(x, y) || len(x) != 4 {
		t.Errorf("class a's hidden rows %v, with b novel %v", x, y)
	}
	p, _ := fitTransform(t, tb, r)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(p); err != nil {
		t.Fatal(err)
	}
	var q Preprocessor
	if err := gob.NewDecoder(&buf).Decode(&q); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Transform(tb)
	if err != nil || q.Roles.UnlabelKnown != 0.5 || q.Roles.UnlabelSeed != 11 || !slices.Equal(ds.Known, a) {
		t.Errorf("after gob: roles %+v, err %v", q.Roles, err)
	}
}

// TestUnlabelKnownOtherTable: a second table (--test, or rows assigned with
// a model) loses round(frac * n_c) of its own rows per class, with a note
// naming it.
func TestUnlabelKnownOtherTable(t *testing.T) {
	p, _ := fitTransform(t, unlabelTable(t), Roles{UnlabelKnown: 0.5, UnlabelSeed: 2, Novel: []string{"d"}})
	// a 3 -> round(1.5) = 2, b 2 -> 1, c 0, d novel, e not a known class.
	other := mustRead(t, "test.csv", "x,class\n1,a\n2,b\n3,a\n4,d\n5,a\n6,b\n7,e\n8,\n")
	ds, notes, err := p.TransformNotes(other)
	if err != nil {
		t.Fatal(err)
	}
	if got := hiddenPerClass(ds); !reflect.DeepEqual(got, map[string]int{"a": 2, "b": 1}) {
		t.Errorf("hidden %v", got)
	}
	want := "/test.csv: experiment mode: the labels of 3 of 5 known-class rows hidden (--unlabel-known 0.5, seed 2, per class); their true classes stay in the output for 'ncd eval'"
	if len(notes) != 1 || !strings.HasSuffix(notes[0], want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
}

func TestUnlabelKnownBad(t *testing.T) {
	tb := unlabelTable(t)
	for _, c := range []struct {
		r    Roles
		want string
	}{
		{Roles{UnlabelKnown: -0.1}, "--unlabel-known must be a fraction between 0 and 1, got -0.1"},
		{Roles{UnlabelKnown: 1.5}, "--unlabel-known must be a fraction between 0 and 1, got 1.5"},
		{Roles{UnlabelKnown: math.NaN()}, "--unlabel-known must be a fraction between 0 and 1, got NaN"},
		{Roles{UnlabelKnown: 0.5, Target: NoTarget}, "--unlabel-known needs a target column, but --target is -"},
	} {
		_, err := Fit(tb, c.r)
		if err == nil || !usererr.Is(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
}
