// Package tabularncd trains TabularNCD (Troisemaine et al., ICKG 2022,
// arXiv 2209.01217), the deep competitor of the PBN paper, following the
// authors' code (ColinTr/TabularNCD, called [O] below; the specification with
// the sources' line numbers is docs/designs/tabularncd.md).
//
// Architecture (d input features, C known classes, k novel clusters):
//
//	encoder         Linear(d,d) Dropout(p) act Linear(d,d)        (act: relu, sigmoid or none; no BatchNorm)
//	classification  Linear(d, C+1)   on the encoder output: the known classes + one "unknown" class (index C)
//	clustering      Linear(d, k)     on the encoder output
//	VIME heads      mask Linear(d,d)+sigmoid, feature Linear(d,d)  (pretraining only; not kept in the model)
//
// Training has two phases.
//
// Pretraining (VIME self-supervision, [O] training_procedures.py L279-357):
// every row, labelled or not, in one order shuffled once; consecutive batches
// of PretrainBatch rows; each cell is corrupted with probability MaskProb by
// replacing it with the same column of ONE donor row per row (a random
// permutation of the batch's rows: [O] calls np.random.shuffle, which
// permutes axis 0, instead of drawing every column independently as VIME
// does; the published numbers come from this row version, so it is followed
// here). Loss BCE(mask estimate, 1[x != x~]) + Alpha * MSE(feature
// estimate, x), AdamW(PretrainLR) over the encoder and the VIME heads.
//
// Joint training ([O] L11-276): the same row order, consecutive batches of
// BatchSize rows, never reshuffled. Per batch:
//
//  1. augmentation (no gradient), separately for the batch's labelled and
//     unlabelled rows: cosine similarity of each row to the pool (the subset
//     and its FIFO queue of Memory earlier raw rows), 1 subtracted on the row
//     itself, one of the KNeighbors most similar picked uniformly, and
//     x' = x + u (x_nb - x), u ~ U(0,1) per row. One-hot blocks take the mode
//     of the k neighbours' levels instead. One normalised matrix product per
//     chunk of rows, not a loop over pairs.
//  2. classification step: L_cls = W1 CE(cls(enc(x)), y) + (1-W1) MSE(logits,
//     logits'), where unlabelled rows have target C and the augmented rows
//     go through the network with their own dropout mask; AdamW(LRClassif).
//  3. clustering step, after that update: the unlabelled rows re-encoded;
//     pseudo-labels from the cosine similarity of their latents (each row's
//     TopK-percent-of-BatchSize/2 most similar rows, symmetrised; [O] uses
//     batch_size/2, not the number of unlabelled rows), pairwise BCE on the
//     inner products of the clustering head's softmax, and (1-W2) MSE(q, q')
//     on the augmented rows; AdamW(LRCluster).
//  4. the batch's raw rows enter the queues.
//
// Both optimizers cover every parameter of the encoder and both heads, as
// [O] does: the encoder is stepped twice per batch with separate Adam
// moments, and each optimizer applies its weight decay to the head it does
// not train (torch 1.10's zero_grad leaves zero gradients). [O] skips that
// decay on the very first batch, where the clustering head has no gradient
// tensor yet; here it decays from the first batch on (a factor of
// 1 - LRClassif/100 once).
//
// Inference: evaluation mode (no dropout); a row's novel cluster is the
// argmax of the clustering head.
package tabularncd

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Method is the method's name on the command line.
const Method = "tabularncd"

// Activations of the encoder's hidden layer.
const (
	ActReLU    = "relu"
	ActSigmoid = "sigmoid"
	ActNone    = "none"
)

