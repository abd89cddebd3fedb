//go:build !amd64

package spectral

// Without the amd64 assembly every product takes the portable Go path.
var useAsm = false

var useAVX512 = false

func dot4x3(a *float64, lda int, b *float64, ldb int, n int, c *float64) {
	panic("spectral: no assembly kernels on this architecture")
}

func dot4x3f32(a *float32, lda int, b *float64, ldb int, n int, c *float64) {
	panic("spectral: no assembly kernels on this architecture")
}

func dot4x6z(a *float64, lda int, b *float64, ldb int, n int, c *float64, ldc int) {
	panic("spectral: no assembly kernels on this architecture")
}

func dot4x6zf32(a *float32, lda int, b *float64, ldb int, n int, c *float64, ldc int) {
	panic("spectral: no assembly kernels on this architecture")
}

func expaffz(row *float64, n int, ninv float64, cs *float64) float64 {
	panic("spectral: no assembly kernels on this architecture")
}

func expaffzf32(row *float32, n int, ninv float64, cs *float64) float64 {
	panic("spectral: no assembly kernels on this architecture")
}

func sqdistTz(u *float64, d int, xt *float64, ldx int, m int, out *float64) {
	panic("spectral: no assembly kernels on this architecture")
}

func atb12x16z(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int) {
	panic("spectral: no assembly kernels on this architecture")
}

func atb4x12(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int) {
	panic("spectral: no assembly kernels on this architecture")
}

func sqdist4(u *float64, x *float64, d int, r int, out *float64) {
	panic("spectral: no assembly kernels on this architecture")
}

func rot8(x *float64, y *float64, n int, c float64, s float64) {
	panic("spectral: no assembly kernels on this architecture")
}
