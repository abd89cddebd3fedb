//go:build amd64

#include "textflag.h"

// AVX2 + FMA (and AVX-512) micro-kernels for the products that dominate spectral
// embedding. Go's compiler does not vectorize, and gonum's kernels are SSE2
// dot/axpy loops that reuse no operand across outputs; these register-tiled
// kernels reuse every load three or four times.

// HSUMADD reduces the four lanes of Y, adds the double at off(DX) and
// stores the sum there. Clobbers X12 and the upper half of Y.
#define HSUMADD(Y, X, off) \
	VEXTRACTF128 $1, Y, X12; \
	VADDPD       X12, X, X; \
	VPERMILPD    $1, X, X12; \
	VADDSD       X12, X, X; \
	VADDSD       off(DX), X, X; \
	VMOVSD       X, off(DX)

#define ZERO12 \
	VXORPD Y0, Y0, Y0; \
	VXORPD Y1, Y1, Y1; \
	VXORPD Y2, Y2, Y2; \
	VXORPD Y3, Y3, Y3; \
	VXORPD Y4, Y4, Y4; \
	VXORPD Y5, Y5, Y5; \
	VXORPD Y6, Y6, Y6; \
	VXORPD Y7, Y7, Y7; \
	VXORPD Y8, Y8, Y8; \
	VXORPD Y9, Y9, Y9; \
	VXORPD Y10, Y10, Y10; \
	VXORPD Y11, Y11, Y11

#define STORE12 \
	HSUMADD(Y0, X0, 0); \
	HSUMADD(Y1, X1, 8); \
	HSUMADD(Y2, X2, 16); \
	HSUMADD(Y3, X3, 24); \
	HSUMADD(Y4, X4, 32); \
	HSUMADD(Y5, X5, 40); \
	HSUMADD(Y6, X6, 48); \
	HSUMADD(Y7, X7, 56); \
	HSUMADD(Y8, X8, 64); \
	HSUMADD(Y9, X9, 72); \
	HSUMADD(Y10, X10, 80); \
	HSUMADD(Y11, X11, 88)

