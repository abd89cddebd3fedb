// Package cluster holds ncd's clustering algorithms: k-means (greedy
// k-means++ seeding, Lloyd, Hamerly or Elkan iterations, n_init restarts,
// breathing refinement of the best one), NCD k-means (known-class means as
// fixed pre-centroids) and nearest-centroid assignment of new rows.
//
// Every function is deterministic for a given random generator and gives
// bit-identical output for any thread count: per-restart seeds are drawn up
// front, and every reduction over rows is done per fixed-size chunk and
// combined in chunk order.
package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Algorithm names accepted in KMeansOptions.Algorithm.
const (
	AlgoAuto  = "auto"
	AlgoLloyd = "lloyd"
	// AlgoHamerly and AlgoElkan are exact, triangle-inequality-accelerated
	// iterations: same partition as Lloyd, most distances skipped. Hamerly keeps
	// one lower bound per row, Elkan one per row and centroid (n x k memory,
	// better pruning at larger k).
	AlgoHamerly = "hamerly"
	AlgoElkan   = "elkan"
)

// KMeansOptions configures KMeans. Zero values select the defaults.
type KMeansOptions struct {
	// K is the number of clusters (required, 1 <= K <= rows).
	K int
	// NInit is the number of k-means++ restarts; the lowest inertia wins (default 10).
	NInit int
	// MaxIter bounds the iterations of one restart (default 300).
	MaxIter int
	// Tol is the relative convergence tolerance, as scikit-learn: a restart stops when
	// the summed squared centroid shift is <= Tol * mean of the per-feature variances
	// of X (default 1e-4). A negative Tol means 0: stop only when labels no longer change.
	Tol float64
	// Threads bounds the goroutines used (<= 0: GOMAXPROCS). Results do not depend on it.
	Threads int
	// Rng drives the seeding; nil means a fixed generator (PCG seeded with 0, 0).
	Rng *rand.Rand
	// Algorithm is "auto" (default), "lloyd", "hamerly" or "elkan".
	Algorithm string
	// LocalTrials is the number of candidates tried per new k-means++ centre, keeping
	// the one that lowers the potential most. 0 means scikit-learn's 2 + int(ln K);
	// 1 is classic k-means++ (one draw per centre).
	LocalTrials int
	// Breathe is the initial breathing depth m of the refinement applied to the
	// best restart (breathing k-means, Fritzke 2020; see breathe): 0 means
	// min(3, K), a negative value disables it (plain scikit-learn k-means).
	// Depth 3 instead of Fritzke's 5: on letter (k = 26) it keeps n_init 10
	// within 1.0004 of the best of 100 plain restarts (depth 5: 1.0004, depth
	// 2: 1.0013) for +35% time over plain k-means (depth 5: +75%).
	Breathe int
	// Progress, when set, is called after each restart with the number of
	// restarts done and NInit (from several goroutines, never concurrently).
	Progress func(done, total int)
}

// Result is a fitted k-means partition.
type Result struct {
	// Labels[i] is the cluster (0..K-1) of row i.
	Labels []int
	// Centroids is K x d: row j is the mean of cluster j's rows at the last
	// update. After a tolerance stop the final assignment pass may have moved a
	// few rows since (as in scikit-learn); Labels are always nearest-centroid.
	Centroids linalg.Matrix
	// Inertia is the sum of squared distances of rows to their centroid.
	Inertia float64
	// Iter is the number of iterations of the kept restart (before breathing).
	Iter int
	// NInitRun is the number of restarts that were run.
	NInitRun int
	// BestInit is the index of the kept restart (lowest inertia, ties to the lowest index).
	BestInit int
	// Algorithm is the iteration actually used ("lloyd", "hamerly" or "elkan").
	Algorithm string
	// Breaths is the number of breathing rounds run on the best restart, and
	// RestartInertia that restart's inertia before them.
	Breaths        int
	RestartInertia float64
}

// resolved holds validated options with defaults applied.
type resolved struct {
	k, nInit, maxIter, threads, trials, breathe int
	tolRel                                      float64
	rng                                         *rand.Rand
	progress                                    func(done, total int)
	algo                                        string
}