// Config holds the hyperparameters. The first group is what the authors
// tuned per dataset; the rest is fixed in all their runs.
type Config struct {
	// LRClassif and LRCluster are the two AdamW learning rates.
	LRClassif, LRCluster float64
	// TopK is the share of BatchSize/2, in percent, of each unlabelled
	// row's most similar rows taken as positive pairs ([O] cosine_topk).
	TopK float64
	// KNeighbors is how many most similar rows the augmentation picks from.
	KNeighbors int
	// W1 weighs cross-entropy against the classification consistency, W2
	// the pairwise BCE against the clustering consistency.
	W1, W2 float64
	// Dropout is the encoder's dropout probability.
	Dropout float64
	// Activation is ActReLU, ActSigmoid or ActNone.
	Activation string

	// Epochs and BatchSize are the joint training's (30, 512).
	Epochs, BatchSize int
	// Memory is the size of each FIFO queue of raw rows (2000).
	Memory int
	// PretrainEpochs, PretrainBatch and PretrainLR are VIME's (30, 128,
	// 1e-3); PretrainEpochs 0 skips pretraining.
	PretrainEpochs, PretrainBatch int
	PretrainLR                    float64
	// MaskProb is VIME's corruption probability (0.3) and Alpha the weight
	// of its feature reconstruction (2).
	MaskProb, Alpha float64

	// Seed drives initialization, the row order, corruption, dropout and
	// augmentation.
	Seed uint64
	// Threads bounds the goroutines of the matrix products (<= 0:
	// GOMAXPROCS). The trained model does not depend on it.
	Threads int
}

// DefaultConfig returns [O]'s fixed settings with its command-line defaults
// for the tuned values (both learning rates 1e-3, TopK 10, KNeighbors 1,
// W1 = W2 = 0.8, no dropout, ReLU).
func DefaultConfig() Config {
	return Config{LRClassif: 1e-3, LRCluster: 1e-3, TopK: 10, KNeighbors: 1, W1: 0.8, W2: 0.8,
		Dropout: 0, Activation: ActReLU, Epochs: 30, BatchSize: 512, Memory: 2000,
		PretrainEpochs: 30, PretrainBatch: 128, PretrainLR: 1e-3, MaskProb: 0.3, Alpha: 2}
}

// maxBatch bounds BatchSize: the pairwise loss holds two n x n matrices.
const maxBatch = 8192

// PseudoK is the number of most similar rows each unlabelled row takes as
// positives: int(BatchSize/2 * TopK/100), at least 1 ([O] L39-42).
func (c Config) PseudoK() int {
	return max(1, int(float64(c.BatchSize/2)*c.TopK/100))
}

// Check reports a setting out of range as a usage error naming its ncd
// flag, before any work (the number of features is checked by training).
func (c Config) Check() error { return c.validate(-1) }

func (c Config) validate(d int) error {
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	unit := func(v float64) bool { return v >= 0 && v <= 1 }
	switch {
	case !pos(c.LRClassif) || !pos(c.LRCluster):
		return usererr.New("--lr-classif and --lr-cluster must be > 0, got %g and %g", c.LRClassif, c.LRCluster)
	case !(c.TopK > 0 && c.TopK <= 100):
		return usererr.New("--top-k must be a percentage in (0, 100], got %g", c.TopK)
	case c.KNeighbors < 1:
		return usererr.New("--k-neighbors must be >= 1, got %d", c.KNeighbors)
	case !unit(c.W1) || !unit(c.W2):
		return usererr.New("--w1 and --w2 must be in [0, 1], got %g and %g", c.W1, c.W2)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return usererr.New("--dropout must be in [0, 1), got %g", c.Dropout)
	case c.Activation != ActReLU && c.Activation != ActSigmoid && c.Activation != ActNone:
		return usererr.New("--activation must be %s, %s or %s, got %q", ActReLU, ActSigmoid, ActNone, c.Activation)
	case c.Epochs < 1:
		return usererr.New("--epochs must be >= 1, got %d", c.Epochs)
	case c.PretrainEpochs < 0:
		return usererr.New("--pretrain-epochs must be >= 0, got %d", c.PretrainEpochs)
	case c.BatchSize < 2 || c.BatchSize > maxBatch:
		return usererr.New("--batch-size must be in [2, %d], got %d", maxBatch, c.BatchSize)
	case c.PretrainBatch < 1:
		return usererr.New("--pretrain-batch-size must be >= 1, got %d", c.PretrainBatch)
	case c.Memory < 0:
		return usererr.New("--memory must be >= 0, got %d", c.Memory)
	case c.PretrainEpochs > 0 && !pos(c.PretrainLR):
		return usererr.New("--pretrain-lr must be > 0, got %g", c.PretrainLR)
	case !unit(c.MaskProb):
		return usererr.New("--mask-prob must be in [0, 1], got %g", c.MaskProb)
	case !(c.Alpha >= 0) || math.IsInf(c.Alpha, 0):
		return usererr.New("--vime-alpha must be >= 0, got %g", c.Alpha)
	case d == 0:
		return usererr.New("tabularncd needs at least 1 feature")
	}
	return nil
}

