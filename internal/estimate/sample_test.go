package estimate

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// TestAllocate: proportional allocation by largest remainders, worked by
// hand. 20 rows over strata of 50, 30, 15, 4, 1 (of 100): quotas 10, 6, 3,
// .8, .2; the integer parts give 19 and the one left goes to the .8.
func TestAllocate(t *testing.T) {
	for _, c := range []struct {
		pop  []int
		m    int
		want []int
	}{
		{[]int{50, 30, 15, 4, 1}, 20, []int{10, 6, 3, 1, 0}},
		{[]int{1, 1, 1}, 2, []int{1, 1, 0}}, // equal remainders: the lower strata
		{[]int{7, 3}, 10, []int{7, 3}},
	} {
		if got := allocate(c.pop, c.m); !reflect.DeepEqual(got, c.want) {
			t.Errorf("allocate(%v, %d) = %v, want %v", c.pop, c.m, got, c.want)
		}
	}
}

// TestMergeSmallStrata: centroids at 0, 1, 10 and 11 holding 100, 1, 100
// and 3 rows; 40 sampled rows of 204 expect 19.6, .2, 19.6 and .6, so the
// second joins the first (distance 1, not 10) and the fourth the third.
func TestMergeSmallStrata(t *testing.T) {
	cent := linalg.FromRows([][]float64{{0}, {1}, {10}, {11}})
	var lab []int
	for c, n := range []int{100, 1, 100, 3} {
		for range n {
			lab = append(lab, c)
		}
	}
	if h := mergeSmallStrata(lab, cent, 40); h != 2 {
		t.Fatalf("%d strata, want 2", h)
	}
	if lab[0] != 0 || lab[100] != 0 || lab[101] != 1 || lab[201] != 1 || lab[203] != 1 {
		t.Errorf("relabelled %v ... %v", lab[:2], lab[99:])
	}
}

// TestStratifiedMean checks rowSample.mean by hand: strata of 6 and 4 rows
// (weights .6, .4) sampled as {1, 3} (mean 2, variance 2) and {4, 5, 6}
// (mean 5, variance 1). Mean .6*2 + .4*5 = 3.2; variance without the finite
// population correction .36*2/2 + .16*1/3, with it .36*2/2*(1-2/6) +
// .16*1/3*(1-3/4).
func TestStratifiedMean(t *testing.T) {
	s := &rowSample{stratum: []int32{0, 1, 0, 1, 1}, weight: []float64{.6, .4}, size: []int{2, 3}, pop: []int{6, 4}}
	v := []float64{1, 4, 3, 5, 6}
	mean, se := s.mean(v, nil, false)
	if math.Abs(mean-3.2) > 1e-15 || math.Abs(se-math.Sqrt(.36+.16/3)) > 1e-15 {
		t.Errorf("no fpc: %v +- %v, want 3.2 +- %v", mean, se, math.Sqrt(.36+.16/3))
	}
	mean, se = s.mean(v, nil, true)
	if want := math.Sqrt(.36*2/3 + .16/3/4); math.Abs(mean-3.2) > 1e-15 || math.Abs(se-want) > 1e-15 {
		t.Errorf("fpc: %v +- %v, want 3.2 +- %v", mean, se, want)
	}
	// Values at sampled rows 0, 2, 3 and 4 only: stratum 1 has {5, 6} (mean
	// 5.5, variance .5) but still 3 sampled rows: .36*2/2 + .16*.5/3.
	mean, se = s.mean([]float64{1, 3, 5, 6}, []int{0, 2, 3, 4}, false)
	if want := math.Sqrt(.36 + .16*.5/3); math.Abs(mean-3.4) > 1e-15 || math.Abs(se-want) > 1e-15 {
		t.Errorf("subset: %v +- %v, want 3.4 +- %v", mean, se, want)
	}
}

