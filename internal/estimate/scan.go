package estimate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Index names accepted by ScanOptions.Index and used as Curve.Scores keys.
const (
	IndexSilhouette = "silhouette" // mean silhouette, higher is better
	IndexCH         = "ch"         // Calinski-Harabasz, higher is better
	IndexDB         = "db"         // Davies-Bouldin, lower is better
	IndexElbow      = "elbow"      // Kneedle elbow of the k-means inertia curve
	IndexAll        = "all"        // majority vote of the four; ties go to silhouette
)

// Clusterer partitions the rows of X into k clusters and returns the labels
// and the k-means inertia (sum of squared distances to the cluster means;
// only the elbow index uses it). It must be deterministic for a given seed
// and may use up to threads goroutines.
type Clusterer func(ctx context.Context, X linalg.Matrix, k int, seed uint64, threads int) (labels []int, inertia float64, err error)

// KMeansClusterer returns a Clusterer running plain cluster.KMeans (no
// breathing refinement) with nInit k-means++ restarts (0 = its default of
// 10), seeded from seed. Plain k-means mirrors the scikit-learn protocol the
// paper's estimates come from (on letter's novel rows it picks k = 30 as
// scikit-learn does) and is about 30% cheaper; the scan's cost is almost all
// k-means.
func KMeansClusterer(nInit int) Clusterer {
	return func(ctx context.Context, X linalg.Matrix, k int, seed uint64, threads int) ([]int, float64, error) {
		res, err := cluster.KMeans(ctx, X, cluster.KMeansOptions{
			K: k, NInit: nInit, Threads: threads, Breathe: -1,
			Rng: rand.New(rand.NewPCG(seed, 0x6e6364)),
		})
		if err != nil {
			return nil, 0, err
		}
		return res.Labels, res.Inertia, nil
	}
}

// ScanOptions configures Scan. Zero values select the defaults.
type ScanOptions struct {
	// KMin and KMax bound the scanned k (defaults 2 and 30). KMax is clamped
	// to rows-1, the largest k the silhouette is defined for.
	KMin, KMax int
	// Runs is the number of independent clusterings per k (default 3); each
	// index is the mean over runs.
	Runs int
	// NInit is the number of k-means++ restarts inside one run (default 10),
	// used by the default Clusterer.
	NInit int
	// Index selects how K is chosen: "silhouette" (default), "ch", "db",
	// "elbow" or "all".
	Index string
	// Rule picks the silhouette's k: RuleMax (default) the highest mean
	// silhouette, RuleOneSE the smallest k whose mean silhouette is within
	// one standard error of the highest (see oneSE).
	Rule string
	// Threads bounds the goroutines (<= 0: GOMAXPROCS). Results do not depend on it.
	Threads int
	// Seed drives every clustering; the same seed gives the same Curve.
	Seed uint64
	// Progress, if set, is called with (0, K) when the clustering starts and
	// then each time all the runs of one k are done, with the number of k
	// done and the number K of k scanned ("k of K"; the largest k are
	// clustered first). Calls never overlap. The clustering is about 80% of
	// a scan's time; the partitions of every k are scored together after it
	// (ScoreProgress).
	Progress func(done, total int)
	// ScoreProgress, if set, is called while the silhouettes are computed,
	// once per block of rows, with the blocks done and the total. Calls never
	// overlap.
	ScoreProgress func(done, total int)
	// SampleRows: when X has more rows than this, the scan clusters and
	// scores a sample of this many rows, stratified by cluster and drawn from
	// Seed (see drawSample and Sample), instead of all of them. 0 means
	// DefaultSampleRows, a negative value never samples. The scan only
	// chooses k; it never labels the rows.
	SampleRows int
	// Cluster replaces k-means (nil: KMeansClusterer(NInit)).
	Cluster Clusterer
}

