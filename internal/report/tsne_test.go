package report

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// blobs returns k Gaussian blobs in d dimensions, centres 20 apart.
func blobs(n, d, k int, seed uint64) (linalg.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := linalg.New(n, d)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		y[i] = i % k
		for j := 0; j < d; j++ {
			c := 0.0
			if j == y[i]%d {
				c = 20
			}
			X.Data[i*d+j] = c + rng.NormFloat64()
		}
	}
	return X, y
}

// Hand case: points on the line y = 2x have one component (variance share
// 1), the projections are the signed distances from the mean along
// (1, 2)/sqrt(5).
func TestPCALine(t *testing.T) {
	X := linalg.FromRows([][]float64{{-1, -2}, {0, 0}, {1, 2}, {2, 4}})
	Y, share := PCA(X)
	if math.Abs(share[0]-1) > 1e-12 || math.Abs(share[1]) > 1e-12 {
		t.Fatalf("share %v", share)
	}
	s5 := math.Sqrt(5)
	for i, want := range []float64{-1.5 * s5, -0.5 * s5, 0.5 * s5, 1.5 * s5} {
		if math.Abs(Y[2*i]-want) > 1e-9 || math.Abs(Y[2*i+1]) > 1e-9 {
			t.Fatalf("row %d: %v, want %v, 0", i, Y[2*i:2*i+2], want)
		}
	}
}

func TestKNNBruteForce(t *testing.T) {
	X, _ := blobs(300, 5, 3, 2)
	nbr, dist := knn(X, 10, 2)
	for i := 0; i < X.Rows; i++ {
		type c struct {
			j int
			d float64
		}
		var all []c
		for j := 0; j < X.Rows; j++ {
			if j != i {
				all = append(all, c{j, linalg.SqDistRows(X.Row(i), X.Row(j))})
			}
		}
		slices.SortStableFunc(all, func(a, b c) int {
			switch {
			case a.d < b.d:
				return -1
			case a.d > b.d:
				return 1
			}
			return 0
		})
		for t2 := 0; t2 < 10; t2++ {
			if int(nbr[i*10+t2]) != all[t2].j || math.Abs(dist[i*10+t2]-all[t2].d) > 1e-9 {
				t.Fatalf("row %d neighbour %d: %d (%g), want %d (%g)", i, t2, nbr[i*10+t2], dist[i*10+t2], all[t2].j, all[t2].d)
			}
		}
	}
}

// Four separated blobs stay separated: every point's nearest map neighbour
// is of its blob; and 1 and 2 threads give the same map, bit for bit.
func TestTSNEBlobsAndThreads(t *testing.T) {
	X, y := blobs(400, 6, 4, 3)
	o := TSNEOptions{Threads: 1, EarlyIters: 100, Iters: 150}
	a, err := TSNE(context.Background(), X, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Threads = 2
	b, _ := TSNE(context.Background(), X, o)
	if !slices.Equal(a, b) {
		t.Fatal("maps differ between 1 and 2 threads")
	}
	wrong := 0
	for i := 0; i < X.Rows; i++ {
		best, bd := -1, math.Inf(1)
		for j := 0; j < X.Rows; j++ {
			if j == i {
				continue
			}
			dx, dy := a[2*i]-a[2*j], a[2*i+1]-a[2*j+1]
			if d := dx*dx + dy*dy; d < bd {
				best, bd = j, d
			}
		}
		if y[best] != y[i] {
			wrong++
		}
	}
	if wrong > 0 {
		t.Fatalf("%d of %d points have a nearest map neighbour of another blob", wrong, X.Rows)
	}
}

func BenchmarkTSNE10k(b *testing.B) {
	X, _ := blobs(10000, 16, 10, 4)
	for b.Loop() {
		if _, err := TSNE(context.Background(), X, TSNEOptions{Threads: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
