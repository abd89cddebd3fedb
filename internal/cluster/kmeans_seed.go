package cluster

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// kmeansPP draws k initial centroids from the rows of p.X with k-means++:
// each new centroid is a row drawn with probability proportional to its
// squared distance to the nearest centroid already placed. As scikit-learn's
// greedy variant, trials candidates are drawn per centroid and the one that
// lowers the potential (sum of those squared distances) most is kept.
//
// With fixed centroids (NCD k-means' known-class means) the distances start
// from them, so even the first new centroid is drawn away from the known
// classes; without, the first centroid is a uniformly drawn row.
//
// plain weighs rows by the distance instead of its square (and measures the
// potential the same way), as the NCD k-means reference code does.
func kmeansPP(p *problem, k, trials int, fixed *linalg.Matrix, rng *rand.Rand, threads int, plain bool) linalg.Matrix {
	w := func(sq float64) float64 { return sq }
	if plain {
		w = math.Sqrt
	}
	n := p.n
	X := p.X
	centers := linalg.New(k, p.d)
	closest := make([]float64, n)
	start := 0
	if fixed != nil && fixed.Rows > 0 {
		par.For(threads, n, p.chunk, func(_, lo, hi int) {
			dist := make([]float64, fixed.Rows)
			for i := lo; i < hi; i++ {
				sqDists(X.Row(i), *fixed, dist)
				closest[i] = slices.Min(dist)
			}
		})
	} else {
		c0 := X.Row(rng.IntN(n))
		copy(centers.Row(0), c0)
		par.For(threads, n, p.chunk, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				closest[i] = sqDist(X.Row(i), c0)
			}
		})
		start = 1
	}
	cum := make([]float64, n)
	cand := make([]int, trials)
	candRows := linalg.New(trials, p.d)
	candDist := make([]float64, trials*n)
	part := make([]float64, p.nChunks*trials)
	pots := make([]float64, trials)
	for c := start; c < k; c++ {
		s := 0.0
		for i, v := range closest {
			s += w(v)
			cum[i] = s
		}
		for t := range cand {
			// First row whose cumulative weight reaches the draw (numpy's
			// searchsorted, side left), clipped for rounding at the top end.
			r := rng.Float64() * s
			idx := sort.SearchFloat64s(cum, r)
			cand[t] = min(idx, n-1)
		}
		for t, idx := range cand {
			copy(candRows.Row(t), X.Row(idx))
		}
		par.For(threads, n, p.chunk, func(ch, lo, hi int) {
			pt := part[ch*trials : (ch+1)*trials]
			clear(pt)
			dist := make([]float64, trials)
			for i := lo; i < hi; i++ {
				sqDists(X.Row(i), candRows, dist)
				ci := closest[i]
				for t, v := range dist {
					v = min(ci, v)
					candDist[t*n+i] = v
					pt[t] += w(v)
				}
			}
		})
		clear(pots)
		for ch := 0; ch < p.nChunks; ch++ {
			for t, v := range part[ch*trials : (ch+1)*trials] {
				pots[t] += v
			}
		}
		best := 0
		for t := 1; t < trials; t++ {
			if pots[t] < pots[best] {
				best = t
			}
		}
		copy(closest, candDist[best*n:(best+1)*n])
		copy(centers.Row(c), X.Row(cand[best]))
	}
	return centers
}