// func dot4x3(a *float64, lda int, b *float64, ldb int, n int, c *float64)
// c[r*3+s] += sum_{j<n} a[r*lda+j] * b[s*ldb+j] for r < 4, s < 3.
// n must be a multiple of 4.
TEXT ·dot4x3(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $3, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ n+32(FP), CX
	SHRQ $2, CX
	MOVQ c+40(FP), DX
	LEAQ (SI)(R13*1), R8
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R10
	LEAQ (DI)(R14*1), R11
	LEAQ (R11)(R14*1), R12
	ZERO12
	XORQ AX, AX
	TESTQ CX, CX
	JZ   dot4x3done

dot4x3loop:
	VMOVUPD     (DI)(AX*1), Y12
	VMOVUPD     (R11)(AX*1), Y13
	VMOVUPD     (R12)(AX*1), Y14
	VMOVUPD     (SI)(AX*1), Y15
	VFMADD231PD Y12, Y15, Y0
	VFMADD231PD Y13, Y15, Y1
	VFMADD231PD Y14, Y15, Y2
	VMOVUPD     (R8)(AX*1), Y15
	VFMADD231PD Y12, Y15, Y3
	VFMADD231PD Y13, Y15, Y4
	VFMADD231PD Y14, Y15, Y5
	VMOVUPD     (R9)(AX*1), Y15
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VFMADD231PD Y14, Y15, Y8
	VMOVUPD     (R10)(AX*1), Y15
	VFMADD231PD Y12, Y15, Y9
	VFMADD231PD Y13, Y15, Y10
	VFMADD231PD Y14, Y15, Y11
	ADDQ        $32, AX
	DECQ        CX
	JNZ         dot4x3loop

dot4x3done:
	STORE12
	VZEROUPPER
	RET

// func dot4x3f32(a *float32, lda int, b *float64, ldb int, n int, c *float64)
// As dot4x3, with a in float32 (widened exactly to float64 on load; all
// arithmetic in float64).
TEXT ·dot4x3f32(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $2, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ n+32(FP), CX
	SHRQ $2, CX
	MOVQ c+40(FP), DX
	LEAQ (SI)(R13*1), R8
	LEAQ (R8)(R13*1), R9
	LEAQ (R9)(R13*1), R10
	LEAQ (DI)(R14*1), R11
	LEAQ (R11)(R14*1), R12
	ZERO12
	XORQ AX, AX
	XORQ BX, BX
	TESTQ CX, CX
	JZ   dot4x3f32done

dot4x3f32loop:
	VMOVUPD     (DI)(AX*1), Y12
	VMOVUPD     (R11)(AX*1), Y13
	VMOVUPD     (R12)(AX*1), Y14
	VCVTPS2PD   (SI)(BX*1), Y15
	VFMADD231PD Y12, Y15, Y0
	VFMADD231PD Y13, Y15, Y1
	VFMADD231PD Y14, Y15, Y2
	VCVTPS2PD   (R8)(BX*1), Y15
	VFMADD231PD Y12, Y15, Y3
	VFMADD231PD Y13, Y15, Y4
	VFMADD231PD Y14, Y15, Y5
	VCVTPS2PD   (R9)(BX*1), Y15
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VFMADD231PD Y14, Y15, Y8
	VCVTPS2PD   (R10)(BX*1), Y15
	VFMADD231PD Y12, Y15, Y9
	VFMADD231PD Y13, Y15, Y10
	VFMADD231PD Y14, Y15, Y11
	ADDQ        $32, AX
	ADDQ        $16, BX
	DECQ        CX
	JNZ         dot4x3f32loop

dot4x3f32done:
	STORE12
	VZEROUPPER
	RET

// func atb4x12(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int)
// c[r*ldc+j] += sum_{l<q} a[l*lda+r] * b[l*ldb+j] for r < 4, j < 12.
TEXT ·atb4x12(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $3, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ q+32(FP), CX
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	SHLQ $3, R8
	LEAQ (DX)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD (R9), Y3
	VMOVUPD 32(R9), Y4
	VMOVUPD 64(R9), Y5
	VMOVUPD (R10), Y6
	VMOVUPD 32(R10), Y7
	VMOVUPD 64(R10), Y8
	VMOVUPD (R11), Y9
	VMOVUPD 32(R11), Y10
	VMOVUPD 64(R11), Y11
	TESTQ CX, CX
	JZ   atbdone

atbloop:
	VMOVUPD      (DI), Y12
	VMOVUPD      32(DI), Y13
	VMOVUPD      64(DI), Y14
	VBROADCASTSD (SI), Y15
	VFMADD231PD  Y12, Y15, Y0
	VFMADD231PD  Y13, Y15, Y1
	VFMADD231PD  Y14, Y15, Y2
	VBROADCASTSD 8(SI), Y15
	VFMADD231PD  Y12, Y15, Y3
	VFMADD231PD  Y13, Y15, Y4
	VFMADD231PD  Y14, Y15, Y5
	VBROADCASTSD 16(SI), Y15
	VFMADD231PD  Y12, Y15, Y6
	VFMADD231PD  Y13, Y15, Y7
	VFMADD231PD  Y14, Y15, Y8
	VBROADCASTSD 24(SI), Y15
	VFMADD231PD  Y12, Y15, Y9
	VFMADD231PD  Y13, Y15, Y10
	VFMADD231PD  Y14, Y15, Y11
	ADDQ         R13, SI
	ADDQ         R14, DI
	DECQ         CX
	JNZ          atbloop

atbdone:
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, (R9)
	VMOVUPD Y4, 32(R9)
	VMOVUPD Y5, 64(R9)
	VMOVUPD Y6, (R10)
	VMOVUPD Y7, 32(R10)
	VMOVUPD Y8, 64(R10)
	VMOVUPD Y9, (R11)
	VMOVUPD Y10, 32(R11)
	VMOVUPD Y11, 64(R11)
	VZEROUPPER
	RET

// func sqdist4(u *float64, x *float64, d int, r int, out *float64)
// out[i] = sum_{k<d} (x[i*d+k] - u[k])^2 for i < r. d and r must be
// multiples of 4; four rows are processed together so the four FMA chains
// overlap, and their sums are reduced with two horizontal adds.
TEXT ·sqdist4(SB), NOSPLIT, $0-40
	MOVQ u+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ d+16(FP), R13
	SHLQ $3, R13
	MOVQ r+24(FP), CX
	SHRQ $2, CX
	MOVQ out+32(FP), DX
	TESTQ CX, CX
	JZ   sqdone

sqrows:
	LEAQ   (DI)(R13*1), R8
	LEAQ   (R8)(R13*1), R9
	LEAQ   (R9)(R13*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX

sqk:
	VMOVUPD     (SI)(AX*1), Y8
	VMOVUPD     (DI)(AX*1), Y4
	VMOVUPD     (R8)(AX*1), Y5
	VMOVUPD     (R9)(AX*1), Y6
	VMOVUPD     (R10)(AX*1), Y7
	VSUBPD      Y8, Y4, Y4
	VSUBPD      Y8, Y5, Y5
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $32, AX
	CMPQ        AX, R13
	JLT         sqk

	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VADDPD     Y7, Y6, Y6
	VMOVUPD    Y6, (DX)
	ADDQ       $32, DX
	LEAQ       (R10)(R13*1), DI
	DECQ       CX
	JNZ        sqrows

sqdone:
	VZEROUPPER
	RET

// AVX-512 kernels. With 32 ZMM registers the dot-product tile is 4 rows of A
// by 6 vectors of B: 24 accumulators and 10 loads per 24 FMAs (the AVX2
// 4x3 tile needs 7 loads per 12), on twice the lanes.

// HSUM8ADD reduces the eight lanes of Z, adds the double at off(DX) and
// stores the sum there. Clobbers X24, X25 and the upper lanes of Z.
#define HSUM8ADD(Z, Y, X, off) \
	VEXTRACTF64X4 $1, Z, Y24; \
	VADDPD        Y24, Y, Y; \
	VEXTRACTF64X2 $1, Y, X24; \
	VADDPD        X24, X, X; \
	VPERMILPD     $1, X, X25; \
	VADDSD        X25, X, X; \
	VADDSD        off(DX), X, X; \
	VMOVSD        X, off(DX)

#define ZERO24 \
	VPXORQ Z0, Z0, Z0; \
	VPXORQ Z1, Z1, Z1; \
	VPXORQ Z2, Z2, Z2; \
	VPXORQ Z3, Z3, Z3; \
	VPXORQ Z4, Z4, Z4; \
	VPXORQ Z5, Z5, Z5; \
	VPXORQ Z6, Z6, Z6; \
	VPXORQ Z7, Z7, Z7; \
	VPXORQ Z8, Z8, Z8; \
	VPXORQ Z9, Z9, Z9; \
	VPXORQ Z10, Z10, Z10; \
	VPXORQ Z11, Z11, Z11; \
	VPXORQ Z12, Z12, Z12; \
	VPXORQ Z13, Z13, Z13; \
	VPXORQ Z14, Z14, Z14; \
	VPXORQ Z15, Z15, Z15; \
	VPXORQ Z16, Z16, Z16; \
	VPXORQ Z17, Z17, Z17; \
	VPXORQ Z18, Z18, Z18; \
	VPXORQ Z19, Z19, Z19; \
	VPXORQ Z20, Z20, Z20; \
	VPXORQ Z21, Z21, Z21; \
	VPXORQ Z22, Z22, Z22; \
	VPXORQ Z23, Z23, Z23

#define STORE24 \
	HSUM8ADD(Z0, Y0, X0, 0); \
	HSUM8ADD(Z1, Y1, X1, 8); \
	HSUM8ADD(Z2, Y2, X2, 16); \
	HSUM8ADD(Z3, Y3, X3, 24); \
	HSUM8ADD(Z4, Y4, X4, 32); \
	HSUM8ADD(Z5, Y5, X5, 40); \
	HSUM8ADD(Z6, Y6, X6, 48); \
	HSUM8ADD(Z7, Y7, X7, 56); \
	HSUM8ADD(Z8, Y8, X8, 64); \
	HSUM8ADD(Z9, Y9, X9, 72); \
	HSUM8ADD(Z10, Y10, X10, 80); \
	HSUM8ADD(Z11, Y11, X11, 88); \
	HSUM8ADD(Z12, Y12, X12, 96); \
	HSUM8ADD(Z13, Y13, X13, 104); \
	HSUM8ADD(Z14, Y14, X14, 112); \
	HSUM8ADD(Z15, Y15, X15, 120); \
	HSUM8ADD(Z16, Y16, X16, 128); \
	HSUM8ADD(Z17, Y17, X17, 136); \
	HSUM8ADD(Z18, Y18, X18, 144); \
	HSUM8ADD(Z19, Y19, X19, 152); \
	HSUM8ADD(Z20, Y20, X20, 160); \
	HSUM8ADD(Z21, Y21, X21, 168); \
	HSUM8ADD(Z22, Y22, X22, 176); \
	HSUM8ADD(Z23, Y23, X23, 184)

// HSUM8ADDP is HSUM8ADD into the double at off(P).
#define HSUM8ADDP(Z, Y, X, off, P) \
	VEXTRACTF64X4 $1, Z, Y24; \
	VADDPD        Y24, Y, Y; \
	VEXTRACTF64X2 $1, Y, X24; \
	VADDPD        X24, X, X; \
	VPERMILPD     $1, X, X25; \
	VADDSD        X25, X, X; \
	VADDSD        off(P), X, X; \
	VMOVSD        X, off(P)

// STORE24C adds the 4x6 tile's sums into C: rows at DX, BX, R12 and
// R12+AX (AX = ldc in bytes; R12 is advanced).
#define STORE24C \
	HSUM8ADDP(Z0, Y0, X0, 0, DX); \
	HSUM8ADDP(Z1, Y1, X1, 8, DX); \
	HSUM8ADDP(Z2, Y2, X2, 16, DX); \
	HSUM8ADDP(Z3, Y3, X3, 24, DX); \
	HSUM8ADDP(Z4, Y4, X4, 32, DX); \
	HSUM8ADDP(Z5, Y5, X5, 40, DX); \
	HSUM8ADDP(Z6, Y6, X6, 0, BX); \
	HSUM8ADDP(Z7, Y7, X7, 8, BX); \
	HSUM8ADDP(Z8, Y8, X8, 16, BX); \
	HSUM8ADDP(Z9, Y9, X9, 24, BX); \
	HSUM8ADDP(Z10, Y10, X10, 32, BX); \
	HSUM8ADDP(Z11, Y11, X11, 40, BX); \
	HSUM8ADDP(Z12, Y12, X12, 0, R12); \
	HSUM8ADDP(Z13, Y13, X13, 8, R12); \
	HSUM8ADDP(Z14, Y14, X14, 16, R12); \
	HSUM8ADDP(Z15, Y15, X15, 24, R12); \
	HSUM8ADDP(Z16, Y16, X16, 32, R12); \
	HSUM8ADDP(Z17, Y17, X17, 40, R12); \
	ADDQ          AX, R12; \
	HSUM8ADDP(Z18, Y18, X18, 0, R12); \
	HSUM8ADDP(Z19, Y19, X19, 8, R12); \
	HSUM8ADDP(Z20, Y20, X20, 16, R12); \
	HSUM8ADDP(Z21, Y21, X21, 24, R12); \
	HSUM8ADDP(Z22, Y22, X22, 32, R12); \
	HSUM8ADDP(Z23, Y23, X23, 40, R12)

// FMA6 multiplies the A lanes in Z30 by the six B vectors Z24..Z29 into the
// six accumulators of one tile row.
#define FMA6(c0, c1, c2, c3, c4, c5) \
	VFMADD231PD Z24, Z30, c0; \
	VFMADD231PD Z25, Z30, c1; \
	VFMADD231PD Z26, Z30, c2; \
	VFMADD231PD Z27, Z30, c3; \
	VFMADD231PD Z28, Z30, c4; \
	VFMADD231PD Z29, Z30, c5

#define LOADB6 \
	VMOVUPD (DI), Z24; \
	VMOVUPD (DI)(R14*1), Z25; \
	VMOVUPD (DI)(R14*2), Z26; \
	VMOVUPD (R11), Z27; \
	VMOVUPD (R11)(R14*1), Z28; \
	VMOVUPD (R11)(R14*2), Z29

// func dot4x6z(a *float64, lda int, b *float64, ldb int, n int, c *float64, ldc int)
// c[r*ldc+s] += sum_{j<n} a[r*lda+j] * b[s*ldb+j] for r < 4, s < 6.
// n must be a multiple of 8.
//
// A streams from memory in slices of dotJB columns of four rows: each row's
// slice is too short for the hardware prefetcher to ramp up, so the loop
// prefetches the same columns of the next four rows (R9, R10), the tile the
// driver asks for next (measured on letter's 6000 x 6000 operator: 27 -> 40
// GFLOP/s; into L2, since L1 already holds this tile and six B slices).
TEXT ·dot4x6z(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $3, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), AX
	SHLQ $3, AX
	LEAQ (DX)(AX*1), BX
	LEAQ (DX)(AX*2), R12
	LEAQ (SI)(R13*2), R8
	ADDQ R13, R8
	LEAQ (DI)(R14*2), R11
	ADDQ R14, R11
	LEAQ (SI)(R13*4), R9
	LEAQ (R9)(R13*2), R10
	ZERO24
	TESTQ CX, CX
	JZ   dot4x6zdone

dot4x6zloop:
	LOADB6
	VMOVUPD (SI), Z30
	FMA6(Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPD (SI)(R13*1), Z30
	FMA6(Z6, Z7, Z8, Z9, Z10, Z11)
	VMOVUPD (SI)(R13*2), Z30
	FMA6(Z12, Z13, Z14, Z15, Z16, Z17)
	VMOVUPD (R8), Z30
	FMA6(Z18, Z19, Z20, Z21, Z22, Z23)
	PREFETCHT1 (R9)
	PREFETCHT1 (R9)(R13*1)
	PREFETCHT1 (R10)
	PREFETCHT1 (R10)(R13*1)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, DI
	ADDQ $64, R11
	DECQ CX
	JNZ  dot4x6zloop

dot4x6zdone:
	STORE24C
	VZEROUPPER
	RET

// func dot4x6zf32(a *float32, lda int, b *float64, ldb int, n int, c *float64, ldc int)
// As dot4x6z, with a in float32 (widened exactly to float64 on load).
TEXT ·dot4x6zf32(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $2, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), AX
	SHLQ $3, AX
	LEAQ (DX)(AX*1), BX
	LEAQ (DX)(AX*2), R12
	LEAQ (SI)(R13*2), R8
	ADDQ R13, R8
	LEAQ (DI)(R14*2), R11
	ADDQ R14, R11
	LEAQ (SI)(R13*4), R9
	LEAQ (R9)(R13*2), R10
	ZERO24
	TESTQ CX, CX
	JZ   dot4x6zf32done

dot4x6zf32loop:
	LOADB6
	VCVTPS2PD (SI), Z30
	FMA6(Z0, Z1, Z2, Z3, Z4, Z5)
	VCVTPS2PD (SI)(R13*1), Z30
	FMA6(Z6, Z7, Z8, Z9, Z10, Z11)
	VCVTPS2PD (SI)(R13*2), Z30
	FMA6(Z12, Z13, Z14, Z15, Z16, Z17)
	VCVTPS2PD (R8), Z30
	FMA6(Z18, Z19, Z20, Z21, Z22, Z23)
	PREFETCHT1 (R9)
	PREFETCHT1 (R9)(R13*1)
	PREFETCHT1 (R10)
	PREFETCHT1 (R10)(R13*1)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $64, DI
	ADDQ $64, R11
	DECQ CX
	JNZ  dot4x6zf32loop

dot4x6zf32done:
	STORE24C
	VZEROUPPER
	RET

// Constants of expaffz: log2(e), ln(2) split in a high part (exact when
// multiplied by the integers of the reduction) and a low part, the clamp
// below which exp underflows to 0, 1, and the Taylor coefficients
// 1/13!, ..., 1/2! (on |r| <= ln(2)/2 the series truncated after r^13 is
// within 2e-17 of exp(r)).
DATA expconst<>+0(SB)/8, $0x3ff71547652b82fe // log2e = 1.4426950408889634
DATA expconst<>+8(SB)/8, $0x3fe62e42fee00000 // ln2hi = 0.6931471803691238
DATA expconst<>+16(SB)/8, $0x3dea39ef35793c76 // ln2lo = 1.9082149292705877e-10
DATA expconst<>+24(SB)/8, $0xc087500000000000 // minx = -746.0
DATA expconst<>+32(SB)/8, $0x3ff0000000000000 // one = 1.0
DATA expconst<>+40(SB)/8, $0x3de6124613a86d09 // c13 = 1.6059043836821613e-10
DATA expconst<>+48(SB)/8, $0x3e21eed8eff8d898 // c12 = 2.08767569878681e-09
DATA expconst<>+56(SB)/8, $0x3e5ae64567f544e4 // c11 = 2.505210838544172e-08
DATA expconst<>+64(SB)/8, $0x3e927e4fb7789f5c // c10 = 2.755731922398589e-07
DATA expconst<>+72(SB)/8, $0x3ec71de3a556c734 // c9 = 2.7557319223985893e-06
DATA expconst<>+80(SB)/8, $0x3efa01a01a01a01a // c8 = 2.48015873015873e-05
DATA expconst<>+88(SB)/8, $0x3f2a01a01a01a01a // c7 = 0.0001984126984126984
DATA expconst<>+96(SB)/8, $0x3f56c16c16c16c17 // c6 = 0.001388888888888889
DATA expconst<>+104(SB)/8, $0x3f81111111111111 // c5 = 0.008333333333333333
DATA expconst<>+112(SB)/8, $0x3fa5555555555555 // c4 = 0.041666666666666664
DATA expconst<>+120(SB)/8, $0x3fc5555555555555 // c3 = 0.16666666666666666
DATA expconst<>+128(SB)/8, $0x3fe0000000000000 // c2 = 0.5
GLOBL expconst<>(SB), RODATA|NOPTR, $136

// func expaffz(row *float64, n int, ninv float64, cs *float64) float64
// row[j] = exp(row[j] * ninv); cs[j] += row[j]; returns the sum of the new
// row[j], for j < n (n a multiple of 8, ninv <= 0, row[j] >= 0). exp(x) is
// 2^k exp(r) with k = round(x log2(e)), r = x - k ln(2) (Cody-Waite, two
// FMAs) and exp(r) = 1 + (r + r^2 q(r)) from the Taylor series; VSCALEFPD
// applies 2^k, underflowing gradually to 0 as math.Exp does. Agrees with
// math.Exp to about an ulp.
TEXT ·expaffz(SB), NOSPLIT, $0-40
	MOVQ         row+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSD ninv+16(FP), Z31
	MOVQ         cs+24(FP), DI
	LEAQ         expconst<>(SB), AX
	VBROADCASTSD 0(AX), Z30
	VBROADCASTSD 8(AX), Z29
	VBROADCASTSD 16(AX), Z28
	VBROADCASTSD 24(AX), Z27
	VBROADCASTSD 32(AX), Z26
	VBROADCASTSD 40(AX), Z13
	VBROADCASTSD 48(AX), Z14
	VBROADCASTSD 56(AX), Z15
	VBROADCASTSD 64(AX), Z16
	VBROADCASTSD 72(AX), Z17
	VBROADCASTSD 80(AX), Z18
	VBROADCASTSD 88(AX), Z19
	VBROADCASTSD 96(AX), Z20
	VBROADCASTSD 104(AX), Z21
	VBROADCASTSD 112(AX), Z22
	VBROADCASTSD 120(AX), Z23
	VBROADCASTSD 128(AX), Z24
	VPXORQ       Z0, Z0, Z0
	TESTQ        CX, CX
	JZ           expaffzdone

expaffzloop:
	VMULPD       (SI), Z31, Z1
	VMAXPD       Z27, Z1, Z1
	VMULPD       Z30, Z1, Z2
	VRNDSCALEPD  $0, Z2, Z2
	VFNMADD231PD Z29, Z2, Z1
	VFNMADD231PD Z28, Z2, Z1
	VMOVAPD      Z13, Z3
	VFMADD213PD  Z14, Z1, Z3
	VFMADD213PD  Z15, Z1, Z3
	VFMADD213PD  Z16, Z1, Z3
	VFMADD213PD  Z17, Z1, Z3
	VFMADD213PD  Z18, Z1, Z3
	VFMADD213PD  Z19, Z1, Z3
	VFMADD213PD  Z20, Z1, Z3
	VFMADD213PD  Z21, Z1, Z3
	VFMADD213PD  Z22, Z1, Z3
	VFMADD213PD  Z23, Z1, Z3
	VFMADD213PD  Z24, Z1, Z3
	VMULPD       Z1, Z1, Z4
	VFMADD213PD  Z1, Z4, Z3
	VADDPD       Z26, Z3, Z3
	VSCALEFPD    Z2, Z3, Z3
	VMOVUPD      Z3, (SI)
	VADDPD       Z3, Z0, Z0
	VADDPD       (DI), Z3, Z5
	VMOVUPD      Z5, (DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          expaffzloop

expaffzdone:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VADDSD        X1, X0, X0
	VMOVSD        X0, ret+32(FP)
	VZEROUPPER
	RET

// func expaffzf32(row *float32, n int, ninv float64, cs *float64) float64
// expaffz for float32 storage: each entry is widened, exponentiated in
// float64 as expaffz does, rounded to float32 (nearest even, as Go's
// conversion) and stored; the sums take the rounded values. n must be a
// multiple of 8.
TEXT ·expaffzf32(SB), NOSPLIT, $0-40
	MOVQ         row+0(FP), SI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSD ninv+16(FP), Z31
	MOVQ         cs+24(FP), DI
	LEAQ         expconst<>(SB), AX
	VBROADCASTSD 0(AX), Z30
	VBROADCASTSD 8(AX), Z29
	VBROADCASTSD 16(AX), Z28
	VBROADCASTSD 24(AX), Z27
	VBROADCASTSD 32(AX), Z26
	VBROADCASTSD 40(AX), Z13
	VBROADCASTSD 48(AX), Z14
	VBROADCASTSD 56(AX), Z15
	VBROADCASTSD 64(AX), Z16
	VBROADCASTSD 72(AX), Z17
	VBROADCASTSD 80(AX), Z18
	VBROADCASTSD 88(AX), Z19
	VBROADCASTSD 96(AX), Z20
	VBROADCASTSD 104(AX), Z21
	VBROADCASTSD 112(AX), Z22
	VBROADCASTSD 120(AX), Z23
	VBROADCASTSD 128(AX), Z24
	VPXORQ       Z0, Z0, Z0
	TESTQ        CX, CX
	JZ           expaffzf32done

expaffzf32loop:
	VCVTPS2PD    (SI), Z1
	VMULPD       Z31, Z1, Z1
	VMAXPD       Z27, Z1, Z1
	VMULPD       Z30, Z1, Z2
	VRNDSCALEPD  $0, Z2, Z2
	VFNMADD231PD Z29, Z2, Z1
	VFNMADD231PD Z28, Z2, Z1
	VMOVAPD      Z13, Z3
	VFMADD213PD  Z14, Z1, Z3
	VFMADD213PD  Z15, Z1, Z3
	VFMADD213PD  Z16, Z1, Z3
	VFMADD213PD  Z17, Z1, Z3
	VFMADD213PD  Z18, Z1, Z3
	VFMADD213PD  Z19, Z1, Z3
	VFMADD213PD  Z20, Z1, Z3
	VFMADD213PD  Z21, Z1, Z3
	VFMADD213PD  Z22, Z1, Z3
	VFMADD213PD  Z23, Z1, Z3
	VFMADD213PD  Z24, Z1, Z3
	VMULPD       Z1, Z1, Z4
	VFMADD213PD  Z1, Z4, Z3
	VADDPD       Z26, Z3, Z3
	VSCALEFPD    Z2, Z3, Z3
	VCVTPD2PS    Z3, Y3
	VMOVUPS      Y3, (SI)
	VCVTPS2PD    Y3, Z3
	VADDPD       Z3, Z0, Z0
	VADDPD       (DI), Z3, Z5
	VMOVUPD      Z5, (DI)
	ADDQ         $32, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          expaffzf32loop

expaffzf32done:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VADDSD        X1, X0, X0
	VMOVSD        X0, ret+32(FP)
	VZEROUPPER
	RET

// func sqdistTz(u *float64, d int, xt *float64, ldx int, m int, out *float64)
// out[j] = sum_{k<d} (xt[k*ldx+j] - u[k])^2 for j < m (m a multiple of 8):
// the squared distances from u to the m points stored as the columns of the
// d x m matrix xt. Each lane sums its own point's terms in order, so there
// are no horizontal reductions: for few dimensions this is much faster than
// dot-product tiles, and exact differences have no cancellation.
TEXT ·sqdistTz(SB), NOSPLIT, $0-48
	MOVQ u+0(FP), SI
	MOVQ d+8(FP), DX
	MOVQ xt+16(FP), DI
	MOVQ ldx+24(FP), R8
	SHLQ $3, R8
	MOVQ m+32(FP), CX
	MOVQ out+40(FP), BX
	MOVQ CX, R12
	SHRQ $5, CX
	ANDQ $31, R12
	SHRQ $3, R12
	TESTQ DX, DX
	JZ   sqtdone
	TESTQ CX, CX
	JZ   sqt8

sqt32:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ   DI, R9
	MOVQ   SI, R10
	MOVQ   DX, R11

sqt32k:
	VBROADCASTSD (R10), Z8
	VSUBPD       (R9), Z8, Z4
	VSUBPD       64(R9), Z8, Z5
	VSUBPD       128(R9), Z8, Z6
	VSUBPD       192(R9), Z8, Z7
	VFMADD231PD  Z4, Z4, Z0
	VFMADD231PD  Z5, Z5, Z1
	VFMADD231PD  Z6, Z6, Z2
	VFMADD231PD  Z7, Z7, Z3
	ADDQ         $8, R10
	ADDQ         R8, R9
	DECQ         R11
	JNZ          sqt32k
	VMOVUPD      Z0, (BX)
	VMOVUPD      Z1, 64(BX)
	VMOVUPD      Z2, 128(BX)
	VMOVUPD      Z3, 192(BX)
	ADDQ         $256, DI
	ADDQ         $256, BX
	DECQ         CX
	JNZ          sqt32

sqt8:
	TESTQ R12, R12
	JZ    sqtdone

sqt8loop:
	VPXORQ Z0, Z0, Z0
	MOVQ   DI, R9
	MOVQ   SI, R10
	MOVQ   DX, R11

sqt8k:
	VBROADCASTSD (R10), Z8
	VSUBPD       (R9), Z8, Z4
	VFMADD231PD  Z4, Z4, Z0
	ADDQ         $8, R10
	ADDQ         R8, R9
	DECQ         R11
	JNZ          sqt8k
	VMOVUPD      Z0, (BX)
	ADDQ         $64, DI
	ADDQ         $64, BX
	DECQ         R12
	JNZ          sqt8loop

sqtdone:
	VZEROUPPER
	RET

// func atb12x16z(a *float64, lda int, b *float64, ldb int, q int, c *float64, ldc int)
// c[r*ldc+j] += sum_{l<q} a[l*lda+r] * b[l*ldb+j] for r < 12, j < 16: the
// Gram-Schmidt update of a 12-vector Lanczos block in one pass over the
// basis rows b (the AVX2 4x12 tile reads them three times). 24 accumulators;
// per basis row two loads and twelve FMAs with the coefficient broadcast
// from memory.
TEXT ·atb12x16z(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R13
	SHLQ $3, R13
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R14
	SHLQ $3, R14
	MOVQ q+32(FP), CX
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	SHLQ $3, R8
	MOVQ DX, R9
	VMOVUPD (R9), Z0
	VMOVUPD 64(R9), Z1
	ADDQ R8, R9
	VMOVUPD (R9), Z2
	VMOVUPD 64(R9), Z3
	ADDQ R8, R9
	VMOVUPD (R9), Z4
	VMOVUPD 64(R9), Z5
	ADDQ R8, R9
	VMOVUPD (R9), Z6
	VMOVUPD 64(R9), Z7
	ADDQ R8, R9
	VMOVUPD (R9), Z8
	VMOVUPD 64(R9), Z9
	ADDQ R8, R9
	VMOVUPD (R9), Z10
	VMOVUPD 64(R9), Z11
	ADDQ R8, R9
	VMOVUPD (R9), Z12
	VMOVUPD 64(R9), Z13
	ADDQ R8, R9
	VMOVUPD (R9), Z14
	VMOVUPD 64(R9), Z15
	ADDQ R8, R9
	VMOVUPD (R9), Z16
	VMOVUPD 64(R9), Z17
	ADDQ R8, R9
	VMOVUPD (R9), Z18
	VMOVUPD 64(R9), Z19
	ADDQ R8, R9
	VMOVUPD (R9), Z20
	VMOVUPD 64(R9), Z21
	ADDQ R8, R9
	VMOVUPD (R9), Z22
	VMOVUPD 64(R9), Z23
	TESTQ CX, CX
	JZ   atbzdone

atbzloop:
	VMOVUPD (DI), Z24
	VMOVUPD 64(DI), Z25
	VFMADD231PD.BCST 0(SI), Z24, Z0
	VFMADD231PD.BCST 0(SI), Z25, Z1
	VFMADD231PD.BCST 8(SI), Z24, Z2
	VFMADD231PD.BCST 8(SI), Z25, Z3
	VFMADD231PD.BCST 16(SI), Z24, Z4
	VFMADD231PD.BCST 16(SI), Z25, Z5
	VFMADD231PD.BCST 24(SI), Z24, Z6
	VFMADD231PD.BCST 24(SI), Z25, Z7
	VFMADD231PD.BCST 32(SI), Z24, Z8
	VFMADD231PD.BCST 32(SI), Z25, Z9
	VFMADD231PD.BCST 40(SI), Z24, Z10
	VFMADD231PD.BCST 40(SI), Z25, Z11
	VFMADD231PD.BCST 48(SI), Z24, Z12
	VFMADD231PD.BCST 48(SI), Z25, Z13
	VFMADD231PD.BCST 56(SI), Z24, Z14
	VFMADD231PD.BCST 56(SI), Z25, Z15
	VFMADD231PD.BCST 64(SI), Z24, Z16
	VFMADD231PD.BCST 64(SI), Z25, Z17
	VFMADD231PD.BCST 72(SI), Z24, Z18
	VFMADD231PD.BCST 72(SI), Z25, Z19
	VFMADD231PD.BCST 80(SI), Z24, Z20
	VFMADD231PD.BCST 80(SI), Z25, Z21
	VFMADD231PD.BCST 88(SI), Z24, Z22
	VFMADD231PD.BCST 88(SI), Z25, Z23
	ADDQ R13, SI
	ADDQ R14, DI
	DECQ CX
	JNZ  atbzloop

atbzdone:
	MOVQ DX, R9
	VMOVUPD Z0, (R9)
	VMOVUPD Z1, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z2, (R9)
	VMOVUPD Z3, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z4, (R9)
	VMOVUPD Z5, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z6, (R9)
	VMOVUPD Z7, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z8, (R9)
	VMOVUPD Z9, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z10, (R9)
	VMOVUPD Z11, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z12, (R9)
	VMOVUPD Z13, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z14, (R9)
	VMOVUPD Z15, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z16, (R9)
	VMOVUPD Z17, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z18, (R9)
	VMOVUPD Z19, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z20, (R9)
	VMOVUPD Z21, 64(R9)
	ADDQ R8, R9
	VMOVUPD Z22, (R9)
	VMOVUPD Z23, 64(R9)
	VZEROUPPER
	RET

// func rot8(x *float64, y *float64, n int, c float64, s float64)
// x[j], y[j] = c x[j] - s y[j], s x[j] + c y[j] for j < n (n a multiple of
// 8): the Givens rotations of the Ritz eigensolver (symeig.go). AVX2+FMA.
TEXT ·rot8(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	VBROADCASTSD c+24(FP), Y14
	VBROADCASTSD s+32(FP), Y15
	TESTQ        CX, CX
	JZ           rot8done

rot8loop:
	VMOVUPD      (SI), Y0
	VMOVUPD      32(SI), Y1
	VMOVUPD      (DI), Y2
	VMOVUPD      32(DI), Y3
	VMULPD       Y14, Y0, Y4
	VMULPD       Y14, Y1, Y5
	VMULPD       Y15, Y0, Y6
	VMULPD       Y15, Y1, Y7
	VFNMADD231PD Y15, Y2, Y4
	VFNMADD231PD Y15, Y3, Y5
	VFMADD231PD  Y14, Y2, Y6
	VFMADD231PD  Y14, Y3, Y7
	VMOVUPD      Y4, (SI)
	VMOVUPD      Y5, 32(SI)
	VMOVUPD      Y6, (DI)
	VMOVUPD      Y7, 32(DI)
	ADDQ         $64, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          rot8loop

rot8done:
	VZEROUPPER
	RET
