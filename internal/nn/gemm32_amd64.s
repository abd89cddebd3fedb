//go:build amd64

#include "textflag.h"

// AVX-512 float32 micro-kernel for the wide layer products (see gemm32.go).
// Like fma8x24 (gemm_amd64.s) it keeps an 8-row block of the output in 24
// ZMM registers, but each register holds 16 float32 values, so a block is
// 8 x 48 and every FMA does twice the work. Per step of the summed index it
// loads one 48-wide row slice of B and broadcasts one element of each of
// the 8 rows of A. The sums of the block (one float32 FMA chain per output
// element, in index order, from zero) are widened to float64 and stored,
// or added in float64 to the value already in C (acc != 0): the summed
// index runs in blocks and the blocks are accumulated in float64.

// STORE widens accumulator A (Z register, Y its low half) to 16 float64
// values and writes them to BX+off (off: 0, 128 or 256) under masks KL, KH.
#define STORE(A, Y, off, KL, KH) \
	VCVTPS2PD Y, Z24; \
	VEXTRACTF64X4 $1, A, Y25; \
	VCVTPS2PD Y25, Z25; \
	VMOVUPD Z24, KL, off(BX); \
	VMOVUPD Z25, KH, off+64(BX)

// ADDSTORE is STORE adding to the float64 values in C.
#define ADDSTORE(A, Y, off, KL, KH) \
	VCVTPS2PD Y, Z24; \
	VEXTRACTF64X4 $1, A, Y25; \
	VCVTPS2PD Y25, Z25; \
	VMOVUPD.Z off(BX), KL, Z26; \
	VMOVUPD.Z off+64(BX), KH, Z27; \
	VADDPD Z26, Z24, Z24; \
	VADDPD Z27, Z25, Z25; \
	VMOVUPD Z24, KL, off(BX); \
	VMOVUPD Z25, KH, off+64(BX)

#define ROW(S, i, A0, Y0, A1, Y1, A2, Y2) \
	MOVQ i*8(SI), BX; \
	S(A0, Y0, 0, K1, K2); \
	S(A1, Y1, 128, K3, K4); \
	S(A2, Y2, 256, K5, K6)