// Model is a trained network. Its exported fields are its whole state (it
// round-trips through encoding/gob).
type Model struct {
	// Dims are d, the classification head's width (known classes + 1) and
	// the clustering head's width k (0 before joint training).
	Dims [3]int
	// Classes names the known classes (the classification head's first
	// outputs; the last one is "unknown").
	Classes []string
	// Activation and Dropout are the encoder's.
	Activation string
	Dropout    float64
	// Encoder holds the encoder's two Linear layers.
	Encoder []*nn.Linear
	// Classifier and Clusterer are the heads (nil before joint training).
	Classifier, Clusterer *nn.Linear
}

// K returns the number of novel clusters (the clustering head's width).
func (m *Model) K() int { return m.Dims[2] }

// Streams of the seed's generators (fixed, so that a phase's randomness does
// not depend on whether another phase ran).
const (
	streamInit    = 0x74616269 // encoder and VIME heads
	streamHeads   = 0x74616268 // classification and clustering heads
	streamOrder   = 0x7461626f // the row order
	streamCorrupt = 0x74616263 // VIME masks and donors
	streamDrop    = 0x74616264 // dropout in pretraining
	streamJDrop   = 0x7461626a // dropout in joint training
	streamAug     = 0x74616261 // augmentation
)

func rngFor(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// rowOrder is every row in the order [O] trains in: shuffled once.
func rowOrder(n int, seed uint64) []int {
	return rngFor(seed, streamOrder).Perm(n)
}

func checkData(ds *dataset.Dataset) error {
	if len(ds.Known) != ds.X.Rows {
		return fmt.Errorf("tabularncd: %d labels for %d rows", len(ds.Known), ds.X.Rows)
	}
	for i, k := range ds.Known {
		if k >= len(ds.Classes) || k < dataset.Unlabeled {
			return fmt.Errorf("tabularncd: row %d has class index %d, %d known classes", i, k, len(ds.Classes))
		}
	}
	for _, v := range ds.X.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return usererr.New("features contain NaN or infinite values")
		}
	}
	if ds.X.Rows < 2 {
		return usererr.New("tabularncd needs at least 2 rows to train, got %d", ds.X.Rows)
	}
	return nil
}

// Train pretrains a network on every row of ds (rows with Known >= 0 are
// labelled, the others unlabelled) and trains it jointly with a clustering
// head of width k. progress, if set, is called after every epoch of both
// phases (see Pretrain and Joint).
func Train(ctx context.Context, ds *dataset.Dataset, cfg Config, k int, progress Progress) (*Model, error) {
	m, err := Pretrain(ctx, ds, cfg, progress)
	if err != nil {
		return nil, err
	}
	if err := Joint(ctx, m, ds, cfg, k, progress); err != nil {
		return nil, err
	}
	return m, nil
}

// Progress is called after each epoch: phase "pretrain" with VIME's mean
// mask BCE and feature MSE over the epoch's batches, or "joint" with the
// mean classification and clustering losses. epoch counts from 0 in each
// phase.
type Progress func(phase string, epoch int, a, b float64)

// Phase names passed to Progress.
const (
	PhasePretrain = "pretrain"
	PhaseJoint    = "joint"
)

