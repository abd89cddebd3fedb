package testutil

import (
	"math"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

func TestLoadIris(t *testing.T) {
	X, y, header := LoadCSV(t, Data("iris.csv"))
	if X.Rows != 150 || X.Cols != 4 || len(y) != 150 || len(header) != 4 {
		t.Fatalf("iris: %dx%d, %d labels, %d names", X.Rows, X.Cols, len(y), len(header))
	}
	// First row of the UCI file: 5.1, 3.5, 1.4, 0.2, setosa.
	if got := X.Row(0); got[0] != 5.1 || got[1] != 3.5 || got[2] != 1.4 || got[3] != 0.2 {
		t.Fatalf("row 0 = %v", got)
	}
	// Column means of iris (Fisher's data): 5.8433, 3.0573, 3.758, 1.1993.
	mean, _ := ColStats(X)
	for j, want := range []float64{5.843333333333333, 3.0573333333333337, 3.758, 1.1993333333333334} {
		if math.Abs(mean[j]-want) > 1e-12 {
			t.Errorf("mean[%d] = %.16g, want %.16g", j, mean[j], want)
		}
	}
}

func TestStandardize(t *testing.T) {
	// Columns [1 2 3] (mean 2, population std sqrt(2/3)) and [5 5 5] (constant).
	X := linalg.FromRows([][]float64{{1, 5}, {2, 5}, {3, 5}})
	mean, std := ColStats(X)
	if mean[0] != 2 || mean[1] != 5 || math.Abs(std[0]-math.Sqrt(2.0/3)) > 1e-15 || std[1] != 0 {
		t.Fatalf("stats %v %v", mean, std)
	}
	Standardize(X, mean, std)
	s := 1 / math.Sqrt(2.0/3)
	want := []float64{-s, 0, 0, 0, s, 0}
	for i, v := range X.Data {
		if math.Abs(v-want[i]) > 1e-15 {
			t.Fatalf("X = %v, want %v", X.Data, want)
		}
	}
}
