//go:build amd64

package spectral

import "github.com/ncd-project/ncd/internal/simd"

// Implemented in kernels_amd64.s.

//go:noescape
func dot4x3(a *float64, lda int, b *float64, ldb int, n int, c *float64)

//go:noescape
func dot4x3f32(a *float32, lda int, b *float64, ldb int, n int, c *float64)

//go:noescape
func dot4x6z(a *float64, lda int, b *float64, ldb int, n int, c *float64, ldc int)

//go:noescape
func dot4x6zf32(a *float32, lda int, b *float64, ldb int, n int, c *float64, ldc int)

//go:noescape
func expaffz(row *float64, n int, ninv float64, cs *float64) float64

//go:noescape
func expaffzf32(row *float32, n int, ninv float64, cs *float64) float64

//go:noescape
func sqdistTz(u *float64, d int, xt *float64, ldx int, m int, out *float64)

//go:noescape
func atb12x16z(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int)

//go:noescape
func atb4x12(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int)

//go:noescape
func rot8(x *float64, y *float64, n int, c float64, s float64)

//go:noescape
func sqdist4(u *float64, x *float64, d int, r int, out *float64)

// useAsm reports whether the CPU and OS support AVX2 and FMA, which the
// assembly kernels need.
var useAsm = simd.AVX2FMA

// useAVX512 reports whether the AVX-512 kernels may run as well (only
// consulted when useAsm is set).
var useAVX512 = simd.AVX512
