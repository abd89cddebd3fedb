package spectral

import (
	"math"

	"github.com/ncd-project/ncd/internal/par"
)

// Drivers for the three product shapes of this package. Each splits its work
// over threads in chunks whose bounds depend only on the problem size, and
// every output element is summed by one goroutine in a fixed order, so the
// results are identical for any thread count. On amd64 with AVX2+FMA the
// inner tiles run in assembly (kernels_amd64.s), with AVX-512 where the CPU
// has it; elsewhere, and for the ragged edges of every tile grid, in plain
// Go. Which kernels run depends only on the machine, so results on a given
// machine stay identical for any thread count.

// dotJB is the length of the slices of the dot products handled per pass:
// a 4-row tile of A and all rows of B then stay in the L1/L2 caches.
const dotJB = 512

// dotABt adds A B^T to C: C[i*ldc+s] += sum_{j<n} A[i*lda+j] * B[s*ldb+j] for
// i < m, s < nb. A may be float32 (widened exactly to float64; the sums are
// always float64).
func dotABt[T float32 | float64](threads int, c []float64, ldc int, a []T, lda, m int, b []float64, ldb, nb, n int) {
	if m == 0 || nb == 0 || n == 0 {
		return
	}
	// Chunks of 64 rows of A (16 tiles): enough work per chunk for a
	// goroutine hand-off, fine enough to balance two to eight threads.
	par.For(threads, m, 64, func(_, lo, hi int) {
		dotRows(c, ldc, a, lda, lo, hi, b, ldb, nb, n)
	})
}

// dotRows does dotABt's work for rows [lo, hi) of A.
func dotRows[T float32 | float64](c []float64, ldc int, a []T, lda, lo, hi int, b []float64, ldb, nb, n int) {
	i4 := lo
	if useAsm {
		i4 = lo + (hi-lo)/4*4
		// Column tiles: 6 vectors wide with AVX-512, then 3 wide.
		s6 := 0
		if useAVX512 {
			s6 = nb / 6 * 6
		}
		s3 := s6 + (nb-s6)/3*3
		var tile [24]float64
		for j0 := 0; j0 < n; j0 += dotJB {
			jl := min(dotJB, n-j0)
			// Vector parts (multiples of the kernels' lane counts); the
			// rest of each slice is summed in Go.
			j8, j4 := j0+jl/8*8, j0+jl/4*4
			for i := lo; i < i4; i += 4 {
				for s := 0; s < s6; s += 6 {
					if j8 == j0+jl {
						// No remainder (the operator's rows are a
						// multiple of 8 long): the kernel adds its
						// sums into C itself.
						switch ap := any(&a[i*lda+j0]).(type) {
						case *float64:
							dot4x6z(ap, lda, &b[s*ldb+j0], ldb, j8-j0, &c[i*ldc+s], ldc)
						case *float32:
							dot4x6zf32(ap, lda, &b[s*ldb+j0], ldb, j8-j0, &c[i*ldc+s], ldc)
						}
						continue
					}
					tile = [24]float64{}
					if j8 > j0 {
						switch ap := any(&a[i*lda+j0]).(type) {
						case *float64:
							dot4x6z(ap, lda, &b[s*ldb+j0], ldb, j8-j0, &tile[0], 6)
						case *float32:
							dot4x6zf32(ap, lda, &b[s*ldb+j0], ldb, j8-j0, &tile[0], 6)
						}
					}
					tileEdge(c, ldc, a, lda, i, 4, b, ldb, s, 6, j8, j0+jl, &tile)
				}
				for s := s6; s < s3; s += 3 {
					tile = [24]float64{}
					if j4 > j0 {
						switch ap := any(&a[i*lda+j0]).(type) {
						case *float64:
							dot4x3(ap, lda, &b[s*ldb+j0], ldb, j4-j0, &tile[0])
						case *float32:
							dot4x3f32(ap, lda, &b[s*ldb+j0], ldb, j4-j0, &tile[0])
						}
					}
					tileEdge(c, ldc, a, lda, i, 4, b, ldb, s, 3, j4, j0+jl, &tile)
				}
				// Columns of C beyond the last full tile.
				for r := 0; r < 4; r++ {
					ar := a[(i+r)*lda : (i+r)*lda+n]
					for s := s3; s < nb; s++ {
						c[(i+r)*ldc+s] += dotMixed(ar[j0:j0+jl], b[s*ldb+j0:s*ldb+j0+jl])
					}
				}
			}
		}
	}
	// Rows of A beyond the last full 4-tile (all rows without assembly).
	for i := i4; i < hi; i++ {
		ar := a[i*lda : i*lda+n]
		for s := 0; s < nb; s++ {
			c[i*ldc+s] += dotMixed(ar, b[s*ldb:s*ldb+n])
		}
	}
}

