package cluster

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// hamerly holds the bounds of Hamerly's accelerated k-means (Hamerly 2010,
// "Making k-means even faster"), with one refinement: besides the upper
// bound u on the distance to its centroid a, each row remembers its
// second-nearest centroid b with a lower bound lb on the distance to it, and
// a lower bound l3 on the distance to every other centroid. A row whose u is
// below max(min(lb, l3), half the gap from a to its nearest other centroid)
// cannot change cluster, so its distances are skipped. The result is the
// same partition Lloyd computes (up to floating-point ties).
//
// After each M-step u grows by a's move, lb shrinks by b's and l3 by the
// largest move of any centroid but a. Classic Hamerly keeps one lower bound,
// which shrinks by that largest move every iteration; but the rows that
// fail are mostly near the boundary between a and b, where b's own move is
// what matters and the third centroid is much farther. Their failures are
// then settled by two distances (to a and to b, which may swap them) instead
// of k: on letter's novel rows (k = 5..30) 40-50% fewer rows need all k.
type hamerly struct {
	u, lb, l3 []float64
	b         []int32   // a second-nearest centroid of each row
	p         []float64 // how far each centroid moved in the last M-step
	dl        []float64 // how far l3 drops for a row of each centroid
	s         []float64 // half the distance from each centroid to its nearest other one
	pad       linalg.Matrix
	cst       []float64 // nearest3Consts
	tab       []float64 // per centroid {p, dl, s, 0} for hamBound3
	tabv      []float64 // p, dl, s (32 entries each) for hamBound8
	xt        []float64 // per chunk: 8 rows transposed for nearest3RowsT
	// per-row scratch of the E-step's passes
	rows, cents []int32
	lim, dist   []float64
	res         []float64 // 5 per row: nearest3Rows output
	cidx        []int32   // 0..k-1
	cres        []float64
	started     bool
	pending     bool // p holds a movement not yet applied to the bounds
}

