// Package spectral computes the spectral embedding of ncd's spectral
// clustering: the MST bandwidth, the RBF affinity (dense, or a sparse kNN
// graph for large inputs), the symmetric normalized Laplacian and its
// eigenvectors 2..n_components+1, found with a block Lanczos method (never a
// full dense eigendecomposition).
//
// The eigenvectors of L = I - Deg^-1/2 A Deg^-1/2 with the smallest
// eigenvalues are the eigenvectors of M = Deg^-1/2 A Deg^-1/2 with the
// largest ones (eig(L) = 1 - eig(M)); Lanczos converges fastest at the
// extreme end of a spectrum, so the solver works on M. The first eigenvector
// of M is known in closed form (sqrt(Deg), eigenvalue 1) and is locked
// instead of being searched for; so is the rest of that eigenspace when the
// graph has several connected components.
//
// The products that dominate (M times a block of vectors, Gram-Schmidt
// against the basis, distances, the affinity's exponentials) run in AVX2/FMA
// or AVX-512 assembly on amd64 CPUs that have it and in plain Go elsewhere;
// the paths agree to rounding, and each is deterministic for any thread
// count.
package spectral

import (
	"context"
	"math"
	"time"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Affinity kinds accepted in Options.Affinity.
const (
	AffinityAuto  = "auto"  // dense up to DenseMaxRows rows, kNN above
	AffinityDense = "dense" // full n x n affinity (exact method of the paper)
	AffinityKNN   = "knn"   // sparse symmetrized kNN graph plus MST edges
)

// DenseMaxRows is the largest n for which AffinityAuto stores the dense
// n x n matrix (8000^2 float32 = 256 MB).
const DenseMaxRows = 8000

// Options configure Embed. The zero value of every field means its default.
type Options struct {
	// MinDist in (0, 1) sets the bandwidth: sigma = sqrt(-m / ln(MinDist))
	// with m the largest squared MST edge. Default 0.6.
	MinDist float64
	// NComponents is the embedding dimension (eigenvectors 2..NComponents+1).
	NComponents int
	// Affinity is AffinityAuto (default), AffinityDense or AffinityKNN.
	Affinity string
	// KNN is the number of neighbours per row of the kNN graph. Default 30.
	KNN int
	// Float64 stores the dense affinity in float64 instead of float32.
	// The default float32 storage takes half the memory and makes the
	// products (still summed in float64, so convergence is unaffected)
	// 1.2-1.5x faster. Rounding every entry by ~6e-8 relatively moves M by
	// ~1e-8 in norm: eigenvectors move by about 1e-8 / eigengap (1e-7 to
	// 1e-6 rad on iris, wine and letter subsets); NCD SC's ACC on letter,
	// pendigits and optdigits (5 seeds each) is the same within .001.
	Float64 bool
	// DegreeScale returns rows of Deg^-1/2 U (scikit-learn's
	// spectral_embedding) instead of the raw eigenvectors U (the paper's
	// reference code).
	DegreeScale bool
	// Threads bounds the parallel loops (0 = all CPUs). Results never
	// depend on it: work is cut into fixed chunks.
	Threads int
	// Seed fixes the Lanczos start block.
	Seed uint64
	// Tol is the residual norm |M u - lambda u| at which an eigenpair counts
	// as converged (M has norm 1). Default 1e-8.
	Tol float64
	// Block is the Lanczos block size. Default 12 (a multiple of the
	// kernels' 3- and 4-wide tiles), at most NComponents.
	Block int
	// MaxBasis is the Lanczos basis size before a thick restart. Default
	// max(64, 4*(NComponents+Block)): a large basis resolves clustered
	// eigenvalues in far fewer operator applications (letter, 63
	// components: 816 instead of over 2000), and costs little next to a
	// dense operator.
	MaxBasis int
	// MaxIter bounds the Lanczos block iterations (each applies M to Block
	// vectors). Default max(50, 40*(NComponents+Block)/Block). When it is
	// reached the current Ritz vectors are returned and Info.Converged
	// tells how many met Tol.
	MaxIter int
	// Progress, when set, is called after each convergence check.
	Progress func(iter, converged, wanted int)
	// Work, when set, keeps the dense n x n matrix between calls, so a
	// series of embeddings (a min_dist grid) does not allocate and fault in
	// hundreds of megabytes each time.
	Work *Workspace
}

// Workspace holds Embed's largest buffer for reuse across calls. The zero
// value is ready to use. It must not be shared by concurrent calls, and the
// embedding returned by Embed never aliases it.
type Workspace struct {
	a64 []float64
	a32 []float32
}

// Info reports what Embed did.
type Info struct {
	Sigma      float64 // RBF bandwidth
	MaxMSTEdge float64 // largest squared MST edge
	// Eigenvalues of L, ascending: the first (0) and the NComponents of the
	// embedding.
	Eigenvalues []float64
	// Residuals |M u - (1 - lambda) u| of the embedding's eigenvectors.
	Residuals  []float64
	Converged  int    // embedding eigenvectors that met Tol
	Iterations int    // Lanczos block iterations
	MatVecs    int    // operator applications, counted per vector
	Affinity   string // "dense" or "knn"
	Edges      int    // stored nonzeros of the kNN affinity (0 for dense)
	Components int    // connected components of the affinity graph
	// Timings in seconds: "mst+affinity" (dense: distances, MST and
	// affinity are one pass), or "mst" and "affinity" (kNN), then "eigen".
	Timings map[string]float64
}

func (o *Options) defaults(n int) error {
	if o.MinDist == 0 {
		o.MinDist = 0.6
	}
	if !(o.MinDist > 0 && o.MinDist < 1) {
		return usererr.New("spectral: min_dist must lie in (0, 1), got %g", o.MinDist)
	}
	if o.NComponents < 1 {
		return usererr.New("spectral: n_components must be at least 1, got %d", o.NComponents)
	}
	if o.NComponents+1 > n {
		return usererr.New("spectral: n_components %d needs at least %d rows, got %d", o.NComponents, o.NComponents+1, n)
	}
	switch o.Affinity {
	case "":
		o.Affinity = AffinityAuto
	case AffinityAuto, AffinityDense, AffinityKNN:
	default:
		return usererr.New("spectral: affinity must be auto, dense or knn, got %q", o.Affinity)
	}
	if o.Affinity == AffinityAuto {
		o.Affinity = AffinityDense
		if n > DenseMaxRows {
			o.Affinity = AffinityKNN
		}
	}
	if o.KNN == 0 {
		o.KNN = 30
	}
	if o.KNN < 1 {
		return usererr.New("spectral: knn must be at least 1, got %d", o.KNN)
	}
	if !(o.Tol >= 0) || math.IsInf(o.Tol, 0) {
		return usererr.New("spectral: the eigenvector tolerance must be a finite number >= 0 (0 = default 1e-8), got %g", o.Tol)
	}
	if o.Tol == 0 {
		o.Tol = 1e-8
	}
	if o.Block <= 0 {
		o.Block = min(12, o.NComponents)
	}
	if o.MaxBasis <= 0 {
		o.MaxBasis = max(64, 4*(o.NComponents+o.Block))
	}
	if o.MaxIter <= 0 {
		o.MaxIter = max(50, 40*(o.NComponents+o.Block)/o.Block)
	}
	return nil
}

// Embed returns the n x NComponents spectral embedding of the rows of X:
// eigenvectors 2..NComponents+1 of the symmetric normalized Laplacian of the
// RBF affinity with the MST bandwidth, one column per eigenvector in order of
// increasing eigenvalue. Each column's sign is fixed so that its entry of
// largest magnitude is positive.
func Embed(ctx context.Context, X linalg.Matrix, opt Options) (linalg.Matrix, *Info, error) {
	n := X.Rows
	if err := opt.defaults(n); err != nil {
		return linalg.Matrix{}, nil, err
	}
	for i, v := range X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return linalg.Matrix{}, nil, usererr.New("spectral: non-finite value in row %d", i/X.Cols+1)
		}
	}
	info := &Info{Affinity: opt.Affinity, Timings: map[string]float64{}}

	var op operator
	var deg []float64
	comp := make([]int, n)
	nComp := 1
	t0 := time.Now()
	switch opt.Affinity {
	case AffinityDense:
		var g *denseGraph
		var err error
		d := &denseOp{n: n, threads: opt.Threads}
		w := opt.Work
		if w == nil {
			w = &Workspace{}
		}
		if opt.Float64 {
			g, d.a64, err = buildDense(ctx, X, opt.MinDist, opt.Threads, w.a64)
			w.a64 = d.a64
		} else {
			g, d.a32, err = buildDense(ctx, X, opt.MinDist, opt.Threads, w.a32)
			w.a32 = d.a32
		}
		if err != nil {
			return linalg.Matrix{}, nil, err
		}
		info.Timings["mst+affinity"] = time.Since(t0).Seconds()
		op, deg = d, g.deg
		info.Sigma, info.MaxMSTEdge = g.sigma, g.maxEdge
	case AffinityKNN:
		g, err := buildKNN(ctx, X, opt.KNN, opt.MinDist, opt.Threads, info.Timings)
		if err != nil {
			return linalg.Matrix{}, nil, err
		}
		op, deg = g.op, g.deg
		info.Sigma, info.MaxMSTEdge = g.sigma, g.maxEdge
		info.Edges = len(g.op.val)
		comp, nComp = g.comp, g.nComp
	}
	if info.MaxMSTEdge == 0 {
		return linalg.Matrix{}, nil, usererr.New("spectral: all %d rows are identical; there is nothing to embed", n)
	}
	info.Components = nComp

	t1 := time.Now()
	emb, ev, err := spectralVectors(ctx, op, deg, comp, nComp, opt.NComponents, opt)
	if err != nil {
		return linalg.Matrix{}, nil, err
	}
	info.Timings["eigen"] = time.Since(t1).Seconds()
	info.Eigenvalues, info.Residuals = ev.Eigenvalues, ev.Residuals
	info.Converged, info.Iterations, info.MatVecs = ev.Converged, ev.Iterations, ev.MatVecs
	return emb, info, nil
}