// Curve is the result of a scan.
type Curve struct {
	// Ks are the scanned k values, increasing.
	Ks []int
	// Scores[index][i] is the index's mean over runs at Ks[i] ("elbow" holds
	// the inertia). Silhouette is computed only for "silhouette" and "all".
	Scores map[string][]float64
	// Best is the k each computed index prefers.
	Best map[string]int
	// K is the chosen number of clusters, by Index.
	K int
	// Index is the rule that chose K.
	Index string
	// Inertia[i] is the mean k-means inertia over runs at Ks[i] (of the
	// sampled rows when Sample is set).
	Inertia []float64
	// Sample is set when the scan ran on a sample of the rows: its size and
	// the sampling error of the silhouette. The silhouette scores are then
	// the stratified estimates of the mean over all rows; the other indices
	// are those of the sample's partitions.
	Sample *Sample
	// Fallback, when set, says why the scan ran another rule than asked
	// (prediction strength on too few rows).
	Fallback string
	// Calibration is set by the caller of a RuleFolds scan: how the rule
	// was chosen.
	Calibration *Calibration
	// Sizes is set by the caller of a RuleSizes scan (ApplySizes): the
	// class sizes' estimate of k and whether it was used.
	Sizes *SizeEstimate
}

// Calibration records how RuleFolds chose its rule: on Folds hidden-class
// folds of Hidden known classes each (networks trained without them), the
// candidate rule whose k was closest to Hidden.
type Calibration struct {
	Folds  int `json:"folds"`
	Hidden int `json:"hidden"`
	// Rules are the candidates and MeanAbsErr their mean |k - Hidden| over
	// the folds; Rule is the one chosen (ties: the earlier candidate).
	Rules      []string  `json:"rules"`
	MeanAbsErr []float64 `json:"mean_abs_err"`
	Rule       string    `json:"rule"`
	// FoldK[f][i] is fold f's k under Rules[i].
	FoldK [][]int `json:"fold_k"`
}

func (o ScanOptions) resolve(rows int) (ScanOptions, error) {
	if o.KMin == 0 {
		o.KMin = 2
	}
	if o.KMax == 0 {
		o.KMax = 30
	}
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.NInit == 0 {
		o.NInit = 10
	}
	if o.Index == "" {
		o.Index = IndexSilhouette
	}
	if o.Rule == "" {
		o.Rule = RuleMax
	}
	if o.Rule != RuleMax && o.Rule != RuleOneSE && o.Rule != RulePS && o.Rule != RuleStable && o.Rule != RuleFolds && o.Rule != RuleSizes {
		return o, usererr.New("unknown k rule %q (want sizes, stable, ps, folds, 1se or max)", o.Rule)
	}
	switch o.Index {
	case IndexSilhouette, IndexCH, IndexDB, IndexElbow, IndexAll:
	default:
		return o, usererr.New("unknown index %q (want silhouette, ch, db, elbow or all)", o.Index)
	}
	if o.KMin < 2 {
		return o, usererr.New("k_min must be at least 2, got %d", o.KMin)
	}
	if o.KMin > o.KMax {
		return o, usererr.New("k_min %d exceeds k_max %d", o.KMin, o.KMax)
	}
	if o.Runs < 0 || o.NInit < 0 {
		return o, usererr.New("runs and n_init must be positive (got %d, %d)", o.Runs, o.NInit)
	}
	if rows < 3 {
		return o, usererr.New("estimating k needs at least 3 rows, got %d", rows)
	}
	if o.SampleRows == 0 {
		o.SampleRows = DefaultSampleRows
	}
	if o.SampleRows > 0 && o.SampleRows < 3 {
		return o, usererr.New("a scan sample needs at least 3 rows, got %d", o.SampleRows)
	}
	if o.SampleRows > 0 {
		rows = min(rows, o.SampleRows) // the rows actually clustered
	}
	o.KMax = min(o.KMax, rows-1)
	if o.KMin > o.KMax {
		return o, usererr.New("k_min %d exceeds the largest usable k %d (rows - 1)", o.KMin, o.KMax)
	}
	if o.Cluster == nil {
		o.Cluster = KMeansClusterer(o.NInit)
	}
	o.Threads = par.Threads(o.Threads)
	return o, nil
}

