package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func split(s string) []string { return strings.Fields(s) }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestSklearnCases checks the scores against scikit-learn 1.2.1
// (normalized_mutual_info_score, adjusted_rand_score) and scipy's
// linear_sum_assignment ACC, stored in testdata/metrics_cases.json (its
// "cases" are a copy of shared/benchmarks/metrics_cases.json; its
// "gcd_cases" were added here, see TestGCDReferenceCases).
func TestSklearnCases(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "metrics_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Truth, Pred   []string
			ACC, NMI, ARI float64
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) != 8 {
		t.Fatalf("got %d cases, want 8", len(doc.Cases))
	}
	for i, c := range doc.Cases {
		r := Score(c.Truth, c.Pred)
		if !near(r.ACC, c.ACC, 1e-12) || !near(r.NMI, c.NMI, 1e-9) || !near(r.ARI, c.ARI, 1e-9) {
			t.Errorf("case %d: got ACC %v NMI %v ARI %v, want %v %v %v", i, r.ACC, r.NMI, r.ARI, c.ACC, c.NMI, c.ARI)
		}
		if r.Rows != len(c.Truth) {
			t.Errorf("case %d: Rows %d", i, r.Rows)
		}
	}
}

func TestHandCases(t *testing.T) {
	cases := []struct {
		name          string
		truth, pred   string
		acc, nmi, ari float64
		kt, kp        int
	}{
		// x: a2, y: a1 b1, z: b2 -> x->a, z->b: 4 of 6; y's rows are errors.
		// NMI from scikit-learn 1.2.1; ARI by hand: tp 4, fp 2, fn 8, tn 16 ->
		// 2(64-16)/(12*24+6*18) = 8/33.
		{"more clusters than classes", "a a a b b b", "x x y y z z", 4.0 / 6, 0.5158037429793888, 8.0 / 33, 2, 3},
		// x: a2 b2, y: c2 -> x->a, y->c: 4 of 6; class b has no cluster.
		// NMI from scikit-learn 1.2.1; ARI = 4/9 (scikit-learn 0.4444444444444444).
		{"fewer clusters than classes", "a a b b c c", "x x x x y y", 4.0 / 6, 0.7336804366512113, 4.0 / 9, 3, 2},
		// One cluster: ACC = largest class; MI is 0 so NMI is 0; tp*tn = 0 and fn = 0 so ARI is 0.
		{"single cluster", "a a b b b", "x x x x x", 3.0 / 5, 0, 0, 2, 1},
		// One class and one cluster: sklearn's special cases give 1 for both.
		{"all equal", "a a a a", "x x x x", 1, 1, 1, 1, 1},
		{"perfect permuted", "a a b b c c d", "q q z z a a b", 1, 1, 1, 4, 4},
		// Single class, several clusters: NMI 0 (MI 0), ARI 0 (fp > 0, tp*tn = fn*fp = 0).
		{"one class split", "a a a a", "x x y y", 0.5, 0, 0, 1, 2},
	}
	for _, c := range cases {
		r := Score(split(c.truth), split(c.pred))
		if !near(r.ACC, c.acc, 1e-15) {
			t.Errorf("%s: ACC %v want %v", c.name, r.ACC, c.acc)
		}
		if !near(r.NMI, c.nmi, 1e-15) {
			t.Errorf("%s: NMI %v want %v", c.name, r.NMI, c.nmi)
		}
		if !near(r.ARI, c.ari, 1e-15) {
			t.Errorf("%s: ARI %v want %v", c.name, r.ARI, c.ari)
		}
		if r.TrueClasses != c.kt || r.PredClusters != c.kp {
			t.Errorf("%s: classes %d clusters %d, want %d %d", c.name, r.TrueClasses, r.PredClusters, c.kt, c.kp)
		}
	}
}

// TestHungarianBeatsGreedy: counts (pred x truth) p0: [5 4], p1: [4 0].
// Greedy takes p0->t0 (5) and is left with p1->t1 (0): 5 of 13. The optimum
// is p0->t1 + p1->t0 = 8 of 13.
func TestHungarianBeatsGreedy(t *testing.T) {
	var truth, pred []string
	add := func(p, c string, n int) {
		for i := 0; i < n; i++ {
			truth = append(truth, c)
			pred = append(pred, p)
		}
	}
	add("p0", "t0", 5)
	add("p0", "t1", 4)
	add("p1", "t0", 4)
	if got := Accuracy(truth, pred); got != 8.0/13 {
		t.Fatalf("ACC %v want 8/13", got)
	}
	m := Mapping(truth, pred)
	if len(m) != 2 || m["p0"] != "t1" || m["p1"] != "t0" {
		t.Fatalf("mapping %v", m)
	}
	tab := Contingency(truth, pred)
	want := [][]int{{5, 4}, {4, 0}}
	if fmt.Sprint(tab.Count) != fmt.Sprint(want) || fmt.Sprint(tab.Pred) != "[p0 p1]" || fmt.Sprint(tab.Truth) != "[t0 t1]" {
		t.Fatalf("table %+v", tab)
	}
}

