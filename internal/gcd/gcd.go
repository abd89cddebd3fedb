// Package gcd is ncd's generalized-discovery setting (`--setting gcd`): the
// unlabeled rows mix rows of the known classes with rows of new classes, of
// which there may be none. It answers, in any space where the known classes
// have labelled rows (a fitted model's latent, or the z-scored features):
//
//   - how unlike the labelled rows each unlabeled row is (Scores: the mean
//     distance to its nearest labelled reference rows),
//   - a conformal p-value per row, from calibration rows of the known
//     classes that were held out of the reference (and of the classifier's
//     loss): under "this row is of a known class" p is uniform, so
//     P(p <= alpha) <= alpha (PValues),
//   - whether the unlabeled rows hold any new class at all: the number of
//     rows flagged (p <= alpha) is tested against its exact distribution
//     when every row is known, a beta-binomial (ExistenceP),
//   - how many new classes (EstimateKNew: prediction strength on the flagged
//     rows that sit closer to each other than to the labelled rows),
//
// and then assigns every unlabeled row to a known class or to one of k_new
// novel clusters with the known centroids fixed (Assign).
//
// Design and prototype measurements: docs/designs/gcd.md in the shared
// folder; what was measured with ncd itself is in the README.
package gcd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Setting names (the --setting flag).
const (
	SettingNCD = "ncd" // every unlabeled row is of a new class (the paper)
	SettingGCD = "gcd" // unlabeled rows mix known and new classes
)

// Novelty scores (Options.Novelty).
const (
	// NoveltyKNN is the mean distance to the KNN nearest reference rows
	// (default: AUROC known vs new .83-.99 in the prototype, against
	// .67-.91 for the nearest class mean).
	NoveltyKNN = "knn"
	// NoveltyCentroid is the distance to the nearest known-class mean of
	// the reference rows.
	NoveltyCentroid = "centroid"
)

// Defaults of Options.
const (
	DefaultCalibFrac = 0.2
	DefaultAlpha     = 0.05
	DefaultKNN       = 10
	// DefaultExistP: the existence test says "new classes" when the
	// chance of flagging as many rows with none is below it...
	DefaultExistP = 1e-3
	// DefaultMinFlagged: ... and at least this many rows are flagged.
	DefaultMinFlagged = 20
	// DefaultPSCutoff: k_new is the largest k whose prediction strength
	// on the cohesive flagged rows reaches it (Tibshirani and Walther's .8).
	DefaultPSCutoff = 0.8
	// DefaultPSRows caps the rows prediction strength runs on.
	DefaultPSRows = 1500
	// MinCalPerClass: each known class keeps at least this many rows for
	// calibration when it has twice as many (see CalibSplit).
	MinCalPerClass = 10
)

// Options configures the generalized setting. Zero values select the defaults.
type Options struct {
	// CalibFrac is the share of each known class's labelled rows held out
	// as calibration rows (--calib-frac, in (0, 1)).
	CalibFrac float64
	// Alpha is the conformal level: a row is flagged when p <= Alpha (--alpha).
	Alpha float64
	// Novelty is NoveltyKNN or NoveltyCentroid.
	Novelty string
	// KNN is the number of neighbours of the kNN score and of the cohesion filter.
	KNN int
	// ExistP and MinFlagged decide the existence test (see the constants).
	ExistP     float64
	MinFlagged int
	// FixK fixes k_new to K (0: no new class); otherwise it is estimated.
	FixK bool
	K    int
	// KMax bounds the estimated k_new (default 30).
	KMax int
	// NoKnownCutoff turns off the second cutoff of the k_new estimate: the
	// flagged rows' prediction strength at k must also reach what single
	// known classes reach at k (KnownQuantile, the highest by default), since a class with
	// several modes is stable at k = 2 or 3 too and one new class should
	// not count as several (see knownCutoff). Measured with 8 networks,
	// seed 0: pendigits with one new class k_new 3 -> 1 (All .844 -> .953),
	// letter and pendigits with 7 and 5 new classes unchanged (4 and 5).
	NoKnownCutoff bool
	// KnownQuantile is the quantile of the known classes' prediction
	// strength that cutoff takes (default 1: the highest). Seed 0, 8
	// networks: letter with one new class k_new 3 at .9 (All .780), 1 at
	// 1 (.857); pendigits and the full new sets unchanged.
	KnownQuantile float64
	// PSCutoff and PSRows configure EstimateKNew.
	PSCutoff float64
	PSRows   int
	// Seed drives the calibration split, the k_new estimate and the final
	// k-means; Threads bounds the goroutines (results do not depend on it).
	Seed    uint64
	Threads int
}

