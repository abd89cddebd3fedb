//go:build !amd64

package nn

// Without the amd64 assembly every product takes the gonum path.
var useAVX512 = false

func fma8x24(a *[8]*float64, b *float64, ldb int, k int, c *[8]*float64, mask int, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func adamwAVX512(p, gr, m, v *float64, w32 *float32, n int, c *[7]float64) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x48s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x32s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x16s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x48sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x32sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func fma8x16sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int) {
	panic("nn: no assembly kernels on this architecture")
}

func cvt64to32(dst *float32, src *float64, n int) {
	panic("nn: no assembly kernels on this architecture")
}
