package gcd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/linalg"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestBetaBinomialSF against tails computed by hand from
// pmf(k) = C(n,k) B(k+a, n-k+b) / B(a,b):
//   - n=2, a=1, b=19: pmf(0) = B(1,21)/B(1,19) = 19/21, pmf(2) =
//     B(3,19)/B(1,19) = 2*18!/21! * 19 = 1/210, so P(X>=1) = 2/21 and
//     P(X>=2) = 1/210;
//   - n=3, a=b=1: uniform on 0..3, P(X>=2) = 1/2;
//   - n=4, a=2, b=3: B(2,3) = 1/12, pmf(4) = 12*B(6,3) = 12/168 = 1/14,
//     pmf(3) = 4*12*B(5,4) = 48/280 = 6/35, P(X>=3) = 17/70.
func TestBetaBinomialSF(t *testing.T) {
	cases := []struct {
		x, n int
		a, b float64
		want float64
	}{
		{1, 2, 1, 19, 2.0 / 21}, {2, 2, 1, 19, 1.0 / 210}, {0, 2, 1, 19, 1}, {3, 2, 1, 19, 0},
		{2, 3, 1, 1, 0.5}, {3, 4, 2, 3, 17.0 / 70}, {4, 4, 2, 3, 1.0 / 14},
	}
	for _, c := range cases {
		if got := BetaBinomialSF(c.x, c.n, c.a, c.b); !near(got, c.want, 1e-12) {
			t.Errorf("P(X >= %d), BB(%d, %v, %v) = %.15g, want %.15g", c.x, c.n, c.a, c.b, got, c.want)
		}
	}
	// The tail sums to 1 from 0 and decreases.
	prev := 1.0
	for x := 1; x <= 50; x++ {
		p := BetaBinomialSF(x, 50, 3, 57)
		if p > prev || p < 0 {
			t.Fatalf("P(X >= %d) = %v after %v", x, p, prev)
		}
		prev = p
	}
}

// TestExistenceP: 19 calibration rows at alpha .05 flag a known row when
// its score tops all 19 (p = 1/20 <= .05), which happens with probability
// Beta(1, 19) over the calibration draw: two unlabeled rows both flagged
// with chance 1/210 (hand-computed above), at least one with 2/21. With 18
// calibration rows alpha*(n+1) < 1 and nothing can be flagged.
func TestExistenceP(t *testing.T) {
	if got := ExistenceP(2, 2, 19, 0.05); !near(got, 1.0/210, 1e-12) {
		t.Errorf("ExistenceP(2, 2, 19, .05) = %v, want 1/210", got)
	}
	if got := ExistenceP(2, 1, 19, 0.05); !near(got, 2.0/21, 1e-12) {
		t.Errorf("ExistenceP(2, 1, 19, .05) = %v, want 2/21", got)
	}
	if MinCal(0.05) != 19 || MinCal(0.1) != 9 || MinCal(0.3) != 3 {
		t.Errorf("MinCal(.05, .1, .3) = %d %d %d, want 19 9 3", MinCal(0.05), MinCal(0.1), MinCal(0.3))
	}
	// 199 calibration rows at .05: m = 10, the flag probability is
	// Beta(10, 190) with mean .05; the expected count of 1000 rows is 50,
	// and 50 flagged rows are no evidence (p near .5); 100 are weak evidence
	// (p about .007: the flag rate's spread over calibration draws, sd
	// .015, is what a binomial test ignores), 150 strong.
	if p := ExistenceP(1000, 50, 199, 0.05); p < 0.3 || p > 0.7 {
		t.Errorf("ExistenceP(1000, 50, 199) = %v, want near .5", p)
	}
	if p := ExistenceP(1000, 100, 199, 0.05); p < 1e-3 || p > 0.02 {
		t.Errorf("ExistenceP(1000, 100, 199) = %v, want in [.001, .02]", p)
	}
	if p := ExistenceP(1000, 150, 199, 0.05); p > 1e-4 {
		t.Errorf("ExistenceP(1000, 150, 199) = %v, want < 1e-4", p)
	}
}

