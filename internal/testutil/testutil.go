// Package testutil holds what the tests of several packages share: reading
// the bundled datasets and standardizing them as scikit-learn's
// StandardScaler does. Only tests import it.
package testutil

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// Data returns the path of the bundled dataset testdata/<name> at the
// repository root, whichever package's test asks.
func Data(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", name)
}

// LoadCSV reads a numeric CSV file with a header row whose last column is
// the class label: the features, the labels and the feature names. Any
// problem fails the test (the bundled files are part of the repository).
func LoadCSV(tb testing.TB, path string) (X linalg.Matrix, y, header []string) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(recs) < 2 || len(recs[0]) < 2 {
		tb.Fatalf("%s: want a header, data rows and at least one feature", path)
	}
	header = recs[0][:len(recs[0])-1]
	d := len(header)
	X = linalg.New(len(recs)-1, d)
	y = make([]string, len(recs)-1)
	for i, r := range recs[1:] {
		for j := 0; j < d; j++ {
			v, err := strconv.ParseFloat(r[j], 64)
			if err != nil {
				tb.Fatalf("%s row %d column %d: %v", path, i+1, j+1, err)
			}
			X.Data[i*d+j] = v
		}
		y[i] = r[d]
	}
	return X, y, header
}

// ColStats returns each column's mean and population standard deviation
// (ddof = 0, as numpy and StandardScaler).
func ColStats(X linalg.Matrix) (mean, std []float64) {
	mean = make([]float64, X.Cols)
	std = make([]float64, X.Cols)
	for i := 0; i < X.Rows; i++ {
		for j, v := range X.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(X.Rows)
	}
	for i := 0; i < X.Rows; i++ {
		for j, v := range X.Row(i) {
			std[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(X.Rows))
	}
	return mean, std
}

// Standardize maps X in place to (x - mean) / std per column; a column with
// std 0 is only centred (as StandardScaler).
func Standardize(X linalg.Matrix, mean, std []float64) {
	for i := 0; i < X.Rows; i++ {
		row := X.Row(i)
		for j := range row {
			s := std[j]
			if s == 0 {
				s = 1
			}
			row[j] = (row[j] - mean[j]) / s
		}
	}
}