// spectralVectors computes eigenvectors 2..nc+1 of L = I - M for the
// operator M with degrees deg and connected components comp (nComp of
// them), applies the DegreeScale option and fixes the signs. The returned
// Info carries only the eigen fields.
func spectralVectors(ctx context.Context, op operator, deg []float64, comp []int, nComp, nc int, opt Options) (linalg.Matrix, *Info, error) {
	n := op.size()
	// Eigenvalue 1 of M: sqrt(Deg) on each connected component. The global
	// vector is eigenvector 1 of L (skipped); the other nComp-1 directions
	// of that eigenspace are eigenvectors 2..nComp and are known exactly.
	locked := lockedVectors(deg, comp, nComp)
	fixed := min(nComp-1, nc)
	nev := nc - fixed
	if nev > n-nComp {
		return linalg.Matrix{}, nil, usererr.New("spectral: n_components %d is too large for %d rows in %d connected components", nc, n, nComp)
	}
	res, err := blockLanczos(ctx, op, locked, eigOptions{
		nev:      nev,
		block:    opt.Block,
		maxBasis: opt.MaxBasis,
		maxIter:  opt.MaxIter,
		tol:      opt.Tol,
		seed:     opt.Seed,
		threads:  opt.Threads,
		progress: opt.Progress,
	})
	if err != nil {
		return linalg.Matrix{}, nil, err
	}
	info := &Info{Iterations: res.iters, MatVecs: res.matvecs, Converged: fixed + res.converged}
	emb := linalg.New(n, nc)
	info.Eigenvalues = make([]float64, 0, nc+1)
	info.Eigenvalues = append(info.Eigenvalues, 0)
	info.Residuals = make([]float64, 0, nc)
	for j := 0; j < fixed; j++ {
		for i := 0; i < n; i++ {
			emb.Data[i*nc+j] = locked.At(i, j+1)
		}
		info.Eigenvalues = append(info.Eigenvalues, 0)
		info.Residuals = append(info.Residuals, 0)
	}
	for j := 0; j < nev; j++ {
		for i := 0; i < n; i++ {
			emb.Data[i*nc+fixed+j] = res.vectors.Data[i*nev+j]
		}
		info.Eigenvalues = append(info.Eigenvalues, 1-res.values[j])
		info.Residuals = append(info.Residuals, res.residuals[j])
	}
	if opt.DegreeScale {
		for i := 0; i < n; i++ {
			s := 1 / math.Sqrt(deg[i])
			for j := range emb.Row(i) {
				emb.Data[i*nc+j] *= s
			}
		}
	}
	fixSigns(emb)
	return emb, info, nil
}

