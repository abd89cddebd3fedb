package cluster

import (
	"math"

	"github.com/ncd-project/ncd/internal/par"
)

// elkan holds the bounds of Elkan's accelerated k-means (Elkan 2003, "Using
// the triangle inequality to accelerate k-means"): per row an upper bound u
// on the distance to its centroid and one lower bound per centroid. A
// distance is computed only when the bounds and the centroid-centroid
// distances cannot rule the centroid out. It prunes far more than Hamerly's
// single lower bound when k is large, at the cost of n x k bounds.
type elkan struct {
	u       []float64
	l       []float64 // n x k
	p       []float64 // how far each centroid moved in the last M-step
	half    []float64 // k x k: half the centroid-centroid distances
	s       []float64 // half the distance from each centroid to its nearest other one
	started bool
	pending bool
}

func newElkan(n, k int) *elkan {
	return &elkan{u: make([]float64, n), l: make([]float64, n*k), p: make([]float64, k), half: make([]float64, k*k), s: make([]float64, k)}
}

// elkanEStep is the Elkan counterpart of lloydEStep(true).
func (r *run) elkanEStep() bool {
	e, p, k, d := r.elk, r.p, r.k, r.p.d
	for j := 0; j < k; j++ {
		m := math.Inf(1)
		for j2 := 0; j2 < k; j2++ {
			if j2 == j {
				e.half[j*k+j] = 0
				continue
			}
			h := math.Sqrt(sqDist(r.centers.Row(j), r.centers.Row(j2))) / 2
			e.half[j*k+j2] = h
			m = min(m, h)
		}
		e.s[j] = m
	}
	started, pending := e.started, e.pending
	par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
		sums := r.sums[c*k*d : (c+1)*k*d]
		counts := r.counts[c*k : (c+1)*k]
		if !started {
			clear(sums)
			clear(counts)
		}
		changed := false
		for i := lo; i < hi; i++ {
			x := p.X.Data[i*d : (i+1)*d]
			a := r.labels[i]
			l := e.l[i*k : (i+1)*k]
			var best int
			if !started {
				sqDists(x, r.centers, l)
				best = 0
				for j := range l {
					l[j] = math.Sqrt(l[j])
					if l[j] < l[best] {
						best = j
					}
				}
				e.u[i] = l[best]
			} else {
				u := e.u[i]
				if pending {
					u += e.p[a]
					for j, pj := range e.p {
						l[j] = max(0, l[j]-pj)
					}
				}
				best = a
				if u > e.s[a] {
					stale := true
					half := e.half[a*k : (a+1)*k]
					for j := 0; j < k; j++ {
						if j == best || u <= l[j] || u <= half[j] {
							continue
						}
						if stale {
							u = math.Sqrt(sqDist(x, r.centers.Data[best*d:(best+1)*d]))
							l[best] = u
							stale = false
							if u <= l[j] || u <= half[j] {
								continue
							}
						}
						dj := math.Sqrt(sqDist(x, r.centers.Data[j*d:(j+1)*d]))
						l[j] = dj
						if dj < u {
							best, u = j, dj
							half = e.half[best*k : (best+1)*k]
						}
					}
				}
				e.u[i] = u
			}
			if best == a {
				continue
			}
			changed = true
			r.moveRow(c, i, a, best)
		}
		r.changed[c] = changed
	})
	e.started = true
	e.pending = false
	return anyTrue(r.changed)
}
