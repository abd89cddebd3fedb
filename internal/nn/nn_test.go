package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

func randMatrix(rng *rand.Rand, rows, cols int, scale float64) linalg.Matrix {
	m := linalg.New(rows, cols)
	for i := range m.Data {
		m.Data[i] = scale * rng.NormFloat64()
	}
	return m
}

// relErr is |a-b| / max(|a|, |b|), or |a-b| when both are below floor (an
// exactly-zero gradient then has to come out within floor of zero).
func relErr(a, b, floor float64) float64 {
	d := math.Abs(a - b)
	s := max(math.Abs(a), math.Abs(b))
	if s < floor {
		return d
	}
	return d / s
}

// checkGrad compares analytic gradients with central differences of loss
// over every element of each tensor in wrt (inputs or parameters): loss must
// recompute the scalar from the tensors' current values. The difference is
// the five-point stencil (central differences at h and 2h, Richardson
// extrapolated): truncation error O(h^4) ~ 1e-16 and rounding error about
// 1e-16 * |loss| / h ~ 1e-12, so gradients of 1e-4 and up are resolved to
// well under 1e-6 relative; smaller ones are held to 1e-10 absolute.
func checkGrad(t *testing.T, name string, wrt, analytic [][]float64, loss func() float64, tol float64) {
	t.Helper()
	const h = 1e-4
	worst := 0.0
	at := func(x []float64, i int, v float64) float64 {
		orig := x[i]
		x[i] = v
		l := loss()
		x[i] = orig
		return l
	}
	for k, x := range wrt {
		for i := range x {
			o := x[i]
			d1 := at(x, i, o+h) - at(x, i, o-h)
			d2 := at(x, i, o+2*h) - at(x, i, o-2*h)
			num := (8*d1 - d2) / (12 * h)
			e := relErr(num, analytic[k][i], 1e-4)
			if max(math.Abs(num), math.Abs(analytic[k][i])) < 1e-4 {
				e *= tol / 1e-10
			}
			if e > worst {
				worst = e
			}
			if e > tol {
				t.Errorf("%s: tensor %d elem %d: analytic %.12g numeric %.12g (rel err %.3g)", name, k, i, analytic[k][i], num, e)
				return
			}
		}
	}
	t.Logf("%s: worst relative error %.3g", name, worst)
}

// layerCheck checks a layer's input and parameter gradients for the loss
// sum(r .* Forward(x)) with fixed random r, in training mode.
func layerCheck(t *testing.T, name string, l Layer, x linalg.Matrix, reset func()) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	if reset != nil {
		reset()
	}
	y := l.Forward(x, true)
	r := randMatrix(rng, y.Rows, y.Cols, 1)
	dx := l.Backward(r).Clone()
	loss := func() float64 {
		if reset != nil {
			reset()
		}
		y := l.Forward(x, true)
		s := 0.0
		for i, v := range y.Data {
			s += v * r.Data[i]
		}
		return s
	}
	wrt := [][]float64{x.Data}
	an := [][]float64{dx.Data}
	for _, p := range l.Params() {
		wrt = append(wrt, p.Data)
		an = append(an, append([]float64(nil), p.Grad...))
	}
	if lin, ok := l.(*Linear); ok && lin.SkipInputGrad {
		wrt, an = wrt[1:], an[1:]
	}
	checkGrad(t, name, wrt, an, loss, 1e-6)
}

func TestLinearGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 5, 33} {
		l := NewLinear(4, 3, rng)
		layerCheck(t, "linear", l, randMatrix(rng, 4, n, 1), nil)
	}
	// Several tiles and summation blocks, on two goroutines.
	l := NewLinear(128, 96, rng)
	x := randMatrix(rng, 128, 100, 1)
	l.Threads = 2
	// Spot-check a subset by shrinking the check to the weights' first rows:
	// the full check would take 12288*2 forwards.
	y := l.Forward(x, true)
	r := randMatrix(rng, y.Rows, y.Cols, 1)
	dx := l.Backward(r)
	gw := l.Params()[0].Grad
	// Closed forms: dW = r x^T, dx = W^T r.
	for _, ij := range [][2]int{{0, 0}, {5, 17}, {95, 127}} {
		o, i := ij[0], ij[1]
		want := 0.0
		for j := 0; j < x.Cols; j++ {
			want += r.At(o, j) * x.At(i, j)
		}
		if relErr(gw[o*l.In+i], want, 1e-12) > 1e-12 {
			t.Errorf("big dW[%d,%d] = %g, want %g", o, i, gw[o*l.In+i], want)
		}
		want = 0
		for k := 0; k < l.Out; k++ {
			want += l.W[k*l.In+i] * r.At(k, o)
		}
		if relErr(dx.At(i, o), want, 1e-12) > 1e-12 {
			t.Errorf("big dx[%d,%d] = %g, want %g", i, o, dx.At(i, o), want)
		}
	}
}

