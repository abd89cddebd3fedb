package cluster

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// refSqDist is sqDist's documented order written plainly: lane f%4 sums
// fma(t, t, s) in feature order, lanes combined as (s0+s1)+(s2+s3).
// refNearest returns the reference squared distances from x to every row
// of C, the index of the nearest (the first on ties) and the distances sorted.
func refNearest(x []float64, C linalg.Matrix) (dist []float64, best int, sorted []float64) {
	dist = make([]float64, C.Rows)
	for j := range dist {
		dist[j] = refSqDist(x, C.Row(j))
		if dist[j] < dist[best] {
			best = j
		}
	}
	sorted = slices.Clone(dist)
	sort.Float64s(sorted)
	return dist, best, sorted
}

func refSqDist(a, b []float64) float64 {
	var s [4]float64
	for f := range a {
		t := a[f] - b[f]
		s[f%4] = math.FMA(t, t, s[f%4])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// bothPaths runs fn with the AVX-512 kernels, the AVX2 ones and the
// portable Go code (those the CPU has).
func bothPaths(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	s2, s5 := useAVX2, useAVX512
	defer func() { useAVX2, useAVX512 = s2, s5 }()
	for _, p := range [][2]bool{{true, true}, {true, false}, {false, false}} {
		if (p[0] && !s2) || (p[1] && !s5) {
			continue
		}
		useAVX2, useAVX512 = p[0], p[1]
		fn(t)
	}
}

func TestSeedGainOctBitIdentical(t *testing.T) {
	// The oct-layout kernels (one candidate or several per pass) give
	// seedGain's documented bits: sqDist per row, gains in four chains
	// over the rows i (mod 4), for every row count (the Go and AVX2
	// remainders after the blocks of 8).
	bothPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, d := range []int{1, 3, 4, 7, 16, 62} {
			for n := 1; n <= 45; n++ {
				X := linalg.New(n, d)
				for i := range X.Data {
					X.Data[i] = 3 * r.NormFloat64()
				}
				closest := make([]float64, n)
				for i := range closest {
					closest[i] = 40 * r.Float64()
				}
				cand := []int{r.IntN(n), r.IntN(n), r.IntN(n), 0, n - 1}
				want := make([]float64, len(cand))
				wantDist := make([]float64, len(cand)*n)
				for tr, c := range cand {
					var g [4]float64
					for i := 0; i < n; i++ {
						v := refSqDist(X.Row(c), X.Row(i))
						wantDist[tr*n+i] = v
						if v < closest[i] {
							g[i%4] += closest[i] - v
						}
					}
					want[tr] = (g[0] + g[1]) + (g[2] + g[3])
				}
				p := newProblem(X)
				p.seedPasses = octMinPasses
				xo := p.octX()
				if xo == nil && useAVX512 && n >= 8 {
					t.Fatalf("d=%d n=%d: no oct copy", d, n)
				}
				if d == 16 && useAVX512 {
					xo = X.Data // rearranged in registers
				}
				dist := make([]float64, len(cand)*n)
				for tr, c := range cand {
					if got := seedGain(X.Row(c), X, closest, dist[tr*n:(tr+1)*n]); got != want[tr] {
						t.Fatalf("avx2 %v avx512 %v d=%d n=%d cand %d: gain %v, want %v", useAVX2, useAVX512, d, n, tr, got, want[tr])
					}
				}
				if !slices.Equal(dist, wantDist) {
					t.Fatalf("avx2 %v avx512 %v d=%d n=%d: distances differ", useAVX2, useAVX512, d, n)
				}
				if xo == nil {
					continue
				}
				var qd []float64
				gain := make([]float64, len(cand))
				clear(dist)
				seedGainsOct(X, xo, cand, closest, dist, gain, &qd)
				if !slices.Equal(gain, want) || !slices.Equal(dist, wantDist) {
					t.Fatalf("d=%d n=%d: seedGainsOct %v, want %v", d, n, gain, want)
				}
			}
		}
	})
}

