package model

import (
	"time"

	"github.com/ncd-project/ncd/internal/gcd"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

// File is everything needed to reuse a fit: preprocessing, network, the
// latent space the centroids live in, the centroids, k and the config.
type File struct {
	// NCDVersion is the version of ncd that wrote the file.
	NCDVersion string
	Created    time.Time
	// Prep turns a table with the fitting table's columns into features.
	Prep *ncdio.Preprocessor
	// Net is the trained PBN network (the first member of an ensemble; nil
	// for a TabularNCD fit).
	Net *pbn.Model
	// Ensemble holds the other members of an ensemble fit (fit --ensemble);
	// the latent space is then the members' latents side by side (see
	// pbn.EmbedEnsemble). Empty for a single network and in files written
	// before ensembles existed.
	Ensemble []*pbn.Model
	// TabularNCD holds the networks of a TabularNCD fit (fit --method
	// tabularncd) instead of Net and Ensemble; the centroids then live in
	// their clustering heads' softmax (see discover.FitTabularNCD).
	TabularNCD []*tabularncd.Model
	// Normalized is true when the centroids live in the L2-normalized latent.
	Normalized bool
	// KnownCentroids (one row per Prep.Classes) and NovelCentroids (K rows)
	// are latent-space centroids.
	KnownCentroids linalg.Matrix
	NovelCentroids linalg.Matrix
	K              int
	// KEstimated tells whether K came from the silhouette scan.
	KEstimated bool
	// Setting is the fit's --setting ("" in files written before it
	// existed: ncd). Under gcd, GCD holds what scoring new rows' novelty
	// needs (reference rows and calibration scores in the latent space).
	Setting string
	GCD     *gcd.Reference
	// Config records the command's settings (flag name -> value) for provenance.
	Config map[string]string
}

// Members returns the networks of the fit: Net, then Ensemble.
func (f *File) Members() []*pbn.Model { return append([]*pbn.Model{f.Net}, f.Ensemble...) }

// Embed maps preprocessed features into the space the centroids live in.
func (f *File) Embed(X linalg.Matrix) linalg.Matrix {
	if len(f.TabularNCD) > 0 {
		return tabularncd.ProbsEnsemble(f.TabularNCD, X)
	}
	return pbn.EmbedEnsemble(f.Members(), X, f.Normalized)
}

// Latent maps preprocessed features into the networks' latent space, where
// the number of classes is estimated: Embed for PBN, the L2-normalized
// encoder output for TabularNCD.
func (f *File) Latent(X linalg.Matrix) linalg.Matrix {
	if len(f.TabularNCD) > 0 {
		return tabularncd.LatentEnsemble(f.TabularNCD, X, true)
	}
	return f.Embed(X)
}

// Save writes the model atomically to path.
func (f *File) Save(path string) error { return SaveFile(path, f) }

// Load reads a model written by Save; a corrupt, truncated or foreign file
// is a user error.
func Load(path string) (*File, error) {
	var f File
	if err := LoadFile(path, &f); err != nil {
		return nil, err
	}
	if f.Prep == nil || (f.Net == nil && len(f.TabularNCD) == 0) || f.NovelCentroids.Rows != f.K {
		return nil, &usererr.Error{File: path, Msg: "model file is incomplete (no preprocessing, network or centroids)"}
	}
	if f.Setting == gcd.SettingGCD {
		if f.GCD == nil || f.GCD.Check() != nil || f.GCD.Ref.Cols != f.KnownCentroids.Cols {
			return nil, &usererr.Error{File: path, Msg: "model file is incomplete (a --setting gcd fit without its novelty reference)"}
		}
	}
	for _, m := range f.TabularNCD {
		if m == nil || m.Clusterer == nil || m.Dims != f.TabularNCD[0].Dims || m.Dims[0] != f.Prep.Dims() {
			return nil, &usererr.Error{File: path, Msg: "model file is inconsistent (a TabularNCD network is missing or has other dimensions)"}
		}
	}
	for _, m := range f.Ensemble {
		if m == nil || m.Dims != f.Net.Dims {
			return nil, &usererr.Error{File: path, Msg: "model file is inconsistent (an ensemble member is missing or has other dimensions)"}
		}
	}
	return &f, nil
}
