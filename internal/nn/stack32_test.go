package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// withGo runs f with the assembly row passes switched off (the Go
// versions), restoring the setting after.
func withGo(f func()) {
	saved := useAVX512
	useAVX512 = false
	defer func() { useAVX512 = saved }()
	f()
}

// The assembly row passes of Stack32 against their Go versions: the same
// values bit for bit (same operations in the same order), on rows with
// whole 32-blocks, 8-blocks and every tail length, with negative, zero and
// positive inputs and random dropout masks (scale != 1 and no dropout).
// The Go versions are checked against plain formulas below.
func TestStackRowPassesAsm(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: the Go versions are the only ones")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 7, 8, 9, 15, 31, 32, 33, 40, 63, 64, 65, 100, 344, 512} {
		for _, scale := range []float64{1 / (1 - 0.3), 1} {
			y := make([]float64, n)
			dout := make([]float64, n)
			mask := make([]uint8, n+8)
			for j := range y {
				y[j] = rng.NormFloat64() + 0.2
				if j%5 == 3 {
					y[j] = 0
				}
				if j%11 == 4 {
					y[j] = math.Copysign(0, -1)
				}
				dout[j] = rng.NormFloat64()
				mask[j] = 1
				if scale != 1 && rng.Float64() < 0.3 {
					mask[j] = 0
				}
			}
			for j := n; j < n+8; j++ {
				mask[j] = uint8(rng.IntN(2)) // spare bytes must not matter
			}
			inv := 1 / float64(n)
			m1, s1 := bnStats(y, inv)
			var m0, s0 float64
			withGo(func() { m0, s0 = bnStats(y, inv) })
			if m1 != m0 || s1 != s0 {
				t.Fatalf("n=%d bnStats asm (%v, %v) Go (%v, %v)", n, m1, s1, m0, s0)
			}
			is := 1 / math.Sqrt(s0*inv+BatchNormEps)
			cf := [5]float64{m0, is, 1.3, -0.4, scale}
			o1, o0 := make([]float32, n+1), make([]float32, n+1)
			o1[n], o0[n] = 42, 42
			bnDropFwd32(o1[:n], y, mask, &cf)
			withGo(func() { bnDropFwd32(o0[:n], y, mask, &cf) })
			if !slices.Equal(o1, o0) {
				t.Fatalf("n=%d scale=%g bnDropFwd32 asm %v Go %v", n, scale, o1, o0)
			}
			cs := [3]float64{m0, is, scale}
			g1, x1 := bnDropSums(dout, y, mask, &cs)
			var g0, x0 float64
			withGo(func() { g0, x0 = bnDropSums(dout, y, mask, &cs) })
			if g1 != g0 || x1 != x0 {
				t.Fatalf("n=%d bnDropSums asm (%v, %v) Go (%v, %v)", n, g1, x1, g0, x0)
			}
			cb := [6]float64{m0, is, scale, g0 * inv, x0 * inv, 1.3 * is}
			d1, d0 := make([]float32, n+1), make([]float32, n+1)
			d1[n], d0[n] = 42, 42
			b1 := bnDropBwd32(d1[:n], dout, y, mask, &cb)
			var b0 float64
			withGo(func() { b0 = bnDropBwd32(d0[:n], dout, y, mask, &cb) })
			if !slices.Equal(d1, d0) || b1 != b0 {
				t.Fatalf("n=%d bnDropBwd32 asm %v (sum %v) Go %v (sum %v)", n, d1, b1, d0, b0)
			}
		}
	}
}

