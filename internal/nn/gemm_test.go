package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

func naive(c linalg.Matrix, a, b linalg.Matrix, at, bt bool) {
	get := func(m linalg.Matrix, i, j int, tr bool) float64 {
		if tr {
			return m.At(j, i)
		}
		return m.At(i, j)
	}
	k := a.Cols
	if at {
		k = a.Rows
	}
	for i := 0; i < c.Rows; i++ {
		for j := 0; j < c.Cols; j++ {
			s := 0.0
			for l := 0; l < k; l++ {
				s += get(a, i, l, at) * get(b, l, j, bt)
			}
			c.Data[i*c.Cols+j] = s
		}
	}
}

// paths lists the kernels the products can take on this machine: the
// gonum (Gemv) path always, the AVX-512 one where the CPU has it.
func paths() []bool {
	if useAVX512 {
		return []bool{false, true}
	}
	return []bool{false}
}

// withPath runs f with the AVX-512 kernel switched on or off.
func withPath(avx bool, f func()) {
	saved := useAVX512
	useAVX512 = avx
	defer func() { useAVX512 = saved }()
	f()
}

// Both paths against a naive triple loop and against each other, on shapes
// that cover the kernel's edges: row counts that are not multiples of 8,
// column counts that are not multiples of 24 (masked loads and stores),
// summed lengths over kBlock and sumBlock, and one product (4.8M
// multiply-adds) over serialWorkAVX, so that 3 threads really split it.
func TestGemmAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {12, 16, 512}, {65, 130, 300}, {200, 31, 129}, {20, 150, 530}, {9, 257, 25}, {17, 3, 47}, {8, 24, 24}, {150, 200, 160}} {
		out, in, n := s[0], s[1], s[2]
		w, x, d := randMatrix(rng, out, in, 1), randMatrix(rng, in, n, 1), randMatrix(rng, out, n, 1)
		type prod struct {
			name string
			do   func(g gemm, c linalg.Matrix)
			c    linalg.Matrix
			ref  func(c linalg.Matrix)
		}
		prods := []prod{
			{"WX", func(g gemm, c linalg.Matrix) { g.mulWX(c, w, x, nil) }, linalg.New(out, n), func(c linalg.Matrix) { naive(c, w, x, false, false) }},
			{"WtD", func(g gemm, c linalg.Matrix) { g.mulWtD(c, w, d, new([]float64)) }, linalg.New(in, n), func(c linalg.Matrix) { naive(c, w, d, true, false) }},
			{"DXt", func(g gemm, c linalg.Matrix) { g.mulDXt(c, d, x, new([]float64)) }, linalg.New(out, in), func(c linalg.Matrix) { naive(c, d, x, false, true) }},
		}
		for _, p := range prods {
			ref := linalg.New(p.c.Rows, p.c.Cols)
			p.ref(ref)
			var got [2]linalg.Matrix
			for _, avx := range paths() {
				withPath(avx, func() {
					for i := range p.c.Data {
						p.c.Data[i] = 99 // outputs must be overwritten, not accumulated
					}
					p.do(gemm{threads: 1}, p.c)
					// Sums of up to 530 products of N(0,1) values: rounding
					// differs with summation order by a few 1e-15 times the
					// partial sums.
					for i, v := range ref.Data {
						if math.Abs(p.c.Data[i]-v) > 1e-12 {
							t.Fatalf("%v %s avx=%v elem %d = %g, want %g", s, p.name, avx, i, p.c.Data[i], v)
						}
					}
					one := p.c.Clone()
					p.do(gemm{threads: 3}, p.c)
					if !slices.Equal(one.Data, p.c.Data) {
						t.Errorf("%v %s avx=%v: 3 threads differ from 1", s, p.name, avx)
					}
					got[btoi(avx)] = one
				})
			}
			if useAVX512 {
				// The two paths sum in different orders: equal to rounding,
				// relative to the size of the sums.
				for i, v := range got[0].Data {
					if d := math.Abs(got[1].Data[i] - v); d > 1e-12*max(1, math.Abs(v)) {
						t.Errorf("%v %s elem %d: avx %g, gonum %g", s, p.name, i, got[1].Data[i], v)
					}
				}
			}
		}
	}
}

