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
	u, l []float64
	p    []float64     // how far each centroid moved in the last M-step
	dl   []float64     // how far the lower bound of a row of each centroid drops
	s    []float64     // half the distance from each centroid to its nearest other one
	pad  linalg.Matrix // centroids padded for nearest2
	// per-row scratch of the E-step's passes
	rows, cents []int32
	lim, dist   []float64
	res         []float64 // 3 per row: nearest2Rows output
	cidx        []int32   // 0..k-1
	cres        []float64
	started     bool
	pending     bool // p holds a movement not yet applied to the bounds
}

// reset readies h for a fit of n rows and k centroids, reusing its buffers.
func (h *hamerly) reset(n, k int) *hamerly {
	*h = hamerly{
		u: grow(h.u, n), l: grow(h.l, n), p: grow(h.p, k), dl: grow(h.dl, k), s: grow(h.s, k),
		rows: grow(h.rows, n), cents: grow(h.cents, n), lim: grow(h.lim, n), dist: grow(h.dist, n),
		res: grow(h.res, 3*n), cidx: h.cidx, cres: h.cres,
		pad: h.pad,
	}
	return h
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
	if h.pending {
		p1, p2, arg := 0.0, 0.0, -1
		for j, v := range h.p {
			if v > p1 {
				p1, p2, arg = v, p1, j
			} else if v > p2 {
				p2 = v
			}
		}
		for j := range h.dl {
			h.dl[j] = p1
		}
		if arg >= 0 {
			h.dl[arg] = p2
		}
	}
	started, pending := h.started, h.pending
	h.pad = padCentroids(h.pad.Data, r.centers)
	// Centroid j is at distance 0 from itself: the second-smallest distance
	// is the one to its nearest other centroid.
	h.cidx = grow(h.cidx, k)
	for j := range h.cidx {
		h.cidx[j] = int32(j)
	}
	h.cres = grow(h.cres, 3*k)
	nearest2Rows(r.centers, h.cidx, h.pad, k, h.cres)
	for j := 0; j < k; j++ {
		h.s[j] = h.cres[3*j+2] / 2
	}
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
		changed := false
		// Three passes, each a tight loop: the bound test of every row, the
		// exact distance to their own centroid for the rows it fails (four
		// at a time in the assembly kernel), all distances for the rows whose
		// tightened bound still fails. Lists are kept in rows lo..hi of the
		// run's scratch, in row order, so sums change in row order.
		rows, cents, lim, dist := h.rows[lo:hi], h.cents[lo:hi], h.lim[lo:hi], h.dist[lo:hi]
		nf := 0
		if started {
			nt := 0
			labels, hu, hl := r.labels[lo:hi], h.u[lo:hi], h.l[lo:hi]
			hp, hdl, hs := h.p[:k], h.dl[:k], h.s[:k]
			for q, a := range labels {
				u, l := hu[q], hl[q]
				if pending {
					u += hp[a]
					l -= hdl[a]
					hu[q], hl[q] = u, l
				}
				m := max(hs[a], l)
				// Branch-free append: a third of the rows fail at random.
				rows[nt], cents[nt], lim[nt] = int32(lo+q), int32(a), m
				if u > m {
					nt++
				}
			}
			sqrtDistPairs(p.X, r.centers, rows[:nt], cents[:nt], dist[:nt])
			for q, u := range dist[:nt] {
				i := rows[q]
				h.u[i] = u
				rows[nf] = i
				if u > lim[q] {
					nf++
				}
			}
		} else {
			for i := lo; i < hi; i++ {
				rows[nf] = int32(i)
				nf++
			}
		}
		res := h.res[3*lo : 3*hi]
		nearest2Rows(p.X, rows[:nf], h.pad, k, res)
		for q, i32 := range rows[:nf] {
			i := int(i32)
			best := int(res[3*q])
			h.u[i], h.l[i] = res[3*q+1], res[3*q+2]
			a := r.labels[i]
			if best == a {
				continue
			}
			x := p.X.Data[i*d : (i+1)*d]
			changed = true
			r.labels[i] = best
			if a >= 0 {
				counts[a]--
				r.dirty[c*k+a] = true
				subFrom(sums[a*d:(a+1)*d], x)
			}
			counts[best]++
			r.dirty[c*k+best] = true
			addTo(sums[best*d:(best+1)*d], x)
		}
		r.changed[c] = changed
	})
	h.started = true
	h.pending = false
	return anyTrue(r.changed)
}

func (r *run) hamerlyFromSeeds(s *seeder) bool {
	h, p, k, d := r.ham, r.p, r.k, r.p.d
	copy(r.labels, s.lab)
	par.For(r.threads, p.n, p.chunk, func(c, lo, hi int) {
		sums := r.sums[c*k*d : (c+1)*k*d]
		counts := r.counts[c*k : (c+1)*k]
		clear(sums)
		clear(counts)
		for i := lo; i < hi; i++ {
			a := s.lab[i]
			h.u[i] = math.Sqrt(s.closest[i])
			h.l[i] = math.Sqrt(s.second[i])
			counts[a]++
			addTo(sums[a*d:(a+1)*d], p.X.Data[i*d:(i+1)*d])
		}
		r.changed[c] = true
	})
	h.started = true
	h.pending = false
	return true
}

func subFrom(dst, x []float64) {
	dst = dst[:len(x)]
	for j, v := range x {
		dst[j] -= v
	}
}
