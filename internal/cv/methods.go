package cv

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/spectral"
	"github.com/ncd-project/ncd/internal/tabularncd"
)

// Parameter names. They are the long flag names of `ncd fit` and `ncd
// cluster`, so that a trial's parameters are directly a config file.
const (
	ParamLR          = "lr"
	ParamW           = "w"
	ParamDropout     = "dropout"
	ParamLatentDim   = "latent-dim"
	ParamMinDist     = "min-dist"
	ParamNComponents = "n-components"
)

// PBNSpace is the default search space of PBN (method pbn) or its baseline
// (no w) on d features: lr log-uniform in [1e-4, 1e-2], w in [0, 1], dropout
// in [0, 0.6], latent-dim an integer, log-uniform in [4, 2d] (2d kept in
// [8, 512]). The authors' tuned values fall inside (METHOD.md section 5).
func PBNSpace(method string, d int) Space {
	s := Space{{Name: ParamLR, Low: 1e-4, High: 1e-2, Log: true}}
	if method != pbn.MethodBaseline {
		s = append(s, Param{Name: ParamW, Low: 0, High: 1})
	}
	return append(s,
		Param{Name: ParamDropout, Low: 0, High: 0.6},
		Param{Name: ParamLatentDim, Low: 4, High: float64(min(max(2*d, 8), 512)), Log: true, Int: true})
}

// NCDSCSpace is the default search space of NCD spectral clustering:
// min-dist in [0.01, 0.99], n-components an integer, log-uniform in [2, 150]
// (at most rows-2).
func NCDSCSpace(rows int) Space {
	return Space{
		{Name: ParamMinDist, Low: 0.01, High: 0.99},
		{Name: ParamNComponents, Low: 2, High: float64(max(2, min(150, rows-2))), Log: true, Int: true},
	}
}

// PBN runs a fold the way `ncd fit` runs a dataset: train the network on
// every row of the fold (hidden classes unlabeled), embed the hidden rows,
// choose k there, and k-means them.
type PBN struct {
	// Base holds the fixed settings (Method, Epochs, BatchSize, Shuffle).
	// LR, W, Dropout and LatentDim come from the trial's parameters (Base's
	// value when the space lacks one); Seed and Threads from the fold.
	Base pbn.Config
	// Normalized clusters the L2-normalized latent (fit's --latent normalized).
	Normalized bool
	// NInit is the number of restarts of the final k-means (default 10).
	NInit int
}

// Name is the method's name ("pbn" or "baseline").
func (m *PBN) Name() string { return m.Base.Method }

// Config returns the training configuration for the parameters p.
func (m *PBN) Config(p Params) pbn.Config {
	cfg := m.Base
	if v, ok := p[ParamLR]; ok {
		cfg.LR = v
	}
	if v, ok := p[ParamW]; ok {
		cfg.W = v
	}
	if v, ok := p[ParamDropout]; ok {
		cfg.Dropout = v
	}
	if v, ok := p[ParamLatentDim]; ok {
		cfg.LatentDim = int(math.Round(v))
	}
	return cfg
}

// Cluster trains, embeds, chooses k and clusters the fold's hidden rows.
func (m *PBN) Cluster(ctx context.Context, f *Fold, p Params) ([]int, error) {
	cfg := m.Config(p)
	cfg.Seed, cfg.Threads = f.Seed, f.Threads
	net, err := pbn.Train(ctx, f.Data, cfg, nil)
	if err != nil {
		return nil, err
	}
	Z := net.Embed(f.Data.X.Select(f.Hidden), m.Normalized)
	k, err := f.ChooseK(ctx, Z)
	if err != nil {
		return nil, fmt.Errorf("estimating k: %w", err)
	}
	km, err := cluster.KMeans(ctx, Z, cluster.KMeansOptions{K: k, NInit: m.NInit, Threads: f.Threads, Rng: f.KMeansRng()})
	if err != nil {
		return nil, err
	}
	return km.Labels, nil
}

// NCDSC runs a fold the way `ncd cluster --method ncd-sc` runs a dataset:
// k is estimated on the hidden rows' features, every row of the fold is
// embedded together (spectral embedding of known and unlabeled rows), and
// the hidden rows' embedding is clustered with k-means (or NCD k-means with
// the remaining known classes' embedding means as fixed centroids).
type NCDSC struct {
	// Embed holds the fixed embedding settings (Affinity, KNN, ...);
	// MinDist and NComponents come from the trial's parameters.
	Embed spectral.Options
	// KMeans holds the final k-means settings (NInit, MaxIter, Tol).
	KMeans cluster.KMeansOptions
	// KnownCentroids fixes the known classes' embedding means as centroids.
	KnownCentroids bool

	mu sync.Mutex
	ks map[*Fold]int // k estimated in the raw space does not depend on the trial
}

// Name is "ncd-sc".
func (m *NCDSC) Name() string { return "ncd-sc" }

