//go:build amd64

#include "textflag.h"

// func adamwAVX512(p, gr, m, v *float64, w32 *float32, n int, c *[7]float64)
// The AdamW update of AdamW.Step on 8 parameters at a time, with the Go
// loop's operations in the same order and no FMA, so that the results are
// bit-identical to it (Go on amd64 below GOAMD64=v3 does not fuse either).
// c = {1-b1, b2, 1-b2, sqrt(1-b2^t), eps, 1-lr*wd, lr/(1-b1^t)}. The tail
// (n mod 8) uses masked loads and stores. When w32 is not nil, the new
// values are also written to it rounded to float32 (Param.Data32).
TEXT ·adamwAVX512(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), DI
	MOVQ gr+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ w32+32(FP), R10
	MOVQ n+40(FP), CX
	MOVQ c+48(FP), AX
	VBROADCASTSD 0(AX), Z16  // 1-b1
	VBROADCASTSD 8(AX), Z17  // b2
	VBROADCASTSD 16(AX), Z18 // 1-b2
	VBROADCASTSD 24(AX), Z19 // bc2sqrt
	VBROADCASTSD 32(AX), Z20 // eps
	VBROADCASTSD 40(AX), Z21 // decay
	VBROADCASTSD 48(AX), Z22 // stepSize
	XORQ AX, AX

loop:
	CMPQ CX, $8
	JL   tail
	MOVQ $0xff, BX
	KMOVW BX, K1
	JMP  body

tail:
	TESTQ CX, CX
	JZ    done
	MOVQ  $1, BX
	SHLQ  CX, BX
	DECQ  BX
	KMOVW BX, K1
	MOVQ  $8, CX

body:
	VMOVUPD.Z (SI)(AX*8), K1, Z0 // g
	VMOVUPD.Z (R8)(AX*8), K1, Z1 // m
	VMOVUPD.Z (R9)(AX*8), K1, Z2 // v
	VMOVUPD.Z (DI)(AX*8), K1, Z3 // w
	// mi = m + (1-b1)*(g-m)
	VSUBPD Z1, Z0, Z4
	VMULPD Z16, Z4, Z4
	VADDPD Z4, Z1, Z1
	// vi = v*b2 + ((1-b2)*g)*g
	VMULPD Z17, Z2, Z2
	VMULPD Z18, Z0, Z5
	VMULPD Z0, Z5, Z5
	VADDPD Z5, Z2, Z2
	VMOVUPD Z1, K1, (R8)(AX*8)
	VMOVUPD Z2, K1, (R9)(AX*8)
	// w = w*decay - stepSize*(mi/(sqrt(vi)/bc2sqrt + eps))
	VSQRTPD Z2, Z6
	VDIVPD  Z19, Z6, Z6
	VADDPD  Z20, Z6, Z6
	VDIVPD  Z6, Z1, Z6
	VMULPD  Z22, Z6, Z6
	VMULPD  Z21, Z3, Z3
	VSUBPD  Z6, Z3, Z3
	VMOVUPD Z3, K1, (DI)(AX*8)
	TESTQ R10, R10
	JZ   next
	VCVTPD2PS Z3, Y7
	VMOVUPS Y7, K1, (R10)(AX*4)
next:
	ADDQ $8, AX
	SUBQ $8, CX
	JMP  loop

done:
	VZEROUPPER
	RET
