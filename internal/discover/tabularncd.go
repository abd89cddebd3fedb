package discover

import (
	"context"
	"time"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

// TabularNCDOptions configures a TabularNCD discovery run.
type TabularNCDOptions struct {
	// Config is the training configuration; its Seed and Threads drive the
	// whole run (training, the k estimate and an ensemble's k-means).
	Config tabularncd.Config
	// Ensemble is the number of networks (<= 1: one).
	Ensemble int
	// K chooses the number of novel classes, i.e. the clustering head's
	// width. An estimate is made before the joint training, in the
	// L2-normalized latent of the pretrained encoders (side by side for an
	// ensemble), on target's unlabeled rows.
	K KOptions
	// NInit is the number of restarts of an ensemble's k-means (0: 10).
	NInit int
	// OnEpoch, if set, is called after every epoch of both phases of every
	// member, never concurrently.
	OnEpoch tabularncd.EnsembleProgress
	// AfterK, if set, is called once k is chosen, before the joint training
	// (fit ends the k estimate's progress bar there).
	AfterK func()
}

// FitTabularNCD pretrains the networks on train, chooses k, trains them
// jointly with a clustering head of width k, and assigns target's unlabeled
// rows to novel clusters (target may be train itself).
//
// The result's space is the clustering heads' softmax (side by side,
// scaled by 1/sqrt(members), for an ensemble). One network's novel
// centroids are the k one-hot vectors, so that the nearest centroid (what
// `ncd cluster --model` assigns) is the head's argmax, [O]'s prediction.
// An ensemble's heads are not aligned with each other: its clusters are
// k-means (k clusters) of the joint space.
func FitTabularNCD(ctx context.Context, train, target *dataset.Dataset, o TabularNCDOptions) (*Result, error) {
	if err := Check(train, target); err != nil {
		return nil, err
	}
	cfg := o.Config
	r := &Result{Seconds: map[string]float64{}}
	r.Unlabeled = target.UnlabeledRows()
	t0 := time.Now()
	members, err := tabularncd.PretrainEnsemble(ctx, train, cfg, max(1, o.Ensemble), o.OnEpoch)
	if err != nil {
		return nil, err
	}
	trainSec := time.Since(t0).Seconds()

	t1 := time.Now()
	ko := o.K
	ko.Scan.Seed, ko.Scan.Threads = cfg.Seed, cfg.Threads
	ko.KnownSizes, ko.Unlabeled, ko.NoSizes = SizeInput(train, target)
	var Z linalg.Matrix
	if ko.K > 0 {
		Z = linalg.Matrix{Rows: len(r.Unlabeled)} // ChooseK only checks k against the rows
	} else {
		Z = tabularncd.LatentEnsemble(members, target.X.Select(r.Unlabeled), true)
	}
	k, curve, err := ChooseK(ctx, Z, ko)
	if err != nil {
		return nil, err
	}
	r.K, r.KEstimated, r.Curve = k, ko.K == 0, curve
	if r.KEstimated {
		r.Seconds["estimate_k"] = time.Since(t1).Seconds()
	}
	if o.AfterK != nil {
		o.AfterK()
	}

	t2 := time.Now()
	if err := tabularncd.JointEnsemble(ctx, members, train, cfg, k, o.OnEpoch); err != nil {
		return nil, err
	}
	r.Seconds["train"] = trainSec + time.Since(t2).Seconds()
	r.TabularNCD = members

	t3 := time.Now()
	r.KnownCentroids = cluster.KnownMeans(r.Embed(train.X), train.Known, len(train.Classes))
	Zu := r.Embed(target.X.Select(r.Unlabeled))
	if len(members) == 1 {
		r.NovelCentroids = linalg.New(k, k)
		for c := 0; c < k; c++ {
			r.NovelCentroids.Data[c*k+c] = 1
		}
		r.Labels, r.Inertia = cluster.Assign(Zu, r.NovelCentroids, cfg.Threads)
	} else {
		if k > Zu.Rows {
			return nil, usererr.New("k = %d exceeds the %d unlabeled rows", k, Zu.Rows)
		}
		km, err := cluster.KMeans(ctx, Zu, cluster.KMeansOptions{K: k, NInit: o.NInit, Threads: cfg.Threads, Rng: KMeansRng(cfg.Seed)})
		if err != nil {
			return nil, err
		}
		r.NovelCentroids, r.Labels, r.Inertia = km.Centroids, km.Labels, km.Inertia
	}
	r.Seconds["cluster"] = time.Since(t3).Seconds()
	return r, nil
}
