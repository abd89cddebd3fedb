package cv

import (
	"context"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/linalg"
)

// TestFoldChooseKSizes: a fold's k under the sizes rule. Six classes of 100
// rows; the fold hides d, e and f (300 rows: 3 classes' worth of the kept
// classes' 100; sd 1/sqrt(100) sqrt(3 + 9/3) = .245), whose rows form two
// tight groups, which the scan finds. The class sizes give 3; with --unlabel-known (some unlabeled rows
// are known-class rows) they must not decide, and the scan's 2 stands.
func TestFoldChooseKSizes(t *testing.T) {
	ds := &dataset.Dataset{Classes: []string{"a", "b", "c", "d", "e", "f"}}
	X := linalg.Matrix{Cols: 2}
	for c := range 6 {
		for i := range 100 {
			ds.Known = append(ds.Known, c)
			x := float64(c) * 10
			if c >= 3 { // d, e and f: two groups, at 100 and 200
				x = 100 * float64(1+(100*(c-3)+i)/150)
			}
			X.Data = append(X.Data, x+0.01*float64(i%5), 0.01*float64(i%3))
			X.Rows++
		}
	}
	ds.X = X
	scan := estimate.ScanOptions{KMax: 6, Runs: 1, NInit: 2, Rule: estimate.RuleSizes}
	for _, mixed := range []bool{false, true} {
		ds.MixedUnlabeled = mixed
		fd, hidden, _ := hideClasses(ds, []int{3, 4, 5})
		f := &Fold{Data: fd, Hidden: hidden, Threads: 1, scan: scan}
		k, err := f.ChooseK(context.Background(), fd.X.Select(hidden))
		want := 3
		if mixed {
			want = 2
		}
		if err != nil || k != want {
			t.Errorf("mixed %v: k %d (%v), want %d", mixed, k, err, want)
		}
	}
}
