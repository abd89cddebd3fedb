package estimate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// gatherPaths runs fn with the AVX-512 gather and distance kernels, the
// AVX gather with gonum's Dgemm, and the Go loops (those the CPU has).
func gatherPaths(t *testing.T, fn func(name string)) {
	t.Helper()
	s5, s2, sd := useGather512, useGather256, useDist512
	defer func() { useGather512, useGather256, useDist512 = s5, s2, sd }()
	for _, p := range []struct {
		name       string
		g5, g2, d5 bool
	}{{"avx512", true, true, true}, {"avx512-gemm", true, true, false}, {"avx", false, true, false}, {"go", false, false, false}} {
		if (p.g5 && !s5) || (p.g2 && !s2) || (p.d5 && !sd) {
			continue
		}
		useGather512, useGather256, useDist512 = p.g5, p.g2, p.d5
		fn(p.name)
	}
}

func TestGather8Order(t *testing.T) {
	// Every path sums each row in four chains over the list positions
	// (mod 4), the first starting from acc: the same bits.
	r := rand.New(rand.NewPCG(3, 3))
	n := 40
	dist := make([]float64, n*silBlock)
	for i := range dist {
		dist[i] = r.Float64() * math.Pow(10, float64(r.IntN(12)-6))
	}
	for m := 0; m <= 13; m++ {
		cols := make([]int32, m)
		for i := range cols {
			cols[i] = int32(r.IntN(n))
		}
		for _, m0 := range []int{0, 8, silBlock - silMicro} {
			var start [silMicro]float64
			for i := range start {
				start[i] = r.Float64()
			}
			var want [silMicro]float64
			for row := range want {
				var s [4]float64
				s[0] = start[row]
				for p, j := range cols {
					s[p%4] += dist[int(j)*silBlock+m0+row]
				}
				want[row] = (s[0] + s[1]) + (s[2] + s[3])
			}
			gatherPaths(t, func(name string) {
				acc := start
				gather8(&acc, dist, m0, cols)
				if acc != want {
					t.Fatalf("%s: %d columns, m0 %d: %v, want %v", name, m, m0, acc, want)
				}
			})
		}
	}
}

func TestSilhouetteManySameOnEveryPath(t *testing.T) {
	// Distances (AVX-512 kernel or gonum's Dgemm) and gathers: the same bits
	// on every path, for several widths and a partial last block.
	r := rand.New(rand.NewPCG(8, 9))
	for _, d := range []int{1, 5, 16, 62} {
		X := linalg.New(300, d)
		for i := range X.Data {
			X.Data[i] = r.NormFloat64()
		}
		labs := randomLabelings(X.Rows, 2, 4)[:12]
		// A near copy of an earlier labelling: scored from it as a base.
		near := slices.Clone(labs[10])
		near[3], near[77] = near[77], (near[3]+1)%5
		labs = append(labs, near)
		var ref []float64
		gatherPaths(t, func(name string) {
			got := SilhouetteMany(X, labs, 2)
			if ref == nil {
				ref = got
				for i, l := range labs {
					if w := Silhouette(X, l, 1); math.Abs(got[i]-w) > 1e-12*math.Abs(w) {
						t.Fatalf("d=%d labelling %d: %v, alone %v", d, i, got[i], w)
					}
				}
				return
			}
			if !slices.Equal(got, ref) {
				t.Fatalf("d=%d %s: %v, want %v", d, name, got, ref)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	// Labels are numbered in sorted order, whatever their range.
	for _, c := range []struct {
		in   []int
		want []int32
		k    int
	}{
		{[]int{2, 0, 2, 5}, []int32{1, 0, 1, 2}, 3},
		{[]int{-3, 7, 7, -3, 1000000}, []int32{0, 1, 1, 0, 2}, 3},
		{[]int{4, 4}, []int32{0, 0}, 1},
		{nil, nil, 0},
	} {
		got, k := encode(c.in)
		if k != c.k || !slices.Equal(got, c.want) {
			t.Fatalf("encode(%v) = %v, %d; want %v, %d", c.in, got, k, c.want, c.k)
		}
	}
}
