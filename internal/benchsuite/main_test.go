package main

import (
	"math"
	"path/filepath"
	"testing"
)

// prepare: a third to a half of the classes novel (at least 2 known), the
// same choice for the same split, and a stratified 30% test split.
func TestPrepare(t *testing.T) {
	dirs := []string{"../../testdata"}
	tb := table{name: "letter", file: "letter.csv"}
	seen := map[string]bool{}
	for s := range 3 {
		dir := t.TempDir()
		train, test, novel, err := prepare(tb, s, dirs, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(novel) < 9 || len(novel) > 13 { // 26 classes: ceil(26/3) = 9 .. 13
			t.Errorf("split %d: %d novel classes %v", s, len(novel), novel)
		}
		_, tr, err := readCSV(train)
		if err != nil {
			t.Fatal(err)
		}
		_, te, err := readCSV(test)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr)+len(te) != 20000 || math.Abs(float64(len(te))-6000) > 26 {
			t.Errorf("split %d: %d train, %d test rows; want 20000 split 70/30", s, len(tr), len(te))
		}
		perClass := map[string][2]int{}
		for _, r := range tr {
			c := perClass[r[len(r)-1]]
			c[0]++
			perClass[r[len(r)-1]] = c
		}
		for _, r := range te {
			c := perClass[r[len(r)-1]]
			c[1]++
			perClass[r[len(r)-1]] = c
		}
		for cl, c := range perClass {
			if want := math.Round(0.3 * float64(c[0]+c[1])); float64(c[1]) != want {
				t.Errorf("split %d class %s: %d test rows of %d, want %v", s, cl, c[1], c[0]+c[1], want)
			}
		}
		_, _, again, err := prepare(tb, s, dirs, filepath.Join(dir))
		if err != nil || len(again) != len(novel) {
			t.Fatalf("split %d not reproducible: %v %v", s, again, err)
		}
		for i := range novel {
			if again[i] != novel[i] {
				t.Fatalf("split %d: novel classes %v then %v", s, novel, again)
			}
		}
		seen[filepath.Base(novel[0])+novel[len(novel)-1]] = true
	}
	if len(seen) < 2 {
		t.Error("the three splits chose the same novel classes")
	}
}
