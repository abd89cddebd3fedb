package tabularncd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// randMatrix returns rows x cols values drawn from N(0, s^2).
func randMatrix(rng *rand.Rand, rows, cols int, s float64) linalg.Matrix {
	m := linalg.New(rows, cols)
	for i := range m.Data {
		m.Data[i] = s * rng.NormFloat64()
	}
	return m
}

// checkGrad compares grad (the analytic gradient of f at x) with central
// finite differences of f in every coordinate of x.
func checkGrad(t *testing.T, name string, x []float64, grad []float64, f func() float64) {
	t.Helper()
	const h = 1e-6
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * h)
		if d := math.Abs(num - grad[i]); d > 1e-6*max(1, math.Abs(num)) {
			t.Errorf("%s[%d]: analytic %.10g, numeric %.10g", name, i, grad[i], num)
		}
	}
}

func TestPairwiseBCEGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	k, n := 4, 7
	q := randMatrix(rng, k, n, 1.5)
	tgt := linalg.New(n, n)
	for i := range tgt.Data {
		if rng.Float64() < 0.4 {
			tgt.Data[i] = 1
		}
	}
	var pw pairwise
	grad := linalg.New(k, n)
	scale := 0.7
	pw.loss(q, tgt, scale, grad)
	g := append([]float64(nil), grad.Data...)
	scratch := linalg.New(k, n)
	checkGrad(t, "dq", q.Data, g, func() float64 { return scale * pw.loss(q, tgt, 1, scratch) })
}

// TestPairwiseBCEValues checks the loss against values worked out by hand.
func TestPairwiseBCEValues(t *testing.T) {
	var pw pairwise
	grad := linalg.New(2, 2)
	// Two confident identical one-hots (logits 40 and 0) with t = 1: p ~ 1,
	// loss = -log(1 + 1e-7) ~ -1e-7.
	same := linalg.Matrix{Data: []float64{40, 40, 0, 0}, Rows: 2, Cols: 2}
	ones := linalg.Matrix{Data: []float64{1, 1, 1, 1}, Rows: 2, Cols: 2}
	if l := pw.loss(same, ones, 1, grad); math.Abs(l) > 1e-6 {
		t.Errorf("same one-hots, t=1: loss %g, want ~0", l)
	}
	// Orthogonal one-hots with t = 0: p ~ 0, loss = -log(1 + 1e-7) ~ 0.
	orth := linalg.Matrix{Data: []float64{40, 0, 0, 40}, Rows: 2, Cols: 2}
	zeros := linalg.New(2, 2)
	if l := pw.loss(orth, zeros, 1, grad); math.Abs(l) > 1e-6 {
		t.Errorf("orthogonal one-hots, t=0: loss %g, want ~0", l)
	}
	// Uniform softmax over 2 clusters: p = 1/2, loss = -log(0.5 + 1e-7).
	uni := linalg.New(2, 2)
	want := -math.Log(0.5 + 1e-7)
	if l := pw.loss(uni, ones, 1, grad); math.Abs(l-want) > 1e-12 {
		t.Errorf("uniform, t=1: loss %.15g, want %.15g", l, want)
	}
	// Same one-hots with t = 0: p = 1, loss = -log(1e-7) = 16.118...
	if l := pw.loss(same, zeros, 1, grad); math.Abs(l-(-math.Log(1e-7))) > 1e-6 {
		t.Errorf("same one-hots, t=0: loss %g, want %g", l, -math.Log(1e-7))
	}
	// p stays in [0, 1]: the loss is finite for any logits.
	rng := rand.New(rand.NewPCG(3, 4))
	big := randMatrix(rng, 5, 30, 50)
	tg := linalg.New(30, 30)
	if l := pw.loss(big, tg, 1, linalg.New(5, 30)); math.IsNaN(l) || math.IsInf(l, 0) || l < 0 {
		t.Errorf("extreme logits: loss %g", l)
	}
}

func TestConsistencyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	y := randMatrix(rng, 3, 10, 1)
	grad := linalg.New(3, 10)
	l := consistency(y, 0.3, grad)
	// By hand: mean over the 3 x 5 pairs of squared differences.
	want := 0.0
	for r := 0; r < 3; r++ {
		for j := 0; j < 5; j++ {
			d := y.At(r, j) - y.At(r, 5+j)
			want += d * d / 15
		}
	}
	if math.Abs(l-want) > 1e-12 {
		t.Errorf("consistency %g, want %g", l, want)
	}
	g := append([]float64(nil), grad.Data...)
	checkGrad(t, "dy", y.Data, g, func() float64 { return 0.3 * consistency(y, 1, linalg.New(3, 10)) })
}

func TestVIMELossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a, f, x := randMatrix(rng, 4, 6, 2), randMatrix(rng, 4, 6, 1), randMatrix(rng, 4, 6, 1)
	tg := linalg.New(4, 6)
	for i := range tg.Data {
		if rng.Float64() < 0.3 {
			tg.Data[i] = 1
		}
	}
	ga, gf := linalg.New(4, 6), linalg.New(4, 6)
	bce, mse := vimeLoss(a, f, tg, x, 2, ga, gf)
	// BCE of sigmoid(a) computed directly, as PyTorch's BCELoss does.
	wantBCE, wantMSE := 0.0, 0.0
	for i, v := range a.Data {
		p := 1 / (1 + math.Exp(-v))
		wantBCE -= (tg.Data[i]*math.Log(p) + (1-tg.Data[i])*math.Log(1-p)) / 24
		d := f.Data[i] - x.Data[i]
		wantMSE += d * d / 24
	}
	if math.Abs(bce-wantBCE) > 1e-12 || math.Abs(mse-wantMSE) > 1e-12 {
		t.Errorf("vimeLoss = %g, %g; want %g, %g", bce, mse, wantBCE, wantMSE)
	}
	total := func() float64 {
		b, m := vimeLoss(a, f, tg, x, 2, linalg.New(4, 6), linalg.New(4, 6))
		return b + 2*m
	}
	checkGrad(t, "da", a.Data, append([]float64(nil), ga.Data...), total)
	checkGrad(t, "df", f.Data, append([]float64(nil), gf.Data...), total)
}

