package nn

import (
	"gonum.org/v1/gonum/floats"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// The three products of a fully connected layer on feature-major batches:
//
//	forward        y  = W x      (out x n) = (out x in)(in x n)
//	input grad     dx = W^T d    (in x n)  = (in x out)(out x n)
//	weight grad    gW = d x^T    (out x in) = (out x n)(n x in)
//
// They are computed tile by tile with gonum's vectorized axpy and dot
// kernels (floats.AddScaled, floats.Dot): output tiles of rowBlock rows by
// colBlock batch columns, and the summed dimension cut into sumBlock slices,
// so that the panels a tile touches stay in cache (this is gonum's own Gemm
// scheme). Tiles are independent, so they are spread over `threads`
// goroutines with par.For; the tiling, and therefore every element's
// summation order, depends only on the shapes, so results are bit-identical
// for any thread count.
//
// Why not linalg.Mul (gonum's Gemm)? It sizes its worker pool from
// GOMAXPROCS, not from the caller's thread count, and it starts goroutines
// for any product with four 64x64 output blocks, which on PBN's tabular
// layers (16x12 weights on 512-sample batches) costs more than the
// arithmetic; see BenchmarkGemm* for the measurements.
type gemm struct {
	threads int
}

const (
	rowBlock = 64
	sumBlock = 64
	// serialWork is the multiply-add count under which a product runs on
	// the calling goroutine: below it, starting goroutines costs more than
	// it saves. (It changes only scheduling, never results.)
	serialWork = 1 << 17
)

// colBlock is the batch-column tile width: wide tiles make long kernel calls
// for narrow layers, narrower ones keep the panels in L1/L2 for wide layers.
var colBlockOverride int

func colBlock(sum int) int {
	if colBlockOverride > 0 {
		return colBlockOverride
	}
	if sum <= 32 {
		return 512
	}
	return 128
}

func (g gemm) run(tiles, work int, fn func(t int)) {
	threads := g.threads
	if work < serialWork {
		threads = 1
	}
	par.For(threads, tiles, 1, func(t, _, _ int) { fn(t) })
}

func blocks(n, b int) int { return (n + b - 1) / b }

// mulWX computes y = w x + bias (bias broadcast along rows; nil for none).
func (g gemm) mulWX(y, w, x linalg.Matrix, bias []float64) {
	out, in, n := w.Rows, w.Cols, x.Cols
	cb := colBlock(in)
	nc := blocks(n, cb)
	g.run(blocks(out, rowBlock)*nc, out*in*n, func(t int) {
		o0, j0 := (t/nc)*rowBlock, (t%nc)*cb
		o1, j1 := min(o0+rowBlock, out), min(j0+cb, n)
		for o := o0; o < o1; o++ {
			yo := y.Data[o*n+j0 : o*n+j1]
			if bias == nil {
				clear(yo)
				continue
			}
			b := bias[o]
			for j := range yo {
				yo[j] = b
			}
		}
		for l0 := 0; l0 < in; l0 += sumBlock {
			l1 := min(l0+sumBlock, in)
			for o := o0; o < o1; o++ {
				yo := y.Data[o*n+j0 : o*n+j1]
				wo := w.Data[o*in : (o+1)*in]
				for l := l0; l < l1; l++ {
					if wv := wo[l]; wv != 0 {
						floats.AddScaled(yo, wv, x.Data[l*n+j0:l*n+j1])
					}
				}
			}
		}
	})
}

// mulWtD computes dx = w^T d.
func (g gemm) mulWtD(dx, w, d linalg.Matrix) {
	out, in, n := w.Rows, w.Cols, d.Cols
	cb := colBlock(out)
	nc := blocks(n, cb)
	g.run(blocks(in, rowBlock)*nc, out*in*n, func(t int) {
		i0, j0 := (t/nc)*rowBlock, (t%nc)*cb
		i1, j1 := min(i0+rowBlock, in), min(j0+cb, n)
		for i := i0; i < i1; i++ {
			clear(dx.Data[i*n+j0 : i*n+j1])
		}
		for o0 := 0; o0 < out; o0 += sumBlock {
			o1 := min(o0+sumBlock, out)
			for i := i0; i < i1; i++ {
				di := dx.Data[i*n+j0 : i*n+j1]
				for o := o0; o < o1; o++ {
					if wv := w.Data[o*in+i]; wv != 0 {
						floats.AddScaled(di, wv, d.Data[o*n+j0:o*n+j1])
					}
				}
			}
		}
	})
}

// mulDXt computes gw = d x^T: each element a dot product along the batch,
// summed in batch slices of width colBlock.
func (g gemm) mulDXt(gw, d, x linalg.Matrix) {
	out, in, n := gw.Rows, gw.Cols, d.Cols
	cb := colBlock(min(out, in))
	ni := blocks(in, rowBlock)
	g.run(blocks(out, rowBlock)*ni, out*in*n, func(t int) {
		o0, i0 := (t/ni)*rowBlock, (t%ni)*rowBlock
		o1, i1 := min(o0+rowBlock, out), min(i0+rowBlock, in)
		for o := o0; o < o1; o++ {
			clear(gw.Data[o*in+i0 : o*in+i1])
		}
		for j0 := 0; j0 < n; j0 += cb {
			j1 := min(j0+cb, n)
			for o := o0; o < o1; o++ {
				do := d.Data[o*n+j0 : o*n+j1]
				g := gw.Data[o*in : (o+1)*in]
				for i := i0; i < i1; i++ {
					g[i] += floats.Dot(do, x.Data[i*n+j0:i*n+j1])
				}
			}
		}
	})
}