// TestSelectRows: m distinct increasing rows of n, each row equally likely.
func TestSelectRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	count := make([]int, 10)
	const draws = 30000
	for range draws {
		got := selectRows(rng, 10, 3, nil)
		if len(got) != 3 || got[0] >= got[1] || got[1] >= got[2] {
			t.Fatalf("not 3 increasing rows: %v", got)
		}
		for _, i := range got {
			count[i]++
		}
	}
	for i, c := range count {
		// p = .3, sd of the frequency sqrt(.3*.7/30000) = .0026.
		if f := float64(c) / draws; math.Abs(f-.3) > .012 {
			t.Errorf("row %d drawn with frequency %.4f, want .3", i, f)
		}
	}
	if got := selectRows(rng, 4, 4, nil); !reflect.DeepEqual(got, []int{0, 1, 2, 3}) {
		t.Errorf("all of 4: %v", got)
	}
	if got := selectRows(rng, 4, 0, nil); len(got) != 0 {
		t.Errorf("none of 4: %v", got)
	}
}

// weightedSilhouette is the mean silhouette with row weights w: every mean
// (a row's a and b, and the mean over rows) weighted; with w = 1 it is the
// silhouette. Brute force, for tiny inputs.
func weightedSilhouette(X linalg.Matrix, lab []int, k int, w []float64) float64 {
	n := X.Rows
	num, den := 0.0, 0.0
	for i := 0; i < n; i++ {
		sum := make([]float64, k)
		wt := make([]float64, k)
		for j := 0; j < n; j++ {
			if j != i {
				sum[lab[j]] += w[j] * math.Sqrt(linalg.SqDistRows(X.Row(i), X.Row(j)))
				wt[lab[j]] += w[j]
			}
		}
		a := sum[lab[i]] / wt[lab[i]]
		b := math.Inf(1)
		for c := 0; c < k; c++ {
			if c != lab[i] {
				b = min(b, sum[c]/wt[c])
			}
		}
		num += w[i] * (b - a) / max(a, b)
		den += w[i]
	}
	return num / den
}

