package estimate

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// The values are scikit-learn's documented examples of
// sklearn.metrics.adjusted_rand_score (1.2), checked by hand: for
// [0 0 1 1] vs [0 0 1 2], sum C(n_ij,2) = 1, rows 2, columns 1, C(4,2) = 6,
// so ARI = (1 - 2/6) / (1.5 - 2/6) = 4/7.
func TestARIInts(t *testing.T) {
	cases := []struct {
		a, b []int
		want float64
	}{
		{[]int{0, 0, 1, 1}, []int{0, 0, 1, 1}, 1},
		{[]int{0, 0, 1, 1}, []int{1, 1, 0, 0}, 1},
		{[]int{0, 0, 1, 2}, []int{0, 0, 1, 1}, 4.0 / 7},
		{[]int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 4.0 / 7},
		{[]int{0, 0, 0, 0}, []int{0, 1, 2, 3}, 0},
		{[]int{0, 0, 0}, []int{0, 0, 0}, 1},
	}
	for _, c := range cases {
		if got := ARIInts(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ARIInts(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// Four well-separated blobs: every split of them predicts itself (PS = 1
// up to k = 4), and a fifth cluster must cut a blob in two along a
// direction the halves do not agree on, so PS(5) falls well below .8.
func TestPredictionStrengthBlobs(t *testing.T) {
	X, _ := blobs(4, 60, 5, 12, 1, 7)
	ks := []int{1, 2, 3, 4, 5, 6}
	ps, se, err := PredictionStrength(context.Background(), X, ks, StabilityOptions{Seed: 3, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range ks {
		if k <= 4 && ps[i] < 0.99 {
			t.Errorf("PS(%d) = %.3f, want about 1 on separated blobs", k, ps[i])
		}
		if k > 4 && ps[i] > 0.8 {
			t.Errorf("PS(%d) = %.3f, want < .8 (a blob cut in two)", k, ps[i])
		}
		if se[i] < 0 || math.IsNaN(se[i]) {
			t.Errorf("se(%d) = %v", k, se[i])
		}
	}
	if got := PSLargest(ks, ps, 0.8); got != 4 {
		t.Errorf("PSLargest = %d, want 4", got)
	}
	ps2, se2, err := PredictionStrength(context.Background(), X, ks, StabilityOptions{Seed: 3, Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if ps[i] != ps2[i] || se[i] != se2[i] {
			t.Fatalf("threads change PS(%d): %v vs %v", ks[i], ps[i], ps2[i])
		}
	}
}

// One blob: no split of it is stable, so the answer is k = 1, which the
// silhouette cannot give.
func TestPredictionStrengthOneBlob(t *testing.T) {
	X, _ := blobs(1, 200, 4, 0, 1, 11)
	ks := []int{1, 2, 3, 4, 5}
	ps, _, err := PredictionStrength(context.Background(), X, ks, StabilityOptions{Seed: 1, Threads: 2, NInit: 10, Repeats: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ps[0] != 1 {
		t.Errorf("PS(1) = %v, want 1", ps[0])
	}
	if got := PSLargest(ks, ps, 0.8); got != 1 {
		t.Errorf("k = %d on one blob (PS %v), want 1", got, ps)
	}
}

func TestStrictSingletons(t *testing.T) {
	// Six rows: at k = 3 every half of three rows has single-row clusters.
	X := linalg.FromRows([][]float64{{0}, {0.1}, {5}, {5.1}, {10}, {10.1}})
	ks := []int{3}
	loose, _, err := PredictionStrength(context.Background(), X, ks, StabilityOptions{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	strict, _, err := PredictionStrength(context.Background(), X, ks, StabilityOptions{Seed: 2, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if loose[0] != 1 || strict[0] != 0 {
		t.Errorf("PS(3) loose %v strict %v, want 1 and 0", loose[0], strict[0])
	}
}

// Eight identical "members" agree perfectly at every k; members that are
// pure noise agree near 0.
func TestMemberAgreement(t *testing.T) {
	base, _ := blobs(3, 40, 2, 10, 1, 5)
	X := linalg.New(base.Rows, 2*4)
	noise, _ := blobs(1, base.Rows, 2*4, 0, 1, 9)
	Y := linalg.New(base.Rows, 2*4)
	for i := 0; i < base.Rows; i++ {
		for b := range 4 {
			copy(X.Row(i)[2*b:], base.Row(i))
		}
		copy(Y.Row(i), noise.Row(i))
	}
	ks := []int{2, 3}
	same, err := MemberAgreement(context.Background(), X, 4, ks, StabilityOptions{Seed: 1, NInit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if same[1] < 0.999 {
		t.Errorf("identical members agree %.3f at k = 3, want 1", same[1])
	}
	diff, err := MemberAgreement(context.Background(), Y, 4, ks, StabilityOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff[1] > 0.2 {
		t.Errorf("independent noise members agree %.3f at k = 3, want about 0", diff[1])
	}
	if _, err := MemberAgreement(context.Background(), X, 3, ks, StabilityOptions{}); err == nil {
		t.Error("8 columns in 3 blocks accepted")
	}
}

// Fewer rows than PSMinRows: the ps rule falls back to the silhouette's
// 1se scan and says so; from PSMinRows rows on it runs.
func TestScanPSFallback(t *testing.T) {
	X, _ := blobs(3, 5, 2, 20, 1, 4) // 15 rows, 3 far-apart blobs
	c, err := Scan(context.Background(), X, ScanOptions{KMax: 6, Rule: RulePS, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fallback == "" || c.Index != IndexSilhouette || c.K != 3 {
		t.Errorf("15 rows: index %s, k %d, fallback %q; want the silhouette's 3 and a note", c.Index, c.K, c.Fallback)
	}
	X, _ = blobs(3, 10, 2, 20, 1, 4) // 30 rows
	c, err = Scan(context.Background(), X, ScanOptions{KMax: 6, Rule: RulePS, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fallback != "" || c.Index != IndexPS || c.K != 3 {
		t.Errorf("30 rows: index %s, k %d, fallback %q; want ps and 3", c.Index, c.K, c.Fallback)
	}
}

// The stable rule keeps the silhouette's k when it is stable (4 blobs: 4)
// and lowers it when it is not: one round blob has no k >= 2 that halves
// reproduce, so 1, which the silhouette scan cannot answer.
func TestScanStable(t *testing.T) {
	X, _ := blobs(4, 60, 5, 12, 1, 7)
	c, err := Scan(context.Background(), X, ScanOptions{KMax: 8, Rule: RuleStable, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.K != 4 || c.Index != IndexStable || c.Best[IndexSilhouette] != 4 || c.Best[IndexPS] != 4 {
		t.Errorf("4 blobs: k %d, index %s, best %v", c.K, c.Index, c.Best)
	}
	one, _ := blobs(1, 200, 4, 0, 1, 11)
	c, err = Scan(context.Background(), one, ScanOptions{KMax: 8, Rule: RuleStable, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c.K != 1 || c.Best[IndexSilhouette] < 2 {
		t.Errorf("one blob: k %d (silhouette's %d), want 1", c.K, c.Best[IndexSilhouette])
	}
	for i, k := range c.Ks {
		if k > c.Best[IndexSilhouette] && !math.IsNaN(c.Scores[IndexPS][i]) {
			t.Errorf("ps scored at k = %d, above the silhouette's k", k)
		}
	}
}

// A range that starts above 2 with no stable k in it answers its smallest
// k, with a note, never 1 (the user asked for at least k_min clusters):
// three well-separated blobs split into 6-8 clusters are not reproducible.
// With k_min 2 the 3 blobs are found.
func TestStableKMinAboveTwo(t *testing.T) {
	X, _ := blobs(3, 60, 8, 20, 1, 5)
	c, err := Scan(context.Background(), X, ScanOptions{KMin: 6, KMax: 8, Rule: RuleStable, Seed: 1, Runs: 1, NInit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if c.K != 6 || !strings.Contains(c.Fallback, "no k in 6..") || !strings.Contains(c.Fallback, "k = 6, the smallest --k-min allows") {
		t.Fatalf("k %d, note %q, ps %v", c.K, c.Fallback, c.Scores[IndexPS])
	}
	c, err = Scan(context.Background(), X, ScanOptions{KMin: 2, KMax: 8, Rule: RuleStable, Seed: 1, Runs: 1, NInit: 3})
	if err != nil || c.K != 3 || c.Fallback != "" {
		t.Fatalf("k_min 2: k %d, note %q (%v)", c.K, c.Fallback, err)
	}
}
