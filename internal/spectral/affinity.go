package spectral

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// denseOp is M = Deg^-1/2 A Deg^-1/2 stored as a full n x n matrix, in
// float64 or (half the memory, faster products, ~1e-7 relative rounding of
// every entry) float32.
type denseOp struct {
	n       int
	a64     []float64
	a32     []float32
	threads int
	t64     []float64 // n x b product before transposition
	pad     []float64 // input block padded to a multiple of 3 vectors
}

func (d *denseOp) size() int { return d.n }

// apply computes M src^T (n x b) with the tiled dot-product kernel (rows of
// M against the b vectors) and transposes it into dst. With float32
// storage the entries are widened exactly and summed in float64, so the
// operator is an exactly linear map (the rounded matrix) and residuals can
// be driven as low as in float64.
func (d *denseOp) apply(dst, src []float64, b int) {
	n := d.n
	// The kernel tiles 3 vectors at a time; pad the block with zero
	// vectors rather than leave a ragged edge to the scalar path.
	b3 := (b + 2) / 3 * 3
	if b3 != b {
		if len(d.pad) < b3*n {
			d.pad = make([]float64, b3*n)
		}
		copy(d.pad, src[:b*n])
		clear(d.pad[b*n : b3*n])
		src = d.pad[:b3*n]
	}
	if len(d.t64) < n*b3 {
		d.t64 = make([]float64, n*b3)
	}
	y := d.t64[:n*b3]
	clear(y)
	if d.a64 != nil {
		dotABt(d.threads, y, b3, d.a64, n, n, src, n, b3, n)
	} else {
		dotABt(d.threads, y, b3, d.a32, n, n, src, n, b3, n)
	}
	transposeCols(dst, n, y, n, b3, b)
}

// transposeCols writes the first c columns of the row-major r x ld matrix
// src into dst as c rows of length r (row stride dld).
func transposeCols(dst []float64, dld int, src []float64, r, ld, c int) {
	const tb = 32
	for i0 := 0; i0 < r; i0 += tb {
		i1 := min(i0+tb, r)
		for j := 0; j < c; j++ {
			for i := i0; i < i1; i++ {
				dst[j*dld+i] = src[i*ld+j]
			}
		}
	}
}

// transpose writes the row-major r x c matrix src into dst as c x r with row
// stride ld, in cache-sized tiles.
func transpose(dst []float64, ld int, src []float64, r, c int) {
	const tb = 32
	for i0 := 0; i0 < r; i0 += tb {
		i1 := min(i0+tb, r)
		for j0 := 0; j0 < c; j0 += tb {
			j1 := min(j0+tb, c)
			for i := i0; i < i1; i++ {
				for j := j0; j < j1; j++ {
					dst[j*ld+i] = src[i*c+j]
				}
			}
		}
	}
}

// denseGraph is the result of buildDense.
type denseGraph struct {
	deg     []float64
	maxEdge float64 // largest squared MST edge (exact)
	sigma   float64
}

// bufPool hands out at most one scratch buffer per running chunk: par.For
// runs at most threads chunks at a time.
type bufPool chan []float64

func newBufPool(threads, size int) bufPool {
	t := par.Threads(threads)
	p := make(bufPool, t)
	for i := 0; i < t; i++ {
		p <- make([]float64, size)
	}
	return p
}