// TestPValues: calibration scores 1..4; p = (1 + #{cal >= s}) / 5.
func TestPValues(t *testing.T) {
	got := PValues([]float64{3, 1, 4, 2}, []float64{0.5, 2, 2.5, 4, 5})
	want := []float64{1, 0.8, 0.6, 0.4, 0.2}
	for i := range want {
		if !near(got[i], want[i], 1e-15) {
			t.Errorf("p(%d) = %v, want %v", i, got[i], want[i])
		}
	}
	if Flagged(got, 0.4) != 2 {
		t.Errorf("Flagged(.4) = %d, want 2", Flagged(got, 0.4))
	}
}

// TestConformalCoverage: known rows exchangeable with the calibration rows
// are flagged at rate alpha on average over calibration draws (the
// conformal guarantee: E[P(p <= alpha)] = m/(n+1) = 10/200 here).
func TestConformalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	flagged, total := 0, 0
	for rep := 0; rep < 200; rep++ {
		cal := make([]float64, 199)
		for i := range cal {
			cal[i] = rng.NormFloat64()
		}
		test := make([]float64, 500)
		for i := range test {
			test[i] = rng.NormFloat64()
		}
		flagged += Flagged(PValues(cal, test), 0.05)
		total += len(test)
	}
	if r := float64(flagged) / float64(total); !near(r, 0.05, 0.005) {
		t.Errorf("flag rate %v, want .05 +- .005", r)
	}
}

// TestCalibSplit: per class round(frac*n), at least min(10, n/2), at most
// n-1; unlabeled rows never; same seed same rows.
func TestCalibSplit(t *testing.T) {
	var known []int
	counts := []int{100, 30, 5, 1}
	for c, n := range counts {
		for range n {
			known = append(known, c)
		}
	}
	known = append(known, -1, -1, -1)
	cal := CalibSplit(known, 4, 0.2, 7)
	got := make([]int, 4)
	for i, c := range cal {
		if c {
			if known[i] < 0 {
				t.Fatalf("unlabeled row %d chosen", i)
			}
			got[known[i]]++
		}
	}
	if want := []int{20, 10, 2, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("calibration rows per class %v, want %v", got, want)
	}
	if !reflect.DeepEqual(cal, CalibSplit(known, 4, 0.2, 7)) {
		t.Error("same seed, other split")
	}
	if reflect.DeepEqual(cal, CalibSplit(known, 4, 0.2, 8)) {
		t.Error("another seed, same split")
	}
}

// TestKNNScores: query (0, 1) against (0,0), (1,0), (0,2): distances 1,
// sqrt 2, 1; k=2 -> 1, k=3 -> (2 + sqrt 2)/3, k=10 -> all three. Query
// (1, 0) is a reference row itself: 0, 1, sqrt 5.
func TestKNNScores(t *testing.T) {
	ref := linalg.FromRows([][]float64{{0, 0}, {1, 0}, {0, 2}})
	X := linalg.FromRows([][]float64{{0, 1}, {1, 0}})
	for _, c := range []struct {
		k    int
		want []float64
	}{{1, []float64{1, 0}}, {2, []float64{1, 0.5}}, {3, []float64{(2 + math.Sqrt2) / 3, (1 + math.Sqrt(5)) / 3}}, {10, []float64{(2 + math.Sqrt2) / 3, (1 + math.Sqrt(5)) / 3}}} {
		got := KNNScores(X, ref, c.k, 1)
		for i := range got {
			if !near(got[i], c.want[i], 1e-12) {
				t.Errorf("k=%d row %d: %v, want %v", c.k, i, got[i], c.want[i])
			}
		}
	}
	// centroid score: nearest of (0,0) and (0,2) from (0,1) and (1,0)
	got := CentroidScores(X, linalg.FromRows([][]float64{{0, 0}, {0, 2}}), 1)
	if !near(got[0], 1, 1e-15) || !near(got[1], 1, 1e-15) {
		t.Errorf("centroid scores %v, want [1 1]", got)
	}
}

// TestAUROC: positives score 2 and 4, negatives 1 and 3: 3 of 4 pairs
// ordered; a tie counts half.
func TestAUROC(t *testing.T) {
	if got := AUROC([]float64{1, 2, 3, 4}, []bool{false, true, false, true}); got != 0.75 {
		t.Errorf("AUROC = %v, want .75", got)
	}
	if got := AUROC([]float64{1, 1}, []bool{true, false}); got != 0.5 {
		t.Errorf("tied AUROC = %v, want .5", got)
	}
	if got := AUROC([]float64{1, 2}, []bool{true, true}); !math.IsNaN(got) {
		t.Errorf("AUROC without negatives = %v, want NaN", got)
	}
}

