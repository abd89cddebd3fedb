package spectral

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/ncd-project/ncd/internal/linalg"
)

// operator is a symmetric n x n linear map applied to blocks of vectors.
type operator interface {
	size() int
	// apply sets dst = (M src^T)^T: src and dst hold b vectors of length n
	// as the rows of row-major b x n matrices.
	apply(dst, src []float64, b int)
}

// eigOptions configure blockLanczos.
type eigOptions struct {
	nev      int     // wanted eigenpairs (largest), not counting locked vectors
	block    int     // block size p
	maxBasis int     // largest basis before a thick restart
	maxIter  int     // block iterations (operator applications) at most
	tol      float64 // residual norm target, absolute (the operators have norm <= 1)
	seed     uint64
	threads  int
	progress func(iter, converged, nev int)
}

// eigResult is what blockLanczos found.
type eigResult struct {
	values    []float64     // nev Ritz values, descending
	vectors   linalg.Matrix // n x nev Ritz vectors, orthonormal, same order
	residuals []float64     // |M y - theta y| per pair (from the Lanczos relation)
	converged int           // how many leading pairs meet tol
	iters     int           // block iterations
	matvecs   int           // operator columns applied
}

// blockLanczos computes the nev largest eigenpairs of the symmetric operator
// op restricted to the orthogonal complement of the columns of locked (an
// n x c matrix of known orthonormal eigenvectors; c may be 0).
//
// It is a block Lanczos method with full reorthogonalization and thick
// restart. The basis vectors and their images are stored (one vector per
// row, so every product is a BLAS call over long rows), so the projected
// matrix T = Q^T M Q is assembled block column by block column (the
// coefficients of the first Gram-Schmidt pass are exactly that column), and
// a restart keeps the leading Ritz vectors together with their images
// without extra operator applications. Between restarts the basis grows by
// one block per iteration: the newest image block, orthogonalized against
// everything, becomes the next block (the block Krylov recurrence). The
// residual of a Ritz pair is |R s_last|, R the triangular factor of that
// orthogonalized block and s_last the pair's coordinates on the newest block.
//
// Every product goes through the fixed-chunk kernels of kernels.go: results
// do not depend on the thread count. Problems whose search space is not much
// larger than the basis (a few hundred rows) are solved exactly instead
// (smallEig).
func blockLanczos(ctx context.Context, op operator, locked linalg.Matrix, o eigOptions) (eigResult, error) {
	n := op.size()
	c := locked.Cols
	if locked.Rows == 0 {
		c = 0
	}
	dim := n - c // dimension of the space searched
	if o.nev <= 0 {
		return eigResult{vectors: linalg.New(n, 0)}, nil
	}
	if o.nev > dim {
		return eigResult{}, fmt.Errorf("spectral: %d eigenpairs wanted but the search space has dimension %d", o.nev, dim)
	}
	p := max(1, min(o.block, dim))
	mmax := max(o.maxBasis, o.nev+2*p)
	if dim <= mmax+p {
		// The Krylov space would exhaust the whole search space: solve the
		// small problem exactly instead.
		return smallEig(op, locked, c, o.nev)
	}
	// Thick restart keeps the wanted pairs plus a buffer of the next ones:
	// the buffer carries the convergence of the boundary pairs across restarts.
	keep := min(o.nev+max((mmax-o.nev)/2, p), mmax-p)

	// Q holds the basis plus one pending block (mmax+p vectors). The images
	// M Q are not kept: T is built from each new block's image as it is
	// orthogonalized, and a restart needs only Q (the kept Ritz vectors'
	// coupling to the rest of the basis is recomputed from the next image).
	Q := make([]float64, (mmax+p)*n)
	img := make([]float64, p*n) // M applied to the pending block
	tmp := make([]float64, keep*n)
	T := make([]float64, mmax*mmax)
	rng := rand.New(rand.NewPCG(o.seed, 0x5eed5eed))

	th := o.threads
	// Locked vectors as rows.
	var Z []float64
	if c > 0 {
		Z = make([]float64, c*n)
		for i := 0; i < n; i++ {
			for j := 0; j < c; j++ {
				Z[j*n+i] = locked.Data[i*c+j]
			}
		}
	}
	H := make([]float64, max(mmax+p, c)*p)
	Hneg := make([]float64, max(mmax+p, c)*p)
	Rblk := make([]float64, p*p)
	pre := make([]float64, p)
	post := make([]float64, p)
	G := make([]float64, p*p)
	Ui := make([]float64, p*p)
	W2 := make([]float64, p*n)
	savedW := make([]float64, p*n) // orth's copy of a block before Cholesky QR

	// project removes from the b vectors W (rows) their components along Z
	// and along the basis rows Q[lo:q0]. When h0 is non-nil the
	// coefficients Q[:q0] W^T are written there (q0 x b, stride p; rows
	// before lo are zero).
	project := func(W []float64, b, lo, q0 int, h0 []float64) {
		sub := func(V []float64, m int, h []float64) {
			clear(h)
			dotABt(th, h, p, V, n, m, W, n, b, n)
			neg := Hneg[:m*p]
			for i, v := range h {
				neg[i] = -v
			}
			atbAdd(th, W, n, neg, p, b, V, n, m, n)
		}
		if c > 0 {
			sub(Z, c, H[:c*p])
		}
		if h0 == nil {
			h0 = H
		}
		clear(h0[:lo*p])
		if q0 > lo {
			sub(Q[lo*n:], q0-lo, h0[lo*p:q0*p])
		}
	}
	rowNorms := func(W []float64, dst []float64) {
		for j := range dst {
			v := W[j*n : (j+1)*n]
			dst[j] = math.Sqrt(dot(v, v))
		}
	}

	// cholQR makes the p rows of W orthonormal as W <- U^-T W with
	// U^T U = W W^T (Cholesky QR), and multiplies the upper triangular
	// factor U into Rblk from the left. It reports false when the Gram
	// matrix is too ill-conditioned for that to be accurate.
	cholQR := func(W []float64) bool {
		clear(G)
		dotABt(th, G, p, W, n, p, W, n, p, n)
		sym := mat.NewSymDense(p, nil)
		for i := 0; i < p; i++ {
			for j := i; j < p; j++ {
				sym.SetSym(i, j, 0.5*(G[i*p+j]+G[j*p+i]))
			}
		}
		var ch mat.Cholesky
		if !ch.Factorize(sym) {
			return false
		}
		var U mat.TriDense
		ch.UTo(&U)
		dmin, dmax := math.Inf(1), 0.0
		for i := 0; i < p; i++ {
			dmin = min(dmin, U.At(i, i))
			dmax = max(dmax, U.At(i, i))
		}
		// Cholesky QR loses about cond(W)^2 * eps of orthogonality; with
		// a second pass this is fine up to cond ~ 1e6.
		if !(dmin > 1e-6*dmax) {
			return false
		}
		var Uinv mat.TriDense
		if err := Uinv.InverseTri(&U); err != nil {
			return false
		}
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				Ui[i*p+j] = Uinv.At(i, j)
			}
		}
		clear(W2)
		atbAdd(th, W2, n, Ui, p, p, W, n, p, n)
		copy(W, W2)
		// Rblk <- U Rblk
		var R mat.Dense
		R.Mul(&U, mat.NewDense(p, p, Rblk))
		for i := 0; i < p; i++ {
			for j := 0; j < p; j++ {
				Rblk[i*p+j] = R.At(i, j)
			}
		}
		return true
	}

	// orth makes the p rows Q[q0:q0+p] orthonormal to Z, to Q[:q0] and to
	// each other, and leaves in Rblk the p x p triangular factor of the
	// part of the block outside that span. The first projection is against
	// Z and Q[lo:q0] only (the caller knows the block is orthogonal to
	// Q[:lo] in exact arithmetic); its coefficients go to h0 (if non-nil).
	// A second, full projection runs when the first was partial or removed
	// most of a vector's length (classical Gram-Schmidt is then
	// inaccurate; "twice is enough"). The block is then orthonormalized
	// by two Cholesky QR passes, or, when it is nearly rank deficient, by
	// modified Gram-Schmidt that replaces every vector keeping less than
	// 1e-10 of its length (numerically inside the span) by a random
	// direction with a zero row in Rblk, so the basis never loses rank.
	orth := func(lo, q0 int, h0 []float64) {
		W := Q[q0*n : (q0+p)*n]
		rowNorms(W, pre)
		project(W, p, lo, q0, h0)
		rowNorms(W, post)
		again := lo > 0
		for j := range post {
			again = again || post[j] < 0.7*pre[j]
		}
		if again {
			project(W, p, 0, q0, nil)
			rowNorms(W, post)
		}
		deficient := false
		for j := range post {
			if !(post[j] > 1e-8*pre[j]) {
				deficient = true
			}
		}
		if !deficient {
			saved := append(savedW[:0], W...)
			clear(Rblk)
			for i := 0; i < p; i++ {
				Rblk[i*p+i] = 1
			}
			// CholQR2: a second pass restores orthogonality lost to
			// rounding in the first.
			if cholQR(W) {
				if cholQR(W) {
					return
				}
			}
			copy(W, saved)
		}
		clear(Rblk)
		for j := 0; j < p; j++ {
			wj := W[j*n : (j+1)*n]
			for pass := 0; pass < 2; pass++ {
				for i := 0; i < j; i++ {
					wi := W[i*n : (i+1)*n]
					h := dot(wi, wj)
					axpy(-h, wi, wj)
					Rblk[i*p+j] += h
				}
			}
			nrm := math.Sqrt(dot(wj, wj))
			if nrm > 0 && nrm > 1e-10*pre[j] {
				Rblk[j*p+j] = nrm
				scal(1/nrm, wj)
				continue
			}
			for i := 0; i < j; i++ {
				Rblk[i*p+j] = 0
			}
			for {
				for i := range wj {
					wj[i] = rng.NormFloat64()
				}
				r0 := math.Sqrt(dot(wj, wj))
				for pass := 0; pass < 2; pass++ {
					project(wj, 1, 0, q0, nil)
					for i := 0; i < j; i++ {
						wi := W[i*n : (i+1)*n]
						axpy(-dot(wi, wj), wi, wj)
					}
				}
				// dim > q0 + p, so a random vector almost surely keeps
				// a good part of its length.
				if nrm = math.Sqrt(dot(wj, wj)); nrm > 1e-3*r0 {
					break
				}
			}
			scal(1/nrm, wj)
		}
	}

	// Start block: seeded Gaussian vectors.
	for i := 0; i < p*n; i++ {
		Q[i] = rng.NormFloat64()
	}
	orth(0, 0, nil)

	k := 0 // basis vectors already multiplied by M (the rest is pending)
	res := eigResult{}
	var theta []float64
	var S *mat.Dense
	rrA := make([]float64, mmax*mmax) // Rayleigh-Ritz: T's upper triangle
	rrV := make([]float64, mmax*mmax) // and its eigenvectors as rows
	resid := make([]float64, o.nev)
	hT := make([]float64, (mmax+p)*p)
	// A convergence check is a dense eigendecomposition of the k x k
	// projected matrix (letter: k up to 300, 25-50 ms, one to two operator
	// applications): it runs at every restart (which needs the Ritz vectors
	// anyway) and in between only when the residuals' decay predicts
	// convergence (see checkSchedule).
	nextCheck := 0
	var sched checkSchedule
	afterRestart := false
	for it := 1; ; it++ {
		if err := ctx.Err(); err != nil {
			return eigResult{}, err
		}
		// Multiply the pending block Q[k:k+p].
		q := k + p
		op.apply(img, Q[k*n:q*n], p)
		res.matvecs += p
		res.iters = it
		// The images become the next pending block, orthogonalized; the
		// first projection's coefficients Q[:q]^T (M Q[k:q]) are the new
		// block column of T. In exact arithmetic that column is zero above
		// the previous block (T is block tridiagonal), except in the first
		// iteration after a restart, where the kept Ritz vectors couple to
		// the pending block: the first projection is against those blocks
		// only, and the full second one keeps the basis orthogonal
		// (letter: a quarter less orthogonalization work).
		copy(Q[q*n:(q+p)*n], img)
		lo := max(0, k-p)
		if afterRestart {
			lo = 0
		}
		afterRestart = false
		orth(lo, q, hT)
		for i := 0; i < q; i++ {
			for j := 0; j < p; j++ {
				T[i*mmax+k+j] = hT[i*p+j]
			}
		}
		for i := k; i < q; i++ {
			for j := i + 1; j < q; j++ {
				v := 0.5 * (T[i*mmax+j] + T[j*mmax+i])
				T[i*mmax+j], T[j*mmax+i] = v, v
			}
			for j := 0; j < k; j++ {
				T[i*mmax+j] = T[j*mmax+i]
			}
		}
		k = q

		needRestart := k+p > mmax
		if !(needRestart || it >= o.maxIter || (k >= o.nev+p && it >= nextCheck)) {
			continue
		}
		if k < o.nev {
			// maxIter ran out before the basis could hold nev vectors.
			return eigResult{}, fmt.Errorf("spectral: %d Lanczos iterations of block size %d cannot give %d eigenpairs", it, p, o.nev)
		}
		// Rayleigh-Ritz on the basis.
		ta := rrA[:k*k]
		for i := 0; i < k; i++ {
			copy(ta[i*k+i:(i+1)*k], T[i*mmax+i:i*mmax+k])
		}
		theta = make([]float64, k)
		vt := rrV[:k*k]
		if !symEig(k, ta, k, theta, vt) {
			return eigResult{}, fmt.Errorf("spectral: eigendecomposition of the %dx%d projected matrix failed", k, k)
		}
		S = mat.NewDense(k, k, nil)
		for j := 0; j < k; j++ {
			for i := 0; i < k; i++ {
				S.Set(i, j, vt[j*k+i])
			}
		}
		// Residual |M y - theta y| = |R s_last|.
		for j := 0; j < o.nev; j++ {
			r := 0.0
			for a := 0; a < p; a++ {
				s := 0.0
				for b := a; b < p; b++ {
					s += Rblk[a*p+b] * S.At(k-p+b, j)
				}
				r += s * s
			}
			resid[j] = math.Sqrt(r)
		}
		conv := 0
		for conv < o.nev && resid[conv] <= o.tol {
			conv++
		}
		res.converged = conv
		if o.progress != nil {
			o.progress(it, conv, o.nev)
		}
		if conv == o.nev || it >= o.maxIter {
			break
		}
		nextCheck = sched.next(it, resid[conv:], o.tol)
		// The next restart checks anyway: a check just before it would
		// cost a second eigendecomposition for (almost) nothing.
		kAfter := k
		if needRestart {
			kAfter = keep
		}
		if restartIt := it + (mmax-kAfter)/p; nextCheck+2 >= restartIt {
			nextCheck = restartIt
		}
		if needRestart {
			// Thick restart: Q[:keep] = S_keep^T Q[:k]; the pending block
			// moves in right behind them. T restricted to the kept Ritz
			// vectors is diag(theta); their coupling to the pending block
			// comes with its image in the next iteration.
			kk := keep
			clear(tmp)
			atbAdd(th, tmp, n, denseData(S, kk), k, kk, Q, n, k, n)
			copy(Q[kk*n:(kk+p)*n], Q[k*n:(k+p)*n])
			copy(Q[:kk*n], tmp)
			clear(T)
			for j := 0; j < kk; j++ {
				T[j*mmax+j] = theta[j]
			}
			k = kk
			afterRestart = true
		}
	}

	nev := o.nev
	res.values = append([]float64(nil), theta[:nev]...)
	res.residuals = append([]float64(nil), resid...)
	// Ritz vectors Y^T = S_nev^T Q[:k], returned as columns.
	yt := make([]float64, nev*n)
	atbAdd(th, yt, n, denseData(S, nev), k, nev, Q, n, k, n)
	res.vectors = linalg.New(n, nev)
	for j := 0; j < nev; j++ {
		for i := 0; i < n; i++ {
			res.vectors.Data[i*nev+j] = yt[j*n+i]
		}
	}
	return res, nil
}