// buildDense computes the squared distances (upper triangle, by
// upperDistances), sigma from the Euclidean MST (primOnTheFly, exact
// distances, so sigma inherits neither the cancellation error of
// dot-product distances nor float32 rounding), and turns the matrix in
// place into M = Deg^-1/2 A Deg^-1/2 with A = exp(-D^2 / (2 sigma^2)), zero
// diagonal, the lower triangle mirrored from the upper one.
//
// S, when long enough, is reused for the matrix (see Workspace).
func buildDense[T float32 | float64](ctx context.Context, X linalg.Matrix, minDist float64, threads int, S []T) (*denseGraph, []T, error) {
	n := X.Rows
	if cap(S) < n*n {
		S = linalg.MakeBig[T](n * n)
	}
	S = S[:n*n]
	const bs = 64
	upperDistances(ctx, X, S, threads)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// Prim on the fly costs about what Prim over the stored matrix did,
	// and that needed the lower triangle mirrored first. The edges are
	// re-measured with sqDist, the reference for the bandwidth.
	u, v, _ := primOnTheFly(X, threads)
	m := 0.0
	for e := range u {
		m = max(m, sqDist(X.Row(u[e]), X.Row(v[e])))
	}
	sigma := Sigma(m, minDist)
	inv := 1 / (2 * sigma * sigma)

	// One pass over the upper triangle turns distances into affinities and
	// collects row sums, plus per-chunk column sums for the lower triangle
	// (reduced in chunk order, so degrees do not depend on the threads).
	nChunks := par.Chunks(n, bs)
	colPart := make([]float64, nChunks*n)
	rowPart := make([]float64, n)
	par.For(threads, n, bs, func(c, lo, hi int) {
		cp := colPart[c*n : (c+1)*n]
		for i := lo; i < hi; i++ {
			row := S[i*n+i+1 : (i+1)*n]
			rowPart[i] = expAffinityRow(row, cp[i+1:], inv)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	deg := make([]float64, n)
	for i := range deg {
		s := rowPart[i]
		for c := 0; c < nChunks; c++ {
			s += colPart[c*n+i]
		}
		deg[i] = s
	}
	isq := invSqrt(deg)
	scaleMirror(S, n, isq, threads)
	return &denseGraph{deg: deg, maxEdge: m, sigma: sigma}, S, nil
}

// upperDistances writes the squared distances between the rows of X into
// the upper triangle of the n x n matrix S (diagonal included).
//
// With AVX-512 and few columns (letter has 16) each row's distances come
// from sqdistTz on the transposed data: exact differences, eight points per
// vector lane, no reductions. Otherwise they are |x_i|^2 + |x_j|^2 - 2 x_i.x_j
// with the dot products from the tiled kernel, clamped at 0 (cancellation can
// leave tiny negative values).
func upperDistances[T float32 | float64](ctx context.Context, X linalg.Matrix, S []T, threads int) {
	n, d := X.Rows, X.Cols
	const bs = 64
	if useAsm && useAVX512 && d >= 1 && d <= 64 {
		xt := make([]float64, d*n)
		transpose(xt, n, X.Data, n, d)
		s64, _ := any(S).([]float64)
		pool := newBufPool(threads, n)
		par.For(threads, n, bs, func(_, lo, hi int) {
			if ctx.Err() != nil {
				return
			}
			buf := <-pool
			defer func() { pool <- buf }()
			for i := lo; i < hi; i++ {
				w := n - i
				out := buf[:w]
				if s64 != nil {
					out = s64[i*n+i : (i+1)*n]
				}
				m := w / 8 * 8
				if m > 0 {
					sqdistTz(&X.Data[i*d], d, &xt[i], n, m, &out[0])
				}
				xi := X.Row(i)
				for j := m; j < w; j++ {
					out[j] = sqDist(xi, X.Row(i+j))
				}
				if s64 == nil {
					dst := S[i*n+i : (i+1)*n]
					for j, v := range out {
						dst[j] = T(v)
					}
				}
				S[i*n+i] = 0
			}
		})
		return
	}
	norms := linalg.RowSqNorms(X, nil)
	Xp, dp := padded(X)
	pool := newBufPool(threads, bs*n)
	par.For(threads, n, bs, func(_, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		buf := <-pool
		defer func() { pool <- buf }()
		// Dot products of rows [lo, hi) with rows [lo, n): the upper
		// triangle, row blocks on the diagonal.
		w := n - lo
		blk := buf[:(hi-lo)*w]
		clear(blk)
		dotRows(blk, w, Xp[lo*dp:], dp, 0, hi-lo, Xp[lo*dp:], dp, w, dp)
		for i := lo; i < hi; i++ {
			src := blk[(i-lo)*w+(i-lo) : (i-lo+1)*w]
			dst := S[i*n+i : (i+1)*n]
			ni := norms[i]
			for j, g := range src {
				v := ni + norms[i+j] - 2*g
				if v < 0 {
					v = 0
				}
				dst[j] = T(v)
			}
			S[i*n+i] = 0
		}
	})
}

// scaleMirror multiplies the strict upper triangle of S by isq_i * isq_j
// and copies the result onto the lower triangle, tile by tile (a tile and
// its mirror image stay in cache together).
func scaleMirror[T float32 | float64](S []T, n int, isq []float64, threads int) {
	const tb = 64
	par.For(threads, n, tb, func(_, lo, hi int) {
		for j0 := lo; j0 < n; j0 += tb {
			j1 := min(j0+tb, n)
			for i := lo; i < hi; i++ {
				si := isq[i]
				for j := max(j0, i+1); j < j1; j++ {
					v := T(float64(S[i*n+j]) * (si * isq[j]))
					S[i*n+j] = v
					S[j*n+i] = v
				}
			}
		}
	})
}

// invSqrt returns 1/sqrt(d) elementwise.
func invSqrt(d []float64) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = 1 / math.Sqrt(v)
	}
	return out
}

// csrOp is M = Deg^-1/2 A Deg^-1/2 for a sparse symmetric A in compressed
// sparse row form.
type csrOp struct {
	n       int
	rowPtr  []int
	col     []int32
	val     []float64
	threads int
	x, y    []float64 // interleaved input and output blocks
}

func (s *csrOp) size() int { return s.n }

// apply multiplies by the sparse matrix with the vectors interleaved (one
// n x b row-major block) so each stored entry costs one short contiguous
// axpy; the block is transposed in and out.
func (s *csrOp) apply(dst, src []float64, b int) {
	n := s.n
	if len(s.x) < n*b {
		s.x = make([]float64, n*b)
		s.y = make([]float64, n*b)
	}
	x, y := s.x[:n*b], s.y[:n*b]
	transpose(x, b, src, b, n)
	par.For(s.threads, n, 512, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			yi := y[i*b : (i+1)*b]
			clear(yi)
			for e := s.rowPtr[i]; e < s.rowPtr[i+1]; e++ {
				j := int(s.col[e])
				axpy(s.val[e], x[j*b:(j+1)*b], yi)
			}
		}
	})
	transpose(dst, n, y, n, b)
}