// The Go row passes against the plain formulas, summed in order (the
// lane order only changes the last bits).
func TestStackRowPassesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 5, 33, 100} {
		y, dout, mask := make([]float64, n), make([]float64, n), make([]uint8, n+8)
		for j := range y {
			y[j], dout[j] = rng.NormFloat64(), rng.NormFloat64()
			mask[j] = uint8(rng.IntN(2))
		}
		const scale = 1.25
		var mean, ss, sg, sgx, sb float64
		for _, v := range y {
			mean += max(v, 0)
		}
		mean /= float64(n)
		for _, v := range y {
			ss += (max(v, 0) - mean) * (max(v, 0) - mean)
		}
		is := 1 / math.Sqrt(ss/float64(n)+BatchNormEps)
		want32 := make([]float32, n)
		for j, v := range y {
			k := scale * float64(mask[j])
			want32[j] = float32((1.5*(max(v, 0)-mean)*is - 0.5) * k)
			g := dout[j] * k
			sg += g
			sgx += g * (max(v, 0) - mean) * is
		}
		grad := make([]float64, n)
		for j, v := range y {
			if v > 0 {
				g := dout[j] * scale * float64(mask[j])
				grad[j] = 1.5 * is * (g - sg/float64(n) - (v-mean)*is*sgx/float64(n))
				sb += grad[j]
			}
		}
		withGo(func() {
			m, s := bnStats(y, 1/float64(n))
			near(t, "mean", m, mean, 1e-14)
			near(t, "ss", s, ss, 1e-13*ss)
			out := make([]float32, n)
			bnDropFwd32(out, y, mask, &[5]float64{mean, is, 1.5, -0.5, scale})
			for j := range out {
				near(t, "forward", float64(out[j]), float64(want32[j]), 1e-6*max(1, math.Abs(float64(want32[j]))))
			}
			g, x := bnDropSums(dout, y, mask, &[3]float64{mean, is, scale})
			near(t, "sum g", g, sg, 1e-12)
			near(t, "sum g*xhat", x, sgx, 1e-12)
			d32 := make([]float32, n)
			b := bnDropBwd32(d32, dout, y, mask, &[6]float64{mean, is, scale, sg / float64(n), sgx / float64(n), 1.5 * is})
			near(t, "bias grad", b, sb, 1e-12)
			for j := range d32 {
				near(t, "backward", float64(d32[j]), grad[j], 1e-6*max(1, math.Abs(grad[j])))
			}
		})
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Fatalf("%s = %.17g, want %.17g (tol %g)", what, got, want, tol)
	}
}

// dropMask draws what Dropout.Forward draws from the same generator.
func TestDropMaskMatchesDropout(t *testing.T) {
	for _, n := range []int{1, 2, 7, 64} {
		const p = 0.3
		d := &Dropout{P: p, Rng: rand.New(rand.NewPCG(5, 6))}
		x := linalg.New(1, n)
		for j := range x.Data {
			x.Data[j] = 1
		}
		y := d.Forward(x, true)
		mask := make([]uint8, n)
		dropMask(mask, rand.New(rand.NewPCG(5, 6)).Uint64, p)
		for j, m := range mask {
			if (m == 1) != (y.Data[j] != 0) {
				t.Fatalf("n=%d: mask[%d] = %d, Dropout output %g", n, j, m, y.Data[j])
			}
		}
	}
}

// stackNet builds Linear ReLU BN Dropout blocks over sizes, the same
// parameters for a Stack32 and a Sequential (each with its own dropout
// generator, seeded alike), and sets the BatchNorms' gamma, beta and
// running statistics to non-default values.
func stackNet(sizes []int, p float64, f32 bool, skip bool) (*Stack32, Sequential) {
	rng := rand.New(rand.NewPCG(21, 22))
	var lin, lin2 []*Linear
	var bns []*BatchNorm
	var drops []*Dropout
	var seq Sequential
	for i := 0; i+1 < len(sizes); i++ {
		l := NewLinear(sizes[i], sizes[i+1], rng)
		l2 := &Linear{In: l.In, Out: l.Out, W: l.W, B: l.B, Threads: 1}
		l2.SetFloat32(f32)
		l.Threads = 1
		lin, lin2 = append(lin, l), append(lin2, l2)
		seq = append(seq, l2)
		if i+2 < len(sizes) {
			b := NewBatchNorm(sizes[i+1])
			for f := range b.Gamma {
				b.Gamma[f] = 1 + 0.3*rng.NormFloat64()
				b.Beta[f] = 0.2 * rng.NormFloat64()
				b.RunMean[f] = 0.1 * rng.NormFloat64()
				b.RunVar[f] = 1 + 0.5*rng.Float64()
			}
			b2 := &BatchNorm{N: b.N, Gamma: b.Gamma, Beta: b.Beta, RunMean: slices.Clone(b.RunMean), RunVar: slices.Clone(b.RunVar)}
			bns = append(bns, b)
			var d, d2 *Dropout
			if p > 0 {
				d = &Dropout{P: p, Rng: rand.New(rand.NewPCG(31, 32))}
				d2 = &Dropout{P: p, Rng: rand.New(rand.NewPCG(31, 32))}
			}
			drops = append(drops, d)
			seq = append(seq, &ReLU{}, b2)
			if d2 != nil {
				seq = append(seq, d2)
			}
		}
	}
	lin[0].SkipInputGrad, lin2[0].SkipInputGrad = skip, skip
	return NewStack32(lin, bns, drops), seq
}

