//go:build amd64

#include "textflag.h"

// func gather8x512(acc *[8]float64, base *float64, cols *int32, n int)
//
// gather8's sums with AVX-512: the 8 values at base + 64*cols[p] (one
// cache line) are added to four accumulators in turn, p = 0, 1, 2, 3 (mod
// 4), the first starting from acc, the others from 0, combined as
// (s0 + s1) + (s2 + s3) into acc. Four chains keep four adds in flight.
TEXT ·gather8x512(SB), NOSPLIT, $0-32
	MOVQ    acc+0(FP), DI
	MOVQ    base+8(FP), SI
	MOVQ    cols+16(FP), BX
	MOVQ    n+24(FP), CX
	VMOVUPD (DI), Z0
	VXORPD  Z1, Z1, Z1
	VXORPD  Z2, Z2, Z2
	VXORPD  Z3, Z3, Z3
	MOVQ    CX, DX
	SHRQ    $2, DX
	JZ      g5tail

g5loop:
	MOVLQSX (BX), R8
	MOVLQSX 4(BX), R9
	MOVLQSX 8(BX), R10
	MOVLQSX 12(BX), R11
	SHLQ    $9, R8
	SHLQ    $9, R9
	SHLQ    $9, R10
	SHLQ    $9, R11
	VADDPD  (SI)(R8*1), Z0, Z0
	VADDPD  (SI)(R9*1), Z1, Z1
	VADDPD  (SI)(R10*1), Z2, Z2
	VADDPD  (SI)(R11*1), Z3, Z3
	ADDQ    $16, BX
	DECQ    DX
	JNZ     g5loop

