package tabularncd

import (
	"math"
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// grow returns a rows x cols matrix backed by *buf, reallocating only when
// it is too small. The contents are left as they are.
func grow(buf *[]float64, rows, cols int) linalg.Matrix {
	n := rows * cols
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	return linalg.Matrix{Data: (*buf)[:n], Rows: rows, Cols: cols}
}

// sigmoid is 1/(1+exp(-x)) elementwise (the encoder activation of [O]'s
// MNIST and Forest runs).
type sigmoid struct {
	y, dx []float64
	out   linalg.Matrix
}

func (s *sigmoid) Forward(x linalg.Matrix, _ bool) linalg.Matrix {
	y := grow(&s.y, x.Rows, x.Cols)
	for i, v := range x.Data {
		y.Data[i] = 1 / (1 + math.Exp(-v))
	}
	s.out = y
	return y
}

func (s *sigmoid) Backward(dy linalg.Matrix) linalg.Matrix {
	dx := grow(&s.dx, dy.Rows, dy.Cols)
	for i, g := range dy.Data {
		y := s.out.Data[i]
		dx.Data[i] = g * y * (1 - y)
	}
	return dx
}

func (s *sigmoid) Params() []*nn.Param { return nil }

func shareLinear(l *nn.Linear, threads int) *nn.Linear {
	return &nn.Linear{In: l.In, Out: l.Out, W: l.W, B: l.B, Threads: threads}
}

// encoder is one runnable instance of a model's encoder: layers sharing the
// model's weights with their own scratch buffers and gradients.
type encoder struct {
	seq  nn.Sequential
	drop *nn.Dropout
}

func newEncoder(m *Model, threads int, train bool) *encoder {
	e := &encoder{}
	l1 := shareLinear(m.Encoder[0], threads)
	l1.SkipInputGrad = true
	e.seq = nn.Sequential{l1}
	if train && m.Dropout > 0 {
		e.drop = &nn.Dropout{P: m.Dropout}
		e.seq = append(e.seq, e.drop)
	}
	switch m.Activation {
	case ActReLU:
		e.seq = append(e.seq, &nn.ReLU{})
	case ActSigmoid:
		e.seq = append(e.seq, &sigmoid{})
	}
	e.seq = append(e.seq, shareLinear(m.Encoder[1], threads))
	return e
}

// setRng sets the dropout generator (no-op without dropout).
func (e *encoder) setRng(r *rand.Rand) {
	if e.drop != nil {
		e.drop.Rng = r
	}
}

// vime is the pretraining state: encoder, the two VIME heads, AdamW and
// scratch buffers.
type vime struct {
	cfg                        Config
	enc                        *encoder
	maskHead, featHead         *nn.Linear
	opt                        *nn.AdamW
	rng                        *rand.Rand
	xb, xt, mask               []float64
	fx, fxt, fmask, ga, gf, dz []float64
}

func newVIME(m *Model, maskHead, featHead *nn.Linear, cfg Config) *vime {
	v := &vime{cfg: cfg, enc: newEncoder(m, cfg.Threads, true),
		maskHead: shareLinear(maskHead, cfg.Threads), featHead: shareLinear(featHead, cfg.Threads),
		rng: rngFor(cfg.Seed, streamCorrupt)}
	v.enc.setRng(rngFor(cfg.Seed, streamDrop))
	ps := append(v.enc.seq.Params(), v.maskHead.Params()...)
	v.opt = nn.NewAdamW(append(ps, v.featHead.Params()...), cfg.PretrainLR)
	return v
}

// step corrupts the rows idx of X, runs one forward and backward pass and
// one AdamW step, and returns the mask BCE and feature MSE.
func (v *vime) step(X linalg.Matrix, idx []int) (lossMask, lossFeat float64) {
	n, d := len(idx), X.Cols
	xb := grow(&v.xb, n, d)
	for i, r := range idx {
		copy(xb.Row(i), X.Row(r))
	}
	xt, mask := grow(&v.xt, n, d), grow(&v.mask, n, d)
	corrupt(xb, v.cfg.MaskProb, v.rng, xt, mask)
	fxt := nn.ToFeatureMajor(&v.fxt, xt, nil)
	fx := nn.ToFeatureMajor(&v.fx, xb, nil)
	fmask := nn.ToFeatureMajor(&v.fmask, mask, nil)

	z := v.enc.seq.Forward(fxt, true)
	a := v.maskHead.Forward(z, true)
	f := v.featHead.Forward(z, true)
	ga, gf := grow(&v.ga, d, n), grow(&v.gf, d, n)
	lossMask, lossFeat = vimeLoss(a, f, fmask, fx, v.cfg.Alpha, ga, gf)
	dz := grow(&v.dz, d, n)
	copy(dz.Data, v.maskHead.Backward(ga).Data)
	for i, g := range v.featHead.Backward(gf).Data {
		dz.Data[i] += g
	}
	v.enc.seq.Backward(dz)
	v.opt.Step()
	return lossMask, lossFeat
}

// corrupt writes [O]'s corrupted batch into xt and the mask target into
// mask: each cell is replaced, with probability pm, by the same column of
// the row's donor, donors being a random permutation of the batch's rows
// (np.random.shuffle permutes rows); mask = 1 where xt differs from x.
func corrupt(x linalg.Matrix, pm float64, rng *rand.Rand, xt, mask linalg.Matrix) {
	n, d := x.Rows, x.Cols
	perm := rng.Perm(n)
	for i := 0; i < n; i++ {
		xr, dr := x.Row(i), x.Row(perm[i])
		tr, mr := xt.Row(i), mask.Row(i)
		for j := 0; j < d; j++ {
			v := xr[j]
			if rng.Float64() < pm {
				v = dr[j]
			}
			tr[j] = v
			mr[j] = 0
			if v != xr[j] {
				mr[j] = 1
			}
		}
	}
}

// vimeLoss returns the mean BCE of sigmoid(a) against the mask target t and
// the mean squared error of the feature estimate f against the clean x, and
// writes the gradients of BCE + alpha*MSE into ga and gf. The BCE is computed
// from the logits (softplus(a) - t a), which equals PyTorch's
// BCELoss(sigmoid(a)) wherever its log clamp at -100 is not reached.
func vimeLoss(a, f, t, x linalg.Matrix, alpha float64, ga, gf linalg.Matrix) (bce, mse float64) {
	N := float64(len(a.Data))
	for i, v := range a.Data {
		ti := t.Data[i]
		// softplus(v) = max(v,0) + log1p(exp(-|v|))
		bce += max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))) - ti*v
		ga.Data[i] = (1/(1+math.Exp(-v)) - ti) / N
	}
	for i, v := range f.Data {
		e := v - x.Data[i]
		mse += e * e
		gf.Data[i] = 2 * alpha * e / N
	}
	return bce / N, mse / N
}
