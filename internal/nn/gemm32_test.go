package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

func to32(m linalg.Matrix) matrix32 {
	t := matrix32{Data: make([]float32, len(m.Data)), Rows: m.Rows, Cols: m.Cols}
	for i, v := range m.Data {
		t.Data[i] = float32(v)
	}
	return t
}

func from32(m matrix32) linalg.Matrix {
	t := linalg.New(m.Rows, m.Cols)
	for i, v := range m.Data {
		t.Data[i] = float64(v)
	}
	return t
}

// The float32 kernel against a float64 triple loop over the same (rounded)
// operands, on shapes covering its edges: rows not multiples of 8, columns
// not multiples of 48 (masked loads and stores) and over colBlock, summed
// lengths over kBlock32 (several float64-accumulated blocks), with and
// without bias, a read as is or transposed, and one product over serialWork32 so that 3 threads split
// it. The only difference from the float64 loop is float32 rounding of the
// partial sums: at most k * 2^-24 * sum_l |a_l b_l| per element (each of
// the k additions rounds once by at most half an ulp of the running sum,
// which is below sum |a b|).
func TestGemm32AgainstNaive(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: the float32 kernel is not used")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 48, 48}, {9, 47, 49}, {17, 300, 97}, {65, 130, 530}, {200, 600, 129}, {12, 16, 512},
		{11, 20, 16}, {10, 33, 17}, {9, 70, 32}, {16, 9, 64}, {8, 5, 80}, {13, 257, 31}, {7, 300, 392}, {24, 40, 100}, {64, 33, 50}} {
		rows, k, cols := s[0], s[1], s[2]
		a, b := to32(randMatrix(rng, rows, k, 1)), to32(randMatrix(rng, k, cols, 1))
		bias := randMatrix(rng, 1, rows, 1).Data
		for _, withBias := range []bool{false, true} {
			af, bf := from32(a), from32(b)
			ref, mag := linalg.New(rows, cols), linalg.New(rows, cols)
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					s, m := 0.0, 0.0
					for l := 0; l < k; l++ {
						p := af.At(i, l) * bf.At(l, j)
						s += p
						m += math.Abs(p)
					}
					if withBias {
						s += bias[i]
					}
					ref.Data[i*cols+j], mag.Data[i*cols+j] = s, m
				}
			}
			// a as is, and a stored transposed (k x rows) and read
			// with at: the same products in the same order.
			at := matrix32{Data: make([]float32, len(a.Data)), Rows: k, Cols: rows}
			for i := 0; i < rows; i++ {
				for l := 0; l < k; l++ {
					at.Data[l*rows+i] = a.Data[i*k+l]
				}
			}
			var got [3]linalg.Matrix
			for ti, threads := range []int{1, 3, 2} {
				p := product32{a: a, b: b}
				if ti == 2 {
					p = product32{a: at, at: true, b: b}
				}
				if withBias {
					p.bias = bias
				}
				c := linalg.New(rows, cols)
				for i := range c.Data {
					c.Data[i] = 99 // must be overwritten
				}
				p.c = c
				gemm{threads: threads}.run32(p)
				got[ti] = c
			}
			// The narrow tail kernels give the bits of fma8x48s, and
			// one call per 8-row block the bits of one call per tile.
			narrowTails, blockCalls = false, false
			wide := linalg.New(rows, cols)
			p48 := product32{a: a, b: b, c: wide}
			if withBias {
				p48.bias = bias
			}
			gemm{threads: 1}.run32(p48)
			narrowTails, blockCalls = true, true
			if !slices.Equal(got[0].Data, wide.Data) {
				t.Errorf("%v bias=%v: narrow tail or block kernels differ from fma8x48s", s, withBias)
			}
			if !slices.Equal(got[0].Data, got[1].Data) {
				t.Errorf("%v bias=%v: 3 threads differ from 1", s, withBias)
			}
			if !slices.Equal(got[0].Data, got[2].Data) {
				t.Errorf("%v bias=%v: a read transposed differs", s, withBias)
			}
			for i, v := range ref.Data {
				tol := float64(k)*0x1p-24*mag.Data[i] + 1e-12*math.Abs(v)
				if d := math.Abs(got[0].Data[i] - v); d > tol {
					t.Fatalf("%v bias=%v elem %d = %g, want %g (tol %g)", s, withBias, i, got[0].Data[i], v, tol)
				}
			}
		}
	}
}

// A wide Linear's forward output and all three gradients with float32
// products against the float64 products: relative to the largest value,
// within a few float32 ulps (1e-6), and not identical (the path is used).
func TestLinearFloat32(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: the float32 kernel is not used")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	in, out, n := 200, 100, 300
	l := NewLinear(in, out, rng)
	if l.useF32() {
		t.Fatal("float32 products without SetFloat32")
	}
	l.SetFloat32(true)
	if !l.useF32() {
		t.Fatalf("a %dx%d layer should use float32 products", in, out)
	}
	x, dy := randMatrix(rng, in, n, 1), randMatrix(rng, out, n, 1)
	run := func(f32 bool) [4][]float64 {
		saved := Float32
		Float32 = f32
		defer func() { Float32 = saved }()
		y := slices.Clone(l.Forward(x, true).Data)
		dx := slices.Clone(l.Backward(dy).Data)
		return [4][]float64{y, dx, slices.Clone(l.gW), slices.Clone(l.gB)}
	}
	f64, f32 := run(false), run(true)
	for i, name := range []string{"y", "dx", "gW", "gB"} {
		scale := 0.0
		for _, v := range f64[i] {
			scale = max(scale, math.Abs(v))
		}
		maxd := 0.0
		for j, v := range f64[i] {
			maxd = max(maxd, math.Abs(f32[i][j]-v))
		}
		if maxd > 1e-6*scale {
			t.Errorf("%s: float32 products differ by %g (scale %g)", name, maxd, scale)
		}
		if name != "gB" && maxd == 0 {
			t.Errorf("%s: float32 path gave exactly the float64 result", name)
		}
	}
}

func TestToF32(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 64, 100} {
		src := make([]float64, n)
		for i := range src {
			src[i] = math.Pi * float64(i-50) * 1e-3 * math.Pow(10, float64(i%7))
		}
		dst := make([]float32, n)
		toF32(dst, src)
		for i, v := range src {
			if dst[i] != float32(v) {
				t.Fatalf("n=%d: dst[%d] = %g, want %g", n, i, dst[i], float32(v))
			}
		}
	}
}

// Float32 against float64 products of the widest 784-feature layer and of
// mid-sized ones, one forward and backward (3 products) per op; the
// GFLOP/s metric counts 2 flops per multiply-add. Run with -cpu 1.
func BenchmarkLinear32(b *testing.B) {
	for _, s := range [][3]int{{588, 784, 512}, {392, 588, 512}, {32, 392, 512}, {392, 32, 512}, {128, 96, 512}, {48, 64, 512}} {
		out, in, n := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		l := NewLinear(in, out, rng)
		l.SetFloat32(true)
		x, dy := randMatrix(rng, in, n, 1), randMatrix(rng, out, n, 1)
		for _, f32 := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dx%d/f64", out, in, n)
			if f32 {
				name = fmt.Sprintf("%dx%dx%d/f32", out, in, n)
			}
			b.Run(name, func(b *testing.B) {
				saved := Float32
				Float32 = f32
				defer func() { Float32 = saved }()
				if f32 && !l.useF32() {
					b.Skip("layer below Float32MinWeights or no AVX-512")
				}
				for b.Loop() {
					l.Forward(x, true)
					l.Backward(dy)
				}
				b.ReportMetric(6*float64(out*in*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