// lockedVectors returns an orthonormal basis of the eigenvalue-1 eigenspace
// of M: column 0 is sqrt(Deg) normalized (eigenvector 1 of L), columns
// 1..nComp-1 complete it with the per-component vectors sqrt(Deg) 1_c
// (components 1..nComp-1 in order), Gram-Schmidt orthogonalized.
func lockedVectors(deg []float64, comp []int, nComp int) linalg.Matrix {
	n := len(deg)
	Z := linalg.New(n, nComp)
	col := make([]float64, n)
	for c := 0; c < nComp; c++ {
		for i := range col {
			col[i] = 0
			if c == 0 || comp[i] == c {
				col[i] = math.Sqrt(deg[i])
			}
		}
		for pass := 0; pass < 2; pass++ {
			for j := 0; j < c; j++ {
				s := 0.0
				for i := range col {
					s += Z.Data[i*nComp+j] * col[i]
				}
				for i := range col {
					col[i] -= s * Z.Data[i*nComp+j]
				}
			}
		}
		nrm := math.Sqrt(dot(col, col))
		for i := range col {
			Z.Data[i*nComp+c] = col[i] / nrm
		}
	}
	return Z
}

// fixSigns flips each column so that its entry of largest magnitude (the
// first one on ties) is positive, as scikit-learn's
// _deterministic_vector_sign_flip does.
func fixSigns(E linalg.Matrix) {
	for j := 0; j < E.Cols; j++ {
		best, bi := -1.0, 0
		for i := 0; i < E.Rows; i++ {
			if a := math.Abs(E.At(i, j)); a > best {
				best, bi = a, i
			}
		}
		if E.At(bi, j) < 0 {
			for i := 0; i < E.Rows; i++ {
				E.Data[i*E.Cols+j] = -E.Data[i*E.Cols+j]
			}
		}
	}
}