// Stack32 against the same layers as a Sequential: forward output, input
// gradient, every parameter gradient and the running statistics, in
// training (two steps, so that the second uses updated statistics and a
// fresh mask) and in evaluation. Against float64 products on small odd
// shapes (tails everywhere; within float32 rounding of the operands), and
// against a Sequential with float32 products on layers wide enough to take
// them (the same roundings: within 1e-7 of the largest value).
func TestStack32MatchesSequential(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: Stack32 needs the float32 kernel")
	}
	cases := []struct {
		sizes []int
		n     int
		p     float64
		f32   bool
		skip  bool
		tol   float64
	}{
		{[]int{13, 11, 7, 3}, 45, 0.3, false, false, 2e-5},
		{[]int{5, 9, 2}, 3, 0, false, true, 2e-5},
		{[]int{6, 4}, 10, 0, false, false, 2e-5},
		{[]int{200, 150, 100, 90}, 130, 0.2, true, true, 1e-7},
		{[]int{90, 100, 150, 200}, 77, 0.1, true, false, 1e-7},
	}
	saved := dropHashMasks
	dropHashMasks = false // Dropout's masks, to compare value for value
	defer func() { dropHashMasks = saved }()
	for _, c := range cases {
		t.Run(fmt.Sprint(c.sizes, c.n, c.p), func(t *testing.T) {
			st, seq := stackNet(c.sizes, c.p, c.f32, c.skip)
			if c.f32 {
				for _, l := range seq {
					if l, ok := l.(*Linear); ok && !l.useF32() {
						t.Fatalf("%dx%d layer does not take float32 products", l.Out, l.In)
					}
				}
			}
			rng := rand.New(rand.NewPCG(41, 42))
			check := func(what string, got, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
				}
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(v))
				}
				for i, v := range want {
					if d := math.Abs(got[i] - v); d > c.tol*scale || math.IsNaN(got[i]) {
						t.Fatalf("%s[%d] = %g, want %g (scale %g)", what, i, got[i], v, scale)
					}
				}
			}
			for step := 0; step < 2; step++ {
				x := randMatrix(rng, c.sizes[0], c.n, 1)
				dy := randMatrix(rng, c.sizes[len(c.sizes)-1], c.n, 1)
				y1 := slices.Clone(st.Forward(x, true).Data)
				y0 := slices.Clone(seq.Forward(x, true).Data)
				check("output", y1, y0)
				dx1, dx0 := st.Backward(dy), seq.Backward(dy)
				if c.skip != (len(dx1.Data) == 0) {
					t.Fatalf("skip=%v: input gradient of %d values", c.skip, len(dx1.Data))
				}
				check("input gradient", dx1.Data, dx0.Data[:len(dx1.Data)])
				p1, p0 := st.Params(), seq.Params()
				if len(p1) != len(p0) {
					t.Fatalf("%d params, want %d", len(p1), len(p0))
				}
				for k := range p1 {
					check(fmt.Sprintf("step %d param %d gradient", step, k), p1[k].Grad, p0[k].Grad)
				}
				var bn0 []*BatchNorm
				for _, l := range seq {
					if b, ok := l.(*BatchNorm); ok {
						bn0 = append(bn0, b)
					}
				}
				for k, b := range st.BN {
					b0 := bn0[k]
					check("running mean", b.RunMean, b0.RunMean)
					check("running variance", b.RunVar, b0.RunVar)
				}
			}
			x := randMatrix(rng, c.sizes[0], c.n, 1)
			check("evaluation output", slices.Clone(st.Forward(x, false).Data), seq.Forward(x, false).Data)
		})
	}
}

