//go:build amd64

package cluster

import "github.com/ncd-project/ncd/internal/simd"

// Implemented in kmeans_dist_amd64.s.

//go:noescape
func sqDistRows4(q *float64, rows *float64, d int, m int, out *float64, mask *[4]int64)

// useAVX2 reports whether the CPU and OS support AVX2 and FMA, which the
// assembly kernels need.
var useAVX2 = simd.AVX2FMA

//go:noescape
func nearest2x4(q *float64, C *float64, d int, k int, mask *[4]int64, cst *[12]float64, res *[3]float64)

//go:noescape
func sqDistPairs4(X *float64, C *float64, d int, rows *int32, cents *int32, m int, mask *[4]int64, out *float64, root int)

//go:noescape
func seedGain4(q *float64, X *float64, d int, n int, mask *[4]int64, closest *float64, out *float64, gain *[4]float64)

//go:noescape
func nearest2x4d16(q *float64, C *float64, k int, cst *[12]float64, res *[3]float64)

//go:noescape
func seedGain4d16(q *float64, X *float64, n int, closest *float64, out *float64, gain *[4]float64)

//go:noescape
func nearest2Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *[12]float64, out *float64)

//go:noescape
func nearest3Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *float64, out *float64)

//go:noescape
func seedAccept3x4(dist *float64, closest *float64, second *float64, third *float64, lab *int, lab2 *int, n int, c int)

//go:noescape
func hamBound3(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int

//go:noescape
func sqrtDistPairs16(X *float64, C *float64, rows *int32, cents *int32, m int, out *float64)

//go:noescape
func nearest3Rowsx4(X *float64, rows *int32, m int, C *float64, k int, d int, mask *[4]int64, cst *float64, out *float64)

// useAVX512 selects the AVX-512 kernels for 16 features (they give the same
// bits as the AVX2 and Go paths; see octLayout).
var useAVX512 = simd.AVX512

//go:noescape
func nearest3T16(X *float64, rows *int32, m int, C *float64, k int, out *float64)

//go:noescape
func hamBound8(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int

//go:noescape
func nearest3TG8(xt *float64, d int, C *float64, k int, out *float64)

//go:noescape
func seedGainMultiG(qd *float64, t int, w int, Xo *float64, n int, stride int, closest *float64, out *float64, gain *float64)

//go:noescape
func transpose8(X *float64, rows *int32, d int, xt *float64)

//go:noescape
func seedGainMultiNat16(qd *float64, t int, X *float64, n int, stride int, closest *float64, out *float64, gain *float64)
