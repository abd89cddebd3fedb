package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// The three products of a fully connected layer on feature-major batches:
//
//	forward        y  = W x      (out x n) = (out x in)(in x n)
//	input grad     dx = W^T d    (in x n)  = (in x out)(out x n)
//	weight grad    gW = d x^T    (out x in) = (out x n)(n x in)
//
// Each output row is a matrix-vector product along the batch, computed with
// gonum's assembly Gemv kernels (blas64.Gemv), which work on four rows of the
// matrix at once and so load and store the output vector a quarter as often
// as row-by-row axpy would. Products are cut into output tiles (rowBlock
// rows, all batch columns up to colBlock) and the summed dimension into
// sumBlock slices, so that the panels a tile reads stay in cache on wide
// layers. The tiling, and so every element's summation order, depends only
// on the shapes. Work is spread over `threads` goroutines with par.For in
// tasks of whole output rows (between taskRows and rowBlock of them, aiming
// at 8 tasks, so that mid-sized layers still split over two cores while big
// ones keep the cache-friendly row blocks): each row's kernel calls are the
// same whatever task it falls in, so results are bit-identical for any
// thread count.
//
// Why not linalg.Mul (gonum's Gemm)? Its kernel is axpy/dot based (about
// half the speed of the Gemv kernels here on these shapes), it sizes its
// worker pool from GOMAXPROCS rather than the caller's thread count, and it
// starts goroutines for any product with four 64x64 output blocks, which on
// PBN's tabular layers (16x12 weights, 512-sample batches) costs more than
// the arithmetic. See BenchmarkGemm.
//
// Where the CPU has AVX-512 (useAVX512), all three products instead run as
// c = a b (+ bias) through the register-tiled kernel fma8x24
// (gemm_amd64.s), with w^T and x^T transposed into scratch so that b is
// always read along c's rows. It is 4-9x faster than the Gemv path on both
// small (16x12) and wide (784x588) layers (BenchmarkGemm), and its tiling,
// too, depends only on the shapes. The gonum path stays as the fallback.
type gemm struct {
	threads int
}

const (
	taskRows = 8
	rowBlock = 64
	sumBlock = 128
	colBlock = 512
	// serialWork is the multiply-add count under which a product runs on
	// the calling goroutine: below it, starting goroutines costs more than
	// it saves. (It changes only scheduling, never results.)
	serialWork = 1 << 17
	// serialWorkAVX is serialWork for the AVX-512 kernel, which does the
	// same work about five times faster. Measured at 2 threads (noisy
	// shared machine): optdigits training (64 -> 48 layers, 1.5M
	// multiply-adds per product) takes 0.27 s with 1<<22, 0.45-0.55 s with
	// 1<<17 or 1<<20; the 784-feature case is unchanged (its products are
	// 236M and still split).
	serialWorkAVX = 1 << 22
)

// product is one of the three products with its operands; tile(t)
// computes output tile t. Keeping the operands in a value (rather than in
// closures) lets the serial path run without allocating.
type product struct {
	kind     int // wx, wtd or dxt
	c, a, b  linalg.Matrix
	bias, wt []float64
	per, nc  int // rows per task; column tiles (wx, wtd) or i-blocks (dxt)

	// On the AVX-512 path every product is c = a b (+ bias): a is k x
	// wide rows of c (w, w^T or d), b is k x c.Cols (x, d or x^T); see
	// tileAVX. Then per rows x colBlock columns make a tile.
	avx bool
	k   int
}

const (
	wx = iota
	wtd
	dxt
)

// run computes every tile of p. Below serialWork multiply-adds, or with one
// thread, it loops on the calling goroutine; otherwise par.For spreads the
// tiles (the closure, and its allocation, exist only on that path).
func (g gemm) run(p product, tiles, work int) {
	limit := serialWork
	if p.avx {
		limit = serialWorkAVX
	}
	if work < limit || par.Threads(g.threads) == 1 {
		for t := 0; t < tiles; t++ {
			p.tile(t)
		}
		return
	}
	q := p // escapes to the heap; declared here so only this path allocates
	par.For(g.threads, tiles, 1, func(t, _, _ int) { q.tile(t) })
}

func blocks(n, b int) int { return (n + b - 1) / b }

// rowsPerTask is the number of output rows per parallel task.
func rowsPerTask(rows int) int { return min(rowBlock, max(taskRows, blocks(rows, 8))) }

// sub returns rows [r0, r1) and columns [c0, c1) of m as a strided view.
func sub(m linalg.Matrix, r0, r1, c0, c1 int) blas64.General {
	return blas64.General{Rows: r1 - r0, Cols: c1 - c0, Stride: m.Cols, Data: m.Data[r0*m.Cols+c0:]}
}

func vec(data []float64) blas64.Vector {
	return blas64.Vector{N: len(data), Inc: 1, Data: data}
}

