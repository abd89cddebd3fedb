//go:build amd64

package spectral

// Implemented in kernels_amd64.s.

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

//go:noescape
func dot4x3(a *float64, lda int, b *float64, ldb int, n int, c *float64)

//go:noescape
func dot4x3f32(a *float32, lda int, b *float64, ldb int, n int, c *float64)

//go:noescape
func atb4x12(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int)

//go:noescape
func sqdist4(u *float64, x *float64, d int, r int, out *float64)

// useAsm reports whether the CPU and OS support AVX2 and FMA (YMM state
// saved by the OS), which the assembly kernels need.
var useAsm = func() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}()
