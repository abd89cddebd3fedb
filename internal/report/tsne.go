package report

import (
	"context"
	"math"
	"sort"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// TSNEOptions set Barnes-Hut t-SNE. Zero values take the defaults.
type TSNEOptions struct {
	Perplexity float64 // default 30
	Theta      float64 // Barnes-Hut opening angle, default 0.5
	// EarlyIters run with the attractive forces multiplied by Exaggeration
	// (default 250 at 12), then Iters more (default 500) without.
	EarlyIters, Iters int
	Exaggeration      float64
	Threads           int
	// Progress, when set, is called after every iteration with the number
	// done and the total.
	Progress func(done, total int)
}

func (o *TSNEOptions) defaults() {
	if o.Perplexity == 0 {
		o.Perplexity = 30
	}
	if o.Theta == 0 {
		o.Theta = 0.5
	}
	if o.EarlyIters == 0 {
		o.EarlyIters = 250
	}
	if o.Iters == 0 {
		o.Iters = 500
	}
	if o.Exaggeration == 0 {
		o.Exaggeration = 12
	}
}

// TSNE maps the rows of X to 2-D with Barnes-Hut t-SNE (van der Maaten,
// JMLR 2014): input affinities from each row's 3 x perplexity exact
// nearest neighbours (binary search on the Gaussian bandwidth),
// symmetrized; the PCA of X scaled to SD 1e-4 as the start (no random
// start, so the map depends on the rows only); learning rate max(n/12, 50)
// (Belkina et al. 2019, as openTSNE's "auto"), momentum .5 then .8,
// gains as scikit-learn's.
//
// It is deterministic for any Threads: the quadtree is built serially and
// the forces on each row are computed independently, the normalisation sum
// being added up per fixed chunk of rows in chunk order.
func TSNE(ctx context.Context, X linalg.Matrix, o TSNEOptions) ([]float64, error) {
	o.defaults()
	n := X.Rows
	Y := make([]float64, 2*n)
	if n < 3 {
		return Y, nil
	}
	P := affinities(X, o.Perplexity, o.Threads)
	init, _ := PCA(X)
	copy(Y, init)
	var s float64
	for i := 0; i < n; i++ {
		s += Y[2*i] * Y[2*i]
	}
	if sd := math.Sqrt(s / float64(n)); sd > 0 {
		for i := range Y {
			Y[i] *= 1e-4 / sd
		}
	}
	lr := max(float64(n)/12, 50)
	upd := make([]float64, 2*n)
	gains := make([]float64, 2*n)
	for i := range gains {
		gains[i] = 1
	}
	grad := make([]float64, 2*n)
	const chunk = 256
	nc := par.Chunks(n, chunk)
	zpart := make([]float64, nc)
	rep := make([]float64, 2*n)
	total := o.EarlyIters + o.Iters
	qt := &quadTree{}
	var flat flatTree
	for it := 0; it < total; it++ {
		if it%10 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		exag, mom := 1.0, 0.8
		if it < o.EarlyIters {
			exag, mom = o.Exaggeration, 0.5
		}
		buildQuadTree(Y, qt)
		qt.flatten(&flat)
		tree := &flat
		par.For(o.Threads, n, chunk, func(c, lo, hi int) {
			var z float64
			for i := lo; i < hi; i++ {
				var fx, fy float64
				z += tree.repulse(Y[2*i], Y[2*i+1], o.Theta*o.Theta, &fx, &fy)
				rep[2*i], rep[2*i+1] = fx, fy
				// Attraction along the sparse P row.
				var ax, ay float64
				yi, yj := Y[2*i], Y[2*i+1]
				for k := P.ptr[i]; k < P.ptr[i+1]; k++ {
					j := P.col[k]
					dx, dy := yi-Y[2*j], yj-Y[2*j+1]
					q := 1 / (1 + dx*dx + dy*dy)
					ax += P.val[k] * q * dx
					ay += P.val[k] * q * dy
				}
				grad[2*i], grad[2*i+1] = exag*ax, exag*ay
			}
			zpart[c] = z
		})
		var Z float64
		for _, z := range zpart {
			Z += z
		}
		if Z <= 0 {
			Z = 1e-12
		}
		for i := range grad {
			g := 4 * (grad[i] - rep[i]/Z)
			if (g > 0) != (upd[i] > 0) {
				gains[i] += 0.2
			} else {
				gains[i] *= 0.8
			}
			gains[i] = max(gains[i], 0.01)
			upd[i] = mom*upd[i] - lr*gains[i]*g
			Y[i] += upd[i]
		}
		// Keep the map centred.
		var mx, my float64
		for i := 0; i < n; i++ {
			mx += Y[2*i]
			my += Y[2*i+1]
		}
		mx /= float64(n)
		my /= float64(n)
		for i := 0; i < n; i++ {
			Y[2*i] -= mx
			Y[2*i+1] -= my
		}
		if o.Progress != nil {
			o.Progress(it+1, total)
		}
	}
	return Y, nil
}

// csr is a sparse symmetric matrix by rows.
type csr struct {
	ptr []int
	col []int32
	val []float64
}

// affinities returns the symmetrized joint probabilities P (summing to 1)
// from each row's exact nearest neighbours.
func affinities(X linalg.Matrix, perplexity float64, threads int) csr {
	n := X.Rows
	k := min(n-1, int(3*perplexity))
	nbr, dist := knn(X, k, threads)
	cond := make([]float64, n*k)
	target := math.Log(min(perplexity, float64(k)))
	par.For(threads, n, 64, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			d := dist[i*k : (i+1)*k]
			p := cond[i*k : (i+1)*k]
			// Binary search on beta = 1 / (2 sigma^2); distances are shifted
			// by the nearest one for stability.
			lo, hi, beta := 0.0, math.Inf(1), 1.0
			for iter := 0; iter < 100; iter++ {
				var sum, hsum float64
				for j, dj := range d {
					p[j] = math.Exp(-(dj - d[0]) * beta)
					sum += p[j]
					hsum += (dj - d[0]) * p[j]
				}
				h := math.Log(sum) + beta*hsum/sum
				if math.Abs(h-target) < 1e-5 {
					break
				}
				if h > target {
					lo = beta
					if math.IsInf(hi, 1) {
						beta *= 2
					} else {
						beta = (beta + hi) / 2
					}
				} else {
					hi = beta
					beta = (beta + lo) / 2
				}
			}
			var sum float64
			for _, v := range p {
				sum += v
			}
			for j := range p {
				p[j] /= sum
			}
		}
	})
	// Symmetrize: P_ij = (p_j|i + p_i|j) / 2n.
	type entry struct {
		i, j int32
		v    float64
	}
	es := make([]entry, 0, 2*n*k)
	for i := 0; i < n; i++ {
		for t := 0; t < k; t++ {
			j := nbr[i*k+t]
			v := cond[i*k+t] / (2 * float64(n))
			es = append(es, entry{int32(i), j, v}, entry{j, int32(i), v})
		}
	}
	sort.Slice(es, func(a, b int) bool {
		if es[a].i != es[b].i {
			return es[a].i < es[b].i
		}
		return es[a].j < es[b].j
	})
	m := csr{ptr: make([]int, n+1)}
	for a := 0; a < len(es); {
		b, v := a, 0.0
		for b < len(es) && es[b].i == es[a].i && es[b].j == es[a].j {
			v += es[b].v
			b++
		}
		m.col = append(m.col, es[a].j)
		m.val = append(m.val, v)
		m.ptr[es[a].i+1]++
		a = b
	}
	for i := 0; i < n; i++ {
		m.ptr[i+1] += m.ptr[i]
	}
	return m
}

