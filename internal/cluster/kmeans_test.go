package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/testutil"
	"github.com/ncd-project/ncd/internal/usererr"
)

var algos = []string{AlgoLloyd, AlgoHamerly, AlgoElkan}

func col(vals ...float64) linalg.Matrix {
	return linalg.Matrix{Data: vals, Rows: len(vals), Cols: 1}
}

// skipHeavy skips a slow check under -short and under -race.
func skipHeavy(t *testing.T, why string) {
	t.Helper()
	if testing.Short() || raceOn {
		t.Skip(why + ": skipped under -short and -race")
	}
}

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*max(1, math.Abs(b)) }

// blobs draws n rows around k Gaussian centres in d dimensions.
func blobs(n, d, k int, spread float64, seed uint64) linalg.Matrix {
	r := rng(seed)
	centres := make([]float64, k*d)
	for i := range centres {
		centres[i] = r.NormFloat64() * 5
	}
	X := linalg.New(n, d)
	for i := 0; i < n; i++ {
		c := r.IntN(k)
		for j := 0; j < d; j++ {
			X.Data[i*d+j] = centres[c*d+j] + spread*r.NormFloat64()
		}
	}
	return X
}

// checkConsistent asserts that labels are nearest-centroid, Inertia is the sum
// of squared distances, no cluster is empty and, with exactMeans (a run that
// stopped because no label changed), each centroid is the mean of its rows.
// After a tolerance stop the final assignment pass may move a few rows, so the
// centroids are the previous means, as in scikit-learn.
func checkConsistent(t *testing.T, X linalg.Matrix, res *Result, exactMeans bool) {
	t.Helper()
	k, d := res.Centroids.Rows, X.Cols
	sum := make([]float64, k*d)
	cnt := make([]int, k)
	inertia := 0.0
	for i, l := range res.Labels {
		cnt[l]++
		addTo(sum[l*d:(l+1)*d], X.Row(i))
		inertia += linalg.SqDistRows(X.Row(i), res.Centroids.Row(l))
	}
	for j := 0; j < k; j++ {
		if cnt[j] == 0 {
			t.Fatalf("cluster %d is empty", j)
		}
		for f := 0; f < d && exactMeans; f++ {
			if !near(res.Centroids.At(j, f), sum[j*d+f]/float64(cnt[j]), 1e-12) {
				t.Fatalf("centroid %d feature %d = %v, mean of its rows %v", j, f, res.Centroids.At(j, f), sum[j*d+f]/float64(cnt[j]))
			}
		}
	}
	if !near(res.Inertia, inertia, 1e-12) {
		t.Fatalf("inertia %v, recomputed %v", res.Inertia, inertia)
	}
	labels, in2 := Assign(X, res.Centroids, 1)
	if !slices.Equal(labels, res.Labels) {
		t.Fatalf("labels are not nearest-centroid")
	}
	if !near(in2, res.Inertia, 1e-12) {
		t.Fatalf("Assign inertia %v != %v", in2, res.Inertia)
	}
}

func TestKMeansTiny1D(t *testing.T) {
	// Two obvious groups: centroids 1 and 11, inertia (1+0+1)*2 = 4.
	X := col(0, 1, 2, 10, 11, 12)
	for _, algo := range algos {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 2, Rng: rng(1), Algorithm: algo})
		if err != nil {
			t.Fatal(err)
		}
		c := []float64{res.Centroids.Data[0], res.Centroids.Data[1]}
		slices.Sort(c)
		if c[0] != 1 || c[1] != 11 || res.Inertia != 4 {
			t.Fatalf("%s: centroids %v inertia %v, want [1 11] and 4", algo, c, res.Inertia)
		}
		l := res.Labels
		if l[0] != l[1] || l[1] != l[2] || l[3] != l[4] || l[4] != l[5] || l[0] == l[3] {
			t.Fatalf("%s: labels %v", algo, l)
		}
		if res.NInitRun != 10 || res.Algorithm != algo {
			t.Fatalf("NInitRun %d Algorithm %s", res.NInitRun, res.Algorithm)
		}
	}
}

