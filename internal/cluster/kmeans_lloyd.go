package cluster

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// subRows is the row count of one BLAS distance block. gonum's Dgemm goes
// parallel (spawning goroutines) once the output spans 4 or more 64x64 blocks;
// 64-row blocks keep it serial for k <= 192, so the only parallelism is ours.
const subRows = 64

// problem is the data shared by all restarts on one matrix.
type problem struct {
	X       linalg.Matrix
	n, d    int
	chunk   int // rows per par.For chunk: depends on n only, never on threads
	nChunks int
	// xo is X in the oct layout for the AVX-512 seeding kernels, built on
	// first use by octX; seedPasses is the number of candidate passes over
	// X the seeding will make (0: unknown), which decides whether it pays.
	xoOnce     sync.Once
	xo         []float64
	seedPasses int
}

// octX returns X in the oct layout (see octLayout) when the AVX-512 kernels
// apply to it, else nil. The copy is built once per problem, on first use:
// the k-means++ gains stream all of X for every candidate, and a problem
// seeds n_init restarts.
func (p *problem) octX() []float64 {
	if !useAVX512 || p.n < 8 || octSize(p.n, p.d) > octMaxSize {
		return nil
	}
	if p.seedPasses < octMinPasses && !octCache.fits(octSize(p.n, p.d)) {
		return nil
	}
	p.xoOnce.Do(func() {
		buf := octCache.take()
		if sz := octSize(p.n, p.d); cap(buf) < sz {
			// Huge pages when large: far fewer page faults on first touch.
			buf = linalg.MakeBig[float64](sz)
		}
		p.xo = octLayout(buf, p.X.Data, p.n&^7, p.d, 0)
	})
	return p.xo
}

// octMaxSize bounds the oct copy (in values, 8 MB): past it the seeding
// streams X in place, four rows at a time. Fresh memory is what a large
// copy costs most: on the development VM first-touch page faults made a
// 12 MB copy (3000 x 500) take 45 ms, twice a whole n_init 2 fit.
const octMaxSize = 1 << 20

// octMinPasses is the number of k-means++ candidate passes over X
// (problem.seedPasses) from which a fresh oct copy pays: the all-candidate
// kernel saves about 40% of a pass per candidate, and a fresh copy costs
// its first-touch page faults (about 10 passes' worth on the development
// VM; an n_init 2, k = 5 fit on 4000 x 64 took 9 ms with it, 5 without).
// A cached buffer is used whatever the count.
const octMinPasses = 32

// octSize is the length of the oct copy of n rows of d columns.
func octSize(n, d int) int { return (n &^ 7) * 4 * ((d + 3) / 4) }

// octCache keeps the last oct copy for the next KMeans call: a scan runs
// hundreds of calls on the same rows, and a fresh copy per call costs page
// faults and collections (a sync.Pool is emptied by every collection,
// which copies of megabytes themselves trigger).
var octCache octSlot

type octSlot struct {
	mu  sync.Mutex
	buf []float64
}

func (s *octSlot) take() []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf
	s.buf = nil
	return b
}

// fits reports whether the cached buffer holds n values.
func (s *octSlot) fits(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cap(s.buf) >= n
}

func (s *octSlot) give(b []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(b) > cap(s.buf) {
		s.buf = b
	}
}

// release hands p's scratch copies back for reuse; p must not be used
// afterwards.
func (p *problem) release() {
	if p.xo != nil {
		octCache.give(p.xo)
		p.xo = nil
	}
}

func newProblem(X linalg.Matrix) *problem {
	// About 32 chunks: enough to balance a few goroutines, few enough that the
	// per-chunk centroid partial sums stay small; always a multiple of subRows.
	c := (X.Rows + 31) / 32
	c = (c + subRows - 1) / subRows * subRows
	c = min(max(c, 4*subRows), 8192)
	return &problem{X: X, n: X.Rows, d: X.Cols, chunk: c, nChunks: par.Chunks(X.Rows, c)}
}

// run is the state of one restart. Centroids 0..nFree-1 move; the rest
// (NCD k-means' known-class means in the generalized setting) stay fixed.
type run struct {
	p        *problem
	threads  int
	k, nFree int
	centers  linalg.Matrix // k x d
	next     linalg.Matrix // k x d, M-step output
	labels   []int
	sums     []float64 // nChunks x k x d partial sums
	counts   []int     // nChunks x k
	changed  []bool    // per chunk: did a label change in the last E-step
	dirty    []bool    // nChunks x k: did the chunk's sum for the centroid change since the last M-step
	tot      []float64 // k x d reduced sums
	totN     []int
	bufs     chan []float64 // per-goroutine BLAS scratch (subRows x k)
	relocate bool           // an empty cluster was re-seeded in the last M-step
	ham      *hamerly       // bounds, when running Hamerly
	elk      *elkan         // bounds, when running Elkan
}

