//go:build !amd64

package estimate

var useGather512, useGather256, useDist512 = false, false, false

func gather8x512(acc *[silMicro]float64, base *float64, cols *int32, n int) {
	panic("estimate: no assembly kernels on this architecture")
}

func gather8x256(acc *[silMicro]float64, base *float64, cols *int32, n int) {
	panic("estimate: no assembly kernels on this architecture")
}

func silDist512(X *float64, n int, d int, blkT *float64, norms *float64, bn *float64, out *float64) {
	panic("estimate: no assembly kernels on this architecture")
}
