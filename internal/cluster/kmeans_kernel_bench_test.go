package cluster

import (
	"fmt"
	"testing"
)

// BenchmarkKernels16 times the 16-column hot kernels of the k-means scan on
// each path (avx512, avx2, go) at letter's novel-row shape: n = 3832 rows,
// k = 30 centroids, 5 k-means++ candidates.
func BenchmarkKernels16(b *testing.B) {
	X := blobs(3832, 16, 7, 3, 1)
	k := 30
	C := X.Slice(0, k).Clone()
	pc := padCentroids(nil, C)
	cst := nearest3Consts(nil, pc.Rows)
	blk := make([]float64, t3Len(X.Rows))
	rows := make([]int32, X.Rows)
	for i := range rows {
		rows[i] = int32(i)
	}
	out := make([]float64, 5*X.Rows)
	closest := make([]float64, X.Rows)
	for i := range closest {
		closest[i] = sqDist(X.Row(i), X.Row(7))
	}
	cand := []int{11, 500, 1200, 3000, 3800}
	dist := make([]float64, len(cand)*X.Rows)
	gain := make([]float64, len(cand))
	var qd []float64
	paths := []struct {
		name         string
		avx2, avx512 bool
	}{{"avx512", true, true}, {"avx2", true, false}, {"go", false, false}}
	for _, pa := range paths {
		if (pa.avx2 && !useAVX2) || (pa.avx512 && !useAVX512) {
			continue
		}
		set := func() func() {
			s2, s5 := useAVX2, useAVX512
			useAVX2, useAVX512 = pa.avx2, pa.avx512
			return func() { useAVX2, useAVX512 = s2, s5 }
		}
		b.Run(fmt.Sprintf("nearest3/%s", pa.name), func(b *testing.B) {
			defer set()()
			for b.Loop() {
				if useAVX512 {
					nearest3RowsT(X, rows, C, k, blk, nil)
				} else {
					nearest3Rows(X, rows, pc, k, cst, out)
				}
			}
		})
		b.Run(fmt.Sprintf("seedGain5/%s", pa.name), func(b *testing.B) {
			defer set()()
			for b.Loop() {
				if useAVX512 {
					seedGainsOct(X, X.Data, cand, closest, dist, gain, &qd)
				} else {
					for t, c := range cand {
						gain[t] = seedGain(X.Row(c), X, closest, dist[t*X.Rows:(t+1)*X.Rows])
					}
				}
			}
		})
	}
}