// Pretrain initializes the encoder and runs the VIME pretraining. The model
// it returns has no heads yet: Latent works, Joint adds them.
func Pretrain(ctx context.Context, ds *dataset.Dataset, cfg Config, progress Progress) (*Model, error) {
	d := ds.X.Cols
	if err := cfg.validate(d); err != nil {
		return nil, err
	}
	if err := checkData(ds); err != nil {
		return nil, err
	}
	initRng := rngFor(cfg.Seed, streamInit)
	m := &Model{Dims: [3]int{d, len(ds.Classes) + 1, 0}, Classes: append([]string(nil), ds.Classes...),
		Activation: cfg.Activation, Dropout: cfg.Dropout}
	m.Encoder = []*nn.Linear{nn.NewLinear(d, d, initRng), nn.NewLinear(d, d, initRng)}
	maskHead, featHead := nn.NewLinear(d, d, initRng), nn.NewLinear(d, d, initRng)
	if cfg.PretrainEpochs == 0 {
		return m, nil
	}
	v := newVIME(m, maskHead, featHead, cfg)
	order := rowOrder(ds.X.Rows, cfg.Seed)
	bs := cfg.PretrainBatch
	nb := (len(order) + bs - 1) / bs
	for epoch := 0; epoch < cfg.PretrainEpochs; epoch++ {
		sumMask, sumFeat := 0.0, 0.0
		for b := 0; b < nb; b++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			idx := order[b*bs : min((b+1)*bs, len(order))]
			lm, lf := v.step(ds.X, idx)
			sumMask += lm
			sumFeat += lf
		}
		if progress != nil {
			progress(PhasePretrain, epoch, sumMask/float64(nb), sumFeat/float64(nb))
		}
	}
	return m, nil
}

// Joint adds the classification head and a clustering head of width k to a
// pretrained model and runs the joint training on ds (the rows Pretrain saw).
func Joint(ctx context.Context, m *Model, ds *dataset.Dataset, cfg Config, k int, progress Progress) error {
	d := ds.X.Cols
	if err := cfg.validate(d); err != nil {
		return err
	}
	if err := checkData(ds); err != nil {
		return err
	}
	if d != m.Dims[0] || len(ds.Classes)+1 != m.Dims[1] {
		return fmt.Errorf("tabularncd: model for %d features and %d classes, data has %d and %d", m.Dims[0], m.Dims[1]-1, d, len(ds.Classes))
	}
	if k < 1 {
		return usererr.New("the number of novel clusters must be >= 1, got %d", k)
	}
	if m.Classifier != nil {
		return fmt.Errorf("tabularncd: model already trained jointly")
	}
	nu := 0
	for _, y := range ds.Known {
		if y == dataset.Unlabeled {
			nu++
		}
	}
	if nu < 2 {
		return usererr.New("tabularncd needs at least 2 unlabeled rows to train its clustering head, got %d", nu)
	}
	headRng := rngFor(cfg.Seed, streamHeads)
	m.Dims[2] = k
	m.Classifier = nn.NewLinear(d, m.Dims[1], headRng)
	m.Clusterer = nn.NewLinear(d, k, headRng)

	t := newJoint(m, cfg, OneHotGroups(ds.Features))
	order := rowOrder(ds.X.Rows, cfg.Seed)
	bs := cfg.BatchSize
	nb := (len(order) + bs - 1) / bs
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		sumCls, sumClu := 0.0, 0.0
		for b := 0; b < nb; b++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			lc, lu := t.step(ds, order[b*bs:min((b+1)*bs, len(order))])
			sumCls += lc
			sumClu += lu
		}
		if progress != nil {
			progress(PhaseJoint, epoch, sumCls/float64(nb), sumClu/float64(nb))
		}
	}
	return nil
}

// OneHotGroups finds the one-hot blocks among feature names: runs of at
// least two consecutive columns named "col=level" with the same col (how
// the preprocessing names encoded text columns).
func OneHotGroups(features []string) [][]int {
	var groups [][]int
	prefix := func(s string) string {
		if i := strings.LastIndexByte(s, '='); i > 0 {
			return s[:i+1]
		}
		return ""
	}
	for i := 0; i < len(features); {
		p := prefix(features[i])
		j := i + 1
		for p != "" && j < len(features) && prefix(features[j]) == p {
			j++
		}
		if p != "" && j-i >= 2 {
			g := make([]int, 0, j-i)
			for c := i; c < j; c++ {
				g = append(g, c)
			}
			groups = append(groups, g)
		}
		i = j
	}
	return groups
}

