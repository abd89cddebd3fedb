package discover

import (
	"context"
	"slices"
	"time"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/gcd"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/usererr"
)

// GCDResult is what the generalized setting adds to a Result.
type GCDResult struct {
	// Detection holds, per unlabeled row, the novelty score, p-value and
	// flag, and the existence test and k_new estimate.
	*gcd.Detection
	// Reference scores new rows' novelty (kept in the model file).
	Reference *gcd.Reference
	// Known[i] is unlabeled row i's known class (an index into the
	// training classes: the classifier's choice for rows that joined a
	// known centroid), or -1 when it is in a novel cluster (Result.Labels).
	Known []int
	// Confidence[i] is the share of unlabeled row i's 10 nearest labelled
	// rows that vote for its most voted known class (gcd.Name).
	Confidence []float64
	// NRef and NCal count the reference and calibration rows.
	NRef, NCal int
}

// GCDOptions returns o's generalized-setting options with the run's seed
// and threads, resolved, and k_new fixed when o.K.K > 0.
func (o PBNOptions) gcdOptions() (gcd.Options, error) {
	g := o.GCD
	g.Seed, g.Threads = o.Config.Seed, o.Config.Threads
	if o.K.K > 0 {
		g.FixK, g.K = true, o.K.K
	}
	if g.KMax == 0 {
		g.KMax = o.K.Scan.KMax
	}
	return g.Resolve()
}

// IsGCD tells whether o selects the generalized setting.
func (o PBNOptions) IsGCD() bool { return o.Setting == gcd.SettingGCD }

// TrainingSet is the dataset the networks train on: train itself, or under
// the generalized setting a copy whose calibration rows are unlabeled
// (held out of the classification loss; the reconstruction keeps them).
func TrainingSet(train *dataset.Dataset, o PBNOptions) (*dataset.Dataset, error) {
	if !o.IsGCD() {
		return train, nil
	}
	g, err := o.gcdOptions()
	if err != nil {
		return nil, err
	}
	cal := gcd.CalibSplit(train.Known, len(train.Classes), g.CalibFrac, g.Seed)
	ds := *train
	ds.Known = slices.Clone(train.Known)
	for i, c := range cal {
		if c {
			ds.Known[i] = dataset.Unlabeled
		}
	}
	return &ds, nil
}

// CheckSetting refuses an unknown setting.
func CheckSetting(s string) error {
	switch s {
	case "", gcd.SettingNCD, gcd.SettingGCD:
		return nil
	}
	return usererr.New("--setting must be ncd or gcd, got %q", s)
}

// GCDSpace splits train's labelled rows of the space latentTrain into
// reference and calibration rows (gcd.CalibSplit) and takes Unl as the
// unlabeled rows.
func GCDSpace(latentTrain linalg.Matrix, train *dataset.Dataset, Unl linalg.Matrix, g gcd.Options) gcd.Space {
	cal := gcd.CalibSplit(train.Known, len(train.Classes), g.CalibFrac, g.Seed)
	var refRows, calRows, refClass, calClass []int
	for i, c := range train.Known {
		switch {
		case c == dataset.Unlabeled:
		case cal[i]:
			calRows = append(calRows, i)
			calClass = append(calClass, c)
		default:
			refRows = append(refRows, i)
			refClass = append(refClass, c)
		}
	}
	return gcd.Space{Ref: latentTrain.Select(refRows), RefClass: refClass, NClasses: len(train.Classes),
		Cal: latentTrain.Select(calRows), CalClass: calClass, Unl: Unl}
}

