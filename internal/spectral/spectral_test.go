package spectral

import (
	"context"
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

func TestSigmaFormula(t *testing.T) {
	// sigma = sqrt(-m / ln(min_dist)): m = 2, min_dist = 0.5 gives
	// sqrt(2 / 0.693147...) = 1.698643600577...
	if got, want := Sigma(2, 0.5), 1.6986436005760381; math.Abs(got-want) > 1e-15 {
		t.Fatalf("Sigma(2, 0.5) = %.16g, want %.16g", got, want)
	}
	// The defining property: the longest MST edge gets affinity
	// exp(-m / (2 sigma^2)) = sqrt(min_dist).
	for _, md := range []float64{0.1, 0.6, 0.9855} {
		s := Sigma(7.5, md)
		if got := math.Exp(-7.5 / (2 * s * s)); math.Abs(got-math.Sqrt(md)) > 1e-15 {
			t.Errorf("min_dist %g: edge affinity %.17g, want sqrt(min_dist) %.17g", md, got, math.Sqrt(md))
		}
	}
}

func TestMSTMaxEdgeMatchesKruskal(t *testing.T) {
	cases := []struct {
		n, d int
		grid bool // small integer coordinates: many ties and duplicates
	}{
		{2, 1, false}, {3, 2, false}, {17, 3, false}, {64, 5, false}, {200, 2, false}, {301, 7, false},
		{50, 2, true}, {150, 3, true}, {400, 1, true},
	}
	for ci, c := range cases {
		X := randomMatrix(c.n, c.d, uint64(100+ci))
		if c.grid {
			for i := range X.Data {
				X.Data[i] = math.Round(2 * X.Data[i])
			}
		}
		want := kruskalMaxEdge(X)
		for _, th := range []int{1, 2, 3} {
			got := MSTMaxEdge(X, th)
			if math.Abs(got-want) > 1e-12*want {
				t.Errorf("case %d (n=%d d=%d grid=%v) threads %d: MSTMaxEdge %.17g, Kruskal %.17g", ci, c.n, c.d, c.grid, th, got, want)
			}
		}
	}
}

// TestPrimParallelMatchesSerial: steps with enough work (rows x padded
// columns >= 2^18) are split over threads; the tree must not change.
func TestPrimParallelMatchesSerial(t *testing.T) {
	X := randomMatrix(1500, 256, 31) // parallel while more than 1024 rows are left
	u1, v1, w1 := primOnTheFly(X, 1)
	for _, th := range []int{2, 3} {
		u, v, w := primOnTheFly(X, th)
		for e := range u1 {
			if u[e] != u1[e] || v[e] != v1[e] || w[e] != w1[e] {
				t.Fatalf("threads %d: edge %d (%d,%d,%v), serial (%d,%d,%v)", th, e, u[e], v[e], w[e], u1[e], v1[e], w1[e])
			}
		}
	}
	// The tree is an MST: its largest edge is the minimax distance Kruskal
	// finds.
	m := 0.0
	for _, x := range w1 {
		m = max(m, x)
	}
	if want := kruskalMaxEdge(X); math.Abs(m-want) > 1e-12*want {
		t.Errorf("largest edge %.17g, Kruskal %.17g", m, want)
	}
}

func TestMSTIrisMatchesScipy(t *testing.T) {
	X, _ := loadCSV(t, "../../testdata/iris.csv")
	zscore(X, X)
	// scipy 1.10.1 minimum_spanning_tree on the squared distances of the
	// z-scored (population std) iris features: max edge 2.429118800815952,
	// sigma 2.18066041838083 at min_dist 0.6.
	if got := MSTMaxEdge(X, 2); math.Abs(got-2.429118800815952) > 1e-13 {
		t.Errorf("iris MST max edge %.16g, scipy 2.429118800815952", got)
	}
	_, info, err := Embed(context.Background(), X, Options{NComponents: 2})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(info.Sigma-2.18066041838083) > 1e-13 {
		t.Errorf("iris sigma %.16g, scipy 2.18066041838083", info.Sigma)
	}
}

// checkAgainstOracle compares Embed with the full dense eigendecomposition
// of the same normalized Laplacian: eigenvalues, and the subspace spanned
// by eigenvectors 2..nc+1 whenever the eigengap after nc+1 is clear.
func checkAgainstOracle(t *testing.T, name string, X linalg.Matrix, minDist float64, ncs []int) {
	t.Helper()
	M, _, _ := denseM(X, minDist)
	lv, U := oracleEig(t, M)
	for _, nc := range ncs {
		for _, f32 := range []bool{false, true} {
			E, info, err := Embed(context.Background(), X, Options{MinDist: minDist, NComponents: nc, Tol: 1e-10, Affinity: AffinityDense, Float64: !f32, Seed: 3})
			if err != nil {
				t.Fatalf("%s nc=%d: %v", name, nc, err)
			}
			if info.Converged != nc {
				t.Errorf("%s nc=%d f32=%v: %d of %d eigenpairs converged", name, nc, f32, info.Converged, nc)
			}
			// float32 storage rounds M by ~6e-8 relatively; its entries
			// are ~1/n, so the operator moves by about 1e-8 in norm.
			valTol, angTol := 1e-10, 1e-6
			if f32 {
				valTol, angTol = 1e-6, 1e-3
			}
			for j := 0; j <= nc; j++ {
				if d := math.Abs(info.Eigenvalues[j] - lv[j]); d > valTol {
					t.Errorf("%s nc=%d f32=%v: eigenvalue %d = %.15g, dense %.15g", name, nc, f32, j, info.Eigenvalues[j], lv[j])
				}
			}
			// The residuals Embed reports (from the Lanczos relation) bound
			// the true ones |M u - (1 - lambda) u|.
			if !f32 {
				checkResiduals(t, name, M, E, info)
			}
			gap := lv[nc+1] - lv[nc]
			if gap < 1e-3 {
				continue // subspace not well determined; eigenvalues checked above
			}
			ang := maxPrincipalAngle(embedAsDense(E), U.Slice(0, X.Rows, 1, nc+1))
			t.Logf("%s nc=%d f32=%v: gap %.3g, largest principal angle %.3g, %d block iterations", name, nc, f32, gap, ang, info.Iterations)
			if ang > angTol {
				t.Errorf("%s nc=%d f32=%v: largest principal angle %.3g rad to the dense eigenvectors (gap %.3g)", name, nc, f32, ang, gap)
			}
		}
	}
}

// checkResiduals recomputes |M u - (1 - lambda) u| for every embedding
// column (raw eigenvectors) and compares it with Info.Residuals.
func checkResiduals(t *testing.T, name string, M mat.Symmetric, E linalg.Matrix, info *Info) {
	t.Helper()
	n := E.Rows
	u := mat.NewVecDense(n, nil)
	var mu mat.VecDense
	for j := 0; j < E.Cols; j++ {
		for i := 0; i < n; i++ {
			u.SetVec(i, E.At(i, j))
		}
		mu.MulVec(M, u)
		mu.AddScaledVec(&mu, -(1 - info.Eigenvalues[j+1]), u)
		if r := mat.Norm(&mu, 2); r > max(2*info.Residuals[j], 1e-12) {
			t.Errorf("%s: column %d true residual %.3g, reported %.3g", name, j, r, info.Residuals[j])
		}
	}
}

func TestEmbedMatchesDenseIrisWine(t *testing.T) {
	X, _ := loadCSV(t, "../../testdata/iris.csv")
	zscore(X, X)
	checkAgainstOracle(t, "iris", X, 0.6, []int{1, 2, 3, 6, 12})
	checkAgainstOracle(t, "iris md=0.9", X, 0.9, []int{2, 5})
	W, _ := loadCSV(t, "testdata/wine.csv")
	zscore(W, W)
	checkAgainstOracle(t, "wine", W, 0.6, []int{2, 3, 8})
	checkAgainstOracle(t, "wine md=0.9", W, 0.9, []int{3})
}

func TestEmbedMatchesDenseLarger(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("dense oracle on 800-1000 rows takes several seconds (minutes under -race)")
	}
	X := randomMatrix(800, 10, 7)
	checkAgainstOracle(t, "random800x10", X, 0.6, []int{3, 10})
	L, _ := loadCSV(t, "../../testdata/letter_test.csv")
	L = L.Slice(0, 1000).Clone()
	zscore(L, L)
	checkAgainstOracle(t, "letter1000", L, 0.6, []int{4, 16})
}

