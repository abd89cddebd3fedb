package cluster

import (
	"context"
	"fmt"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/spectral"
	"github.com/ncd-project/ncd/internal/usererr"
)

// SpectralOptions configures Spectral and NCDSpectral: the embedding and the
// k-means run on it (KMeans.K is the number of clusters wanted).
type SpectralOptions struct {
	Embed  spectral.Options
	KMeans KMeansOptions
	// KnownCentroids (NCD SC only) fixes the known classes' embedding means
	// as pre-centroids, as NCD k-means does, instead of plain k-means on the
	// unlabeled rows' embedding.
	KnownCentroids bool
}

// SpectralResult is a spectral clustering.
type SpectralResult struct {
	// Labels are the clusters of the clustered rows (all rows for Spectral,
	// the unlabeled rows in order for NCDSpectral).
	Labels    []int
	Embedding linalg.Matrix // all embedded rows
	Info      *spectral.Info
	Inertia   float64 // k-means inertia in the embedding
}

// Spectral embeds every row of X (MST bandwidth, RBF affinity, normalized
// Laplacian) and runs k-means on the embedding.
func Spectral(ctx context.Context, X linalg.Matrix, opt SpectralOptions) (*SpectralResult, error) {
	if opt.Embed.NComponents <= 0 {
		opt.Embed.NComponents = opt.KMeans.K
	}
	emb, info, err := spectral.Embed(ctx, X, opt.Embed)
	if err != nil {
		return nil, err
	}
	km, err := KMeans(ctx, emb, opt.KMeans)
	if err != nil {
		return nil, fmt.Errorf("k-means on the spectral embedding: %w", err)
	}
	return &SpectralResult{Labels: km.Labels, Embedding: emb, Info: info, Inertia: km.Inertia}, nil
}

// NCDSpectral embeds known and unlabeled rows together (known[i] is the class
// index or dataset.Unlabeled) and clusters the unlabeled rows' embedding into
// opt.KMeans.K novel clusters: with plain k-means, or with the known classes'
// embedding means as fixed pre-centroids when opt.KnownCentroids is set.
func NCDSpectral(ctx context.Context, X linalg.Matrix, known []int, nClasses int, opt SpectralOptions) (*SpectralResult, error) {
	var unl []int
	for i, c := range known {
		if c == dataset.Unlabeled {
			unl = append(unl, i)
		}
	}
	if len(unl) == 0 {
		return nil, usererr.New("NCD spectral clustering needs unlabeled rows; there are none")
	}
	if opt.Embed.NComponents <= 0 {
		opt.Embed.NComponents = opt.KMeans.K
	}
	emb, info, err := spectral.Embed(ctx, X, opt.Embed)
	if err != nil {
		return nil, err
	}
	eu := emb.Select(unl)
	res := &SpectralResult{Embedding: emb, Info: info}
	if opt.KnownCentroids && nClasses > 0 {
		kc := KnownMeans(emb, known, nClasses)
		r, err := NCDKMeans(ctx, eu, kc, NCDKMeansOptions{KMeansOptions: opt.KMeans})
		if err != nil {
			return nil, fmt.Errorf("NCD k-means on the spectral embedding: %w", err)
		}
		res.Labels, res.Inertia = r.Labels, r.Inertia
		return res, nil
	}
	km, err := KMeans(ctx, eu, opt.KMeans)
	if err != nil {
		return nil, fmt.Errorf("k-means on the spectral embedding: %w", err)
	}
	res.Labels, res.Inertia = km.Labels, km.Inertia
	return res, nil
}
