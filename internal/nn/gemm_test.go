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

func TestGemmAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {12, 16, 512}, {65, 130, 300}, {200, 31, 129}, {20, 150, 530}} {
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
			{"DXt", func(g gemm, c linalg.Matrix) { g.mulDXt(c, d, x) }, linalg.New(out, in), func(c linalg.Matrix) { naive(c, d, x, false, true) }},
		}
		for _, p := range prods {
			ref := linalg.New(p.c.Rows, p.c.Cols)
			p.ref(ref)
			for i := range p.c.Data {
				p.c.Data[i] = 99 // outputs must be overwritten, not accumulated
			}
			p.do(gemm{threads: 1}, p.c)
			// Sums of up to 512 products of N(0,1) values: rounding differs
			// with summation order by a few 1e-15 times the partial sums.
			for i, v := range ref.Data {
				if math.Abs(p.c.Data[i]-v) > 1e-12 {
					t.Fatalf("%v %s elem %d = %g, want %g", s, p.name, i, p.c.Data[i], v)
				}
			}
			one := p.c.Clone()
			p.do(gemm{threads: 3}, p.c)
			if !slices.Equal(one.Data, p.c.Data) {
				t.Errorf("%v %s: 3 threads differ from 1", s, p.name)
			}
		}
	}
}

// Products of one letter layer (16 -> 12, batch 512) and of the widest
// 784-feature layer (784 -> 588), through the tiled kernels and through
// linalg (gonum's Gemm). Run with -cpu 1,2.
func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{12, 16, 512}, {588, 784, 512}} {
		out, in, n := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		w, x, d := randMatrix(rng, out, in, 1), randMatrix(rng, in, n, 1), randMatrix(rng, out, n, 1)
		y, dx, gw := linalg.New(out, n), linalg.New(in, n), linalg.New(out, in)
		name := fmt.Sprintf("%dx%dx%d", out, in, n)
		g := gemm{threads: 0}
		var wt []float64
		b.Run(name+"/tiled", func(b *testing.B) {
			for b.Loop() {
				g.mulWX(y, w, x, nil)
				g.mulWtD(dx, w, d, &wt)
				g.mulDXt(gw, d, x)
			}
		})
		b.Run(name+"/linalg", func(b *testing.B) {
			for b.Loop() {
				linalg.Mul(y, 1, w, x, 0)
				linalg.MulAtB(dx, 1, w, d, 0)
				linalg.MulABt(gw, 1, d, x, 0)
			}
		})
	}
}