// Resolve fills the defaults and checks the values (user errors).
func (o Options) Resolve() (Options, error) {
	if o.CalibFrac == 0 {
		o.CalibFrac = DefaultCalibFrac
	}
	if o.Alpha == 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Novelty == "" {
		o.Novelty = NoveltyKNN
	}
	if o.KNN == 0 {
		o.KNN = DefaultKNN
	}
	if o.ExistP == 0 {
		o.ExistP = DefaultExistP
	}
	if o.MinFlagged == 0 {
		o.MinFlagged = DefaultMinFlagged
	}
	if o.KMax == 0 {
		o.KMax = 30
	}
	if o.PSCutoff == 0 {
		o.PSCutoff = DefaultPSCutoff
	}
	if o.PSRows == 0 {
		o.PSRows = DefaultPSRows
	}
	if o.KnownQuantile == 0 {
		o.KnownQuantile = 1
	}
	switch {
	case !(o.CalibFrac > 0 && o.CalibFrac < 1):
		return o, usererr.New("--calib-frac must be a fraction strictly between 0 and 1, got %v", o.CalibFrac)
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, usererr.New("--alpha must be strictly between 0 and 1, got %v", o.Alpha)
	case o.Novelty != NoveltyKNN && o.Novelty != NoveltyCentroid:
		return o, usererr.New("--novelty must be knn or centroid, got %q", o.Novelty)
	case o.KNN < 1:
		return o, usererr.New("the novelty score needs at least 1 neighbour, got %d", o.KNN)
	case o.KMax < 1:
		return o, usererr.New("--k-max must be at least 1, got %d", o.KMax)
	}
	return o, nil
}

// CalibSplit picks the calibration rows: of each known class's n labelled
// rows (known[i] = class, negative = unlabeled) it holds out round(frac*n),
// at least min(MinCalPerClass, n/2) and at most n-1, drawn without
// replacement from a stream seeded by seed and the class. cal[i] tells
// whether row i is a calibration row.
func CalibSplit(known []int, nClasses int, frac float64, seed uint64) []bool {
	byClass := make([][]int, nClasses)
	for i, c := range known {
		if c >= 0 && c < nClasses {
			byClass[c] = append(byClass[c], i)
		}
	}
	cal := make([]bool, len(known))
	for c, rows := range byClass {
		n := len(rows)
		m := int(math.Round(frac * float64(n)))
		m = max(m, min(MinCalPerClass, n/2))
		m = min(m, n-1)
		if m <= 0 {
			continue
		}
		rng := rand.New(rand.NewPCG(seed, 0x63616c^uint64(c)<<20)) // "cal"
		perm := rng.Perm(n)
		for _, j := range perm[:m] {
			cal[rows[j]] = true
		}
	}
	return cal
}

// knnBlock is the number of query rows whose distances are computed at once.
const knnBlock = 256