// TestSilhouetteInfluence checks psi_j against the derivative of the
// weighted mean silhouette S(w) with respect to row j's weight: with every
// weight 1, n dS/dw_j = psi_j - S (Hampel's influence function). Central
// differences on 3 overlapping clusters of 7 rows.
func TestSilhouetteInfluence(t *testing.T) {
	X, lab := blobs(3, 7, 2, 2, 1, 9)
	n := X.Rows
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	sil, _, infl, err := silhouetteRows(context.Background(), X, [][]int{lab}, 1, false, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if s := weightedSilhouette(X, lab, 3, w); math.Abs(s-sil[0]) > 1e-12 {
		t.Fatalf("weighted silhouette at w = 1: %v, want %v", s, sil[0])
	}
	const h = 1e-5
	for j := 0; j < n; j++ {
		w[j] = 1 + h
		up := weightedSilhouette(X, lab, 3, w)
		w[j] = 1 - h
		down := weightedSilhouette(X, lab, 3, w)
		w[j] = 1
		want := float64(n)*(up-down)/(2*h) + sil[0]
		if math.Abs(infl[0][j]-want) > 1e-6 {
			t.Errorf("row %d: psi %.8f, numeric %.8f", j, infl[0][j], want)
		}
	}
}

// TestSampledSilhouetteError: the sampling error reported for the mean
// silhouette is the error it makes. A fixed labelling of 6000 rows (4
// overlapping Gaussian classes in 20 dimensions, 10% of the rows put in
// the wrong class); 30 stratified samples of 1500 rows; the standardized
// errors (estimate - exact) / SE must look standard normal (measured: mean
// -.01, sd 1.10). With the rows' own spread alone (no influence term) the
// same errors come out 1.7 standard errors wide: every row's a and b are
// made from the same sampled rows, so their errors do not average out.
// The estimate also has a bias of order 1/m (a ratio of means inside the
// sample): at 800 rows the errors' mean was .68 standard errors.
func TestSampledSilhouetteError(t *testing.T) {
	X, y := blobs(4, 1500, 20, 0.6, 1, 7)
	lab := append([]int(nil), y...)
	for i := range lab {
		if i%10 == 3 {
			lab[i] = (lab[i] + 1) % 4
		}
	}
	exact := Silhouette(X, lab, 2)
	var z, zRows []float64
	for seed := range uint64(30) {
		smp, err := drawSample(context.Background(), X, 1500, strataFor(1500), seed, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(smp.idx) != 1500 {
			t.Fatalf("sample of %d rows", len(smp.idx))
		}
		sl := make([]int, len(smp.idx))
		for j, i := range smp.idx {
			sl[j] = lab[i]
		}
		_, rows, infl, err := silhouetteRows(context.Background(), X.Select(smp.idx), [][]int{sl}, 2, true, smp.infl, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(smp.infl) < 1000 || len(smp.infl) > 1100 {
			t.Fatalf("influence of %d rows", len(smp.infl))
		}
		est, seRows := smp.mean(rows[0], nil, true)
		_, se := smp.mean(infl[0], smp.infl, true)
		z = append(z, (est-exact)/se)
		zRows = append(zRows, (est-exact)/seRows)
	}
	mz, sz := meanSD(z)
	_, szRows := meanSD(zRows)
	t.Logf("exact %.4f; z: mean %.4f, sd %.4f (rows only: sd %.4f)", exact, mz, sz, szRows)
	if math.Abs(mz) > 0.6 || sz < 0.6 || sz > 1.5 {
		t.Errorf("standardized errors: mean %.2f, sd %.2f; want about 0 and 1", mz, sz)
	}
	for i, v := range z {
		if math.Abs(v) > 4 {
			t.Errorf("sample %d: error of %.1f standard errors", i, v)
		}
	}
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// TestScanSampled: 4 Gaussian classes of 1000 rows; a scan on a sample of
// 1000 rows finds 4 with either rule, reports the sample and the error of
// every silhouette, gives the same curve at 1 and 2 threads, and its
// silhouettes are within a few standard errors of the scan of every row.
// At or below SampleRows nothing changes.
func TestScanSampled(t *testing.T) {
	X, _ := blobs(4, 1000, 10, 1.5, 1, 21)
	opt := ScanOptions{KMax: 8, Runs: 2, NInit: 4, SampleRows: 1000, Seed: 3, Threads: 1, Rule: RuleOneSE}
	c1, err := Scan(context.Background(), X, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c1.K != 4 {
		t.Errorf("1se on the sample chose %d (silhouette %v)", c1.K, c1.Scores[IndexSilhouette])
	}
	s := c1.Sample
	if s == nil || s.Rows != 4000 || s.Sampled != 1000 || s.Strata < 15 || s.Strata > 20 || len(s.SilhouetteSE) != 7 {
		t.Fatalf("sample %+v", s)
	}
	for i, se := range s.SilhouetteSE {
		if !(se > 0 && se < 0.02) {
			t.Errorf("k = %d: silhouette error %v", c1.Ks[i], se)
		}
	}
	opt.Threads = 2
	c2, err := Scan(context.Background(), X, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c1, c2) {
		t.Errorf("threads change the sampled curve:\n%+v\n%+v", c1, c2)
	}
	opt.Rule = RuleMax
	mx, err := Scan(context.Background(), X, opt)
	if err != nil || mx.K != 4 || !reflect.DeepEqual(mx.Scores, c1.Scores) {
		t.Errorf("max rule: k %d, %v", mx.K, err)
	}
	all := opt
	all.SampleRows = -1
	full, err := Scan(context.Background(), X, all)
	if err != nil {
		t.Fatal(err)
	}
	if full.Sample != nil || full.K != 4 {
		t.Fatalf("scan of every row: k %d, sample %+v", full.K, full.Sample)
	}
	// The partitions differ (k-means on 1000 rows or on 4000), so allow 4
	// errors at the true k.
	if d := math.Abs(c1.Scores[IndexSilhouette][2] - full.Scores[IndexSilhouette][2]); d > 4*s.SilhouetteSE[2] {
		t.Errorf("k = 4: sampled silhouette %.4f +- %.4f, all rows %.4f", c1.Scores[IndexSilhouette][2], s.SilhouetteSE[2], full.Scores[IndexSilhouette][2])
	}
	at := opt
	at.SampleRows = 4000
	same, err := Scan(context.Background(), X, at)
	if err != nil || !reflect.DeepEqual(same, full) {
		t.Errorf("SampleRows = rows changed the scan (%v)", err)
	}
}

// TestKnownACCSearchSampled: 8 well-separated blobs of 1000 rows, 4 of them
// known with half their rows labelled; on a sample of 4000 rows the search
// still finds the 4 novel classes, the same at 1 and 2 threads (as on all
// rows, a k-means that splits a novel blob keeps the known rows' ACC at 1,
// so with fewer restarts or 2000 rows it says 5, as it does on all rows
// with 3 restarts). The sample
// keeps every label in proportion, and at least 2 rows of a tiny class.
func TestKnownACCSearchSampled(t *testing.T) {
	X, y := blobs(8, 1000, 5, 12, 1, 5)
	known := make([]int, len(y))
	for i, c := range y {
		known[i] = -1
		if c < 4 && i%16 < 8 {
			known[i] = c
		}
	}
	var res [2]*KnownResult
	for i, th := range []int{1, 2} {
		r, err := KnownACCSearch(context.Background(), X, known, KnownOptions{KMax: 8, NInit: 10, Threads: th, Seed: 2, SampleRows: 4000})
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	r := res[0]
	if r.Known != 4 || r.Novel != 4 || r.ACC != 1 || r.Sampled != 4000 || r.Groups != 5 {
		t.Errorf("got %+v; want 4 known, 4 novel, ACC 1, 4000 rows of 5 groups", r)
	}
	if !reflect.DeepEqual(res[0], res[1]) {
		t.Errorf("threads change the search: %+v, %+v", res[0], res[1])
	}
	for i := range 3 {
		known[i*8+4] = 4 // 3 rows labelled as a fifth class
	}
	idx, groups := sampleByLabel(known, 2000, 2)
	count := map[int]int{}
	for _, i := range idx {
		count[known[i]]++
	}
	// 8000 rows: 2000 labelled in 4 classes (500 each, 125 sampled), 3 in
	// class 4 (.75: raised to 2, from the largest group), the rest
	// unlabelled (5997: 1499.25, 1499 by the remainders, 1498 after).
	if groups != 6 || len(idx) != 2000 || count[4] != 2 || count[0] != 125 || count[-1] != 1498 {
		t.Errorf("groups %d, %d rows, per label %v", groups, len(idx), count)
	}
}

// Subsample keeps rows whole up to m, and otherwise takes the positions of
// the first m of the generator's permutation, in the rows' own order.
func TestSubsample(t *testing.T) {
	rows := []int{10, 11, 12, 13, 14, 15, 16, 17}
	if got := Subsample(rand.New(rand.NewPCG(1, 2)), rows, 8); &got[0] != &rows[0] {
		t.Error("m = len(rows): want rows itself")
	}
	perm := rand.New(rand.NewPCG(1, 2)).Perm(len(rows))[:3]
	slices.Sort(perm)
	want := []int{rows[perm[0]], rows[perm[1]], rows[perm[2]]}
	got := Subsample(rand.New(rand.NewPCG(1, 2)), rows, 3)
	if !slices.Equal(got, want) || !slices.IsSorted(got) {
		t.Errorf("got %v, want %v (increasing)", got, want)
	}
}