func checkMatrix(X linalg.Matrix) error {
	if len(X.Data) != X.Rows*X.Cols || X.Cols == 0 {
		return usererr.New("no features to cluster (%d rows, %d features)", X.Rows, X.Cols)
	}
	for idx, v := range X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return usererr.New("row %d, feature %d is %v (impute or drop missing values first)", idx/X.Cols+1, idx%X.Cols+1, v)
		}
	}
	return nil
}

// progressCounter serializes progress callbacks from worker goroutines.
type progressCounter struct {
	mu          sync.Mutex
	done, total int
	fn          func(done, total int)
}

func (p *progressCounter) add(n int) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	p.done += n
	p.fn(p.done, p.total)
	p.mu.Unlock()
}

// Scan clusters X for every k in [KMin, KMax] (Runs runs each), scores every
// partition with the validity indices and picks k: silhouette and
// Calinski-Harabasz maximal, Davies-Bouldin minimal, elbow by Kneedle on the
// mean inertia, "all" by majority vote (ties to silhouette's choice). Ties
// within an index go to the smallest k. Runs are spread over Threads; the
// silhouettes of all partitions are computed in one pass over the distances.
// Above SampleRows rows, all of this runs on a stratified sample of the rows
// (see Curve.Sample).
func Scan(ctx context.Context, X linalg.Matrix, opt ScanOptions) (*Curve, error) {
	if err := checkMatrix(X); err != nil {
		return nil, err
	}
	o, err := opt.resolve(X.Rows)
	if err != nil {
		return nil, err
	}
	if o.Rule == RulePS {
		return scanPS(ctx, X, o)
	}
	if o.Rule == RuleStable || o.Rule == RuleFolds || o.Rule == RuleSizes {
		return scanStable(ctx, X, o)
	}
	var smp *rowSample
	n := X.Rows
	if o.SampleRows > 0 && X.Rows > o.SampleRows {
		if smp, err = drawSample(ctx, X, o.SampleRows, strataFor(o.SampleRows), o.Seed, o.Threads); err != nil {
			return nil, err
		}
		X = X.Select(smp.idx)
	}
	nk := o.KMax - o.KMin + 1
	nTasks := nk * o.Runs
	// Seeds are drawn in (k, run) order up front so that every run's result
	// is fixed whatever order the runs execute in.
	rng := rand.New(rand.NewPCG(o.Seed, 0x7363616e))
	seeds := make([]uint64, nTasks)
	for t := range seeds {
		seeds[t] = rng.Uint64()
	}
	wantSil := o.Index == IndexSilhouette || o.Index == IndexAll
	labels := make([][]int, nTasks)
	inertia := make([]float64, nTasks)
	errs := make([]error, nTasks)
	// Progress counts the k whose runs are all done.
	prog := &progressCounter{fn: o.Progress, total: nk}
	runsDone := make([]int, nk)
	if o.Progress != nil {
		o.Progress(0, nk)
	}
	// One run per goroutine, single-threaded inside; the largest k (the
	// slowest runs) are started first so the last goroutines finish together.
	inner := max(1, o.Threads/nTasks)
	par.Each(o.Threads, nTasks, func(i int) {
		t := nTasks - 1 - i
		if ctx.Err() != nil {
			errs[t] = ctx.Err()
			return
		}
		k := o.KMin + t/o.Runs
		labels[t], inertia[t], errs[t] = o.Cluster(ctx, X, k, seeds[t], inner)
		prog.mu.Lock()
		runsDone[t/o.Runs]++
		finished := runsDone[t/o.Runs] == o.Runs
		prog.mu.Unlock()
		if finished {
			prog.add(1)
		}
	})
	for t, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("clustering with k = %d: %w", o.KMin+t/o.Runs, e)
		}
	}
	perTask := map[string][]float64{}
	var silRows, silInfl [][]float64
	if wantSil {
		// Per-row silhouettes are kept for the 1se rule and for the
		// stratified estimates of a sample (len(labels) x rows floats, rows
		// being at most SampleRows unless sampling is off).
		wantRows := o.Rule == RuleOneSE || smp != nil
		var inflRows []int
		if smp != nil {
			inflRows = smp.infl
		}
		sil, rows, infl, err := silhouetteRows(ctx, X, labels, o.Threads, wantRows, inflRows, o.ScoreProgress)
		if err != nil {
			return nil, err
		}
		if smp != nil {
			// The plain mean over a stratified sample is not the estimate of
			// the mean over all rows when the allocation is not exactly
			// proportional: weight the strata.
			for t, r := range rows {
				if r != nil {
					sil[t], _ = smp.mean(r, nil, true)
				}
			}
		}
		perTask[IndexSilhouette], silRows, silInfl = sil, rows, infl
	}
	ch := make([]float64, nTasks)
	db := make([]float64, nTasks)
	par.Each(o.Threads, nTasks, func(t int) {
		ch[t] = CalinskiHarabasz(X, labels[t])
		db[t] = DaviesBouldin(X, labels[t])
	})
	perTask[IndexCH], perTask[IndexDB] = ch, db

	c := &Curve{Ks: make([]int, nk), Scores: map[string][]float64{}, Best: map[string]int{}, Index: o.Index}
	for i := range c.Ks {
		c.Ks[i] = o.KMin + i
	}
	for name, v := range perTask {
		c.Scores[name] = meanRuns(v, o.Runs)
	}
	c.Inertia = meanRuns(inertia, o.Runs)
	c.Scores[IndexElbow] = c.Inertia
	diffStats := iidStats
	if smp != nil {
		c.Sample = &Sample{Rows: n, Sampled: len(smp.idx), Strata: len(smp.size)}
		diffStats = func(d []float64) (float64, float64) { return smp.mean(d, nil, false) }
		if wantSil {
			c.Sample.SilhouetteSE = make([]float64, nk)
			for i := range c.Ks {
				c.Sample.SilhouetteSE[i] = math.NaN()
				if r := runMeanRows(silInfl, i, o.Runs); r != nil {
					_, c.Sample.SilhouetteSE[i] = smp.mean(r, smp.infl, true)
				}
			}
		}
	}
	if s, ok := c.Scores[IndexSilhouette]; ok {
		c.Best[IndexSilhouette] = argBest(c.Ks, s, true)
		if o.Rule == RuleOneSE && c.Best[IndexSilhouette] > 0 {
			c.Best[IndexSilhouette] = oneSEWith(c.Ks, silRows, o.Runs, c.Best[IndexSilhouette], diffStats)
		}
	}
	c.Best[IndexCH] = argBest(c.Ks, c.Scores[IndexCH], true)
	c.Best[IndexDB] = argBest(c.Ks, c.Scores[IndexDB], false)
	c.Best[IndexElbow] = Kneedle(c.Ks, c.Inertia)
	if o.Index == IndexAll {
		c.K = vote(c.Best)
	} else {
		c.K = c.Best[o.Index]
	}
	if c.K == 0 {
		return nil, usererr.New("index %s is undefined for every k in [%d, %d] (too many identical rows?)", o.Index, o.KMin, o.KMax)
	}
	return c, nil
}