// KNNScores returns, for each row of X, the mean Euclidean distance to its k
// nearest rows of ref (all of them when ref has fewer). Brute force through
// blocked matrix products; deterministic whatever threads.
func KNNScores(X, ref linalg.Matrix, k, threads int) []float64 {
	out := make([]float64, X.Rows)
	if ref.Rows == 0 {
		for i := range out {
			out[i] = math.Inf(1)
		}
		return out
	}
	k = min(k, ref.Rows)
	refN := linalg.RowSqNorms(ref, nil)
	par.For(par.Threads(threads), X.Rows, knnBlock, func(_, lo, hi int) {
		q := X.Slice(lo, hi)
		qN := linalg.RowSqNorms(q, nil)
		d := linalg.New(q.Rows, ref.Rows)
		linalg.SqDist(d, q, qN, ref, refN)
		best := make([]float64, k)
		for i := 0; i < q.Rows; i++ {
			out[lo+i] = meanSmallest(d.Row(i), best)
		}
	})
	return out
}

// meanSmallest returns the mean square root of the len(best) smallest
// values of sq (squared distances); best is scratch.
func meanSmallest(sq, best []float64) float64 {
	k := len(best)
	n := 0
	for _, v := range sq {
		if n < k {
			// insertion into the sorted prefix
			j := n
			for j > 0 && best[j-1] > v {
				best[j] = best[j-1]
				j--
			}
			best[j] = v
			n++
			continue
		}
		if v >= best[k-1] {
			continue
		}
		j := k - 1
		for j > 0 && best[j-1] > v {
			best[j] = best[j-1]
			j--
		}
		best[j] = v
	}
	s := 0.0
	for _, v := range best[:n] {
		s += math.Sqrt(v)
	}
	return s / float64(n)
}

// CentroidScores returns, for each row of X, the Euclidean distance to the
// nearest row of centroids.
func CentroidScores(X, centroids linalg.Matrix, threads int) []float64 {
	out := make([]float64, X.Rows)
	par.For(par.Threads(threads), X.Rows, knnBlock, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			best := math.Inf(1)
			for c := 0; c < centroids.Rows; c++ {
				best = min(best, linalg.SqDistRows(X.Row(i), centroids.Row(c)))
			}
			out[i] = math.Sqrt(best)
		}
	})
	return out
}

// PValues returns the conformal p-value of each score against the
// calibration scores: p = (1 + #{c : cal_c >= s}) / (len(cal) + 1). When
// the row and the calibration rows are exchangeable (a known-class row),
// P(p <= a) <= a for every a. cal need not be sorted.
func PValues(cal, scores []float64) []float64 {
	s := slices.Clone(cal)
	slices.Sort(s)
	n := len(s)
	out := make([]float64, len(scores))
	for i, x := range scores {
		// first index with s[j] >= x
		j, _ := slices.BinarySearch(s, x)
		out[i] = float64(1+n-j) / float64(n+1)
	}
	return out
}

// Flagged returns the number of p-values <= alpha.
func Flagged(p []float64, alpha float64) int {
	n := 0
	for _, v := range p {
		if v <= alpha {
			n++
		}
	}
	return n
}

// betaBinomParams are the parameters (a, b) of the flag probability's
// distribution when nothing is new: a row is flagged (p <= alpha) iff its
// score exceeds the (nCal+1-m)-th smallest calibration score, m =
// floor(alpha*(nCal+1)), and that happens with probability Beta(m, nCal+1-m)
// over the calibration draw (the design's l = ceil((nCal+1)(1-alpha)) is
// nCal+1-m).
func betaBinomParams(nCal int, alpha float64) (a, b float64) {
	m := math.Floor(alpha*float64(nCal+1) + 1e-9)
	return m, float64(nCal+1) - m
}

// MinCal is the fewest calibration rows with which a row can be flagged at
// level alpha (alpha*(nCal+1) >= 1).
func MinCal(alpha float64) int {
	return int(math.Ceil(1/alpha-1e-9)) - 1
}