// clusterLatentGCD is ClusterLatent under the generalized setting: novelty
// p-values from the calibration rows, the existence test, k_new, then NCD
// k-means with the known centroids fixed; rows that join a known class are
// named by a vote of their nearest labelled rows (gcd.Name).
func clusterLatentGCD(ctx context.Context, members []*pbn.Model, train, target *dataset.Dataset, o PBNOptions) (*Result, error) {
	g, err := o.gcdOptions()
	if err != nil {
		return nil, err
	}
	r, latentTrain, Z := embedRows(members, train, target, o)

	t1 := time.Now()
	space := GCDSpace(latentTrain, train, Z, g)
	det, err := gcd.Detect(ctx, space, g)
	if err != nil {
		return nil, err
	}
	r.K, r.KEstimated = det.KNew, det.KEstimated
	r.Seconds["estimate_k"] = time.Since(t1).Seconds()

	t2 := time.Now()
	a, err := gcd.Assign(ctx, Z, r.KnownCentroids, det.KNew,
		cluster.KMeansOptions{NInit: o.NInit, Threads: o.Config.Threads, Rng: KMeansRng(o.Config.Seed)}, "")
	if err != nil {
		return nil, err
	}
	r.NovelCentroids, r.Labels, r.Inertia = a.Centroids, a.Novel, a.Inertia
	gr := &GCDResult{Detection: det, Reference: gcd.NewReference(space, det, g), Known: a.Known,
		NRef: space.Ref.Rows, NCal: space.Cal.Rows}
	gr.Confidence, gr.Known = NameKnown(gr.Reference, Z, a.Known, o.Config.Threads)
	r.GCD = gr
	r.Seconds["cluster"] = time.Since(t2).Seconds()
	return r, nil
}

// NameKnown returns the vote share of every row of Z's most voted known
// class among its nearest labelled rows of ref, and known with each row
// that joined a known centroid (known[i] >= 0) renamed to that class.
func NameKnown(ref *gcd.Reference, Z linalg.Matrix, known []int, threads int) (confidence []float64, named []int) {
	cls, share := gcd.Name(Z, ref.Labelled, ref.LabelledClass, ref.NClasses, ref.KNN, threads)
	named = slices.Clone(known)
	for i := range named {
		if named[i] >= 0 {
			named[i] = cls[i]
		}
	}
	return share, named
}

// SpaceResult is the generalized setting run in a given space (GCDInSpace).
type SpaceResult struct {
	GCDResult
	// Unlabeled are the rows clustered, Novel their novel cluster (or -1,
	// then Known is their known class).
	Unlabeled []int
	Novel     []int
	// KnownCentroids (means of every labelled row) and NovelCentroids.
	KnownCentroids, NovelCentroids linalg.Matrix
	Inertia                        float64
}

// GCDInSpace runs the generalized setting on the rows of ds embedded as E
// (one row per row of ds: the z-scored features, or a spectral embedding):
// calibration split of the labelled rows, novelty p-values, existence
// test, k_new (g.FixK/g.K or estimated), NCD k-means with the known
// centroids fixed, known rows named by their nearest labelled rows. g must
// be resolved; km carries the restarts, threads and generator.
func GCDInSpace(ctx context.Context, E linalg.Matrix, ds *dataset.Dataset, g gcd.Options, km cluster.KMeansOptions) (*SpaceResult, error) {
	if err := Check(ds, ds); err != nil {
		return nil, err
	}
	r := &SpaceResult{Unlabeled: ds.UnlabeledRows()}
	Z := E.Select(r.Unlabeled)
	space := GCDSpace(E, ds, Z, g)
	det, err := gcd.Detect(ctx, space, g)
	if err != nil {
		return nil, err
	}
	r.KnownCentroids = cluster.KnownMeans(E, ds.Known, len(ds.Classes))
	a, err := gcd.Assign(ctx, Z, r.KnownCentroids, det.KNew, km, "")
	if err != nil {
		return nil, err
	}
	r.Novel, r.NovelCentroids, r.Inertia = a.Novel, a.Centroids, a.Inertia
	r.Detection, r.NRef, r.NCal = det, space.Ref.Rows, space.Cal.Rows
	r.Reference = gcd.NewReference(space, det, g)
	r.Confidence, r.Known = NameKnown(r.Reference, Z, a.Known, g.Threads)
	return r, nil
}

// ApplyGCD assigns rows Z of a space where a generalized-setting fit lives:
// novelty p-values against ref, the nearest of the known and novel
// centroids, and rows on a known centroid named by their nearest
// labelled rows. novel[i] is -1 when known[i] is set.
func ApplyGCD(ref *gcd.Reference, knownC, novelC, Z linalg.Matrix, threads int) (p []float64, novel, known []int, confidence []float64) {
	_, p = ref.Score(Z, threads)
	r := &cluster.NCDResult{Result: cluster.Result{Centroids: novelC}, KnownCentroids: knownC, AssignKnown: true}
	if novelC.Rows == 0 {
		r.Centroids = linalg.New(0, knownC.Cols)
	}
	novel, known, _ = r.Assign(Z, threads)
	confidence, known = NameKnown(ref, Z, known, threads)
	return p, novel, known, confidence
}
