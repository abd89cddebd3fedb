//go:build amd64

#include "textflag.h"

// AVX2 + FMA micro-kernels for the products that dominate spectral
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