func TestDistanceKernelsBitIdentical(t *testing.T) {
	// Every kernel must give sqDist's bits for every width (the masked tail
	// of the assembly) and count (the Go remainder), on both paths.
	bothPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for d := 1; d <= 37; d++ {
			for m := 0; m <= 13; m++ {
				q := make([]float64, d)
				X := linalg.New(m+1, d)
				for i := range q {
					q[i] = r.NormFloat64()
				}
				for i := range X.Data {
					X.Data[i] = 3 * r.NormFloat64()
				}
				out := make([]float64, m)
				sqDistsRows(q, X.Data, out)
				rows, cents := make([]int32, m), make([]int32, m)
				for p := range rows {
					rows[p], cents[p] = int32(r.IntN(m+1)), int32(r.IntN(m+1))
				}
				pairs, roots := make([]float64, m), make([]float64, m)
				sqDistPairs(X, X, rows, cents, pairs)
				sqrtDistPairs(X, X, rows, cents, roots)
				for j := 0; j < m; j++ {
					want := refSqDist(q, X.Row(j))
					if out[j] != want || sqDist(q, X.Row(j)) != want {
						t.Fatalf("asm %v d=%d m=%d j=%d: %v, sqDist %v, want %v", useAVX2, d, m, j, out[j], sqDist(q, X.Row(j)), want)
					}
					want = refSqDist(X.Row(int(rows[j])), X.Row(int(cents[j])))
					if pairs[j] != want || roots[j] != math.Sqrt(want) {
						t.Fatalf("asm %v d=%d pair %d: %v %v, want %v", useAVX2, d, j, pairs[j], roots[j], want)
					}
				}
			}
		}
	})
}

func TestNearest2(t *testing.T) {
	// Small integer coordinates make many exact ties: the nearest must be
	// the lowest index among them, the second the next value of the multiset.
	bothPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for d := 1; d <= 21; d++ {
			for k := 1; k <= 13; k++ {
				for range 20 {
					x := make([]float64, d)
					C := linalg.New(k, d)
					for i := range x {
						x[i] = float64(r.IntN(3))
					}
					for i := range C.Data {
						C.Data[i] = float64(r.IntN(3))
					}
					b, v1, v2 := nearest2(x, padCentroids(nil, C), k)
					dist, wb, sorted := refNearest(x, C)
					w2 := math.Inf(1)
					if k > 1 {
						w2 = sorted[1]
					}
					if b != wb || v1 != dist[wb] || v2 != w2 {
						t.Fatalf("asm %v d=%d k=%d: %d %v %v, want %d %v %v", useAVX2, d, k, b, v1, v2, wb, dist[wb], w2)
					}
				}
			}
		}
	})
}

func TestNearest2Rows(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, d := range []int{5, 16} {
			X := linalg.New(50, d)
			for i := range X.Data {
				X.Data[i] = float64(r.IntN(4))
			}
			for k := 1; k <= 13; k++ {
				C := X.Slice(0, k).Clone()
				pc := padCentroids(nil, C)
				rows := []int32{3, 0, 49, 17, 17, 8, 30}
				out := make([]float64, 3*len(rows))
				nearest2Rows(X, rows, pc, k, out)
				for q, i := range rows {
					b, v1, v2 := nearest2(X.Row(int(i)), pc, k)
					if out[3*q] != float64(b) || out[3*q+1] != math.Sqrt(v1) || out[3*q+2] != math.Sqrt(v2) {
						t.Fatalf("asm %v d=%d k=%d row %d: %v, want %d %v %v", useAVX2, d, k, i, out[3*q:3*q+3], b, math.Sqrt(v1), math.Sqrt(v2))
					}
				}
			}
		}
	})
}

func TestNearest3Rows(t *testing.T) {
	// Small integer coordinates make many exact ties: the nearest must be
	// the lowest index among them, the second any index at the second value,
	// the distances the three smallest of the multiset.
	bothPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, d := range []int{1, 4, 5, 6, 7, 16, 17, 62} {
			X := linalg.New(60, d)
			for i := range X.Data {
				X.Data[i] = float64(r.IntN(3))
			}
			rows := make([]int32, 60)
			for i := range rows {
				rows[i] = int32(i)
			}
			for k := 1; k <= 19; k++ {
				C := X.Slice(10, 10+k).Clone()
				pc := padCentroids(nil, C)
				out := make([]float64, 5*len(rows))
				if useAVX512 {
					// The blocked layout, rows in an order that is not
					// increasing and not a multiple of 8.
					rows := rows[3:]
					rows[0], rows[20] = rows[20], rows[0]
					blk := make([]float64, t3Len(len(rows)))
					nearest3RowsT(X, rows, C, k, blk, make([]float64, t3Scratch(d)))
					clear(out)
					for q, i := range rows {
						for f := 0; f < 5; f++ {
							out[5*int(i)+f] = blk[t3At(q)+8*f]
						}
					}
					rows[0], rows[20] = rows[20], rows[0]
					for q := 0; q < 3; q++ {
						nearest3Rows(X, []int32{int32(q)}, pc, k, nearest3Consts(nil, pc.Rows), out[5*q:5*q+5])
					}
				} else {
					nearest3Rows(X, rows, pc, k, nearest3Consts(nil, pc.Rows), out)
				}
				for q, i := range rows {
					dist, wb, sorted := refNearest(X.Row(int(i)), C)
					want := []float64{math.Sqrt(sorted[0]), math.Inf(1), math.Inf(1)}
					for m := 1; m < 3 && m < k; m++ {
						want[m] = math.Sqrt(sorted[m])
					}
					o := out[5*q : 5*q+5]
					if o[0] != float64(wb) || o[2] != want[0] || o[3] != want[1] || o[4] != want[2] {
						t.Fatalf("asm %v/%v d=%d k=%d row %d: %v, want %d %v", useAVX2, useAVX512, d, k, i, o, wb, want)
					}
					if k > 1 && (o[1] == o[0] || math.Sqrt(dist[int(o[1])]) != want[1]) {
						t.Fatalf("asm %v d=%d k=%d row %d: second index %v (distance %v), want one at %v", useAVX2, d, k, i, o[1], math.Sqrt(dist[int(o[1])]), want[1])
					}
				}
			}
		}
	})
}

