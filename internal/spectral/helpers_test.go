package spectral

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/testutil"
)

// loadCSV reads a numeric CSV with a header whose last column is the label.
func loadCSV(tb testing.TB, path string) (linalg.Matrix, []string) {
	X, y, _ := testutil.LoadCSV(tb, path)
	return X, y
}

// zscore standardizes X in place with the mean and population standard
// deviation of ref (constant columns are only centred).
func zscore(X, ref linalg.Matrix) {
	mean, std := testutil.ColStats(ref)
	testutil.Standardize(X, mean, std)
}

func randomMatrix(n, d int, seed uint64) linalg.Matrix {
	r := rand.New(rand.NewPCG(seed, 1))
	X := linalg.New(n, d)
	for i := range X.Data {
		X.Data[i] = r.NormFloat64()
	}
	return X
}

// denseM builds M = Deg^-1/2 A Deg^-1/2 with exact distances, as the
// reference code does, for a test oracle.
func denseM(X linalg.Matrix, minDist float64) (*mat.SymDense, []float64, float64) {
	n := X.Rows
	sigma := Sigma(kruskalMaxEdge(X), minDist)
	A := make([]float64, n*n)
	deg := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				A[i*n+j] = math.Exp(-linalg.SqDistRows(X.Row(i), X.Row(j)) / (2 * sigma * sigma))
				deg[i] += A[i*n+j]
			}
		}
	}
	M := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			M.SetSym(i, j, A[i*n+j]/math.Sqrt(deg[i]*deg[j]))
		}
	}
	return M, deg, sigma
}

// oracleEig returns the eigenvalues of L = I - M ascending and the matching
// eigenvectors (columns), from a full dense decomposition.
func oracleEig(tb testing.TB, M *mat.SymDense) ([]float64, *mat.Dense) {
	tb.Helper()
	var es mat.EigenSym
	if !es.Factorize(M, true) {
		tb.Fatal("EigenSym failed")
	}
	vals := es.Values(nil)
	var V mat.Dense
	es.VectorsTo(&V)
	n := len(vals)
	lv := make([]float64, n)
	U := mat.NewDense(n, n, nil)
	for j := 0; j < n; j++ {
		lv[j] = 1 - vals[n-1-j]
		for i := 0; i < n; i++ {
			U.Set(i, j, V.At(i, n-1-j))
		}
	}
	return lv, U
}

// maxPrincipalAngle returns the largest principal angle (radians) between
// the column spans of the orthonormal n x k matrices U and V.
func maxPrincipalAngle(U, V mat.Matrix) float64 {
	var vtu, r mat.Dense
	vtu.Mul(V.T(), U)
	r.Mul(V, &vtu)
	r.Sub(U, &r)
	var svd mat.SVD
	svd.Factorize(&r, mat.SVDNone)
	s := svd.Values(nil)
	return math.Asin(math.Min(1, s[0]))
}

// kruskalMaxEdge is the brute-force oracle: Kruskal's algorithm on all
// pairs, returning the largest squared edge of the MST.
func kruskalMaxEdge(X linalg.Matrix) float64 {
	n := X.Rows
	type edge struct {
		w    float64
		u, v int
	}
	var es []edge
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			es = append(es, edge{linalg.SqDistRows(X.Row(i), X.Row(j)), i, j})
		}
	}
	sort.Slice(es, func(a, b int) bool { return es[a].w < es[b].w })
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	m, added := 0.0, 0
	for _, e := range es {
		a, b := find(e.u), find(e.v)
		if a != b {
			parent[a] = b
			m = e.w
			if added++; added == n-1 {
				break
			}
		}
	}
	return m
}

// embedAsDense wraps the columns of an embedding as a mat.Dense.
func embedAsDense(E linalg.Matrix) *mat.Dense { return mat.NewDense(E.Rows, E.Cols, E.Data) }
