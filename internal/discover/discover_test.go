package discover

import (
	"context"
	"reflect"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/testutil"
	"github.com/ncd-project/ncd/internal/usererr"
)

// pendigits' first 1500 training rows with digits 0, 3 and 5 hidden.
func pendigits(t *testing.T) *dataset.Dataset {
	t.Helper()
	tb, err := ncdio.ReadWith(testutil.Data("pendigits_train.csv"), nil, ncdio.ReadOptions{Text: []string{"class"}})
	if err != nil {
		t.Fatal(err)
	}
	prep, err := ncdio.Fit(tb, ncdio.Roles{Novel: []string{"0", "3", "5"}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := prep.Transform(tb)
	if err != nil {
		t.Fatal(err)
	}
	return &dataset.Dataset{X: ds.X.Slice(0, 1500), Known: ds.Known[:1500], Classes: ds.Classes, Truth: ds.Truth[:1500], Features: ds.Features}
}

// FitPBN is training then ClusterLatent, the same at 1 and 2 threads; k is
// given or estimated, and a k above the unlabeled rows is a user error.
func TestFitPBN(t *testing.T) {
	ds := pendigits(t)
	cfg := pbn.DefaultConfig()
	cfg.Epochs, cfg.Seed = 3, 5
	var ref *Result
	for _, th := range []int{1, 2} {
		cfg.Threads = th
		r, err := FitPBN(context.Background(), ds, ds, PBNOptions{Config: cfg, Ensemble: 2, Normalized: true, K: KOptions{K: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Members) != 2 || r.K != 3 || r.KEstimated || r.Curve != nil || len(r.Labels) != len(ds.UnlabeledRows()) ||
			r.NovelCentroids.Rows != 3 || r.KnownCentroids.Rows != len(ds.Classes) {
			t.Fatalf("threads %d: k %d, %d labels, %d members", th, r.K, len(r.Labels), len(r.Members))
		}
		if ref == nil {
			ref = r
		} else if !reflect.DeepEqual(r.Labels, ref.Labels) || r.Inertia != ref.Inertia {
			t.Fatal("threads 1 and 2 differ")
		}
	}
	cfg.Threads = 2
	again, err := ClusterLatent(context.Background(), ref.Members, ds, ds, PBNOptions{Config: cfg, Normalized: true, K: KOptions{K: 3}})
	if err != nil || !reflect.DeepEqual(again.Labels, ref.Labels) {
		t.Fatalf("ClusterLatent on the same networks: %v", err)
	}
	auto, err := ClusterLatent(context.Background(), ref.Members, ds, ds, PBNOptions{Config: cfg, Normalized: true,
		K: KOptions{Scan: estimate.ScanOptions{KMax: 8, Rule: estimate.RuleStable}}})
	if err != nil || !auto.KEstimated || auto.Curve == nil || auto.K != auto.Curve.K || auto.K < 1 || auto.K > 8 {
		t.Fatalf("k auto: %+v, %v", auto, err)
	}
	if _, err := ClusterLatent(context.Background(), ref.Members, ds, ds, PBNOptions{Config: cfg, K: KOptions{K: 100000}}); !usererr.Is(err) {
		t.Errorf("k above the rows: %v, want a user error", err)
	}
}