func TestMappingUnmatchedCluster(t *testing.T) {
	m := Mapping(split("a a a b b b"), split("x x y y z z"))
	if len(m) != 2 || m["x"] != "a" || m["z"] != "b" {
		t.Fatalf("mapping %v", m)
	}
}

func TestEmpty(t *testing.T) {
	r := Score(nil, nil)
	if r.ACC != 0 || r.NMI != 1 || r.ARI != 1 || r.Rows != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Accuracy([]string{"a"}, nil)
}

// bruteACC is the best matched count over every injective map of the smaller
// label set into the larger one.
func bruteACC(t *Table) int {
	np, nt := len(t.Pred), len(t.Truth)
	best := 0
	used := make([]bool, nt)
	var rec func(p, sum int)
	rec = func(p, sum int) {
		if p == np {
			best = max(best, sum)
			return
		}
		rec(p+1, sum) // leave cluster p unmatched
		for c := 0; c < nt; c++ {
			if !used[c] {
				used[c] = true
				rec(p+1, sum+t.Count[p][c])
				used[c] = false
			}
		}
	}
	rec(0, 0)
	return best
}

func labelsFromBytes(data []byte) (truth, pred []string) {
	if len(data) < 2 {
		return nil, nil
	}
	kt, kp := int(data[0]%6)+1, int(data[1]%6)+1
	for i := 2; i+1 < len(data); i += 2 {
		truth = append(truth, fmt.Sprintf("t%d", int(data[i])%kt))
		pred = append(pred, fmt.Sprintf("p%d", int(data[i+1])%kp))
	}
	return truth, pred
}

// FuzzAccuracy checks the Hungarian matching against brute force for up to
// 6 classes and 6 clusters.
func FuzzAccuracy(f *testing.F) {
	f.Add([]byte{2, 3, 0, 0, 0, 1, 1, 1, 1, 2, 0, 2, 5, 7})
	f.Add([]byte{5, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{1, 5, 9, 9, 9, 9, 8, 3, 2, 4, 4, 4, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		truth, pred := labelsFromBytes(data)
		if len(truth) == 0 {
			return
		}
		tab := Contingency(truth, pred)
		want := float64(bruteACC(tab)) / float64(len(truth))
		if got := Accuracy(truth, pred); got != want {
			t.Fatalf("ACC %v, brute force %v (table %v)", got, want, tab.Count)
		}
	})
}

// TestAccuracyProperty: on random labellings ACC equals the brute-force
// optimum and is at least the accuracy of any random one-to-one mapping.
func TestAccuracyProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		kt, kp := 1+rng.IntN(6), 1+rng.IntN(6)
		n := 1 + rng.IntN(60)
		truth := make([]string, n)
		pred := make([]string, n)
		for i := range truth {
			truth[i] = fmt.Sprint("t", rng.IntN(kt))
			pred[i] = fmt.Sprint("p", rng.IntN(kp))
		}
		acc := Accuracy(truth, pred)
		tab := Contingency(truth, pred)
		if want := float64(bruteACC(tab)) / float64(n); acc != want {
			t.Fatalf("trial %d: ACC %v brute %v", trial, acc, want)
		}
		// Random injective mapping via a random permutation of classes.
		for r := 0; r < 10; r++ {
			perm := rng.Perm(max(len(tab.Pred), len(tab.Truth)))
			hit := 0
			for p := range tab.Pred {
				if c := perm[p]; c < len(tab.Truth) {
					hit += tab.Count[p][c]
				}
			}
			if float64(hit)/float64(n) > acc {
				t.Fatalf("trial %d: random mapping %d/%d beats ACC %v", trial, hit, n, acc)
			}
		}
		// Mapping must realize the accuracy and be injective.
		m := Mapping(truth, pred)
		seen := map[string]bool{}
		hit := 0
		for i := range truth {
			if m[pred[i]] == truth[i] {
				hit++
			}
		}
		for _, c := range m {
			if seen[c] {
				t.Fatalf("mapping not injective: %v", m)
			}
			seen[c] = true
		}
		if float64(hit)/float64(n) != acc {
			t.Fatalf("mapping realizes %d/%d, ACC %v", hit, n, acc)
		}
	}
}

