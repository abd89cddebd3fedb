// Package linalg holds ncd's one matrix layout (contiguous row-major float64)
// and the few dense kernels every algorithm needs: row norms, A*B^T products
// through BLAS, and blocked squared Euclidean distances.
package linalg

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Matrix is a dense row-major matrix: element (i, j) is Data[i*Cols+j].
type Matrix struct {
	Data       []float64
	Rows, Cols int
}

// New allocates a zero rows x cols matrix.
func New(rows, cols int) Matrix {
	return Matrix{Data: make([]float64, rows*cols), Rows: rows, Cols: cols}
}

// FromRows copies a slice of equal-length rows into a Matrix.
func FromRows(rows [][]float64) Matrix {
	if len(rows) == 0 {
		return Matrix{}
	}
	m := New(len(rows), len(rows[0]))
	for i, r := range rows {
		if len(r) != m.Cols {
			panic(fmt.Sprintf("linalg: row %d has %d columns, want %d", i, len(r), m.Cols))
		}
		copy(m.Row(i), r)
	}
	return m
}

// Row returns row i as a sub-slice (no copy).
func (m Matrix) Row(i int) []float64 { return m.Data[i*m.Cols : (i+1)*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// Slice returns rows [lo, hi) as a view sharing m's storage.
func (m Matrix) Slice(lo, hi int) Matrix {
	return Matrix{Data: m.Data[lo*m.Cols : hi*m.Cols], Rows: hi - lo, Cols: m.Cols}
}

// Select copies the listed rows, in order, into a new Matrix.
func (m Matrix) Select(rows []int) Matrix {
	out := New(len(rows), m.Cols)
	for k, i := range rows {
		copy(out.Row(k), m.Row(i))
	}
	return out
}

// Clone returns a deep copy.
func (m Matrix) Clone() Matrix {
	return Matrix{Data: append([]float64(nil), m.Data...), Rows: m.Rows, Cols: m.Cols}
}

func (m Matrix) blas() blas64.General {
	stride := m.Cols
	if stride == 0 {
		stride = 1
	}
	return blas64.General{Rows: m.Rows, Cols: m.Cols, Stride: stride, Data: m.Data}
}

// RowSqNorms writes |row i|^2 into dst (allocated when nil) and returns it.
func RowSqNorms(m Matrix, dst []float64) []float64 {
	if dst == nil {
		dst = make([]float64, m.Rows)
	}
	for i := 0; i < m.Rows; i++ {
		s := 0.0
		for _, v := range m.Row(i) {
			s += v * v
		}
		dst[i] = s
	}
	return dst
}

// MulABt computes c = alpha * a * b^T + beta * c, where a is m x d, b is n x d
// and c is m x n. It goes through gonum's BLAS Dgemm (blocked, and parallel
// over GOMAXPROCS for large products; each output element is always summed in
// the same order, so results do not depend on the thread count).
func MulABt(c Matrix, alpha float64, a, b Matrix, beta float64) {
	if a.Cols != b.Cols || c.Rows != a.Rows || c.Cols != b.Rows {
		panic(fmt.Sprintf("linalg: MulABt shape mismatch %dx%d * (%dx%d)^T -> %dx%d", a.Rows, a.Cols, b.Rows, b.Cols, c.Rows, c.Cols))
	}
	if c.Rows == 0 || c.Cols == 0 {
		return
	}
	if a.Cols == 0 {
		for i := range c.Data {
			c.Data[i] *= beta
		}
		return
	}
	blas64.Gemm(blas.NoTrans, blas.Trans, alpha, a.blas(), b.blas(), beta, c.blas())
}

// Mul computes c = alpha * a * b + beta * c (a m x k, b k x n, c m x n).
func Mul(c Matrix, alpha float64, a, b Matrix, beta float64) {
	if a.Cols != b.Rows || c.Rows != a.Rows || c.Cols != b.Cols {
		panic(fmt.Sprintf("linalg: Mul shape mismatch %dx%d * %dx%d -> %dx%d", a.Rows, a.Cols, b.Rows, b.Cols, c.Rows, c.Cols))
	}
	if c.Rows == 0 || c.Cols == 0 || a.Cols == 0 {
		return
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, alpha, a.blas(), b.blas(), beta, c.blas())
}

// MulAtB computes c = alpha * a^T * b + beta * c (a k x m, b k x n, c m x n).
func MulAtB(c Matrix, alpha float64, a, b Matrix, beta float64) {
	if a.Rows != b.Rows || c.Rows != a.Cols || c.Cols != b.Cols {
		panic(fmt.Sprintf("linalg: MulAtB shape mismatch (%dx%d)^T * %dx%d -> %dx%d", a.Rows, a.Cols, b.Rows, b.Cols, c.Rows, c.Cols))
	}
	if c.Rows == 0 || c.Cols == 0 {
		return
	}
	if a.Rows == 0 {
		for i := range c.Data {
			c.Data[i] *= beta
		}
		return
	}
	blas64.Gemm(blas.Trans, blas.NoTrans, alpha, a.blas(), b.blas(), beta, c.blas())
}

// SqDist fills dst (a.Rows x b.Rows) with squared Euclidean distances between
// the rows of a and of b, as |a|^2 - 2 a.b + |b|^2 through one matrix product.
// aNorms and bNorms are the rows' squared norms (see RowSqNorms). Tiny negative
// values from cancellation are clamped to zero.
func SqDist(dst Matrix, a Matrix, aNorms []float64, b Matrix, bNorms []float64) {
	MulABt(dst, -2, a, b, 0)
	for i := 0; i < a.Rows; i++ {
		row := dst.Row(i)
		ai := aNorms[i]
		for j := range row {
			v := row[j] + ai + bNorms[j]
			if v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}

// SqDistRows returns the exact squared Euclidean distance between two vectors.
func SqDistRows(x, y []float64) float64 {
	s := 0.0
	for i, v := range x {
		d := v - y[i]
		s += d * d
	}
	return s
}