// Rules choosing k: the silhouette's (max, 1se), or prediction strength
// (ps, which replaces the silhouette scan: see scanPS).
const (
	RulePS     = "ps"
	RuleStable = "stable"
	// RuleFolds chooses between RuleStable and RulePS on hidden-class folds
	// of the known classes (see discover, which replaces it by the rule
	// chosen); a scan given it directly runs RuleStable.
	RuleFolds = "folds"
	RuleMax   = "max"
	RuleOneSE = "1se"
)

// oneSE returns the smallest k whose silhouette is within one standard error
// of the best k's: the mean over rows of s_best(i) - s_k(i) is at most the
// standard deviation of those differences over sqrt(rows), where s_k(i) is
// row i's silhouette averaged over k's runs. The rows are paired, so the
// error is that of the difference, not of each mean. This is the
// one-standard-error rule of model selection (Breiman et al. 1984, the gap
// statistic of Tibshirani et al. 2001): a larger k must beat a smaller one
// by more than the noise of the estimate to be preferred.
func oneSE(ks []int, rows [][]float64, runs, best int) int {
	return oneSEWith(ks, rows, runs, best, iidStats)
}

// iidStats returns the mean of d and its standard error as the mean of
// independent draws, sd / sqrt(n) with the population sd.
func iidStats(d []float64) (mean, se float64) {
	n := float64(len(d))
	sq := 0.0
	for _, v := range d {
		mean += v
	}
	mean /= n
	for _, v := range d {
		e := v - mean
		sq += e * e
	}
	return mean, math.Sqrt(sq/n) / math.Sqrt(n)
}