// knnGraph is the result of buildKNN.
type knnGraph struct {
	op      *csrOp
	deg     []float64
	maxEdge float64
	sigma   float64
	comp    []int // connected component of each row
	nComp   int
}

// buildKNN builds the sparse affinity: every row is linked to its k nearest
// neighbours, the links are symmetrized (i~j when either is among the other's
// k nearest), the edges of the Euclidean MST are added (so the graph is
// connected, like the dense one), and each link gets the dense method's
// weight exp(-|x_i - x_j|^2 / (2 sigma^2)) with the MST sigma.
func buildKNN(ctx context.Context, X linalg.Matrix, k int, minDist float64, threads int, timings map[string]float64) (*knnGraph, error) {
	n := X.Rows
	k = min(k, n-1)
	t0 := time.Now()
	ix := newCellIndex(X, threads)
	nbr, nd := ix.knn(ctx, k, threads)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timings["knn"] = time.Since(t0).Seconds()
	t0 = time.Now()
	mu, mv, mw, err := ix.mst(ctx, X, nbr, nd, k, threads)
	if err != nil {
		return nil, err
	}
	timings["mst"] = time.Since(t0).Seconds()
	t0 = time.Now()
	m := 0.0
	for _, w := range mw {
		m = max(m, w)
	}
	sigma := Sigma(m, minDist)
	inv := 1 / (2 * sigma * sigma)

	// Symmetric adjacency: counts, fill, sort, dedupe.
	cnt := make([]int, n+1)
	for i := 0; i < n; i++ {
		for _, j := range nbr[i*k : (i+1)*k] {
			cnt[i]++
			cnt[j]++
		}
	}
	for e := range mu {
		cnt[mu[e]]++
		cnt[mv[e]]++
	}
	ptr := make([]int, n+1)
	for i := 0; i < n; i++ {
		ptr[i+1] = ptr[i] + cnt[i]
	}
	fill := append([]int(nil), ptr[:n]...)
	col := make([]int32, ptr[n])
	add := func(i, j int) {
		col[fill[i]] = int32(j)
		fill[i]++
	}
	for i := 0; i < n; i++ {
		for _, j := range nbr[i*k : (i+1)*k] {
			add(i, int(j))
			add(int(j), i)
		}
	}
	for e := range mu {
		add(mu[e], mv[e])
		add(mv[e], mu[e])
	}
	// Compact each row to its sorted unique columns.
	rowPtr := make([]int, n+1)
	out := 0
	for i := 0; i < n; i++ {
		r := col[ptr[i]:ptr[i+1]]
		slices.Sort(r)
		r = slices.Compact(r)
		copy(col[out:], r)
		out += len(r)
		rowPtr[i+1] = out
	}
	col = col[:out:out]
	val := make([]float64, out)
	deg := make([]float64, n)
	par.For(threads, n, 512, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			s := 0.0
			xi := X.Row(i)
			for e := rowPtr[i]; e < rowPtr[i+1]; e++ {
				w := math.Exp(-sqDist(xi, X.Row(int(col[e]))) * inv)
				val[e] = w
				s += w
			}
			deg[i] = s
		}
	})
	isq := invSqrt(deg)
	for i := 0; i < n; i++ {
		for e := rowPtr[i]; e < rowPtr[i+1]; e++ {
			val[e] *= isq[i] * isq[col[e]]
		}
	}
	comp, nComp := components(n, rowPtr, col, val)
	timings["affinity"] = time.Since(t0).Seconds()
	return &knnGraph{
		op:      &csrOp{n: n, rowPtr: rowPtr, col: col, val: val, threads: threads},
		deg:     deg,
		maxEdge: m,
		sigma:   sigma,
		comp:    comp,
		nComp:   nComp,
	}, nil
}

// heapLess orders candidates by (distance, index): the heap root is the
// worst kept neighbour.
func heapLess(d1 float64, i1 int32, d2 float64, i2 int32) bool {
	if d1 != d2 {
		return d1 < d2
	}
	return i1 < i2
}

// components labels the connected components of the graph whose edges are
// the positive entries of the CSR matrix, numbered in order of their
// smallest row.
func components(n int, rowPtr []int, col []int32, val []float64) ([]int, int) {
	comp := make([]int, n)
	for i := range comp {
		comp[i] = -1
	}
	nc := 0
	stack := make([]int, 0, 64)
	for s := 0; s < n; s++ {
		if comp[s] >= 0 {
			continue
		}
		comp[s] = nc
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for e := rowPtr[i]; e < rowPtr[i+1]; e++ {
				j := int(col[e])
				if val[e] > 0 && comp[j] < 0 {
					comp[j] = nc
					stack = append(stack, j)
				}
			}
		}
		nc++
	}
	return comp, nc
}
