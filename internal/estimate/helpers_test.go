package estimate

import (
	"strconv"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/testutil"
)

// loadCSV reads testdata/<name> (features then a last "class" column).
func loadCSV(tb testing.TB, name string) (linalg.Matrix, []string, []string) {
	return testutil.LoadCSV(tb, testutil.Data(name))
}

// novelZ z-scores X with all rows' mean and population std (as scikit-learn's
// StandardScaler fitted on the whole training file), optionally dropping
// constant columns first, and returns the rows whose class is in novel.
func novelZ(X linalg.Matrix, y []string, novel string, dropConst bool) (linalg.Matrix, []string) {
	n := X.Rows
	mean, sd := testutil.ColStats(X)
	var keep []int
	for j := range sd {
		if !dropConst || sd[j] > 0 {
			keep = append(keep, j)
		}
	}
	isNovel := map[string]bool{}
	for _, c := range novel {
		isNovel[string(c)] = true
	}
	var rows [][]float64
	var ys []string
	for i := 0; i < n; i++ {
		if !isNovel[y[i]] {
			continue
		}
		r := make([]float64, len(keep))
		for k, j := range keep {
			r[k] = (X.At(i, j) - mean[j]) / sd[j]
		}
		rows = append(rows, r)
		ys = append(ys, y[i])
	}
	return linalg.FromRows(rows), ys
}

type refSet struct {
	X linalg.Matrix
	y []string
}

// refData builds the matrices of testdata/sklearn_ref.py.
func refData(tb testing.TB, name string) refSet {
	tb.Helper()
	switch name {
	case "iris", "wine":
		X, y, _ := loadCSV(tb, name+".csv")
		return refSet{X, y}
	case "letter_novel":
		X, y, _ := loadCSV(tb, "letter_train.csv")
		X, y = novelZ(X, y, "ADHMPVX", false)
		return refSet{X, y}
	case "pendigits_novel":
		X, y, _ := loadCSV(tb, "pendigits_train.csv")
		X, y = novelZ(X, y, "03567", false)
		return refSet{X, y}
	case "optdigits_novel":
		X, y, _ := loadCSV(tb, "optdigits_train.csv")
		X, y = novelZ(X, y, "03456", true)
		return refSet{X, y}
	}
	tb.Fatalf("unknown set %s", name)
	return refSet{}
}

// refLabels builds the labellings of testdata/sklearn_ref.py.
func refLabels(y []string, name string) []int {
	n := len(y)
	out := make([]int, n)
	switch name {
	case "true":
		seen := map[string]bool{}
		for _, c := range y {
			seen[c] = true
		}
		var cls []string
		for c := range seen {
			cls = append(cls, c)
		}
		sortStrings(cls)
		idx := map[string]int{}
		for i, c := range cls {
			idx[c] = i
		}
		for i, c := range y {
			out[i] = idx[c]
		}
	case "mod3", "mod7", "mod30":
		m, _ := strconv.Atoi(name[3:])
		for i := range out {
			out[i] = i % m
		}
	case "singletons":
		for i := range out {
			out[i] = i % 4
		}
		out[0], out[1], out[2] = 100, 101, 102
	case "sq":
		for i := range out {
			out[i] = (i * i) % 11
		}
	}
	return out
}