// oneSEWith is oneSE with the mean and standard error of the paired
// differences computed by stats: iidStats on all rows, the stratified
// estimates (rowSample.mean, without the finite population correction) on
// a sample, whose error is larger than all rows' would be, as it should:
// the rule compares k within the noise of the estimate actually made.
func oneSEWith(ks []int, rows [][]float64, runs, best int, stats func(d []float64) (mean, se float64)) int {
	b := runMeanRows(rows, slices.Index(ks, best), runs)
	d := make([]float64, len(b))
	for i, k := range ks {
		if k >= best {
			break
		}
		s := runMeanRows(rows, i, runs)
		if s == nil {
			continue
		}
		for j := range b {
			d[j] = b[j] - s[j]
		}
		if mean, se := stats(d); mean <= se {
			return k
		}
	}
	return best
}

// runMeanRows returns every row's silhouette averaged over the runs of the
// i-th k (rows[i*runs : (i+1)*runs], skipping undefined runs), or nil when
// every run is undefined.
func runMeanRows(rows [][]float64, i, runs int) []float64 {
	var out []float64
	m := 0
	for _, r := range rows[i*runs : (i+1)*runs] {
		if r == nil {
			continue
		}
		if out == nil {
			out = make([]float64, len(r))
		}
		for j, v := range r {
			out[j] += v
		}
		m++
	}
	for j := range out {
		out[j] /= float64(m)
	}
	return out
}

// meanRuns averages consecutive groups of runs values, skipping NaN (an
// undefined index, e.g. a run that produced a single cluster); NaN if all are.
func meanRuns(v []float64, runs int) []float64 {
	out := make([]float64, len(v)/runs)
	for i := range out {
		s, m := 0.0, 0
		for _, x := range v[i*runs : (i+1)*runs] {
			if !math.IsNaN(x) {
				s += x
				m++
			}
		}
		out[i] = math.NaN()
		if m > 0 {
			out[i] = s / float64(m)
		}
	}
	return out
}

// argBest returns the k with the highest (or lowest) non-NaN score, the
// smallest k on ties, or 0 when every score is NaN.
func argBest(ks []int, s []float64, maximize bool) int {
	best, bk := math.NaN(), 0
	for i, v := range s {
		if math.IsNaN(v) {
			continue
		}
		if bk == 0 || (maximize && v > best) || (!maximize && v < best) {
			best, bk = v, ks[i]
		}
	}
	return bk
}

// vote returns the k chosen by most indices; among tied k, silhouette's
// choice wins (it is always one of the tied when silhouette is computed),
// otherwise the smallest.
func vote(best map[string]int) int {
	count := map[int]int{}
	top := 0
	for _, k := range best {
		if k > 0 {
			count[k]++
			top = max(top, count[k])
		}
	}
	if s := best[IndexSilhouette]; s > 0 && count[s] == top {
		return s
	}
	out := 0
	for k, c := range count {
		if c == top && (out == 0 || k < out) {
			out = k
		}
	}
	return out
}
