//go:build !amd64

package estimate

var useGather512, useGather256 = false, false

func gather8x512(acc *[silMicro]float64, base *float64, cols *int32, n int) {
	panic("estimate: no assembly kernels on this architecture")
}

func gather8x256(acc *[silMicro]float64, base *float64, cols *int32, n int) {
	panic("estimate: no assembly kernels on this architecture")
}
