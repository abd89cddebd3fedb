package spectral

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
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
		for _, sh := range [][3]int{{1, 1, 1}, {4, 5, 12}, {12, 30, 2000}, {7, 3, 29}, {13, 100, 775}, {12, 1, 16}, {24, 7, 50}, {63, 40, 1541}} {
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
							t.Fatalf("asm=%v avx512=%v atbAdd %v (%d,%d) = %g, want %g", useAsm, useAVX512, sh, i, j, c[i*ldc+j], want)
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
	for _, c := range []struct {
		aff string
		f64 bool
	}{{AffinityDense, true}, {AffinityDense, false}, {AffinityKNN, false}} {
		aff := c.aff
		opt := Options{NComponents: 5, Affinity: aff, KNN: 10, Tol: 1e-11, Float64: c.f64}
		// float32 storage: the paths' distances differ in the last bits,
		// which can move a float32 entry by an ulp (6e-8 relatively):
		// eigenvalues by up to ~1e-9.
		valTol, angTol := 1e-12, 1e-8
		if aff == AffinityDense && !c.f64 {
			aff += "-float32"
			valTol, angTol = 1e-9, 1e-6
		}
		Ea, ia, err := Embed(context.Background(), X, opt)
		if err != nil {
			t.Fatal(err)
		}
		// The portable path, and the AVX2 kernels alone when the
		// default also runs AVX-512 ones.
		for _, z := range []bool{false, true} {
			if z && !useAVX512 {
				continue
			}
			saved512 := useAVX512
			useAsm, useAVX512 = z, false
			Eg, ig, err := Embed(context.Background(), X, opt)
			useAsm, useAVX512 = true, saved512
			if err != nil {
				t.Fatal(err)
			}
			comparePaths(t, aff, Ea, Eg, ia, ig, valTol, angTol)
		}
	}
}

// comparePaths checks that two kernel paths gave the same embedding to
// rounding.
func comparePaths(t *testing.T, aff string, Ea, Eg linalg.Matrix, ia, ig *Info, valTol, angTol float64) {
	t.Helper()
	if ia.Sigma != ig.Sigma && math.Abs(ia.Sigma-ig.Sigma) > 1e-14*ia.Sigma {
		t.Errorf("%s: sigma %v (default) vs %v (other path)", aff, ia.Sigma, ig.Sigma)
	}
	for j := range ia.Eigenvalues {
		if math.Abs(ia.Eigenvalues[j]-ig.Eigenvalues[j]) > valTol {
			t.Errorf("%s: eigenvalue %d: %v (default) vs %v (other path)", aff, j, ia.Eigenvalues[j], ig.Eigenvalues[j])
		}
	}
	if ang := maxPrincipalAngle(embedAsDense(Ea), embedAsDense(Eg)); ang > angTol {
		t.Errorf("%s: principal angle %g between the two paths", aff, ang)
	}
}

// TestExpAffinityRow checks the affinity pass against math.Exp: every entry
// to 2 ulps (the vector kernel's polynomial), exact zeros where math.Exp
// underflows, column sums added, row sum returned; over squared distances
// from 0 to far past underflow, and rows of every length mod 8.
func TestExpAffinityRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	withAsm(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 9, 64, 1003} {
			for _, inv := range []float64{1e-3, 0.5, 3, 1e3} {
				row := make([]float64, n)
				for j := range row {
					switch j % 5 {
					case 0:
						row[j] = 0
					case 1:
						row[j] = r.Float64() * 1e4 // mostly underflow
					default:
						row[j] = r.Float64() * 60
					}
				}
				cs := randSlice(r, n)
				cs0 := append([]float64(nil), cs...)
				in := append([]float64(nil), row...)
				s := expAffinityRow(row, cs, inv)
				want := 0.0
				for j, d2 := range in {
					e := math.Exp(-d2 * inv)
					want += e
					if e == 0 || e < 1e-300 {
						if row[j] > 1e-300 {
							t.Fatalf("asm=%v avx512=%v exp(-%g) = %g, want %g", useAsm, useAVX512, d2*inv, row[j], e)
						}
					} else if math.Abs(row[j]-e) > 2*ulp(e) {
						t.Fatalf("asm=%v avx512=%v exp(-%g) = %g, want %g (%g ulp)", useAsm, useAVX512, d2*inv, row[j], e, (row[j]-e)/ulp(e))
					}
					if cs[j] != cs0[j]+row[j] {
						t.Fatalf("column sum %d: %g, want %g", j, cs[j], cs0[j]+row[j])
					}
				}
				if math.Abs(s-want) > 1e-14*math.Max(want, 1) {
					t.Fatalf("asm=%v avx512=%v n=%d row sum %g, want %g", useAsm, useAVX512, n, s, want)
				}
			}
		}
	})
}

