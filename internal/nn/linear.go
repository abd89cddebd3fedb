package nn

import (
	"math"
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/linalg"
)

// Linear is a fully connected layer y = W x + b. Its exported fields are the
// whole trained state (encode them to save the layer); the rest is scratch.
type Linear struct {
	In, Out int
	// W holds the weights, Out x In row-major (PyTorch's layout).
	W []float64
	// B holds the Out biases.
	B []float64

	// SkipInputGrad makes Backward skip the input gradient (and return an
	// empty matrix): the first layer of a network does not need it.
	SkipInputGrad bool
	// Threads bounds the goroutines used by the layer's matrix products
	// (<= 0: all CPUs). Results do not depend on it.
	Threads int

	x         linalg.Matrix // last Forward's input (owned by the caller)
	y, dx, wt []float64
	xt        []float64
	// the float32 path (gemm32.go): opted in, and its operands
	f32                 bool
	x32, xt32, w32, d32 []float32
	gW, gB              []float64
	pW, pB              Param
	paramsMade          bool
}

// NewLinear returns an in -> out layer with PyTorch's default initialization:
// kaiming_uniform(a = sqrt(5)) for the weights, which is U(-1/sqrt(in),
// 1/sqrt(in)), and the same bound for the biases. Weights are drawn first, in
// row-major order, then biases.
func NewLinear(in, out int, rng *rand.Rand) *Linear {
	l := &Linear{In: in, Out: out, W: make([]float64, in*out), B: make([]float64, out)}
	bound := 1 / math.Sqrt(float64(in))
	for i := range l.W {
		l.W[i] = bound * (2*rng.Float64() - 1)
	}
	for i := range l.B {
		l.B[i] = bound * (2*rng.Float64() - 1)
	}
	return l
}

func (l *Linear) weights() linalg.Matrix {
	return linalg.Matrix{Data: l.W, Rows: l.Out, Cols: l.In}
}

// Forward computes W x + b for the In x n batch x.
func (l *Linear) Forward(x linalg.Matrix, _ bool) linalg.Matrix {
	if x.Rows != l.In {
		panic("nn: Linear input has the wrong number of features")
	}
	l.x = x
	n := x.Cols
	y := buffer(&l.y, l.Out, n)
	if l.useF32() {
		x32 := buffer32(&l.x32, l.In, n)
		toF32(x32.Data, x.Data)
		w32 := buffer32(&l.w32, l.Out, l.In)
		toF32(w32.Data, l.W)
		gemm{l.Threads}.run32(product32{c: y, a: w32, b: x32, bias: l.B})
		return y
	}
	gemm{l.Threads}.mulWX(y, l.weights(), x, l.B)
	return y
}

// Backward stores dL/dW = dy x^T and dL/db = row sums of dy, and returns
// dL/dx = W^T dy (unless SkipInputGrad).
func (l *Linear) Backward(dy linalg.Matrix) linalg.Matrix {
	l.makeParams()
	n := dy.Cols
	gw := linalg.Matrix{Data: l.gW, Rows: l.Out, Cols: l.In}
	f32 := l.useF32()
	var d32 matrix32
	if f32 {
		// Forward's x32 holds the float32 input (a Linear's input does
		// not change between its Forward and Backward).
		d32 = buffer32(&l.d32, l.Out, n)
		toF32(d32.Data, dy.Data)
		xt := buffer32(&l.xt32, n, l.In)
		gatherT32(xt, l.x32[:l.In*n], l.In, n)
		gemm{l.Threads}.run32(product32{c: gw, a: d32, b: xt})
	} else {
		gemm{l.Threads}.mulDXt(gw, dy, l.x, &l.xt)
	}
	for o := range l.gB {
		s := 0.0
		for _, v := range dy.Data[o*n : (o+1)*n] {
			s += v
		}
		l.gB[o] = s
	}
	if l.SkipInputGrad {
		return linalg.Matrix{}
	}
	dx := buffer(&l.dx, l.In, n)
	if f32 {
		// w32 is Forward's float32 copy of W (unchanged since), read
		// transposed.
		w32 := matrix32{Data: l.w32[:l.Out*l.In], Rows: l.Out, Cols: l.In}
		gemm{l.Threads}.run32(product32{c: dx, a: w32, at: true, b: d32})
		return dx
	}
	gemm{l.Threads}.mulWtD(dx, l.weights(), dy, &l.wt)
	return dx
}

// Params returns the weights then the biases.
func (l *Linear) Params() []*Param {
	l.makeParams()
	return []*Param{&l.pW, &l.pB}
}

func (l *Linear) makeParams() {
	if !l.paramsMade {
		l.gW = make([]float64, len(l.W))
		l.gB = make([]float64, len(l.B))
		l.pW = Param{Data: l.W, Grad: l.gW}
		l.pB = Param{Data: l.B, Grad: l.gB}
		l.paramsMade = true
	}
}