// knn returns each row's k nearest other rows (squared Euclidean
// distance, ties by index) and those distances, ascending.
func knn(X linalg.Matrix, k, threads int) ([]int32, []float64) {
	n := X.Rows
	nbr := make([]int32, n*k)
	dist := make([]float64, n*k)
	norms := linalg.RowSqNorms(X, nil)
	const block = 128
	par.For(threads, n, block, func(_, lo, hi int) {
		D := linalg.New(hi-lo, n)
		linalg.SqDist(D, X.Slice(lo, hi), norms[lo:hi], X, norms)
		hd := make([]float64, 0, k)
		hi32 := make([]int32, 0, k)
		for r := lo; r < hi; r++ {
			row := D.Row(r - lo)
			hd, hi32 = hd[:0], hi32[:0]
			for j := 0; j < n; j++ {
				if j == r {
					continue
				}
				d := max(row[j], 0)
				if len(hd) < k {
					hd, hi32 = append(hd, d), append(hi32, int32(j))
					siftUp(hd, hi32, len(hd)-1)
				} else if d < hd[0] {
					// j > every index in the heap's ties: a tie keeps the
					// smaller index already there.
					hd[0], hi32[0] = d, int32(j)
					siftDown(hd, hi32, 0)
				}
			}
			// Sort ascending by (distance, index).
			idx := make([]int, len(hd))
			for t := range idx {
				idx[t] = t
			}
			sort.Slice(idx, func(a, b int) bool {
				if hd[idx[a]] != hd[idx[b]] {
					return hd[idx[a]] < hd[idx[b]]
				}
				return hi32[idx[a]] < hi32[idx[b]]
			})
			for t, q := range idx {
				nbr[r*k+t] = hi32[q]
				dist[r*k+t] = hd[q]
			}
		}
	})
	return nbr, dist
}

