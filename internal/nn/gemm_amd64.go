//go:build amd64

package nn

import "github.com/ncd-project/ncd/internal/simd"

// useAVX512 selects the AVX-512 kernel (gemm_amd64.s) for the layer
// products; a variable so that tests can compare it with the gonum path.
var useAVX512 = simd.AVX512

// fma8x24 computes an up-to-8 x 24 block of C = A B (see gemm_amd64.s).
//
//go:noescape
func fma8x24(a *[8]*float64, b *float64, ldb int, k int, c *[8]*float64, mask int, acc int)

// adamwAVX512 applies AdamW's update to n parameters (see adamw_amd64.s).
//
//go:noescape
func adamwAVX512(p, gr, m, v *float64, w32 *float32, n int, c *[7]float64)

// fma8x48s computes an up-to-8 x 48 block of C = A B with float32 operands
// and float64 C (see gemm32_amd64.s).
//
//go:noescape
func fma8x48s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int)

// fma8x32s and fma8x16s are fma8x48s for blocks of at most 32 and 16
// columns (the last of a product), with the same values.
//
//go:noescape
func fma8x32s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int)

//go:noescape
func fma8x16s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int)

// fma8x48sN, fma8x32sN and fma8x16sN run their kernel over nblk
// consecutive 8-row blocks (rows arow apart in a, ldc apart in c) in one
// call.
//
//go:noescape
func fma8x48sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int)

//go:noescape
func fma8x32sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int)

//go:noescape
func fma8x16sN(a *float32, arow, astep int, b *float32, ldb, k int, c *float64, ldc, nblk, mask, acc int)

// cvt64to32 converts n (a multiple of 8) float64 values to float32.
//
//go:noescape
func cvt64to32(dst *float32, src *float64, n int)