// plainPP is greedy k-means++ computing every distance, in the seeder's
// order of operations: it must pick the same centroids.
func plainPP(X linalg.Matrix, k, trials int, rng *rand.Rand) linalg.Matrix {
	n := X.Rows
	centers := linalg.New(k, X.Cols)
	closest := make([]float64, n)
	c0 := X.Row(rng.IntN(n))
	copy(centers.Row(0), c0)
	for i := range closest {
		closest[i] = refSqDist(X.Row(i), c0)
	}
	cum := make([]float64, n)
	for c := 1; c < k; c++ {
		tot := 0.0
		for i, v := range closest {
			tot += v
			cum[i] = tot
		}
		cand := make([]int, trials)
		for t := range cand {
			cand[t] = min(sort.SearchFloat64s(cum, rng.Float64()*tot), n-1)
		}
		best, bestPot := 0, math.Inf(1)
		for t, idx := range cand {
			// Four partial sums over the rows i (mod 4), as the seeder.
			var g [4]float64
			for i := range n {
				if v := refSqDist(X.Row(i), X.Row(idx)); v < closest[i] {
					g[i%4] += closest[i] - v
				}
			}
			gain := (g[0] + g[1]) + (g[2] + g[3])
			if tot-gain < bestPot {
				best, bestPot = t, tot-gain
			}
		}
		for i := range n {
			closest[i] = min(closest[i], refSqDist(X.Row(i), X.Row(cand[best])))
		}
		copy(centers.Row(c), X.Row(cand[best]))
	}
	return centers
}

func TestSeederMatchesPlainSeedingAndState(t *testing.T) {
	// The seeder draws the same centroids as the plain algorithm, and its
	// final state is what a first assignment pass computes: the nearest seed
	// (lowest index on ties), a second-nearest and the distances to the
	// three nearest. 16 columns take the unrolled kernels.
	for _, d := range []int{5, 16} {
		X := blobs(703, d, 6, 2, 8) // 703: the kernels' remainder rows too
		for i := 0; i < 40; i++ {   // duplicate rows: exact ties
			copy(X.Row(100+i), X.Row(i))
		}
		checkSeeder(t, X)
	}
}

func checkSeeder(t *testing.T, X linalg.Matrix) {
	t.Helper()
	p := newProblem(X)
	var s seeder
	bothPaths(t, func(t *testing.T) {
		for _, k := range []int{1, 2, 5, 9} {
			for seed := uint64(0); seed < 3; seed++ {
				trials := 2 + int(math.Log(float64(k)))
				want := plainPP(X, k, trials, rng(seed))
				got := s.seed(p, k, trials, nil, rng(seed), 1, false)
				if !slices.Equal(got.Data, want.Data) || !s.state {
					t.Fatalf("k=%d seed %d: centroids differ", k, seed)
				}
				pc := padCentroids(nil, got)
				rows := make([]int32, X.Rows)
				for i := range rows {
					rows[i] = int32(i)
				}
				want3 := make([]float64, 5*X.Rows)
				nearest3Rows(X, rows, pc, k, nearest3Consts(nil, pc.Rows), want3)
				for i := 0; i < X.Rows; i++ {
					b, v1, v2 := nearest2(X.Row(i), pc, k)
					if s.lab[i] != b || s.closest[i] != v1 || s.second[i] != v2 {
						t.Fatalf("k=%d seed %d row %d: state (%d %v %v), want (%d %v %v)", k, seed, i, s.lab[i], s.closest[i], s.second[i], b, v1, v2)
					}
					w := want3[5*i : 5*i+5]
					if math.Sqrt(s.third[i]) != w[4] || (k > 1 && (s.lab2[i] == b || math.Sqrt(refSqDist(X.Row(i), got.Row(s.lab2[i]))) != w[3])) {
						t.Fatalf("k=%d seed %d row %d: second label %d, third %v; want third %v", k, seed, i, s.lab2[i], math.Sqrt(s.third[i]), w[4])
					}
				}
			}
		}
	})
}