// ExistenceP returns P(X >= flagged) for X ~ BetaBinomial(nUnl, a, b): the
// chance that at least flagged of nUnl unlabeled rows are flagged at level
// alpha with nCal calibration rows when every unlabeled row is of a known
// class (exchangeable with the calibration rows). The rows share one
// calibration set, so their flags are dependent; a plain Binomial(nUnl,
// alpha) would be far too confident (letter with no new class: .0009
// against the beta-binomial's .098 in the prototype).
func ExistenceP(nUnl, flagged, nCal int, alpha float64) float64 {
	a, b := betaBinomParams(nCal, alpha)
	return BetaBinomialSF(flagged, nUnl, a, b)
}

// BetaBinomialSF returns P(X >= x) for X ~ BetaBinomial(n, a, b), a, b > 0:
// sum over j = x..n of C(n, j) B(j+a, n-j+b) / B(a, b), in log space.
func BetaBinomialSF(x, n int, a, b float64) float64 {
	if x <= 0 {
		return 1
	}
	if x > n {
		return 0
	}
	if a <= 0 {
		return 0 // nothing can be flagged
	}
	lbeta := func(p, q float64) float64 {
		lp, _ := math.Lgamma(p)
		lq, _ := math.Lgamma(q)
		lpq, _ := math.Lgamma(p + q)
		return lp + lq - lpq
	}
	lchoose := func(n, k int) float64 {
		l1, _ := math.Lgamma(float64(n + 1))
		l2, _ := math.Lgamma(float64(k + 1))
		l3, _ := math.Lgamma(float64(n - k + 1))
		return l1 - l2 - l3
	}
	base := lbeta(a, b)
	// The upper tail summed directly (the test's p-values are small);
	// log-sum-exp keeps terms far out from underflowing the sum.
	terms := make([]float64, 0, n-x+1)
	mx := math.Inf(-1)
	for j := x; j <= n; j++ {
		t := lchoose(n, j) + lbeta(float64(j)+a, float64(n-j)+b) - base
		terms = append(terms, t)
		mx = max(mx, t)
	}
	s := 0.0
	for _, t := range terms {
		s += math.Exp(t - mx)
	}
	return min(1, math.Exp(mx)*s)
}

// Cohesive returns the flagged rows (indices into X) that sit closer to the
// other flagged rows than to the reference rows (ECSMiner's idea): with a =
// the mean distance to its k nearest other flagged rows and b = its score
// against the reference rows (refScores, the kNN score), a row is kept when
// b > a. A row flagged for being an outlier of a known class is near no
// other flagged row; a row of a new class sits among its class's rows.
func Cohesive(X linalg.Matrix, flagged []int, refScores []float64, k, threads int) []int {
	if len(flagged) < 2 {
		return nil
	}
	F := X.Select(flagged)
	// k+1 nearest flagged rows, the row itself (distance 0) among them.
	kk := min(k+1, F.Rows)
	fN := linalg.RowSqNorms(F, nil)
	a := make([]float64, F.Rows)
	par.For(par.Threads(threads), F.Rows, knnBlock, func(_, lo, hi int) {
		q := F.Slice(lo, hi)
		d := linalg.New(q.Rows, F.Rows)
		linalg.SqDist(d, q, fN[lo:hi], F, fN)
		best := make([]float64, kk)
		for i := 0; i < q.Rows; i++ {
			d.Row(i)[lo+i] = 0 // itself, exactly
			// mean over the kk smallest includes the 0 of the row itself
			a[lo+i] = meanSmallest(d.Row(i), best) * float64(kk) / float64(kk-1)
		}
	})
	var keep []int
	for j, i := range flagged {
		if refScores[i] > a[j] {
			keep = append(keep, i)
		}
	}
	return keep
}

// KCurve is the k_new estimate's prediction-strength curve.
type KCurve struct {
	Ks     []int
	PS, SE []float64
	// Rows is the number of rows the curve was computed on (a seeded
	// sample of at most Options.PSRows kept rows).
	Rows int
	// Known[i] is the known classes' (o.KnownQuantile) prediction strength
	// at Ks[i] (NaN where not computed; see Options.NoKnownCutoff).
	Known []float64
}

