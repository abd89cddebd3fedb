package nn

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
)

// SoftmaxCrossEntropy computes softmax cross-entropy losses; it keeps
// per-sample scratch space between calls. The zero value is ready to use.
type SoftmaxCrossEntropy struct {
	colMax, colSum []float64
}

// Loss returns the mean cross-entropy of the feature-major logits
// (classes x n) against labels (one per sample; a negative label leaves the
// sample out) and the number of samples counted. It writes into grad (same
// shape as logits) scale times the gradient of that mean:
// scale * (softmax - onehot) / count on counted samples, 0 elsewhere. With no
// counted sample the loss and the gradient are 0 (PyTorch would give NaN).
func (s *SoftmaxCrossEntropy) Loss(logits linalg.Matrix, labels []int, scale float64, grad linalg.Matrix) (loss float64, count int) {
	c, n := logits.Rows, logits.Cols
	if len(labels) != n || grad.Rows != c || grad.Cols != n {
		panic("nn: SoftmaxCrossEntropy shape mismatch")
	}
	for _, y := range labels {
		if y >= c {
			panic("nn: SoftmaxCrossEntropy label out of range")
		}
		if y >= 0 {
			count++
		}
	}
	if count == 0 || c == 0 {
		clear(grad.Data)
		return 0, 0
	}
	// Per sample: lse = m + log(sum exp(l - m)), loss = lse - l_y, gradient
	// softmax - onehot. The passes run along rows (contiguous samples).
	mx := buffer(&s.colMax, 1, n).Data
	sum := buffer(&s.colSum, 1, n).Data
	copy(mx, logits.Data[:n])
	for r := 1; r < c; r++ {
		row := logits.Data[r*n : (r+1)*n]
		row = row[:len(mx)]
		for j, v := range row {
			mx[j] = max(mx[j], v)
		}
	}
	clear(sum)
	for r := 0; r < c; r++ {
		row := logits.Data[r*n : (r+1)*n]
		g := grad.Data[r*n : (r+1)*n]
		row, g = row[:len(mx)], g[:len(mx)]
		for j, v := range row {
			e := math.Exp(v - mx[j])
			g[j] = e
			sum[j] += e
		}
	}
	k := scale / float64(count)
	for j, y := range labels {
		if y < 0 {
			sum[j] = 0 // multiplier: zero gradient
			continue
		}
		loss += mx[j] + math.Log(sum[j]) - logits.Data[y*n+j]
		sum[j] = k / sum[j]
	}
	for r := 0; r < c; r++ {
		g := grad.Data[r*n : (r+1)*n]
		g = g[:len(sum)]
		for j, f := range sum {
			g[j] *= f
		}
	}
	for j, y := range labels {
		if y >= 0 {
			grad.Data[y*n+j] -= k
		}
	}
	return loss / float64(count), count
}

// SquaredError returns the sum over all elements of (pred - target)^2 and
// writes scale times its gradient, scale * 2 (pred - target), into grad.
func SquaredError(pred, target linalg.Matrix, scale float64, grad linalg.Matrix) float64 {
	if len(pred.Data) != len(target.Data) || len(grad.Data) != len(pred.Data) {
		panic("nn: SquaredError shape mismatch")
	}
	t := target.Data[:len(pred.Data)]
	g := grad.Data[:len(pred.Data)]
	k := 2 * scale
	if len(g) >= squaredWide {
		// Four partial sums: one running sum is a chain of dependent
		// additions (4 cycles each); on a 784-feature decoder output
		// it was 1% of a training epoch. The gradient is the same.
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(g); i += 4 {
			d0, d1, d2, d3 := pred.Data[i]-t[i], pred.Data[i+1]-t[i+1], pred.Data[i+2]-t[i+2], pred.Data[i+3]-t[i+3]
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
			g[i], g[i+1], g[i+2], g[i+3] = k*d0, k*d1, k*d2, k*d3
		}
		for ; i < len(g); i++ {
			d := pred.Data[i] - t[i]
			s0 += d * d
			g[i] = k * d
		}
		return (s0 + s1) + (s2 + s3)
	}
	s := 0.0
	for i, p := range pred.Data {
		d := p - t[i]
		s += d * d
		g[i] = k * d
	}
	return s
}

// squaredWide is the size from which SquaredError sums in four partial
// sums (the last bits of the sum differ from one running sum; smaller
// outputs, every bundled dataset's, keep the single sum). It depends on
// the shapes only.
const squaredWide = 1 << 16
