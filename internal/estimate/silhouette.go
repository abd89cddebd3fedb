package estimate

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
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
// pairwise distance once for all of them.
//
// Cost and memory: the distances are formed in blocks of 64 rows against all
// rows (64 * rows floats per thread, never rows x rows) and immediately
// reduced to per-row, per-cluster distance sums for every labelling, which is
// rows^2 additions per labelling. Two shortcuts cut that: partitions equal up
// to renaming labels are scored once, and a labelling close to an earlier one
// with the same number of clusters (k-means restarts usually are) is scored
// as that one's sums plus corrections for the rows that changed cluster,
// 2 * changed * rows additions. Results do not depend on threads.
func SilhouetteMany(X linalg.Matrix, labelings [][]int, threads int) []float64 {
	out, _ := silhouetteMany(context.Background(), X, labelings, threads, nil)
	return out
}

const (
	silBlock = 64   // rows of X per distance block (a par chunk)
	silMicro = 8    // rows reduced together: one cache line of the block per column
	silTile  = 2048 // columns per tile, so a micro-block's tile stays in L2
	silGemm  = 192  // rows per gonum Dgemm call: < 4 blocks of 64 keeps it serial
	// A labelling is scored from a base when 2*changed < silDiffMax*rows.
	silDiffMax = 0.8
)

// prepared is one labelling compressed for the silhouette kernel.
type prepared struct {
	k     int
	lab   []int32   // label 0..k-1 per row (sorted order of the original values)
	size  []float64 // rows per label
	valid bool
	// plus lists columns by (tile, label): all columns for a full labelling,
	// only the changed ones for a labelling scored from a base.
	plus group
	// base >= 0: the prepared labelling (earlier in the list) this one is
	// derived from; fromBase[c] is the base label matched to label c, and
	// minus lists the changed columns by (tile, matched label of their base
	// label), whose distances are taken out of cluster c.
	base     int
	fromBase []int32
	minus    group
}

// group lists columns grouped by (tile, label):
// perm[off[t*(k+1)+c] : off[t*(k+1)+c+1]] are the columns of tile t with label c.
type group struct {
	perm []int32
	off  []int32
}

// groupCols groups the columns cols (ascending) by tile and by label(j).
func groupCols(cols []int32, label func(j int32) int32, k, n int) group {
	tiles := (n + silTile - 1) / silTile
	g := group{perm: make([]int32, len(cols)), off: make([]int32, tiles*(k+1))}
	cnt := make([]int32, k)
	pos := make([]int32, k)
	at := 0
	for t := 0; t < tiles; t++ {
		end := at
		for end < len(cols) && int(cols[end]) < (t+1)*silTile {
			end++
		}
		clear(cnt)
		for _, j := range cols[at:end] {
			cnt[label(j)]++
		}
		o := g.off[t*(k+1) : (t+1)*(k+1)]
		o[0] = int32(at)
		for c := 0; c < k; c++ {
			o[c+1] = o[c] + cnt[c]
		}
		copy(pos, o[:k])
		for _, j := range cols[at:end] {
			l := label(j)
			g.perm[pos[l]] = j
			pos[l]++
		}
		at = end
	}
	return g
}

// encode maps arbitrary integer labels to 0..k-1 in sorted order (as
// scikit-learn's LabelEncoder) and returns k.
func encode(labels []int) ([]int32, int) {
	// Labels from a clusterer are 0..k-1 with k small: mark which occur
	// instead of sorting n values.
	if len(labels) == 0 {
		return nil, 0
	}
	if lo, hi := slices.Min(labels), slices.Max(labels); lo >= 0 && hi < 4*len(labels)+64 {
		idx := make([]int32, hi+1)
		for _, v := range labels {
			idx[v] = 1
		}
		k := int32(0)
		for v, seen := range idx {
			if seen != 0 {
				idx[v] = k
				k++
			}
		}
		out := make([]int32, len(labels))
		for i, v := range labels {
			out[i] = idx[v]
		}
		return out, int(k)
	}
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
	p := &prepared{k: k, lab: lab, valid: k >= 2 && k <= n-1, base: -1}
	if !p.valid {
		return p
	}
	p.size = make([]float64, k)
	for _, l := range lab {
		p.size[l]++
	}
	return p
}

