package spectral

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// Sigma turns the largest squared edge of the Euclidean minimum spanning tree
// into the RBF bandwidth of the method: sigma = sqrt(-maxSqEdge / ln(minDist)).
// minDist must lie in (0, 1); it is the similarity level (before the factor
// 1/2 in the kernel exponent) at which the tree's longest edge still links.
func Sigma(maxSqEdge, minDist float64) float64 {
	return math.Sqrt(-maxSqEdge / math.Log(minDist))
}

// MSTMaxEdge returns the largest squared edge of the Euclidean minimum spanning
// tree of the rows of X (equivalently the largest edge of the MST of the
// squared-distance graph: squaring is monotone, so both trees are the same).
// It runs Prim's algorithm in O(n^2 d) time and O(n d) memory, computing
// distances on the fly; the result is the same for every thread count.
func MSTMaxEdge(X linalg.Matrix, threads int) float64 {
	_, _, w := primOnTheFly(X, threads)
	m := 0.0
	for _, v := range w {
		m = max(m, v)
	}
	return m
}

// sqDist is the exact squared Euclidean distance between two equal-length
// vectors, with four independent accumulators so the loop pipelines.
func sqDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// primOnTheFly computes a Euclidean MST of X's rows with Prim's algorithm.
// It returns the n-1 tree edges as (u[e], v[e]) with exact squared lengths
// w[e], in the order Prim adds them.
//
// The vertices not yet in the tree are kept compacted at the front of a
// permuted copy of X, so each step is one contiguous sweep that both lowers
// the keys with the newest tree vertex and finds the next vertex to add. The
// sweep is cut into chunks whose size depends only on d; per-chunk minima are
// reduced in chunk order with ties going to the earlier position, so the tree
// is identical for every thread count.
func primOnTheFly(X linalg.Matrix, threads int) (u, v []int, w []float64) {
	n := X.Rows
	if n < 2 {
		return nil, nil, nil
	}
	// Working copy, permuted as vertices join the tree, with rows padded
	// to a multiple of 4 columns for the vector kernel.
	Y, d := padded(X)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	key := make([]float64, n)
	from := make([]int, n)
	dist := make([]float64, n)
	for i := range key {
		key[i] = math.Inf(1)
	}
	u = make([]int, 0, n-1)
	v = make([]int, 0, n-1)
	w = make([]float64, 0, n-1)

	// About 16k multiply-adds per chunk: large enough to amortize scheduling.
	chunk := max(256, 16384/max(d, 1))
	nChunks := par.Chunks(n, chunk)
	cMin := make([]float64, nChunks)
	cPos := make([]int, nChunks)
	cur := make([]float64, d)

	swap := func(p, q int) {
		if p == q {
			return
		}
		rp, rq := Y[p*d:(p+1)*d], Y[q*d:(q+1)*d]
		for k := range rp {
			rp[k], rq[k] = rq[k], rp[k]
		}
		key[p], key[q] = key[q], key[p]
		from[p], from[q] = from[q], from[p]
		perm[p], perm[q] = perm[q], perm[p]
	}

	// Vertex 0 starts the tree: move it behind the active range.
	swap(0, n-1)
	copy(cur, Y[(n-1)*d:])
	curIdx := perm[n-1]
	for r := n - 1; r > 0; r-- {
		t := threads
		// Below ~256k multiply-adds a step is too little work to pay for
		// the goroutine hand-off (letter's 6000 x 16 at 2 threads on a
		// loaded machine: 0.06 s of CPU serial, 0.08-0.12 s split).
		if r*d < 1<<18 {
			t = 1
		}
		par.For(t, r, chunk, func(c, lo, hi int) {
			sqDistMany(cur, Y[lo*d:hi*d], d, hi-lo, dist[lo:hi])
			best, pos := math.Inf(1), -1
			for p := lo; p < hi; p++ {
				dd, k := dist[p], key[p]
				if dd < k {
					k = dd
					key[p] = dd
					from[p] = curIdx
				}
				if k < best || pos < 0 {
					best, pos = k, p
				}
			}
			cMin[c], cPos[c] = best, pos
		})
		best, pos := cMin[0], cPos[0]
		for c := 1; c < par.Chunks(r, chunk); c++ {
			if cMin[c] < best {
				best, pos = cMin[c], cPos[c]
			}
		}
		u = append(u, from[pos])
		v = append(v, perm[pos])
		w = append(w, best)
		swap(pos, r-1)
		copy(cur, Y[(r-1)*d:r*d])
		curIdx = perm[r-1]
	}
	return u, v, w
}

// padded copies X into a row-major buffer whose rows are padded with zeros
// to a multiple of 4 columns (the vector kernels' width) and returns it with
// the padded row length. Zero columns change no distance or dot product.
func padded(X linalg.Matrix) ([]float64, int) {
	d := (X.Cols + 3) / 4 * 4
	if d == 0 {
		d = 4
	}
	Y := make([]float64, X.Rows*d)
	for i := 0; i < X.Rows; i++ {
		copy(Y[i*d:], X.Row(i))
	}
	return Y, d
}
