package cluster

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// hamerly holds the bounds of Hamerly's accelerated k-means (Hamerly 2010,
// "Making k-means even faster"): per row an upper bound u on the distance to
// its centroid and a lower bound l on the distance to any other centroid.
// A row whose u is below max(l, half the gap from its centroid to the nearest
// other one) cannot change cluster, so its k distances are skipped. The
// result is the same partition Lloyd computes (up to floating-point ties).
type hamerly struct {
	u, l    []float64
	p       []float64 // how far each centroid moved in the last M-step
	s       []float64 // half the distance from each centroid to its nearest other one
	started bool
	pending bool // p holds a movement not yet applied to the bounds
}

func newHamerly(n, k int) *hamerly {
	return &hamerly{u: make([]float64, n), l: make([]float64, n), p: make([]float64, k), s: make([]float64, k)}
}

// centroidMoves writes into p how far each centroid moved from old to next.
func centroidMoves(p []float64, old, next linalg.Matrix) {
	for j := range p {
		p[j] = math.Sqrt(sqDist(old.Row(j), next.Row(j)))
	}
}

// hamerlyEStep is the Hamerly counterpart of lloydEStep(true).
func (r *run) hamerlyEStep() bool {
	h, p, k, d := r.ham, r.p, r.k, r.p.d
	// Bound corrections: u grows by its centroid's move, l shrinks by the
	// largest move of any other centroid.
	p1, p2, arg := 0.0, 0.0, -1
	if h.pending {
		for j, v := range h.p {
			if v > p1 {
				p1, p2, arg = v, p1, j
			} else if v > p2 {
				p2 = v
			}
		}
	}
	for j := 0; j < k; j++ {
		m := math.Inf(1)
		cj := r.centers.Row(j)
		for j2 := 0; j2 < k; j2++ {
			if j2 != j {
				m = min(m, sqDist(cj, r.centers.Row(j2)))
			}
		}
		h.s[j] = math.Sqrt(m) / 2
	}
	started, pending := h.started, h.pending
	par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
		// Per-chunk sums persist across iterations and are only corrected for
		// rows that change cluster: most rows do not, and re-adding them all
		// would cost as much as the distances Hamerly saves.
		sums := r.sums[c*k*d : (c+1)*k*d]
		counts := r.counts[c*k : (c+1)*k]
		if !started {
			clear(sums)
			clear(counts)
		}
		dist := make([]float64, k)
		changed := false
		for i := lo; i < hi; i++ {
			x := p.X.Data[i*d : (i+1)*d]
			a := r.labels[i]
			if started {
				if pending {
					h.u[i] += h.p[a]
					if a == arg {
						h.l[i] -= p2
					} else {
						h.l[i] -= p1
					}
				}
				m := max(h.s[a], h.l[i])
				if h.u[i] <= m {
					continue
				}
				h.u[i] = math.Sqrt(sqDist(x, r.centers.Data[a*d:(a+1)*d]))
				if h.u[i] <= m {
					continue
				}
			}
			sqDists(x, r.centers, dist)
			best, bv, second := 0, dist[0], math.Inf(1)
			for j := 1; j < k; j++ {
				v := dist[j]
				if v < bv {
					best, bv, second = j, v, bv
				} else if v < second {
					second = v
				}
			}
			h.u[i] = math.Sqrt(bv)
			h.l[i] = math.Sqrt(second)
			if best == a {
				continue
			}
			changed = true
			r.labels[i] = best
			if a >= 0 {
				counts[a]--
				subFrom(sums[a*d:(a+1)*d], x)
			}
			counts[best]++
			addTo(sums[best*d:(best+1)*d], x)
		}
		r.changed[c] = changed
	})
	h.started = true
	h.pending = false
	return anyTrue(r.changed)
}

func subFrom(dst, x []float64) {
	dst = dst[:len(x)]
	for j, v := range x {
		dst[j] -= v
	}
}
