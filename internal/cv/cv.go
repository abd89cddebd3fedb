// Package cv tunes a novel class discovery method without novel labels:
// hidden-class k-fold cross-validation (Troisemaine et al. 2024, section
// 5.2). Each fold hides some known classes (their rows join the unlabeled
// rows), trains the method on the rest, clusters the hidden rows and scores
// the clustering against their true labels. The real novel rows are never
// scored. A configuration's score is its mean ACC over the folds; a random
// or TPE search proposes the configurations.
//
// Methods plug in through the Method interface (one adapter each: PBN and
// its baseline, NCD spectral clustering). Tune runs trials and folds in
// parallel and is deterministic: the same seed gives the same trials, scores
// and winner whatever Threads is, and a study resumed from its finished
// trials ends exactly as an uninterrupted one.
package cv

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Method is a tunable NCD method.
type Method interface {
	// Name is the method's name as the CLI spells it ("pbn", "ncd-sc").
	Name() string
	// Cluster fits the method on f.Data with the parameters p (f.Data has the
	// fold's hidden classes unlabeled) and returns one cluster label per row
	// of f.Hidden. The number of clusters comes from f.ChooseK, called on the
	// space the method clusters in. Cluster must be deterministic for a given
	// f.Seed and p, whatever f.Threads is, and safe for concurrent calls.
	Cluster(ctx context.Context, f *Fold, p Params) ([]int, error)
}

// Fold is one hidden-class split of the known classes, as a Method sees it.
type Fold struct {
	// Index is the fold's number (0-based).
	Index int
	// Data shares the features of the tuned dataset; the hidden classes'
	// rows are dataset.Unlabeled and the remaining known classes are
	// re-indexed in their original order.
	Data *dataset.Dataset
	// Hidden are the rows of the hidden classes, increasing: the rows to cluster.
	Hidden []int
	// HiddenClasses names the classes hidden in this fold.
	HiddenClasses []string
	// Seed is the fold's seed. It is the same in every trial, so that two
	// configurations are compared on the same initializations.
	Seed uint64
	// Threads is how many goroutines the method may use.
	Threads int

	k     int  // > 0: the number of clusters is given (--k true)
	trueK bool // --k true (under gcd k may be 0: a null fold)
	scan  estimate.ScanOptions
}

// ChooseK returns the number of clusters for the hidden rows, whose
// representation is Z (one row per Hidden row): the number of hidden classes
// when the true k is used, otherwise the k of a validity-index scan of Z.
func (f *Fold) ChooseK(ctx context.Context, Z linalg.Matrix) (int, error) {
	o := f.scan
	o.Seed, o.Threads, o.Progress = f.Seed, f.Threads, nil
	ko := discover.KOptions{K: f.k, Scan: o}
	if o.Rule == estimate.RuleSizes {
		// The fold's own table: its known classes' sizes, and the hidden
		// rows (the rows clustered) as the unlabeled ones.
		ko.KnownSizes, _, ko.NoSizes = discover.SizeInput(f.Data, f.Data)
		ko.Unlabeled = len(f.Hidden)
	}
	k, _, err := discover.ChooseK(ctx, Z, ko)
	return k, err
}

// KMeansRng is the generator a method's final k-means should use: the one
// `ncd fit` and `ncd cluster` build from --seed, here from the fold's seed.
func (f *Fold) KMeansRng() *rand.Rand {
	return rand.New(rand.NewPCG(f.Seed, 0x6e6364))
}

// Params are a configuration: parameter name -> value (integer parameters
// hold integral values).
type Params map[string]float64

// FoldScore is the result of one fold of one trial.
type FoldScore struct {
	Fold int `json:"fold"`
	// K is the number of clusters used (estimated or given).
	K int `json:"k"`
	// ACC, NMI and ARI score the hidden rows' clustering.
	ACC float64 `json:"acc"`
	NMI float64 `json:"nmi"`
	ARI float64 `json:"ari"`
	// Seconds is the fold's wall time (informative only: not deterministic).
	Seconds float64 `json:"seconds"`
	// Err is set when the method failed on this fold (scores are then 0).
	Err string `json:"error,omitempty"`
}

// Trial is one evaluated configuration.
type Trial struct {
	// Index is the trial's number: its proposal depends only on the seed,
	// the index and the trials with a lower index (see Options.Lag).
	Index  int         `json:"trial"`
	Params Params      `json:"params"`
	Folds  []FoldScore `json:"folds"`
	// ACC is the mean of the folds' ACC and ACCStd their standard deviation
	// (population, like numpy's default); NMI and ARI are means too.
	ACC    float64 `json:"acc"`
	ACCStd float64 `json:"acc_std"`
	NMI    float64 `json:"nmi"`
	ARI    float64 `json:"ari"`
	// Pruned tells that the median rule stopped the trial after its first
	// folds: its scores cover those folds only and it cannot win.
	Pruned bool `json:"pruned,omitempty"`
	// Failed tells that the method failed on some fold (see FoldScore.Err);
	// a failed trial cannot win.
	Failed bool `json:"failed,omitempty"`
	// Seconds is the sum of the folds' wall times.
	Seconds float64 `json:"seconds"`
}

// Complete reports whether the trial ran every fold without failing, that
// is, whether it may win.
func (t *Trial) Complete() bool { return !t.Pruned && !t.Failed }

// summarize computes the trial's means from its folds.
func (t *Trial) summarize() {
	t.ACC, t.ACCStd, t.NMI, t.ARI, t.Seconds = 0, 0, 0, 0, 0
	t.Failed = false
	n := float64(len(t.Folds))
	if n == 0 {
		return
	}
	for _, f := range t.Folds {
		t.ACC += f.ACC
		t.NMI += f.NMI
		t.ARI += f.ARI
		t.Seconds += f.Seconds
		if f.Err != "" {
			t.Failed = true
		}
	}
	t.ACC /= n
	t.NMI /= n
	t.ARI /= n
	for _, f := range t.Folds {
		t.ACCStd += (f.ACC - t.ACC) * (f.ACC - t.ACC)
	}
	t.ACCStd = math.Sqrt(t.ACCStd / n)
}

// Better reports whether trial a ranks above trial b: complete trials
// first, then higher mean ACC, then lower index (the earlier trial).
func Better(a, b *Trial) bool {
	if a.Complete() != b.Complete() {
		return a.Complete()
	}
	if a.ACC != b.ACC {
		return a.ACC > b.ACC
	}
	return a.Index < b.Index
}

// scoreFold scores pred (one label per hidden row) against the hidden rows'
// classes.
func scoreFold(ds *dataset.Dataset, hidden []int, pred []int) metrics.Report {
	truth := make([]string, len(hidden))
	p := make([]string, len(hidden))
	for j, i := range hidden {
		truth[j] = ds.Classes[ds.Known[i]]
		p[j] = strconv.Itoa(pred[j])
	}
	return metrics.Score(truth, p)
}

// errNoRows is returned when a fold has too few hidden rows to cluster.
func errNoRows(fold int, classes []string, n int) error {
	return usererr.New("fold %d hides classes %v, which have only %d rows (need at least 3)", fold, classes, n)
}