// knownCutoff lowers the k of curve to the largest k whose prediction
// strength also reaches the o.KnownQuantile quantile of single known
// classes' prediction strength at k (each class's reference rows, at most 400 of
// them, classes with fewer than 40 rows left out; 1 when none passes).
func knownCutoff(ctx context.Context, s Space, curve *KCurve, o Options) (int, error) {
	byClass := make([][]int, s.NClasses)
	for i, c := range s.RefClass {
		byClass[c] = append(byClass[c], i)
	}
	curve.Known = make([]float64, len(curve.Ks))
	for i := range curve.Known {
		curve.Known[i] = math.NaN()
	}
	for i := len(curve.Ks) - 1; i >= 0; i-- {
		k := curve.Ks[i]
		if k < 2 || curve.PS[i] < o.PSCutoff {
			continue
		}
		var ps []float64
		for c, rows := range byClass {
			if len(rows) < 40 {
				continue
			}
			rows = estimate.Subsample(rand.New(rand.NewPCG(o.Seed, 0x6b6e6f776e^uint64(c)<<24)), rows, 400) // "known"
			p, _, err := estimate.PredictionStrength(ctx, s.Ref.Select(rows), []int{k}, estimate.StabilityOptions{Repeats: 5, NInit: 3,
				Strict: true, Threads: o.Threads, Seed: o.Seed ^ uint64(c)})
			if err != nil {
				return 0, err
			}
			ps = append(ps, p[0])
		}
		if len(ps) == 0 {
			return k, nil
		}
		slices.Sort(ps)
		q := ps[max(0, int(math.Ceil(o.KnownQuantile*float64(len(ps))))-1)]
		curve.Known[i] = q
		if curve.PS[i] >= q {
			return k, nil
		}
	}
	return 1, nil
}

// EstimateKNew returns the largest k in 1..kMax whose prediction strength
// on the rows of X reaches cutoff (PS(1) = 1, so at least 1), scanning k in
// batches and stopping after 5 k in a row below the cutoff. Above maxRows
// rows a seeded uniform sample is used. Deterministic whatever threads.
func EstimateKNew(ctx context.Context, X linalg.Matrix, o Options) (int, *KCurve, error) {
	if X.Rows < 4 {
		return 1, &KCurve{Rows: X.Rows}, nil
	}
	if X.Rows > o.PSRows {
		rng := rand.New(rand.NewPCG(o.Seed, 0x6b6e6577)) // "knew"
		perm := rng.Perm(X.Rows)[:o.PSRows]
		slices.Sort(perm)
		X = X.Select(perm)
	}
	curve := &KCurve{Rows: X.Rows}
	kMax := min(o.KMax, X.Rows/2)
	const patience, batch = 5, 5
	fails := 0
	best := 1
	for lo := 1; lo <= kMax && fails < patience; lo += batch {
		var ks []int
		for k := lo; k < lo+batch && k <= kMax; k++ {
			ks = append(ks, k)
		}
		ps, se, err := estimate.PredictionStrength(ctx, X, ks, estimate.StabilityOptions{Repeats: 10, NInit: 10, Strict: true,
			Threads: o.Threads, Seed: o.Seed})
		if err != nil {
			return 0, nil, err
		}
		for i, k := range ks {
			if fails >= patience {
				break
			}
			curve.Ks, curve.PS, curve.SE = append(curve.Ks, k), append(curve.PS, ps[i]), append(curve.SE, se[i])
			if ps[i] >= o.PSCutoff {
				best, fails = k, 0
			} else {
				fails++
			}
		}
	}
	return best, curve, nil
}

// Space is the input of Detect: the rows of one space.
type Space struct {
	// Ref are the labelled reference rows (known classes, calibration rows
	// excluded) and RefClass their classes (0..NClasses-1).
	Ref      linalg.Matrix
	RefClass []int
	NClasses int
	// Cal are the calibration rows (known classes, held out) and CalClass
	// their classes.
	Cal      linalg.Matrix
	CalClass []int
	// Unl are the unlabeled rows to test and cluster.
	Unl linalg.Matrix
}