func TestLinearForwardAndInit(t *testing.T) {
	l := &Linear{In: 2, Out: 2, W: []float64{1, 2, 3, 4}, B: []float64{0.5, -1}}
	// Two samples (1,0) and (2,-1) as columns.
	x := linalg.FromRows([][]float64{{1, 2}, {0, -1}})
	y := l.Forward(x, false)
	want := []float64{1.5, 0.5, 2, 1}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("y = %v, want %v", y.Data, want)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	big := NewLinear(25, 40, rng)
	bound := 0.2
	lo, hi := 1.0, -1.0
	for _, v := range append(append([]float64(nil), big.W...), big.B...) {
		if math.Abs(v) > bound {
			t.Fatalf("init value %g outside U(-1/sqrt(25), 1/sqrt(25))", v)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo > -0.18 || hi < 0.18 {
		t.Errorf("init range [%g, %g] does not fill +-0.2", lo, hi)
	}
}

func TestReLUGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randMatrix(rng, 3, 7, 1)
	for i, v := range x.Data { // keep away from the kink
		if math.Abs(v) < 0.01 {
			x.Data[i] = 0.5
		}
	}
	layerCheck(t, "relu", &ReLU{}, x, nil)
}

func TestBatchNormForward(t *testing.T) {
	b := NewBatchNorm(1)
	x := linalg.FromRows([][]float64{{1, 2, 3, 6}})
	y := b.Forward(x, true)
	// mean 3, biased variance 3.5, unbiased 14/3.
	for j, v := range []float64{1, 2, 3, 6} {
		want := (v - 3) / math.Sqrt(3.5+1e-5)
		if relErr(y.Data[j], want, 1e-15) > 1e-14 {
			t.Errorf("y[%d] = %.17g, want %.17g", j, y.Data[j], want)
		}
	}
	if relErr(b.RunMean[0], 0.3, 0) > 1e-15 || relErr(b.RunVar[0], 0.9+0.1*14.0/3, 0) > 1e-15 {
		t.Errorf("running stats %g %g, want 0.3 %g", b.RunMean[0], b.RunVar[0], 0.9+0.1*14.0/3)
	}
	b.Gamma[0], b.Beta[0] = 2, 1
	y = b.Forward(linalg.FromRows([][]float64{{0.3, 1.3}}), false)
	rv := 0.9 + 0.1*14.0/3
	for j, v := range []float64{0.3, 1.3} {
		want := 2*(v-0.3)/math.Sqrt(rv+1e-5) + 1
		if relErr(y.Data[j], want, 1e-15) > 1e-14 {
			t.Errorf("eval y[%d] = %g, want %g", j, y.Data[j], want)
		}
	}
}

func TestBatchNormGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := NewBatchNorm(3)
	for i := range b.Gamma {
		b.Gamma[i] = 1 + 0.5*rng.NormFloat64()
		b.Beta[i] = rng.NormFloat64()
	}
	layerCheck(t, "batchnorm", b, randMatrix(rng, 3, 9, 2), nil)
	layerCheck(t, "batchnorm n=2", b, randMatrix(rng, 3, 2, 2), nil)
}

// A BatchNorm of bnWide+1 features (four partial sums per feature) against
// the same features one at a time through 1-feature BatchNorms (one running
// sum): outputs, running statistics and input gradients equal to rounding;
// and its gradient against finite differences.
func TestBatchNormWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	nf, n := bnWide+1, 23 // 23: a tail after the groups of four
	b := NewBatchNorm(nf)
	for i := range b.Gamma {
		b.Gamma[i] = 1 + 0.5*rng.NormFloat64()
		b.Beta[i] = rng.NormFloat64()
	}
	x, dy := randMatrix(rng, nf, n, 2), randMatrix(rng, nf, n, 1)
	y := b.Forward(x, true).Clone()
	dx := b.Backward(dy)
	for f := 0; f < nf; f++ {
		one := NewBatchNorm(1)
		one.Gamma[0], one.Beta[0] = b.Gamma[f], b.Beta[f]
		row := func(m linalg.Matrix) linalg.Matrix {
			return linalg.Matrix{Data: m.Data[f*n : (f+1)*n], Rows: 1, Cols: n}
		}
		y1 := one.Forward(row(x), true)
		dx1 := one.Backward(row(dy))
		for j := 0; j < n; j++ {
			if relErr(y.Data[f*n+j], y1.Data[j], 1e-12) > 1e-12 || relErr(dx.Data[f*n+j], dx1.Data[j], 1e-12) > 1e-12 {
				t.Fatalf("feature %d sample %d: y %g / %g, dx %g / %g", f, j, y.Data[f*n+j], y1.Data[j], dx.Data[f*n+j], dx1.Data[j])
			}
		}
		if relErr(b.RunMean[f], one.RunMean[0], 1e-15) > 1e-12 || relErr(b.RunVar[f], one.RunVar[0], 1e-15) > 1e-12 {
			t.Fatalf("feature %d: running stats %g %g, want %g %g", f, b.RunMean[f], b.RunVar[f], one.RunMean[0], one.RunVar[0])
		}
	}
	layerCheck(t, "batchnorm wide", NewBatchNorm(nf), randMatrix(rng, nf, 9, 2), nil)
}

