package cluster

import (
	"math"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/testutil"
)

// loadCSV reads the bundled dataset testdata/<name>.
func loadCSV(tb testing.TB, name string) (linalg.Matrix, []string) {
	X, y, _ := testutil.LoadCSV(tb, testutil.Data(name))
	return X, y
}

// dropCols returns X without the listed columns.
func dropCols(X linalg.Matrix, drop []int) linalg.Matrix {
	var keep []int
	for j := 0; j < X.Cols; j++ {
		if !slices.Contains(drop, j) {
			keep = append(keep, j)
		}
	}
	out := linalg.New(X.Rows, len(keep))
	for i := 0; i < X.Rows; i++ {
		for jj, j := range keep {
			out.Data[i*len(keep)+jj] = X.At(i, j)
		}
	}
	return out
}

// clusterAccuracy is ACC: the best one-to-one matching of predicted clusters
// to true classes (Hungarian algorithm, maximizing matched rows), divided by n.
func clusterAccuracy(truth []string, pred []int) float64 {
	cls := map[string]int{}
	for _, t := range truth {
		if _, ok := cls[t]; !ok {
			cls[t] = len(cls)
		}
	}
	np := 0
	for _, p := range pred {
		np = max(np, p+1)
	}
	n := max(np, len(cls))
	w := make([][]float64, n)
	for i := range w {
		w[i] = make([]float64, n)
	}
	for i, t := range truth {
		w[pred[i]][cls[t]]++
	}
	// Minimize -w with the O(n^3) potentials Hungarian algorithm.
	inf := math.Inf(1)
	u := make([]float64, n+1)
	v := make([]float64, n+1)
	match := make([]int, n+1)
	way := make([]int, n+1)
	for i := 1; i <= n; i++ {
		match[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = inf
		}
		for match[j0] != 0 {
			used[j0] = true
			i0, delta, j1 := match[j0], inf, 0
			for j := 1; j <= n; j++ {
				if !used[j] {
					cur := -w[i0-1][j-1] - u[i0] - v[j]
					if cur < minv[j] {
						minv[j], way[j] = cur, j0
					}
					if minv[j] < delta {
						delta, j1 = minv[j], j
					}
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[match[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
		}
		for j0 != 0 {
			j1 := way[j0]
			match[j0] = match[j1]
			j0 = j1
		}
	}
	tot := 0.0
	for j := 1; j <= n; j++ {
		tot += w[match[j]-1][j-1]
	}
	return tot / float64(len(truth))
}

// ncdSplit prepares the reference protocol (REFERENCE.md): z-score with the
// training rows' statistics, then split train/test into known and novel rows.
type ncdSplit struct {
	trainNovel, testNovel linalg.Matrix
	testTruth             []string
	knownMeans            linalg.Matrix
}

func loadNCD(tb testing.TB, name string, novel []string, drop []int) ncdSplit {
	Xtr, ytr := loadCSV(tb, name+"_train.csv")
	Xte, yte := loadCSV(tb, name+"_test.csv")
	if drop != nil {
		Xtr, Xte = dropCols(Xtr, drop), dropCols(Xte, drop)
	}
	mean, std := testutil.ColStats(Xtr)
	testutil.Standardize(Xtr, mean, std)
	testutil.Standardize(Xte, mean, std)
	var knownNames []string
	for _, y := range ytr {
		if !slices.Contains(novel, y) && !slices.Contains(knownNames, y) {
			knownNames = append(knownNames, y)
		}
	}
	slices.Sort(knownNames)
	known := make([]int, len(ytr))
	var trNovel, teNovel []int
	for i, y := range ytr {
		known[i] = slices.Index(knownNames, y)
		if known[i] < 0 {
			trNovel = append(trNovel, i)
		}
	}
	var truth []string
	for i, y := range yte {
		if slices.Contains(novel, y) {
			teNovel = append(teNovel, i)
			truth = append(truth, y)
		}
	}
	return ncdSplit{
		trainNovel: Xtr.Select(trNovel), testNovel: Xte.Select(teNovel), testTruth: truth,
		knownMeans: KnownMeans(Xtr, known, len(knownNames)),
	}
}

// constantCols lists the columns constant over X: on optdigits' training split
// pixel_0_0 and pixel_4_7, the two columns the protocol drops.
func constantCols(X linalg.Matrix) []int {
	var out []int
	for j := 0; j < X.Cols; j++ {
		c := true
		for i := 1; i < X.Rows && c; i++ {
			c = X.At(i, j) == X.At(0, j)
		}
		if c {
			out = append(out, j)
		}
	}
	return out
}

// refSplit returns the reference protocol's data for letter, pendigits or optdigits.
func refSplit(tb testing.TB, name string) ncdSplit {
	switch name {
	case "letter":
		return loadNCD(tb, "letter", []string{"A", "D", "H", "M", "P", "V", "X"}, nil)
	case "pendigits":
		return loadNCD(tb, "pendigits", []string{"0", "3", "5", "6", "7"}, nil)
	case "optdigits":
		Xtr, _ := loadCSV(tb, "optdigits_train.csv")
		return loadNCD(tb, "optdigits", []string{"0", "3", "4", "5", "6"}, constantCols(Xtr))
	}
	tb.Fatalf("unknown dataset %s", name)
	return ncdSplit{}
}
