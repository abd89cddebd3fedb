package tabularncd

import (
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// queue is a FIFO memory of at most m raw rows ([O] ncl_memory_module): a
// ring buffer that overwrites its oldest row once full.
type queue struct {
	data       []float64
	d, m, n, w int // width, capacity, rows held, next write slot
}

func newQueue(m, d int) *queue { return &queue{data: make([]float64, m*d), d: d, m: m} }

// push appends x's rows, dropping the oldest ones beyond the capacity.
func (q *queue) push(x linalg.Matrix) {
	if q.m == 0 {
		return
	}
	for i := 0; i < x.Rows; i++ {
		copy(q.data[q.w*q.d:(q.w+1)*q.d], x.Row(i))
		q.w = (q.w + 1) % q.m
		q.n = min(q.n+1, q.m)
	}
}

// rows returns the rows held, in storage order (the order does not matter
// to the augmentation beyond ties).
func (q *queue) rows() linalg.Matrix {
	return linalg.Matrix{Data: q.data[:q.n*q.d], Rows: q.n, Cols: q.d}
}

// ordered returns the rows held, oldest first.
func (q *queue) ordered() linalg.Matrix {
	out := linalg.New(q.n, q.d)
	start := 0
	if q.n == q.m {
		start = q.w
	}
	for i := 0; i < q.n; i++ {
		copy(out.Row(i), q.data[((start+i)%q.m)*q.d:])
	}
	return out
}

// augmenter builds [O]'s neighbour-based augmentation ("new_2" in
// transforms.py); it keeps its scratch buffers.
type augmenter struct {
	knb     int
	groups  [][]int
	pool    []float64
	npool   []float64
	poolFM  []float64
	prod    product
	threads int
	idx     []int
	counts  []int
}

// augChunk is how many rows share one similarity product: it bounds the
// similarity matrix to augChunk x (rows + memory).
const augChunk = 256

// augment writes into out (x's shape) the augmented rows of x (n x d,
// row-major): for each row, one of its knb most cosine-similar rows in
// pool = x's rows then mem's (1 subtracted on the row itself) is picked
// uniformly, and x' = x + u (x_nb - x) with u ~ U(0,1); the columns of each
// one-hot group instead copy the neighbour block whose level is the mode of
// the knb neighbours' levels (ties to the level of the more similar
// neighbour). The similarities are one matrix product of the L2-normalised
// rows per chunk of rows.
func (a *augmenter) augment(x, mem linalg.Matrix, rng *rand.Rand, out linalg.Matrix) {
	n, d := x.Rows, x.Cols
	if n == 0 {
		return
	}
	np := n + mem.Rows
	pool := grow(&a.pool, np, d)
	copy(pool.Data, x.Data[:n*d])
	copy(pool.Data[n*d:], mem.Data[:mem.Rows*d])
	npool := grow(&a.npool, np, d)
	normalizeRows(npool, pool)
	poolFM := nn.ToFeatureMajor(&a.poolFM, npool, nil)
	knb := min(a.knb, np)
	for lo := 0; lo < n; lo += augChunk {
		hi := min(lo+augChunk, n)
		sim := a.prod.mul(npool.Slice(lo, hi), poolFM, a.threads)
		for i := lo; i < hi; i++ {
			r := sim.Row(i - lo)
			r[i]--
			a.idx = topK(r, knb, a.idx[:0])
			nb := pool.Row(a.idx[rng.IntN(knb)])
			u := rng.Float64()
			xr, or := x.Row(i), out.Row(i)
			for j, v := range xr {
				or[j] = v + u*(nb[j]-v)
			}
			for _, g := range a.groups {
				src := pool.Row(a.modeNeighbour(pool, g))
				for _, c := range g {
					or[c] = src[c]
				}
			}
		}
	}
}

// modeNeighbour returns the pool row, among a.idx (most similar first),
// whose level in group g (its largest column) is the most frequent among
// them; ties go to the level met first.
func (a *augmenter) modeNeighbour(pool linalg.Matrix, g []int) int {
	if cap(a.counts) < len(g) {
		a.counts = make([]int, len(g))
	}
	counts := a.counts[:len(g)]
	clear(counts)
	level := func(row int) int {
		r := pool.Row(row)
		best := 0
		for l, c := range g {
			if r[c] > r[g[best]] {
				best = l
			}
		}
		return best
	}
	// Count, then take the largest count; among equal counts the level of
	// the more similar neighbour (the first in a.idx) wins.
	for _, row := range a.idx {
		counts[level(row)]++
	}
	best, bestCount := a.idx[0], -1
	for _, row := range a.idx {
		if c := counts[level(row)]; c > bestCount {
			best, bestCount = row, c
		}
	}
	return best
}
