// Package discover is the discovery pipeline that `ncd fit`, the folds of
// `ncd tune` and the benchmark suite share: train the networks, embed the
// rows, choose the number of novel classes and cluster the unlabeled rows.
// A new way of choosing k, or a new step, plugs in here once.
package discover

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/gcd"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

// KOptions says how the number of novel classes is chosen.
type KOptions struct {
	// K > 0 fixes it; 0 estimates it.
	K int
	// Scan configures the estimate: range, rule, index, runs, seed, threads.
	Scan estimate.ScanOptions
	// KnownSizes and Unlabeled are the class sizes RuleSizes compares (see
	// SizeInput and estimate.ApplySizes); nil KnownSizes: none, for the
	// reason NoSizes.
	KnownSizes []int
	Unlabeled  int
	NoSizes    string
}

// SizeInput returns the class sizes RuleSizes compares for a run that
// learns from train and discovers target's unlabeled rows: target's known
// class sizes and unlabeled rows when target has unlabeled rows and rows of
// at least 3 known classes (its unlabeled rows are the ones clustered: with
// fit --test, a novel class only the --test table holds counts there),
// otherwise train's (a target from the same source with too few labelled
// classes to size them), leaving out known classes the table has no rows
// of; nil, with the reason, when neither has both or the unlabeled rows mix
// known classes in.
func SizeInput(train, target *dataset.Dataset) (known []int, unlabeled int, why string) {
	if train.MixedUnlabeled || target.MixedUnlabeled {
		return nil, 0, "the unlabeled rows mix known-class rows in (--unlabel-known), so their number is no count of novel classes"
	}
	var first []int
	firstU := 0
	for _, d := range []*dataset.Dataset{target, train} {
		sizes := make([]int, len(d.Classes))
		u := 0
		for _, k := range d.Known {
			if k == dataset.Unlabeled {
				u++
			} else if k < len(sizes) {
				sizes[k]++
			}
		}
		// A known class without rows in this table (a --test table
		// that lacks one) is no size of a class it holds.
		sizes = slices.DeleteFunc(sizes, func(n int) bool { return n == 0 })
		if u == 0 || len(sizes) == 0 {
			continue
		}
		if len(sizes) >= 3 {
			return sizes, u, ""
		}
		if first == nil {
			first, firstU = sizes, u // estimate.Sizes says why it is too few
		}
	}
	if first != nil {
		return first, firstU, ""
	}
	return nil, 0, "no table with both labelled and unlabeled rows to compare class sizes in"
}

// ChooseK returns the number of clusters for Z: o.K when given (then the
// curve is nil), otherwise the estimate of o.Scan's rule.
func ChooseK(ctx context.Context, Z linalg.Matrix, o KOptions) (int, *estimate.Curve, error) {
	if o.K > 0 {
		if o.K > Z.Rows {
			return 0, nil, usererr.New("k = %d exceeds the %d unlabeled rows", o.K, Z.Rows)
		}
		return o.K, nil, nil
	}
	c, err := estimate.Scan(ctx, Z, o.Scan)
	if err != nil {
		return 0, nil, err
	}
	if o.Scan.Rule == estimate.RuleSizes {
		estimate.ApplySizes(c, o.KnownSizes, o.Unlabeled, o.Scan.KMin, o.NoSizes)
	}
	return c.K, c, nil
}

// KMeansRng is the generator the final k-means of a run with seed uses (the
// one `ncd fit` and `ncd cluster` build from --seed).
func KMeansRng(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6e6364)) // "ncd"
}

// PBNOptions configures a PBN discovery run.
type PBNOptions struct {
	// Config is the training configuration; its Seed and Threads drive the
	// whole run (training, the k estimate and the final k-means).
	Config pbn.Config
	// Ensemble is the number of networks (<= 1: one).
	Ensemble int
	// Normalized clusters the L2-normalized latent (fit's --latent normalized).
	Normalized bool
	// K chooses the number of novel classes.
	K KOptions
	// NInit is the number of restarts of the final k-means (0: 10).
	NInit int
	// Setting is gcd.SettingNCD ("" means it) or gcd.SettingGCD; GCD
	// configures the latter (its Seed and Threads come from Config, and
	// K.K > 0 fixes k_new).
	Setting string
	GCD     gcd.Options
	// OnTrained, if set, is called once FitPBN's training is done (a
	// command starts its next progress line there).
	OnTrained func()
	// OnCalibration, if set, is called as the folds rule's calibration
	// advances (--k-rule folds): (0, total) first, then after each fold's
	// training and each fold's curve.
	OnCalibration func(done, total int)
	// OnEpoch, if set, is called after every epoch of every member, never
	// concurrently.
	OnEpoch func(member, epoch int, ce, rec float64)
}

// Result is a discovery run in a latent space.
type Result struct {
	// Members are the trained PBN networks (one for a single network).
	Members []*pbn.Model
	// TabularNCD holds the networks of a TabularNCD run instead (see
	// FitTabularNCD); the space is then their clustering heads' softmax.
	TabularNCD []*tabularncd.Model
	// Normalized tells whether the space is the L2-normalized latent.
	Normalized bool
	// KnownCentroids (one row per known class of the training data) and
	// NovelCentroids (K rows) live in the joint latent space.
	KnownCentroids, NovelCentroids linalg.Matrix
	// K is the number of novel clusters; KEstimated tells whether it was
	// estimated, and Curve holds the estimate (nil when K was given).
	K          int
	KEstimated bool
	Curve      *estimate.Curve
	// Unlabeled are the target's unlabeled rows, increasing, and Labels
	// their novel cluster (0..K-1).
	Unlabeled []int
	Labels    []int
	// Inertia is the final k-means' sum of squared distances.
	Inertia float64
	// Seconds times the phases: train, estimate_k, cluster.
	Seconds map[string]float64
	// GCD is set under the generalized setting; Labels[i] is then -1 for
	// rows that joined a known class (GCD.Known[i]).
	GCD *GCDResult
}

