package estimate

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sync"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// Silhouette is the mean silhouette coefficient of a labelling with
// Euclidean distances, as scikit-learn's silhouette_score without sampling:
// rows alone in their cluster score 0, and a row whose intra- and nearest
// inter-cluster mean distances are both 0 scores 0. It returns NaN when the
// labelling has fewer than 2 or more than rows-1 distinct labels (where
// scikit-learn raises). Labels may be any integers.
func Silhouette(X linalg.Matrix, labels []int, threads int) float64 {
	return SilhouetteMany(X, [][]int{labels}, threads)[0]
}

// SilhouetteMany returns Silhouette for every labelling, computing each
// pairwise distance once for all of them. Memory stays O(rows * 64) per
// thread: distances are formed in blocks of 64 rows against all rows and
// reduced immediately. Identical partitions (equal up to renaming labels) are
// scored once. Results do not depend on threads.
func SilhouetteMany(X linalg.Matrix, labelings [][]int, threads int) []float64 {
	out, _ := silhouetteMany(context.Background(), X, labelings, threads, nil)
	return out
}

const (
	silBlock = 64   // rows of X per distance block (a par chunk)
	silMicro = 8    // rows reduced together: one cache line of the block per column
	silTile  = 2048 // columns per tile, so a micro-block's tile stays in L2
	silGemm  = 192  // rows per gonum Dgemm call: < 4 blocks of 64 keeps it serial
)

// prepared is one labelling compressed for the silhouette kernel.
type prepared struct {
	k     int
	lab   []int32   // label 0..k-1 per row (sorted order of the original values)
	size  []float64 // rows per label
	perm  []int32   // rows sorted by (column tile, label)
	off   []int32   // off[t*(k+1)+c] .. off[t*(k+1)+c+1] is label c within tile t
	valid bool
}

// encode maps arbitrary integer labels to 0..k-1 in sorted order (as
// scikit-learn's LabelEncoder) and returns k.
func encode(labels []int) ([]int32, int) {
	vals := slices.Clone(labels)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	idx := make(map[int]int32, len(vals))
	for i, v := range vals {
		idx[v] = int32(i)
	}
	out := make([]int32, len(labels))
	for i, v := range labels {
		out[i] = idx[v]
	}
	return out, len(vals)
}

func prepare(labels []int, n int) *prepared {
	if len(labels) != n {
		panic(fmt.Sprintf("estimate: labelling has %d labels for %d rows", len(labels), n))
	}
	lab, k := encode(labels)
	p := &prepared{k: k, lab: lab, valid: k >= 2 && k <= n-1}
	if !p.valid {
		return p
	}
	p.size = make([]float64, k)
	for _, l := range lab {
		p.size[l]++
	}
	tiles := (n + silTile - 1) / silTile
	p.off = make([]int32, tiles*(k+1))
	p.perm = make([]int32, n)
	cnt := make([]int32, k)
	for t := 0; t < tiles; t++ {
		lo, hi := t*silTile, min((t+1)*silTile, n)
		clear(cnt)
		for j := lo; j < hi; j++ {
			cnt[lab[j]]++
		}
		o := p.off[t*(k+1) : (t+1)*(k+1)]
		o[0] = int32(lo)
		for c := 0; c < k; c++ {
			o[c+1] = o[c] + cnt[c]
		}
		pos := slices.Clone(o[:k])
		for j := lo; j < hi; j++ {
			l := lab[j]
			p.perm[pos[l]] = int32(j)
			pos[l]++
		}
	}
	return p
}

// canonicalKey hashes a labelling renamed by order of first appearance, so
// that partitions equal up to label names share a key.
func canonical(labels []int) []int32 {
	m := make(map[int]int32)
	out := make([]int32, len(labels))
	for i, v := range labels {
		c, ok := m[v]
		if !ok {
			c = int32(len(m))
			m[v] = c
		}
		out[i] = c
	}
	return out
}

// dedupe returns, for every labelling, the index of the first labelling
// describing the same partition.
func dedupe(labelings [][]int) []int {
	rep := make([]int, len(labelings))
	seen := make(map[uint64][]int)
	canon := make([][]int32, len(labelings))
	buf := make([]byte, 4)
	for i, l := range labelings {
		canon[i] = canonical(l)
		h := fnv.New64a()
		for _, v := range canon[i] {
			buf[0], buf[1], buf[2], buf[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			h.Write(buf)
		}
		key := h.Sum64()
		rep[i] = i
		for _, j := range seen[key] {
			if slices.Equal(canon[j], canon[i]) {
				rep[i] = j
				break
			}
		}
		if rep[i] == i {
			seen[key] = append(seen[key], i)
		}
	}
	return rep
}

// silhouetteMany is SilhouetteMany with cancellation and a progress callback
// called once per finished row block (from worker goroutines, serialized).
func silhouetteMany(ctx context.Context, X linalg.Matrix, labelings [][]int, threads int, progress func(done, total int)) ([]float64, error) {
	n := X.Rows
	out := make([]float64, len(labelings))
	rep := dedupe(labelings)
	var uniq []*prepared
	uidx := make([]int, len(labelings))
	for i, l := range labelings {
		if rep[i] != i {
			uidx[i] = uidx[rep[i]]
			continue
		}
		p := prepare(l, n)
		uidx[i] = -1
		if p.valid {
			uidx[i] = len(uniq)
			uniq = append(uniq, p)
		}
	}
	if len(uniq) > 0 {
		sums, err := silhouetteSums(ctx, X, uniq, threads, progress)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = math.NaN()
			if u := uidx[i]; u >= 0 {
				out[i] = sums[u] / float64(n)
			}
		}
	} else {
		for i := range out {
			out[i] = math.NaN()
		}
	}
	return out, nil
}

