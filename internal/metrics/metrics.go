// Package metrics scores a clustering against true labels the way the paper
// and scikit-learn do: clustering accuracy (ACC, best one-to-one matching of
// clusters to classes), normalized mutual information (NMI, arithmetic mean
// normalization) and the adjusted Rand index (ARI).
//
// Labels are strings so that the caller never has to invent a common integer
// coding for truth and prediction; only equality of labels matters.
package metrics

import (
	"fmt"
	"math"
	"math/big"
	"sort"
)

// Table is the contingency table of a prediction against the truth.
type Table struct {
	// Truth and Pred are the distinct labels, sorted.
	Truth, Pred []string
	// Count[p][t] is the number of rows predicted Pred[p] whose true label is
	// Truth[t] (rows are predicted clusters, columns are true classes).
	Count [][]int
}

// N returns the number of rows counted in the table.
func (t *Table) N() int {
	n := 0
	for _, r := range t.Count {
		for _, c := range r {
			n += c
		}
	}
	return n
}

func checkLen(truth, pred []string) {
	if len(truth) != len(pred) {
		panic(fmt.Sprintf("metrics: %d true labels but %d predicted", len(truth), len(pred)))
	}
}

func distinct(labels []string) ([]string, map[string]int) {
	idx := make(map[string]int)
	for _, l := range labels {
		idx[l] = 0
	}
	out := make([]string, 0, len(idx))
	for l := range idx {
		out = append(out, l)
	}
	sort.Strings(out)
	for i, l := range out {
		idx[l] = i
	}
	return out, idx
}

// Contingency counts every (predicted, true) label pair. It panics when the
// slices differ in length (a programming error, not a user error).
func Contingency(truth, pred []string) *Table {
	checkLen(truth, pred)
	tl, ti := distinct(truth)
	pl, pi := distinct(pred)
	cnt := make([][]int, len(pl))
	flat := make([]int, len(pl)*len(tl))
	for p := range cnt {
		cnt[p] = flat[p*len(tl) : (p+1)*len(tl) : (p+1)*len(tl)]
	}
	for i := range truth {
		cnt[pi[pred[i]]][ti[truth[i]]]++
	}
	return &Table{Truth: tl, Pred: pl, Count: cnt}
}

// match returns, for every predicted cluster p, the true class index it is
// matched to (or -1), maximizing the total matched count.
func (t *Table) match() []int {
	np, nt := len(t.Pred), len(t.Truth)
	out := make([]int, np)
	for i := range out {
		out[i] = -1
	}
	if np == 0 || nt == 0 {
		return out
	}
	if np <= nt {
		cost := func(i, j int) int64 { return -int64(t.Count[i][j]) }
		for i, j := range assign(np, nt, cost) {
			out[i] = j
		}
		return out
	}
	cost := func(i, j int) int64 { return -int64(t.Count[j][i]) }
	for j, p := range assign(nt, np, cost) {
		out[p] = j
	}
	return out
}

// assign solves the rectangular assignment problem min sum cost(i, a[i]) over
// injective a: [0,n) -> [0,m), n <= m, with the shortest augmenting path
// (Hungarian / Jonker-Volgenant) method in O(n^2 m). Costs are integers, so
// the optimum is exact; ties are broken deterministically by index order.
func assign(n, m int, cost func(i, j int) int64) []int {
	const inf = math.MaxInt64 / 4
	u := make([]int64, n+1)
	v := make([]int64, m+1)
	p := make([]int, m+1) // p[j] = row (1-based) assigned to column j, 0 = free
	way := make([]int, m+1)
	minv := make([]int64, m+1)
	used := make([]bool, m+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = inf
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			delta := int64(inf)
			j1 := 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				cur := cost(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j] = cur
					way[j] = j0
				}
				if minv[j] < delta {
					delta = minv[j]
					j1 = j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	a := make([]int, n)
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			a[p[j]-1] = j - 1
		}
	}
	return a
}

// Accuracy is the clustering accuracy: the largest fraction of rows that a
// one-to-one mapping of predicted clusters to true classes gets right. The
// mapping is an exact maximum-weight matching on the (possibly rectangular)
// contingency table; rows of clusters left unmatched (more clusters than
// classes) and rows of classes no cluster maps to count as errors. It returns
// 0 for empty input.
func Accuracy(truth, pred []string) float64 {
	return Contingency(truth, pred).accuracy()
}

func (t *Table) accuracy() float64 {
	n := t.N()
	if n == 0 {
		return 0
	}
	hit := 0
	for p, c := range t.match() {
		if c >= 0 {
			hit += t.Count[p][c]
		}
	}
	return float64(hit) / float64(n)
}

// Mapping returns the cluster -> class mapping Accuracy uses. Clusters left
// unmatched (when there are more clusters than classes) are absent.
func Mapping(truth, pred []string) map[string]string {
	t := Contingency(truth, pred)
	out := make(map[string]string)
	for p, c := range t.match() {
		if c >= 0 {
			out[t.Pred[p]] = t.Truth[c]
		}
	}
	return out
}