// TestExpAffinityRowFloat32 checks the float32-storage affinity pass: every
// stored entry is float32(math.Exp) (the vector kernel's float64 result may
// sit 2 float64 ulps off, which moves the rounded value by at most one
// float32 ulp, and only at a rounding boundary), column sums add the stored
// values, the row sum is their sum.
func TestExpAffinityRowFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	withAsm(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 9, 64, 1003} {
			for _, inv := range []float64{1e-3, 0.5, 3, 1e3} {
				row := make([]float32, n)
				for j := range row {
					switch j % 5 {
					case 0:
						row[j] = 0
					case 1:
						row[j] = float32(r.Float64() * 1e4) // mostly underflow
					default:
						row[j] = float32(r.Float64() * 60)
					}
				}
				cs := randSlice(r, n)
				cs0 := append([]float64(nil), cs...)
				in := append([]float32(nil), row...)
				s := expAffinityRow(row, cs, inv)
				want := 0.0
				for j, d2 := range in {
					e := float32(math.Exp(-float64(d2) * inv))
					want += float64(row[j])
					if row[j] != e {
						if d := math.Abs(float64(row[j] - e)); d > float64(math.Nextafter32(e, float32(math.Inf(1)))-e) {
							t.Fatalf("asm=%v avx512=%v exp(-%g) = %g, want %g", useAsm, useAVX512, float64(d2)*inv, row[j], e)
						}
					}
					if cs[j] != cs0[j]+float64(row[j]) {
						t.Fatalf("column sum %d: %g, want %g", j, cs[j], cs0[j]+float64(row[j]))
					}
				}
				if math.Abs(s-want) > 1e-14*math.Max(want, 1) {
					t.Fatalf("asm=%v avx512=%v n=%d row sum %g, want %g", useAsm, useAVX512, n, s, want)
				}
			}
		}
	})
}

func ulp(x float64) float64 {
	return math.Nextafter(x, math.Inf(1)) - x
}

// TestUpperDistances compares the upper triangle of the stored distance
// matrix with exact squared distances, for both storage types, on every
// kernel path (the AVX-512 one takes the transposed kernel up to 64
// columns, the dot-product tiles above).
func TestUpperDistances(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	withAsm(t, func(t *testing.T) {
		for _, sh := range [][2]int{{1, 1}, {9, 1}, {45, 13}, {77, 16}, {40, 64}, {33, 70}} {
			n, d := sh[0], sh[1]
			X := linalg.Matrix{Data: randSlice(r, n*d), Rows: n, Cols: d}
			S := make([]float64, n*n)
			S32 := make([]float32, n*n)
			for _, th := range []int{1, 2} {
				upperDistances(context.Background(), X, S, th)
				upperDistances(context.Background(), X, S32, th)
				for i := 0; i < n; i++ {
					for j := i; j < n; j++ {
						want := 0.0
						for k := 0; k < d; k++ {
							want += (X.At(i, k) - X.At(j, k)) * (X.At(i, k) - X.At(j, k))
						}
						// The dot-product path cancels |x|^2 terms of ~d.
						tol := 1e-13 * float64(d)
						if math.Abs(S[i*n+j]-want) > tol || math.Abs(float64(S32[i*n+j])-want) > tol+1e-7*want {
							t.Fatalf("asm=%v avx512=%v %v: d2(%d,%d) = %g / %g, want %g", useAsm, useAVX512, sh, i, j, S[i*n+j], S32[i*n+j], want)
						}
					}
				}
			}
		}
	})
}

// TestMaxIterTooSmall: an iteration limit that stops the basis short of
// NComponents vectors is an error (it used to index past the Ritz vectors).
func TestMaxIterTooSmall(t *testing.T) {
	X, _ := loadCSV(t, "testdata/wine.csv")
	zscore(X, X)
	_, _, err := Embed(context.Background(), X, Options{NComponents: 10, Block: 5, MaxIter: 1, Affinity: AffinityDense})
	if err == nil {
		t.Fatal("no error for 1 iteration of block 5 and 10 components")
	}
	if _, _, err := Embed(context.Background(), X, Options{NComponents: 10, Block: 5, MaxIter: 2, Affinity: AffinityDense}); err != nil {
		t.Fatalf("2 iterations of block 5 for 10 components: %v", err)
	}
}