// Detection is what Detect finds among the unlabeled rows.
type Detection struct {
	// Scores[i] is unlabeled row i's novelty score, P[i] its conformal
	// p-value, Flag[i] = P[i] <= alpha.
	Scores, P []float64
	Flag      []bool
	// CalScores are the calibration rows' scores, sorted (the model file
	// keeps them to score new rows).
	CalScores []float64
	// NFlagged counts the flagged rows; Expected is their expected number
	// when no row is new (nUnl times the mean flag probability).
	NFlagged int
	Expected float64
	// ExistP is the existence test's p-value, Exists its answer.
	ExistP float64
	Exists bool
	// Kept are the cohesive flagged rows (indices into Unl) k_new was
	// estimated on (nil when the test failed or k was given).
	Kept []int
	// KNew is the number of new classes, KEstimated whether it was
	// estimated, Curve the estimate (nil otherwise).
	KNew       int
	KEstimated bool
	Curve      *KCurve
}

// Detect scores the unlabeled rows, runs the existence test and chooses
// k_new (0 when the test fails and the
// prediction-strength estimate on the cohesive flagged rows when it passes;
// o.K when o.FixK).
// o must be resolved.
func Detect(ctx context.Context, s Space, o Options) (*Detection, error) {
	if s.Cal.Rows < MinCal(o.Alpha) {
		return nil, usererr.New("gcd: %d calibration rows are too few to flag any row at --alpha %v (need %d: raise --calib-frac or --alpha, or label more rows)",
			s.Cal.Rows, o.Alpha, MinCal(o.Alpha))
	}
	if s.Ref.Rows == 0 {
		return nil, usererr.New("gcd: no labelled reference rows left after the calibration split")
	}
	d := &Detection{}
	var centroids linalg.Matrix
	if o.Novelty == NoveltyCentroid {
		centroids = cluster.KnownMeans(s.Ref, s.RefClass, s.NClasses)
		centroids = dropNaNRows(centroids)
	}
	score := func(X linalg.Matrix) []float64 {
		if o.Novelty == NoveltyCentroid {
			return CentroidScores(X, centroids, o.Threads)
		}
		return KNNScores(X, s.Ref, o.KNN, o.Threads)
	}
	d.CalScores = score(s.Cal)
	slices.Sort(d.CalScores)
	d.Scores = score(s.Unl)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.P = PValues(d.CalScores, d.Scores)
	d.Flag = make([]bool, len(d.P))
	var flagged []int
	for i, p := range d.P {
		if p <= o.Alpha {
			d.Flag[i] = true
			flagged = append(flagged, i)
		}
	}
	d.NFlagged = len(flagged)
	a, b := betaBinomParams(s.Cal.Rows, o.Alpha)
	d.Expected = float64(s.Unl.Rows) * a / (a + b)
	d.ExistP = ExistenceP(s.Unl.Rows, d.NFlagged, s.Cal.Rows, o.Alpha)
	d.Exists = d.ExistP < o.ExistP && d.NFlagged >= o.MinFlagged
	if o.FixK {
		d.KNew = o.K
		return d, nil
	}
	d.KEstimated = true
	if !d.Exists {
		return d, nil
	}
	ref := d.Scores
	if o.Novelty == NoveltyCentroid { // the cohesion filter compares kNN distances
		ref = KNNScores(s.Unl.Select(flagged), s.Ref, o.KNN, o.Threads)
		full := make([]float64, s.Unl.Rows)
		for j, i := range flagged {
			full[i] = ref[j]
		}
		ref = full
	}
	d.Kept = Cohesive(s.Unl, flagged, ref, o.KNN, o.Threads)
	if len(d.Kept) < o.MinFlagged {
		// The flagged rows are scattered outliers of the known classes.
		d.Kept = nil
		d.Exists = false
		return d, nil
	}
	k, curve, err := EstimateKNew(ctx, s.Unl.Select(d.Kept), o)
	if err != nil {
		return nil, err
	}
	if !o.NoKnownCutoff && k > 1 {
		if k, err = knownCutoff(ctx, s, curve, o); err != nil {
			return nil, err
		}
	}
	d.KNew, d.Curve = k, curve
	return d, nil
}