// BatchNorm training forward and backward on the widest hidden layer of a
// 784-feature PBN (588 features, batch 512).
func BenchmarkBatchNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	bn := NewBatchNorm(588)
	x, dy := randMatrix(rng, 588, 512, 1), randMatrix(rng, 588, 512, 1)
	for b.Loop() {
		bn.Forward(x, true)
		bn.Backward(dy)
	}
}

func TestDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randMatrix(rng, 4, 5, 1)
	d := &Dropout{P: 0.3}
	layerCheck(t, "dropout", d, x, func() { d.Rng = rand.New(rand.NewPCG(5, 6)) })

	// Statistics: drop rate and scale.
	d.Rng = rand.New(rand.NewPCG(9, 9))
	ones := linalg.New(10, 10000)
	for i := range ones.Data {
		ones.Data[i] = 1
	}
	y := d.Forward(ones, true)
	zeros := 0
	for _, v := range y.Data {
		switch v {
		case 0:
			zeros++
		case 1 / 0.7:
		default:
			t.Fatalf("dropout output %g, want 0 or 1/0.7", v)
		}
	}
	rate := float64(zeros) / float64(len(y.Data))
	// 100000 Bernoulli(0.3): sd 0.0014; 5 sd.
	if math.Abs(rate-0.3) > 0.0075 {
		t.Errorf("drop rate %g, want 0.3", rate)
	}
	if e := d.Forward(ones, false); &e.Data[0] != &ones.Data[0] {
		t.Error("eval dropout should be the identity")
	}
}

