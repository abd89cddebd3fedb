package spectral

import (
	"context"
	"math/rand/v2"
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
// letter: 6000 test rows, min_dist 0.9855, 63 components, dense affinity
// (float32 storage, the default, and float64).
func BenchmarkLetterNCDSC(b *testing.B) {
	X := letterTest(b)
	b.Run("float32", func(b *testing.B) {
		benchEmbed(b, X, Options{MinDist: 0.9855, NComponents: 63, Affinity: AffinityDense})
	})
	b.Run("float64", func(b *testing.B) {
		benchEmbed(b, X, Options{MinDist: 0.9855, NComponents: 63, Affinity: AffinityDense, Float64: true})
	})
	// One thread, the workspace kept across iterations (as the CLI's
	// single embedding pays the page faults once): the kernels alone.
	w := &Workspace{}
	b.Run("float32-t1", func(b *testing.B) {
		benchEmbed(b, X, Options{MinDist: 0.9855, NComponents: 63, Affinity: AffinityDense, Threads: 1, Work: w})
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

// BenchmarkDenseApply is one product of the dense 6000 x 6000 operator with
// a block of 12 vectors (letter NCD SC does 60 of them), per kernel set.
func BenchmarkDenseApply(b *testing.B) {
	const n, p = 6000, 12
	r := rand.New(rand.NewPCG(3, 4))
	a64 := linalg.MakeBig[float64](n * n)
	a32 := linalg.MakeBig[float32](n * n)
	for i := range a64 {
		a64[i] = r.Float64()
		a32[i] = float32(a64[i])
	}
	src := make([]float64, p*n)
	for i := range src {
		src[i] = r.NormFloat64()
	}
	dst := make([]float64, p*n)
	saved, saved512 := useAsm, useAVX512
	defer func() { useAsm, useAVX512 = saved, saved512 }()
	for _, k := range []struct {
		name     string
		asm, z   bool
		float32_ bool
	}{{"avx2", true, false, false}, {"avx512", true, true, false}, {"avx2-f32", true, false, true}, {"avx512-f32", true, true, true}} {
		if (k.asm && !saved) || (k.z && !saved512) {
			continue
		}
		d := &denseOp{n: n, threads: 1}
		if k.float32_ {
			d.a32 = a32
		} else {
			d.a64 = a64
		}
		b.Run(k.name, func(b *testing.B) {
			useAsm, useAVX512 = k.asm, k.z
			for i := 0; i < b.N; i++ {
				d.apply(dst, src, p)
			}
			b.ReportMetric(2*n*n*p*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
