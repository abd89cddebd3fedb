package estimate

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/linalg"
)

// DefaultSampleRows is the number of rows above which Scan works on a
// sample, and the sample's size. The scan's cost is linear in the rows for
// k-means (about 80% of it at this size) and quadratic for the silhouette;
// measured on 4 Gaussian classes in 20 dimensions (k = 2..30, 3 runs x 10
// restarts, one thread, CPU time): 5,000 rows 3.6 s k-means + 0.7 s
// silhouette, 10,000 rows 8.5 + 2.8 s, 33,000 rows 41 + 31 s. A sampled
// scan of 6,000 rows takes 4.5 s of CPU (BenchmarkScanSampled), under 3 s
// at 2 threads, whatever the number of rows: `estimate-k` stays within 5 s
// plus the time to read the data. Smaller samples found the same k as the
// scan of every row as often (2,000, 4,000 and 6,000 rows, 3 seeds each:
// letter's 20,000 rows 2 as all rows, shuttle's 58,000 rows 2 as all rows,
// pendigits' 10,992 rows 8-9 where all rows give 7-8 by seed), but with
// about twice the sampling error at 2,000 rows; at 6,000 the error of the
// mean silhouette at the k found is 0.0008 on the 4 classes, 0.0015 on
// pendigits and 0.005 on shuttle.
const DefaultSampleRows = 6000

// sampleInflRows is about how many sampled rows the sampling error of the
// silhouette is estimated from. Their influence costs, per row, about as
// much as its silhouette (twice, in pure Go), while the error's own
// relative error is only about 1/sqrt(2 * rows): 2% at 1,000 rows. At
// 6,000 sampled rows this keeps the error's cost near 5% of the scan's
// (21% when computed for every row).
const sampleInflRows = 1000

// sampleStrata is the number of strata of a sample, unless that leaves fewer
// than sampleRowsPerStratum sampled rows per stratum on average. It does not
// depend on KMax, so that a scan's scores at a k do not depend on the range
// scanned, sampled or not.
const (
	sampleStrata         = 30
	sampleRowsPerStratum = 50
)

// strataFor returns the number of strata of a sample of m rows.
func strataFor(m int) int {
	return max(1, min(sampleStrata, m/sampleRowsPerStratum))
}

// Sample describes the rows a sampled scan clustered and scored.
type Sample struct {
	// Rows is the number of rows given to Scan, Sampled the number it
	// clustered and scored, drawn without replacement from Strata strata
	// (the clusters of a preliminary k-means of all rows) in proportion to
	// their sizes.
	Rows, Sampled, Strata int
	// SilhouetteSE[i] is the sampling error of Curve.Scores["silhouette"][i]:
	// the standard error, over stratified samples of this size, of the mean
	// silhouette of the runs' partitions, with the finite population
	// correction. It is computed from every sampled row's influence on the
	// mean (see silhouetteInfluence), averaged over the runs, because a
	// sampled row's silhouette is made of means over the same sampled rows:
	// the rows' spread alone understates the error (by 1.7 times in
	// TestSampledSilhouetteError). It does not cover k-means finding other
	// partitions on other rows. NaN where the silhouette is undefined; nil
	// when the silhouette was not computed.
	SilhouetteSE []float64
}

// rowSample is a stratified sample of the rows of a matrix.
type rowSample struct {
	idx     []int     // sampled rows, increasing
	infl    []int     // positions in idx (increasing) whose influence is computed
	stratum []int32   // stratum of each sampled row
	weight  []float64 // W_h = N_h / N, the stratum's share of all rows
	size    []int     // m_h, sampled rows per stratum
	pop     []int     // N_h, rows per stratum
}