func TestEmbedTinyUsesExactPath(t *testing.T) {
	// 12 rows, 6 components: the Krylov space would be the whole space.
	X := randomMatrix(12, 3, 9)
	M, _, _ := denseM(X, 0.6)
	lv, U := oracleEig(t, M)
	E, info, err := Embed(context.Background(), X, Options{NComponents: 6, Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j <= 6; j++ {
		if math.Abs(info.Eigenvalues[j]-lv[j]) > 1e-12 {
			t.Errorf("eigenvalue %d = %.15g, dense %.15g", j, info.Eigenvalues[j], lv[j])
		}
	}
	if ang := maxPrincipalAngle(embedAsDense(E), U.Slice(0, 12, 1, 7)); ang > 1e-9 {
		t.Errorf("principal angle %g", ang)
	}
}

// csrDense expands the kNN operator into a dense symmetric matrix.
func csrDense(op *csrOp) *mat.SymDense {
	M := mat.NewSymDense(op.n, nil)
	for i := 0; i < op.n; i++ {
		for e := op.rowPtr[i]; e < op.rowPtr[i+1]; e++ {
			if j := int(op.col[e]); j >= i {
				M.SetSym(i, j, op.val[e])
			}
		}
	}
	return M
}

func TestKNNEigenpairsOfItsOwnLaplacian(t *testing.T) {
	X := randomMatrix(500, 4, 11)
	g, err := buildKNN(context.Background(), X, 8, 0.6, 2, map[string]float64{})
	if err != nil {
		t.Fatal(err)
	}
	// Structure: symmetric, each row holds its 8 nearest neighbours.
	Md := csrDense(g.op)
	for i := 0; i < X.Rows; i++ {
		for e := g.op.rowPtr[i]; e < g.op.rowPtr[i+1]; e++ {
			j := int(g.op.col[e])
			if j == i {
				t.Fatalf("self loop at row %d", i)
			}
			want := math.Exp(-sqDist(X.Row(i), X.Row(j))/(2*g.sigma*g.sigma)) / math.Sqrt(g.deg[i]*g.deg[j])
			if math.Abs(g.op.val[e]-want) > 1e-15 {
				t.Fatalf("entry (%d,%d) = %g, want %g", i, j, g.op.val[e], want)
			}
		}
	}
	for i := 0; i < 20; i++ {
		// brute-force 8 nearest
		type dj struct {
			d float64
			j int
		}
		var ds []dj
		for j := 0; j < X.Rows; j++ {
			if j != i {
				ds = append(ds, dj{sqDist(X.Row(i), X.Row(j)), j})
			}
		}
		for a := 0; a < 8; a++ {
			best := a
			for b := a + 1; b < len(ds); b++ {
				if ds[b].d < ds[best].d {
					best = b
				}
			}
			ds[a], ds[best] = ds[best], ds[a]
			if Md.At(i, ds[a].j) == 0 {
				t.Fatalf("row %d: neighbour %d (rank %d) missing from the graph", i, ds[a].j, a)
			}
		}
	}
	if g.sigma != Sigma(kruskalMaxEdge(X), 0.6) {
		t.Errorf("kNN sigma %g, want the MST sigma %g", g.sigma, Sigma(kruskalMaxEdge(X), 0.6))
	}
	lv, U := oracleEig(t, Md)
	for _, nc := range []int{3, 10} {
		E, info, err := Embed(context.Background(), X, Options{NComponents: nc, Affinity: AffinityKNN, KNN: 8, Tol: 1e-10})
		if err != nil {
			t.Fatal(err)
		}
		if info.Affinity != AffinityKNN || info.Edges != len(g.op.val) || info.Components != 1 {
			t.Errorf("info %+v", info)
		}
		checkResiduals(t, "knn", Md, E, info)
		for j := 0; j <= nc; j++ {
			if math.Abs(info.Eigenvalues[j]-lv[j]) > 1e-10 {
				t.Errorf("nc=%d: eigenvalue %d = %.15g, dense %.15g", nc, j, info.Eigenvalues[j], lv[j])
			}
		}
		if gap := lv[nc+1] - lv[nc]; gap > 1e-3 {
			if ang := maxPrincipalAngle(embedAsDense(E), U.Slice(0, X.Rows, 1, nc+1)); ang > 1e-6 {
				t.Errorf("nc=%d: principal angle %g (gap %g)", nc, ang, gap)
			}
		}
	}
}

func TestDisconnectedGraphLocksComponentVectors(t *testing.T) {
	// Three separate cliques-with-noise: eigenvalue 0 of L has
	// multiplicity 3. Build the CSR operator by hand (Embed's graphs are
	// always connected) and run the eigen stage.
	X := randomMatrix(90, 3, 5)
	n := X.Rows
	comp := make([]int, n)
	var rowPtr []int
	var col []int32
	var val []float64
	deg := make([]float64, n)
	rowPtr = append(rowPtr, 0)
	for i := 0; i < n; i++ {
		comp[i] = i / 30
		for j := 0; j < n; j++ {
			if i != j && i/30 == j/30 && (j-i)%3 != 0 {
				w := math.Exp(-sqDist(X.Row(i), X.Row(j)) / 4)
				col = append(col, int32(j))
				val = append(val, w)
				deg[i] += w
			}
		}
		rowPtr = append(rowPtr, len(col))
	}
	isq := invSqrt(deg)
	for i := 0; i < n; i++ {
		for e := rowPtr[i]; e < rowPtr[i+1]; e++ {
			val[e] *= isq[i] * isq[col[e]]
		}
	}
	op := &csrOp{n: n, rowPtr: rowPtr, col: col, val: val, threads: 1}
	gotComp, nc := components(n, rowPtr, col, val)
	if nc != 3 || gotComp[0] != 0 || gotComp[45] != 1 || gotComp[89] != 2 {
		t.Fatalf("components: %d, labels %v", nc, gotComp)
	}
	lv, U := oracleEig(t, csrDense(op))
	E, vals, err := spectralVectors(context.Background(), op, deg, gotComp, nc, 6, Options{Tol: 1e-10, Block: 2, MaxBasis: 12, MaxIter: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j <= 6; j++ {
		if math.Abs(vals.Eigenvalues[j]-lv[j]) > 1e-10 {
			t.Errorf("eigenvalue %d = %.15g, dense %.15g", j, vals.Eigenvalues[j], lv[j])
		}
	}
	if vals.Converged != 6 {
		t.Errorf("converged %d of 6", vals.Converged)
	}
	// The zero eigenvalue is triple, so the dense solver's first three
	// vectors are an arbitrary basis of it: compare [sqrt(deg)/norm, E]
	// with the dense eigenvectors 1..7.
	aug := mat.NewDense(n, 7, nil)
	nrm := 0.0
	for i := 0; i < n; i++ {
		nrm += deg[i]
	}
	for i := 0; i < n; i++ {
		aug.Set(i, 0, math.Sqrt(deg[i]/nrm))
		for j := 0; j < 6; j++ {
			aug.Set(i, j+1, E.At(i, j))
		}
	}
	if ang := maxPrincipalAngle(aug, U.Slice(0, n, 0, 7)); ang > 1e-6 {
		t.Errorf("principal angle %g (gap %g)", ang, lv[7]-lv[6])
	}
	for i := 0; i < n; i++ {
		// Within a component the first two columns are constant multiples
		// of sqrt(deg).
		r := E.At(i, 0) / math.Sqrt(deg[i])
		r0 := E.At(comp[i]*30, 0) / math.Sqrt(deg[comp[i]*30])
		if math.Abs(r-r0) > 1e-12 {
			t.Fatalf("row %d: column 0 is not piecewise sqrt(deg)", i)
		}
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	X, _ := loadCSV(t, "../../testdata/letter_test.csv")
	X = X.Slice(0, 1500).Clone()
	zscore(X, X)
	for _, aff := range []string{AffinityDense, AffinityKNN} {
		for _, f32 := range []bool{false, true} {
			var ref linalg.Matrix
			var refInfo *Info
			for _, th := range []int{1, 2, 3} {
				E, info, err := Embed(context.Background(), X, Options{NComponents: 8, Affinity: aff, Float64: !f32, Threads: th, Seed: 42})
				if err != nil {
					t.Fatal(err)
				}
				if th == 1 {
					ref, refInfo = E, info
					continue
				}
				for i := range E.Data {
					if E.Data[i] != ref.Data[i] {
						t.Fatalf("%s f32=%v: threads %d differs from threads 1 at %d: %v vs %v", aff, f32, th, i, E.Data[i], ref.Data[i])
					}
				}
				if info.Sigma != refInfo.Sigma || info.Iterations != refInfo.Iterations {
					t.Fatalf("%s: info differs across threads", aff)
				}
			}
		}
	}
}

func TestSignsAndDegreeScale(t *testing.T) {
	X, _ := loadCSV(t, "../../testdata/iris.csv")
	zscore(X, X)
	// float64 storage: the degrees are compared with the exact oracle's
	// (float32 storage sums rounded affinities).
	raw, info, err := Embed(context.Background(), X, Options{NComponents: 3, Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	scaled, _, err := Embed(context.Background(), X, Options{NComponents: 3, DegreeScale: true, Float64: true})
	if err != nil {
		t.Fatal(err)
	}
	_, deg, _ := denseM(X, 0.6)
	for j := 0; j < 3; j++ {
		// Largest-magnitude entry positive.
		best, bi := 0.0, 0
		for i := 0; i < X.Rows; i++ {
			if a := math.Abs(raw.At(i, j)); a > best {
				best, bi = a, i
			}
		}
		if raw.At(bi, j) <= 0 {
			t.Errorf("column %d: largest entry %g is negative", j, raw.At(bi, j))
		}
		// Scaled = raw / sqrt(deg), up to the column's sign.
		s := 1.0
		if scaled.At(bi, j)*raw.At(bi, j) < 0 {
			s = -1
		}
		for i := 0; i < X.Rows; i++ {
			if want := s * raw.At(i, j) / math.Sqrt(deg[i]); math.Abs(scaled.At(i, j)-want) > 1e-12 {
				t.Fatalf("row %d col %d: scaled %g, want %g", i, j, scaled.At(i, j), want)
			}
		}
	}
	if len(info.Eigenvalues) != 4 || info.Eigenvalues[0] != 0 || len(info.Residuals) != 3 {
		t.Errorf("info eigenvalues %v residuals %v", info.Eigenvalues, info.Residuals)
	}
}

func TestEmbedErrors(t *testing.T) {
	X := randomMatrix(20, 2, 1)
	same := linalg.New(10, 3)
	nan := X.Clone()
	nan.Data[5] = math.NaN()
	cases := []struct {
		name string
		X    linalg.Matrix
		opt  Options
	}{
		{"min_dist 1", X, Options{NComponents: 2, MinDist: 1}},
		{"min_dist negative", X, Options{NComponents: 2, MinDist: -0.5}},
		{"no components", X, Options{}},
		{"too many components", X, Options{NComponents: 20}},
		{"bad affinity", X, Options{NComponents: 2, Affinity: "full"}},
		{"identical rows", same, Options{NComponents: 2}},
		{"NaN", nan, Options{NComponents: 2}},
		{"negative tolerance", X, Options{NComponents: 2, Tol: -1}},
		{"NaN tolerance", X, Options{NComponents: 2, Tol: math.NaN()}},
		{"infinite tolerance", X, Options{NComponents: 2, Tol: math.Inf(1)}},
	}
	for _, c := range cases {
		_, _, err := Embed(context.Background(), c.X, c.opt)
		if err == nil || !usererr.Is(err) {
			t.Errorf("%s: got %v, want a user error", c.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Embed(ctx, randomMatrix(300, 3, 2), Options{NComponents: 4}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
}

func TestWorkspaceReuse(t *testing.T) {
	X, _ := loadCSV(t, "testdata/wine.csv")
	zscore(X, X)
	var w Workspace
	for _, f32 := range []bool{false, true} {
		for _, md := range []float64{0.6, 0.3, 0.9} {
			fresh, _, err := Embed(context.Background(), X, Options{MinDist: md, NComponents: 4, Float64: !f32})
			if err != nil {
				t.Fatal(err)
			}
			reused, _, err := Embed(context.Background(), X, Options{MinDist: md, NComponents: 4, Float64: !f32, Work: &w})
			if err != nil {
				t.Fatal(err)
			}
			for i := range fresh.Data {
				if fresh.Data[i] != reused.Data[i] {
					t.Fatalf("f32=%v min_dist %g: embedding with a reused workspace differs at %d", f32, md, i)
				}
			}
		}
	}
	if len(w.a64) != X.Rows*X.Rows || len(w.a32) != X.Rows*X.Rows {
		t.Errorf("workspace not kept: %d %d", len(w.a64), len(w.a32))
	}
}