// Stack32 gives the same bits at 1 and 3 threads on a layer big enough to
// split its products, drops about P of the values, and a training step
// allocates nothing after the first; with Dropout's masks and with the
// hash masks.
func TestStack32ThreadsAndAllocs(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: Stack32 needs the float32 kernel")
	}
	saved := dropHashMasks
	defer func() { dropHashMasks = saved }()
	for _, hash := range []bool{false, true} {
		dropHashMasks = hash
		var outs [2][]float64
		for ti, threads := range []int{1, 3} {
			st, _ := stackNet([]int{300, 260, 200}, 0.1, true, false)
			for _, l := range st.Lin {
				l.Threads = threads
			}
			rng := rand.New(rand.NewPCG(1, 1))
			x, dy := randMatrix(rng, 300, 200, 1), randMatrix(rng, 200, 200, 1)
			step := func() {
				st.Forward(x, true)
				st.Backward(dy)
			}
			step()
			// About 10% of block 0's outputs dropped (zeros).
			zeros := 0
			for _, v := range st.ls[1].x32 {
				if v == 0 {
					zeros++
				}
			}
			if f := float64(zeros) / float64(len(st.ls[1].x32)); math.Abs(f-0.1) > 0.01 {
				t.Errorf("hash=%v: %.3f of the first block's outputs dropped, want about 0.1", hash, f)
			}
			for _, p := range st.Params() {
				outs[ti] = append(outs[ti], p.Grad...)
			}
			if threads == 1 && !raceEnabled {
				if a := testing.AllocsPerRun(5, step); a != 0 {
					t.Errorf("hash=%v: %g allocations per step, want 0", hash, a)
				}
			}
		}
		if !slices.Equal(outs[0], outs[1]) {
			t.Fatalf("hash=%v: gradients differ between 1 and 3 threads", hash)
		}
	}
}

// gatherT32 (8 x 8 assembly blocks and Go edges) against the definition,
// on shapes with and without whole blocks, and the Go version alone.
func TestGatherT32(t *testing.T) {
	for _, goOnly := range []bool{false, true} {
		for _, s := range [][2]int{{1, 1}, {3, 5}, {8, 8}, {9, 8}, {8, 9}, {16, 24}, {17, 31}, {5, 40}, {40, 5}, {64, 512}, {784, 37}} {
			rows, cols := s[0], s[1]
			m := make([]float32, rows*cols)
			for i := range m {
				m[i] = float32(i) + 0.5
			}
			tr := matrix32{Data: make([]float32, rows*cols+1), Rows: cols, Cols: rows}
			tr.Data[rows*cols] = -7
			run := func() { gatherT32(tr, m, rows, cols) }
			if goOnly {
				withGo(run)
			} else {
				run()
			}
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					if got := tr.Data[c*rows+r]; got != m[r*cols+c] {
						t.Fatalf("go=%v %dx%d: t[%d][%d] = %g, want %g", goOnly, rows, cols, c, r, got, m[r*cols+c])
					}
				}
			}
			if tr.Data[rows*cols] != -7 {
				t.Fatalf("%dx%d: wrote past the end", rows, cols)
			}
		}
	}
}

// dropHash: the assembly against the Go loop on every length around the
// 16-value blocks, the Go loop against hash64 by definition (splitmix64's
// published first output for seed 0, 0xe220a8397b1dcdaf), the drop rate
// against p (1,000,000 values: within 5 standard deviations), the two
// halves of each hash used, and different keys giving different masks.
func TestDropHash(t *testing.T) {
	if h := hash64(0, 0); h != 0xe220a8397b1dcdaf {
		t.Fatalf("hash64(0, 0) = %#x, want splitmix64's first output 0xe220a8397b1dcdaf", h)
	}
	for _, n := range []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 1000} {
		for _, p := range []float64{0.1, 0.5, 0.9} {
			a, g := make([]uint8, n), make([]uint8, n)
			dropHash(a, 12345, p)
			withGo(func() { dropHash(g, 12345, p) })
			if !slices.Equal(a, g) {
				t.Fatalf("n=%d p=%g: assembly %v, Go %v", n, p, a, g)
			}
			thr := uint64(math.Round(p * (1 << 32)))
			for i, m := range g {
				h := hash64(12345, uint64(i/2))
				u := [2]uint64{h & 0xffffffff, h >> 32}[i&1]
				if (m == 1) != (u >= thr) || m > 1 {
					t.Fatalf("n=%d p=%g: mask[%d] = %d for uniform %d, threshold %d", n, p, i, m, u, thr)
				}
			}
		}
	}
	const n = 1000000
	for _, p := range []float64{0.0808, 0.5} {
		m := make([]uint8, n)
		dropHash(m, 7, p)
		dropped, pairs := 0, [4]int{}
		for i, v := range m {
			dropped += 1 - int(v)
			if i&1 == 1 {
				pairs[2*int(m[i-1])+int(v)]++
			}
		}
		sd := math.Sqrt(n * p * (1 - p))
		if d := math.Abs(float64(dropped) - n*p); d > 5*sd {
			t.Errorf("p=%g: %d of %d dropped, want %g +- %g", p, dropped, n, n*p, 5*sd)
		}
		// Both halves of a hash vary independently: each of the four
		// (drop, keep) combinations of a pair near its expected count.
		for c, got := range pairs {
			q := [2]float64{p, 1 - p}
			e := n / 2 * q[c>>1] * q[c&1]
			if math.Abs(float64(got)-e) > 5*math.Sqrt(e) {
				t.Errorf("p=%g: pair pattern %02b seen %d times, want about %g", p, c, got, e)
			}
		}
	}
	a, b := make([]uint8, 64), make([]uint8, 64)
	dropHash(a, 1, 0.5)
	dropHash(b, 2, 0.5)
	if slices.Equal(a, b) {
		t.Error("keys 1 and 2 gave the same mask")
	}
	if dropHash(a, 3, 1-0x1p-34); slices.Contains(a, 1) {
		t.Error("p just below 1: a value kept")
	}
}

