package spectral

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// bruteKNN (the search before the cell index) returns, for every row, the indices of its k nearest other rows
// (row-major n x k), ties broken by the smaller index. Distances are
// computed a block of rows at a time; selection keeps a size-k max-heap per
// row.
func bruteKNN(ctx context.Context, X linalg.Matrix, k, threads int) []int32 {
	n := X.Rows
	Xp, dp := padded(X)
	nbr := make([]int32, n*k)
	const bs = 128
	pool := newBufPool(threads, bs*n)
	par.For(threads, n, bs, func(_, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		buf := <-pool
		defer func() { pool <- buf }()
		// Exact squared distances with the 4-rows-at-a-time kernel: for
		// few columns it beats a dot-product tile, and there is no
		// cancellation to worry about.
		blk := linalg.Matrix{Data: buf[:(hi-lo)*n], Rows: hi - lo, Cols: n}
		for i := lo; i < hi; i++ {
			sqDistMany(Xp[i*dp:(i+1)*dp], Xp, dp, n, blk.Row(i-lo))
		}
		hd := make([]float64, k)
		hi32 := make([]int32, k)
		for i := lo; i < hi; i++ {
			row := blk.Row(i - lo)
			h := 0
			for j, d := range row {
				if j == i {
					continue
				}
				if h < k {
					// Sift up.
					c := h
					h++
					for c > 0 {
						p := (c - 1) / 2
						if !heapLess(hd[p], hi32[p], d, int32(j)) {
							break
						}
						hd[c], hi32[c] = hd[p], hi32[p]
						c = p
					}
					hd[c], hi32[c] = d, int32(j)
					continue
				}
				// Replace the current worst when strictly better.
				if d >= hd[0] {
					continue
				}
				c := 0
				for {
					l := 2*c + 1
					if l >= k {
						break
					}
					if r := l + 1; r < k && heapLess(hd[l], hi32[l], hd[r], hi32[r]) {
						l = r
					}
					if !heapLess(d, int32(j), hd[l], hi32[l]) {
						break
					}
					hd[c], hi32[c] = hd[l], hi32[l]
					c = l
				}
				hd[c], hi32[c] = d, int32(j)
			}
			copy(nbr[i*k:(i+1)*k], hi32)
		}
	})
	return nbr
}

// cellCases are inputs for the cell index: Gaussian rows, well separated
// clusters (where cells are pruned), and small integer grids (many exact
// ties and duplicate rows).
func cellCases() []struct {
	name string
	X    linalg.Matrix
} {
	grid := func(n, d int, seed uint64) linalg.Matrix {
		X := randomMatrix(n, d, seed)
		for i := range X.Data {
			X.Data[i] = math.Round(2 * X.Data[i])
		}
		return X
	}
	clustered := randomMatrix(1200, 20, 7)
	for i := 0; i < clustered.Rows; i++ {
		shift := float64(i%5) * 12
		for j := 0; j < 20; j += 3 {
			clustered.Data[i*20+j] += shift
		}
	}
	return []struct {
		name string
		X    linalg.Matrix
	}{
		{"gauss2", randomMatrix(2, 3, 1)},
		{"gauss37", randomMatrix(37, 3, 2)},
		{"gauss500x4", randomMatrix(500, 4, 3)},
		{"clusters1200x20", clustered},
		{"grid400x2", grid(400, 2, 4)},
		{"grid300x1", grid(300, 1, 5)},
	}
}

func TestCellKNNMatchesBruteForce(t *testing.T) {
	for _, c := range cellCases() {
		n := c.X.Rows
		for _, k := range []int{1, 8, 30} {
			k = min(k, n-1)
			want := bruteKNN(context.Background(), c.X, k, 1)
			for _, th := range []int{1, 2, 3} {
				ix := newCellIndex(c.X, th)
				got, gd := ix.knn(context.Background(), k, th)
				for i := 0; i < n; i++ {
					w := slices.Clone(want[i*k : (i+1)*k])
					slices.Sort(w)
					g := slices.Clone(got[i*k : (i+1)*k])
					slices.Sort(g)
					if !slices.Equal(w, g) {
						t.Fatalf("%s k=%d threads %d row %d: neighbours %v, brute force %v", c.name, k, th, i, g, w)
					}
					for q := 0; q < k; q++ {
						j := got[i*k+q]
						if dd := sqDist(c.X.Row(i), c.X.Row(int(j))); math.Abs(gd[i*k+q]-dd) > 1e-12*(1+dd) {
							t.Fatalf("%s row %d: distance to %d is %g, want %g", c.name, i, j, gd[i*k+q], dd)
						}
						if q > 0 && heapLess(gd[i*k+q], j, gd[i*k+q-1], got[i*k+q-1]) {
							t.Fatalf("%s row %d: list not in (distance, row) order", c.name, i)
						}
					}
				}
			}
		}
	}
}

// kruskalTotal is the total squared length of the MST (Kruskal on all pairs).
func kruskalTotal(X linalg.Matrix) float64 {
	n := X.Rows
	type edge struct {
		w    float64
		u, v int
	}
	var es []edge
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			es = append(es, edge{sqDist(X.Row(i), X.Row(j)), i, j})
		}
	}
	slices.SortFunc(es, func(a, b edge) int {
		if a.w < b.w {
			return -1
		}
		if a.w > b.w {
			return 1
		}
		return 0
	})
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	total := 0.0
	for _, e := range es {
		if a, b := find(e.u), find(e.v); a != b {
			parent[a] = b
			total += e.w
		}
	}
	return total
}

func TestCellMSTMatchesKruskal(t *testing.T) {
	for _, c := range cellCases() {
		n := c.X.Rows
		wantMax, wantTotal := kruskalMaxEdge(c.X), kruskalTotal(c.X)
		for _, k := range []int{1, 8} {
			k = min(k, n-1)
			var first []float64
			for _, th := range []int{1, 2, 3} {
				ix := newCellIndex(c.X, th)
				nbr, nd := ix.knn(context.Background(), k, th)
				u, v, w, err := ix.mst(context.Background(), c.X, nbr, nd, k, th)
				if err != nil {
					t.Fatal(err)
				}
				if len(u) != n-1 {
					t.Fatalf("%s: %d edges for %d rows", c.name, len(u), n)
				}
				// A spanning tree: n-1 edges joining everything.
				parent := make([]int, n)
				for i := range parent {
					parent[i] = i
				}
				find := func(i int) int {
					for parent[i] != i {
						i = parent[i]
					}
					return i
				}
				total, m := 0.0, 0.0
				for e := range u {
					a, b := find(u[e]), find(v[e])
					if a == b {
						t.Fatalf("%s: edge %d-%d closes a cycle", c.name, u[e], v[e])
					}
					parent[a] = b
					if w[e] != sqDist(c.X.Row(u[e]), c.X.Row(v[e])) {
						t.Fatalf("%s: edge weight %g is not the squared distance", c.name, w[e])
					}
					total += w[e]
					m = max(m, w[e])
				}
				if math.Abs(m-wantMax) > 1e-12*wantMax || math.Abs(total-wantTotal) > 1e-9*wantTotal {
					t.Errorf("%s k=%d threads %d: max edge %.17g total %.17g, Kruskal %.17g %.17g", c.name, k, th, m, total, wantMax, wantTotal)
				}
				if first == nil {
					first = w
				} else if !slices.Equal(first, w) {
					t.Errorf("%s k=%d: tree differs between thread counts", c.name, k)
				}
			}
		}
	}
}
