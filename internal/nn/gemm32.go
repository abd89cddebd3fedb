package nn

import (
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// Float32 products on wide layers.
//
// On wide tables (hundreds of features) training time is the three layer
// products; the float64 AVX-512 kernel (fma8x24) runs them near the core's
// float64 peak. A ZMM register holds twice as many float32 values, so the
// float32 kernel fma8x48s does twice the multiply-adds per instruction.
// Only the products change precision: a wide Linear rounds its weights,
// its input and the incoming gradient to float32 (the operands; about 7
// significant digits), sums each output element in float32 over blocks of
// at most kBlock32 terms, and adds the blocks up in float64 into float64
// outputs. Everything else (the stored weights, biases, activations,
// BatchNorm, losses, AdamW's state and updates) stays float64. The result
// of every element depends on the shapes only, so it is the same at any
// thread count.
//
// A layer takes the float32 path when it was asked to (Linear.SetFloat32;
// off by default, so other users of Linear keep float64 products), Float32
// is set, the CPU has AVX-512 (the only float32 kernel) and the layer has
// at least Float32MinWeights weights: narrower layers gain little (their
// time is elsewhere) and keep exactly the float64 results. Without AVX-512
// every product is float64.

// Float32 enables float32 products on the wide layers that ask for them
// (see above). Tests and benchmarks switch it off to compare with
// float64; it must not change while a network trains.
var Float32 = true

// Float32MinWeights is the number of weights (In x Out) from which a Linear
// uses float32 products.
const Float32MinWeights = 1 << 13

// kBlock32 is the longest run of the summed index that one float32 chain
// covers before its sum is added to the float64 output (the index is cut
// into equal blocks of at most this length).
const kBlock32 = 256

// useF32 tells whether l's products run in float32.
func (l *Linear) useF32() bool {
	return l.f32 && Float32 && useAVX512 && l.In*l.Out >= Float32MinWeights
}

// SetFloat32 lets the layer run its products in float32 when it is wide
// enough and the CPU has AVX-512 (see Float32MinWeights); the default is
// float64 products. Set it before the first Forward.
func (l *Linear) SetFloat32(on bool) { l.f32 = on }

// matrix32 is a row-major float32 matrix.
type matrix32 struct {
	Data       []float32
	Rows, Cols int
}

func buffer32(buf *[]float32, rows, cols int) matrix32 {
	n := rows * cols
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return matrix32{Data: (*buf)[:n], Rows: rows, Cols: cols}
}

// toF32 writes float32(src[i]) into dst[i] (dst at least as long as src).
func toF32(dst []float32, src []float64) {
	n := 0
	if useAVX512 {
		n = len(src) &^ 7
	}
	if n > 0 {
		cvt64to32(&dst[0], &src[0], n)
	}
	for i := n; i < len(src); i++ {
		dst[i] = float32(src[i])
	}
}

// gatherT32 writes the transpose of the rows x cols matrix m into t (cols
// x rows): with AVX-512 (the float32 path's condition) in 8 x 8 register
// blocks (transpose32AVX, about ten times faster than the Go loop below,
// which does the edges and is the fallback).
func gatherT32(t matrix32, m []float32, rows, cols int) {
	r8, c8 := 0, 0
	if useAVX512 && rows >= 8 && cols >= 8 {
		r8, c8 = rows&^7, cols&^7
		transpose32AVX(&t.Data[0], &m[0], rows, cols)
	}
	if r8 == rows && c8 == cols {
		return
	}
	transpose32Go(t, m, rows, cols, r8, c8)
}

// transpose32Go writes t[c][r] = m[r][c] for every element outside the
// top-left r8 x c8 block, in the blocked order of gatherT (4 rows by 8
// columns).
func transpose32Go(t matrix32, m []float32, rows, cols, r8, c8 int) {
	const bs = 8
	n := rows
	for c0 := 0; c0 < cols; c0 += bs {
		c1 := min(c0+bs, cols)
		j := 0
		if c1 <= c8 {
			j = r8 // rows above r8 are done in these columns
		}
		for ; j+4 <= n; j += 4 {
			m0 := m[j*cols+c0 : j*cols+c1]
			m1 := m[(j+1)*cols+c0 : (j+1)*cols+c1]
			m2 := m[(j+2)*cols+c0 : (j+2)*cols+c1]
			m3 := m[(j+3)*cols+c0 : (j+3)*cols+c1]
			m1, m2, m3 = m1[:len(m0)], m2[:len(m0)], m3[:len(m0)]
			for i, v := range m0 {
				d := t.Data[(c0+i)*n+j : (c0+i)*n+j+4]
				d[0], d[1], d[2], d[3] = v, m1[i], m2[i], m3[i]
			}
		}
		for ; j < n; j++ {
			for c := c0; c < c1; c++ {
				t.Data[c*n+j] = m[j*cols+c]
			}
		}
	}
}

// product32 is c = a b (+ bias broadcast along c's rows) with float32
// operands a (c.Rows x k; or k x c.Rows, read transposed, when at) and b
// (k x c.Cols) and a float64 result.
type product32 struct {
	c    linalg.Matrix
	a, b matrix32
	at   bool
	bias []float64
	per  int // rows per tile
	nc   int // column tiles
	kb   int // summed-index block length
}

// blockCalls lets a tile's whole 8-row blocks run in one kernel call
// (fma8x48sN...) rather than one call each (tests switch it off to check
// that both give the same bits).
var blockCalls = true

// narrowTails lets the last columns of a product take the narrower
// kernels (tests switch it off to check that they give the same bits).
var narrowTails = true

// serialWork32 plays serialWorkAVX's role for the float32 kernel.
const serialWork32 = 1 << 22

// rowsPerTask32 is rowsPerTask rounded up to whole 8-row kernel blocks:
// a tile's last block is padded to 8 rows, so only the last tile of a
// product may hold a partial block (392 rows in tiles of 49 computed 7
// padding rows per 49: 12% of those products). Results do not depend on
// the tiling.
func rowsPerTask32(rows int) int {
	return 8 * max(1, min(rowBlock/8, blocks(blocks(rows, 8), 8)))
}

func (g gemm) run32(p product32) {
	k := p.b.Rows
	p.per = rowsPerTask32(p.c.Rows)
	p.nc = blocks(p.c.Cols, colBlock)
	p.kb = blocks(k, max(1, blocks(k, kBlock32)))
	tiles := blocks(p.c.Rows, p.per) * p.nc
	if p.c.Rows*p.c.Cols*k < serialWork32 || par.Threads(g.threads) == 1 {
		for t := 0; t < tiles; t++ {
			p.tile(t)
		}
		return
	}
	q := p
	par.For(g.threads, tiles, 1, func(t, _, _ int) { q.tile(t) })
}

// tile computes rows per*(t/nc) onwards and columns colBlock*(t%nc)
// onwards of c, for every block of the summed index in order.
func (p *product32) tile(t int) {
	c, a, b := p.c, p.a, p.b
	k := b.Rows
	r0, j0 := (t/p.nc)*p.per, (t%p.nc)*colBlock
	r1, j1 := min(r0+p.per, c.Rows), min(j0+colBlock, c.Cols)
	if p.bias != nil || k == 0 {
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
	astep := 1
	if p.at {
		astep = a.Cols
	}
	var ap [8]*float32
	var cp [8]*float64
	var spare [48]float64 // where rows past the tile's end are stored
	// Element (row r, summed index l) of a is at a.Data[r*rstep+l*lstep].
	rstep, lstep := a.Cols, 1
	if p.at {
		rstep, lstep = 1, a.Cols
	}
	// Column strips outermost: a strip of c (at most 64 x 48 float64)
	// stays in L1 while the blocks of the summed index add into it.
	for j := j0; j < j1; j += 48 {
		mask := 1<<min(48, j1-j) - 1
		// The last columns of a product take a narrower kernel when
		// they fit: masked-off columns cost as much as computed ones.
		// (A switch of direct calls: a function value would make ap and
		// cp escape.)
		kern := 48
		if w := j1 - j; narrowTails && w <= 16 {
			kern = 16
		} else if narrowTails && w <= 32 {
			kern = 32
		}
		for l0 := 0; l0 < k; l0 += p.kb {
			l1 := min(l0+p.kb, k)
			acc := 0
			if l0 > 0 || p.bias != nil {
				acc = 1
			}
			bp := &b.Data[l0*b.Cols+j]
			// Whole 8-row blocks in one call, then the last, padded
			// block if any.
			if nb := (r1 - r0) / 8; nb > 0 && blockCalls {
				ap0, cp0 := &a.Data[r0*rstep+l0*lstep], &c.Data[r0*c.Cols+j]
				switch kern {
				case 16:
					fma8x16sN(ap0, rstep, lstep, bp, b.Cols, l1-l0, cp0, c.Cols, nb, mask, acc)
				case 32:
					fma8x32sN(ap0, rstep, lstep, bp, b.Cols, l1-l0, cp0, c.Cols, nb, mask, acc)
				default:
					fma8x48sN(ap0, rstep, lstep, bp, b.Cols, l1-l0, cp0, c.Cols, nb, mask, acc)
				}
			}
			rs := r0
			if blockCalls {
				rs = r0 + (r1-r0)&^7
			}
			for r := rs; r < r1; r += 8 {
				if r+8 <= r1 {
					// A whole block: rows r..r+7.
					ai, ci := r*rstep+l0*lstep, r*c.Cols+j
					for i := range 8 {
						ap[i] = &a.Data[ai+i*rstep]
						cp[i] = &c.Data[ci+i*c.Cols]
					}
				} else {
					last := r1 - r - 1
					for i := range 8 {
						rr := r + min(i, last)
						ap[i] = &a.Data[rr*rstep+l0*lstep]
						if i <= last {
							cp[i] = &c.Data[rr*c.Cols+j]
						} else {
							cp[i] = &spare[0]
						}
					}
				}
				switch kern {
				case 16:
					fma8x16s(&ap, astep, bp, b.Cols, l1-l0, &cp, mask, acc)
				case 32:
					fma8x32s(&ap, astep, bp, b.Cols, l1-l0, &cp, mask, acc)
				default:
					fma8x48s(&ap, astep, bp, b.Cols, l1-l0, &cp, mask, acc)
				}
			}
		}
	}
}