// func fma8x48s(a *[8]*float32, astep int, b *float32, ldb int, k int, c *[8]*float64, mask int, acc int)
// For r < 8, j < 48 with bit j of mask set:
//   c[r][j] = (acc ? c[r][j] : 0) + float64(sum_{l<k} a[r][l*astep] * b[l*ldb+j])
// with the sum in float32 (astep 1: a's rows are contiguous; a.Cols: a
// points into the columns of a row-major matrix, read as its transpose).
// Masked-off columns are neither read nor written.
TEXT ·fma8x48s(SB), NOSPLIT, $0-64
	MOVQ a+0(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ 48(AX), R14
	MOVQ 56(AX), R15
	MOVQ astep+8(FP), BX
	SHLQ $2, BX
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), DX
	SHLQ $2, DX
	MOVQ k+32(FP), CX
	MOVQ c+40(FP), SI
	MOVQ mask+48(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	XORQ AX, AX
	TESTQ CX, CX
	JZ store
loop:
	VMOVUPS.Z 0(DI), K1, Z24
	VMOVUPS.Z 64(DI), K2, Z25
	VMOVUPS.Z 128(DI), K3, Z26
	VBROADCASTSS (R8)(AX*1), Z27
	VFMADD231PS Z24, Z27, Z0
	VFMADD231PS Z25, Z27, Z1
	VFMADD231PS Z26, Z27, Z2
	VBROADCASTSS (R9)(AX*1), Z28
	VFMADD231PS Z24, Z28, Z3
	VFMADD231PS Z25, Z28, Z4
	VFMADD231PS Z26, Z28, Z5
	VBROADCASTSS (R10)(AX*1), Z29
	VFMADD231PS Z24, Z29, Z6
	VFMADD231PS Z25, Z29, Z7
	VFMADD231PS Z26, Z29, Z8
	VBROADCASTSS (R11)(AX*1), Z30
	VFMADD231PS Z24, Z30, Z9
	VFMADD231PS Z25, Z30, Z10
	VFMADD231PS Z26, Z30, Z11
	VBROADCASTSS (R12)(AX*1), Z27
	VFMADD231PS Z24, Z27, Z12
	VFMADD231PS Z25, Z27, Z13
	VFMADD231PS Z26, Z27, Z14
	VBROADCASTSS (R13)(AX*1), Z28
	VFMADD231PS Z24, Z28, Z15
	VFMADD231PS Z25, Z28, Z16
	VFMADD231PS Z26, Z28, Z17
	VBROADCASTSS (R14)(AX*1), Z29
	VFMADD231PS Z24, Z29, Z18
	VFMADD231PS Z25, Z29, Z19
	VFMADD231PS Z26, Z29, Z20
	VBROADCASTSS (R15)(AX*1), Z30
	VFMADD231PS Z24, Z30, Z21
	VFMADD231PS Z25, Z30, Z22
	VFMADD231PS Z26, Z30, Z23
	ADDQ BX, AX
	ADDQ DX, DI
	DECQ CX
	JNZ loop
store:
	// Six 8-bit masks for the float64 stores.
	MOVQ mask+48(FP), AX
	KMOVW AX, K1
	SHRQ $8, AX
	KMOVW AX, K2
	SHRQ $8, AX
	KMOVW AX, K3
	SHRQ $8, AX
	KMOVW AX, K4
	SHRQ $8, AX
	KMOVW AX, K5
	SHRQ $8, AX
	KMOVW AX, K6
	MOVQ acc+56(FP), AX
	TESTQ AX, AX
	JNZ add
	ROW(STORE, 0, Z0, Y0, Z1, Y1, Z2, Y2)
	ROW(STORE, 1, Z3, Y3, Z4, Y4, Z5, Y5)
	ROW(STORE, 2, Z6, Y6, Z7, Y7, Z8, Y8)
	ROW(STORE, 3, Z9, Y9, Z10, Y10, Z11, Y11)
	ROW(STORE, 4, Z12, Y12, Z13, Y13, Z14, Y14)
	ROW(STORE, 5, Z15, Y15, Z16, Y16, Z17, Y17)
	ROW(STORE, 6, Z18, Y18, Z19, Y19, Z20, Y20)
	ROW(STORE, 7, Z21, Y21, Z22, Y22, Z23, Y23)
	VZEROUPPER
	RET
add:
	ROW(ADDSTORE, 0, Z0, Y0, Z1, Y1, Z2, Y2)
	ROW(ADDSTORE, 1, Z3, Y3, Z4, Y4, Z5, Y5)
	ROW(ADDSTORE, 2, Z6, Y6, Z7, Y7, Z8, Y8)
	ROW(ADDSTORE, 3, Z9, Y9, Z10, Y10, Z11, Y11)
	ROW(ADDSTORE, 4, Z12, Y12, Z13, Y13, Z14, Y14)
	ROW(ADDSTORE, 5, Z15, Y15, Z16, Y16, Z17, Y17)
	ROW(ADDSTORE, 6, Z18, Y18, Z19, Y19, Z20, Y20)
	ROW(ADDSTORE, 7, Z21, Y21, Z22, Y22, Z23, Y23)
	VZEROUPPER
	RET

// func cvt64to32(dst *float32, src *float64, n int)
// dst[i] = float32(src[i]) (round to nearest even, as Go's conversion) for
// i < n; n must be a multiple of 8.
TEXT ·cvt64to32(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ cvtdone
cvtloop:
	VCVTPD2PS 0(SI), Y0
	VMOVUPS Y0, 0(DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ cvtloop
cvtdone:
	VZEROUPPER
	RET
