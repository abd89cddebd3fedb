package spectral

import (
	"context"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// letterTest is letter_test.csv (6000 rows) z-scored with letter_train.csv's
// statistics, as in the paper's protocol.
func letterTest(b *testing.B) linalg.Matrix {
	X, _ := loadCSV(b, "../../testdata/letter_test.csv")
	tr, _ := loadCSV(b, "../../testdata/letter_train.csv")
	zscore(X, tr)
	return X
}

// letterAll is letter_train.csv followed by letter_test.csv (the 20000 rows
// of letter.csv), z-scored with its own statistics.
func letterAll(b *testing.B) linalg.Matrix {
	X, _ := loadCSV(b, "../../testdata/letter_train.csv")
	te, _ := loadCSV(b, "../../testdata/letter_test.csv")
	X.Data = append(X.Data, te.Data...)
	X.Rows += te.Rows
	zscore(X, X)
	return X
}

func benchEmbed(b *testing.B, X linalg.Matrix, opt Options) {
	b.Helper()
	var info *Info
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		var err error
		_, info, err = Embed(context.Background(), X, opt)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(info.MatVecs), "matvecs")
	b.ReportMetric(float64(info.Converged), "converged")
	for k, v := range info.Timings {
		b.ReportMetric(v, k+"-s")
	}
}

// BenchmarkLetterNCDSC is the embedding of the paper's NCD SC setting on
// letter: 6000 test rows, min_dist 0.9855, 63 components, dense affinity.
func BenchmarkLetterNCDSC(b *testing.B) {
	X := letterTest(b)
	b.Run("float64", func(b *testing.B) {
		benchEmbed(b, X, Options{MinDist: 0.9855, NComponents: 63, Affinity: AffinityDense})
	})
	b.Run("float32", func(b *testing.B) {
		benchEmbed(b, X, Options{MinDist: 0.9855, NComponents: 63, Affinity: AffinityDense, Float32: true})
	})
}

// BenchmarkLetter20kKNN embeds all 20000 letter rows with the kNN affinity
// (min_dist 0.6, 26 components).
func BenchmarkLetter20kKNN(b *testing.B) {
	X := letterAll(b)
	benchEmbed(b, X, Options{MinDist: 0.6, NComponents: 26, Affinity: AffinityKNN})
}

func BenchmarkMSTMaxEdge(b *testing.B) {
	for _, c := range []struct {
		name string
		X    func(*testing.B) linalg.Matrix
	}{{"letter6000", letterTest}, {"letter20000", letterAll}} {
		b.Run(c.name, func(b *testing.B) {
			X := c.X(b)
			c0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				MSTMaxEdge(X, 0)
			}
			b.ReportMetric((cpuSeconds()-c0)/float64(b.N), "cpu-s/op")
		})
	}
}