func dropNaNRows(m linalg.Matrix) linalg.Matrix {
	var keep []int
	for i := 0; i < m.Rows; i++ {
		if !math.IsNaN(m.Row(i)[0]) {
			keep = append(keep, i)
		}
	}
	return m.Select(keep)
}

// Assignment is where Assign put each unlabeled row.
type Assignment struct {
	// Novel[i] is row i's novel cluster (0..k-1), or -1 when it joined a
	// known class, then Known[i] (nearest known centroid), else -1.
	Novel, Known []int
	// Centroids are the k novel centroids; Inertia the sum of squared
	// distances of every row to its centroid, known or novel.
	Centroids linalg.Matrix
	Inertia   float64
}

// Assign clusters the unlabeled rows X into the fixed known centroids plus
// k novel ones (NCD k-means with AssignKnown; k = 0: nearest known
// centroid). km carries the restarts, threads and generator.
func Assign(ctx context.Context, X, knownCentroids linalg.Matrix, k int, km cluster.KMeansOptions, variant string) (*Assignment, error) {
	a := &Assignment{Novel: make([]int, X.Rows), Known: make([]int, X.Rows)}
	if k == 0 {
		lab, inertia := cluster.Assign(X, knownCentroids, km.Threads)
		for i, c := range lab {
			a.Novel[i], a.Known[i] = -1, c
		}
		a.Centroids, a.Inertia = linalg.New(0, X.Cols), inertia
		return a, nil
	}
	if k > X.Rows {
		return nil, usererr.New("k_new = %d exceeds the %d unlabeled rows", k, X.Rows)
	}
	km.K = k
	r, err := cluster.NCDKMeans(ctx, X, knownCentroids, cluster.NCDKMeansOptions{KMeansOptions: km, AssignKnown: true, Variant: variant})
	if err != nil {
		return nil, err
	}
	copy(a.Novel, r.Labels)
	copy(a.Known, r.KnownLabel)
	a.Centroids, a.Inertia = r.Centroids, r.Inertia
	return a, nil
}

// Reference is what scoring new rows' novelty needs (kept in the model file).
type Reference struct {
	// Novelty, KNN and Alpha are the options the fit used.
	Novelty string
	KNN     int
	Alpha   float64
	// Ref are the reference rows (or, for NoveltyCentroid, the known
	// centroids) and CalScores the calibration scores, sorted.
	Ref       linalg.Matrix
	CalScores []float64
	// Labelled are every labelled row (reference then calibration rows)
	// and LabelledClass their classes, which Name votes over.
	Labelled      linalg.Matrix
	LabelledClass []int
	NClasses      int
}

// NewReference builds the reference of a fit.
func NewReference(s Space, d *Detection, o Options) *Reference {
	lab := linalg.New(s.Ref.Rows+s.Cal.Rows, s.Ref.Cols)
	copy(lab.Data, s.Ref.Data)
	copy(lab.Data[len(s.Ref.Data):], s.Cal.Data)
	r := &Reference{Novelty: o.Novelty, KNN: o.KNN, Alpha: o.Alpha, Ref: s.Ref, CalScores: d.CalScores,
		Labelled: lab, LabelledClass: append(slices.Clone(s.RefClass), s.CalClass...), NClasses: s.NClasses}
	if o.Novelty == NoveltyCentroid {
		r.Ref = dropNaNRows(cluster.KnownMeans(s.Ref, s.RefClass, s.NClasses))
	}
	return r
}