// entropy mirrors sklearn.metrics.cluster.entropy on label counts.
func entropy(counts []float64) float64 {
	nz := 0
	sum := 0.0
	for _, c := range counts {
		if c > 0 {
			nz++
			sum += c
		}
	}
	if nz == 0 {
		return 1 // sklearn: entropy of an empty labelling is 1.0
	}
	if nz == 1 {
		return 0
	}
	logSum := math.Log(sum)
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			h += (c / sum) * (math.Log(c) - logSum)
		}
	}
	return -h
}

// NMI is the normalized mutual information with arithmetic-mean
// normalization, mirroring scikit-learn 1.2's normalized_mutual_info_score:
// 1 when both labellings have a single (or no) label, 0 when the mutual
// information is 0, otherwise MI / ((H(truth)+H(pred))/2).
func NMI(truth, pred []string) float64 {
	return Contingency(truth, pred).nmi()
}

func (t *Table) nmi() float64 {
	np, nt := len(t.Pred), len(t.Truth)
	if (np == 1 && nt == 1) || (np == 0 && nt == 0) {
		return 1
	}
	mi := mutualInfo(t)
	if mi == 0 {
		return 0
	}
	rowSum := make([]float64, np)
	colSum := make([]float64, nt)
	for p, r := range t.Count {
		for c, v := range r {
			rowSum[p] += float64(v)
			colSum[c] += float64(v)
		}
	}
	// mi > 0 implies both labellings have two or more labels, so both
	// entropies are positive and the division is safe.
	return mi / ((entropy(colSum) + entropy(rowSum)) / 2)
}

// mutualInfo mirrors sklearn's mutual_info_score on a contingency table,
// including its zeroing of terms smaller than eps and clipping at 0.
func mutualInfo(t *Table) float64 {
	np, nt := len(t.Pred), len(t.Truth)
	if np == 1 || nt == 1 {
		return 0
	}
	rowSum := make([]int64, np)
	colSum := make([]int64, nt)
	var total int64
	for p, r := range t.Count {
		for c, v := range r {
			rowSum[p] += int64(v)
			colSum[c] += int64(v)
			total += int64(v)
		}
	}
	n := float64(total)
	logN := math.Log(n)
	mi := 0.0
	for p, r := range t.Count {
		for c, v := range r {
			if v == 0 {
				continue
			}
			cnm := float64(v) / n
			logOuter := -math.Log(float64(rowSum[p]*colSum[c])) + logN + logN
			term := cnm*(math.Log(float64(v))-logN) + cnm*logOuter
			if math.Abs(term) < 0x1p-52 {
				term = 0
			}
			mi += term
		}
	}
	return math.Max(mi, 0)
}

// ARI is the Hubert-Arabie adjusted Rand index, mirroring scikit-learn 1.2's
// adjusted_rand_score: 1 when the two labellings agree on every pair
// (including empty input and both-single-cluster), otherwise
// 2 (tp tn - fn fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)) on the pair
// confusion matrix, computed in exact integers as Python does.
func ARI(truth, pred []string) float64 {
	return Contingency(truth, pred).ari()
}

func (t *Table) ari() float64 {
	np, nt := len(t.Pred), len(t.Truth)
	rowSum := make([]int64, np)
	colSum := make([]int64, nt)
	var n, sumSq int64
	for p, r := range t.Count {
		for c, v := range r {
			x := int64(v)
			rowSum[p] += x
			colSum[c] += x
			n += x
			sumSq += x * x
		}
	}
	var sumPred, sumTruth int64
	for _, s := range rowSum {
		sumPred += s * s
	}
	for _, s := range colSum {
		sumTruth += s * s
	}
	// sklearn's pair_confusion_matrix (ordered pairs, truth on its rows):
	// tp = pairs together in both, fp = together in pred only, fn = together
	// in truth only, tn = the rest.
	tp := sumSq - n
	fp := sumPred - sumSq
	fn := sumTruth - sumSq
	tn := n*n - fp - fn - sumSq
	if fn == 0 && fp == 0 {
		return 1
	}
	bi := func(x int64) *big.Int { return big.NewInt(x) }
	num := new(big.Int).Sub(new(big.Int).Mul(bi(tp), bi(tn)), new(big.Int).Mul(bi(fn), bi(fp)))
	d1 := new(big.Int).Mul(bi(tp+fn), bi(fn+tn))
	d2 := new(big.Int).Mul(bi(tp+fp), bi(fp+tn))
	den := d1.Add(d1, d2)
	// Python: 2.0 * int / int converts each integer to the nearest float64.
	return 2 * bigFloat(num) / bigFloat(den)
}

func bigFloat(x *big.Int) float64 {
	f, _ := new(big.Float).SetPrec(53).SetMode(big.ToNearestEven).SetInt(x).Float64()
	return f
}

