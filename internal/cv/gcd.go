package cv

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/gcd"
)

// GCDFolds makes the folds generalized (`tune --setting gcd`): besides its
// hidden classes, each fold unlabels Unlabel of every remaining known
// class's rows (seeded, per class), which join the rows to cluster and
// score; Null folds hide no class at all (only the unlabeled known rows):
// there the right answer is "no new class", and the share of null folds
// with k_new > 0 is the existence test's false-discovery rate. A fold's
// score is then GCD's v2 All accuracy over all its rows to cluster.
type GCDFolds struct {
	Unlabel float64
	Null    int
}

// unlabel hides round(Unlabel * n_c) of the labelled rows of each class
// of fd (fd.Known is the fold's own slice) and returns rows merged with
// them, increasing.
func (g *GCDFolds) unlabel(fd *dataset.Dataset, rows []int, seed uint64, fold int) []int {
	byClass := make([][]int, len(fd.Classes))
	for i, c := range fd.Known {
		if c >= 0 {
			byClass[c] = append(byClass[c], i)
		}
	}
	out := slices.Clone(rows)
	for c, rs := range byClass {
		m := int(math.Round(g.Unlabel * float64(len(rs))))
		m = min(m, len(rs)-1) // keep a labelled row per class
		if m <= 0 {
			continue
		}
		rng := rand.New(rand.NewPCG(seed^uint64(fold)<<32, 0x67636466^uint64(c))) // "gcdf"
		for _, j := range rng.Perm(len(rs))[:m] {
			fd.Known[rs[j]] = dataset.Unlabeled
			out = append(out, rs[j])
		}
	}
	slices.Sort(out)
	return out
}

// GCDPBN runs a generalized fold the way `ncd fit --setting gcd` runs a
// dataset (one network): calibration rows held out of the classification
// loss, novelty p-values, the existence test, k_new, NCD k-means with the
// known centroids fixed, known rows named by their nearest labelled rows.
// Its labels are the novel cluster j (0..k_new-1) or -(c+1) for known
// class c, so the fold's accuracy is GCD's v2 All.
type GCDPBN struct {
	PBN
	// GCD configures the setting (Seed and Threads come from the fold).
	GCD gcd.Options
}

// Cluster trains on the fold and assigns its rows to cluster.
func (m *GCDPBN) Cluster(ctx context.Context, f *Fold, p Params) ([]int, error) {
	cfg := m.Config(p)
	cfg.Seed, cfg.Threads = f.Seed, f.Threads
	g := m.GCD
	g.FixK, g.K = f.trueK, f.k
	o := discover.PBNOptions{Config: cfg, Ensemble: 1, Normalized: m.Normalized, NInit: m.NInit, Setting: gcd.SettingGCD, GCD: g,
		K: discover.KOptions{Scan: f.scan}}
	if f.trueK {
		o.K.K = 0 // GCD.FixK carries it (0 legal)
	}
	ts, err := discover.TrainingSet(f.Data, o)
	if err != nil {
		return nil, err
	}
	members, err := discover.TrainPBN(ctx, ts, o)
	if err != nil {
		return nil, err
	}
	// The rows to cluster alone: the tuned table's own unlabeled rows (its
	// real novel rows) train the network but must not enter the test.
	target := &dataset.Dataset{X: f.Data.X.Select(f.Hidden), Known: make([]int, len(f.Hidden)), Classes: f.Data.Classes,
		Features: f.Data.Features}
	for i := range target.Known {
		target.Known[i] = dataset.Unlabeled
	}
	r, err := discover.ClusterLatent(ctx, members, f.Data, target, o)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(f.Hidden))
	for j, l := range r.Labels {
		if l >= 0 {
			out[j] = l
		} else {
			out[j] = -(r.GCD.Known[j] + 1)
		}
	}
	return out, nil
}

// KNew is the number of novel clusters in a fold's labels.
func (m *GCDPBN) KNew(pred []int) int {
	seen := map[int]bool{}
	for _, l := range pred {
		if l >= 0 {
			seen[l] = true
		}
	}
	return len(seen)
}