// mulWX computes y = w x + bias (bias broadcast along rows; nil for none).
func (g gemm) mulWX(y, w, x linalg.Matrix, bias []float64) {
	out, in, n := w.Rows, w.Cols, x.Cols
	if useAVX512 && out >= minRowsWX {
		g.runAVX(product{c: y, a: w, b: x, bias: bias, k: in})
		return
	}
	p := product{kind: wx, c: y, a: w, b: x, bias: bias, per: rowsPerTask(out), nc: blocks(n, colBlock)}
	g.run(p, blocks(out, p.per)*p.nc, out*in*n)
}

// mulWtD computes dx = w^T d. wt is scratch for the transpose of w.
func (g gemm) mulWtD(dx, w, d linalg.Matrix, wt *[]float64) {
	out, in, n := w.Rows, w.Cols, d.Cols
	t := buffer(wt, in, out)
	transpose(t, w)
	if useAVX512 {
		g.runAVX(product{c: dx, a: t, b: d, k: out})
		return
	}
	p := product{kind: wtd, c: dx, a: w, b: d, wt: t.Data, per: rowsPerTask(in), nc: blocks(n, colBlock)}
	g.run(p, blocks(in, p.per)*p.nc, out*in*n)
}

// mulDXt computes gw = d x^T: each element a dot product along the batch,
// summed in batch slices of width colBlock (gonum path). xt is scratch for
// the transpose of x, which the AVX-512 kernel needs (it reads b along the
// output columns).
func (g gemm) mulDXt(gw, d, x linalg.Matrix, xt *[]float64) {
	out, in, n := gw.Rows, gw.Cols, d.Cols
	if useAVX512 && out >= minRowsDXt {
		t := buffer(xt, n, in)
		transpose(t, x)
		g.runAVX(product{c: gw, a: d, b: t, k: n})
		return
	}
	p := product{kind: dxt, c: gw, a: d, b: x, per: rowsPerTask(out), nc: blocks(in, rowBlock)}
	g.run(p, blocks(out, p.per)*p.nc, out*in*n)
}

func (p *product) tile(t int) {
	if p.avx {
		p.tileAVX(t)
		return
	}
	switch p.kind {
	case wx: // y(c) = w(a) x(b) + bias
		y, w, x := p.c, p.a, p.b
		out, in, n := w.Rows, w.Cols, x.Cols
		o0, j0 := (t/p.nc)*p.per, (t%p.nc)*colBlock
		o1, j1 := min(o0+p.per, out), min(j0+colBlock, n)
		beta := 0.0
		if p.bias != nil {
			for o := o0; o < o1; o++ {
				yo := y.Data[o*n+j0 : o*n+j1]
				for j := range yo {
					yo[j] = p.bias[o]
				}
			}
			beta = 1
		}
		for l0 := 0; l0 < in; l0 += sumBlock {
			l1 := min(l0+sumBlock, in)
			xs := sub(x, l0, l1, j0, j1)
			for o := o0; o < o1; o++ {
				blas64.Gemv(blas.Trans, 1, xs, vec(w.Data[o*in+l0:o*in+l1]), beta, vec(y.Data[o*n+j0:o*n+j1]))
			}
			beta = 1
		}
	case wtd: // dx(c) = w(a)^T d(b), with wt = w^T
		dx, w, d := p.c, p.a, p.b
		out, in, n := w.Rows, w.Cols, d.Cols
		i0, j0 := (t/p.nc)*p.per, (t%p.nc)*colBlock
		i1, j1 := min(i0+p.per, in), min(j0+colBlock, n)
		beta := 0.0
		for o0 := 0; o0 < out; o0 += sumBlock {
			o1 := min(o0+sumBlock, out)
			ds := sub(d, o0, o1, j0, j1)
			for i := i0; i < i1; i++ {
				blas64.Gemv(blas.Trans, 1, ds, vec(p.wt[i*out+o0:i*out+o1]), beta, vec(dx.Data[i*n+j0:i*n+j1]))
			}
			beta = 1
		}
	case dxt: // gw(c) = d(a) x(b)^T
		gw, d, x := p.c, p.a, p.b
		out, in, n := gw.Rows, gw.Cols, d.Cols
		o0, i0 := (t/p.nc)*p.per, (t%p.nc)*rowBlock
		o1, i1 := min(o0+p.per, out), min(i0+rowBlock, in)
		beta := 0.0
		for j0 := 0; j0 < n; j0 += colBlock {
			j1 := min(j0+colBlock, n)
			xs := sub(x, i0, i1, j0, j1)
			for o := o0; o < o1; o++ {
				blas64.Gemv(blas.NoTrans, 1, xs, vec(d.Data[o*n+j0:o*n+j1]), beta, vec(gw.Data[o*in+i0:o*in+i1]))
			}
			beta = 1
		}
	}
}

// transpose writes m^T into t (m.Cols x m.Rows).
func transpose(t, m linalg.Matrix) { gatherT(t, m, nil, m.Rows) }