func TestKMeansThreeGroups(t *testing.T) {
	// Three groups in 2-D: {(0,0),(0,2)} mean (0,1) SS 2; {(10,0),(12,0),(11,3)}
	// mean (11,1) SS 1+1+1+1+0+4 = 8; {(0,20)} SS 0. Total 10.
	X := linalg.FromRows([][]float64{{0, 0}, {10, 0}, {0, 2}, {12, 0}, {0, 20}, {11, 3}})
	want := [][]float64{{0, 1}, {0, 20}, {11, 1}}
	for _, algo := range algos {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 3, Rng: rng(2), Algorithm: algo})
		if err != nil {
			t.Fatal(err)
		}
		var got [][]float64
		for j := 0; j < 3; j++ {
			got = append(got, res.Centroids.Row(j))
		}
		slices.SortFunc(got, func(a, b []float64) int {
			if a[0] != b[0] {
				return int(math.Copysign(1, a[0]-b[0]))
			}
			return int(math.Copysign(1, a[1]-b[1]))
		})
		for j := range want {
			if !slices.Equal(got[j], want[j]) {
				t.Fatalf("%s: centroids %v, want %v", algo, got, want)
			}
		}
		if res.Inertia != 10 {
			t.Fatalf("%s: inertia %v, want 10", algo, res.Inertia)
		}
		checkConsistent(t, X, res, true)
	}
}

func TestKMeansKEqualsN(t *testing.T) {
	X := linalg.FromRows([][]float64{{0, 0}, {1, 0}, {0, 1}, {5, 5}})
	res, err := KMeans(context.Background(), X, KMeansOptions{K: 4, Rng: rng(3)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inertia != 0 {
		t.Fatalf("inertia %v, want 0", res.Inertia)
	}
	l := slices.Clone(res.Labels)
	slices.Sort(l)
	if !slices.Equal(l, []int{0, 1, 2, 3}) {
		t.Fatalf("labels %v not a permutation", res.Labels)
	}
}

func TestKMeansDuplicateRows(t *testing.T) {
	// Only two distinct points for K = 3: a cluster must still get a row
	// (re-seeding an empty cluster from the farthest rows), inertia 0.
	X := col(1, 1, 1, 1, 7, 7)
	for _, algo := range algos {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 3, Rng: rng(4), Algorithm: algo})
		if err != nil {
			t.Fatal(err)
		}
		if res.Inertia != 0 {
			t.Fatalf("%s: inertia %v, want 0", algo, res.Inertia)
		}
	}
}

func TestEmptyClusterRelocation(t *testing.T) {
	// Start with centroids 0.5, 100, 200: every row goes to 0.5, clusters 1 and
	// 2 are empty. The farthest row from its centroid (11, squared distance
	// 110.25) re-seeds cluster 1, the next (10, 90.25) cluster 2. Final
	// centroids 0.5, 11, 10; inertia 0.25+0.25 = 0.5.
	X := col(0, 1, 10, 11)
	p := newProblem(X)
	for _, algo := range algos {
		res, err := p.fit(context.Background(), col(0.5, 100, 200), 3, 100, 0, algo, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.centers.Data, []float64{0.5, 11, 10}) || !slices.Equal(res.labels, []int{0, 0, 2, 1}) || res.inertia != 0.5 {
			t.Fatalf("%s: centers %v labels %v inertia %v", algo, res.centers.Data, res.labels, res.inertia)
		}
	}
}

func TestBreathingLeavesLocalOptimum(t *testing.T) {
	// Groups {-1,0,1}, {9,10,11}, {19,20,21}. From centroids -0.5, 0.5, 15 Lloyd
	// stops at a local optimum: {-1,0}, {1}, {9..21} with inertia 0.5+0+154.
	// Breathing moves a centroid from the crowded first group to the merged
	// one and reaches the optimum 2+2+2 = 6.
	X := col(-1, 0, 1, 9, 10, 11, 19, 20, 21)
	p := newProblem(X)
	for _, algo := range algos {
		start, err := p.fit(context.Background(), col(-0.5, 0.5, 15), 3, 100, 0, algo, 1)
		if err != nil {
			t.Fatal(err)
		}
		if start.inertia != 154.5 {
			t.Fatalf("%s: Lloyd from the bad start: inertia %v, want 154.5", algo, start.inertia)
		}
		best, rounds, err := p.breathe(context.Background(), start, 3, 3, 100, 0, breatheTol, algo, rng(1), 1)
		if err != nil {
			t.Fatal(err)
		}
		c := slices.Clone(best.centers.Data)
		slices.Sort(c)
		if best.inertia != 6 || !slices.Equal(c, []float64{0, 10, 20}) || rounds < 2 {
			t.Fatalf("%s: breathing gave centroids %v inertia %v after %d rounds", algo, c, best.inertia, rounds)
		}
	}
}

