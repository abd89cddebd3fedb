package nn

import (
	"gonum.org/v1/gonum/floats"

	"github.com/ncd-project/ncd/internal/linalg"
)

// bigProduct is the multiply-add count above which the three layer products
// go through linalg (gonum's blocked, GOMAXPROCS-parallel Gemm) instead of
// the direct row kernels below. gonum's Gemm starts goroutines for any
// product with at least four 64x64 output blocks, which on PBN's tabular
// layers (16x12 weights, 512-sample batches) costs more than the arithmetic;
// the direct kernels call the same vectorized axpy/dot assembly along the
// batch with no blocking and no goroutines. Past this size cache blocking and
// parallelism win. The choice depends on shapes only, so results do not
// depend on the thread count.
const bigProduct = 1 << 20

// mulWX computes y = w x (y out x n, w out x in, x in x n).
func mulWX(y, w, x linalg.Matrix) {
	if w.Rows*w.Cols*x.Cols >= bigProduct {
		linalg.Mul(y, 1, w, x, 0)
		return
	}
	n := x.Cols
	for o := 0; o < w.Rows; o++ {
		yo := y.Data[o*n : (o+1)*n]
		clear(yo)
		for l, wv := range w.Row(o) {
			if wv != 0 {
				floats.AddScaled(yo, wv, x.Data[l*n:(l+1)*n])
			}
		}
	}
}

// mulWtD computes dx = w^T d (dx in x n, w out x in, d out x n).
func mulWtD(dx, w, d linalg.Matrix) {
	if w.Rows*w.Cols*d.Cols >= bigProduct {
		linalg.MulAtB(dx, 1, w, d, 0)
		return
	}
	n := d.Cols
	clear(dx.Data)
	for o := 0; o < w.Rows; o++ {
		do := d.Data[o*n : (o+1)*n]
		for i, wv := range w.Row(o) {
			if wv != 0 {
				floats.AddScaled(dx.Data[i*n:(i+1)*n], wv, do)
			}
		}
	}
}

// mulDXt computes gw = d x^T (gw out x in, d out x n, x in x n): sums over
// the batch, each element one dot product of two contiguous rows.
func mulDXt(gw, d, x linalg.Matrix) {
	if gw.Rows*gw.Cols*d.Cols >= bigProduct {
		linalg.MulABt(gw, 1, d, x, 0)
		return
	}
	n := d.Cols
	for o := 0; o < gw.Rows; o++ {
		do := d.Data[o*n : (o+1)*n]
		g := gw.Row(o)
		for i := range g {
			g[i] = floats.Dot(do, x.Data[i*n:(i+1)*n])
		}
	}
}