func (p *problem) newRun(centers linalg.Matrix, nFree, threads int) *run {
	return p.newRunIn(nil, centers, nFree, threads)
}

// newRunIn is newRun reusing ws's buffers when ws is not nil.
func (p *problem) newRunIn(ws *workspace, centers linalg.Matrix, nFree, threads int) *run {
	k := centers.Rows
	r := &run{}
	if ws != nil {
		r = &ws.r
	}
	*r = run{
		p: p, threads: threads, k: k, nFree: nFree, centers: centers,
		next:    linalg.Matrix{Data: grow(r.next.Data, k*p.d), Rows: k, Cols: p.d},
		changed: grow(r.changed, p.nChunks),
		dirty:   grow(r.dirty, p.nChunks*k),
		tot:     grow(r.tot, k*p.d),
		totN:    grow(r.totN, k),
		sums:    grow(r.sums, p.nChunks*k*p.d),
		counts:  grow(r.counts, p.nChunks*k),
		labels:  r.labels[:0],
		bufs:    r.bufs,
	}
	clear(r.sums)
	clear(r.counts)
	for i := range r.dirty {
		r.dirty[i] = true
	}
	return r
}

// workspace holds the buffers of one restart (seeding, iteration state,
// bounds). Restarts take one from wsPool and put it back when done, so a
// scan of hundreds of fits does not allocate and zero megabytes per fit
// for the garbage collector to reclaim. Nothing in a workspace outlives its
// restart: fit copies out what it returns.
type workspace struct {
	seeder
	r run
	h hamerly
}

var wsPool = sync.Pool{New: func() any { return new(workspace) }}

// blasBufs returns the run's per-goroutine BLAS scratch for lloydEStep.
func (r *run) blasBufs() chan []float64 {
	if nb := min(r.threads, r.p.nChunks); cap(r.bufs) < nb {
		r.bufs = make(chan []float64, nb)
		for range nb {
			r.bufs <- nil
		}
	}
	return r.bufs
}

// runOut is what one restart returns.
type runOut struct {
	labels  []int
	centers linalg.Matrix
	inertia float64
	iter    int
	// sel, when set, replaces the inertia as the restart-selection score.
	sel *float64
}

func (o *runOut) score() float64 {
	if o.sel != nil {
		return *o.sel
	}
	return o.inertia
}

// sumDist is the sum over rows of the (unsquared) distance to the labelled
// centroid, reduced per chunk in chunk order.
func (p *problem) sumDist(o *runOut, threads int) float64 {
	part := make([]float64, p.nChunks)
	par.For(threads, p.n, p.chunk, func(c, lo, hi int) {
		s := 0.0
		for i := lo; i < hi; i++ {
			s += math.Sqrt(sqDist(p.X.Row(i), o.centers.Row(o.labels[i])))
		}
		part[c] = s
	})
	tot := 0.0
	for _, v := range part {
		tot += v
	}
	return tot
}

// fit iterates from the given initial centroids (the first nFree move) until
// convergence, scikit-learn style: stop when no label changed (strict) or the
// summed squared shift of the centroids is <= tolAbs; after a tolerance stop,
// one more assignment pass makes the labels match the returned centroids.
func (p *problem) fit(ctx context.Context, centers linalg.Matrix, nFree, maxIter int, tolAbs float64, algo string, threads int) (*runOut, error) {
	return p.fitSeeded(ctx, centers, nil, nFree, maxIter, tolAbs, algo, threads)
}

// fitSeeded is fit starting, when seeds holds the seeding's final state for
// these centroids and the iteration is Hamerly's, from that state instead of
// a first assignment pass: the same labels and bounds, without the distances.
func (p *problem) fitSeeded(ctx context.Context, centers linalg.Matrix, seeds *seeder, nFree, maxIter int, tolAbs float64, algo string, threads int) (*runOut, error) {
	return p.fitIn(ctx, nil, centers, seeds, nFree, maxIter, tolAbs, algo, threads)
}