// Embed maps preprocessed features into the result's latent space.
func (r *Result) Embed(X linalg.Matrix) linalg.Matrix {
	if len(r.TabularNCD) > 0 {
		return tabularncd.ProbsEnsemble(r.TabularNCD, X)
	}
	return pbn.EmbedEnsemble(r.Members, X, r.Normalized)
}

// TrainPBN trains o.Ensemble networks on train (see pbn.TrainEnsemble).
func TrainPBN(ctx context.Context, train *dataset.Dataset, o PBNOptions) ([]*pbn.Model, error) {
	return pbn.TrainEnsemble(ctx, train, o.Config, max(1, o.Ensemble), o.OnEpoch)
}

// FitPBN trains the networks on train, then discovers the novel classes
// among target's unlabeled rows (target may be train itself).
func FitPBN(ctx context.Context, train, target *dataset.Dataset, o PBNOptions) (*Result, error) {
	if err := Check(train, target); err != nil {
		return nil, err
	}
	ts, err := TrainingSet(train, o)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	members, err := TrainPBN(ctx, ts, o)
	if err != nil {
		return nil, err
	}
	trainSec := time.Since(t0).Seconds()
	if o.OnTrained != nil {
		o.OnTrained()
	}
	r, err := ClusterLatent(ctx, members, train, target, o)
	if err != nil {
		return nil, err
	}
	r.Seconds["train"] = trainSec
	return r, nil
}

// Check refuses data that no run can discover anything in.
func Check(train, target *dataset.Dataset) error {
	if len(target.UnlabeledRows()) == 0 {
		return usererr.New("no unlabeled rows to discover classes in (give rows an empty label, or name classes with --novel)")
	}
	if len(train.Classes) == 0 || len(train.LabeledRows()) == 0 {
		return usererr.New("no labeled rows of known classes to learn from")
	}
	return nil
}

// ClusterLatent embeds train and target with trained members, chooses k on
// target's unlabeled rows and clusters them with k-means. It is FitPBN after
// the training, for callers that reuse networks (the benchmark suite); the
// members must have been trained on TrainingSet(train, o) (under the gcd
// setting, which tests novelty against the calibration rows held out there).
func ClusterLatent(ctx context.Context, members []*pbn.Model, train, target *dataset.Dataset, o PBNOptions) (*Result, error) {
	if err := Check(train, target); err != nil {
		return nil, err
	}
	if o.IsGCD() {
		return clusterLatentGCD(ctx, members, train, target, o)
	}
	r, _, Z := embedRows(members, train, target, o)

	t1 := time.Now()
	ko := o.K
	ko.Scan.Seed, ko.Scan.Threads = o.Config.Seed, o.Config.Threads
	ko.KnownSizes, ko.Unlabeled, ko.NoSizes = SizeInput(train, target)
	var cal *estimate.Calibration
	var calNote string
	if ko.K == 0 && ko.Scan.Rule == estimate.RuleFolds && ko.KnownSizes != nil && estimate.SizesInRange(ko.KnownSizes, ko.Unlabeled, Z.Rows, ko.Scan).Used {
		// The class sizes give k in the range scanned (as the default
		// rule takes it): no folds to train.
		ko.Scan.Rule = estimate.RuleSizes
		calNote = "--k-rule folds: the class sizes give k, so no folds were trained"
	} else if ko.K == 0 && ko.Scan.Rule == estimate.RuleFolds {
		var err error
		if cal, calNote, err = calibrateRule(ctx, train, o); err != nil {
			return nil, err
		}
		ko.Scan.Rule = estimate.RuleStable
		if cal != nil {
			ko.Scan.Rule = cal.Rule
		}
	}
	k, curve, err := ChooseK(ctx, Z, ko)
	if err != nil {
		return nil, err
	}
	if curve != nil && o.K.Scan.Rule == estimate.RuleFolds {
		curve.Calibration = cal
		if calNote != "" && curve.Fallback == "" {
			curve.Fallback = calNote
		}
	}
	r.K, r.KEstimated, r.Curve = k, o.K.K == 0, curve
	if r.KEstimated {
		r.Seconds["estimate_k"] = time.Since(t1).Seconds()
	}

	t2 := time.Now()
	km, err := cluster.KMeans(ctx, Z, cluster.KMeansOptions{K: k, NInit: o.NInit, Threads: o.Config.Threads, Rng: KMeansRng(o.Config.Seed)})
	if err != nil {
		return nil, err
	}
	r.Seconds["cluster"] = time.Since(t2).Seconds()
	r.NovelCentroids, r.Labels, r.Inertia = km.Centroids, km.Labels, km.Inertia
	return r, nil
}

// embedRows starts a Result: the training rows and the target's unlabeled
// rows (Z) in the members' latent space, and the known classes' centroids.
func embedRows(members []*pbn.Model, train, target *dataset.Dataset, o PBNOptions) (r *Result, latentTrain, Z linalg.Matrix) {
	r = &Result{Members: members, Normalized: o.Normalized, Seconds: map[string]float64{}}
	latentTrain = r.Embed(train.X)
	r.KnownCentroids = cluster.KnownMeans(latentTrain, train.Known, len(train.Classes))
	latent := latentTrain
	if target != train {
		latent = r.Embed(target.X)
	}
	r.Unlabeled = target.UnlabeledRows()
	return r, latentTrain, latent.Select(r.Unlabeled)
}
