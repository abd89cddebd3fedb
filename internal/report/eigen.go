package report

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/ncd-project/ncd/internal/linalg"
)

// topEigen returns the m leading eigenvectors of the symmetric matrix S and
// their eigenvalues, largest first, each vector signed so that its
// largest-magnitude entry (the first on a tie) is positive.
func topEigen(S linalg.Matrix, m int) ([][]float64, []float64) {
	d := S.Rows
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (S.At(i, j)+S.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sym, true) {
		return nil, nil
	}
	vals := eig.Values(nil)
	var V mat.Dense
	eig.VectorsTo(&V)
	var vecs [][]float64
	var out []float64
	for c := d - 1; c >= 0 && len(vecs) < m; c-- {
		v := make([]float64, d)
		big, at := -1.0, 0
		for i := range v {
			v[i] = V.At(i, c)
			if a := math.Abs(v[i]); a > big+1e-12 {
				big, at = a, i
			}
		}
		if v[at] < 0 {
			for i := range v {
				v[i] = -v[i]
			}
		}
		vecs = append(vecs, v)
		out = append(out, vals[c])
	}
	return vecs, out
}