// fitIn is fitSeeded with the buffers of ws (nil: fresh ones).
func (p *problem) fitIn(ctx context.Context, ws *workspace, centers linalg.Matrix, seeds *seeder, nFree, maxIter int, tolAbs float64, algo string, threads int) (*runOut, error) {
	r := p.newRunIn(ws, centers, nFree, threads)
	r.labels = make([]int, p.n)
	for i := range r.labels {
		r.labels[i] = -1
	}
	switch algo {
	case AlgoHamerly:
		if ws != nil {
			r.ham = ws.h.reset(p.n, r.k)
		} else {
			r.ham = new(hamerly).reset(p.n, r.k)
		}
	case AlgoElkan:
		r.elk = newElkan(p.n, r.k)
	}
	seeded := seeds != nil && seeds.state && r.ham != nil && nFree == r.k
	strict := false
	it := 0
	for it < maxIter {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var changed bool
		switch {
		case seeded && it == 0:
			changed = r.hamerlyFromSeeds(seeds)
		case r.ham != nil:
			changed = r.hamerlyEStep()
		case r.elk != nil:
			changed = r.elkanEStep()
		default:
			changed = r.lloydEStep(true)
		}
		shift := r.mStep()
		it++
		if !changed && !r.relocate {
			strict = true
			break
		}
		if shift <= tolAbs {
			break
		}
	}
	if !strict {
		// The bounded iterations give the nearest-centroid labels at a
		// fraction of a full pass (their sums are updated needlessly).
		switch {
		case r.ham != nil:
			r.hamerlyEStep()
		case r.elk != nil:
			r.elkanEStep()
		default:
			r.lloydEStep(false)
		}
	}
	out := &runOut{labels: r.labels, centers: r.centers, inertia: r.inertia(), iter: it}
	if ws != nil {
		// r.centers may be ws's buffer: the result gets its own copy.
		out.centers = r.centers.Clone()
	}
	return out, nil
}

// moveRow moves row i from cluster from (-1: none yet) to cluster to: its
// label, and chunk c's persistent centroid sums and counts with their dirty
// flags (the E-steps that keep the M-step's sums up to date call it for the
// few rows that change cluster).
func (r *run) moveRow(c, i, from, to int) {
	k, d := r.k, r.p.d
	x := r.p.X.Data[i*d : (i+1)*d]
	sums := r.sums[c*k*d : (c+1)*k*d]
	counts := r.counts[c*k : (c+1)*k]
	r.labels[i] = to
	if from >= 0 {
		counts[from]--
		r.dirty[c*k+from] = true
		subFrom(sums[from*d:(from+1)*d], x)
	}
	counts[to]++
	r.dirty[c*k+to] = true
	addTo(sums[to*d:(to+1)*d], x)
}

// lloydEStep assigns every row to its nearest centroid, with distances
// |x|^2 - 2 x.c + |c|^2 computed per block of rows by one BLAS product (|x|^2
// is dropped: it does not change the argmin). With accumulate it keeps the
// per-chunk centroid sums of the M-step up to date: they persist across
// iterations and are corrected only for rows that change cluster, which late
// in a run is a handful. It reports whether a label changed.
func (r *run) lloydEStep(accumulate bool) bool {
	p, k := r.p, r.k
	csq := linalg.RowSqNorms(r.centers, nil)
	bufs := r.blasBufs()
	par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
		buf := grow(<-bufs, subRows*k)
		defer func() { bufs <- buf }()
		changed := false
		for b := lo; b < hi; b += subRows {
			e := min(b+subRows, hi)
			D := linalg.Matrix{Data: buf[:(e-b)*k], Rows: e - b, Cols: k}
			linalg.MulABt(D, -2, p.X.Slice(b, e), r.centers, 0)
			for i := b; i < e; i++ {
				row := D.Data[(i-b)*k : (i-b+1)*k]
				best, bv := 0, row[0]+csq[0]
				for j := 1; j < k; j++ {
					if v := row[j] + csq[j]; v < bv {
						best, bv = j, v
					}
				}
				old := r.labels[i]
				if old == best {
					continue
				}
				changed = true
				if accumulate {
					r.moveRow(c, i, old, best)
				} else {
					r.labels[i] = best
				}
			}
		}
		r.changed[c] = changed
	})
	return anyTrue(r.changed)
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

func addTo(dst, x []float64) {
	if len(x) == 16 {
		d, v := (*[16]float64)(dst[:16]), (*[16]float64)(x)
		d[0], d[1], d[2], d[3] = d[0]+v[0], d[1]+v[1], d[2]+v[2], d[3]+v[3]
		d[4], d[5], d[6], d[7] = d[4]+v[4], d[5]+v[5], d[6]+v[6], d[7]+v[7]
		d[8], d[9], d[10], d[11] = d[8]+v[8], d[9]+v[9], d[10]+v[10], d[11]+v[11]
		d[12], d[13], d[14], d[15] = d[12]+v[12], d[13]+v[13], d[14]+v[14], d[15]+v[15]
		return
	}
	dst = dst[:len(x)]
	for j, v := range x {
		dst[j] += v
	}
}