// blob returns n points around c with standard deviation sd.
func blob(rng *rand.Rand, n int, c []float64, sd float64) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, len(c))
		for j, v := range c {
			out[i][j] = v + sd*rng.NormFloat64()
		}
	}
	return out
}

// TestCohesive: a lone flagged outlier near the reference is dropped, a
// tight flagged group far from it is kept.
func TestCohesive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := linalg.FromRows(blob(rng, 30, []float64{0, 0}, 0.5))
	rows := append(blob(rng, 12, []float64{6, 6}, 0.2), []float64{0, 2})
	X := linalg.FromRows(rows)
	flagged := make([]int, X.Rows)
	for i := range flagged {
		flagged[i] = i
	}
	keep := Cohesive(X, flagged, KNNScores(X, ref, 5, 1), 5, 1)
	if len(keep) != 12 || keep[11] != 11 {
		t.Errorf("kept %v, want rows 0..11", keep)
	}
}

// TestAssignKnown: known centroids (0,0) and (10,0); unlabeled rows around
// both and a group around (5,10). k=1 puts the group in the novel cluster
// and the others on their known centroid; k=0 puts every row on a known one.
func TestAssignKnown(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows := append(blob(rng, 20, []float64{0, 0}, 0.5), blob(rng, 20, []float64{10, 0}, 0.5)...)
	rows = append(rows, blob(rng, 20, []float64{5, 10}, 0.5)...)
	X := linalg.FromRows(rows)
	kc := linalg.FromRows([][]float64{{0, 0}, {10, 0}})
	km := cluster.KMeansOptions{NInit: 3, Threads: 1, Rng: rand.New(rand.NewPCG(1, 1))}
	a, err := Assign(context.Background(), X, kc, 1, km, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		wantNovel, wantKnown := -1, i/20
		if i >= 40 {
			wantNovel, wantKnown = 0, -1
		}
		if a.Novel[i] != wantNovel || a.Known[i] != wantKnown {
			t.Fatalf("row %d: novel %d known %d, want %d %d", i, a.Novel[i], a.Known[i], wantNovel, wantKnown)
		}
	}
	if c := a.Centroids.Row(0); !near(c[0], 5, 0.3) || !near(c[1], 10, 0.3) {
		t.Errorf("novel centroid %v, want near (5, 10)", c)
	}
	km.Rng = rand.New(rand.NewPCG(1, 1))
	a0, err := Assign(context.Background(), X, kc, 0, km, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		want := i / 20
		if i >= 40 {
			want = 0 // (5, 10) is as far from both; ties go to the first
			if rows[i][0] > 5 {
				want = 1
			}
		}
		if a0.Novel[i] != -1 || a0.Known[i] != want {
			t.Fatalf("k=0 row %d: novel %d known %d, want -1 %d", i, a0.Novel[i], a0.Known[i], want)
		}
	}
}

// space builds a Detect input: 3 known classes in 4 dimensions, reference
// and calibration rows drawn alike, unlabeled rows of the known classes plus
// the given new-class centres.
func space(seed uint64, newCentres [][]float64) Space {
	rng := rand.New(rand.NewPCG(seed, 9))
	known := [][]float64{{0, 0, 0, 0}, {6, 0, 0, 0}, {0, 6, 0, 0}}
	var ref, cal, unl [][]float64
	var refClass []int
	for c, k := range known {
		ref = append(ref, blob(rng, 80, k, 1)...)
		for range 80 {
			refClass = append(refClass, c)
		}
		cal = append(cal, blob(rng, 40, k, 1)...)
		unl = append(unl, blob(rng, 100, k, 1)...)
	}
	for _, c := range newCentres {
		unl = append(unl, blob(rng, 100, c, 1)...)
	}
	return Space{Ref: linalg.FromRows(ref), RefClass: refClass, NClasses: 3, Cal: linalg.FromRows(cal), Unl: linalg.FromRows(unl)}
}

