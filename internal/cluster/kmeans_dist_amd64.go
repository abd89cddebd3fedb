//go:build amd64

package cluster

// Implemented in kmeans_dist_amd64.s.

func kmCpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func kmXgetbv() (eax, edx uint32)

//go:noescape
func sqDistRows4(q *float64, rows *float64, d int, m int, out *float64, mask *[4]int64)

// useAVX2 reports whether the CPU and OS support AVX2 and FMA (YMM state
// saved by the OS), which the assembly kernels need.
var useAVX2 = func() bool {
	maxID, _, _, _ := kmCpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := kmCpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := kmXgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := kmCpuid(7, 0)
	return ebx7&(1<<5) != 0
}()

//go:noescape
func nearest2x4(q *float64, C *float64, d int, k int, mask *[4]int64, cst *[12]float64, res *[3]float64)

//go:noescape
func sqDistPairs4(X *float64, C *float64, d int, rows *int32, cents *int32, m int, mask *[4]int64, out *float64, root int)

//go:noescape
func seedGain4(q *float64, X *float64, d int, n int, mask *[4]int64, closest *float64, out *float64, gain *[4]float64)

//go:noescape
func seedAccept4(dist *float64, closest *float64, second *float64, lab *int, n int, c int)

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