// denseData returns the first cols columns of S as a row-major k x cols slice
// with stride k (S is k x k).
func denseData(S *mat.Dense, cols int) []float64 {
	r, _ := S.Dims()
	out := make([]float64, r*r)
	for i := 0; i < r; i++ {
		for j := 0; j < cols; j++ {
			out[i*r+j] = S.At(i, j)
		}
	}
	return out
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpy(alpha float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scal(alpha float64, x []float64) {
	for i := range x {
		x[i] *= alpha
	}
}

// smallEig solves a problem too small for a Krylov method exactly: it forms
// P M P (P the projector onto the complement of the locked columns), pushes
// the locked directions to -3 (below every eigenvalue of M, which lie in
// [-1, 1]) and takes the nev largest eigenpairs.
func smallEig(op operator, locked linalg.Matrix, c, nev int) (eigResult, error) {
	n := op.size()
	I := make([]float64, n*n)
	for i := 0; i < n; i++ {
		I[i*n+i] = 1
	}
	Md := make([]float64, n*n)
	op.apply(Md, I, n)
	M := mat.NewDense(n, n, Md)
	P := mat.NewDense(n, n, I)
	if c > 0 {
		Z := mat.NewDense(n, c, locked.Data)
		var zz mat.Dense
		zz.Mul(Z, Z.T())
		P.Sub(P, &zz)
		var pm, pmp mat.Dense
		pm.Mul(P, M)
		pmp.Mul(&pm, P)
		zz.Scale(3, &zz)
		pmp.Sub(&pmp, &zz)
		M = &pmp
	}
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, 0.5*(M.At(i, j)+M.At(j, i)))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, true) {
		return eigResult{}, fmt.Errorf("spectral: eigendecomposition of a %dx%d matrix failed", n, n)
	}
	vals := es.Values(nil)
	var V mat.Dense
	es.VectorsTo(&V)
	res := eigResult{values: make([]float64, nev), residuals: make([]float64, nev), converged: nev, iters: 1, matvecs: n}
	res.vectors = linalg.New(n, nev)
	for j := 0; j < nev; j++ {
		res.values[j] = vals[n-1-j]
		for i := 0; i < n; i++ {
			res.vectors.Data[i*nev+j] = V.At(i, n-1-j)
		}
	}
	return res, nil
}

// checkSchedule picks the next iteration for a convergence check from the
// decay of the largest unconverged residual: it extrapolates the decay rate
// since the previous check (geometric, as Krylov convergence is) to the
// iteration where that residual reaches tol. The jump is bounded by half the
// iterations done so far (at least 2), so a pessimistic prediction costs at
// most a third of the work; without a rate yet (first check, or a residual
// that grew) the next check comes 4 iterations later.
type checkSchedule struct {
	prevIt  int
	prevLog float64
}

func (c *checkSchedule) next(it int, unconverged []float64, tol float64) int {
	worst := 0.0
	for _, r := range unconverged {
		worst = max(worst, r)
	}
	lw := math.Log(worst)
	step := 4
	if c.prevIt > 0 && lw < c.prevLog && worst > tol {
		rate := (c.prevLog - lw) / float64(it-c.prevIt)
		need := (lw - math.Log(tol)) / rate
		step = max(1, min(int(need), max(2, it/2)))
	}
	c.prevIt, c.prevLog = it, lw
	return it + step
}