func TestL2Normalize(t *testing.T) {
	l := &L2Normalize{}
	// Samples (3,4) and (0,0) as columns.
	x := linalg.FromRows([][]float64{{3, 0}, {4, 0}})
	y := l.Forward(x, true)
	if y.At(0, 0) != 0.6 || y.At(1, 0) != 0.8 || y.At(0, 1) != 0 || y.At(1, 1) != 0 {
		t.Fatalf("normalize = %v", y.Data)
	}
	// Where the norm is floored, the gradient is dy / 1e-12.
	dx := l.Backward(linalg.FromRows([][]float64{{1, 2}, {3, 4}}))
	if dx.At(0, 1) != 2e12 || dx.At(1, 1) != 4e12 {
		t.Errorf("floored gradient %g %g, want 2e12 4e12", dx.At(0, 1), dx.At(1, 1))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	layerCheck(t, "l2normalize", &L2Normalize{}, randMatrix(rng, 5, 6, 1), nil)
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	// Samples: logits (1,2,3) label 2; (0,0,0) unlabeled.
	logits := linalg.FromRows([][]float64{{1, 0}, {2, 0}, {3, 0}})
	g := linalg.New(3, 2)
	var ce SoftmaxCrossEntropy
	loss, count := ce.Loss(logits, []int{2, -1}, 0.5, g)
	// python3: math.log(math.exp(1)+math.exp(2)+math.exp(3))-3
	if count != 1 || relErr(loss, 0.40760596444438013, 0) > 1e-14 {
		t.Errorf("loss %.17g count %d, want 0.40760596444438013 1", loss, count)
	}
	z := math.Exp(1) + math.Exp(2) + math.Exp(3)
	want := []float64{0.5 * math.Exp(1) / z, 0.5 * math.Exp(2) / z, 0.5 * (math.Exp(3)/z - 1)}
	for r, w := range want {
		if relErr(g.At(r, 0), w, 0) > 1e-14 || g.At(r, 1) != 0 {
			t.Errorf("grad row %d = %g %g, want %g 0", r, g.At(r, 0), g.At(r, 1), w)
		}
	}
	// Numerical gradient over random logits with several labels.
	rng := rand.New(rand.NewPCG(1, 2))
	lg := randMatrix(rng, 4, 6, 3)
	labels := []int{0, 3, -1, 1, 1, 2}
	gr := linalg.New(4, 6)
	ce.Loss(lg, labels, 0.7, gr)
	scratch := linalg.New(4, 6)
	checkGrad(t, "ce", [][]float64{lg.Data}, [][]float64{gr.Data}, func() float64 {
		l, _ := ce.Loss(lg, labels, 1, scratch)
		return 0.7 * l
	}, 1e-6)
	// No labelled sample: 0, not NaN.
	if l, c := ce.Loss(lg, []int{-1, -1, -1, -1, -1, -1}, 1, gr); l != 0 || c != 0 {
		t.Errorf("empty CE = %g, %d", l, c)
	}
}

func TestSquaredError(t *testing.T) {
	// Large enough for the four partial sums (and an odd tail): the
	// gradient exactly 2*scale*(pred - target), the sum within rounding
	// of the plain running sum.
	rng := rand.New(rand.NewPCG(5, 5))
	n := squaredWide + 3
	pr, tg, gr := randMatrix(rng, 1, n, 1), randMatrix(rng, 1, n, 1), linalg.New(1, n)
	want := 0.0
	for i := range pr.Data {
		d := pr.Data[i] - tg.Data[i]
		want += d * d
	}
	if got := SquaredError(pr, tg, 0.3, gr); math.Abs(got-want) > 1e-12*want {
		t.Errorf("wide sum = %.17g, want %.17g", got, want)
	}
	for i, g := range gr.Data {
		if w := 2 * 0.3 * (pr.Data[i] - tg.Data[i]); g != w {
			t.Fatalf("wide grad[%d] = %g, want %g", i, g, w)
		}
	}
	p := linalg.FromRows([][]float64{{1, 2}, {3, 4}})
	q := linalg.FromRows([][]float64{{0, 2}, {5, 1}})
	g := linalg.New(2, 2)
	if s := SquaredError(p, q, 0.25, g); s != 1+0+4+9 {
		t.Errorf("sum = %g, want 14", s)
	}
	for i, w := range []float64{0.5, 0, -1, 1.5} {
		if g.Data[i] != w {
			t.Errorf("grad = %v", g.Data)
			break
		}
	}
}

func TestAdamW(t *testing.T) {
	for _, avx := range paths() {
		withPath(avx, func() { testAdamW(t) })
	}
}

func testAdamW(t *testing.T) {
	p := &Param{Data: []float64{1, -2}, Grad: make([]float64, 2)}
	o := NewAdamW([]*Param{p}, 0.1)
	// Reference: the PyTorch AdamW update written out in plain python3
	// floats (lr 0.1, wd 0.01, betas 0.9/0.999, eps 1e-8); step 1 by hand:
	// p = 0.999 - 1/(1-0.9) * 0.05/(sqrt(0.00025)/sqrt(0.001) + 1e-8).
	grads := [][]float64{{0.5, 3}, {-0.25, 1}, {2, -4}}
	want := [][]float64{
		{0.899000002, -2.0979999996666665},
		{0.8714672987058463, -2.183008394349804},
		{0.8035310672284472, -2.1724284479345366},
	}
	for s, g := range grads {
		copy(p.Grad, g)
		o.Step()
		for i := range p.Data {
			if relErr(p.Data[i], want[s][i], 0) > 1e-15 {
				t.Errorf("step %d param %d = %.17g, want %.17g", s+1, i, p.Data[i], want[s][i])
			}
		}
	}
}

// TestSequentialGradient checks a whole small network (every layer type,
// dropout with a frozen mask, two losses) against central differences.
func TestSequentialGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	drop := &Dropout{P: 0.25}
	first := NewLinear(5, 4, rng)
	first.SkipInputGrad = true
	enc := Sequential{first, &ReLU{}, NewBatchNorm(4), drop, NewLinear(4, 3, rng), &L2Normalize{}}
	dec := Sequential{NewLinear(3, 5, rng)}
	cls := NewLinear(3, 2, rng)
	n := 8
	x := randMatrix(rng, 5, n, 1)
	labels := []int{0, 1, -1, 1, 0, -1, -1, 1}
	gLogits, gRec := linalg.New(2, n), linalg.New(5, n)
	const w = 0.3
	var xent SoftmaxCrossEntropy
	forward := func() (float64, linalg.Matrix) {
		drop.Rng = rand.New(rand.NewPCG(1, 1))
		z := enc.Forward(x, true)
		xh := dec.Forward(z, true)
		logits := cls.Forward(z, true)
		ce, _ := xent.Loss(logits, labels, w, gLogits)
		rec := SquaredError(xh, x, (1-w)/float64(n), gRec)
		return w*ce + (1-w)*rec/float64(n), z
	}
	_, z := forward()
	dz := dec.Backward(gRec).Clone()
	dzc := cls.Backward(gLogits)
	for i := range dz.Data {
		dz.Data[i] += dzc.Data[i]
	}
	_ = z
	enc.Backward(dz)
	var wrt, an [][]float64
	for _, p := range append(append(enc.Params(), dec.Params()...), cls.Params()...) {
		wrt = append(wrt, p.Data)
		an = append(an, append([]float64(nil), p.Grad...))
	}
	checkGrad(t, "network", wrt, an, func() float64 { l, _ := forward(); return l }, 1e-6)
}