// matchLabels pairs the labels of b with those of p (same k) greedily by
// overlap and returns fromBase (p label -> b label) and the number of rows
// whose labels disagree under that pairing. Any pairing gives exact sums;
// a good one just leaves fewer rows to correct.
func matchLabels(p, b *prepared) ([]int32, int) {
	k := p.k
	cnt := make([]int, k*k) // [p label][b label]
	for j, l := range p.lab {
		cnt[int(l)*k+int(b.lab[j])]++
	}
	cells := make([]int, k*k)
	for i := range cells {
		cells[i] = i
	}
	sort.SliceStable(cells, func(x, y int) bool { return cnt[cells[x]] > cnt[cells[y]] })
	from := make([]int32, k)
	usedP := make([]bool, k)
	usedB := make([]bool, k)
	agree, left := 0, k
	for _, cell := range cells {
		pc, bc := cell/k, cell%k
		if usedP[pc] || usedB[bc] {
			continue
		}
		usedP[pc], usedB[bc] = true, true
		from[pc] = int32(bc)
		agree += cnt[cell]
		if left--; left == 0 {
			break
		}
	}
	return from, len(p.lab) - agree
}

// plan picks, for every prepared labelling, whether to score it in full or
// from one of the (up to 4) previous labellings with the same k, and builds
// its column groups.
func plan(uniq []*prepared, n int) {
	for u, p := range uniq {
		best, bestDiff := -1, n
		var bestFrom []int32
		seen := 0
		for b := u - 1; b >= 0 && seen < 4; b-- {
			if uniq[b].k != p.k {
				continue
			}
			seen++
			from, diff := matchLabels(p, uniq[b])
			if diff < bestDiff {
				best, bestDiff, bestFrom = b, diff, from
			}
		}
		if best >= 0 && 2*float64(bestDiff) < silDiffMax*float64(n) {
			b := uniq[best]
			to := make([]int32, p.k) // base label -> p label
			for c, bc := range bestFrom {
				to[bc] = int32(c)
			}
			var changed []int32
			for j := range p.lab {
				if to[b.lab[j]] != p.lab[j] {
					changed = append(changed, int32(j))
				}
			}
			p.base, p.fromBase = best, bestFrom
			p.plus = groupCols(changed, func(j int32) int32 { return p.lab[j] }, p.k, n)
			p.minus = groupCols(changed, func(j int32) int32 { return to[b.lab[j]] }, p.k, n)
			continue
		}
		all := make([]int32, n)
		for j := range all {
			all[j] = int32(j)
		}
		p.plus = groupCols(all, func(j int32) int32 { return p.lab[j] }, p.k, n)
	}
}

// canonical renames labels by order of first appearance, so that partitions
// equal up to label names compare equal.
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
// called once per finished row block (from worker goroutines, serialized by
// the caller's callback if needed).
func silhouetteMany(ctx context.Context, X linalg.Matrix, labelings [][]int, threads int, progress func(done, total int)) ([]float64, error) {
	out, _, _, err := silhouetteRows(ctx, X, labelings, threads, false, nil, progress)
	return out, err
}

