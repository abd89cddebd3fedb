package cluster

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// breathe improves a converged solution with breathing k-means (Fritzke 2020,
// "Breathing K-Means", arXiv 2006.15666): alternately add m centroids next to
// the centroids with the largest error ("breathe in") and run Lloyd with
// k+m, then remove the m centroids whose removal costs least ("breathe out")
// and run Lloyd with k. A round that does not lower the inertia by the
// relative factor tolRel decreases m; the loop ends at m = 0.
//
// Plain restarts only sample local optima; these moves carry a centroid from
// where it is redundant to where it is missing, which a Lloyd step never
// does. On letter (k = 26) n_init 10 + breathing beats the best of 100 plain
// restarts, at a fraction of their cost (see TestKMeansLetterQuality).
//
// Only free centroids (the first nFree of start.centers) are added or removed;
// fixed ones take part in the assignment as they do in fit.
func (p *problem) breathe(ctx context.Context, start *runOut, nFree, depth, maxIter int, tolAbs, tolRel float64, algo string, rng *rand.Rand, threads int) (*runOut, int, error) {
	best := start
	cur := start
	m := min(depth, nFree)
	rounds := 0
	for m > 0 {
		rounds++
		in := p.breatheIn(cur, nFree, m, rng, threads)
		grown, err := p.fit(ctx, in, nFree+m, maxIter, tolAbs, algo, threads)
		if err != nil {
			return nil, rounds, err
		}
		out := p.breatheOut(grown, nFree+m, m, threads)
		cur, err = p.fit(ctx, out, nFree, maxIter, tolAbs, algo, threads)
		if err != nil {
			return nil, rounds, err
		}
		if cur.inertia < best.inertia*(1-tolRel) {
			best = cur
		} else {
			m--
		}
	}
	return best, rounds, nil
}

// breatheIn returns s.centers with m new free centroids inserted after the
// nFree free ones: each a small random offset (1% of the root-mean-square
// error per feature) from one of the m free centroids with the largest
// summed squared error.
func (p *problem) breatheIn(s *runOut, nFree, m int, rng *rand.Rand, threads int) linalg.Matrix {
	d, k := p.d, s.centers.Rows
	err := p.clusterErrors(s, threads)
	total := 0.0
	for _, e := range err {
		total += e
	}
	idx := make([]int, nFree)
	for j := range idx {
		idx[j] = j
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(err[b], err[a]) })
	scale := 0.01 * math.Sqrt(total/float64(p.n))
	out := linalg.New(k+m, d)
	copy(out.Data, s.centers.Data[:nFree*d])
	for t := 0; t < m; t++ {
		src := s.centers.Row(idx[t])
		dst := out.Row(nFree + t)
		for f := range dst {
			dst[f] = src[f] + scale*(rng.Float64()-0.5)
		}
	}
	copy(out.Data[(nFree+m)*d:], s.centers.Data[nFree*d:])
	return out
}

// clusterErrors is the summed squared distance of each centroid's rows,
// reduced per chunk in chunk order.
func (p *problem) clusterErrors(s *runOut, threads int) []float64 {
	k := s.centers.Rows
	part := make([]float64, p.nChunks*k)
	par.For(threads, p.n, p.chunk, func(c, lo, hi int) {
		pc := part[c*k : (c+1)*k]
		for i := lo; i < hi; i++ {
			l := s.labels[i]
			pc[l] += sqDist(p.X.Row(i), s.centers.Row(l))
		}
	})
	err := make([]float64, k)
	for c := 0; c < p.nChunks; c++ {
		for j, v := range part[c*k : (c+1)*k] {
			err[j] += v
		}
	}
	return err
}

// breatheOut removes m of the nFree free centroids of s: those with the
// lowest utility (how much the error would grow without them: for each of
// their rows, squared distance to the second-nearest centroid minus to the
// nearest), skipping the nearest free neighbour of every centroid already
// removed, so that no two neighbouring centroids go in the same round.
func (p *problem) breatheOut(s *runOut, nFree, m int, threads int) linalg.Matrix {
	d, k := p.d, s.centers.Rows
	util := p.utilities(s.centers, threads)
	idx := make([]int, nFree)
	for j := range idx {
		idx[j] = j
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(util[a], util[b]) })
	nn := make([]int, nFree)
	for j := range nn {
		nn[j] = -1
		bv := math.Inf(1)
		for j2 := 0; j2 < nFree; j2++ {
			if j2 != j {
				if v := sqDist(s.centers.Row(j), s.centers.Row(j2)); v < bv {
					nn[j], bv = j2, v
				}
			}
		}
	}
	removed := make([]bool, nFree)
	frozen := make([]bool, nFree)
	nRemoved, nFrozen := 0, 0
	for _, j := range idx {
		if frozen[j] {
			continue
		}
		removed[j] = true
		nRemoved++
		if nFrozen+m < nFree && nn[j] >= 0 && !frozen[nn[j]] {
			frozen[nn[j]] = true
			nFrozen++
		}
		if nRemoved == m {
			break
		}
	}
	out := linalg.New(k-m, d)
	r := 0
	for j := 0; j < k; j++ {
		if j < nFree && removed[j] {
			continue
		}
		copy(out.Row(r), s.centers.Row(j))
		r++
	}
	return out
}

// utilities returns, for each centroid, the sum over the rows nearest to it
// of (squared distance to the second-nearest centroid - to the nearest).
func (p *problem) utilities(C linalg.Matrix, threads int) []float64 {
	k := C.Rows
	part := make([]float64, p.nChunks*k)
	par.For(threads, p.n, p.chunk, func(c, lo, hi int) {
		pc := part[c*k : (c+1)*k]
		dist := make([]float64, k)
		for i := lo; i < hi; i++ {
			sqDists(p.X.Row(i), C, dist)
			b1, v1, v2 := 0, dist[0], math.Inf(1)
			for j := 1; j < k; j++ {
				if v := dist[j]; v < v1 {
					b1, v1, v2 = j, v, v1
				} else if v < v2 {
					v2 = v
				}
			}
			if k > 1 {
				pc[b1] += v2 - v1
			}
		}
	})
	util := make([]float64, k)
	for c := 0; c < p.nChunks; c++ {
		for j, v := range part[c*k : (c+1)*k] {
			util[j] += v
		}
	}
	return util
}