// Options returns the embedding options for the parameters p.
func (m *NCDSC) Options(p Params) spectral.Options {
	o := m.Embed
	if v, ok := p[ParamMinDist]; ok {
		o.MinDist = v
	}
	if v, ok := p[ParamNComponents]; ok {
		o.NComponents = int(math.Round(v))
	}
	return o
}

func (m *NCDSC) chooseK(ctx context.Context, f *Fold) (int, error) {
	m.mu.Lock()
	k, ok := m.ks[f]
	m.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := f.ChooseK(ctx, f.Data.X.Select(f.Hidden))
	if err != nil {
		return 0, err
	}
	m.mu.Lock()
	if m.ks == nil {
		m.ks = map[*Fold]int{}
	}
	m.ks[f] = k
	m.mu.Unlock()
	return k, nil
}

// Cluster embeds the fold's rows and clusters the hidden ones.
func (m *NCDSC) Cluster(ctx context.Context, f *Fold, p Params) ([]int, error) {
	k, err := m.chooseK(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("estimating k: %w", err)
	}
	o := m.Options(p)
	o.Seed, o.Threads, o.Progress = f.Seed, f.Threads, nil
	if o.NComponents <= 0 {
		o.NComponents = k
	}
	km := m.KMeans
	km.K, km.Threads, km.Rng = k, f.Threads, f.KMeansRng()
	// The same pipeline as `ncd cluster --method ncd-sc` (row-normalized
	// embedding, the reference restart rule), on the fold's hidden rows.
	r, err := cluster.NCDSpectral(ctx, f.Data.X, f.Data.Known, len(f.Data.Classes), cluster.SpectralOptions{
		Embed: o, KMeans: km, RowNormalize: true, KnownCentroids: m.KnownCentroids, Rows: f.Hidden,
	})
	if err != nil {
		return nil, err
	}
	return r.Labels, nil
}

// Parameter names of TabularNCD (fit's flags).
const (
	ParamLRClassif  = "lr-classif"
	ParamLRCluster  = "lr-cluster"
	ParamTopK       = "top-k"
	ParamKNeighbors = "k-neighbors"
	ParamW1         = "w1"
	ParamW2         = "w2"
)

// TabularNCDSpace is the authors' search space of TabularNCD ([O] README
// L160-171; docs/designs/tabularncd.md section 5): both learning rates
// uniform in [1e-6, 1e-2], top-k in [1, 40] percent, k-neighbors an integer
// in [1, 50], w1 and w2 in [0.1, 1], dropout in [0, 0.6]. Their activation
// choice (sigmoid, relu, none) is categorical and stays fixed at
// --activation. Their tuned values on 7 datasets fall inside.
func TabularNCDSpace() Space {
	return Space{
		{Name: ParamLRClassif, Low: 1e-6, High: 1e-2},
		{Name: ParamLRCluster, Low: 1e-6, High: 1e-2},
		{Name: ParamTopK, Low: 1, High: 40},
		{Name: ParamKNeighbors, Low: 1, High: 50, Int: true},
		{Name: ParamW1, Low: 0.1, High: 1},
		{Name: ParamW2, Low: 0.1, High: 1},
		{Name: ParamDropout, Low: 0, High: 0.6},
	}
}

// TabularNCD runs a fold the way `ncd fit --method tabularncd --ensemble 1`
// runs a dataset: pretrain on every row of the fold, choose k in the
// pretrained latent of the hidden rows, train jointly with a clustering
// head of width k, and take its argmax on the hidden rows.
type TabularNCD struct {
	// Base holds the fixed settings; the space's parameters override it,
	// Seed and Threads come from the fold.
	Base tabularncd.Config
}

// Name is "tabularncd".
func (m *TabularNCD) Name() string { return tabularncd.Method }

// Config returns the training configuration for the parameters p.
func (m *TabularNCD) Config(p Params) tabularncd.Config {
	cfg := m.Base
	for name, dst := range map[string]*float64{ParamLRClassif: &cfg.LRClassif, ParamLRCluster: &cfg.LRCluster,
		ParamTopK: &cfg.TopK, ParamW1: &cfg.W1, ParamW2: &cfg.W2, ParamDropout: &cfg.Dropout} {
		if v, ok := p[name]; ok {
			*dst = v
		}
	}
	if v, ok := p[ParamKNeighbors]; ok {
		cfg.KNeighbors = int(math.Round(v))
	}
	return cfg
}

// Cluster trains on the fold and labels its hidden rows.
func (m *TabularNCD) Cluster(ctx context.Context, f *Fold, p Params) ([]int, error) {
	cfg := m.Config(p)
	cfg.Seed, cfg.Threads = f.Seed, f.Threads
	net, err := tabularncd.Pretrain(ctx, f.Data, cfg, nil)
	if err != nil {
		return nil, err
	}
	X := f.Data.X.Select(f.Hidden)
	k, err := f.ChooseK(ctx, net.Latent(X, true))
	if err != nil {
		return nil, fmt.Errorf("estimating k: %w", err)
	}
	if err := tabularncd.Joint(ctx, net, f.Data, cfg, k, nil); err != nil {
		return nil, err
	}
	return net.Predict(X), nil
}
