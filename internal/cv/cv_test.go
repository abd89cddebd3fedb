package cv

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
)

func TestDefaultHidden(t *testing.T) {
	// About a fifth, rounded, at least 2, at most classes-1.
	for classes, want := range map[int]int{3: 2, 5: 2, 10: 2, 12: 2, 13: 3, 19: 4, 26: 5, 100: 20} {
		if got := DefaultHidden(classes); got != want {
			t.Errorf("DefaultHidden(%d) = %d, want %d", classes, got, want)
		}
	}
}

func TestMakeFoldsPartition(t *testing.T) {
	folds, mode, err := MakeFolds(19, FoldOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if mode != FoldPartition {
		t.Fatalf("19 classes, 5 folds: mode %s, want partition", mode)
	}
	var sizes, all []int
	for _, f := range folds {
		sizes = append(sizes, len(f))
		all = append(all, f...)
		if !slices.IsSorted(f) {
			t.Errorf("fold %v not sorted", f)
		}
	}
	if !reflect.DeepEqual(sizes, []int{4, 4, 4, 4, 3}) {
		t.Errorf("sizes %v, want [4 4 4 4 3]", sizes)
	}
	slices.Sort(all)
	for i, c := range all {
		if c != i {
			t.Fatalf("partition does not hide every class exactly once: %v", all)
		}
	}
	again, _, _ := MakeFolds(19, FoldOptions{Seed: 7})
	other, _, _ := MakeFolds(19, FoldOptions{Seed: 8})
	if !reflect.DeepEqual(folds, again) {
		t.Error("same seed, different folds")
	}
	if reflect.DeepEqual(folds, other) {
		t.Error("another seed gave the same folds")
	}
}

func TestMakeFoldsRandom(t *testing.T) {
	// 5 known classes cannot be split into 5 groups of 2: auto draws 5
	// distinct pairs.
	folds, mode, err := MakeFolds(5, FoldOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if mode != FoldRandom || len(folds) != 5 {
		t.Fatalf("mode %s, %d folds; want random, 5", mode, len(folds))
	}
	seen := map[[2]int]bool{}
	for _, f := range folds {
		if len(f) != 2 || f[0] >= f[1] || f[1] >= 5 {
			t.Fatalf("bad fold %v", f)
		}
		if seen[[2]int{f[0], f[1]}] {
			t.Fatalf("fold %v repeated", f)
		}
		seen[[2]int{f[0], f[1]}] = true
	}
	// All 10 pairs of 5 classes are reachable: asking for 10 folds gives them all.
	all, _, err := MakeFolds(5, FoldOptions{Mode: FoldRandom, Folds: 10, Hidden: 2})
	if err != nil || len(all) != 10 {
		t.Fatalf("10 folds of pairs among 5: %v, %v", all, err)
	}
	for _, bad := range []struct {
		classes int
		opt     FoldOptions
	}{
		{5, FoldOptions{Mode: FoldPartition}},             // groups of 1
		{5, FoldOptions{Mode: FoldRandom, Hidden: 5}},     // nothing left known
		{2, FoldOptions{}},                                // too few classes
		{10, FoldOptions{Mode: "stratified"}},             // unknown mode
		{10, FoldOptions{Mode: FoldPartition, Folds: -1}}, // no folds
		{10, FoldOptions{Mode: FoldRandom, Hidden: -2}},   // negative
		{10, FoldOptions{Mode: FoldPartition, Folds: 6}},  // 10 < 12
	} {
		if _, _, err := MakeFolds(bad.classes, bad.opt); err == nil {
			t.Errorf("MakeFolds(%d, %+v) should fail", bad.classes, bad.opt)
		}
	}
}

// TestMakeFoldsFewerSets: when the known classes allow fewer distinct
// hidden sets than the folds asked, every set is used once.
func TestMakeFoldsFewerSets(t *testing.T) {
	for _, c := range []struct {
		classes int
		opt     FoldOptions
		want    [][]int // sorted
	}{
		// 3 known classes, default 5 folds: auto is random with pairs; all 3.
		{3, FoldOptions{Seed: 4}, [][]int{{0, 1}, {0, 2}, {1, 2}}},
		{4, FoldOptions{Mode: FoldRandom, Folds: 7}, [][]int{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}},
		{4, FoldOptions{Mode: FoldRandom, Folds: 9, Hidden: 3}, [][]int{{0, 1, 2}, {0, 1, 3}, {0, 2, 3}, {1, 2, 3}}},
	} {
		folds, mode, err := MakeFolds(c.classes, c.opt)
		if err != nil || mode != FoldRandom {
			t.Fatalf("%d classes %+v: mode %q, %v", c.classes, c.opt, mode, err)
		}
		got := slices.Clone(folds)
		slices.SortFunc(got, slices.Compare)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d classes %+v: folds %v, want %v in some order", c.classes, c.opt, folds, c.want)
		}
		again, _, _ := MakeFolds(c.classes, c.opt)
		if !reflect.DeepEqual(again, folds) {
			t.Errorf("%d classes: not deterministic: %v then %v", c.classes, folds, again)
		}
	}
	// C(6,3) = 20 sets for 21 folds: all 20.
	folds, _, err := MakeFolds(6, FoldOptions{Mode: FoldRandom, Folds: 21, Hidden: 3})
	if err != nil || len(folds) != 20 {
		t.Errorf("6 classes, 21 folds of 3: %d folds, %v", len(folds), err)
	}
	// As many sets as folds: unchanged (5 pairs asked of 5 classes' 10).
	folds, _, _ = MakeFolds(5, FoldOptions{Seed: 1})
	if len(folds) != 5 {
		t.Errorf("5 classes: %d folds", len(folds))
	}
}

// toy builds a dataset of nc well separated known classes with per rows each
// plus novel unlabeled rows; class c sits around (10c, 0).
func toy(nc, per, novel int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := &dataset.Dataset{}
	var rows [][]float64
	for c := 0; c < nc; c++ {
		ds.Classes = append(ds.Classes, string(rune('a'+c)))
		for i := 0; i < per; i++ {
			rows = append(rows, []float64{10*float64(c) + rng.NormFloat64(), rng.NormFloat64()})
			ds.Known = append(ds.Known, c)
			ds.Truth = append(ds.Truth, ds.Classes[c])
		}
	}
	for i := 0; i < novel; i++ {
		rows = append(rows, []float64{rng.NormFloat64(), 50 + rng.NormFloat64()})
		ds.Known = append(ds.Known, dataset.Unlabeled)
		ds.Truth = append(ds.Truth, "novel")
	}
	ds.X = linalg.FromRows(rows)
	return ds
}

func TestHideClasses(t *testing.T) {
	ds := toy(4, 3, 2)
	fd, rows, names := hideClasses(ds, []int{1, 3})
	if !reflect.DeepEqual(names, []string{"b", "d"}) || !reflect.DeepEqual(fd.Classes, []string{"a", "c"}) {
		t.Fatalf("hidden %v, kept %v", names, fd.Classes)
	}
	if !reflect.DeepEqual(rows, []int{3, 4, 5, 9, 10, 11}) {
		t.Fatalf("hidden rows %v", rows)
	}
	wantKnown := []int{0, 0, 0, -1, -1, -1, 1, 1, 1, -1, -1, -1, -1, -1}
	if !reflect.DeepEqual(fd.Known, wantKnown) {
		t.Fatalf("known %v, want %v", fd.Known, wantKnown)
	}
	if ds.Known[3] != 1 {
		t.Fatal("hideClasses modified the input")
	}
}

// fakeMethod labels each hidden row with its true class with a probability
// that peaks at lr = 1e-3, w = 0.3 and otherwise draws a random class. It is
// deterministic in (fold seed, params) and sleeps a little to scramble the
// order in which parallel folds finish.
type fakeMethod struct {
	failAbove float64 // w above this fails (0: never)
}

func (m *fakeMethod) Name() string { return "fake" }

func quality(p Params) float64 {
	dl := math.Log10(p[ParamLR]) + 3
	dw := p[ParamW] - 0.3
	return math.Exp(-(dl*dl + 4*dw*dw))
}

func paramsSeed(p Params) uint64 {
	var h uint64 = 1469598103934665603
	for _, k := range sortedNames(p) {
		h = (h ^ math.Float64bits(p[k])) * 1099511628211
	}
	return h
}

func (m *fakeMethod) Cluster(ctx context.Context, f *Fold, p Params) ([]int, error) {
	if m.failAbove > 0 && p[ParamW] > m.failAbove {
		return nil, errors.New("diverged")
	}
	rng := rand.New(rand.NewPCG(f.Seed, paramsSeed(p)))
	time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := quality(p)
	out := make([]int, len(f.Hidden))
	for j, i := range f.Hidden {
		c := slices.Index(f.HiddenClasses, f.Data.Truth[i])
		if rng.Float64() >= q {
			c = rng.IntN(len(f.HiddenClasses))
		}
		out[j] = c
	}
	return out, nil
}

var fakeSpace = Space{
	{Name: ParamLR, Low: 1e-5, High: 1e-1, Log: true},
	{Name: ParamW, Low: 0, High: 1},
	{Name: ParamLatentDim, Low: 4, High: 32, Log: true, Int: true},
}

func fakeOptions(ds *dataset.Dataset, threads int) Options {
	folds, _, err := MakeFolds(len(ds.Classes), FoldOptions{Folds: 4, Seed: 5})
	if err != nil {
		panic(err)
	}
	return Options{Method: &fakeMethod{}, Space: fakeSpace, Folds: folds, Trials: 24, TrueK: true, Seed: 11, Threads: threads}
}

// stripTimes zeroes the wall times, the only non-deterministic fields.
func stripTimes(ts []Trial) []Trial {
	out := make([]Trial, len(ts))
	for i, t := range ts {
		t.Seconds = 0
		t.Folds = slices.Clone(t.Folds)
		for j := range t.Folds {
			t.Folds[j].Seconds = 0
		}
		out[i] = t
	}
	return out
}

func TestTuneSameResultForAnyThreads(t *testing.T) {
	ds := toy(8, 20, 30)
	var ref *Result
	for _, threads := range []int{1, 3, 8} {
		res, err := Tune(context.Background(), ds, fakeOptions(ds, threads))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Trials) != 24 {
			t.Fatalf("%d trials, want 24", len(res.Trials))
		}
		if ref == nil {
			ref = res
			continue
		}
		if !reflect.DeepEqual(stripTimes(res.Trials), stripTimes(ref.Trials)) || res.Best != ref.Best {
			t.Fatalf("threads %d: trials or winner differ from threads 1", threads)
		}
	}
	// The fake optimum is lr 1e-3, w 0.3: TPE must have found a good region.
	best := ref.Trials[ref.Best]
	if q := quality(best.Params); q < 0.8 {
		t.Errorf("best trial %v has quality %.3f, want >= 0.8", best.Params, q)
	}
	for _, tr := range ref.Trials {
		if ld := tr.Params[ParamLatentDim]; ld != math.Round(ld) || ld < 4 || ld > 32 {
			t.Errorf("latent-dim %v not an integer in [4, 32]", ld)
		}
	}
}