// testModel returns a model with heads, d features, c known classes, k
// clusters, initialized from seed.
func testModel(d, c, k int, act string, drop float64, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &Model{Dims: [3]int{d, c + 1, k}, Activation: act, Dropout: drop}
	m.Encoder = []*nn.Linear{nn.NewLinear(d, d, rng), nn.NewLinear(d, d, rng)}
	m.Classifier = nn.NewLinear(d, c+1, rng)
	m.Clusterer = nn.NewLinear(d, k, rng)
	return m
}

// fixDropout makes the encoder draw the same dropout mask on every forward
// pass, so that finite differences see one fixed function.
func fixDropout(j *joint) func() {
	return func() {
		if j.enc.drop != nil {
			j.enc.drop.Rng = rand.New(rand.NewPCG(42, 42))
		}
	}
}

// TestJointStepGradients checks the classification and clustering steps'
// gradients (CE over C+1 classes, both consistency terms through both
// branches, the pairwise BCE, the Linear -> Dropout -> activation block) on
// every parameter of the encoder and the heads, for each activation.
func TestJointStepGradients(t *testing.T) {
	for _, act := range []string{ActReLU, ActSigmoid, ActNone} {
		t.Run(act, func(t *testing.T) {
			d, c, k, n := 5, 3, 3, 6
			m := testModel(d, c, k, act, 0.2, 9)
			cfg := DefaultConfig()
			cfg.W1, cfg.W2, cfg.TopK, cfg.BatchSize = 0.6, 0.7, 50, 8 // kpl = 2
			j := newJoint(m, cfg, nil)
			reset := fixDropout(j)
			rng := rand.New(rand.NewPCG(10, 11))
			fx := randMatrix(rng, d, 2*n, 1)
			labels := []int{0, 1, 2, 3, 3, 0, -1, -1, -1, -1, -1, -1}
			params := append(j.enc.seq.Params(), j.cls.Params()...)
			reset()
			j.clsLossGrad(fx, labels)
			grads := make([][]float64, len(params))
			for i, p := range params {
				grads[i] = append([]float64(nil), p.Grad...)
			}
			for i, p := range params {
				checkGrad(t, "cls param", p.Data, grads[i], func() float64 { reset(); return j.clsLossGrad(fx, labels) })
			}

			fu := randMatrix(rng, d, 2*n, 1)
			params = append(j.enc.seq.Params(), j.clu.Params()...)
			reset()
			j.cluLossGrad(fu)
			grads = grads[:0]
			for _, p := range params {
				grads = append(grads, append([]float64(nil), p.Grad...))
			}
			for i, p := range params {
				// The pseudo-labels are piecewise constant in the
				// parameters: the step h = 1e-6 does not change them here
				// (no near-tie among the similarities of 6 random rows).
				checkGrad(t, "clu param", p.Data, grads[i], func() float64 { reset(); return j.cluLossGrad(fu) })
			}
		})
	}
}

// TestVIMEStepGradient checks the pretraining loss's gradient on the
// encoder and both VIME heads.
func TestVIMEStepGradient(t *testing.T) {
	d, n := 4, 9
	m := testModel(d, 2, 2, ActReLU, 0.25, 12)
	rng := rand.New(rand.NewPCG(13, 14))
	mh, fh := nn.NewLinear(d, d, rng), nn.NewLinear(d, d, rng)
	cfg := DefaultConfig()
	v := newVIME(m, mh, fh, cfg)
	fxt, fx := randMatrix(rng, d, n, 1), randMatrix(rng, d, n, 1)
	mask := linalg.New(d, n)
	for i := range mask.Data {
		if rng.Float64() < 0.3 {
			mask.Data[i] = 1
		}
	}
	loss := func() float64 {
		v.enc.drop.Rng = rand.New(rand.NewPCG(1, 1))
		z := v.enc.seq.Forward(fxt, true)
		a, f := v.maskHead.Forward(z, true), v.featHead.Forward(z, true)
		ga, gf := linalg.New(d, n), linalg.New(d, n)
		b, s := vimeLoss(a, f, mask, fx, cfg.Alpha, ga, gf)
		dz := linalg.New(d, n)
		copy(dz.Data, v.maskHead.Backward(ga).Data)
		for i, g := range v.featHead.Backward(gf).Data {
			dz.Data[i] += g
		}
		v.enc.seq.Backward(dz)
		return b + cfg.Alpha*s
	}
	params := append(v.enc.seq.Params(), v.maskHead.Params()...)
	params = append(params, v.featHead.Params()...)
	loss()
	for _, p := range params {
		g := append([]float64(nil), p.Grad...)
		checkGrad(t, "vime param", p.Data, g, loss)
	}
}