// reset readies h for a fit of n rows and k centroids, reusing its buffers.
func (h *hamerly) reset(n, k int) *hamerly {
	*h = hamerly{
		u: grow(h.u, n), lb: grow(h.lb, n), l3: grow(h.l3, n), b: grow(h.b, n),
		p: grow(h.p, k), dl: grow(h.dl, k), s: grow(h.s, k),
		rows: grow(h.rows, n), cents: grow(h.cents, n), lim: grow(h.lim, n), dist: grow(h.dist, n),
		res: grow(h.res, 5*n), cidx: h.cidx, cres: h.cres, cst: h.cst, tab: h.tab, tabv: h.tabv, xt: h.xt,
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
	h.cst = nearest3Consts(h.cst, h.pad.Rows)
	// With AVX-512 and 16 columns the full searches take eight rows at a
	// time (nearest3RowsT), writing a blocked layout: each chunk gets its
	// own region of res, rounded up to whole blocks.
	t16 := useAVX512
	if t16 {
		h.res = grow(h.res, 5*p.n+40*p.nChunks)
		if d != 16 {
			h.xt = grow(h.xt, t3Scratch(d)*p.nChunks)
		}
	}
	// Centroid j is at distance 0 from itself: the second-smallest distance
	// is the one to its nearest other centroid.
	h.cidx = grow(h.cidx, k)
	for j := range h.cidx {
		h.cidx[j] = int32(j)
	}
	h.cres = grow(h.cres, 3*k)
	nearest2Rows(r.centers, h.cidx, h.pad, k, h.cres)
	h.tab = grow(h.tab, 4*k)
	for j := 0; j < k; j++ {
		h.s[j] = h.cres[3*j+2] / 2
		h.tab[4*j], h.tab[4*j+1], h.tab[4*j+2], h.tab[4*j+3] = h.p[j], h.dl[j], h.s[j], 0
	}
	// hamBound8 looks p, dl and s up in registers: 32 entries each.
	tv := useAVX512 && k <= 32
	if tv {
		h.tabv = grow(h.tabv, 96)
		clear(h.tabv)
		copy(h.tabv[0:32], h.p[:k])
		copy(h.tabv[32:64], h.dl[:k])
		copy(h.tabv[64:96], h.s[:k])
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
		move := func(i, from, to int) {
			changed = true
			r.moveRow(c, i, from, to)
		}
		// Passes, each a tight loop: the bound test of every row; the exact
		// distance to a for the rows that fail it; the exact distance to b
		// for those still failing (a and b swap if b is nearer); all k
		// distances for the rest. The assembly kernels take the pairs four at
		// a time and the full rows in one call. Lists are kept in rows lo..hi
		// of the run's scratch, in row order, so sums change in row order.
		rows, cents, lim, dist := h.rows[lo:hi], h.cents[lo:hi], h.lim[lo:hi], h.dist[lo:hi]
		nf := 0
		if started {
			nt := 0
			if useAVX2 { // (hamBound3 needs only SSE2; one switch keeps both paths tested)
				pend := 0
				if pending {
					pend = 1
				}
				i := lo
				if tv {
					// Whole blocks of 8 rows with AVX-512, the rest below.
					i = lo + (hi-lo)&^7
					nt = hamBound8(&r.labels[0], &h.b[0], &h.u[0], &h.lb[0], &h.l3[0], &h.tabv[0], lo, i, pend, &rows[0], &cents[0], &lim[0])
				}
				if i < hi {
					nt += hamBound3(&r.labels[0], &h.b[0], &h.u[0], &h.lb[0], &h.l3[0], &h.tab[0], i, hi, pend, &rows[nt], &cents[nt], &lim[nt])
				}
			} else {
				labels, hu, hlb, hl3, hb := r.labels[lo:hi], h.u[lo:hi], h.lb[lo:hi], h.l3[lo:hi], h.b[lo:hi]
				hp, hdl, hs := h.p[:k], h.dl[:k], h.s[:k]
				for q, a := range labels {
					u, lb, l3 := hu[q], hlb[q], hl3[q]
					if pending {
						u += hp[a]
						lb -= hp[hb[q]]
						l3 -= hdl[a]
						hu[q], hlb[q], hl3[q] = u, lb, l3
					}
					m := max(hs[a], min(lb, l3))
					// Branch-free append: a third of the rows fail at random.
					rows[nt], cents[nt], lim[nt] = int32(lo+q), int32(a), m
					if u > m {
						nt++
					}
				}
			}
			// The state's slices in locals: stores through them would
			// otherwise make the compiler reload h's fields every row.
			labels, hu, hlb, hl3, hb, hs := r.labels, h.u, h.lb, h.l3, h.b, h.s[:k]
			sqrtDistPairs(p.X, r.centers, rows[:nt], cents[:nt], dist[:nt])
			n2 := 0
			for q, u := range dist[:nt] {
				i, m := rows[q], lim[q]
				hu[i] = u
				rows[n2], cents[n2], lim[n2] = i, hb[i], u
				if u > m {
					n2++
				}
			}
			// lim now holds the distance to a, cents b.
			sqrtDistPairs(p.X, r.centers, rows[:n2], cents[:n2], dist[:n2])
			for q, db := range dist[:n2] {
				i := int(rows[q])
				a, b, da := labels[i], int(cents[q]), lim[q]
				if db < da || (db == da && b < a) {
					// b is nearer: nearest among a, b unless l3 says
					// another may be nearer still, which the test below
					// catches.
					hb[i] = int32(a)
					move(i, a, b)
					a, da, db = b, db, da
				}
				hu[i], hlb[i] = da, db
				rows[nf] = int32(i)
				if da > max(hs[a], min(db, hl3[i])) {
					nf++
				}
			}
		} else {
			for i := lo; i < hi; i++ {
				rows[nf] = int32(i)
				nf++
			}
		}
		labels, hu, hlb, hl3, hb := r.labels, h.u, h.lb, h.l3, h.b
		if t16 {
			// Blocks of 8 rows: indices, second indices, three distances.
			res := h.res[5*lo+40*c : 5*hi+40*(c+1)]
			var xt []float64
			if d != 16 {
				xt = h.xt[t3Scratch(d)*c : t3Scratch(d)*(c+1)]
			}
			nearest3RowsT(p.X, rows[:nf], r.centers, k, res, xt)
			for b := 0; b < nf; b += 8 {
				o := (*[40]float64)(res[5*b : 5*b+40])
				for q, i32 := range rows[b:min(b+8, nf)] {
					i := int(i32)
					best := int(o[q])
					hb[i] = int32(o[8+q])
					hu[i], hlb[i], hl3[i] = o[16+q], o[24+q], o[32+q]
					if a := labels[i]; best != a {
						move(i, a, best)
					}
				}
			}
		} else {
			res := h.res[5*lo : 5*hi]
			nearest3Rows(p.X, rows[:nf], h.pad, k, h.cst, res)
			for q, i32 := range rows[:nf] {
				i := int(i32)
				o := res[5*q : 5*q+5]
				best := int(o[0])
				hb[i] = int32(o[1])
				hu[i], hlb[i], hl3[i] = o[2], o[3], o[4]
				if a := labels[i]; best != a {
					move(i, a, best)
				}
			}
		}
		r.changed[c] = changed
	})
	h.started = true
	h.pending = false
	return anyTrue(r.changed)
}

// hamerlyFromSeeds is the first Hamerly E-step when the seeding already
// knows every row's three nearest seeds (seeder.state): labels and bounds
// are copied, the sums built from scratch.
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
			h.b[i] = int32(s.lab2[i])
			h.lb[i] = math.Sqrt(s.second[i])
			h.l3[i] = math.Sqrt(s.third[i])
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
	if len(x) == 16 {
		d, v := (*[16]float64)(dst[:16]), (*[16]float64)(x)
		d[0], d[1], d[2], d[3] = d[0]-v[0], d[1]-v[1], d[2]-v[2], d[3]-v[3]
		d[4], d[5], d[6], d[7] = d[4]-v[4], d[5]-v[5], d[6]-v[6], d[7]-v[7]
		d[8], d[9], d[10], d[11] = d[8]-v[8], d[9]-v[9], d[10]-v[10], d[11]-v[11]
		d[12], d[13], d[14], d[15] = d[12]-v[12], d[13]-v[13], d[14]-v[14], d[15]-v[15]
		return
	}
	dst = dst[:len(x)]
	for j, v := range x {
		dst[j] -= v
	}
}
