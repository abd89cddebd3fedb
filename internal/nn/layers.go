package nn

import (
	"math"
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/linalg"
)

// ReLU is max(x, 0) elementwise.
type ReLU struct {
	y, dx []float64
	out   linalg.Matrix
}

// Forward applies max(x, 0).
func (r *ReLU) Forward(x linalg.Matrix, _ bool) linalg.Matrix {
	y := buffer(&r.y, x.Rows, x.Cols)
	yd := y.Data[:len(x.Data)]
	for i, v := range x.Data {
		yd[i] = max(v, 0)
	}
	r.out = y
	return y
}

// Backward passes dy where the output was positive.
func (r *ReLU) Backward(dy linalg.Matrix) linalg.Matrix {
	dx := buffer(&r.dx, dy.Rows, dy.Cols)
	y := r.out.Data[:len(dy.Data)]
	dxd := dx.Data[:len(dy.Data)]
	// Branch-free: the sign pattern is random, so a branch mispredicts
	// often (Go does not turn float conditionals into conditional moves).
	// y >= 0, so y > 0 exactly when its bit pattern b is nonzero, i.e. when
	// the top bit of b | -b is set.
	for i, g := range dy.Data {
		b := math.Float64bits(y[i])
		keep := uint64(int64(b|-b) >> 63)
		dxd[i] = math.Float64frombits(math.Float64bits(g) & keep)
	}
	return dx
}

// Params returns nil: ReLU has no parameters.
func (r *ReLU) Params() []*Param { return nil }

// BatchNormEps and BatchNormMomentum are PyTorch's BatchNorm1d defaults.
const (
	BatchNormEps      = 1e-5
	BatchNormMomentum = 0.1
)

// BatchNorm is PyTorch's BatchNorm1d over a feature-major batch. In training
// it normalizes each feature with the batch mean and biased variance and
// updates the running statistics with momentum 0.1 using the unbiased batch
// variance; in evaluation it uses the running statistics. The exported
// fields are the whole trained state.
type BatchNorm struct {
	N               int
	Gamma, Beta     []float64
	RunMean, RunVar []float64

	xhat, invStd, y, dx []float64
	gGamma, gBeta       []float64
	pGamma, pBeta       Param
	paramsMade          bool
	train               bool
}

// NewBatchNorm returns a layer over n features with gamma = 1, beta = 0,
// running mean 0 and running variance 1, as PyTorch initializes it.
func NewBatchNorm(n int) *BatchNorm {
	b := &BatchNorm{N: n, Gamma: make([]float64, n), Beta: make([]float64, n),
		RunMean: make([]float64, n), RunVar: make([]float64, n)}
	for i := 0; i < n; i++ {
		b.Gamma[i] = 1
		b.RunVar[i] = 1
	}
	return b
}

// Forward normalizes each feature (row). Training needs at least 2 samples
// (the unbiased variance is undefined for one; PyTorch raises too).
func (b *BatchNorm) Forward(x linalg.Matrix, train bool) linalg.Matrix {
	if x.Rows != b.N {
		panic("nn: BatchNorm input has the wrong number of features")
	}
	n := x.Cols
	y := buffer(&b.y, b.N, n)
	b.train = train
	if !train {
		for f := 0; f < b.N; f++ {
			s := b.Gamma[f] / math.Sqrt(b.RunVar[f]+BatchNormEps)
			t := b.Beta[f] - b.RunMean[f]*s
			xr := x.Data[f*n : (f+1)*n]
			yr := y.Data[f*n : (f+1)*n]
			for j, v := range xr {
				yr[j] = v*s + t
			}
		}
		return y
	}
	if n < 2 {
		panic("nn: BatchNorm in training needs at least 2 samples")
	}
	xhat := buffer(&b.xhat, b.N, n)
	if cap(b.invStd) < b.N {
		b.invStd = make([]float64, b.N)
	}
	inv := 1 / float64(n)
	wide := b.N >= bnWide
	for f := 0; f < b.N; f++ {
		xr := x.Data[f*n : (f+1)*n]
		xh := xhat.Data[f*n : (f+1)*n]
		xh = xh[:len(xr)]
		var mean, ss float64
		if wide {
			mean = sum4(xr) * inv
			ss = centre4(xh, xr, mean)
		} else {
			s := 0.0
			for _, v := range xr {
				s += v
			}
			mean = s * inv
			for j, v := range xr {
				d := v - mean
				xh[j] = d
				ss += d * d
			}
		}
		variance := ss * inv
		is := 1 / math.Sqrt(variance+BatchNormEps)
		b.invStd[f] = is
		g, be := b.Gamma[f], b.Beta[f]
		yr := y.Data[f*n : (f+1)*n]
		yr = yr[:len(xh)]
		for j, d := range xh {
			h := d * is
			xh[j] = h
			yr[j] = g*h + be
		}
		m := BatchNormMomentum
		b.RunMean[f] = (1-m)*b.RunMean[f] + m*mean
		b.RunVar[f] = (1-m)*b.RunVar[f] + m*ss/float64(n-1)
	}
	return y
}

