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