// silhouetteRows is silhouetteMany that can also return every row's
// silhouette coefficient per labelling (rows[i][j] for labelling i, row j;
// nil for a labelling whose silhouette is undefined) and, when inflRows is
// not nil, the influence on the mean silhouette of each of those rows
// (infl[i][t] for row inflRows[t], see silhouetteInfluence; this costs a
// second pass over their distances). Labellings describing the same
// partition share one slice.
func silhouetteRows(ctx context.Context, X linalg.Matrix, labelings [][]int, threads int, wantRows bool, inflRows []int, progress func(done, total int)) ([]float64, [][]float64, [][]float64, error) {
	n := X.Rows
	wantInfl := inflRows != nil
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
	var sums, perRow, perInfl []float64
	var parts *silParts
	if wantRows || wantInfl {
		perRow = make([]float64, len(uniq)*n)
	}
	if wantInfl {
		parts = &silParts{a: make([]float64, len(uniq)*n), b: make([]float64, len(uniq)*n), near: make([]int32, len(uniq)*n)}
	}
	if len(uniq) > 0 {
		plan(uniq, n)
		var err error
		if sums, err = silhouetteSums(ctx, X, uniq, threads, perRow, parts, progress); err != nil {
			return nil, nil, nil, err
		}
		if wantInfl {
			if perInfl, err = silhouetteInfluence(ctx, X, uniq, perRow, parts, inflRows, threads); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	var rows, infl [][]float64
	if wantRows {
		rows = make([][]float64, len(labelings))
	}
	if wantInfl {
		infl = make([][]float64, len(labelings))
	}
	for i := range out {
		out[i] = math.NaN()
		if u := uidx[i]; u >= 0 {
			out[i] = sums[u] / float64(n)
			if wantRows {
				rows[i] = perRow[u*n : (u+1)*n]
			}
			if wantInfl {
				m := len(inflRows)
				infl[i] = perInfl[u*m : (u+1)*m]
			}
		}
	}
	return out, rows, infl, nil
}

// silParts holds, per prepared labelling and row (index u*n + row), the
// parts of the row's silhouette: a, the mean distance to the rest of its
// cluster; b, the mean distance to the nearest other cluster; near, that
// cluster (-1 when the row is alone in its cluster or a = b = 0: its
// silhouette is then 0 whatever the distances).
type silParts struct {
	a, b []float64
	near []int32
}

// silhouetteSums returns, per prepared labelling, the sum over rows of the
// silhouette coefficient. Per-block partial sums are combined in block order.
// perRow, if not nil (len(uniq) * rows), receives every row's coefficient.
func silhouetteSums(ctx context.Context, X linalg.Matrix, uniq []*prepared, threads int, perRow []float64, parts *silParts, progress func(done, total int)) ([]float64, error) {
	n := X.Rows
	norms := linalg.RowSqNorms(X, nil)
	nBlocks := par.Chunks(n, silBlock)
	partial := make([]float64, nBlocks*len(uniq))
	// acc holds, per labelling and label, the 8 rows' distance sums (plus
	// list); minus sums of derived labellings follow at minusOff.
	accLen := 0
	accOff := make([]int, len(uniq))
	minusOff := make([]int, len(uniq))
	for u, p := range uniq {
		accOff[u] = accLen
		accLen += p.k * silMicro
	}
	for u, p := range uniq {
		if p.base >= 0 {
			minusOff[u] = accLen
			accLen += p.k * silMicro
		}
	}
	pool := sync.Pool{New: func() any {
		s := newDistScratch(X)
		s.acc = make([]float64, accLen)
		return s
	}}
	var mu sync.Mutex
	done := 0
	par.For(threads, n, silBlock, func(c, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		s := pool.Get().(*distScratch)
		defer pool.Put(s)
		b := hi - lo
		s.distances(X, norms, lo, hi, nil)
		part := partial[c*len(uniq) : (c+1)*len(uniq)]
		for m0 := 0; m0 < b; m0 += silMicro {
			clear(s.acc)
			for t0 := 0; t0 < n; t0 += silTile {
				t := t0 / silTile
				for u, p := range uniq {
					gatherGroup(s.acc[accOff[u]:], p.plus, p.k, t, s.dist, m0)
					if p.base >= 0 {
						gatherGroup(s.acc[minusOff[u]:], p.minus, p.k, t, s.dist, m0)
					}
				}
			}
			for u, p := range uniq {
				acc := s.acc[accOff[u] : accOff[u]+p.k*silMicro]
				if p.base >= 0 {
					// Bases come earlier in uniq, so their sums are final.
					bacc := s.acc[accOff[p.base]:]
					macc := s.acc[minusOff[u]:]
					for cl := 0; cl < p.k; cl++ {
						bo := int(p.fromBase[cl]) * silMicro
						for r := 0; r < silMicro; r++ {
							i := cl*silMicro + r
							acc[i] += bacc[bo+r] - macc[i]
						}
					}
				}
				for r := 0; r < min(silMicro, b-m0); r++ {
					v, a, bb, near := silRow(p, acc, r, int(p.lab[lo+m0+r]))
					part[u] += v
					if perRow != nil {
						perRow[u*n+lo+m0+r] = v
					}
					if parts != nil {
						i := u*n + lo + m0 + r
						parts.a[i], parts.b[i], parts.near[i] = a, bb, near
					}
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sums := make([]float64, len(uniq))
	for c := 0; c < nBlocks; c++ {
		for u := range uniq {
			sums[u] += partial[c*len(uniq)+u]
		}
	}
	return sums, nil
}

// distScratch is one goroutine's buffers for a block of distances.
type distScratch struct {
	dist, acc []float64
	blkT      linalg.Matrix
	blkNorms  []float64
}

func newDistScratch(X linalg.Matrix) *distScratch {
	return &distScratch{
		dist:     make([]float64, X.Rows*silBlock),
		blkT:     linalg.New(X.Cols, silBlock),
		blkNorms: make([]float64, silBlock),
	}
}

// distances fills s.dist with the Euclidean distances between every row j
// of X and the block rows (s.dist[j*silBlock+r] for block row r), the
// self-distances exactly 0. The block is rows lo..hi-1 of X, or of the
// list rows when it is not nil. norms are the rows' squared norms.
func (s *distScratch) distances(X linalg.Matrix, norms []float64, lo, hi int, rows []int) {
	n, d := X.Rows, X.Cols
	b := hi - lo
	row := func(r int) int { return lo + r }
	if rows != nil {
		row = func(r int) int { return rows[lo+r] }
	}
	// The block is padded with zero rows to silBlock so that the
	// distance layout (n x silBlock: row j holds the distances of
	// column j to the block's rows) never changes; padded entries are
	// computed and ignored.
	// blkT is the block transposed (d x silBlock), so that the product
	// X * blkT runs as gonum's row-axpy kernel (vectorized over the 64
	// block rows) rather than as one short dot product per entry.
	for r := 0; r < b; r++ {
		for j, v := range X.Row(row(r)) {
			s.blkT.Data[j*silBlock+r] = v
		}
		s.blkNorms[r] = norms[row(r)]
	}
	for j := 0; j < d; j++ {
		clear(s.blkT.Data[j*silBlock+b : (j+1)*silBlock])
	}
	clear(s.blkNorms[b:])
	// |x_j|^2 - 2 x_j.b_r + |b_r|^2, clamped at 0 against cancellation
	// (as scikit-learn's euclidean_distances), then the square root.
	if useDist512 {
		// The same operations in the same order in one pass.
		silDist512(&X.Data[0], n, d, &s.blkT.Data[0], &norms[0], &s.blkNorms[0], &s.dist[0])
	} else {
		dist := linalg.Matrix{Data: s.dist, Rows: n, Cols: silBlock}
		for j0 := 0; j0 < n; j0 += silGemm {
			j1 := min(j0+silGemm, n)
			linalg.Mul(dist.Slice(j0, j1), -2, X.Slice(j0, j1), s.blkT, 0)
		}
		for j := 0; j < n; j++ {
			dj := (*[silBlock]float64)(s.dist[j*silBlock:])
			nj := norms[j]
			for r := range dj {
				dj[r] = math.Sqrt(max(dj[r]+nj+s.blkNorms[r], 0))
			}
		}
	}
	for r := 0; r < b; r++ {
		s.dist[row(r)*silBlock+r] = 0 // as scikit-learn: exact zero self-distance
	}
}

// gatherGroup adds the distances of group g's tile-t columns to acc, per label.
func gatherGroup(acc []float64, g group, k, t int, dist []float64, m0 int) {
	o := g.off[t*(k+1) : (t+1)*(k+1)]
	for cl := 0; cl < k; cl++ {
		if o[cl] < o[cl+1] {
			gather8((*[silMicro]float64)(acc[cl*silMicro:]), dist, m0, g.perm[o[cl]:o[cl+1]])
		}
	}
}

// gather8 adds, for each listed column j, the distances of the 8 rows of
// micro-block m0 (one cache line: dist[j*silBlock+m0 : +8]) to acc. Each
// row's sum runs in four chains over the list positions p = 0, 1, 2, 3
// (mod 4), the first starting from acc, combined as (s0 + s1) + (s2 + s3):
// the assembly kernels keep four vector adds in flight (one 8-wide ZMM or
// two YMM per column), and every path sums in this order, so the scores
// have the same bits on every machine.
func gather8(acc *[silMicro]float64, dist []float64, m0 int, cols []int32) {
	if len(cols) == 0 {
		return
	}
	// The kernels index dist without bounds checks: the columns come from
	// groupCols (row indices < n) and dist is n x silBlock.
	if m0 < 0 || m0+silMicro > silBlock {
		panic("estimate: gather8: micro-block out of range")
	}
	switch {
	case useGather512:
		gather8x512(acc, &dist[m0], &cols[0], len(cols))
		return
	case useGather256:
		gather8x256(acc, &dist[m0], &cols[0], len(cols))
		return
	}
	var s [4][silMicro]float64
	s[0] = *acc
	for p, j := range cols {
		v := (*[silMicro]float64)(dist[int(j)*silBlock+m0:])
		a := &s[p%4]
		for r := range a {
			a[r] += v[r]
		}
	}
	for r := range acc {
		acc[r] = (s[0][r] + s[1][r]) + (s[2][r] + s[3][r])
	}
}

// silRow is the silhouette of micro-block row r with label own, from the
// per-label distance sums acc[c*silMicro+r], mirroring scikit-learn's
// silhouette_samples (including nan -> 0 for singletons and a = b = 0).
// It also returns a, b and the nearest other cluster (the first on ties),
// with near = -1 where the silhouette is 0 whatever the distances.
func silRow(p *prepared, acc []float64, r, own int) (s, a, b float64, near int32) {
	if p.size[own] <= 1 {
		return 0, 0, 0, -1
	}
	a = acc[own*silMicro+r] / (p.size[own] - 1)
	b = math.Inf(1)
	for c := 0; c < p.k; c++ {
		if c != own {
			if v := acc[c*silMicro+r] / p.size[c]; v < b {
				b, near = v, int32(c)
			}
		}
	}
	den := math.Max(a, b)
	if den == 0 {
		return 0, a, b, -1
	}
	return (b - a) / den, a, b, near
}

// silhouetteInfluence returns, per prepared labelling u and row j = rows[t]
// (index u*len(rows) + t), the row's influence psi_j on the labelling's
// mean silhouette
// when the rows are a sample (Hampel's influence function, to first order):
// psi_j = s_j + phi_j, where phi_j is how much j's presence moves the other
// rows' silhouettes through the means they are made of. Row i's a_i is a
// mean over its cluster and b_i over its nearest other cluster, so j
// enters a_i for i in j's cluster and b_i for i whose nearest cluster is
// j's, each with weight 1/(cluster size):
//
//	phi_j = sum_{i in C(j), i != j} ds_i/da_i (d_ij - a_i) / (|C(j)| - 1)
//	      + sum_{i : near(i) = C(j)} ds_i/db_i (d_ij - b_i) / |C(j)|
//
// with s = 1 - a/b (ds/da = -1/b, ds/db = a/b^2) when b > a and s = b/a - 1
// (ds/da = -b/a^2, ds/db = 1/a) otherwise. The variance of the sample mean
// silhouette is about that of the mean of psi: the silhouettes of a sample
// are not independent draws, since every row's a and b are made from the
// same sampled rows, and on well-separated clusters this shared part is
// most of the error (three times the rows' own spread at 2,000 rows of 4
// Gaussian classes). Pure Go: a row only meets the columns of its own
// cluster and of the rows that have it nearest, about 2n/k per labelling,
// against n per labelling for the silhouette itself; and only the rows
// whose spread is needed (rows) are computed.
func silhouetteInfluence(ctx context.Context, X linalg.Matrix, uniq []*prepared, perRow []float64, parts *silParts, rows []int, threads int) ([]float64, error) {
	n, m := X.Rows, len(rows)
	norms := linalg.RowSqNorms(X, nil)
	out := make([]float64, len(uniq)*m)
	// Per labelling, the columns each target label gathers, grouped by
	// label (perm[off[c]:off[c+1]] with weights w), and the constants:
	// konst[c] = sum of w_i * (a_i or b_i) over that list, self[j] = row
	// j's own term w_j * a_j (it is in its label's list but not in its a).
	type inflPlan struct {
		perm  []int32
		w     []float64
		off   []int32
		konst []float64
		self  []float64
	}
	plans := make([]inflPlan, len(uniq))
	for u, p := range uniq {
		k := p.k
		wa := make([]float64, n)
		wb := make([]float64, n)
		cnt := make([]int32, k+1)
		pl := inflPlan{off: make([]int32, k+1), konst: make([]float64, k), self: make([]float64, n)}
		for j := 0; j < n; j++ {
			i := u*n + j
			near := parts.near[i]
			if near < 0 {
				continue
			}
			a, b := parts.a[i], parts.b[i]
			var da, db float64
			if b > a {
				da, db = -1/b, a/(b*b)
			} else {
				da, db = -b/(a*a), 1/a
			}
			own := p.lab[j]
			wa[j] = da / (p.size[own] - 1)
			wb[j] = db / p.size[near]
			pl.konst[own] += wa[j] * a
			pl.konst[near] += wb[j] * b
			pl.self[j] = wa[j] * a
			cnt[own+1]++
			cnt[near+1]++
		}
		for c := 0; c < k; c++ {
			pl.off[c+1] = pl.off[c] + cnt[c+1]
		}
		pl.perm = make([]int32, pl.off[k])
		pl.w = make([]float64, pl.off[k])
		pos := slices.Clone(pl.off[:k])
		for j := 0; j < n; j++ {
			near := parts.near[u*n+j]
			if near < 0 {
				continue
			}
			own := p.lab[j]
			pl.perm[pos[own]], pl.w[pos[own]] = int32(j), wa[j]
			pos[own]++
			pl.perm[pos[near]], pl.w[pos[near]] = int32(j), wb[j]
			pos[near]++
		}
		plans[u] = pl
	}
	pool := sync.Pool{New: func() any { return newDistScratch(X) }}
	par.For(threads, m, silBlock, func(_, lo, hi int) {
		if ctx.Err() != nil {
			return
		}
		s := pool.Get().(*distScratch)
		defer pool.Put(s)
		s.distances(X, norms, lo, hi, rows)
		b := hi - lo
		var order [silBlock]int32 // block rows sorted by label
		var lab [silBlock]int32
		var acc [silBlock]float64
		for u, p := range uniq {
			pl := &plans[u]
			for r := range order[:b] {
				order[r], lab[r] = int32(r), p.lab[rows[lo+r]]
			}
			slices.SortStableFunc(order[:b], func(x, y int32) int { return int(lab[x] - lab[y]) })
			clear(acc[:])
			for r0 := 0; r0 < b; {
				c := lab[order[r0]]
				r1 := r0 + 1
				for r1 < b && lab[order[r1]] == c {
					r1++
				}
				grp := order[r0:r1]
				for idx := pl.off[c]; idx < pl.off[c+1]; idx++ {
					w := pl.w[idx]
					col := (*[silBlock]float64)(s.dist[int(pl.perm[idx])*silBlock:])
					for _, r := range grp {
						acc[r] += w * col[r]
					}
				}
				r0 = r1
			}
			for r := 0; r < b; r++ {
				j := rows[lo+r]
				out[u*m+lo+r] = perRow[u*n+j] + acc[r] - pl.konst[lab[r]] + pl.self[j]
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