// AdamW keeps Data32 equal to float32(Data) on both paths (lengths with
// and without an 8-value tail), and the updates are the same bits with and
// without Data32.
func TestAdamWData32(t *testing.T) {
	for _, avx := range paths() {
		withPath(avx, func() {
			for _, n := range []int{1, 8, 13, 64} {
				rng := rand.New(rand.NewPCG(uint64(n), 9))
				a := &Param{Data: make([]float64, n), Grad: make([]float64, n), Data32: make([]float32, n)}
				b := &Param{Data: make([]float64, n), Grad: make([]float64, n)}
				for i := range a.Data {
					a.Data[i] = rng.NormFloat64()
					b.Data[i] = a.Data[i]
				}
				oa, ob := NewAdamW([]*Param{a}, 0.01), NewAdamW([]*Param{b}, 0.01)
				for step := 0; step < 3; step++ {
					for i := range a.Grad {
						a.Grad[i] = rng.NormFloat64()
						b.Grad[i] = a.Grad[i]
					}
					oa.Step()
					ob.Step()
					if !slices.Equal(a.Data, b.Data) {
						t.Fatalf("avx=%v n=%d: Data32 changed the update", avx, n)
					}
					for i, v := range a.Data {
						if a.Data32[i] != float32(v) {
							t.Fatalf("avx=%v n=%d step %d: Data32[%d] = %g, want %g", avx, n, step, i, a.Data32[i], float32(v))
						}
					}
				}
			}
		})
	}
}

// Stack32 reads the weights AdamW updated through Data32 (its outputs
// after a step equal a fresh stack's on the same weights), and converts
// again when Data32 is cleared after a change by other code.
func TestStack32WeightsFollowUpdates(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512: Stack32 needs the float32 kernel")
	}
	st, _ := stackNet([]int{30, 20, 10}, 0, false, false)
	rng := rand.New(rand.NewPCG(3, 3))
	x, dy := randMatrix(rng, 30, 17, 1), randMatrix(rng, 10, 17, 1)
	opt := NewAdamW(st.Params(), 0.05)
	st.Forward(x, true)
	st.Backward(dy)
	opt.Step()
	fresh := func() []float64 {
		lin := make([]*Linear, len(st.Lin))
		for i, l := range st.Lin {
			lin[i] = &Linear{In: l.In, Out: l.Out, W: l.W, B: l.B, Threads: 1}
		}
		bn := make([]*BatchNorm, len(st.BN))
		for i, b := range st.BN {
			bn[i] = &BatchNorm{N: b.N, Gamma: b.Gamma, Beta: b.Beta, RunMean: slices.Clone(b.RunMean), RunVar: slices.Clone(b.RunVar)}
		}
		return slices.Clone(NewStack32(lin, bn, make([]*Dropout, len(bn))).Forward(x, false).Data)
	}
	if got, want := st.Forward(x, false).Data, fresh(); !slices.Equal(got, want) {
		t.Fatal("after an AdamW step the stack's output differs from a fresh stack's")
	}
	st.Lin[1].W[3] += 0.5
	st.Lin[1].Params()[0].Data32 = nil
	if got, want := st.Forward(x, false).Data, fresh(); !slices.Equal(got, want) {
		t.Fatal("after a change with Data32 cleared the stack's output differs from a fresh stack's")
	}
}