func TestKMeansErrors(t *testing.T) {
	ok := col(1, 2, 3)
	nan := col(1, math.NaN(), 3)
	inf := col(1, math.Inf(1), 3)
	cases := []struct {
		name string
		X    linalg.Matrix
		opt  KMeansOptions
	}{
		{"K=0", ok, KMeansOptions{K: 0}},
		{"K>rows", ok, KMeansOptions{K: 4}},
		{"empty", linalg.Matrix{}, KMeansOptions{K: 1}},
		{"no features", linalg.Matrix{Rows: 3}, KMeansOptions{K: 1}},
		{"NaN", nan, KMeansOptions{K: 1}},
		{"Inf", inf, KMeansOptions{K: 1}},
		{"algo", ok, KMeansOptions{K: 1, Algorithm: "magic"}},
		{"n_init", ok, KMeansOptions{K: 1, NInit: -1}},
		{"tol", ok, KMeansOptions{K: 1, Tol: math.NaN()}},
	}
	for _, c := range cases {
		_, err := KMeans(context.Background(), c.X, c.opt)
		if err == nil || !usererr.Is(err) {
			t.Errorf("%s: err = %v, want a user error", c.name, err)
		}
		_, err = NCDKMeans(context.Background(), c.X, linalg.Matrix{}, NCDKMeansOptions{KMeansOptions: c.opt})
		if err == nil || !usererr.Is(err) {
			t.Errorf("NCD %s: err = %v, want a user error", c.name, err)
		}
	}
}

func TestKMeansCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := KMeans(ctx, blobs(500, 3, 4, 1, 1), KMeansOptions{K: 4}); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestKMeansProgress(t *testing.T) {
	var calls []int
	_, err := KMeans(context.Background(), blobs(300, 2, 3, 1, 1), KMeansOptions{K: 3, NInit: 7, Threads: 2,
		Progress: func(done, total int) {
			if total != 7 {
				t.Errorf("total %d", total)
			}
			calls = append(calls, done)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []int{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("progress calls %v", calls)
	}
}

func TestTolerance(t *testing.T) {
	// Population variances of the two columns: 8/3... column 0 = {0,2,4}: 8/3;
	// column 1 = {1,1,1}: 0; mean 4/3.
	X := linalg.FromRows([][]float64{{0, 1}, {2, 1}, {4, 1}})
	if got := meanVariance(X); !near(got, 4.0/3, 1e-15) {
		t.Fatalf("meanVariance = %v, want 4/3", got)
	}
}

// irisZ is iris standardized with its own mean and population std.
func irisZ(t *testing.T) linalg.Matrix {
	X, _ := loadCSV(t, "iris.csv")
	m, s := testutil.ColStats(X)
	testutil.Standardize(X, m, s)
	return X
}

func TestKMeansIrisVsSklearn(t *testing.T) {
	// Plain k-means (no breathing) against scikit-learn.
	// Best inertia of scikit-learn 1.2.1 KMeans(k, n_init=10, algorithm="lloyd")
	// over random_state 0..49 (500 restarts) on iris standardized with numpy
	// (ddof=0), computed with Debian's python3-sklearn. We get the same restart
	// budget (NInit 500, one fixed seed) and must reach the same optimum. (Single
	// restarts behave alike too: over 1000 n_init=1 runs at k=4 sklearn reached
	// 114.0922 10 times, ncd 11 times; at k=8 the best single run was 62.2359 in both.)
	sk := map[int]float64{2: 222.36170496502302, 3: 139.82049635974982, 4: 114.09223843568273, 5: 90.80728315078542, 8: 62.213746857857586}
	X := irisZ(t)
	ks := []int{2, 3, 4, 5, 8}
	nInit := 500
	if testing.Short() || raceOn {
		ks, nInit = []int{2, 3}, 50
	}
	for _, algo := range algos {
		for _, k := range ks {
			res, err := KMeans(context.Background(), X, KMeansOptions{K: k, NInit: nInit, Rng: rng(1), Algorithm: algo, Threads: 2, Breathe: -1})
			if err != nil {
				t.Fatal(err)
			}
			checkConsistent(t, X, res, false)
			if res.Inertia > sk[k]*(1+1e-6) {
				t.Errorf("%s k=%d: best inertia %.10g > sklearn %.10g", algo, k, res.Inertia, sk[k])
			}
			// Far below sklearn's best would mean a wrong inertia, not a better optimum.
			if res.Inertia < sk[k]*(1-1e-6) {
				t.Errorf("%s k=%d: best inertia %.10g below sklearn's %.10g", algo, k, res.Inertia, sk[k])
			}
		}
	}
	if testing.Short() || raceOn {
		return
	}
	// Seeding quality: the share of single restarts (n_init=1) reaching the k=3
	// optimum. scikit-learn: 316 of 2000 (random_state 0..1999), i.e. 0.158;
	// the binomial standard error at 2000 runs is 0.008.
	hits := 0
	for seed := uint64(0); seed < 2000; seed++ {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 3, NInit: 1, Rng: rng(seed), Breathe: -1})
		if err != nil {
			t.Fatal(err)
		}
		if near(res.Inertia, sk[3], 1e-9) {
			hits++
		}
	}
	if f := float64(hits) / 2000; math.Abs(f-0.158) > 0.03 {
		t.Errorf("k=3: %d of 2000 single restarts reach the optimum (%.3f), sklearn 0.158", hits, f)
	}
}

func TestKMeansWineVsSklearn(t *testing.T) {
	// scikit-learn 1.2.1 on wine standardized (ddof=0): k=3, best of
	// KMeans(n_init=10) over random_state 0..49; k=6, best of 3000 single
	// restarts (random_state 0..2999; only 3 of them got below 1039.2825, so
	// the k=6 landscape needs thousands of restarts: we run 3 x 3000).
	sk := map[int]float64{3: 1277.9284888446423, 6: 1038.798375453535}
	X, _ := loadCSV(t, "wine.csv")
	m, s := testutil.ColStats(X)
	testutil.Standardize(X, m, s)
	for k, want := range sk {
		best := math.Inf(1)
		nInit, seeds := 100, uint64(1)
		if k == 6 {
			if testing.Short() || raceOn {
				continue
			}
			nInit, seeds = 3000, 3
		}
		for seed := uint64(1); seed <= seeds; seed++ {
			res, err := KMeans(context.Background(), X, KMeansOptions{K: k, NInit: nInit, Rng: rng(seed), Threads: 2, Breathe: -1})
			if err != nil {
				t.Fatal(err)
			}
			best = min(best, res.Inertia)
		}
		if !near(best, want, 1e-9) {
			t.Errorf("k=%d: best inertia %.12g, sklearn %.12g", k, best, want)
		}
	}
}

func sameResult(t *testing.T, what string, a, b *Result) {
	t.Helper()
	if !slices.Equal(a.Labels, b.Labels) || a.Inertia != b.Inertia || !slices.Equal(a.Centroids.Data, b.Centroids.Data) || a.Iter != b.Iter || a.BestInit != b.BestInit {
		t.Fatalf("%s: results differ (inertia %v vs %v, iter %d vs %d, best %d vs %d)", what, a.Inertia, b.Inertia, a.Iter, b.Iter, a.BestInit, b.BestInit)
	}
}

func TestKMeansThreadsIdentical(t *testing.T) {
	// 2000 rows span 8 chunks, so the chunked reductions are exercised;
	// NInit 1 puts the threads inside the fit (and the breathing refinement
	// always runs inside), NInit 4 across restarts.
	X := blobs(2000, 6, 8, 3, 7)
	for _, algo := range algos {
		for _, nInit := range []int{1, 4} {
			var ref *Result
			for _, th := range []int{1, 2, 3} {
				res, err := KMeans(context.Background(), X, KMeansOptions{K: 8, NInit: nInit, Rng: rng(11), Algorithm: algo, Threads: th, Tol: -1})
				if err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref = res
					checkConsistent(t, X, res, true)
					continue
				}
				sameResult(t, algo, ref, res)
			}
		}
	}
}

