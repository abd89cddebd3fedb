//go:build amd64

package estimate

import "github.com/ncd-project/ncd/internal/simd"

// The gather kernels' instruction sets (variables so that tests can force
// the other paths, which give the same bits).
var (
	useGather512 = simd.AVX512
	useGather256 = simd.AVX2FMA
	useDist512   = simd.AVX512
)

// Implemented in silhouette_amd64.s.

//go:noescape
func gather8x512(acc *[silMicro]float64, base *float64, cols *int32, n int)

//go:noescape
func gather8x256(acc *[silMicro]float64, base *float64, cols *int32, n int)

//go:noescape
func silDist512(X *float64, n int, d int, blkT *float64, norms *float64, bn *float64, out *float64)