func TestTPEBeatsRandomSearch(t *testing.T) {
	// On the fake objective, averaged over 4 seeds, TPE's best trial after 30
	// trials must be better than random search's (same seeds, same startup).
	ds := toy(8, 20, 0)
	mean := func(sampler string) float64 {
		s := 0.0
		for seed := uint64(0); seed < 4; seed++ {
			o := fakeOptions(ds, 2)
			o.Trials, o.Sampler, o.Seed = 30, sampler, seed
			res, err := Tune(context.Background(), ds, o)
			if err != nil {
				t.Fatal(err)
			}
			s += quality(res.Trials[res.Best].Params)
		}
		return s / 4
	}
	tpe, rnd := mean(SamplerTPE), mean(SamplerRandom)
	t.Logf("mean quality of the best trial: tpe %.3f, random %.3f", tpe, rnd)
	if tpe <= rnd {
		t.Errorf("TPE (%.3f) no better than random search (%.3f)", tpe, rnd)
	}
}

// TestTuneResume interrupts a search at several points, keeping whatever
// trials had finished (in whatever order), and checks that resuming gives
// exactly the uninterrupted result, with and without the median rule.
func TestTuneResume(t *testing.T) {
	ds := toy(8, 20, 30)
	for _, prune := range []int{0, 2} {
		opt := fakeOptions(ds, 3)
		opt.Prune = prune
		full, err := Tune(context.Background(), ds, opt)
		if err != nil {
			t.Fatal(err)
		}
		if prune > 0 {
			n := 0
			for _, tr := range full.Trials {
				if tr.Pruned {
					n++
					if len(tr.Folds) != prune {
						t.Errorf("pruned trial %d has %d folds, want %d", tr.Index, len(tr.Folds), prune)
					}
				}
			}
			if n == 0 {
				t.Error("the median rule pruned nothing")
			}
		}
		for _, stopAfter := range []int{1, 7, 15} {
			// Cancel after stopAfter trials finished; the finished ones are
			// what a study file would hold.
			ctx, cancel := context.WithCancel(context.Background())
			var saved []Trial
			o := opt
			o.OnTrial = func(tr Trial) error {
				saved = append(saved, tr)
				if len(saved) == stopAfter {
					cancel()
				}
				return nil
			}
			part, err := Tune(ctx, ds, o)
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted tune: err %v, want context.Canceled", err)
			}
			if len(part.Trials) != len(saved) {
				t.Fatalf("result holds %d trials, OnTrial saw %d", len(part.Trials), len(saved))
			}
			o = opt
			o.Done = saved
			var added int
			o.OnTrial = func(Trial) error { added++; return nil }
			res, err := Tune(context.Background(), ds, o)
			if err != nil {
				t.Fatal(err)
			}
			if added+len(saved) != 24 {
				t.Errorf("resume ran %d trials after %d saved, want %d", added, len(saved), 24-len(saved))
			}
			if !reflect.DeepEqual(stripTimes(res.Trials), stripTimes(full.Trials)) || res.Best != full.Best {
				t.Fatalf("prune %d, stop after %d: resumed search differs from the uninterrupted one", prune, stopAfter)
			}
		}
	}
}