// tileEdge finishes a rows x cols tile of dot products whose sums over the
// columns before jlo are in tile (row-major): it adds the terms of columns
// [jlo, jhi) in Go and accumulates the sums into C.
func tileEdge[T float32 | float64](c []float64, ldc int, a []T, lda, i, rows int, b []float64, ldb, s, cols, jlo, jhi int, tile *[24]float64) {
	if jlo >= jhi {
		// No remainder (the common case: the operator's rows are
		// multiples of the lane count): only the accumulation.
		for r := 0; r < rows; r++ {
			cr := c[(i+r)*ldc+s : (i+r)*ldc+s+cols]
			tr := tile[r*cols : r*cols+cols]
			for t, v := range tr {
				cr[t] += v
			}
		}
		return
	}
	for r := 0; r < rows; r++ {
		ar := a[(i+r)*lda:]
		for t := 0; t < cols; t++ {
			v := tile[r*cols+t]
			br := b[(s+t)*ldb:]
			for j := jlo; j < jhi; j++ {
				v += float64(ar[j]) * br[j]
			}
			c[(i+r)*ldc+s+t] += v
		}
	}
}

// dotMixed is a float64 dot product of a (float32 or float64) and b.
func dotMixed[T float32 | float64](a []T, b []float64) float64 {
	if av, ok := any(a).([]float64); ok {
		return dot(av, b)
	}
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += float64(a[i]) * b[i]
		s1 += float64(a[i+1]) * b[i+1]
		s2 += float64(a[i+2]) * b[i+2]
		s3 += float64(a[i+3]) * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// atbAdd adds A^T B to C: C[r*ldc+j] += sum_{l<q} A[l*lda+r] * B[l*ldb+j]
// for r < p, j < n. The columns j are split over threads.
func atbAdd(threads int, c []float64, ldc int, a []float64, lda, p int, b []float64, ldb, q, n int) {
	if p == 0 || n == 0 || q == 0 {
		return
	}
	// 768 columns per chunk: a multiple of the 12-column tile.
	par.For(threads, n, 768, func(_, lo, hi int) {
		if useAsm && useAVX512 && p >= 12 {
			// 12 x 16 tiles: every row of B is read once per 12 rows
			// of C (a Lanczos block), not three times.
			j16, p12 := lo+(hi-lo)/16*16, p/12*12
			for j := lo; j < j16; j += 16 {
				for r := 0; r < p12; r += 12 {
					atb12x16z(&a[r], lda, &b[j], ldb, q, &c[r*ldc+j], ldc)
				}
			}
			for r := p12; r < p; r++ {
				atbRow(c[r*ldc:], a, lda, r, b, ldb, q, lo, j16)
			}
			for r := 0; r < p; r++ {
				atbRow(c[r*ldc:], a, lda, r, b, ldb, q, j16, hi)
			}
			return
		}
		j12 := lo
		p4 := 0
		if useAsm {
			j12 = lo + (hi-lo)/12*12
			p4 = p / 4 * 4
			for j := lo; j < j12; j += 12 {
				for r := 0; r < p4; r += 4 {
					atb4x12(&a[r], lda, &b[j], ldb, q, &c[r*ldc+j], ldc)
				}
			}
		}
		// Rows of C beyond the last 4-tile over the vector columns, then
		// every row over the remaining columns.
		for r := p4; r < p; r++ {
			atbRow(c[r*ldc:], a, lda, r, b, ldb, q, lo, j12)
		}
		for r := 0; r < p; r++ {
			atbRow(c[r*ldc:], a, lda, r, b, ldb, q, j12, hi)
		}
	})
}

// atbRow adds sum_l A[l, r] * B[l, lo:hi] to crow[lo:hi].
func atbRow(crow, a []float64, lda, r int, b []float64, ldb, q, lo, hi int) {
	if lo >= hi {
		return
	}
	for l := 0; l < q; l++ {
		axpy(a[l*lda+r], b[l*ldb+lo:l*ldb+hi], crow[lo:hi])
	}
}

// sqDistMany writes |X_i - u|^2 for the r rows of X (row stride d) into out.
// With assembly, d must be a multiple of 4 (callers pad with zero columns).
func sqDistMany(u, x []float64, d, r int, out []float64) {
	r4 := 0
	if useAsm && d%4 == 0 && d > 0 {
		r4 = r / 4 * 4
		if r4 > 0 {
			sqdist4(&u[0], &x[0], d, r4, &out[0])
		}
	}
	for i := r4; i < r; i++ {
		out[i] = sqDist(u, x[i*d:(i+1)*d])
	}
}

// expAffinityRow turns the squared distances of row into affinities,
// row[j] = exp(-row[j] * inv), adds them to cs[j] and returns their sum
// (summed in float64; with float32 storage the sums take the stored, rounded
// values). With AVX-512 the exponentials are vectorized (expaffz and
// expaffzf32, within about an ulp of math.Exp in float64); the remainder,
// and everything elsewhere, uses math.Exp.
func expAffinityRow[T float32 | float64](row []T, cs []float64, inv float64) float64 {
	j0, s := 0, 0.0
	if useAsm && useAVX512 && len(row) >= 8 {
		j0 = len(row) / 8 * 8
		switch r := any(row).(type) {
		case []float64:
			s = expaffz(&r[0], j0, -inv, &cs[0])
		case []float32:
			s = expaffzf32(&r[0], j0, -inv, &cs[0])
		}
	}
	cs = cs[:len(row)]
	for j := j0; j < len(row); j++ {
		a := T(math.Exp(-float64(row[j]) * inv))
		row[j] = a
		s += float64(a)
		cs[j] += float64(a)
	}
	return s
}