// TestDetect: with no new class the test fails and k_new = 0 (seeds
// 0-4); one new class far away gives k_new = 1, two give 2; the same at
// 1 and 2 threads.
func TestDetect(t *testing.T) {
	ctx := context.Background()
	o, err := Options{Seed: 1, Threads: 1}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(5) {
		d, err := Detect(ctx, space(seed, nil), o)
		if err != nil {
			t.Fatal(err)
		}
		if d.Exists || d.KNew != 0 || !d.KEstimated {
			t.Errorf("seed %d, no new class: exists %v (p %.3g, %d flagged, %.1f expected), k_new %d", seed, d.Exists, d.ExistP, d.NFlagged, d.Expected, d.KNew)
		}
	}
	for want, centres := range [][][]float64{{{0, 0, 10, 0}}, {{0, 0, 10, 0}, {0, 0, 0, 10}}} {
		var prev *Detection
		for _, threads := range []int{1, 2} {
			o.Threads = threads
			d, err := Detect(ctx, space(11, centres), o)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Exists || d.KNew != want+1 || d.ExistP >= 1e-6 {
				t.Errorf("%d new classes: exists %v (p %.3g), k_new %d", want+1, d.Exists, d.ExistP, d.KNew)
			}
			// (printed: reflect.DeepEqual finds NaN unequal to itself)
			if prev != nil && show(prev) != show(d) {
				t.Errorf("%d new classes: 1 and 2 threads differ", want+1)
			}
			prev = d
		}
	}
	o.FixK, o.K = true, 0
	d, err := Detect(ctx, space(11, [][]float64{{0, 0, 10, 0}}), o)
	if err != nil || d.KNew != 0 || d.KEstimated || !d.Exists {
		t.Errorf("k fixed at 0: k_new %d, estimated %v, exists %v, err %v", d.KNew, d.KEstimated, d.Exists, err)
	}
}

// TestOptionsRefused: values the flags must refuse.
func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{{CalibFrac: 1.5}, {CalibFrac: -0.1}, {CalibFrac: 1}, {Alpha: 1}, {Alpha: -0.05}, {Alpha: math.NaN()}, {Novelty: "msp"}} {
		if _, err := o.Resolve(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	s := space(1, nil)
	s.Cal = s.Cal.Slice(0, 18)
	o, _ := Options{}.Resolve()
	if _, err := Detect(context.Background(), s, o); err == nil {
		t.Error("18 calibration rows at alpha .05 accepted")
	}
}

// TestName: three labelled rows of class 0 at the origin's side, three of
// class 1 at x=10. With k=3, (1,0) hears only class 0 (share 1) and (9,0)
// only class 1; with k=6 the votes tie 3-3 and the nearer class wins
// (share .5). k above the rows uses them all.
func TestName(t *testing.T) {
	lab := linalg.FromRows([][]float64{{0, 0}, {0, 1}, {1, 1}, {10, 0}, {10, 1}, {11, 0}})
	cls := []int{0, 0, 0, 1, 1, 1}
	X := linalg.FromRows([][]float64{{1, 0}, {9, 0}})
	for _, c := range []struct {
		k     int
		want  []int
		share []float64
	}{{3, []int{0, 1}, []float64{1, 1}}, {6, []int{0, 1}, []float64{.5, .5}}, {50, []int{0, 1}, []float64{.5, .5}}, {1, []int{0, 1}, []float64{1, 1}}} {
		got, share := Name(X, lab, cls, 2, c.k, 1)
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(share, c.share) {
			t.Errorf("k=%d: %v %v, want %v %v", c.k, got, share, c.want, c.share)
		}
	}
	// k=5 from (5.2, 0): nearest are (10,0)/(10,1)? distances 4.8, 4.9 vs
	// (1,1) 4.32, (0,0) 5.2, (0,1) 5.29, (11,0) 5.8: the 5 nearest are
	// (1,1), (10,0), (10,1), (0,0), (0,1): 3 votes for 0, 2 for 1.
	got, share := Name(linalg.FromRows([][]float64{{5.2, 0}}), lab, cls, 2, 5, 1)
	if got[0] != 0 || share[0] != 0.6 {
		t.Errorf("(5.2, 0): class %d share %v, want 0 .6", got[0], share[0])
	}
}

// show prints a Detection with its curve's values (not its address).
func show(d *Detection) string {
	c := *d
	c.Curve = nil
	return fmt.Sprintf("%+v %+v", c, *d.Curve)
}