func (o KMeansOptions) resolve(rows, cols int) (resolved, error) {
	r := resolved{k: o.K, nInit: o.NInit, maxIter: o.MaxIter, tolRel: o.Tol, rng: o.Rng, trials: o.LocalTrials, progress: o.Progress}
	if rows == 0 || cols == 0 {
		return r, usererr.New("k-means: no data to cluster (%d rows, %d features)", rows, cols)
	}
	if o.K < 1 {
		return r, usererr.New("k-means: number of clusters must be >= 1, got %d", o.K)
	}
	if o.K > rows {
		return r, usererr.New("k-means: number of clusters %d exceeds the number of rows %d", o.K, rows)
	}
	r.breathe = o.Breathe
	if r.breathe == 0 {
		r.breathe = 3
	}
	r.breathe = min(max(r.breathe, 0), o.K)
	if o.NInit < 0 || o.MaxIter < 0 || o.LocalTrials < 0 {
		return r, usererr.New("k-means: n_init, max_iter and local trials must be >= 0 (got %d, %d, %d)", o.NInit, o.MaxIter, o.LocalTrials)
	}
	if math.IsNaN(o.Tol) || math.IsInf(o.Tol, 0) {
		return r, usererr.New("k-means: tolerance must be finite, got %v", o.Tol)
	}
	if r.nInit == 0 {
		r.nInit = 10
	}
	if r.maxIter == 0 {
		r.maxIter = 300
	}
	if r.tolRel == 0 {
		r.tolRel = 1e-4
	} else if r.tolRel < 0 {
		r.tolRel = 0
	}
	if r.trials == 0 {
		r.trials = 2 + int(math.Log(float64(o.K)))
	}
	if r.rng == nil {
		r.rng = rand.New(rand.NewPCG(0, 0))
	}
	r.threads = par.Threads(o.Threads)
	switch o.Algorithm {
	case "", AlgoAuto:
		r.algo = autoAlgorithm(rows, cols, o.K)
	case AlgoLloyd:
		r.algo = AlgoLloyd
	case AlgoHamerly:
		r.algo = AlgoHamerly
	case AlgoElkan:
		r.algo = AlgoElkan
	default:
		return r, usererr.New("k-means: unknown algorithm %q (want auto, lloyd, hamerly or elkan)", o.Algorithm)
	}
	return r, nil
}

// autoAlgorithm picks the iteration for "auto". Measured (BenchmarkAlgo, CPU
// time at 1 thread, n_init 2): with the assembly kernels Hamerly (three
// bounds per row, see hamerly) beats Elkan and blocked-BLAS Lloyd at every
// shape tried: d = 16, k = 3/7/26: 3.7/4.0/67 ms against Elkan 11/22/276 and
// Lloyd 13/26/474; d = 64, k = 5/30: 3.3/16 against 6.5/36 and 6.2/50;
// d = 128, k = 10: 4.5 against 8.6 and 10; d = 500, k = 7: 20 against 39 and
// 35. Elkan (k bounds per row, n x k memory) is still available by name.
func autoAlgorithm(rows, cols, k int) string {
	if k == 1 {
		return AlgoLloyd
	}
	return AlgoHamerly
}

// checkFinite returns a user error if X holds NaN or Inf.
func checkFinite(what string, X linalg.Matrix) error {
	for idx, v := range X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return usererr.New("%s: row %d, feature %d is %v (impute or drop missing values first)", what, idx/X.Cols+1, idx%X.Cols+1, v)
		}
	}
	return nil
}

// KMeans clusters the rows of X into opt.K clusters: k-means++ seeding
// (scikit-learn's greedy variant), Lloyd or Hamerly iterations, opt.NInit
// restarts, keeping the lowest inertia. Invalid input returns a *usererr.Error.
func KMeans(ctx context.Context, X linalg.Matrix, opt KMeansOptions) (*Result, error) {
	if err := checkShape(X); err != nil {
		return nil, err
	}
	ro, err := opt.resolve(X.Rows, X.Cols)
	if err != nil {
		return nil, err
	}
	if err := checkFinite("k-means", X); err != nil {
		return nil, err
	}
	p := newProblem(X)
	defer p.release()
	p.seedPasses = (ro.k - 1) * ro.trials * ro.nInit
	tolAbs := ro.tolRel * meanVariance(X)
	best, bestIdx, err := restarts(ctx, ro, func(rr *rand.Rand, inner int) (*runOut, error) {
		ws := wsPool.Get().(*workspace)
		defer wsPool.Put(ws)
		centers := ws.seed(p, ro.k, ro.trials, nil, rr, inner, false)
		return p.fitIn(ctx, ws, centers, &ws.seeder, ro.k, ro.maxIter, tolAbs, ro.algo, inner)
	})
	if err != nil {
		return nil, err
	}
	res := &Result{
		NInitRun: ro.nInit, BestInit: bestIdx, Algorithm: ro.algo, Iter: best.iter, RestartInertia: best.inertia,
	}
	if ro.breathe > 0 && ro.k > 1 && best.inertia > 0 {
		brng := rand.New(rand.NewPCG(ro.rng.Uint64(), ro.rng.Uint64()))
		best, res.Breaths, err = p.breathe(ctx, best, ro.k, ro.breathe, ro.maxIter, tolAbs, breatheTol, ro.algo, brng, ro.threads)
		if err != nil {
			return nil, err
		}
	}
	res.Labels, res.Centroids, res.Inertia = best.labels, best.centers, best.inertia
	return res, nil
}