// Report holds the three scores and the sizes they were computed on.
type Report struct {
	ACC, NMI, ARI float64
	// Rows scored, distinct true classes, distinct predicted clusters.
	Rows, TrueClasses, PredClusters int
}

// Score computes ACC, NMI and ARI of pred against truth.
func Score(truth, pred []string) Report {
	t := Contingency(truth, pred)
	return Report{
		ACC:          t.accuracy(),
		NMI:          t.nmi(),
		ARI:          t.ari(),
		Rows:         len(truth),
		TrueClasses:  len(t.Truth),
		PredClusters: len(t.Pred),
	}
}

// GCDReport is the generalized-category-discovery view of a clustering whose
// rows mix known ("old") and new classes: GCD's "v2" accuracies (Vaze et al.,
// CVPR 2022, split_cluster_acc_v2 in sgvaze/generalized-category-discovery),
// plus the old rows' accuracy without any matching and the numbers of new
// clusters and new classes.
type GCDReport struct {
	// ACC is v2 "All": the rows the one matching gets right over all rows.
	// It equals Accuracy: padding the table with empty rows or columns does
	// not change the best matching's total.
	ACC float64
	// OldRows and NewRows count the rows whose true class is old and new.
	OldRows, NewRows int
	// ACCOld and ACCNew are v2 "Old" and "New": the hits of that same
	// matching on the rows of old and of new classes, over OldRows and
	// NewRows. Each is 0 and meaningless when its row count is 0 (GCD's code
	// divides by zero there); callers must check the counts.
	ACCOld, ACCNew float64
	// ACCOldNamed is the share of old rows whose predicted name is exactly
	// their class name, with no matching at all. v2 lets a cluster named
	// "A" be matched to class B, so a new class can take an old class's
	// cluster and ACCOld credit rows the output calls by the wrong name;
	// this is the accuracy a user of the names sees. 0 when OldRows is 0.
	ACCOldNamed float64
	// KNew is the number of distinct predicted names that are not old
	// classes (the discovered clusters, novel_* in ncd's output); KNewTrue
	// the number of distinct true classes that are not old.
	KNew, KNewTrue int
	// Mapping is the matching as cluster -> class (clusters matched to no
	// class, and classes matched to no cluster, are absent).
	Mapping map[string]string
}

// GCD scores pred against truth GCD-style: one Hungarian matching over all
// the rows, as GCD's split_cluster_acc_v2 does, then its hits split by
// whether the row's true class is in old.
//
// The reference builds a square D x D table, D = max(clusters, classes),
// and solves one assignment on it, so that every class is matched (to an
// empty padding cluster when the clusters run out) and All = (old hits +
// new hits) / N. The same is done here. Where several matchings reach the
// same total, the reference's result depends on scipy's internal order;
// here the tie goes to the matching that pairs the most clusters with the
// class of the same name (an "A" cluster with class A), then to label
// order, so that the result is deterministic and never pairs "A" with B
// when "A" with A is as good.
func GCD(truth, pred []string, old []string) GCDReport {
	t := Contingency(truth, pred)
	isOld := make(map[string]bool, len(old))
	for _, c := range old {
		isOld[c] = true
	}
	np, nt := len(t.Pred), len(t.Truth)
	r := GCDReport{Mapping: map[string]string{}}
	d := max(np, nt)
	if d == 0 {
		return r
	}
	// Weight count*(d+1) + same-name: the same-name bonus sums to at most
	// d over a matching, less than one row's weight, so it only orders
	// matchings of equal total.
	cost := func(i, j int) int64 {
		if i >= np || j >= nt {
			return 0
		}
		w := int64(t.Count[i][j]) * int64(d+1)
		if t.Pred[i] == t.Truth[j] {
			w++
		}
		return -w
	}
	hitOld, hitNew := 0, 0
	for i, j := range assign(d, d, cost) {
		if i >= np || j >= nt {
			continue
		}
		r.Mapping[t.Pred[i]] = t.Truth[j]
		if isOld[t.Truth[j]] {
			hitOld += t.Count[i][j]
		} else {
			hitNew += t.Count[i][j]
		}
	}
	for j, c := range t.Truth {
		n := 0
		for i := range t.Pred {
			n += t.Count[i][j]
		}
		if isOld[c] {
			r.OldRows += n
		} else {
			r.NewRows += n
			r.KNewTrue++
		}
	}
	for _, p := range t.Pred {
		if !isOld[p] {
			r.KNew++
		}
	}
	named := 0
	for i := range truth {
		if isOld[truth[i]] && pred[i] == truth[i] {
			named++
		}
	}
	r.ACC = float64(hitOld+hitNew) / float64(r.OldRows+r.NewRows)
	if r.OldRows > 0 {
		r.ACCOld = float64(hitOld) / float64(r.OldRows)
		r.ACCOldNamed = float64(named) / float64(r.OldRows)
	}
	if r.NewRows > 0 {
		r.ACCNew = float64(hitNew) / float64(r.NewRows)
	}
	return r
}