g5tail:
	ANDQ    $3, CX
	JZ      g5done
	MOVLQSX (BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Z0, Z0
	DECQ    CX
	JZ      g5done
	MOVLQSX 4(BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Z1, Z1
	DECQ    CX
	JZ      g5done
	MOVLQSX 8(BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Z2, Z2

g5done:
	VADDPD  Z1, Z0, Z0
	VADDPD  Z3, Z2, Z2
	VADDPD  Z2, Z0, Z0
	VMOVUPD Z0, (DI)
	VZEROUPPER
	RET

// func gather8x256(acc *[8]float64, base *float64, cols *int32, n int)
//
// gather8x512 with AVX: each 8-value line is two YMM halves, each with its
// own four chains, in the same order.
TEXT ·gather8x256(SB), NOSPLIT, $0-32
	MOVQ    acc+0(FP), DI
	MOVQ    base+8(FP), SI
	MOVQ    cols+16(FP), BX
	MOVQ    n+24(FP), CX
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y4
	VXORPD  Y1, Y1, Y1
	VXORPD  Y2, Y2, Y2
	VXORPD  Y3, Y3, Y3
	VXORPD  Y5, Y5, Y5
	VXORPD  Y6, Y6, Y6
	VXORPD  Y7, Y7, Y7
	MOVQ    CX, DX
	SHRQ    $2, DX
	JZ      g2tail

g2loop:
	MOVLQSX (BX), R8
	MOVLQSX 4(BX), R9
	MOVLQSX 8(BX), R10
	MOVLQSX 12(BX), R11
	SHLQ    $9, R8
	SHLQ    $9, R9
	SHLQ    $9, R10
	SHLQ    $9, R11
	VADDPD  (SI)(R8*1), Y0, Y0
	VADDPD  32(SI)(R8*1), Y4, Y4
	VADDPD  (SI)(R9*1), Y1, Y1
	VADDPD  32(SI)(R9*1), Y5, Y5
	VADDPD  (SI)(R10*1), Y2, Y2
	VADDPD  32(SI)(R10*1), Y6, Y6
	VADDPD  (SI)(R11*1), Y3, Y3
	VADDPD  32(SI)(R11*1), Y7, Y7
	ADDQ    $16, BX
	DECQ    DX
	JNZ     g2loop

g2tail:
	ANDQ    $3, CX
	JZ      g2done
	MOVLQSX (BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Y0, Y0
	VADDPD  32(SI)(R8*1), Y4, Y4
	DECQ    CX
	JZ      g2done
	MOVLQSX 4(BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Y1, Y1
	VADDPD  32(SI)(R8*1), Y5, Y5
	DECQ    CX
	JZ      g2done
	MOVLQSX 8(BX), R8
	SHLQ    $9, R8
	VADDPD  (SI)(R8*1), Y2, Y2
	VADDPD  32(SI)(R8*1), Y6, Y6

g2done:
	VADDPD  Y1, Y0, Y0
	VADDPD  Y3, Y2, Y2
	VADDPD  Y2, Y0, Y0
	VADDPD  Y5, Y4, Y4
	VADDPD  Y7, Y6, Y6
	VADDPD  Y6, Y4, Y4
	VMOVUPD Y0, (DI)
	VMOVUPD Y4, 32(DI)
	VZEROUPPER
	RET

// func silDist512(X *float64, n int, d int, blkT *float64, norms *float64, bn *float64, out *float64)
//
// The distances of a silhouette block: for every row j < n of X (d
// columns), out[64j+r] = sqrt(max((s + norms[j]) + bn[r], 0)) with s the
// sum over features l, in order, of (-2 x[j][l]) * blkT[l][r], each
// product rounded, then added: the operations and order of gonum's serial
// Dgemm (alpha -2, beta 0; AxpyUnitary has no fused multiply-add) followed
// by silhouetteSums' Go loop, so the bits are the same. The 64 sums of a
// row are held in Z0-Z7.
TEXT ·silDist512(SB), NOSPLIT, $0-56
	MOVQ X+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ d+16(FP), R8
	MOVQ blkT+24(FP), R9
	MOVQ norms+32(FP), R10
	MOVQ bn+40(FP), R11
	MOVQ out+48(FP), DI
	TESTQ CX, CX
	JZ   sddone
	TESTQ R8, R8
	JZ   sddone
	MOVQ $0xC000000000000000, AX
	VPBROADCASTQ AX, Z30  // -2
	VPXORQ  Z31, Z31, Z31 // 0
	VMOVUPD (R11), Z16
	VMOVUPD 64(R11), Z17
	VMOVUPD 128(R11), Z18
	VMOVUPD 192(R11), Z19
	VMOVUPD 256(R11), Z20
	VMOVUPD 320(R11), Z21
	VMOVUPD 384(R11), Z22
	VMOVUPD 448(R11), Z23

sdcol:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	MOVQ   R9, BX
	MOVQ   R8, DX
	MOVQ   SI, R12

sdfeat:
	VBROADCASTSD (R12), Z8
	VMULPD       Z30, Z8, Z8
	VMULPD       (BX), Z8, Z9
	VMULPD       64(BX), Z8, Z10
	VMULPD       128(BX), Z8, Z11
	VMULPD       192(BX), Z8, Z12
	VADDPD       Z9, Z0, Z0
	VADDPD       Z10, Z1, Z1
	VADDPD       Z11, Z2, Z2
	VADDPD       Z12, Z3, Z3
	VMULPD       256(BX), Z8, Z9
	VMULPD       320(BX), Z8, Z10
	VMULPD       384(BX), Z8, Z11
	VMULPD       448(BX), Z8, Z12
	VADDPD       Z9, Z4, Z4
	VADDPD       Z10, Z5, Z5
	VADDPD       Z11, Z6, Z6
	VADDPD       Z12, Z7, Z7
	ADDQ         $8, R12
	ADDQ         $512, BX
	DECQ         DX
	JNZ          sdfeat

	VBROADCASTSD (R10), Z8
	VADDPD       Z8, Z0, Z0
	VADDPD       Z8, Z1, Z1
	VADDPD       Z8, Z2, Z2
	VADDPD       Z8, Z3, Z3
	VADDPD       Z8, Z4, Z4
	VADDPD       Z8, Z5, Z5
	VADDPD       Z8, Z6, Z6
	VADDPD       Z8, Z7, Z7
	VADDPD       Z16, Z0, Z0
	VADDPD       Z17, Z1, Z1
	VADDPD       Z18, Z2, Z2
	VADDPD       Z19, Z3, Z3
	VADDPD       Z20, Z4, Z4
	VADDPD       Z21, Z5, Z5
	VADDPD       Z22, Z6, Z6
	VADDPD       Z23, Z7, Z7
	VMAXPD       Z31, Z0, Z0
	VMAXPD       Z31, Z1, Z1
	VMAXPD       Z31, Z2, Z2
	VMAXPD       Z31, Z3, Z3
	VMAXPD       Z31, Z4, Z4
	VMAXPD       Z31, Z5, Z5
	VMAXPD       Z31, Z6, Z6
	VMAXPD       Z31, Z7, Z7
	VSQRTPD      Z0, Z0
	VSQRTPD      Z1, Z1
	VSQRTPD      Z2, Z2
	VSQRTPD      Z3, Z3
	VSQRTPD      Z4, Z4
	VSQRTPD      Z5, Z5
	VSQRTPD      Z6, Z6
	VSQRTPD      Z7, Z7
	VMOVUPD      Z0, (DI)
	VMOVUPD      Z1, 64(DI)
	VMOVUPD      Z2, 128(DI)
	VMOVUPD      Z3, 192(DI)
	VMOVUPD      Z4, 256(DI)
	VMOVUPD      Z5, 320(DI)
	VMOVUPD      Z6, 384(DI)
	VMOVUPD      Z7, 448(DI)
	ADDQ         $512, DI
	ADDQ         $8, R10
	LEAQ         (SI)(R8*8), SI
	DECQ         CX
	JNZ          sdcol

sddone:
	VZEROUPPER
	RET
