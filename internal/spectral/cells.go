package spectral

import (
	"context"
	"math"
	"slices"
	"sync/atomic"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// The kNN graph and the Euclidean MST of large inputs (the kNN affinity)
// are exact, but instead of measuring all n^2 pairs they search a cell
// index: the rows are grouped around about sqrt(n) centres, and a cell whose
// ball (centre, radius) is farther from a row than the best candidates found
// so far is skipped whole. The answers are the same as a brute-force search
// (ties broken by the smaller row index); only the work changes. On
// clustered data most cells of other clusters are never opened; within a
// cluster in 20 dimensions every cell overlaps every row's neighbourhood,
// so the kNN search still measures about the sum of the squared cluster
// sizes (30,000 generated rows x 20 in 7 classes, 1 thread: 5.0 s brute
// force, 1.5 s here). The MST (Boruvka) mostly reads the kNN lists; only
// its last rounds search, with a per-component bound shared between the
// rows (same input: Prim 3.3 s, here 0.5 s).

// cellIndex holds the rows in cell order.
type cellIndex struct {
	n, d  int       // rows, padded row length
	m     int       // cells
	Y     []float64 // rows in cell order, padded: position p holds row perm[p]
	perm  []int32   // position -> row
	start []int     // cell c holds positions start[c]:start[c+1]
	cent  []float64 // centres, m x d
	rad   []float64 // distance (not squared) from a centre to its farthest member, rounded up
	// maxCell is the largest cell's size.
	maxCell int
}

// lbSlack shrinks the distance lower bounds so that rounding in the
// distances (relative errors near 1e-16) can never prune a cell holding a
// candidate: pruning is then exact, only a little less tight.
const lbSlack = 1e-9

func newCellIndex(X linalg.Matrix, threads int) *cellIndex {
	Xp, d := padded(X)
	n := X.Rows
	m := max(1, int(math.Sqrt(float64(n))))
	cent := make([]float64, m*d)
	for c := 0; c < m; c++ {
		r := int(int64(c) * int64(n) / int64(m))
		copy(cent[c*d:(c+1)*d], Xp[r*d:(r+1)*d])
	}
	assign := make([]int32, n)
	cnt := make([]int, m)
	// Evenly spaced rows as centres, then one Lloyd step: compact cells
	// prune better. Everything is per row or reduced in row order, so the
	// index does not depend on the thread count.
	for iter := 0; iter < 2; iter++ {
		par.For(threads, n, 256, func(_, lo, hi int) {
			buf := make([]float64, m)
			for i := lo; i < hi; i++ {
				sqDistMany(Xp[i*d:(i+1)*d], cent, d, m, buf)
				best := 0
				for c := 1; c < m; c++ {
					if buf[c] < buf[best] {
						best = c
					}
				}
				assign[i] = int32(best)
			}
		})
		if iter == 1 {
			break
		}
		sum := make([]float64, m*d)
		clear(cnt)
		for i := 0; i < n; i++ {
			c := int(assign[i])
			cnt[c]++
			axpy(1, Xp[i*d:(i+1)*d], sum[c*d:(c+1)*d])
		}
		for c := 0; c < m; c++ {
			if cnt[c] > 0 {
				for j := 0; j < d; j++ {
					cent[c*d+j] = sum[c*d+j] / float64(cnt[c])
				}
			}
		}
	}
	ix := &cellIndex{n: n, d: d, m: m, cent: cent, Y: make([]float64, n*d), perm: make([]int32, n), start: make([]int, m+1), rad: make([]float64, m)}
	clear(cnt)
	for _, c := range assign {
		cnt[c]++
	}
	for c := 0; c < m; c++ {
		ix.start[c+1] = ix.start[c] + cnt[c]
		ix.maxCell = max(ix.maxCell, cnt[c])
	}
	fill := slices.Clone(ix.start[:m])
	for i, c := range assign {
		p := fill[c]
		fill[c]++
		ix.perm[p] = int32(i)
		copy(ix.Y[p*d:(p+1)*d], Xp[i*d:(i+1)*d])
	}
	for c := 0; c < m; c++ {
		r := 0.0
		for p := ix.start[c]; p < ix.start[c+1]; p++ {
			r = max(r, sqDist(ix.Y[p*d:(p+1)*d], cent[c*d:(c+1)*d]))
		}
		ix.rad[c] = math.Sqrt(r) * (1 + lbSlack)
	}
	return ix
}

// cellScratch is one goroutine's working memory for searches.
type cellScratch struct {
	dc    []float64 // squared distances to the centres, then lower bounds
	order []int32
	dist  []float64 // distances to one cell's members
	hd    []float64 // heap of candidates: distances
	hi    []int32   // and rows
}

func (ix *cellIndex) scratch(k int) *cellScratch {
	return &cellScratch{dc: make([]float64, ix.m), order: make([]int32, 0, ix.m), dist: make([]float64, ix.maxCell), hd: make([]float64, k), hi: make([]int32, k)}
}

// bounds sets s.dc[c] to a lower bound of the squared distance from x to
// every member of cell c.
func (ix *cellIndex) bounds(x []float64, s *cellScratch) {
	sqDistMany(x, ix.cent, ix.d, ix.m, s.dc)
	for c, v := range s.dc {
		lb := math.Sqrt(v)*(1-lbSlack) - ix.rad[c]
		if lb <= 0 {
			s.dc[c] = 0
		} else {
			s.dc[c] = lb * lb
		}
	}
}

// sortCells orders s.order by lower bound, then cell index.
func sortCells(s *cellScratch) {
	slices.SortFunc(s.order, func(a, b int32) int {
		if la, lb := s.dc[a], s.dc[b]; la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
}

// heapPush adds candidate (d, j) to the size-k max-heap (hd, hi) holding h
// entries and returns the new count; when full, it replaces the root if the
// candidate is better in (distance, row) order.
func heapPush(hd []float64, hi []int32, h, k int, d float64, j int32) int {
	if h < k {
		c := h
		h++
		for c > 0 {
			p := (c - 1) / 2
			if !heapLess(hd[p], hi[p], d, j) {
				break
			}
			hd[c], hi[c] = hd[p], hi[p]
			c = p
		}
		hd[c], hi[c] = d, j
		return h
	}
	if !heapLess(d, j, hd[0], hi[0]) {
		return h
	}
	c := 0
	for {
		l := 2*c + 1
		if l >= k {
			break
		}
		if r := l + 1; r < k && heapLess(hd[l], hi[l], hd[r], hi[r]) {
			l = r
		}
		if !heapLess(d, j, hd[l], hi[l]) {
			break
		}
		hd[c], hi[c] = hd[l], hi[l]
		c = l
	}
	hd[c], hi[c] = d, j
	return h
}

// knn returns every row's k nearest other rows (row-major n x k, ascending
// in (squared distance, row) order) and those squared distances.
func (ix *cellIndex) knn(ctx context.Context, k, threads int) ([]int32, []float64) {
	n, d := ix.n, ix.d
	nbr := make([]int32, n*k)
	nd := make([]float64, n*k)
	par.For(threads, n, 256, func(_, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		s := ix.scratch(k)
		idx := make([]int, k)
		for p := lo; p < hi; p++ {
			x := ix.Y[p*d : (p+1)*d]
			self := ix.perm[p]
			ix.bounds(x, s)
			h := 0
			visit := func(c int) {
				a, b := ix.start[c], ix.start[c+1]
				if a == b {
					return
				}
				dist := s.dist[:b-a]
				sqDistMany(x, ix.Y[a*d:b*d], d, b-a, dist)
				for q, dd := range dist {
					if h == k && dd > s.hd[0] {
						continue // the common case, kept out of heapPush
					}
					if j := ix.perm[a+q]; j != self {
						h = heapPush(s.hd, s.hi, h, k, dd, j)
					}
				}
			}
			// The row's own cell first (it usually holds most
			// neighbours), then the cells that can still matter, nearest
			// first.
			own := ix.cellOf(p)
			visit(own)
			s.order = s.order[:0]
			for c := 0; c < ix.m; c++ {
				if c != own && (h < k || s.dc[c] <= s.hd[0]) {
					s.order = append(s.order, int32(c))
				}
			}
			sortCells(s)
			for _, c := range s.order {
				if h == k && s.dc[c] > s.hd[0] {
					break
				}
				visit(int(c))
			}
			// Sort the k found by (distance, row).
			for t := range idx {
				idx[t] = t
			}
			slices.SortFunc(idx, func(a, b int) int {
				if heapLess(s.hd[a], s.hi[a], s.hd[b], s.hi[b]) {
					return -1
				}
				return 1
			})
			i := int(self)
			for t, q := range idx {
				nbr[i*k+t], nd[i*k+t] = s.hi[q], s.hd[q]
			}
		}
	})
	return nbr, nd
}

// cellOf returns the cell of position p.
func (ix *cellIndex) cellOf(p int) int {
	c, _ := slices.BinarySearch(ix.start, p+1)
	return c - 1
}

// mstEdge is a candidate edge, ordered by (w, a, b) with a < b.
type mstEdge struct {
	w    float64
	a, b int32
}

func edgeLess(x, y mstEdge) bool {
	if x.w != y.w {
		return x.w < y.w
	}
	if x.a != y.a {
		return x.a < y.a
	}
	return x.b < y.b
}

func newEdge(w float64, i, j int32) mstEdge {
	if i > j {
		i, j = j, i
	}
	return mstEdge{w, i, j}
}

// mst returns a Euclidean minimum spanning tree of the rows (Boruvka's
// algorithm) as edges (u[e], v[e]) with exact squared lengths w[e]. nbr and
// nd are knn's answer for some k: a row whose list holds a row of another
// component has found its nearest such row without a search, and a row
// whose k-th neighbour is farther than its component's best edge so far
// needs no search at all. The tree's longest edge is that of every MST.
func (ix *cellIndex) mst(ctx context.Context, X linalg.Matrix, nbr []int32, nd []float64, k, threads int) (u, v []int, w []float64, err error) {
	n, d := ix.n, ix.d
	if n < 2 {
		return nil, nil, nil, nil
	}
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	lab := make([]int32, n)
	cellComp := make([]int32, ix.m)
	cand := make([]mstEdge, n)
	best := make([]mstEdge, n) // per component root
	shared := make([]atomic.Uint64, n)
	inf := mstEdge{w: math.Inf(1), a: -1, b: -1}
	for len(u) < n-1 {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		for i := range lab {
			lab[i] = find(int32(i))
		}
		for c := 0; c < ix.m; c++ {
			cellComp[c] = -1
			a, b := ix.start[c], ix.start[c+1]
			if a == b {
				continue
			}
			l := lab[ix.perm[a]]
			for p := a + 1; p < b && l >= 0; p++ {
				if lab[ix.perm[p]] != l {
					l = -1
				}
			}
			cellComp[c] = l
		}
		// Rows whose neighbour list reaches another component.
		for i := 0; i < n; i++ {
			cand[i] = inf
			for t := 0; t < k; t++ {
				if j := nbr[i*k+t]; lab[j] != lab[i] {
					cand[i] = newEdge(nd[i*k+t], int32(i), j)
					break
				}
			}
		}
		for i := range best {
			best[i] = inf
		}
		for i := 0; i < n; i++ {
			if l := lab[i]; edgeLess(cand[i], best[l]) {
				best[l] = cand[i]
			}
		}
		// The others search the cells, bounded by their component's best
		// edge so far. That bound is shared and lowered as rows find
		// edges: it is always the length of a real edge leaving the
		// component, and only candidates strictly longer are pruned, so
		// the component's shortest edge (in (w, a, b) order) is found
		// whatever the timing; only the work done varies.
		for i := range shared {
			shared[i].Store(math.Float64bits(best[i].w))
		}
		par.For(threads, n, 256, func(_, lo, hi int) {
			var s *cellScratch
			for p := lo; p < hi; p++ {
				i := ix.perm[p]
				l := lab[i]
				if cand[i].a >= 0 {
					continue
				}
				bw := math.Float64frombits(shared[l].Load())
				if k > 0 && nd[int(i)*k+k-1] > bw {
					continue
				}
				if s == nil {
					s = ix.scratch(1)
				}
				x := ix.Y[p*d : (p+1)*d]
				ix.bounds(x, s)
				s.order = s.order[:0]
				for c := 0; c < ix.m; c++ {
					if cellComp[c] != l && s.dc[c] <= bw {
						s.order = append(s.order, int32(c))
					}
				}
				sortCells(s)
				found := inf
				for _, c := range s.order {
					bw = min(bw, math.Float64frombits(shared[l].Load()))
					if s.dc[c] > bw {
						break
					}
					a, b := ix.start[c], ix.start[c+1]
					dist := s.dist[:b-a]
					sqDistMany(x, ix.Y[a*d:b*d], d, b-a, dist)
					for q, dd := range dist {
						j := ix.perm[a+q]
						if dd > bw || lab[j] == l {
							continue
						}
						if e := newEdge(dd, i, j); found.a < 0 || edgeLess(e, found) {
							found, bw = e, dd
						}
					}
				}
				cand[i] = found
				if found.a >= 0 {
					for {
						old := shared[l].Load()
						if math.Float64frombits(old) <= found.w || shared[l].CompareAndSwap(old, math.Float64bits(found.w)) {
							break
						}
					}
				}
			}
		})
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		for i := range best {
			best[i] = inf
		}
		for i := 0; i < n; i++ {
			if l := lab[i]; edgeLess(cand[i], best[l]) {
				best[l] = cand[i]
			}
		}
		added := 0
		for r := 0; r < n; r++ {
			e := best[r]
			if lab[r] != int32(r) || e.a < 0 {
				continue
			}
			ra, rb := find(e.a), find(e.b)
			if ra == rb {
				continue // the other component picked the same edge
			}
			parent[max(ra, rb)] = min(ra, rb)
			u = append(u, int(e.a))
			v = append(v, int(e.b))
			w = append(w, sqDist(X.Row(int(e.a)), X.Row(int(e.b))))
			added++
		}
		if added == 0 { // cannot happen: every component has an outgoing edge
			break
		}
	}
	return u, v, w, nil
}
