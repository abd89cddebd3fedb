//go:build !amd64

package cluster

// Without the amd64 assembly every distance takes the portable Go path,
// which gives the same bits.
var useAVX2 = false

func sqDistRows4(q *float64, rows *float64, d int, m int, out *float64, mask *[4]int64) {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest2x4(q *float64, C *float64, d int, k int, mask *[4]int64, cst *[12]float64, res *[3]float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func sqDistPairs4(X *float64, C *float64, d int, rows *int32, cents *int32, m int, mask *[4]int64, out *float64, root int) {
	panic("cluster: no assembly kernels on this architecture")
}

func seedGain4(q *float64, X *float64, d int, n int, mask *[4]int64, closest *float64, out *float64, gain *[4]float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest2x4d16(q *float64, C *float64, k int, cst *[12]float64, res *[3]float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func seedGain4d16(q *float64, X *float64, n int, closest *float64, out *float64, gain *[4]float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest2Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *[12]float64, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest3Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *float64, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func seedAccept3x4(dist *float64, closest *float64, second *float64, third *float64, lab *int, lab2 *int, n int, c int) {
	panic("cluster: no assembly kernels on this architecture")
}

func hamBound3(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int {
	panic("cluster: no assembly kernels on this architecture")
}

func sqrtDistPairs16(X *float64, C *float64, rows *int32, cents *int32, m int, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest3Rowsx4(X *float64, rows *int32, m int, C *float64, k int, d int, mask *[4]int64, cst *float64, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

var useAVX512 = false

func nearest3T16(X *float64, rows *int32, m int, C *float64, k int, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func hamBound8(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int {
	panic("cluster: no assembly kernels on this architecture")
}

func nearest3TG8(xt *float64, d int, C *float64, k int, out *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func seedGainMultiG(qd *float64, t int, w int, Xo *float64, n int, stride int, closest *float64, out *float64, gain *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func transpose8(X *float64, rows *int32, d int, xt *float64) {
	panic("cluster: no assembly kernels on this architecture")
}

func seedGainMultiNat16(qd *float64, t int, X *float64, n int, stride int, closest *float64, out *float64, gain *float64) {
	panic("cluster: no assembly kernels on this architecture")
}
