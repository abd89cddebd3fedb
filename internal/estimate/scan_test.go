package estimate

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

// blobs returns k Gaussian blobs of per rows in d dimensions (centres on a
// scaled simplex-like grid, spread sd), and the blob of every row.
func blobs(k, per, d int, sep, sd float64, seed uint64) (linalg.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	X := linalg.New(k*per, d)
	y := make([]int, k*per)
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = sep * rng.NormFloat64()
		}
	}
	for i := 0; i < k*per; i++ {
		c := i % k
		y[i] = c
		for j := 0; j < d; j++ {
			X.Data[i*d+j] = centres[c][j] + sd*rng.NormFloat64()
		}
	}
	return X, y
}

func TestKneedle(t *testing.T) {
	// kneed's own test curve (DataGenerator.convex_decreasing): knee at x = 2.
	ks := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if got := Kneedle(ks, []float64{100, 40, 20, 15, 10, 5, 4, 3, 2, 1}); got != 2 {
		t.Errorf("kneed convex_decreasing: got %d want 2", got)
	}
	// A scree curve worked by hand: the difference curve peaks at k = 4
	// (0.545) and drops below 0.545 - 1/9 at k = 6.
	ks = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := Kneedle(ks, []float64{1000, 560, 330, 210, 165, 138, 120, 108, 100, 95}); got != 4 {
		t.Errorf("scree: got %d want 4", got)
	}
	// A straight line has no knee (kneed returns None): fall back to the
	// difference curve's maximum, all 0 here, so the first k.
	// (Values chosen so that normalization is exact and the curve is exactly 0.)
	if got := Kneedle([]int{0, 1, 2, 3, 4}, []float64{4, 3, 2, 1, 0}); got != 0 {
		t.Errorf("line: got %d want 0", got)
	}
	if got := Kneedle([]int{2, 3}, []float64{4, 1}); got != 2 {
		t.Errorf("two points: got %d", got)
	}
}

func TestVote(t *testing.T) {
	cases := []struct {
		best map[string]int
		want int
	}{
		{map[string]int{"silhouette": 5, "ch": 7, "db": 7, "elbow": 3}, 7},
		{map[string]int{"silhouette": 5, "ch": 7, "db": 5, "elbow": 7}, 5},
		{map[string]int{"silhouette": 5, "ch": 7, "db": 9, "elbow": 3}, 5},
		{map[string]int{"silhouette": 4, "ch": 4, "db": 4, "elbow": 9}, 4},
	}
	for _, c := range cases {
		if got := vote(c.best); got != c.want {
			t.Errorf("%v: got %d want %d", c.best, got, c.want)
		}
	}
}