// gatherT writes rows rows[0..n) of m (rows nil: rows 0..n) as the columns
// of t (m.Cols x n). It reads four rows of m at once, in 8-column slices
// (one cache line), and writes them as runs of four in t. Narrow slices
// matter when t's stride is 4 KiB (n = 512): wider ones write to more lines
// of one cache set than it holds. Measured on 784-column data, 512-row
// batches: 14x faster than the element-wise ToFeatureMajor loop (3.1 ->
// 0.22 ms) and 2-4x faster for w^T, x^T. It runs once per batch for w^T and
// x^T on the AVX-512 path, and in ToFeatureMajor.
//
// With AVX-512, whole groups of 8 rows and 8 columns go through
// transpose8x64AVX512 (8 x 8 register blocks; 784-column batches about 5
// times faster) and the loop below does the rest.
func gatherT(t, m linalg.Matrix, rows []int, n int) {
	C := m.Cols
	row := func(j int) int {
		if rows != nil {
			return rows[j]
		}
		return j
	}
	n8, c8 := 0, 0
	if useAVX512 && C >= 8 && n >= 8 {
		n8, c8 = n&^7, C&^7
		var rp [8]*float64
		for j := 0; j < n8; j += 8 {
			for r := range 8 {
				rp[r] = &m.Data[row(j+r)*C]
			}
			transpose8x64AVX512(&t.Data[j], n, &rp, c8/8)
		}
	}
	const bs = 8
	for c0 := 0; c0 < C; c0 += bs {
		c1 := min(c0+bs, C)
		j := 0
		if c1 <= c8 {
			j = n8 // done above
		}
		for ; j+4 <= n; j += 4 {
			i0, i1, i2, i3 := row(j), row(j+1), row(j+2), row(j+3)
			m0 := m.Data[i0*C+c0 : i0*C+c1]
			m1 := m.Data[i1*C+c0 : i1*C+c1]
			m2 := m.Data[i2*C+c0 : i2*C+c1]
			m3 := m.Data[i3*C+c0 : i3*C+c1]
			m1, m2, m3 = m1[:len(m0)], m2[:len(m0)], m3[:len(m0)]
			for i, v := range m0 {
				d := t.Data[(c0+i)*n+j : (c0+i)*n+j+4]
				d[0], d[1], d[2], d[3] = v, m1[i], m2[i], m3[i]
			}
		}
		for ; j < n; j++ {
			i := row(j)
			for c := c0; c < c1; c++ {
				t.Data[c*n+j] = m.Data[i*C+c]
			}
		}
	}
}

// The AVX-512 kernel computes 8 output rows at a time (fewer are padded
// with copies), and for d x^T it first transposes x: with few output rows
// the gonum path is faster. Measured crossovers at -cpu 1 (batch 512):
// w x with 1 or 2 rows, 1.1-2.3x slower than gonum, 3 rows 2x faster;
// d x^T with 5 rows 1.3x slower, 6 even, 8 1.1-1.3x faster, 12 1.4-1.7x.
// w^T d is faster at every size (its rows are the layer's inputs).
const (
	minRowsWX  = 3
	minRowsDXt = 8
)

// kBlock is the slice of the summed index that the AVX-512 path runs
// through at once: a kBlock x 24 panel of b (48 KiB) stays in L1/L2 while
// the kernel walks down the rows of a tile. Measured on 588x784x512: 256 is
// 10-15% faster than 64, 128, 512 or no blocking.
const kBlock = 256

// runAVX computes p.c = p.a p.b (+ p.bias) with the AVX-512 kernel, in
// tiles of p.per rows and colBlock columns of p.c.
func (g gemm) runAVX(p product) {
	p.avx = true
	p.per = rowsPerTask(p.c.Rows)
	p.nc = blocks(p.c.Cols, colBlock)
	g.run(p, blocks(p.c.Rows, p.per)*p.nc, p.c.Rows*p.c.Cols*p.k)
}

// tileAVX computes output tile t on the AVX-512 path. Each element of c is
// one chain of FMAs over the summed index in order (from the bias or
// zero), whatever the tiling: results depend on the shapes only.
func (p *product) tileAVX(t int) {
	c, a, b := p.c, p.a, p.b
	r0, j0 := (t/p.nc)*p.per, (t%p.nc)*colBlock
	r1, j1 := min(r0+p.per, c.Rows), min(j0+colBlock, c.Cols)
	if p.bias != nil || p.k == 0 {
		for r := r0; r < r1; r++ {
			v := 0.0
			if p.bias != nil {
				v = p.bias[r]
			}
			cr := c.Data[r*c.Cols+j0 : r*c.Cols+j1]
			for j := range cr {
				cr[j] = v
			}
		}
	}
	var ap, cp [8]*float64
	for l0 := 0; l0 < p.k; l0 += kBlock {
		l1 := min(l0+kBlock, p.k)
		acc := 0
		if l0 > 0 || p.bias != nil {
			acc = 1
		}
		for j := j0; j < j1; j += 24 {
			mask := 1<<min(24, j1-j) - 1
			for r := r0; r < r1; r += 8 {
				// Rows past the tile repeat its last row: they compute
				// and store the same values to the same place.
				last := min(8, r1-r) - 1
				for i := range 8 {
					rr := r + min(i, last)
					ap[i] = &a.Data[rr*a.Cols+l0]
					cp[i] = &c.Data[rr*c.Cols+j]
				}
				fma8x24(&ap, &b.Data[l0*b.Cols+j], b.Cols, l1-l0, &cp, mask, acc)
			}
		}
	}
}
