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
