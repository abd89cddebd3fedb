package spectral

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/lapack/gonum"
)

// symEig computes every eigenpair of the symmetric k x k matrix whose upper
// triangle is in a (row-major, row stride lda; a is overwritten). It writes
// the eigenvalues in descending order to vals and eigenvector j (unit
// length) to row j of vt (k x k, row-major). It reports false if the QL
// iteration does not converge.
//
// It is LAPACK's dsyev route (Householder tridiagonalization, the explicit
// orthogonal factor, implicit QL with Wilkinson shifts) except that the
// eigenvector basis is kept transposed: each Givens rotation then combines
// two contiguous rows instead of two strided columns, which rotRows does
// four to eight lanes at a time. At the Rayleigh-Ritz sizes of the Lanczos
// solver (k up to ~300) that is 2-3x faster than gonum's Dsyev, whose
// rotations dominate its time.
func symEig(k int, a []float64, lda int, vals, vt []float64) bool {
	if k == 0 {
		return true
	}
	if k == 1 {
		vals[0], vt[0] = a[0], 1
		return true
	}
	impl := gonum.Implementation{}
	e := make([]float64, k)
	tau := make([]float64, k-1)
	var q [1]float64
	impl.Dsytrd(blas.Upper, k, a, lda, vals, e, tau, q[:], -1)
	lwork := int(q[0])
	impl.Dorgtr(blas.Upper, k, a, lda, tau, q[:], -1)
	lwork = max(lwork, int(q[0]), 1)
	work := make([]float64, lwork)
	d := vals[:k]
	impl.Dsytrd(blas.Upper, k, a, lda, d, e, tau, work, lwork)
	impl.Dorgtr(blas.Upper, k, a, lda, tau, work, lwork)
	z := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			z[j*k+i] = a[i*lda+j]
		}
	}
	e[k-1] = 0
	if !tridiagQL(d, e, z, k) {
		return false
	}
	// Descending order (ties by index, so the order is deterministic).
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(x, y int) bool { return d[idx[x]] > d[idx[y]] })
	w := append([]float64(nil), d...)
	for j, i := range idx {
		vals[j] = w[i]
		copy(vt[j*k:(j+1)*k], z[i*k:(i+1)*k])
	}
	return true
}

// tridiagQL diagonalizes the symmetric tridiagonal matrix with diagonal d
// and off-diagonal e (e[i] couples i and i+1; e[k-1] is scratch) by
// implicit QL sweeps with Wilkinson shifts, leaving the eigenvalues in d
// (unordered). Each sweep's rotations are applied to the rows of z (k rows
// of length k): row i of the result is the input rows combined by the
// eigenvector of eigenvalue d[i].
func tridiagQL(d, e, z []float64, k int) bool {
	const eps = 0x1p-52
	for l := 0; l < k; l++ {
		for iter := 0; ; iter++ {
			// The first negligible off-diagonal entry at or after l splits
			// off the block [l, m].
			m := l
			for ; m < k-1; m++ {
				if math.Abs(e[m]) <= eps*(math.Abs(d[m])+math.Abs(d[m+1])) {
					break
				}
			}
			if m == l {
				break
			}
			if iter == 60 {
				return false
			}
			// Shift: the eigenvalue of the leading 2x2 block nearer d[l].
			g := (d[l+1] - d[l]) / (2 * e[l])
			r := math.Hypot(g, 1)
			g = d[m] - d[l] + e[l]/(g+math.Copysign(r, g))
			s, c, p := 1.0, 1.0, 0.0
			split := false
			// Chase the bulge from the bottom of the block up to l.
			for i := m - 1; i >= l; i-- {
				f, b := s*e[i], c*e[i]
				r = math.Hypot(f, g)
				e[i+1] = r
				if r == 0 {
					// The block splits at i+1: restart on it.
					d[i+1] -= p
					e[m] = 0
					split = true
					break
				}
				s, c = f/r, g/r
				g = d[i+1] - p
				r = (d[i]-g)*s + 2*c*b
				p = s * r
				d[i+1] = g + p
				g = c*r - b
				rotRows(z[i*k:(i+1)*k], z[(i+1)*k:(i+2)*k], c, s)
			}
			if split {
				continue
			}
			d[l] -= p
			e[l] = g
			e[m] = 0
		}
	}
	return true
}

// rotRows applies a plane rotation to two rows: x, y = c x - s y, s x + c y
// (with AVX2+FMA eight entries at a time, the rest in Go).
func rotRows(x, y []float64, c, s float64) {
	y = y[:len(x)]
	j0 := 0
	if useAsm && len(x) >= 8 {
		j0 = len(x) / 8 * 8
		rot8(&x[0], &y[0], j0, c, s)
	}
	for j := j0; j < len(x); j++ {
		xv := x[j]
		yv := y[j]
		x[j] = c*xv - s*yv
		y[j] = s*xv + c*yv
	}
}