// Products of a 2-output layer (where the AVX-512 path hands w x and d x^T
// to gonum), of one letter layer (16 -> 12, batch 512) and of the widest
// 784-feature layer (784 -> 588), through the tiled kernels (gonum Gemv and,
// where available, AVX-512) and through linalg (gonum's Gemm). Run with
// -cpu 1,2.
func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{2, 64, 512}, {12, 16, 512}, {588, 784, 512}} {
		out, in, n := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		w, x, d := randMatrix(rng, out, in, 1), randMatrix(rng, in, n, 1), randMatrix(rng, out, n, 1)
		y, dx, gw := linalg.New(out, n), linalg.New(in, n), linalg.New(out, in)
		name := fmt.Sprintf("%dx%dx%d", out, in, n)
		g := gemm{threads: 0}
		var wt, xt []float64
		for _, avx := range paths() {
			path := "/gonum"
			if avx {
				path = "/avx512"
			}
			withPath(avx, func() {
				b.Run(name+path, func(b *testing.B) {
					for b.Loop() {
						g.mulWX(y, w, x, nil)
						g.mulWtD(dx, w, d, &wt)
						g.mulDXt(gw, d, x, &xt)
					}
				})
			})
		}
		b.Run(name+"/linalg", func(b *testing.B) {
			for b.Loop() {
				linalg.Mul(y, 1, w, x, 0)
				linalg.MulAtB(dx, 1, w, d, 0)
				linalg.MulABt(gw, 1, d, x, 0)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTranspose(t *testing.T) {
	for _, avx := range paths() {
		withPath(avx, func() { testTranspose(t) })
	}
}

// testTranspose covers shapes with and without whole 8 x 8 blocks (the
// AVX-512 path's) and their edges.
func testTranspose(t *testing.T) {
	for _, s := range [][2]int{{1, 1}, {3, 70}, {4, 64}, {9, 130}, {130, 7}, {8, 8}, {16, 24}, {17, 33}, {23, 9}, {64, 784}} {
		m := linalg.New(s[0], s[1])
		for i := range m.Data {
			m.Data[i] = float64(i)
		}
		tr := linalg.New(s[1], s[0])
		transpose(tr, m)
		for r := 0; r < m.Rows; r++ {
			for c := 0; c < m.Cols; c++ {
				if tr.At(c, r) != m.At(r, c) {
					t.Fatalf("%v: t[%d,%d] = %g, want %g", s, c, r, tr.At(c, r), m.At(r, c))
				}
			}
		}
		// Rows in reverse order, through ToFeatureMajor.
		rows := make([]int, m.Rows)
		for i := range rows {
			rows[i] = m.Rows - 1 - i
		}
		var buf []float64
		fm := ToFeatureMajor(&buf, m, rows)
		for j, r := range rows {
			for c := 0; c < m.Cols; c++ {
				if fm.At(c, j) != m.At(r, c) {
					t.Fatalf("%v: ToFeatureMajor[%d,%d] = %g, want %g", s, c, j, fm.At(c, j), m.At(r, c))
				}
			}
		}
		back := linalg.New(m.Rows, m.Cols)
		FromFeatureMajor(back, fm)
		for j, r := range rows {
			if !slices.Equal(back.Row(j), m.Row(r)) {
				t.Fatalf("%v: FromFeatureMajor row %d = %v, want %v", s, j, back.Row(j), m.Row(r))
			}
		}
	}
}

// The AVX-512 AdamW step is bit-identical to the scalar loop, on sizes with
// and without a tail of fewer than 8 parameters.
func TestAdamWPaths(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	var res [2][][]float64
	for _, avx := range []bool{false, true} {
		withPath(avx, func() {
			r := rand.New(rand.NewPCG(5, 6))
			var ps []*Param
			for _, n := range []int{1, 7, 8, 29, 1000} {
				p := &Param{Data: make([]float64, n), Grad: make([]float64, n)}
				for i := range p.Data {
					p.Data[i] = r.NormFloat64()
				}
				ps = append(ps, p)
			}
			o := NewAdamW(ps, 3e-3)
			for range 5 {
				for _, p := range ps {
					for i := range p.Grad {
						p.Grad[i] = r.NormFloat64() * math.Exp(4*r.NormFloat64())
					}
				}
				o.Step()
			}
			for _, p := range ps {
				res[btoi(avx)] = append(res[btoi(avx)], p.Data)
			}
		})
	}
	for k := range res[0] {
		if !slices.Equal(res[0][k], res[1][k]) {
			t.Errorf("param %d: AVX-512 AdamW differs from the scalar loop", k)
		}
	}
}