// Backward returns dL/dx for the training-mode transform, storing dL/dgamma
// and dL/dbeta. (After an evaluation-mode Forward the transform is affine
// per feature and its gradient is returned instead.)
func (b *BatchNorm) Backward(dy linalg.Matrix) linalg.Matrix {
	b.makeParams()
	n := dy.Cols
	dx := buffer(&b.dx, b.N, n)
	for f := 0; f < b.N; f++ {
		dr := dy.Data[f*n : (f+1)*n]
		dxr := dx.Data[f*n : (f+1)*n]
		dxr = dxr[:len(dr)]
		if !b.train {
			s := b.Gamma[f] / math.Sqrt(b.RunVar[f]+BatchNormEps)
			for j, g := range dr {
				dxr[j] = g * s
			}
			continue
		}
		xh := b.xhat[f*n : (f+1)*n]
		xh = xh[:len(dr)]
		var sg, sgx float64
		if b.N >= bnWide {
			sg, sgx = dot4(dr, xh)
		} else {
			for j, g := range dr {
				sg += g
				sgx += g * xh[j]
			}
		}
		b.gBeta[f] = sg
		b.gGamma[f] = sgx
		// dx = gamma*invstd/n * (n*dy - sum(dy) - xhat*sum(dy*xhat))
		c := b.Gamma[f] * b.invStd[f]
		mg := sg / float64(n)
		mgx := sgx / float64(n)
		for j, g := range dr {
			dxr[j] = c * (g - mg - xh[j]*mgx)
		}
	}
	return dx
}

// bnWide is the width from which BatchNorm sums each feature's batch
// values in four interleaved partial sums instead of one running sum: one
// running sum is a chain of dependent additions (4 cycles each), and on
// wide layers BatchNorm's four such chains per feature took about 10% of a
// float32 training epoch (7000 x 784). The summation order, and so the
// last bits, differ from the plain loop; narrower layers (every bundled
// dataset's) keep it. Both depend on the shapes only.
const bnWide = 128

