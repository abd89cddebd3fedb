package estimate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/usererr"
)

// KnownOptions configures KnownACCSearch. Zero values select the defaults.
type KnownOptions struct {
	// KMin and KMax bound the number of novel classes searched (defaults 1
	// and 30); the total number of clusters tried is known classes + novel,
	// clamped to the number of rows.
	KMin, KMax int
	// NInit is the number of k-means++ restarts per clustering (default 10).
	NInit int
	// Threads bounds the goroutines (<= 0: GOMAXPROCS). Results do not depend on it.
	Threads int
	// Seed drives the clusterings: the clustering for a given total k
	// depends only on Seed and k, not on the search path.
	Seed uint64
	// Progress, if set, is called after each clustering with the number done
	// and the most clusterings the search can need (goldenEvals: 8 for 30
	// candidates, reached on some curves), and once more with done =
	// total when the search ends.
	Progress func(done, total int)
	// Cluster replaces k-means (nil: KMeansClusterer(NInit)).
	Cluster Clusterer
	// SampleRows: above this many rows the search clusters a seeded sample
	// of this many, drawn from every known class and from the unlabelled
	// rows in proportion (at least 2 rows of each, so that no known class
	// is lost). 0 means DefaultSampleRows, a negative value never samples.
	SampleRows int
}

// KnownEval is one evaluated total number of clusters.
type KnownEval struct {
	Total, Novel int
	// ACC is the clustering accuracy on the labelled rows.
	ACC float64
}

// KnownResult is the outcome of KnownACCSearch.
type KnownResult struct {
	// Novel is the estimated number of novel classes; Total = Known + Novel
	// is the number of clusters that recovered the known labels best.
	Novel, Total, Known int
	// ACC is the labelled-row accuracy at Total.
	ACC float64
	// Evaluated lists every clustering run, by increasing Total.
	Evaluated []KnownEval
	// Sampled is the number of rows clustered when the search ran on a
	// sample (SampleRows), drawn from Groups groups (the known classes and
	// the unlabelled rows); 0 when it used every row.
	Sampled, Groups int
}