// mStep reduces the per-chunk sums in chunk order, moves the free centroids
// to their means (re-seeding empty ones), swaps them in and returns the summed
// squared shift of the centroids.
func (r *run) mStep() float64 {
	k, d := r.k, r.p.d
	// Only the centroids whose sums changed in some chunk are reduced again
	// (late in a fit, a few): the others' totals are what the reduction
	// would give again, bit for bit. After an empty-cluster relocation
	// (which edits the totals) everything is reduced.
	for j := 0; j < k; j++ {
		dirty := r.relocate
		for c := 0; c < r.p.nChunks && !dirty; c++ {
			dirty = r.dirty[c*k+j]
		}
		if !dirty {
			continue
		}
		tot := r.tot[j*d : (j+1)*d]
		clear(tot)
		r.totN[j] = 0
		for c := 0; c < r.p.nChunks; c++ {
			addTo(tot, r.sums[(c*k+j)*d:(c*k+j+1)*d])
			r.totN[j] += r.counts[c*k+j]
		}
	}
	clear(r.dirty)
	r.relocate = false
	for j := 0; j < r.nFree; j++ {
		if r.totN[j] == 0 {
			r.relocateEmpty()
			break
		}
	}
	copy(r.next.Data, r.centers.Data)
	shift := 0.0
	for j := 0; j < r.nFree; j++ {
		if r.totN[j] == 0 {
			continue // only when every row sits on a centroid: nothing to re-seed from
		}
		inv := 1 / float64(r.totN[j])
		dst := r.next.Row(j)
		for f, v := range r.tot[j*d : (j+1)*d] {
			dst[f] = v * inv
		}
		shift += linalg.SqDistRows(dst, r.centers.Row(j))
	}
	if r.ham != nil {
		centroidMoves(r.ham.p, r.centers, r.next)
		r.ham.pending = true
	}
	if r.elk != nil {
		centroidMoves(r.elk.p, r.centers, r.next)
		r.elk.pending = true
	}
	r.centers, r.next = r.next, r.centers
	return shift
}

// relocateEmpty re-seeds every empty free cluster with one of the rows
// farthest from their current centroid, as scikit-learn does: the farthest
// row goes to the first empty cluster, the next to the second, and so on (ties
// to the lowest row index). The row's label is left alone (it is fixed by the
// next E-step); only the sums move. A row is never taken from a free cluster
// it is the last member of, which would just move the hole.
func (r *run) relocateEmpty() {
	r.relocate = true
	p, d := r.p, r.p.d
	dist := make([]float64, p.n)
	par.For(r.threads, p.n, p.chunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dist[i] = linalg.SqDistRows(p.X.Row(i), r.centers.Row(r.labels[i]))
		}
	})
	order := make([]int, p.n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(dist[b], dist[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	next := 0
	for j := 0; j < r.nFree; j++ {
		if r.totN[j] != 0 {
			continue
		}
		for next < len(order) {
			i := order[next]
			next++
			old := r.labels[i]
			if old < r.nFree && r.totN[old] <= 1 {
				continue
			}
			x := p.X.Row(i)
			if old < r.nFree {
				s := r.tot[old*d : (old+1)*d]
				for f, v := range x {
					s[f] -= v
				}
			}
			r.totN[old]--
			copy(r.tot[j*d:(j+1)*d], x)
			r.totN[j] = 1
			break
		}
	}
}

// inertia is the sum over rows of the exact squared distance to the labelled
// centroid, reduced per chunk in chunk order.
func (r *run) inertia() float64 {
	p := r.p
	part := make([]float64, p.nChunks)
	if r.ham != nil {
		// The distances through the pair kernel (same bits as sqDist), four
		// rows at a time, in the E-step's scratch.
		h := r.ham
		par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
			rows, cents, dist := h.rows[lo:hi], h.cents[lo:hi], h.dist[lo:hi]
			for q := range rows {
				rows[q], cents[q] = int32(lo+q), int32(r.labels[lo+q])
			}
			sqDistPairs(p.X, r.centers, rows, cents, dist)
			s := 0.0
			for _, v := range dist {
				s += v
			}
			part[c] = s
		})
	} else {
		par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
			s := 0.0
			for i := lo; i < hi; i++ {
				s += sqDist(p.X.Row(i), r.centers.Row(r.labels[i]))
			}
			part[c] = s
		})
	}
	tot := 0.0
	for _, v := range part {
		tot += v
	}
	return tot
}
