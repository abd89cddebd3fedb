package discover

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/pbn"
)

func TestCalibHidden(t *testing.T) {
	// About a third of the known classes, at least 2, at most all but one.
	for c, want := range map[int]int{3: 2, 4: 2, 5: 2, 7: 2, 8: 3, 12: 4, 16: 5, 26: 9} {
		if got := CalibHidden(c); got != want {
			t.Errorf("CalibHidden(%d) = %d, want %d", c, got, want)
		}
	}
}

// uneven keeps a growing share of each known class of ds (the k-th known
// class's rows kept while their count is below (k+1) * 40), and every
// unlabeled row: class sizes the sizes rule cannot use.
func uneven(ds *dataset.Dataset) *dataset.Dataset {
	var rows []int
	seen := make([]int, len(ds.Classes))
	for i, k := range ds.Known {
		if k == dataset.Unlabeled {
			rows = append(rows, i)
		} else if seen[k] < (k+1)*40 {
			seen[k]++
			rows = append(rows, i)
		}
	}
	out := &dataset.Dataset{X: ds.X.Select(rows), Classes: ds.Classes, Features: ds.Features}
	for _, i := range rows {
		out.Known, out.Truth = append(out.Known, ds.Known[i]), append(out.Truth, ds.Truth[i])
	}
	return out
}

// The folds rule: three folds hiding 2 of pendigits' 7 known classes (of
// uneven sizes, so that the class sizes leave k to the rule); the mean
// errors are those of the folds' k, the rule chosen is their argmin (ties:
// stable), the novel k is that rule's scan, and all of it is the same at 1
// and 2 threads.
func TestFoldsRule(t *testing.T) {
	ds := uneven(pendigits(t))
	cfg := pbn.DefaultConfig()
	cfg.Epochs, cfg.Seed = 3, 7
	var ref *Result
	for _, th := range []int{1, 2} {
		cfg.Threads = th
		r, err := FitPBN(context.Background(), ds, ds, PBNOptions{Config: cfg, Ensemble: 1, Normalized: true,
			K: KOptions{Scan: estimate.ScanOptions{Rule: estimate.RuleFolds}}})
		if err != nil {
			t.Fatal(err)
		}
		cal := r.Curve.Calibration
		if cal == nil || cal.Folds != 3 || cal.Hidden != 2 || len(cal.FoldK) != 3 || !reflect.DeepEqual(cal.Rules, []string{"stable", "ps"}) {
			t.Fatalf("calibration %+v", cal)
		}
		best := 0
		for i := range cal.Rules {
			e := 0.0
			for _, fk := range cal.FoldK {
				e += math.Abs(float64(fk[i]-2)) / 3
			}
			if math.Abs(e-cal.MeanAbsErr[i]) > 1e-12 {
				t.Errorf("rule %s: mean error %v, folds give %v", cal.Rules[i], cal.MeanAbsErr[i], e)
			}
			if e < cal.MeanAbsErr[best]-1e-9 {
				best = i
			}
		}
		if cal.Rule != cal.Rules[best] {
			t.Errorf("rule %s, argmin is %s (errors %v)", cal.Rule, cal.Rules[best], cal.MeanAbsErr)
		}
		Z := r.Embed(ds.X.Select(r.Unlabeled))
		c, err := estimate.Scan(context.Background(), Z, estimate.ScanOptions{Rule: cal.Rule, Seed: cfg.Seed, Threads: th})
		if err != nil || c.K != r.K {
			t.Fatalf("k %d, the %s scan gives %d (%v)", r.K, cal.Rule, c.K, err)
		}
		if ref == nil {
			ref = r
		} else if !reflect.DeepEqual(r.Curve.Calibration, ref.Curve.Calibration) || !reflect.DeepEqual(r.Labels, ref.Labels) {
			t.Fatal("threads 1 and 2 differ")
		}
	}
	t.Logf("rule %s, errors %v, fold k %v, k %d", ref.Curve.Calibration.Rule, ref.Curve.Calibration.MeanAbsErr, ref.Curve.Calibration.FoldK, ref.K)
}

// Under even class sizes the folds rule takes k from them, as the default
// rule does, and trains no folds: pendigits' first 1500 rows, 7 known
// classes, 3 novel.
func TestFoldsRuleSizes(t *testing.T) {
	ds := pendigits(t)
	cfg := pbn.DefaultConfig()
	cfg.Epochs, cfg.Seed = 3, 7
	folds := 0
	r, err := FitPBN(context.Background(), ds, ds, PBNOptions{Config: cfg, Ensemble: 1, Normalized: true,
		K: KOptions{Scan: estimate.ScanOptions{Rule: estimate.RuleFolds}}, OnCalibration: func(int, int) { folds++ }})
	if err != nil {
		t.Fatal(err)
	}
	known, unl, _ := SizeInput(ds, ds)
	e := estimate.Sizes(known, unl)
	if !e.Used || r.K != e.K || r.K != 3 || r.Curve.Calibration != nil || folds != 0 || r.Curve.Sizes == nil || !r.Curve.Sizes.Used ||
		r.Curve.Fallback != "--k-rule folds: the class sizes give k, so no folds were trained" {
		t.Fatalf("k %d (sizes %+v), calibration %+v, %d calibration calls, note %q", r.K, e, r.Curve.Calibration, folds, r.Curve.Fallback)
	}
}

// When the sizes' k lies outside the range scanned (here above --k-max 2),
// the sizes cannot give k, so the folds rule trains its folds and chooses
// by them instead of silently running the sizes rule's fallback (stable)
// with a note that no folds were trained.
func TestFoldsRuleSizesOutOfRange(t *testing.T) {
	ds := pendigits(t)
	cfg := pbn.DefaultConfig()
	cfg.Epochs, cfg.Seed = 3, 7
	folds := 0
	r, err := FitPBN(context.Background(), ds, ds, PBNOptions{Config: cfg, Ensemble: 1, Normalized: true,
		K: KOptions{Scan: estimate.ScanOptions{Rule: estimate.RuleFolds, KMax: 2}}, OnCalibration: func(int, int) { folds++ }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Curve.Calibration == nil || folds == 0 || r.Curve.Sizes != nil || r.K > 2 {
		t.Fatalf("k %d, calibration %+v, %d calibration calls, sizes %+v, note %q", r.K, r.Curve.Calibration, folds, r.Curve.Sizes, r.Curve.Fallback)
	}
}