func TestKMeansSamePathsSameResult(t *testing.T) {
	// The assembly and the portable kernels give the same bits, so the
	// same fit.
	X := blobs(1500, 16, 9, 3, 5)
	var ref *Result
	bothPaths(t, func(t *testing.T) {
		res, err := KMeans(context.Background(), X, KMeansOptions{K: 9, NInit: 3, Rng: rng(4), Threads: 1, Breathe: -1})
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = res
			return
		}
		sameResult(t, "portable", ref, res)
	})
}

func TestHamerly16AgreesWithLloyd(t *testing.T) {
	// The 16-column kernels, three-bound Hamerly and the seeded start must
	// reach Lloyd's partition in the same number of iterations (heavily
	// overlapping blobs: 48-85 iterations, many rows near boundaries).
	X := blobs(2500, 16, 12, 10, 21)
	for seed := uint64(0); seed < 4; seed++ {
		a, err := KMeans(context.Background(), X, KMeansOptions{K: 12, NInit: 2, Rng: rng(seed), Algorithm: AlgoLloyd, Tol: -1, Breathe: -1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, err := KMeans(context.Background(), X, KMeansOptions{K: 12, NInit: 2, Rng: rng(seed), Algorithm: AlgoHamerly, Tol: -1, Breathe: -1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Labels, b.Labels) || !near(a.Inertia, b.Inertia, 1e-12) || a.Iter != b.Iter {
			t.Fatalf("seed %d: lloyd inertia %v iter %d, hamerly %v iter %d", seed, a.Inertia, a.Iter, b.Inertia, b.Iter)
		}
	}
}

func TestHamBound8MatchesScalar(t *testing.T) {
	// The AVX-512 bound pass must move the bounds and append the same rows,
	// labels and limits as the scalar one, for every k up to 32 (one or two
	// permutes per lookup), with and without a pending move.
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(11, 12))
	n := 203
	for k := 1; k <= 32; k++ {
		for pend := 0; pend < 2; pend++ {
			labels := make([]int, n)
			b := make([]int32, n)
			u, lb, l3 := make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range labels {
				labels[i], b[i] = r.IntN(k), int32(r.IntN(k))
				u[i], lb[i], l3[i] = r.Float64(), r.Float64(), r.Float64()
				if i%7 == 0 {
					lb[i] = l3[i] // ties in min(lb, l3)
				}
			}
			tab := make([]float64, 4*k)
			tabv := make([]float64, 96)
			for j := 0; j < k; j++ {
				p, dl, s := r.Float64()/4, r.Float64()/4, r.Float64()/2
				tab[4*j], tab[4*j+1], tab[4*j+2] = p, dl, s
				tabv[j], tabv[32+j], tabv[64+j] = p, dl, s
			}
			lo, hi := 5, 5+8*((n-5)/8)
			run := func(vec bool) (int, []int32, []int32, []float64, [][]float64) {
				uu, ll, l33 := slices.Clone(u), slices.Clone(lb), slices.Clone(l3)
				rows, cents, lim := make([]int32, n), make([]int32, n), make([]float64, n)
				var nt int
				if vec {
					nt = hamBound8(&labels[0], &b[0], &uu[0], &ll[0], &l33[0], &tabv[0], lo, hi, pend, &rows[0], &cents[0], &lim[0])
				} else {
					nt = hamBound3(&labels[0], &b[0], &uu[0], &ll[0], &l33[0], &tab[0], lo, hi, pend, &rows[0], &cents[0], &lim[0])
				}
				return nt, rows[:nt], cents[:nt], lim[:nt], [][]float64{uu, ll, l33}
			}
			n1, r1, c1, m1, b1 := run(false)
			n2, r2, c2, m2, b2 := run(true)
			if n1 != n2 || !slices.Equal(r1, r2) || !slices.Equal(c1, c2) || !slices.Equal(m1, m2) {
				t.Fatalf("k=%d pending %d: %d rows appended, want %d (or lists differ)", k, pend, n2, n1)
			}
			for f := range b1 {
				if !slices.Equal(b1[f], b2[f]) {
					t.Fatalf("k=%d pending %d: bound %d differs", k, pend, f)
				}
			}
			if n1 == 0 || n1 == hi-lo {
				t.Fatalf("k=%d: degenerate case, %d of %d rows appended", k, n1, hi-lo)
			}
		}
	}
}