// KnownACCSearch estimates the number of novel classes from the known ones,
// as in the generalized category discovery literature (Vaze et al. 2022):
// for a total k, cluster all rows (labelled and unlabelled) with k-means and
// score the clustering by its accuracy (Hungarian matching) on the labelled
// rows only; the k whose clusters recover the known classes best is taken
// as known + novel. The accuracy is searched over integer k with a golden
// section search (it is assumed unimodal: too few clusters merge classes,
// too many split them; ties go to the larger k), finishing with an
// exhaustive look at the last few candidates; every k is clustered at most
// once.
//
// known[i] is row i's known-class index, or -1 (dataset.Unlabeled).
func KnownACCSearch(ctx context.Context, X linalg.Matrix, known []int, opt KnownOptions) (*KnownResult, error) {
	if err := checkMatrix(X); err != nil {
		return nil, err
	}
	if len(known) != X.Rows {
		return nil, fmt.Errorf("estimate: %d known labels for %d rows", len(known), X.Rows)
	}
	var labelled []int
	classes := map[int]bool{}
	for i, c := range known {
		if c < -1 {
			return nil, fmt.Errorf("estimate: row %d has known class %d", i, c)
		}
		if c >= 0 {
			labelled = append(labelled, i)
			classes[c] = true
		}
	}
	if len(labelled) == 0 {
		return nil, usererr.New("the known-class estimator needs labelled rows, found none")
	}
	nKnown := len(classes)
	if opt.SampleRows == 0 {
		opt.SampleRows = DefaultSampleRows
	}
	var sampled, groups int
	if opt.SampleRows > 0 && X.Rows > opt.SampleRows {
		if opt.SampleRows < 2*(nKnown+1) {
			return nil, usererr.New("a sample of %d rows cannot hold 2 rows of each of %d known classes and the unlabelled rows", opt.SampleRows, nKnown)
		}
		var idx []int
		idx, groups = sampleByLabel(known, opt.SampleRows, opt.Seed)
		X, sampled = X.Select(idx), len(idx)
		sub := make([]int, len(idx))
		labelled = labelled[:0]
		for j, i := range idx {
			sub[j] = known[i]
			if sub[j] >= 0 {
				labelled = append(labelled, j)
			}
		}
		known = sub
	}
	if opt.KMin == 0 {
		opt.KMin = 1
	}
	if opt.KMax == 0 {
		opt.KMax = 30
	}
	if opt.KMin < 1 || opt.KMin > opt.KMax {
		return nil, usererr.New("novel k range [%d, %d] is empty or below 1", opt.KMin, opt.KMax)
	}
	lo, hi := nKnown+opt.KMin, min(nKnown+opt.KMax, X.Rows)
	if lo > hi {
		return nil, usererr.New("%d known classes + %d novel exceed the %d rows", nKnown, opt.KMin, X.Rows)
	}
	if opt.NInit < 0 {
		return nil, usererr.New("n_init must be positive, got %d", opt.NInit)
	}
	if opt.NInit == 0 {
		opt.NInit = 10
	}
	if opt.Cluster == nil {
		opt.Cluster = KMeansClusterer(opt.NInit)
	}
	threads := par.Threads(opt.Threads)

	truth := make([]string, len(labelled))
	for j, i := range labelled {
		truth[j] = strconv.Itoa(known[i])
	}
	memo := map[int]float64{}
	prog := &progressCounter{fn: opt.Progress, total: goldenEvals(lo, hi)}
	f := func(k int) (float64, error) {
		if v, ok := memo[k]; ok {
			return v, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// The seed depends on k only, so the search path cannot change a result.
		seed := opt.Seed ^ (uint64(k) * 0x9e3779b97f4a7c15)
		lab, _, err := opt.Cluster(ctx, X, k, seed, threads)
		if err != nil {
			return 0, fmt.Errorf("clustering with k = %d: %w", k, err)
		}
		pred := make([]string, len(labelled))
		for j, i := range labelled {
			pred[j] = strconv.Itoa(lab[i])
		}
		v := metrics.Accuracy(truth, pred)
		memo[k] = v
		prog.add(1)
		return v, nil
	}
	best, err := goldenMaxInt(lo, hi, f)
	if err != nil {
		return nil, err
	}
	if opt.Progress != nil {
		opt.Progress(prog.total, prog.total)
	}
	res := &KnownResult{Total: best, Novel: best - nKnown, Known: nKnown, ACC: memo[best], Sampled: sampled, Groups: groups}
	for k, v := range memo {
		res.Evaluated = append(res.Evaluated, KnownEval{Total: k, Novel: k - nKnown, ACC: v})
	}
	slices.SortFunc(res.Evaluated, func(a, b KnownEval) int { return a.Total - b.Total })
	return res, nil
}

// goldenMaxInt maximizes f over the integers in [lo, hi] by golden-section
// search, assuming f unimodal; once the bracket holds at most 4 integers
// they are all evaluated. Ties go to the larger k: labelled-row accuracy is
// blind to clusters that merge only novel rows (or novel into known), so its
// plateaus extend to the left of the true k, while too many clusters soon
// split a known class. f is called at most once per k if it memoizes
// (KnownACCSearch's does).
func goldenMaxInt(lo, hi int, f func(int) (float64, error)) (int, error) {
	a, b := lo, hi
	for b-a > 3 {
		c, d := goldenPoints(a, b)
		fc, err := f(c)
		if err != nil {
			return 0, err
		}
		fd, err := f(d)
		if err != nil {
			return 0, err
		}
		if fc > fd {
			b = d // the maximum lies in [a, d]
		} else {
			a = c // in [c, b]; ties keep the larger side
		}
	}
	best, bestV := 0, math.Inf(-1)
	for k := a; k <= b; k++ {
		v, err := f(k)
		if err != nil {
			return 0, err
		}
		if v >= bestV {
			best, bestV = k, v
		}
	}
	return best, nil
}

// goldenPoints returns the two interior points goldenMaxInt evaluates in
// the bracket [a, b] (b - a > 3).
func goldenPoints(a, b int) (c, d int) {
	const invPhi = 0.6180339887498949 // (sqrt(5) - 1) / 2
	w := float64(b - a)
	c = b - int(math.Round(invPhi*w))
	d = a + int(math.Round(invPhi*w))
	if c >= d {
		c = d - 1
	}
	return c, d
}

// goldenEvals returns the largest number of distinct k goldenMaxInt
// evaluates on [lo, hi], over every outcome of its comparisons: the total
// of a progress bar that the search reaches on some curves and never
// passes (8 for 30 candidates, which overstated it almost fourfold). The
// outcomes form a binary tree of depth about log(hi - lo) / log(1.618),
// walked with one shared set of evaluated k (marked, then unmarked).
func goldenEvals(lo, hi int) int {
	if hi-lo > 2048 {
		// Too many outcomes to walk (range^1.44): two points per step on
		// the larger side, then the last 4.
		n, a, b := 4, lo, hi
		for b-a > 3 {
			c, d := goldenPoints(a, b)
			n += 2
			if d-a > b-c {
				b = d
			} else {
				a = c
			}
		}
		return min(n, hi-lo+1)
	}
	seen := make([]bool, hi-lo+1)
	mark := func(ks ...int) (added []int) {
		for _, k := range ks {
			if !seen[k-lo] {
				seen[k-lo] = true
				added = append(added, k)
			}
		}
		return added
	}
	var walk func(a, b int) int
	walk = func(a, b int) int {
		var added []int
		n := 0
		if b-a <= 3 {
			for k := a; k <= b; k++ {
				if !seen[k-lo] {
					n++
				}
			}
			return n
		}
		c, d := goldenPoints(a, b)
		added = mark(c, d)
		n = len(added) + max(walk(a, d), walk(c, b))
		for _, k := range added {
			seen[k-lo] = false
		}
		return n
	}
	return walk(lo, hi)
}

// sampleByLabel draws m rows stratified by label (each known class, and
// the unlabelled rows, -1): in proportion to the groups' sizes, then
// raised to min(2, size) per group, taken from the largest allocations.
// Returns the rows, increasing, and the number of groups.
func sampleByLabel(known []int, m int, seed uint64) ([]int, int) {
	rng := rand.New(rand.NewPCG(seed, 0x6b6e6f776e)) // "known"
	seen := map[int]bool{}
	for _, c := range known {
		seen[c] = true
	}
	vals := make([]int, 0, len(seen))
	for c := range seen {
		vals = append(vals, c)
	}
	slices.Sort(vals)
	group := make(map[int]int, len(vals))
	for g, c := range vals {
		group[c] = g
	}
	rows := make([][]int, len(vals))
	for i, c := range known {
		rows[group[c]] = append(rows[group[c]], i)
	}
	pop := make([]int, len(vals))
	for g, r := range rows {
		pop[g] = len(r)
	}
	alloc := allocate(pop, m)
	for g, p := range pop {
		for alloc[g] < min(2, p) {
			donor := 0
			for d := range alloc {
				if alloc[d] > alloc[donor] {
					donor = d
				}
			}
			alloc[donor]--
			alloc[g]++
		}
	}
	var idx []int
	for g, r := range rows {
		for _, j := range selectRows(rng, len(r), alloc[g], nil) {
			idx = append(idx, r[j])
		}
	}
	slices.Sort(idx)
	return idx, len(vals)
}