// breatheTol is the relative inertia decrease a breathing round must reach to
// count as an improvement (scikit-learn's default tol, as the reference
// implementation of breathing k-means uses).
const breatheTol = 1e-4

// checkShape rejects a Matrix whose Data does not match Rows x Cols (a bug, but
// cheap to catch before indexing out of range deep inside a kernel).
func checkShape(X linalg.Matrix) error {
	if len(X.Data) != X.Rows*X.Cols || X.Rows < 0 || X.Cols < 0 {
		return usererr.New("k-means: malformed matrix (%d values for %d x %d)", len(X.Data), X.Rows, X.Cols)
	}
	return nil
}

// restarts runs ro.nInit independent fits and keeps the lowest score (the
// inertia unless the fit set another; ties to the lowest restart index). Seeds are drawn from ro.rng up front, in restart
// order, so each restart's result is fixed whatever runs in parallel. With
// threads >= 2 restarts run concurrently, each single-threaded inside (no
// synchronisation per iteration, which on small data costs more than it saves);
// with fewer restarts than threads the spare threads go inside each fit.
func restarts(ctx context.Context, ro resolved, fit func(rr *rand.Rand, inner int) (*runOut, error)) (*runOut, int, error) {
	seeds := make([][2]uint64, ro.nInit)
	for i := range seeds {
		seeds[i] = [2]uint64{ro.rng.Uint64(), ro.rng.Uint64()}
	}
	outer := min(ro.threads, ro.nInit)
	inner := max(1, ro.threads/outer)
	// Only the best restart so far is kept (a restart holds n labels). The
	// order (score, index) is total, so the winner does not depend on which
	// restart finishes first.
	var mu sync.Mutex
	var best *runOut
	bestIdx, done := -1, 0
	var firstErr error
	errIdx := ro.nInit
	par.Each(outer, ro.nInit, func(i int) {
		if err := ctx.Err(); err != nil {
			mu.Lock()
			if i < errIdx {
				firstErr, errIdx = err, i
			}
			mu.Unlock()
			return
		}
		out, err := fit(rand.New(rand.NewPCG(seeds[i][0], seeds[i][1])), inner)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if i < errIdx {
				firstErr, errIdx = err, i
			}
			return
		}
		if best == nil || out.score() < best.score() || (out.score() == best.score() && i < bestIdx) {
			best, bestIdx = out, i
		}
		done++
		if ro.progress != nil {
			ro.progress(done, ro.nInit)
		}
	})
	if firstErr != nil {
		return nil, -1, firstErr
	}
	return best, bestIdx, nil
}

// meanVariance is the mean over features of the population variance, the
// scale scikit-learn multiplies its relative tolerance by.
func meanVariance(X linalg.Matrix) float64 {
	d := X.Cols
	mean := make([]float64, d)
	for i := 0; i < X.Rows; i++ {
		for j, v := range X.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(X.Rows)
	}
	ss := make([]float64, d)
	for i := 0; i < X.Rows; i++ {
		for j, v := range X.Row(i) {
			t := v - mean[j]
			ss[j] += t * t
		}
	}
	tot := 0.0
	for _, s := range ss {
		tot += s / float64(X.Rows)
	}
	return tot / float64(d)
}

// Assign labels every row of X with its nearest centroid (lowest index on
// ties) and returns the labels with the inertia (sum of exact squared
// distances to the chosen centroids). Distances are computed blockwise through
// BLAS; the result does not depend on threads.
func Assign(X, centroids linalg.Matrix, threads int) (labels []int, inertia float64) {
	if X.Cols != centroids.Cols {
		panic("cluster: Assign: X and centroids have different widths")
	}
	labels = make([]int, X.Rows)
	if X.Rows == 0 {
		return labels, 0
	}
	if centroids.Rows == 0 {
		panic("cluster: Assign: no centroids")
	}
	p := newProblem(X)
	r := p.newRun(centroids.Clone(), centroids.Rows, par.Threads(threads))
	r.labels = labels
	r.lloydEStep(false)
	return labels, r.inertia()
}