// drawSample draws m of the rows of X (m < X.Rows) stratified by cluster:
// a k-means with `strata` clusters (one restart) is fitted on a uniform
// sample of m rows and every row is assigned to its nearest centroid
// (strata expecting fewer than 2 sampled rows join their nearest neighbour);
// each stratum then gets m * N_h / N sampled rows (largest remainders),
// drawn uniformly. Stratifying by region removes the variation
// of the silhouette between regions (cores and borders of clusters) from
// the sampling error, and one sample shared by every k keeps the rows paired
// across k, as the one-standard-error rule needs. Deterministic for a seed,
// whatever threads is.
func drawSample(ctx context.Context, X linalg.Matrix, m, strata int, seed uint64, threads int) (*rowSample, error) {
	n := X.Rows
	rng := rand.New(rand.NewPCG(seed, 0x73616d706c65)) // "sample"
	pre := X.Select(selectRows(rng, n, m, nil))
	km, err := cluster.KMeans(ctx, pre, cluster.KMeansOptions{
		K: min(strata, pre.Rows), NInit: 1, Breathe: -1, Threads: threads,
		Rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
	})
	if err != nil {
		return nil, err
	}
	lab, _ := cluster.Assign(X, km.Centroids, threads)
	h := mergeSmallStrata(lab, km.Centroids, m)
	s := &rowSample{pop: make([]int, h), weight: make([]float64, h)}
	for _, l := range lab {
		s.pop[l]++
	}
	for c, p := range s.pop {
		s.weight[c] = float64(p) / float64(n)
	}
	s.size = allocate(s.pop, m)
	// Rows grouped by stratum (counting sort, increasing within a stratum).
	off := make([]int, h+1)
	for c, p := range s.pop {
		off[c+1] = off[c] + p
	}
	byStratum := make([]int32, n)
	pos := slices.Clone(off[:h])
	for i, l := range lab {
		byStratum[pos[l]] = int32(i)
		pos[l]++
	}
	s.idx = make([]int, 0, m)
	for c := range h {
		rows := byStratum[off[c]:off[c+1]]
		for _, j := range selectRows(rng, len(rows), s.size[c], nil) {
			s.idx = append(s.idx, int(rows[j]))
		}
	}
	slices.Sort(s.idx)
	s.stratum = make([]int32, len(s.idx))
	for j, i := range s.idx {
		s.stratum[j] = int32(lab[i])
	}
	// The influence rows: the same fraction of every stratum, at least 2.
	frac := min(1, float64(sampleInflRows)/float64(len(s.idx)))
	byStratum = byStratum[:0]
	for c := range h {
		for j, l := range s.stratum {
			if int(l) == c {
				byStratum = append(byStratum, int32(j))
			}
		}
		take := min(s.size[c], max(2, int(math.Ceil(frac*float64(s.size[c])))))
		for _, t := range selectRows(rng, len(byStratum), take, nil) {
			s.infl = append(s.infl, int(byStratum[t]))
		}
		byStratum = byStratum[:0]
	}
	slices.Sort(s.infl)
	return s, nil
}

// mergeSmallStrata relabels lab (nearest-centroid strata) so that every
// stratum expects at least 2 of the m sampled rows: a smaller one joins the
// stratum of the nearest centroid among those that expect 2 or more.
// Strata are renumbered 0..h-1 in centroid order; it returns h. With
// proportional allocation a stratum then gets at least 2 rows, enough for
// its variance, and no stratum is over-represented: a minimum per stratum
// would give a few far outliers (shuttle has some) a weight in the sample's
// k-means that they do not have in the data.
func mergeSmallStrata(lab []int, centroids linalg.Matrix, m int) int {
	k := centroids.Rows
	pop := make([]int, k)
	for _, l := range lab {
		pop[l]++
	}
	big := func(c int) bool { return float64(m)*float64(pop[c])/float64(len(lab)) >= 2 }
	to := make([]int, k)
	h := 0
	for c := range to {
		if big(c) {
			to[c] = h
			h++
		}
	}
	for c := range to {
		if big(c) {
			continue
		}
		best, bestD := -1, math.Inf(1)
		for o := range to {
			if big(o) {
				if d := linalg.SqDistRows(centroids.Row(c), centroids.Row(o)); d < bestD {
					best, bestD = o, d
				}
			}
		}
		to[c] = to[best]
	}
	for i, l := range lab {
		lab[i] = to[l]
	}
	return h
}