// Score returns the novelty scores and conformal p-values of X's rows.
func (r *Reference) Score(X linalg.Matrix, threads int) (scores, p []float64) {
	if r.Novelty == NoveltyCentroid {
		scores = CentroidScores(X, r.Ref, threads)
	} else {
		scores = KNNScores(X, r.Ref, r.KNN, threads)
	}
	return scores, PValues(r.CalScores, scores)
}

// Check tells whether a reference read from a file is usable.
func (r *Reference) Check() error {
	if r.Ref.Rows == 0 || len(r.CalScores) == 0 || r.KNN < 1 || !(r.Alpha > 0 && r.Alpha < 1) ||
		r.Labelled.Rows != len(r.LabelledClass) || r.Labelled.Rows == 0 || r.Labelled.Cols != r.Ref.Cols || r.NClasses < 1 {
		return fmt.Errorf("incomplete generalized-setting reference")
	}
	return nil
}

// Name returns, for each row of X, the known class most voted among its k
// nearest rows of lab (classes labClass in 0..nClasses-1), ties going to
// the class whose voters are nearer in sum, then to the lower class, and
// share, that class's share of the k votes. It names the unlabeled rows
// that join a known class: on the bundled tables the vote over all the
// labelled rows named the old rows better than the networks' classifier
// (no new class, 8 networks: letter .856 against .608, optdigits .974
// against .944; the classifier is trained without the calibration rows).
func Name(X, lab linalg.Matrix, labClass []int, nClasses, k, threads int) (class []int, share []float64) {
	class, share = make([]int, X.Rows), make([]float64, X.Rows)
	if lab.Rows == 0 {
		for i := range class {
			class[i] = -1
		}
		return class, share
	}
	k = min(k, lab.Rows)
	labN := linalg.RowSqNorms(lab, nil)
	par.For(par.Threads(threads), X.Rows, knnBlock, func(_, lo, hi int) {
		q := X.Slice(lo, hi)
		d := linalg.New(q.Rows, lab.Rows)
		linalg.SqDist(d, q, linalg.RowSqNorms(q, nil), lab, labN)
		bd, bi := make([]float64, k), make([]int, k)
		votes, dist := make([]int, nClasses), make([]float64, nClasses)
		for i := 0; i < q.Rows; i++ {
			n := smallestK(d.Row(i), bd, bi)
			clear(votes)
			clear(dist)
			for j := range n {
				c := labClass[bi[j]]
				votes[c]++
				dist[c] += math.Sqrt(bd[j])
			}
			best := 0
			for c := 1; c < nClasses; c++ {
				if votes[c] > votes[best] || (votes[c] == votes[best] && dist[c] < dist[best]) {
					best = c
				}
			}
			class[lo+i], share[lo+i] = best, float64(votes[best])/float64(n)
		}
	})
	return class, share
}

// smallestK fills bd/bi with the len(bd) smallest values of sq and their
// indices, increasing (ties: lower index first), and returns how many.
func smallestK(sq, bd []float64, bi []int) int {
	k, n := len(bd), 0
	for idx, v := range sq {
		if n == k && v >= bd[k-1] {
			continue
		}
		j := n
		if n < k {
			n++
		} else {
			j = k - 1
		}
		for j > 0 && bd[j-1] > v {
			bd[j], bi[j] = bd[j-1], bi[j-1]
			j--
		}
		bd[j], bi[j] = v, idx
	}
	return n
}

// AUROC returns the area under the ROC curve of scores for telling
// positives (pos[i]) from the other rows: the probability that a random
// positive scores higher than a random negative, ties counting half
// (Mann-Whitney U). NaN when either group is empty.
func AUROC(scores []float64, pos []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var np, nn int
	rankSum := 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for _, t := range idx[i:j] {
			if pos[t] {
				np++
				rankSum += r
			} else {
				nn++
			}
		}
		i = j
	}
	if np == 0 || nn == 0 {
		return math.NaN()
	}
	return (rankSum - float64(np)*float64(np+1)/2) / (float64(np) * float64(nn))
}