func TestAcceleratedAgreeWithLloyd(t *testing.T) {
	// Same seeds, exact iterations: Hamerly and Elkan must reach Lloyd's partition.
	X := blobs(3000, 5, 10, 4, 3)
	for seed := uint64(0); seed < 5; seed++ {
		a, err := KMeans(context.Background(), X, KMeansOptions{K: 10, NInit: 3, Rng: rng(seed), Algorithm: AlgoLloyd, Tol: -1, Breathe: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, algo := range []string{AlgoHamerly, AlgoElkan} {
			b, err := KMeans(context.Background(), X, KMeansOptions{K: 10, NInit: 3, Rng: rng(seed), Algorithm: algo, Tol: -1, Breathe: -1})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Labels, b.Labels) || !near(a.Inertia, b.Inertia, 1e-12) || a.Iter != b.Iter {
				t.Fatalf("seed %d: lloyd inertia %v iter %d, %s %v iter %d", seed, a.Inertia, a.Iter, algo, b.Inertia, b.Iter)
			}
		}
	}
}

func TestSeedProbabilities(t *testing.T) {
	// Classic k-means++ (1 trial) from a fixed centroid at 0 over rows {1, 2}:
	// squared distances 1 and 4, so row 2 is drawn with probability 0.8
	// (it would be 2/3 with plain distances, as the reference code does).
	X := col(1, 2)
	p := newProblem(X)
	known := col(0)
	r := rng(5)
	const draws = 20000
	hits := 0
	for range draws {
		if kmeansPP(p, 1, 1, &known, r, 1, false).Data[0] == 2 {
			hits++
		}
	}
	if f := float64(hits) / draws; math.Abs(f-0.8) > 0.015 {
		t.Fatalf("P(row 2) = %v, want 0.8", f)
	}
	// Rows sitting on a placed centroid are never drawn.
	X = col(0, 0, 0, 5, 0)
	p = newProblem(X)
	for seed := uint64(0); seed < 50; seed++ {
		if c := kmeansPP(p, 1, 3, &known, rng(seed), 1, false).Data[0]; c != 5 {
			t.Fatalf("seed %d drew %v", seed, c)
		}
	}
}

func TestGreedySeedingPicksBestCandidate(t *testing.T) {
	// Known centroid at 0; ten rows at 10 (squared distance 100 each) and one
	// at 20 (400). A single draw picks 20 with probability 400/1400 = 0.29, but
	// it is the worse centre: the potential after adding 10 is 100 (only the
	// row at 20 left, at distance 10), after adding 20 it is 1000. With 20 greedy
	// trials a 10 is among the candidates except with probability 0.29^20.
	X := col(10, 10, 10, 10, 10, 20, 10, 10, 10, 10, 10)
	p := newProblem(X)
	known := col(0)
	single := 0
	for seed := uint64(0); seed < 50; seed++ {
		if c := kmeansPP(p, 1, 20, &known, rng(seed), 1, false).Data[0]; c != 10 {
			t.Fatalf("greedy, seed %d picked %v", seed, c)
		}
		if kmeansPP(p, 1, 1, &known, rng(seed), 1, false).Data[0] == 20 {
			single++
		}
	}
	if single < 5 || single > 25 {
		t.Fatalf("single draws picked 20 in %d of 50 runs, expected about 14", single)
	}
}

func TestAssignMatchesBruteForce(t *testing.T) {
	X := blobs(1000, 7, 5, 2, 9)
	C := blobs(12, 7, 3, 4, 10)
	for _, th := range []int{1, 2} {
		labels, inertia := Assign(X, C, th)
		want := 0.0
		for i := 0; i < X.Rows; i++ {
			best, bv := 0, math.Inf(1)
			for j := 0; j < C.Rows; j++ {
				if v := linalg.SqDistRows(X.Row(i), C.Row(j)); v < bv {
					best, bv = j, v
				}
			}
			if labels[i] != best {
				t.Fatalf("row %d: label %d, want %d", i, labels[i], best)
			}
			want += bv
		}
		if !near(inertia, want, 1e-12) {
			t.Fatalf("inertia %v, want %v", inertia, want)
		}
	}
}

func TestKMeansLetterQuality(t *testing.T) {
	// Issue requirement: on letter (z-scored with its own mean and population
	// std, k = 26) the n_init = 10 inertia is within 1.001 of the best of 100
	// restarts. Best of 100 plain restarts: ncd 121009.97 (NInit 100, Breathe -1,
	// rng(100); 2 minutes on the loaded dev machine, so the number is written
	// here), scikit-learn 1.2.1 KMeans(26, n_init=100, random_state=123)
	// 121086.24. Plain n_init = 10 does not get there (scikit-learn, random_state
	// 0..4: 121150.1..121390.7; ncd: 121058..121472); the breathing refinement
	// does (default depth 3, seeds 0..3: 120953..121056).
	skipHeavy(t, "letter k=26")
	const best100 = 121009.97
	X, _ := loadCSV(t, "letter.csv")
	m, s := testutil.ColStats(X)
	testutil.Standardize(X, m, s)
	for seed := uint64(0); seed < 2; seed++ {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 26, Rng: rng(seed), Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: n_init 10 inertia %.2f (best restart %.2f, %d breaths); best of 100 plain restarts %.2f; ratio %.5f",
			seed, res.Inertia, res.RestartInertia, res.Breaths, best100, res.Inertia/best100)
		if res.Inertia > 1.001*best100 {
			t.Errorf("seed %d: inertia %.2f > 1.001 x best of 100 (%.2f)", seed, res.Inertia, best100)
		}
	}
}