// embedChunk is how many rows inference pushes through the network at once.
const embedChunk = 2048

// forEval runs the evaluation-mode encoder over X's rows in chunks and calls
// fn with each chunk's first row and its feature-major latent.
func (m *Model) forEval(X linalg.Matrix, fn func(lo int, h linalg.Matrix, e *encoder)) {
	if X.Cols != m.Dims[0] {
		panic(fmt.Sprintf("tabularncd: model takes %d features, got %d", m.Dims[0], X.Cols))
	}
	e := newEncoder(m, 0, false)
	var xbuf []float64
	for lo := 0; lo < X.Rows; lo += embedChunk {
		hi := min(lo+embedChunk, X.Rows)
		x := nn.ToFeatureMajor(&xbuf, X.Slice(lo, hi), nil)
		fn(lo, e.seq.Forward(x, false), e)
	}
}

// Latent returns the encoder's output for X's rows (row-major), in
// evaluation mode, L2-normalized per row when normalized is set. Safe for
// concurrent use.
func (m *Model) Latent(X linalg.Matrix, normalized bool) linalg.Matrix {
	out := linalg.New(X.Rows, m.Dims[0])
	m.forEval(X, func(lo int, h linalg.Matrix, _ *encoder) {
		nn.FromFeatureMajor(out.Slice(lo, lo+h.Cols), h)
	})
	if normalized {
		for i := 0; i < out.Rows; i++ {
			r := out.Row(i)
			s := 0.0
			for _, v := range r {
				s += v * v
			}
			s = max(math.Sqrt(s), nn.NormalizeEps)
			for j := range r {
				r[j] /= s
			}
		}
	}
	return out
}

// Probs returns the clustering head's softmax for X's rows (row-major, k
// columns), in evaluation mode. Safe for concurrent use.
func (m *Model) Probs(X linalg.Matrix) linalg.Matrix {
	if m.Clusterer == nil {
		panic("tabularncd: Probs on a model without a clustering head")
	}
	k := m.Dims[2]
	out := linalg.New(X.Rows, k)
	clu := shareLinear(m.Clusterer, 0)
	m.forEval(X, func(lo int, h linalg.Matrix, _ *encoder) {
		q := clu.Forward(h, false)
		n := q.Cols
		for j := 0; j < n; j++ {
			r := out.Row(lo + j)
			for c := 0; c < k; c++ {
				r[c] = q.Data[c*n+j]
			}
			softmaxRow(r)
		}
	})
	return out
}

// Predict returns each row's novel cluster: the argmax of the clustering
// head (ties to the lower index).
func (m *Model) Predict(X linalg.Matrix) []int {
	p := m.Probs(X)
	out := make([]int, X.Rows)
	for i := range out {
		out[i] = argmax(p.Row(i))
	}
	return out
}

// PredictKnown returns each row's classification-head argmax: a known class
// index, or len(Classes) for "unknown".
func (m *Model) PredictKnown(X linalg.Matrix) []int {
	out := make([]int, X.Rows)
	cls := shareLinear(m.Classifier, 0)
	m.forEval(X, func(lo int, h linalg.Matrix, _ *encoder) {
		l := cls.Forward(h, false)
		n := l.Cols
		for j := 0; j < n; j++ {
			best := 0
			for c := 1; c < l.Rows; c++ {
				if l.Data[c*n+j] > l.Data[best*n+j] {
					best = c
				}
			}
			out[lo+j] = best
		}
	})
	return out
}

func argmax(r []float64) int {
	best := 0
	for c, v := range r {
		if v > r[best] {
			best = c
		}
	}
	return best
}

func softmaxRow(r []float64) {
	mx := r[0]
	for _, v := range r {
		mx = max(mx, v)
	}
	s := 0.0
	for i, v := range r {
		e := math.Exp(v - mx)
		r[i] = e
		s += e
	}
	for i := range r {
		r[i] /= s
	}
}
