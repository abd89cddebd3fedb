// Package folds makes hidden-class folds: splits of the known classes into
// sets hidden from training, so that a rule or a configuration can be
// checked where the answer is known (how many classes were hidden). The
// tuner (internal/cv) and the k rule calibrated on folds (internal/discover)
// share it.
package folds

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Fold modes accepted by Options.Mode.
const (
	// Auto is Partition when the known classes split into Folds
	// groups of at least 2 classes, Random otherwise.
	Auto = "auto"
	// Partition splits the known classes into Folds disjoint groups of
	// near-equal size: every class is hidden exactly once.
	Partition = "partition"
	// Random draws Folds distinct random sets of Hidden classes, or all
	// of them when there are fewer.
	Random = "random"
)

// Options configures Make.
type Options struct {
	// Mode is Auto (default), Partition or Random.
	Mode string
	// Folds is the number of folds (default 5).
	Folds int
	// Hidden is the number of classes hidden per fold in Random mode
	// (default DefaultHidden). Partition mode hides about classes/Folds.
	Hidden int
	// Seed drives the shuffle.
	Seed uint64
}

// DefaultHidden is the default number of classes hidden per fold: about a
// fifth of the known classes, at least 2 (a clustering of one class says
// nothing), and at most all but one (something must stay known).
func DefaultHidden(classes int) int {
	h := max(2, (classes+2)/5)
	return min(h, classes-1)
}

// Make returns, for each fold, the sorted indices of the known classes
// it hides. The folds depend only on the number of classes and opt. In
// random mode, when the classes allow fewer distinct sets of Hidden than
// Folds (3 known classes give 3 pairs), it returns every set, in a seeded
// order: fewer folds than asked, which the caller should report. A common
// case, and the default --folds must work on it; repeating a set would
// only weigh it twice.
func Make(classes int, opt Options) ([][]int, string, error) {
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	if opt.Mode == "" {
		opt.Mode = Auto
	}
	if opt.Folds < 1 {
		return nil, "", usererr.New("the number of folds must be at least 1, got %d", opt.Folds)
	}
	if classes < 3 {
		return nil, "", usererr.New("hidden-class cross-validation needs at least 3 known classes (2 to hide, 1 to keep), got %d", classes)
	}
	switch opt.Mode {
	case Auto:
		opt.Mode = Random
		if classes >= 2*opt.Folds {
			opt.Mode = Partition
		}
	case Partition, Random:
	default:
		return nil, "", usererr.New("fold mode must be auto, partition or random, got %q", opt.Mode)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x666f6c6473)) // "folds"
	if opt.Mode == Partition {
		if classes < 2*opt.Folds {
			return nil, "", usererr.New("a partition of %d known classes into %d folds leaves folds with fewer than 2 classes (use fewer folds or fold mode random)", classes, opt.Folds)
		}
		perm := rng.Perm(classes)
		out := make([][]int, opt.Folds)
		lo := 0
		for f := range out {
			// The first classes%Folds folds get one class more.
			n := classes / opt.Folds
			if f < classes%opt.Folds {
				n++
			}
			out[f] = slices.Clone(perm[lo : lo+n])
			slices.Sort(out[f])
			lo += n
		}
		return out, opt.Mode, nil
	}

	h := opt.Hidden
	if h == 0 {
		h = DefaultHidden(classes)
	}
	if h < 1 || h >= classes {
		return nil, "", usererr.New("classes hidden per fold must be between 1 and %d (all known classes but one), got %d", classes-1, h)
	}
	// 1 <= h < classes, so there is at least one set. The count is exact
	// here: it is only used when below Folds.
	if sets := binomial(classes, h); sets < float64(opt.Folds) {
		opt.Folds = int(math.Round(sets))
	}
	out := make([][]int, 0, opt.Folds)
	seen := map[string]bool{}
	for len(out) < opt.Folds {
		set := rng.Perm(classes)[:h]
		slices.Sort(set)
		key := string(intsKey(set))
		if seen[key] {
			continue // terminates: at least Folds distinct sets exist
		}
		seen[key] = true
		out = append(out, slices.Clone(set))
	}
	return out, opt.Mode, nil
}

func intsKey(s []int) []byte {
	b := make([]byte, 0, 2*len(s))
	for _, v := range s {
		b = append(b, byte(v>>8), byte(v))
	}
	return b
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// Hide returns the dataset of a fold that hides the classes with the given
// (sorted) indices, the hidden rows and the hidden classes' names. X, Truth
// and Features are shared with ds; the remaining classes keep their order.
func Hide(ds *dataset.Dataset, hide []int) (*dataset.Dataset, []int, []string) {
	remap := make([]int, len(ds.Classes))
	var classes, hidden []string
	for c, name := range ds.Classes {
		if slices.Contains(hide, c) {
			remap[c] = dataset.Unlabeled
			hidden = append(hidden, name)
			continue
		}
		remap[c] = len(classes)
		classes = append(classes, name)
	}
	fd := &dataset.Dataset{X: ds.X, Known: make([]int, len(ds.Known)), Classes: classes, Truth: ds.Truth, Features: ds.Features, MixedUnlabeled: ds.MixedUnlabeled}
	var rows []int
	for i, k := range ds.Known {
		if k == dataset.Unlabeled {
			fd.Known[i] = dataset.Unlabeled
			continue
		}
		fd.Known[i] = remap[k]
		if remap[k] == dataset.Unlabeled {
			rows = append(rows, i)
		}
	}
	return fd, rows, hidden
}
