package spectral

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSymEig checks symEig against gonum's EigenSym (eigenvalues) and the
// definition (|A v - lambda v|, orthonormal vectors) on random, diagonal,
// tridiagonal, clustered and Lanczos-like matrices of odd and even sizes.
func TestSymEig(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	gens := map[string]func(k int) []float64{
		"random": func(k int) []float64 {
			a := make([]float64, k*k)
			for i := 0; i < k; i++ {
				for j := i; j < k; j++ {
					a[i*k+j] = r.NormFloat64()
					a[j*k+i] = a[i*k+j]
				}
			}
			return a
		},
		"diagonal with ties": func(k int) []float64 {
			a := make([]float64, k*k)
			for i := 0; i < k; i++ {
				a[i*k+i] = float64(i % 3)
			}
			return a
		},
		"tridiagonal": func(k int) []float64 {
			a := make([]float64, k*k)
			for i := 0; i < k; i++ {
				a[i*k+i] = 2
				if i+1 < k {
					a[i*k+i+1], a[(i+1)*k+i] = -1, -1
				}
			}
			return a
		},
		// Eigenvalues clustered within 1e-9 near 1 plus a spread, rotated
		// by a random orthogonal matrix: the Ritz problems of letter.
		"clustered": func(k int) []float64 {
			lam := make([]float64, k)
			for i := range lam {
				lam[i] = 1 - 1e-9*float64(i)
				if i%2 == 1 {
					lam[i] = 0.9 - 0.5*r.Float64()
				}
			}
			g := mat.NewDense(k, k, nil)
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					g.Set(i, j, r.NormFloat64())
				}
			}
			var qr mat.QR
			qr.Factorize(g)
			var q mat.Dense
			qr.QTo(&q)
			a := make([]float64, k*k)
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					s := 0.0
					for l := 0; l < k; l++ {
						s += q.At(i, l) * lam[l] * q.At(j, l)
					}
					a[i*k+j] = s
				}
			}
			for i := 0; i < k; i++ { // exact symmetry
				for j := i + 1; j < k; j++ {
					a[j*k+i] = a[i*k+j]
				}
			}
			return a
		},
	}
	withAsm(t, func(t *testing.T) {
		for name, g := range gens {
			checkSymEig(t, name, g)
		}
	})
}

func checkSymEig(t *testing.T, name string, g func(k int) []float64) {
	for _, k := range []int{1, 2, 3, 7, 12, 41, 120} {
		a := g(k)
		orig := append([]float64(nil), a...)
		lda := k + 3 // a stride larger than k
		as := make([]float64, k*lda)
		for i := 0; i < k; i++ {
			copy(as[i*lda:i*lda+k], a[i*k:(i+1)*k])
		}
		vals := make([]float64, k)
		vt := make([]float64, k*k)
		if !symEig(k, as, lda, vals, vt) {
			t.Fatalf("%s k=%d: no convergence", name, k)
		}
		var es mat.EigenSym
		if !es.Factorize(mat.NewSymDense(k, append([]float64(nil), orig...)), false) {
			t.Fatal("gonum failed")
		}
		want := es.Values(nil) // ascending
		norm := 0.0
		for _, v := range want {
			norm = max(norm, math.Abs(v))
		}
		for j := 0; j < k; j++ {
			if d := math.Abs(vals[j] - want[k-1-j]); d > 1e-13*max(norm, 1) {
				t.Errorf("%s k=%d: eigenvalue %d = %.17g, gonum %.17g", name, k, j, vals[j], want[k-1-j])
			}
			if j > 0 && vals[j] > vals[j-1] {
				t.Errorf("%s k=%d: eigenvalues not descending at %d", name, k, j)
			}
			v := vt[j*k : (j+1)*k]
			res := 0.0
			for i := 0; i < k; i++ {
				s := -vals[j] * v[i]
				for l := 0; l < k; l++ {
					s += orig[i*k+l] * v[l]
				}
				res += s * s
			}
			if math.Sqrt(res) > 1e-13*max(norm, 1)*math.Sqrt(float64(k)) {
				t.Errorf("%s k=%d: |A v - lambda v| = %g for pair %d", name, k, math.Sqrt(res), j)
			}
			for i := 0; i <= j; i++ {
				want := 0.0
				if i == j {
					want = 1
				}
				if d := math.Abs(dot(vt[i*k:(i+1)*k], v) - want); d > 1e-13*math.Sqrt(float64(k)) {
					t.Errorf("%s k=%d: v%d.v%d off by %g", name, k, i, j, d)
				}
			}
		}
	}
}

func BenchmarkSymEig(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const k = 300
	a := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			a[i*k+j] = r.NormFloat64()
			a[j*k+i] = a[i*k+j]
		}
	}
	b.Run("symEig", func(b *testing.B) {
		as := make([]float64, k*k)
		vals := make([]float64, k)
		vt := make([]float64, k*k)
		for i := 0; i < b.N; i++ {
			copy(as, a)
			symEig(k, as, k, vals, vt)
		}
	})
	b.Run("gonum", func(b *testing.B) {
		s := mat.NewSymDense(k, append([]float64(nil), a...))
		var es mat.EigenSym
		for i := 0; i < b.N; i++ {
			es.Factorize(s, true)
		}
	})
}
