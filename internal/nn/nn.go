// Package nn is a small neural-network core written for speed on the tiny
// tabular networks of PBN: fully connected layers, ReLU, BatchNorm1d,
// inverted dropout, row L2 normalization, softmax cross-entropy, squared
// error and AdamW, all with PyTorch's semantics and hand-written backward
// passes.
//
// Layout: a batch of n samples with f features is an f x n linalg.Matrix,
// one row per feature and one column per sample (the transpose of the
// dataset layout). Every inner loop then runs along the batch (hundreds of
// contiguous values) instead of along a layer's width (often 8 to 20 values
// on tabular data), which is what lets the vectorized gonum kernels pay off
// for tiny layers. Use ToFeatureMajor / FromFeatureMajor at the boundaries.
//
// Precision is float64 throughout (gradient checks at 1e-6), except that a
// Linear layer can opt in (SetFloat32) to float32 matrix products when it
// is wide (Float32MinWeights) and the CPU has AVX-512: twice the
// multiply-adds per instruction, with float32 operands, float32 partial
// sums over blocks of at most 256 terms and float64 outputs (gemm32.go).
// gonum's float32 Gemv, by contrast, is a plain dot/axpy loop and measured
// no faster than its float64 one on PBN's layers.
//
// Layers own their output and gradient buffers and reuse them from one batch
// to the next: after the first batch of the largest size, Forward and
// Backward allocate nothing. A layer's Forward output stays valid until its
// next Forward; Backward must follow the Forward it differentiates.
package nn

import "github.com/ncd-project/ncd/internal/linalg"

// Param is one trainable tensor: its values and the gradient of the loss
// with respect to them. Backward overwrites Grad (parameters are used once
// per step, so nothing needs accumulating); optimizers update Data in place.
type Param struct {
	Data []float64
	Grad []float64
	// Data32, when not nil, is a float32 copy of Data that a layer
	// attached to save converting Data before every product (Stack32).
	// AdamW.Step keeps it equal to float32(Data) as it updates Data (in
	// the same pass); any other code that changes Data must set Data32
	// to nil, and the layer converts and attaches it again.
	Data32 []float32
}

// Layer is one differentiable step of a network.
type Layer interface {
	// Forward computes the layer's output for a feature-major batch. train
	// selects training behaviour (batch statistics, dropout).
	Forward(x linalg.Matrix, train bool) linalg.Matrix
	// Backward takes the gradient of the loss with respect to the last
	// Forward's output, stores the parameter gradients and returns the
	// gradient with respect to that Forward's input.
	Backward(dy linalg.Matrix) linalg.Matrix
	// Params lists the trainable tensors (none for parameter-free layers).
	Params() []*Param
}

// Sequential chains layers.
type Sequential []Layer

// Forward runs every layer in order.
func (s Sequential) Forward(x linalg.Matrix, train bool) linalg.Matrix {
	for _, l := range s {
		x = l.Forward(x, train)
	}
	return x
}

// Backward runs every layer's Backward in reverse order.
func (s Sequential) Backward(dy linalg.Matrix) linalg.Matrix {
	for i := len(s) - 1; i >= 0; i-- {
		dy = s[i].Backward(dy)
	}
	return dy
}

// Params concatenates the layers' parameters in layer order.
func (s Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// buffer returns a rows x cols matrix backed by *buf, growing it only when
// its capacity is too small, so that steady-state batches reuse memory.
// The contents are left as they are.
func buffer(buf *[]float64, rows, cols int) linalg.Matrix {
	n := rows * cols
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	return linalg.Matrix{Data: (*buf)[:n], Rows: rows, Cols: cols}
}

// ToFeatureMajor writes the listed rows of the row-major matrix x, in order,
// as the columns of dst (x.Cols x len(rows)), growing *buf as needed, and
// returns dst. rows == nil means all rows.
func ToFeatureMajor(buf *[]float64, x linalg.Matrix, rows []int) linalg.Matrix {
	n := len(rows)
	if rows == nil {
		n = x.Rows
	}
	dst := buffer(buf, x.Cols, n)
	gatherT(dst, x, rows, n)
	return dst
}

// FromFeatureMajor writes the transpose of the feature-major batch a into the
// row-major matrix dst (a.Cols x a.Rows).
func FromFeatureMajor(dst, a linalg.Matrix) {
	if dst.Rows != a.Cols || dst.Cols != a.Rows {
		panic("nn: FromFeatureMajor shape mismatch")
	}
	transpose(dst, a)
}