func TestTuneMoreTrialsExtendsSearch(t *testing.T) {
	// A study resumed with a larger --trials equals a search run with that
	// many trials from the start (proposals never depend on the total).
	ds := toy(8, 20, 30)
	o := fakeOptions(ds, 2)
	o.Trials = 12
	first, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Trials, o.Done = 24, first.Trials
	more, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := Tune(context.Background(), ds, fakeOptions(ds, 2))
	if !reflect.DeepEqual(stripTimes(more.Trials), stripTimes(full.Trials)) {
		t.Fatal("12 + 12 trials differ from 24 trials")
	}
}

func TestTuneFailedTrialsCannotWin(t *testing.T) {
	ds := toy(8, 20, 30)
	o := fakeOptions(ds, 2)
	o.Method = &fakeMethod{failAbove: 0.5}
	res, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, tr := range res.Trials {
		if tr.Params[ParamW] > 0.5 != tr.Failed {
			t.Errorf("trial %d (w %.2f): failed = %v", tr.Index, tr.Params[ParamW], tr.Failed)
		}
		if tr.Failed {
			failed++
			if tr.Folds[0].Err != "diverged" || tr.ACC != 0 {
				t.Errorf("failed trial %d: %+v", tr.Index, tr)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no trial failed")
	}
	if res.Trials[res.Best].Failed {
		t.Error("a failed trial won")
	}
}

func TestTuneTrueKAndScores(t *testing.T) {
	// A perfect method (quality 1 at lr 1e-3, w 0.3 fixed) scores ACC 1 on
	// every fold, with k = the number of hidden classes.
	ds := toy(6, 10, 5)
	o := fakeOptions(ds, 2)
	o.Space = Space{{Name: ParamLR, Low: 1e-3, High: 1e-3}, {Name: ParamW, Low: 0.3, High: 0.3}}
	o.Trials = 2
	res, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if tr.ACC != 1 || tr.ACCStd != 0 || tr.NMI != 1 || tr.ARI != 1 {
			t.Errorf("trial %d: ACC %v +- %v NMI %v ARI %v, want 1 +- 0, 1, 1", tr.Index, tr.ACC, tr.ACCStd, tr.NMI, tr.ARI)
		}
		for f, fs := range tr.Folds {
			if fs.K != len(o.Folds[f]) {
				t.Errorf("fold %d: k %d, want %d", f, fs.K, len(o.Folds[f]))
			}
		}
	}
}

func TestTrialSummarize(t *testing.T) {
	tr := Trial{Folds: []FoldScore{{ACC: 0.5, NMI: 0.2, ARI: 0.1}, {ACC: 0.7, NMI: 0.4, ARI: 0.3}, {ACC: 0.9, NMI: 0.6, ARI: 0.5}}}
	tr.summarize()
	// numpy: np.std([.5, .7, .9]) = 0.16329931618554522
	if math.Abs(tr.ACC-0.7) > 1e-15 || math.Abs(tr.ACCStd-0.16329931618554522) > 1e-15 || math.Abs(tr.NMI-0.4) > 1e-15 || math.Abs(tr.ARI-0.3) > 1e-15 {
		t.Errorf("summary %+v", tr)
	}
}

func TestSpaceSampling(t *testing.T) {
	s := Space{
		{Name: "a", Low: 1e-4, High: 1e-2, Log: true},
		{Name: "n", Low: 4, High: 6, Int: true},
		{Name: "fixed", Low: 0.5, High: 0.5},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	counts := map[float64]int{}
	below := 0
	const n = 30000
	for i := 0; i < n; i++ {
		p := s.sampleRandom(rng)
		if p["a"] < 1e-4 || p["a"] > 1e-2 || p["fixed"] != 0.5 {
			t.Fatalf("out of range: %v", p)
		}
		if p["a"] < 1e-3 {
			below++
		}
		counts[p["n"]]++
	}
	// Log-uniform: half the mass below the geometric midpoint 1e-3.
	if f := float64(below) / n; math.Abs(f-0.5) > 0.015 {
		t.Errorf("P(a < 1e-3) = %.3f, want 0.5", f)
	}
	// Integers: both ends as likely as the middle (1/3 each).
	for _, v := range []float64{4, 5, 6} {
		if f := float64(counts[v]) / n; math.Abs(f-1.0/3) > 0.015 {
			t.Errorf("P(n = %v) = %.3f, want 1/3", v, f)
		}
	}
	for _, bad := range []Space{
		{{Name: "x", Low: 2, High: 1}},
		{{Name: "x", Low: 0, High: 1, Log: true}},
		{{Name: "x", Low: 0.5, High: 3, Int: true}},
		{{Name: "x", Low: 0, High: 1}, {Name: "x", Low: 0, High: 1}},
		{{Name: "x", Low: math.NaN(), High: 1}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%v should be invalid", bad)
		}
	}
}

func TestParzenDensity(t *testing.T) {
	// One observation at 0.25 in [0, 1] plus the prior: the mixture must
	// integrate to 1 over the box (midpoint rule) and peak near 0.25.
	p := newParzen([][]float64{{0.25}}, []float64{0}, []float64{1})
	sum, peak, at := 0.0, math.Inf(-1), 0.0
	const n = 100000
	for i := 0; i < n; i++ {
		x := (float64(i) + 0.5) / n
		lp := p.logPDF([]float64{x})
		sum += math.Exp(lp) / n
		if lp > peak {
			peak, at = lp, x
		}
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("density integrates to %v", sum)
	}
	if math.Abs(at-0.25) > 0.01 {
		t.Errorf("density peaks at %v, want 0.25", at)
	}
}

// First: trial 0 runs the given configuration, clamped into the space
// (latent-dim 40 -> 32, w absent -> the middle of [0, 1]); the later
// trials are those of a search whose trial 0 was drawn, since proposals
// depend on the seed, the index and the history only.
func TestTuneFirstTrial(t *testing.T) {
	ds := toy(8, 20, 30)
	o := fakeOptions(ds, 2)
	o.Trials = 3
	o.First = Params{ParamLR: 1e-3, ParamLatentDim: 40}
	res, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{ParamLR: 1e-3, ParamW: 0.5, ParamLatentDim: 32}
	if !reflect.DeepEqual(res.Trials[0].Params, want) {
		t.Errorf("trial 0 = %v, want %v", res.Trials[0].Params, want)
	}
	o.First = nil
	plain, err := Tune(context.Background(), ds, o)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(plain.Trials[0].Params, want) || !reflect.DeepEqual(plain.Trials[1].Params, res.Trials[1].Params) {
		t.Errorf("without First: trial 0 %v, trial 1 %v vs %v", plain.Trials[0].Params, plain.Trials[1].Params, res.Trials[1].Params)
	}
}