// TestScanBlobs: five well-separated blobs; every index finds 5, and the
// curve is identical for 1 and 3 threads.
func TestScanBlobs(t *testing.T) {
	X, _ := blobs(5, 60, 4, 10, 1, 3)
	var calls, scored []int
	opt := ScanOptions{KMax: 10, Index: IndexAll, Threads: 1, Seed: 42,
		Progress:      func(done, total int) { calls = append(calls, done, total) },
		ScoreProgress: func(done, total int) { scored = append(scored, done, total) }}
	c1, err := Scan(context.Background(), X, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range []string{IndexSilhouette, IndexCH, IndexDB, IndexElbow} {
		if c1.Best[idx] != 5 {
			t.Errorf("%s chose %d, want 5 (scores %v)", idx, c1.Best[idx], c1.Scores[idx])
		}
	}
	if c1.K != 5 || c1.Index != IndexAll || len(c1.Ks) != 9 || c1.Ks[0] != 2 || c1.Ks[8] != 10 {
		t.Errorf("curve %+v", c1)
	}
	// k of K: 0 of 9 at the start, then once per k; then the 5 silhouette
	// row blocks (300 rows / 64).
	want := []int{0, 9, 1, 9, 2, 9, 3, 9, 4, 9, 5, 9, 6, 9, 7, 9, 8, 9, 9, 9}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
	if want := []int{1, 5, 2, 5, 3, 5, 4, 5, 5, 5}; !reflect.DeepEqual(scored, want) {
		t.Errorf("score progress calls %v, want %v", scored, want)
	}
	if c1.Sample != nil {
		t.Errorf("300 rows were sampled: %+v", c1.Sample)
	}
	opt.Threads, opt.Progress, opt.ScoreProgress = 3, nil, nil
	c3, err := Scan(context.Background(), X, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c1, c3) {
		t.Errorf("threads change the curve:\n%+v\n%+v", c1, c3)
	}
}

// TestScanUsesClusterer checks the bookkeeping with a fake clusterer that
// returns a random labelling per seed and inertia 1/k: every score is the
// mean over runs of the index computed directly on the runs' labellings.
func TestScanUsesClusterer(t *testing.T) {
	X, _ := blobs(3, 20, 2, 5, 1, 1)
	var mu sync.Mutex
	made := map[int][][]int{}
	fake := func(ctx context.Context, X linalg.Matrix, k int, seed uint64, threads int) ([]int, float64, error) {
		rng := rand.New(rand.NewPCG(seed, 0))
		l := make([]int, X.Rows)
		for i := range l {
			l[i] = rng.IntN(k)
		}
		mu.Lock()
		made[k] = append(made[k], l)
		mu.Unlock()
		return l, 1 / float64(k), nil
	}
	c, err := Scan(context.Background(), X, ScanOptions{KMin: 3, KMax: 6, Runs: 2, Cluster: fake, Index: IndexAll, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Ks, []int{3, 4, 5, 6}) || c.Inertia[1] != 0.25 || c.Scores[IndexElbow][3] != 1.0/6 {
		t.Fatalf("%+v", c)
	}
	for i, k := range c.Ks {
		if len(made[k]) != 2 {
			t.Fatalf("k=%d: %d runs", k, len(made[k]))
		}
		a, b := made[k][0], made[k][1]
		for _, chk := range []struct {
			idx  string
			want float64
		}{
			{IndexSilhouette, (Silhouette(X, a, 1) + Silhouette(X, b, 1)) / 2},
			{IndexCH, (CalinskiHarabasz(X, a) + CalinskiHarabasz(X, b)) / 2},
			{IndexDB, (DaviesBouldin(X, a) + DaviesBouldin(X, b)) / 2},
		} {
			if got := c.Scores[chk.idx][i]; relErr(got, chk.want) > 1e-14 {
				t.Errorf("k=%d %s: got %v want %v", k, chk.idx, got, chk.want)
			}
		}
	}
	if c.Best[IndexSilhouette] != argBest(c.Ks, c.Scores[IndexSilhouette], true) || c.K != vote(c.Best) {
		t.Errorf("best %v K %d", c.Best, c.K)
	}
}

func TestScanErrors(t *testing.T) {
	X, _ := blobs(2, 10, 2, 5, 1, 1)
	ctx := context.Background()
	for _, o := range []ScanOptions{
		{KMin: 1},
		{KMin: 8, KMax: 4},
		{KMin: 25}, // 20 rows: k_max clamps to 19
		{Index: "gap"},
		{Runs: -1},
	} {
		if _, err := Scan(ctx, X, o); !usererr.Is(err) {
			t.Errorf("%+v: want a user error, got %v", o, err)
		}
	}
	if _, err := Scan(ctx, X.Slice(0, 2), ScanOptions{}); !usererr.Is(err) {
		t.Errorf("2 rows: got %v", err)
	}
	bad := X.Clone()
	bad.Data[5] = math.NaN()
	if _, err := Scan(ctx, bad, ScanOptions{}); !usererr.Is(err) {
		t.Errorf("NaN: got %v", err)
	}
	// k_max clamps to rows - 1.
	c, err := Scan(ctx, X.Slice(0, 6), ScanOptions{Runs: 1, NInit: 2})
	if err != nil || c.Ks[len(c.Ks)-1] != 5 {
		t.Errorf("clamp: %v %v", c, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Scan(cctx, X, ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

func TestGoldenMaxInt(t *testing.T) {
	for _, peak := range []int{1, 2, 17, 37, 49, 50} {
		calls := map[int]int{}
		f := func(k int) (float64, error) {
			calls[k]++
			return -math.Abs(float64(k - peak)), nil
		}
		memo := map[int]float64{}
		mf := func(k int) (float64, error) {
			if v, ok := memo[k]; ok {
				return v, nil
			}
			v, err := f(k)
			memo[k] = v
			return v, err
		}
		got, err := goldenMaxInt(1, 50, mf)
		if err != nil || got != peak {
			t.Errorf("peak %d: got %d (%v)", peak, got, err)
		}
		if len(calls) > 14 {
			t.Errorf("peak %d: %d evaluations for 50 candidates", peak, len(calls))
		}
	}
	// goldenEvals bounds the distinct k evaluated, whatever f, and is
	// reached: peaks and random curves over ranges of 1 to 60.
	rng := rand.New(rand.NewPCG(1, 2))
	for hi := 5; hi <= 64; hi++ {
		bound, most := goldenEvals(5, hi), 0
		for trial := 0; trial < 200; trial++ {
			peak := 5 + trial%(hi-4)
			vals := map[int]float64{}
			f := func(k int) (float64, error) {
				if _, ok := vals[k]; !ok {
					vals[k] = -math.Abs(float64(k - peak))
					if trial >= 100 {
						vals[k] = rng.Float64()
					}
				}
				return vals[k], nil
			}
			if _, err := goldenMaxInt(5, hi, f); err != nil {
				t.Fatal(err)
			}
			most = max(most, len(vals))
		}
		if most > bound || (hi-5 <= 29 && most < bound) {
			t.Errorf("[5, %d]: goldenEvals %d, most evaluated %d", hi, bound, most)
		}
	}
	if b := goldenEvals(2, 31); b != 8 {
		t.Errorf("goldenEvals(2, 31) = %d, want 8 (for 30 candidates)", b)
	}
	// A plateau on 8..12: ties go to the largest k.
	got, _ := goldenMaxInt(1, 20, func(k int) (float64, error) {
		return math.Min(float64(k), 8) - math.Max(0, float64(k-12)), nil
	})
	if got != 12 {
		t.Errorf("plateau: got %d want 12", got)
	}
}

// TestKnownACCSearch: eight well-separated blobs, four of them known with
// half their rows labelled; the other four are novel.
func TestKnownACCSearch(t *testing.T) {
	X, y := blobs(8, 40, 5, 12, 1, 5)
	known := make([]int, len(y))
	for i, c := range y {
		known[i] = -1
		if c < 4 && i%16 < 8 {
			known[i] = c
		}
	}
	var calls [][2]int
	r, err := KnownACCSearch(context.Background(), X, known, KnownOptions{KMax: 12, Threads: 2, Seed: 1,
		Progress: func(d, t int) { calls = append(calls, [2]int{d, t}) }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Known != 4 || r.Novel != 4 || r.Total != 8 || r.ACC != 1 {
		t.Errorf("got %+v", r)
	}
	// One call per clustering out of at most goldenEvals(5, 16) = 6, then a
	// final 6 of 6.
	if n := len(r.Evaluated); n > 6 || len(calls) != n+1 || calls[n-1] != [2]int{n, 6} || calls[n] != [2]int{6, 6} {
		t.Errorf("evaluated %d of at most 6 (progress %v)", len(r.Evaluated), calls)
	}
	for i := 1; i < len(r.Evaluated); i++ {
		if r.Evaluated[i].Total <= r.Evaluated[i-1].Total {
			t.Fatalf("not sorted: %+v", r.Evaluated)
		}
	}
	unl := make([]int, len(y))
	for i := range unl {
		unl[i] = -1
	}
	if _, err := KnownACCSearch(context.Background(), X, unl, KnownOptions{}); !usererr.Is(err) {
		t.Errorf("no labels: got %v", err)
	}
}

// TestOneSE checks the rule on hand-computed rows (k = 2, 3, 4; the best is
// 4). k = 3 with row differences 0, .1, -.1, 0 has mean 0 <= sd .0707 / 2:
// within one standard error, so 3 is chosen (2 is .4 worse with sd 0). With
// differences .05, .05, .05, .1 (mean .0625, sd .02165, error .0108) k = 3
// is worse beyond the noise and 4 stays. Runs are averaged per row first,
// skipping an undefined (nil) run.
func TestOneSE(t *testing.T) {
	ks := []int{2, 3, 4}
	best := []float64{.5, .5, .5, .5}
	two := []float64{.1, .1, .1, .1}
	if got := oneSE(ks, [][]float64{two, {.5, .4, .6, .5}, best}, 1, 4); got != 3 {
		t.Errorf("within one error: got %d, want 3", got)
	}
	if got := oneSE(ks, [][]float64{two, {.45, .45, .45, .40}, best}, 1, 4); got != 4 {
		t.Errorf("beyond one error: got %d, want 4", got)
	}
	// Two runs per k: k = 3's runs average to the first case's rows.
	rows := [][]float64{two, nil, {.6, .4, .7, .4}, {.4, .4, .5, .6}, best, best}
	if got := oneSE(ks, rows, 2, 4); got != 3 {
		t.Errorf("two runs: got %d, want 3", got)
	}
	// A smaller k within the error wins over a larger one within it too.
	if got := oneSE(ks, [][]float64{{.5, .45, .55, .5}, {.5, .4, .6, .5}, best}, 1, 4); got != 2 {
		t.Errorf("smallest within: got %d, want 2", got)
	}
}

// TestScanOneSE: on blobs with 5 clear groups the rule keeps 5 (a smaller k
// is far worse); it never picks a k above the highest silhouette's; and an
// unknown rule is a user error.
func TestScanOneSE(t *testing.T) {
	X, _ := blobs(5, 60, 4, 10, 1, 3)
	for _, rule := range []string{RuleMax, RuleOneSE} {
		c, err := Scan(context.Background(), X, ScanOptions{KMax: 10, Rule: rule, Threads: 2, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		if c.K != 5 {
			t.Errorf("%s: chose %d, want 5 (silhouette %v)", rule, c.K, c.Scores[IndexSilhouette])
		}
	}
	// Overlapping blobs: the silhouette curve is flat, and 1se never goes
	// above max.
	Y, _ := blobs(7, 40, 3, 2.5, 1, 4)
	mx, err := Scan(context.Background(), Y, ScanOptions{KMax: 12, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	se, err := Scan(context.Background(), Y, ScanOptions{KMax: 12, Seed: 1, Rule: RuleOneSE})
	if err != nil {
		t.Fatal(err)
	}
	if se.K > mx.K || !reflect.DeepEqual(se.Scores, mx.Scores) {
		t.Errorf("1se chose %d above max's %d, or changed the scores", se.K, mx.K)
	}
	if _, err := Scan(context.Background(), Y, ScanOptions{Rule: "2se"}); !usererr.Is(err) {
		t.Errorf("unknown rule: got %v", err)
	}
}
