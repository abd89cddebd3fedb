package discover

import (
	"context"
	"math"
	"reflect"
	"testing"

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

// The folds rule: three folds hiding 2 of pendigits' 7 known classes; each
// fold's k per cutoff never grows with the cutoff, the mean errors are
// those of the fold k, the cutoff is their argmin (ties: closest to .7,
// then lower), the novel k is the prediction strength scan's at that
// cutoff, and all of it is the same at 1 and 2 threads.
func TestFoldsRule(t *testing.T) {
	ds := pendigits(t)
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
		if cal == nil || cal.Folds != 3 || cal.Hidden != 2 || len(cal.FoldK) != 3 {
			t.Fatalf("calibration %+v", cal)
		}
		best := 0
		for i, tc := range cal.Cutoffs {
			e := 0.0
			for f, fk := range cal.FoldK {
				if i > 0 && fk[i] > fk[i-1] {
					t.Errorf("fold %d: k %d at cutoff %.2f above %d at %.2f", f, fk[i], tc, fk[i-1], cal.Cutoffs[i-1])
				}
				e += math.Abs(float64(fk[i]-2)) / 3
			}
			if math.Abs(e-cal.MeanAbsErr[i]) > 1e-12 {
				t.Errorf("cutoff %.2f: mean error %v, folds give %v", tc, cal.MeanAbsErr[i], e)
			}
			d, db := math.Abs(tc-0.7), math.Abs(cal.Cutoffs[best]-0.7)
			if e < cal.MeanAbsErr[best]-1e-9 || (math.Abs(e-cal.MeanAbsErr[best]) <= 1e-9 && d < db-1e-9) {
				best = i
			}
		}
		if cal.Cutoff != cal.Cutoffs[best] {
			t.Errorf("cutoff %.2f, argmin is %.2f (errors %v)", cal.Cutoff, cal.Cutoffs[best], cal.MeanAbsErr)
		}
		Z := r.Embed(ds.X.Select(r.Unlabeled))
		c, err := estimate.Scan(context.Background(), Z, estimate.ScanOptions{Rule: estimate.RulePS, PSCutoff: cal.Cutoff, Seed: cfg.Seed, Threads: th})
		if err != nil || c.K != r.K {
			t.Fatalf("k %d, the scan at cutoff %.2f gives %d (%v)", r.K, cal.Cutoff, c.K, err)
		}
		if ref == nil {
			ref = r
		} else if !reflect.DeepEqual(r.Curve.Calibration, ref.Curve.Calibration) || !reflect.DeepEqual(r.Labels, ref.Labels) {
			t.Fatal("threads 1 and 2 differ")
		}
	}
	t.Logf("cutoff %.2f, errors %v, k %d", ref.Curve.Calibration.Cutoff, ref.Curve.Calibration.MeanAbsErr, ref.K)
}
