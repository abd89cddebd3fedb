package nn

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
)

// SoftmaxCrossEntropy returns the mean cross-entropy of the feature-major
// logits (classes x n) against labels (one per sample; a negative label
// leaves the sample out) and the number of samples counted. It writes into
// grad (same shape as logits) scale times the gradient of that mean:
// scale * (softmax - onehot) / count on counted samples, 0 elsewhere. With no
// counted sample the loss and the gradient are 0 (PyTorch would give NaN).
func SoftmaxCrossEntropy(logits linalg.Matrix, labels []int, scale float64, grad linalg.Matrix) (loss float64, count int) {
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
	if count == 0 {
		clear(grad.Data)
		return 0, 0
	}
	// Per sample: lse = m + log(sum exp(l - m)), loss = lse - l_y,
	// gradient softmax - onehot. Columns are strided by n; C is small.
	g := grad.Data
	l := logits.Data
	k := scale / float64(count)
	for j, y := range labels {
		if y < 0 {
			for r := 0; r < c; r++ {
				g[r*n+j] = 0
			}
			continue
		}
		m := math.Inf(-1)
		for r := 0; r < c; r++ {
			m = max(m, l[r*n+j])
		}
		s := 0.0
		for r := 0; r < c; r++ {
			e := math.Exp(l[r*n+j] - m)
			g[r*n+j] = e
			s += e
		}
		loss += m + math.Log(s) - l[y*n+j]
		is := k / s
		for r := 0; r < c; r++ {
			g[r*n+j] *= is
		}
		g[y*n+j] -= k
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
	s := 0.0
	k := 2 * scale
	for i, p := range pred.Data {
		d := p - t[i]
		s += d * d
		g[i] = k * d
	}
	return s
}