// selectRows returns m distinct integers of [0, n), increasing, each subset
// equally likely (Knuth's selection sampling, Algorithm S: one pass, no
// n-sized allocation).
func selectRows(rng *rand.Rand, n, m int, dst []int) []int {
	dst = dst[:0]
	for i := 0; i < n && len(dst) < m; i++ {
		if rng.IntN(n-i) < m-len(dst) {
			dst = append(dst, i)
		}
	}
	return dst
}

// allocate splits m sampled rows over strata of sizes pop in proportion to
// the sizes: the integer parts, then one more row for the largest
// remainders (ties to the lower stratum).
func allocate(pop []int, m int) []int {
	n := 0
	for _, p := range pop {
		n += p
	}
	alloc := make([]int, len(pop))
	rem := make([]float64, len(pop))
	left := m
	for c, p := range pop {
		q := float64(m) * float64(p) / float64(n)
		alloc[c] = int(q)
		rem[c] = q - float64(alloc[c])
		left -= alloc[c]
	}
	order := make([]int, len(pop))
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for _, c := range order[:left] {
		alloc[c]++
	}
	return alloc
}

// mean returns the stratified estimate of the mean over all rows of a
// quantity from its values v at sampled rows: at every sampled row (pos
// nil), or at the sampled rows pos[t] (positions in the sample) for v[t].
// The estimate is sum_h W_h ybar_h and its standard error
// sqrt(sum_h W_h^2 s_h^2 / m_h * f_h) (Cochran 1977, eq. 5.6), where ybar_h
// and s_h^2 are the mean and variance of the stratum's given values, m_h
// the stratum's sampled rows and f_h = 1 - m_h / N_h with fpc, 1 without.
// Without fpc the error is that of the rows as draws from the distribution
// the data come from, as the one-standard-error rule wants; with it, the
// error against the same statistic on all rows (0 when every row is
// sampled). Given values at a subset of the sampled rows only estimate the
// spread: the error is still that of a mean over m_h rows. A stratum with a
// single value adds no variance.
func (s *rowSample) mean(v []float64, pos []int, fpc bool) (mean, se float64) {
	h := len(s.size)
	stratum := func(t int) int32 { return s.stratum[t] }
	if pos != nil {
		stratum = func(t int) int32 { return s.stratum[pos[t]] }
	}
	sum := make([]float64, h)
	cnt := make([]int, h)
	for t, x := range v {
		c := stratum(t)
		sum[c] += x
		cnt[c]++
	}
	for c := range sum {
		if cnt[c] > 0 {
			sum[c] /= float64(cnt[c])
		}
	}
	sq := make([]float64, h)
	for t, x := range v {
		c := stratum(t)
		d := x - sum[c]
		sq[c] += d * d
	}
	var v2, tot float64
	for c, w := range s.weight {
		if cnt[c] == 0 {
			continue
		}
		mean += w * sum[c]
		// Strata without a value are missing from the weights: rescale so
		// the estimate is still a mean (every stratum has sampled rows).
		tot += w
		if cnt[c] < 2 {
			continue
		}
		f := 1.0
		if fpc {
			f = 1 - float64(s.size[c])/float64(s.pop[c])
		}
		v2 += w * w * sq[c] / float64(cnt[c]-1) / float64(s.size[c]) * f
	}
	return mean / tot, math.Sqrt(v2) / tot
}

// Subsample returns m of rows, drawn with rng (the first m of a random
// permutation of their positions), in the order they have in rows. It
// returns rows itself when there are no more than m.
func Subsample(rng *rand.Rand, rows []int, m int) []int {
	if len(rows) <= m {
		return rows
	}
	pick := rng.Perm(len(rows))[:m]
	slices.Sort(pick)
	out := make([]int, m)
	for j, p := range pick {
		out[j] = rows[p]
	}
	return out
}
