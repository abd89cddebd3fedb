package pbn

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
)

// Proba returns the classifier's softmax probabilities of the known classes
// (X.Rows x len(Classes), row-major) in evaluation mode. A model trained
// without known classes returns a matrix with no columns.
func (m *Model) Proba(X linalg.Matrix) linalg.Matrix {
	if len(m.Classes) == 0 {
		return linalg.New(X.Rows, 0)
	}
	out := linalg.New(X.Rows, len(m.Classes))
	m.forEval(X, 0, func(lo int, h linalg.Matrix, t *net) {
		logits := t.cls.Forward(t.norm.Forward(h, false), false)
		n := logits.Cols
		for j := 0; j < n; j++ {
			row := out.Row(lo + j)
			mx := math.Inf(-1)
			for c := range row {
				mx = max(mx, logits.Data[c*n+j])
			}
			s := 0.0
			for c := range row {
				row[c] = math.Exp(logits.Data[c*n+j] - mx)
				s += row[c]
			}
			for c := range row {
				row[c] /= s
			}
		}
	})
	return out
}

// ProbaEnsemble is the members' mean Proba: the ensemble's classifier.
func ProbaEnsemble(members []*Model, X linalg.Matrix) linalg.Matrix {
	out := members[0].Proba(X)
	for _, m := range members[1:] {
		p := m.Proba(X)
		for i, v := range p.Data {
			out.Data[i] += v
		}
	}
	inv := 1 / float64(len(members))
	for i := range out.Data {
		out.Data[i] *= inv
	}
	return out
}
