package cv

import (
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
)

// TestGCDFoldsUnlabel: of classes with 10, 7 and 1 labelled rows, .5
// unlabels round(5), round(3.5) = 4 and none (a class keeps a labelled
// row); the rows come back merged with the fold's hidden rows, increasing;
// another fold draws other rows.
func TestGCDFoldsUnlabel(t *testing.T) {
	var known []int
	for c, n := range []int{10, 7, 1} {
		for range n {
			known = append(known, c)
		}
	}
	known = append(known, dataset.Unlabeled) // a real unlabeled row: never a row to cluster
	mk := func() *dataset.Dataset {
		return &dataset.Dataset{X: linalg.New(len(known), 1), Known: slices.Clone(known), Classes: []string{"a", "b", "c"}}
	}
	g := &GCDFolds{Unlabel: 0.5}
	fd := mk()
	hidden := []int{100, 101} // stand-ins for a hidden class's rows
	rows := g.unlabel(fd, hidden, 7, 0)
	if !slices.IsSorted(rows) || !slices.Contains(rows, 100) || len(rows) != 2+5+4 {
		t.Fatalf("rows %v", rows)
	}
	per := make([]int, 3)
	for _, i := range rows {
		if i < len(known) {
			if fd.Known[i] != dataset.Unlabeled || known[i] < 0 {
				t.Fatalf("row %d: known %d (was %d)", i, fd.Known[i], known[i])
			}
			per[known[i]]++
		}
	}
	if !slices.Equal(per, []int{5, 4, 0}) {
		t.Errorf("unlabeled per class %v, want [5 4 0]", per)
	}
	if again := g.unlabel(mk(), hidden, 7, 0); !slices.Equal(again, rows) {
		t.Error("same seed and fold, other rows")
	}
	if other := g.unlabel(mk(), hidden, 7, 1); slices.Equal(other, rows) {
		t.Error("another fold, same rows")
	}
	if k := (&GCDPBN{}).KNew([]int{-1, -3, 0, 2, 2, -1}); k != 2 {
		t.Errorf("KNew = %d, want 2", k)
	}
}