// sum4 returns the sum of x in four interleaved partial sums.
func sum4(x []float64) float64 {
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		s0 += x[j]
		s1 += x[j+1]
		s2 += x[j+2]
		s3 += x[j+3]
	}
	for ; j < len(x); j++ {
		s0 += x[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// centre4 writes x - mean into d and returns the sum of its squares (four
// partial sums).
func centre4(d, x []float64, mean float64) float64 {
	d = d[:len(x)]
	var s0, s1, s2, s3 float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		a, b, c, e := x[j]-mean, x[j+1]-mean, x[j+2]-mean, x[j+3]-mean
		d[j], d[j+1], d[j+2], d[j+3] = a, b, c, e
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += e * e
	}
	for ; j < len(x); j++ {
		a := x[j] - mean
		d[j] = a
		s0 += a * a
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4 returns sum(g) and sum(g * h) (four partial sums each).
func dot4(g, h []float64) (sg, sgh float64) {
	h = h[:len(g)]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	j := 0
	for ; j+4 <= len(g); j += 4 {
		a0 += g[j]
		a1 += g[j+1]
		a2 += g[j+2]
		a3 += g[j+3]
		b0 += g[j] * h[j]
		b1 += g[j+1] * h[j+1]
		b2 += g[j+2] * h[j+2]
		b3 += g[j+3] * h[j+3]
	}
	for ; j < len(g); j++ {
		a0 += g[j]
		b0 += g[j] * h[j]
	}
	return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)
}

// Params returns gamma then beta.
func (b *BatchNorm) Params() []*Param {
	b.makeParams()
	return []*Param{&b.pGamma, &b.pBeta}
}

func (b *BatchNorm) makeParams() {
	if !b.paramsMade {
		b.gGamma = make([]float64, b.N)
		b.gBeta = make([]float64, b.N)
		b.pGamma = Param{Data: b.Gamma, Grad: b.gGamma}
		b.pBeta = Param{Data: b.Beta, Grad: b.gBeta}
		b.paramsMade = true
	}
}

// Dropout is inverted dropout: in training each value is zeroed with
// probability P and the survivors are scaled by 1/(1-P); in evaluation it is
// the identity. Rng must be set before a training Forward with P > 0.
type Dropout struct {
	P   float64
	Rng *rand.Rand

	mask, y, dx []float64
	active      bool
}

// Forward applies a fresh random mask in training.
func (d *Dropout) Forward(x linalg.Matrix, train bool) linalg.Matrix {
	d.active = train && d.P > 0
	if !d.active {
		return x
	}
	y := buffer(&d.y, x.Rows, x.Cols)
	mask := buffer(&d.mask, x.Rows, x.Cols).Data
	if d.P >= 1 {
		clear(mask)
		clear(y.Data)
		return y
	}
	// Two 32-bit uniforms per 64-bit draw: a value is dropped when its
	// uniform is below P (resolution 2^-32, far below any meaningful P).
	thr := uint64(math.Round(d.P * (1 << 32)))
	scale := 1 / (1 - d.P)
	yd := y.Data[:len(x.Data)]
	mask = mask[:len(x.Data)]
	scaleBits := math.Float64bits(scale)
	var r uint64
	for i, v := range x.Data {
		if i&1 == 0 {
			r = d.Rng.Uint64()
		} else {
			r >>= 32
		}
		// Branch-free keep test: (u - thr) is negative, so its top bit is
		// set, exactly when u < thr (drop).
		keep := ^uint64(int64((r&0xffffffff)-thr) >> 63)
		f := math.Float64frombits(scaleBits & keep)
		mask[i] = f
		yd[i] = v * f
	}
	return y
}

// Backward applies the last mask to dy.
func (d *Dropout) Backward(dy linalg.Matrix) linalg.Matrix {
	if !d.active {
		return dy
	}
	dx := buffer(&d.dx, dy.Rows, dy.Cols)
	mask := d.mask[:len(dy.Data)]
	dxd := dx.Data[:len(dy.Data)]
	for i, g := range dy.Data {
		dxd[i] = g * mask[i]
	}
	return dx
}

// Params returns nil: Dropout has no parameters.
func (d *Dropout) Params() []*Param { return nil }

// NormalizeEps is F.normalize's default floor on the norm.
const NormalizeEps = 1e-12

// L2Normalize divides each sample (column) by its Euclidean norm, floored at
// NormalizeEps, as PyTorch's F.normalize(x, dim=1).
type L2Normalize struct {
	norm, y, dx, dot []float64
	out              linalg.Matrix
}

// Forward returns x / max(||x||, 1e-12) per sample.
func (l *L2Normalize) Forward(x linalg.Matrix, _ bool) linalg.Matrix {
	n := x.Cols
	y := buffer(&l.y, x.Rows, n)
	nrm := buffer(&l.norm, 1, n).Data
	clear(nrm)
	for f := 0; f < x.Rows; f++ {
		xr := x.Data[f*n : (f+1)*n]
		xr = xr[:len(nrm)]
		for j, v := range xr {
			nrm[j] += v * v
		}
	}
	for j, s := range nrm {
		nrm[j] = max(math.Sqrt(s), NormalizeEps)
	}
	// Divide (as PyTorch does) rather than multiply by the reciprocal, so
	// that e.g. (3,4) maps to exactly (0.6, 0.8).
	for f := 0; f < x.Rows; f++ {
		xr := x.Data[f*n : (f+1)*n]
		yr := y.Data[f*n : (f+1)*n]
		yr = yr[:len(xr)]
		for j, v := range xr {
			yr[j] = v / nrm[j]
		}
	}
	l.out = y
	return y
}

// Backward returns (dy - y (y.dy)) / ||x|| per sample (dy / 1e-12 where the
// norm was floored: the floor is a constant there).
func (l *L2Normalize) Backward(dy linalg.Matrix) linalg.Matrix {
	n := dy.Cols
	dx := buffer(&l.dx, dy.Rows, n)
	nrm := l.norm[:n]
	dot := buffer(&l.dot, 1, n).Data
	clear(dot)
	for f := 0; f < dy.Rows; f++ {
		yr := l.out.Data[f*n : (f+1)*n]
		dr := dy.Data[f*n : (f+1)*n]
		dr = dr[:len(yr)]
		for j, v := range yr {
			dot[j] += v * dr[j]
		}
	}
	for j, s := range nrm {
		if s == NormalizeEps {
			dot[j] = 0
		}
	}
	for f := 0; f < dy.Rows; f++ {
		yr := l.out.Data[f*n : (f+1)*n]
		dr := dy.Data[f*n : (f+1)*n]
		dxr := dx.Data[f*n : (f+1)*n]
		dr = dr[:len(yr)]
		dxr = dxr[:len(yr)]
		for j, v := range yr {
			dxr[j] = (dr[j] - v*dot[j]) / nrm[j]
		}
	}
	return dx
}

// Params returns nil: L2Normalize has no parameters.
func (l *L2Normalize) Params() []*Param { return nil }