// TestLargeN: with 300000 rows the pair counts' products (~1e21) overflow
// int64; ARI must still match scikit-learn 1.2.1, which uses Python integers.
// Reference: truth i%7, pred (i*i + i/3)%11 ->
// NMI 8.304024327624127e-09, ARI -2.2672431107125417e-05.
func TestLargeN(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 300000
	truth := make([]string, n)
	pred := make([]string, n)
	for i := 0; i < n; i++ {
		truth[i] = fmt.Sprint(i % 7)
		pred[i] = fmt.Sprint((i*i + i/3) % 11)
	}
	r := Score(truth, pred)
	if !near(r.ARI, -2.2672431107125417e-05, 1e-9*2.3e-5) {
		t.Errorf("ARI %v", r.ARI)
	}
	// MI here is a sum of terms that nearly cancel; numpy sums them in another
	// order (pairwise, truth-major), so only the absolute error is tiny
	// (measured 5e-16, relative 6e-8).
	if !near(r.NMI, 8.304024327624127e-09, 1e-14) {
		t.Errorf("NMI %v", r.NMI)
	}
}

// gcdCase is one of testdata/metrics_cases.json's gcd_cases; a nil
// accuracy is one the reference cannot compute (no row of that kind).
type gcdCase struct {
	Name, How        string
	Old, Truth, Pred []string
	ACC              float64
	ACCOld           *float64 `json:"acc_old"`
	ACCNew           *float64 `json:"acc_new"`
	ACCOldNamed      *float64 `json:"acc_old_named"`
	KNew             int      `json:"k_new"`
	KNewTrue         int      `json:"k_new_true"`
}

func loadGCDCases(t *testing.T) []gcdCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "metrics_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		GCDCases []gcdCase `json:"gcd_cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.GCDCases) < 8 {
		t.Fatalf("got %d GCD cases, want at least 8", len(doc.GCDCases))
	}
	return doc.GCDCases
}

// TestGCDReferenceCases checks GCD against the gcd_cases of
// testdata/metrics_cases.json: GCD's split_cluster_acc_v2 re-derived in
// pure Python by enumerating every matching of the padded square table
// (each case's "how" gives its hand derivation or its generator), to 1e-12.
func TestGCDReferenceCases(t *testing.T) {
	for _, c := range loadGCDCases(t) {
		r := GCD(c.Truth, c.Pred, c.Old)
		opt := func(name string, got float64, rows int, want *float64) {
			switch {
			case want == nil && rows != 0:
				t.Errorf("%s: %s: %d rows, the reference has none", c.Name, name, rows)
			case want != nil && (rows == 0 || !near(got, *want, 1e-12)):
				t.Errorf("%s: %s = %v on %d rows, want %v", c.Name, name, got, rows, *want)
			}
		}
		if !near(r.ACC, c.ACC, 1e-12) {
			t.Errorf("%s: acc %v want %v", c.Name, r.ACC, c.ACC)
		}
		opt("acc_old", r.ACCOld, r.OldRows, c.ACCOld)
		opt("acc_new", r.ACCNew, r.NewRows, c.ACCNew)
		opt("acc_old_named", r.ACCOldNamed, r.OldRows, c.ACCOldNamed)
		if r.KNew != c.KNew || r.KNewTrue != c.KNewTrue {
			t.Errorf("%s: k_new %d k_new_true %d, want %d %d", c.Name, r.KNew, r.KNewTrue, c.KNew, c.KNewTrue)
		}
		if r.OldRows+r.NewRows != len(c.Truth) {
			t.Errorf("%s: %d old + %d new rows of %d", c.Name, r.OldRows, r.NewRows, len(c.Truth))
		}
		// v2 All is the plain clustering accuracy.
		if a := Accuracy(c.Truth, c.Pred); r.ACC != a {
			t.Errorf("%s: GCD acc %v, Accuracy %v", c.Name, r.ACC, a)
		}
		// The stored values again from this file's own brute force.
		hits, splits := bruteSplits(Contingency(c.Truth, c.Pred), c.Old)
		if len(splits) != 1 {
			t.Errorf("%s: the best matchings split the hits %d ways; the case depends on tie order", c.Name, len(splits))
		}
		if float64(hits)/float64(len(c.Truth)) != c.ACC {
			t.Errorf("%s: brute force %d hits, stored acc %v", c.Name, hits, c.ACC)
		}
	}
}