// The heap is a max-heap on (distance, index).
func heapAbove(d []float64, ix []int32, a, b int) bool {
	if d[a] != d[b] {
		return d[a] > d[b]
	}
	return ix[a] > ix[b]
}

func siftUp(d []float64, ix []int32, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !heapAbove(d, ix, i, p) {
			return
		}
		d[i], d[p] = d[p], d[i]
		ix[i], ix[p] = ix[p], ix[i]
		i = p
	}
}

func siftDown(d []float64, ix []int32, i int) {
	n := len(d)
	for {
		l, big := 2*i+1, i
		if l < n && heapAbove(d, ix, l, big) {
			big = l
		}
		if r := l + 1; r < n && heapAbove(d, ix, r, big) {
			big = r
		}
		if big == i {
			return
		}
		d[i], d[big] = d[big], d[i]
		ix[i], ix[big] = ix[big], ix[i]
		i = big
	}
}

// quadTree is a Barnes-Hut tree over 2-D points; nodes live in one slice.
type quadTree struct {
	nodes []qnode
}

type qnode struct {
	cx, cy, half float64 // cell centre and half width
	mx, my       float64 // centre of mass
	count        int
	point        int    // the one point of a leaf (-1: none)
	child        [4]int // 0: none
}

const maxQuadDepth = 48

func buildQuadTree(Y []float64, t *quadTree) {
	n := len(Y) / 2
	minx, maxx, miny, maxy := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := 0; i < n; i++ {
		minx, maxx = min(minx, Y[2*i]), max(maxx, Y[2*i])
		miny, maxy = min(miny, Y[2*i+1]), max(maxy, Y[2*i+1])
	}
	half := max(maxx-minx, maxy-miny)/2*(1+1e-9) + 1e-12
	t.nodes = append(t.nodes[:0], qnode{})
	t.nodes[0] = qnode{cx: (minx + maxx) / 2, cy: (miny + maxy) / 2, half: half, point: -1}
	for i := 0; i < n; i++ {
		t.insert(0, i, Y[2*i], Y[2*i+1], Y, 0)
	}
}

func (t *quadTree) quadrant(nd int, x, y float64) int {
	q := 0
	if x > t.nodes[nd].cx {
		q |= 1
	}
	if y > t.nodes[nd].cy {
		q |= 2
	}
	return q
}

func (t *quadTree) child(nd, q int) int {
	if c := t.nodes[nd].child[q]; c != 0 {
		return c
	}
	p := t.nodes[nd]
	h := p.half / 2
	cx, cy := p.cx-h, p.cy-h
	if q&1 != 0 {
		cx = p.cx + h
	}
	if q&2 != 0 {
		cy = p.cy + h
	}
	t.nodes = append(t.nodes, qnode{cx: cx, cy: cy, half: h, point: -1})
	c := len(t.nodes) - 1
	t.nodes[nd].child[q] = c
	return c
}