// silhouetteSums returns, per prepared labelling, the sum over rows of the
// silhouette coefficient. Per-block partial sums are combined in block order.
func silhouetteSums(ctx context.Context, X linalg.Matrix, uniq []*prepared, threads int, progress func(done, total int)) ([]float64, error) {
	n, d := X.Rows, X.Cols
	norms := linalg.RowSqNorms(X, nil)
	nBlocks := par.Chunks(n, silBlock)
	partial := make([]float64, nBlocks*len(uniq))
	accLen := 0
	accOff := make([]int, len(uniq))
	for u, p := range uniq {
		accOff[u] = accLen
		accLen += p.k * silMicro
	}
	type scratch struct {
		dist, acc []float64
		blk       linalg.Matrix
		blkNorms  []float64
	}
	pool := sync.Pool{New: func() any {
		return &scratch{
			dist:     make([]float64, n*silBlock),
			acc:      make([]float64, accLen),
			blk:      linalg.New(silBlock, d),
			blkNorms: make([]float64, silBlock),
		}
	}}
	var mu sync.Mutex
	done := 0
	var ctxErr error
	par.For(threads, n, silBlock, func(c, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		s := pool.Get().(*scratch)
		defer pool.Put(s)
		b := hi - lo
		// The block is padded with zero rows to silBlock so that the
		// distance layout (n x silBlock, one row per column j of the full
		// matrix) never changes; padded columns are computed and ignored.
		copy(s.blk.Data, X.Data[lo*d:hi*d])
		clear(s.blk.Data[b*d:])
		copy(s.blkNorms, norms[lo:hi])
		clear(s.blkNorms[b:])
		dist := linalg.Matrix{Data: s.dist, Rows: n, Cols: silBlock}
		for j0 := 0; j0 < n; j0 += silGemm {
			j1 := min(j0+silGemm, n)
			linalg.SqDist(dist.Slice(j0, j1), X.Slice(j0, j1), norms[j0:j1], s.blk, s.blkNorms)
		}
		for i, v := range s.dist {
			s.dist[i] = math.Sqrt(v)
		}
		for r := 0; r < b; r++ {
			s.dist[(lo+r)*silBlock+r] = 0 // as scikit-learn: exact zero self-distance
		}
		part := partial[c*len(uniq) : (c+1)*len(uniq)]
		for m0 := 0; m0 < b; m0 += silMicro {
			rows := min(silMicro, b-m0)
			clear(s.acc)
			for t0 := 0; t0 < n; t0 += silTile {
				t := t0 / silTile
				for u, p := range uniq {
					k := p.k
					o := p.off[t*(k+1) : (t+1)*(k+1)]
					acc := s.acc[accOff[u] : accOff[u]+k*silMicro]
					for cl := 0; cl < k; cl++ {
						gather8((*[silMicro]float64)(acc[cl*silMicro:]), s.dist, m0, p.perm[o[cl]:o[cl+1]])
					}
				}
			}
			for u, p := range uniq {
				acc := s.acc[accOff[u] : accOff[u]+p.k*silMicro]
				for r := 0; r < rows; r++ {
					part[u] += silRow(p, acc, r, int(p.lab[lo+m0+r]))
				}
			}
		}
		mu.Lock()
		done++
		if progress != nil {
			progress(done, nBlocks)
		}
		mu.Unlock()
	})
	if ctxErr = ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	sums := make([]float64, len(uniq))
	for c := 0; c < nBlocks; c++ {
		for u := range uniq {
			sums[u] += partial[c*len(uniq)+u]
		}
	}
	return sums, nil
}

// gather8 adds, for each listed column j, the distances of the 8 rows of
// micro-block m0 (one cache line: dist[j*silBlock+m0 : +8]) to acc. Eight
// independent accumulators keep the adds pipelined.
func gather8(acc *[silMicro]float64, dist []float64, m0 int, cols []int32) {
	a0, a1, a2, a3, a4, a5, a6, a7 := acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]
	for _, j := range cols {
		p := (*[silMicro]float64)(dist[int(j)*silBlock+m0:])
		a0 += p[0]
		a1 += p[1]
		a2 += p[2]
		a3 += p[3]
		a4 += p[4]
		a5 += p[5]
		a6 += p[6]
		a7 += p[7]
	}
	acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7] = a0, a1, a2, a3, a4, a5, a6, a7
}

// silRow is the silhouette of micro-block row r with label own, from the
// per-label distance sums acc[c*silMicro+r], mirroring scikit-learn's
// silhouette_samples (including nan -> 0 for singletons and a = b = 0).
func silRow(p *prepared, acc []float64, r, own int) float64 {
	if p.size[own] <= 1 {
		return 0
	}
	a := acc[own*silMicro+r] / (p.size[own] - 1)
	b := math.Inf(1)
	for c := 0; c < p.k; c++ {
		if c != own {
			b = math.Min(b, acc[c*silMicro+r]/p.size[c])
		}
	}
	den := math.Max(a, b)
	if den == 0 {
		return 0
	}
	return (b - a) / den
}
