package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// naive references
func naiveABt(a []float64, lda, m int, b []float64, ldb, nb, n int) []float64 {
	c := make([]float64, m*nb)
	for i := 0; i < m; i++ {
		for s := 0; s < nb; s++ {
			v := 0.0
			for j := 0; j < n; j++ {
				v += a[i*lda+j] * b[s*ldb+j]
			}
			c[i*nb+s] = v
		}
	}
	return c
}

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

// withAsm runs f on the portable path, then with the AVX2 kernels and with
// the AVX-512 ones where the machine has them.
func withAsm(t *testing.T, f func(t *testing.T)) {
	saved, saved512 := useAsm, useAVX512
	defer func() { useAsm, useAVX512 = saved, saved512 }()
	for _, mode := range []struct{ asm, z bool }{{false, false}, {true, false}, {true, true}} {
		if (mode.asm && !saved) || (mode.z && !saved512) {
			continue
		}
		useAsm, useAVX512 = mode.asm, mode.z
		f(t)
	}
}

func TestKernelsMatchNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	withAsm(t, func(t *testing.T) {
		for _, sh := range [][3]int{{1, 1, 1}, {4, 3, 4}, {5, 7, 9}, {9, 12, 16}, {64, 12, 1500}, {130, 13, 37}, {3, 2, 1100}, {8, 6, 8}, {12, 15, 1031}, {7, 18, 523}, {4, 9, 45}} {
			m, nb, n := sh[0], sh[1], sh[2]
			lda, ldb := n+3, n+1
			a := randSlice(r, m*lda)
			b := randSlice(r, nb*ldb)
			want := naiveABt(a, lda, m, b, ldb, nb, n)
			for _, th := range []int{1, 2} {
				c := make([]float64, m*nb)
				for i := range c {
					c[i] = 1
				}
				dotABt(th, c, nb, a, lda, m, b, ldb, nb, n)
				a32 := make([]float32, len(a))
				for i, v := range a {
					a32[i] = float32(v)
				}
				c32 := make([]float64, m*nb)
				dotABt(th, c32, nb, a32, lda, m, b, ldb, nb, n)
				a64 := make([]float64, len(a))
				for i, v := range a32 {
					a64[i] = float64(v)
				}
				want32 := naiveABt(a64, lda, m, b, ldb, nb, n)
				for i := range c {
					if math.Abs(c[i]-1-want[i]) > 1e-11*math.Sqrt(float64(n)) {
						t.Fatalf("asm=%v avx512=%v dotABt %v [%d] = %g, want %g", useAsm, useAVX512, sh, i, c[i]-1, want[i])
					}
					if math.Abs(c32[i]-want32[i]) > 1e-11*math.Sqrt(float64(n)) {
						t.Fatalf("asm=%v avx512=%v dotABt f32 %v [%d] = %g, want %g", useAsm, useAVX512, sh, i, c32[i], want32[i])
					}
				}
			}
		}
		// atbAdd: C (p x n) += A^T B, A q x p, B q x n.
		for _, sh := range [][3]int{{1, 1, 1}, {4, 5, 12}, {12, 30, 2000}, {7, 3, 29}, {13, 100, 775}} {
			p, q, n := sh[0], sh[1], sh[2]
			lda, ldb, ldc := p+2, n+5, n+1
			a := randSlice(r, q*lda)
			b := randSlice(r, q*ldb)
			c0 := randSlice(r, p*ldc)
			for _, th := range []int{1, 3} {
				c := append([]float64(nil), c0...)
				atbAdd(th, c, ldc, a, lda, p, b, ldb, q, n)
				for i := 0; i < p; i++ {
					for j := 0; j < n; j++ {
						want := c0[i*ldc+j]
						for l := 0; l < q; l++ {
							want += a[l*lda+i] * b[l*ldb+j]
						}
						if math.Abs(c[i*ldc+j]-want) > 1e-11*math.Sqrt(float64(q)) {
							t.Fatalf("asm=%v atbAdd %v (%d,%d) = %g, want %g", useAsm, sh, i, j, c[i*ldc+j], want)
						}
					}
				}
			}
		}
		for _, sh := range [][2]int{{4, 1}, {4, 7}, {16, 100}, {64, 33}} {
			d, rr := sh[0], sh[1]
			u := randSlice(r, d)
			x := randSlice(r, d*rr)
			out := make([]float64, rr)
			sqDistMany(u, x, d, rr, out)
			for i := 0; i < rr; i++ {
				want := 0.0
				for k := 0; k < d; k++ {
					want += (x[i*d+k] - u[k]) * (x[i*d+k] - u[k])
				}
				if math.Abs(out[i]-want) > 1e-12*want {
					t.Fatalf("asm=%v sqDistMany d=%d row %d = %g, want %g", useAsm, d, i, out[i], want)
				}
			}
		}
	})
}

func TestPortablePathAgreesWithAssembly(t *testing.T) {
	if !useAsm {
		t.Skip("no AVX2/FMA on this machine: only the portable path exists")
	}
	X, _ := loadCSV(t, "testdata/wine.csv")
	zscore(X, X)
	for _, aff := range []string{AffinityDense, AffinityKNN} {
		opt := Options{NComponents: 5, Affinity: aff, KNN: 10, Tol: 1e-11}
		Ea, ia, err := Embed(context.Background(), X, opt)
		if err != nil {
			t.Fatal(err)
		}
		useAsm = false
		Eg, ig, err := Embed(context.Background(), X, opt)
		useAsm = true
		if err != nil {
			t.Fatal(err)
		}
		if ia.Sigma != ig.Sigma && math.Abs(ia.Sigma-ig.Sigma) > 1e-14*ia.Sigma {
			t.Errorf("%s: sigma %v (asm) vs %v (Go)", aff, ia.Sigma, ig.Sigma)
		}
		for j := range ia.Eigenvalues {
			if math.Abs(ia.Eigenvalues[j]-ig.Eigenvalues[j]) > 1e-12 {
				t.Errorf("%s: eigenvalue %d: %v (asm) vs %v (Go)", aff, j, ia.Eigenvalues[j], ig.Eigenvalues[j])
			}
		}
		if ang := maxPrincipalAngle(embedAsDense(Ea), embedAsDense(Eg)); ang > 1e-8 {
			t.Errorf("%s: principal angle %g between the two paths", aff, ang)
		}
	}
}