// bruteSplits enumerates every perfect matching of the square table padded
// to max(clusters, classes) and returns the best total and the set of
// (old hits, new hits) splits of the matchings that reach it.
func bruteSplits(t *Table, old []string) (int, map[[2]int]bool) {
	isOld := map[string]bool{}
	for _, c := range old {
		isOld[c] = true
	}
	np, nt := len(t.Pred), len(t.Truth)
	d := max(np, nt)
	best, splits := -1, map[[2]int]bool{}
	perm := make([]int, d)
	used := make([]bool, d)
	var rec func(i int)
	rec = func(i int) {
		if i == d {
			var h [2]int
			for p, c := range perm {
				if p < np && c < nt {
					if isOld[t.Truth[c]] {
						h[0] += t.Count[p][c]
					} else {
						h[1] += t.Count[p][c]
					}
				}
			}
			switch tot := h[0] + h[1]; {
			case tot > best:
				best, splits = tot, map[[2]int]bool{h: true}
			case tot == best:
				splits[h] = true
			}
			return
		}
		for c := 0; c < d; c++ {
			if !used[c] {
				used[c], perm[i] = true, c
				rec(i + 1)
				used[c] = false
			}
		}
	}
	rec(0)
	return best, splits
}

// TestGCDProperty: on random mixes of old and new classes (up to 6 classes
// and 7 clusters, some named as old classes), GCD's total is the
// brute-force best and its old/new split is that of one of the best
// matchings, and its mapping realizes the split.
func TestGCDProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	names := []string{"a", "b", "c", "d", "e", "f"}
	clusters := []string{"a", "b", "c", "d", "novel_0", "novel_1", "novel_2"}
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(40)
		truth, pred := make([]string, n), make([]string, n)
		for i := range truth {
			truth[i] = names[rng.IntN(6)]
			pred[i] = clusters[rng.IntN(len(clusters))]
		}
		old := names[:rng.IntN(5)]
		r := GCD(truth, pred, old)
		best, splits := bruteSplits(Contingency(truth, pred), old)
		hitOld := int(math.Round(r.ACCOld * float64(r.OldRows)))
		hitNew := int(math.Round(r.ACCNew * float64(r.NewRows)))
		if r.ACC != float64(best)/float64(n) || !splits[[2]int{hitOld, hitNew}] {
			t.Fatalf("trial %d: acc %v (brute %d/%d), split %d/%d not among %v", trial, r.ACC, best, n, hitOld, hitNew, splits)
		}
		var h [2]int
		isOld := map[string]bool{}
		for _, c := range old {
			isOld[c] = true
		}
		for i := range truth {
			if r.Mapping[pred[i]] == truth[i] {
				if isOld[truth[i]] {
					h[0]++
				} else {
					h[1]++
				}
			}
		}
		if h != [2]int{hitOld, hitNew} {
			t.Fatalf("trial %d: mapping %v realizes %v, report %d/%d", trial, r.Mapping, h, hitOld, hitNew)
		}
	}
}

// TestGCDTiePrefersSameName: cluster A holds A2 C2, cluster novel_0 A2 C2.
// Both matchings hit 4 of 8 (old 2/4, new 2/4 either way); the tie goes to
// the one that pairs cluster "A" with class A, whatever the label order.
func TestGCDTiePrefersSameName(t *testing.T) {
	for _, names := range [][2]string{{"A", "C"}, {"Z", "C"}, {"A", "0"}} {
		o, n := names[0], names[1]
		truth := []string{o, o, n, n, o, o, n, n}
		pred := []string{o, o, o, o, "novel_0", "novel_0", "novel_0", "novel_0"}
		r := GCD(truth, pred, []string{o})
		if r.Mapping[o] != o || r.Mapping["novel_0"] != n || r.ACC != 0.5 || r.ACCOld != 0.5 || r.ACCNew != 0.5 || r.ACCOldNamed != 0.5 {
			t.Errorf("%v: %+v", names, r)
		}
	}
}

func TestGCDEmpty(t *testing.T) {
	if r := GCD(nil, nil, []string{"a"}); r.ACC != 0 || r.OldRows != 0 || r.NewRows != 0 || r.KNew != 0 || len(r.Mapping) != 0 {
		t.Fatalf("%+v", r)
	}
}
