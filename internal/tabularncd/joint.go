package tabularncd

import (
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// joint is the joint-training state: one encoder instance and the two
// heads (sharing the model's weights), the two optimizers, the queues and
// scratch buffers.
type joint struct {
	cfg             Config
	c               int // classification head's width (known classes + 1)
	kpl             int
	enc             *encoder
	cls, clu        *nn.Linear
	optCls, optClu  *nn.AdamW
	qLab, qUnl      *queue
	aug             augmenter
	augRng          *rand.Rand
	xent            nn.SoftmaxCrossEntropy
	pw              pairwise
	ps              pseudo
	lab, unl        []int
	labels          []int
	xl, xu, al, au  []float64
	both, bothU, fm []float64
	gl, gq, gqu, qu []float64
}

// newJoint prepares the joint training; groups are the one-hot blocks of
// the features (see OneHotGroups), whose augmentation takes the mode of the
// neighbours' levels.
func newJoint(m *Model, cfg Config, groups [][]int) *joint {
	t := &joint{cfg: cfg, c: m.Dims[1], kpl: cfg.PseudoK(), enc: newEncoder(m, cfg.Threads, true),
		cls: shareLinear(m.Classifier, cfg.Threads), clu: shareLinear(m.Clusterer, cfg.Threads),
		qLab: newQueue(cfg.Memory, m.Dims[0]), qUnl: newQueue(cfg.Memory, m.Dims[0]),
		augRng: rngFor(cfg.Seed, streamAug)}
	t.enc.setRng(rngFor(cfg.Seed, streamJDrop))
	t.aug.knb, t.aug.threads, t.aug.groups = cfg.KNeighbors, cfg.Threads, groups
	t.pw.threads, t.ps.threads = cfg.Threads, cfg.Threads
	ps := append(t.enc.seq.Params(), t.cls.Params()...)
	ps = append(ps, t.clu.Params()...)
	// Two optimizers over the same parameters, each with its own moments.
	t.optCls = nn.NewAdamW(ps, cfg.LRClassif)
	t.optClu = nn.NewAdamW(ps, cfg.LRCluster)
	return t
}

// gather copies X's rows idx into a row-major matrix backed by *buf.
func gather(buf *[]float64, X linalg.Matrix, idx []int) linalg.Matrix {
	m := grow(buf, len(idx), X.Cols)
	for i, r := range idx {
		copy(m.Row(i), X.Row(r))
	}
	return m
}

// stack writes a's rows then b's (same width) into one row-major matrix.
func stack(buf *[]float64, a, b linalg.Matrix) linalg.Matrix {
	m := grow(buf, a.Rows+b.Rows, a.Cols)
	copy(m.Data, a.Data[:a.Rows*a.Cols])
	copy(m.Data[a.Rows*a.Cols:], b.Data[:b.Rows*b.Cols])
	return m
}

func clearGrads(l *nn.Linear) {
	for _, p := range l.Params() {
		clear(p.Grad)
	}
}

// step trains on one batch (the rows idx of ds) and returns L_cls and
// L_clu (0 when the batch has no unlabelled row).
func (t *joint) step(ds *dataset.Dataset, idx []int) (lossCls, lossClu float64) {
	X := ds.X
	// The batch as [labelled rows; unlabelled rows], each in batch order.
	t.lab, t.unl = t.lab[:0], t.unl[:0]
	for _, r := range idx {
		if ds.Known[r] == dataset.Unlabeled {
			t.unl = append(t.unl, r)
		} else {
			t.lab = append(t.lab, r)
		}
	}
	nl, nu := len(t.lab), len(t.unl)
	n := nl + nu
	xl, xu := gather(&t.xl, X, t.lab), gather(&t.xu, X, t.unl)

	// 1. Augment each subset from itself and its queue.
	al, au := grow(&t.al, nl, X.Cols), grow(&t.au, nu, X.Cols)
	t.aug.augment(xl, t.qLab.rows(), t.augRng, al)
	t.aug.augment(xu, t.qUnl.rows(), t.augRng, au)

	// 2. Classification step on [x | x'] (2n columns, independent dropout).
	x := stack(&t.both, stack(&t.fm, xl, xu), stack(&t.bothU, al, au))
	fx := nn.ToFeatureMajor(&t.xl, x, nil) // xl's rows are no longer needed
	t.labels = t.labels[:0]
	for _, r := range t.lab {
		t.labels = append(t.labels, ds.Known[r])
	}
	for range t.unl {
		t.labels = append(t.labels, t.c-1)
	}
	for range n {
		t.labels = append(t.labels, -1) // augmented columns: no CE
	}
	lossCls = t.clsLossGrad(fx, t.labels)
	clearGrads(t.clu)
	t.optCls.Step()

	// 3. Clustering step on the unlabelled rows, re-encoded after the update.
	if nu > 0 {
		lossClu = t.cluLossGrad(nn.ToFeatureMajor(&t.xl, stack(&t.bothU, xu, au), nil))
		clearGrads(t.cls)
		t.optClu.Step()
	}

	// 4. The raw rows enter the queues.
	t.qLab.push(gather(&t.xl, X, t.lab))
	t.qUnl.push(xu)
	return lossCls, lossClu
}

// clsLossGrad runs the classification step's forward and backward pass on
// the feature-major fx = [x | x'] (2n columns; labels holds the n targets
// then n negative entries) and returns L_cls = W1 CE + (1-W1) CS1, leaving
// its gradient in the encoder's and the classification head's parameters.
func (t *joint) clsLossGrad(fx linalg.Matrix, labels []int) float64 {
	n := fx.Cols / 2
	w1 := t.cfg.W1
	logits := t.cls.Forward(t.enc.seq.Forward(fx, true), true)
	g := grow(&t.gl, t.c, 2*n)
	ce, _ := t.xent.Loss(logits, labels, w1, g)
	cs := consistency(logits, 1-w1, g)
	t.enc.seq.Backward(t.cls.Backward(g))
	return w1*ce + (1-w1)*cs
}

// cluLossGrad runs the clustering step's forward and backward pass on the
// feature-major fu = [x_u | x'_u] (2 nu columns) and returns
// L_clu = W2 BCE + (1-W2) CS2, leaving its gradient in the encoder's and the
// clustering head's parameters. The pseudo-labels come from the latents of
// the first nu columns and carry no gradient.
func (t *joint) cluLossGrad(fu linalg.Matrix) float64 {
	nu := fu.Cols / 2
	h := t.enc.seq.Forward(fu, true)
	d := h.Rows
	zu := grow(&t.fm, d, nu)
	for f := 0; f < d; f++ {
		copy(zu.Data[f*nu:(f+1)*nu], h.Data[f*2*nu:f*2*nu+nu])
	}
	tgt := t.ps.targets(zu, t.kpl)
	q := t.clu.Forward(h, true)
	k := q.Rows
	qu := grow(&t.qu, k, nu)
	for c := 0; c < k; c++ {
		copy(qu.Data[c*nu:(c+1)*nu], q.Data[c*2*nu:c*2*nu+nu])
	}
	w2 := t.cfg.W2
	gqu := grow(&t.gqu, k, nu)
	bce := t.pw.loss(qu, tgt, w2, gqu)
	gq := grow(&t.gq, k, 2*nu)
	clear(gq.Data)
	for c := 0; c < k; c++ {
		copy(gq.Data[c*2*nu:c*2*nu+nu], gqu.Data[c*nu:(c+1)*nu])
	}
	cs := consistency(q, 1-w2, gq)
	t.enc.seq.Backward(t.clu.Backward(gq))
	return w2*bce + (1-w2)*cs
}
