//go:build amd64

package nn

// The row passes of Stack32 (stack32_amd64.s); see the Go versions in
// stack32.go.

//go:noescape
func bnStatsAVX512(y *float64, n int, inv float64) (mean, ss float64)

//go:noescape
func bnFwdAVX512(out *float32, y *float64, mask *uint8, n int, c *[5]float64)

//go:noescape
func bnSumsAVX512(dout, y *float64, mask *uint8, n int, c *[3]float64) (sg, sgx float64)

//go:noescape
func bnBwdAVX512(d32 *float32, dout, y *float64, mask *uint8, n int, c *[6]float64) (sum float64)

//go:noescape
func transpose32AVX(dst, src *float32, rows, cols int)

//go:noescape
func dropHashAVX512(mask *uint8, key uint64, blocks int, thr uint32)

//go:noescape
func transpose8x64AVX512(dst *float64, ldd int, rows *[8]*float64, cblocks int)