func (t *quadTree) insert(nd, i int, x, y float64, Y []float64, depth int) {
	for {
		node := &t.nodes[nd]
		c := float64(node.count)
		node.mx = (node.mx*c + x) / (c + 1)
		node.my = (node.my*c + y) / (c + 1)
		node.count++
		leaf := node.child == [4]int{}
		if leaf && node.count == 1 {
			node.point = i
			return
		}
		if depth >= maxQuadDepth {
			// Coincident points: the leaf just counts them.
			return
		}
		if leaf && node.point >= 0 {
			// Push the resident point down one level.
			j := node.point
			node.point = -1
			jx, jy := Y[2*j], Y[2*j+1]
			cq := t.child(nd, t.quadrant(nd, jx, jy))
			cn := &t.nodes[cq]
			cn.mx, cn.my, cn.count, cn.point = jx, jy, 1, j
		}
		nd = t.child(nd, t.quadrant(nd, x, y))
		depth++
	}
}

// flatTree is a quadtree laid out in depth-first order for the force
// pass: a cell accepted as a whole jumps to skip, the index after its
// subtree, so the walk reads memory forwards with no stack.
type flatTree struct {
	cell []flatCell
}

type flatCell struct {
	mx, my, w2, count float64 // centre of mass, squared width, points
	skip              int32
	leaf              bool
}

func (t *quadTree) flatten(dst *flatTree) {
	dst.cell = dst.cell[:0]
	var walk func(nd int)
	walk = func(nd int) {
		node := &t.nodes[nd]
		if node.count == 0 {
			return
		}
		at := len(dst.cell)
		w := 2 * node.half
		leaf := node.child == [4]int{}
		dst.cell = append(dst.cell, flatCell{mx: node.mx, my: node.my, w2: w * w, count: float64(node.count), leaf: leaf})
		for _, c := range node.child {
			if c != 0 {
				walk(c)
			}
		}
		dst.cell[at].skip = int32(len(dst.cell))
	}
	walk(0)
}

// repulse adds the repulsive force on the point (x, y) into fx, fy
// (sum of q^2 (y_i - y_j), q = 1 / (1 + d^2)) and returns its part of
// the normalisation, sum of q over the other points.
func (t *flatTree) repulse(x, y, theta2 float64, fx, fy *float64) float64 {
	var z, ax, ay float64
	cells := t.cell
	for i := 0; i < len(cells); {
		c := &cells[i]
		dx, dy := x-c.mx, y-c.my
		d2 := dx*dx + dy*dy
		if c.leaf || c.w2 < theta2*d2 {
			if d2 > 0 {
				q := 1 / (1 + d2)
				cq := c.count * q
				z += cq
				cq *= q
				ax += cq * dx
				ay += cq * dy
			}
			// d2 == 0: the point itself (or coincident points: no direction).
			i = int(c.skip)
			continue
		}
		i++
	}
	*fx += ax
	*fy += ay
	return z
}

// PCA returns the rows of X projected on their first two principal
// components (row-major n x 2) and the variance share each explains. Each
// component's sign is fixed so its largest-magnitude loading is positive.
func PCA(X linalg.Matrix) ([]float64, [2]float64) {
	n, d := X.Rows, X.Cols
	out := make([]float64, 2*n)
	var share [2]float64
	if n == 0 || d == 0 {
		return out, share
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range X.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	C := linalg.New(X.Rows, d)
	for i := 0; i < n; i++ {
		r, s := C.Row(i), X.Row(i)
		for j := range r {
			r[j] = s[j] - mean[j]
		}
	}
	cov := linalg.New(d, d)
	linalg.MulAtB(cov, 1/float64(n), C, C, 0)
	vecs, vals := topEigen(cov, 2)
	var tr float64
	for j := 0; j < d; j++ {
		tr += cov.At(j, j)
	}
	for c := 0; c < min(2, len(vals)); c++ {
		if tr > 0 {
			share[c] = vals[c] / tr
		}
		v := vecs[c]
		for i := 0; i < n; i++ {
			var s float64
			for j, x := range C.Row(i) {
				s += x * v[j]
			}
			out[2*i+c] = s
		}
	}
	return out, share
}
