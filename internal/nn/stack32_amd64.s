//go:build amd64

#include "textflag.h"

// AVX-512 row passes of Stack32's fused blocks (see stack32.go for the Go
// versions, which compute the same values in the same order). A row of n
// float64 values runs 32 at a time (four ZMM registers, partial sums
// j%32), then the tail 8 at a time under a mask into the first register
// (partial sums j%8). No FMA: every product and sum is rounded as Go
// rounds it. Z31 holds 0.

// TAILMASK sets K1 to the low min(CX, 8) bits (CX > 0). Clobbers AX.
#define TAILMASK \
	MOVQ $0xff, AX; \
	CMPQ CX, $8; \
	JGE  4(PC); \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K1

// REDUCE sums the four accumulators A0..A3 (Z registers; Y0/X0 the low
// parts of A0, T a scratch Y register and X its low half) into the low
// element of X0, in the order of lanes.sum.
#define REDUCE(A0, A1, A2, A3, Y0, X0, T, XT) \
	VADDPD A1, A0, A0; \
	VADDPD A3, A2, A2; \
	VADDPD A2, A0, A0; \
	VEXTRACTF64X4 $1, A0, T; \
	VADDPD T, Y0, Y0; \
	VEXTRACTF128 $1, Y0, XT; \
	VADDPD XT, X0, X0; \
	VPERMILPD $1, X0, XT; \
	VADDSD XT, X0, X0

// KEEP sets Z5 to the dropout multipliers of the 8 mask bytes at m (Z24:
// the scale; 0 where the byte is 0).
#define KEEP(m) \
	VPMOVZXBQ m, Z5; \
	VPTESTMQ Z5, Z5, K2; \
	VMOVAPD.Z Z24, K2, Z5

// func bnStatsAVX512(y *float64, n int, inv float64) (mean, ss float64)
TEXT ·bnStatsAVX512(SB), NOSPLIT, $0-40
	VPXORQ Z31, Z31, Z31
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ y+0(FP), SI
	MOVQ n+8(FP), BX
	SHRQ $5, BX
	JZ   s1tail
s1loop:
	VMOVUPD 0(SI), Z4
	VMOVUPD 64(SI), Z5
	VMOVUPD 128(SI), Z6
	VMOVUPD 192(SI), Z7
	VMAXPD Z31, Z4, Z4
	VMAXPD Z31, Z5, Z5
	VMAXPD Z31, Z6, Z6
	VMAXPD Z31, Z7, Z7
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	ADDQ $256, SI
	DECQ BX
	JNZ  s1loop
s1tail:
	MOVQ n+8(FP), CX
	ANDQ $31, CX
s1tl:
	TESTQ CX, CX
	JLE   s1done
	TAILMASK
	VMOVUPD.Z (SI), K1, Z4
	VMAXPD Z31, Z4, Z4
	VADDPD Z4, Z0, Z0
	ADDQ $64, SI
	SUBQ $8, CX
	JMP  s1tl
s1done:
	REDUCE(Z0, Z1, Z2, Z3, Y0, X0, Y1, X1)
	VMULSD inv+16(FP), X0, X0
	VMOVSD X0, mean+24(FP)
	VBROADCASTSD X0, Z20

	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ y+0(FP), SI
	MOVQ n+8(FP), BX
	SHRQ $5, BX
	JZ   s2tail
s2loop:
	VMOVUPD 0(SI), Z4
	VMOVUPD 64(SI), Z5
	VMOVUPD 128(SI), Z6
	VMOVUPD 192(SI), Z7
	VMAXPD Z31, Z4, Z4
	VMAXPD Z31, Z5, Z5
	VMAXPD Z31, Z6, Z6
	VMAXPD Z31, Z7, Z7
	VSUBPD Z20, Z4, Z4
	VSUBPD Z20, Z5, Z5
	VSUBPD Z20, Z6, Z6
	VSUBPD Z20, Z7, Z7
	VMULPD Z4, Z4, Z4
	VMULPD Z5, Z5, Z5
	VMULPD Z6, Z6, Z6
	VMULPD Z7, Z7, Z7
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	ADDQ $256, SI
	DECQ BX
	JNZ  s2loop
s2tail:
	MOVQ n+8(FP), CX
	ANDQ $31, CX
s2tl:
	TESTQ CX, CX
	JLE   s2done
	TAILMASK
	VMOVUPD.Z (SI), K1, Z4
	VMAXPD Z31, Z4, Z4
	VSUBPD Z20, Z4, Z4
	VMULPD Z4, Z4, Z4
	VMOVAPD.Z Z4, K1, Z4 // masked-off lanes: (0 - mean)^2 -> 0
	VADDPD Z4, Z0, Z0
	ADDQ $64, SI
	SUBQ $8, CX
	JMP  s2tl
s2done:
	REDUCE(Z0, Z1, Z2, Z3, Y0, X0, Y1, X1)
	VMOVSD X0, ss+32(FP)
	VZEROUPPER
	RET

// FWD8 computes 8 outputs of bnFwdAVX512 from y at O(SI), mask bytes at
// MO(DX), into Y4.
#define FWD8(O, MO) \
	VMOVUPD O(SI), Z4; \
	VMAXPD Z31, Z4, Z4; \
	VSUBPD Z20, Z4, Z4; \
	VMULPD Z21, Z4, Z4; \
	VMULPD Z22, Z4, Z4; \
	VADDPD Z23, Z4, Z4; \
	KEEP(MO(DX)); \
	VMULPD Z5, Z4, Z4; \
	VCVTPD2PS Z4, Y4

// func bnFwdAVX512(out *float32, y *float64, mask *uint8, n int, c *[5]float64)
// out[j] = float32(((max(y[j],0) - mean) * is * gamma + beta) * keep(mask[j]))
// with c = {mean, is, gamma, beta, scale}; mask is read 8 bytes at a time.
TEXT ·bnFwdAVX512(SB), NOSPLIT, $0-40
	VPXORQ Z31, Z31, Z31
	MOVQ c+32(FP), AX
	VBROADCASTSD 0(AX), Z20
	VBROADCASTSD 8(AX), Z21
	VBROADCASTSD 16(AX), Z22
	VBROADCASTSD 24(AX), Z23
	VBROADCASTSD 32(AX), Z24
	MOVQ out+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ mask+16(FP), DX
	MOVQ n+24(FP), BX
	SHRQ $5, BX
	JZ   ftail
floop:
	FWD8(0, 0)
	VMOVUPS Y4, 0(DI)
	FWD8(64, 8)
	VMOVUPS Y4, 32(DI)
	FWD8(128, 16)
	VMOVUPS Y4, 64(DI)
	FWD8(192, 24)
	VMOVUPS Y4, 96(DI)
	ADDQ $256, SI
	ADDQ $128, DI
	ADDQ $32, DX
	DECQ BX
	JNZ  floop
ftail:
	MOVQ n+24(FP), CX
	ANDQ $31, CX
ftl:
	TESTQ CX, CX
	JLE   fdone
	TAILMASK
	VMOVUPD.Z (SI), K1, Z4
	VMAXPD Z31, Z4, Z4
	VSUBPD Z20, Z4, Z4
	VMULPD Z21, Z4, Z4
	VMULPD Z22, Z4, Z4
	VADDPD Z23, Z4, Z4
	KEEP((DX))
	VMULPD Z5, Z4, Z4
	VCVTPD2PS Z4, Y4
	VMOVUPS Y4, K1, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $8, DX
	SUBQ $8, CX
	JMP  ftl
fdone:
	VZEROUPPER
	RET

// SUMS8 accumulates g = dout*keep and g*xhat for 8 values (dout at O(SI),
// y at O(R8), mask at MO(DX)) into A and B.
#define SUMS8(O, MO, A, B) \
	VMOVUPD O(SI), Z4; \
	KEEP(MO(DX)); \
	VMULPD Z5, Z4, Z4; \
	VMOVUPD O(R8), Z6; \
	VMAXPD Z31, Z6, Z6; \
	VSUBPD Z20, Z6, Z6; \
	VMULPD Z21, Z6, Z6; \
	VADDPD Z4, A, A; \
	VMULPD Z6, Z4, Z6; \
	VADDPD Z6, B, B

// func bnSumsAVX512(dout, y *float64, mask *uint8, n int, c *[3]float64) (sg, sgx float64)
// c = {mean, is, scale}; see bnDropSums.
TEXT ·bnSumsAVX512(SB), NOSPLIT, $0-56
	VPXORQ Z31, Z31, Z31
	MOVQ c+32(FP), AX
	VBROADCASTSD 0(AX), Z20
	VBROADCASTSD 8(AX), Z21
	VBROADCASTSD 16(AX), Z24
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	MOVQ dout+0(FP), SI
	MOVQ y+8(FP), R8
	MOVQ mask+16(FP), DX
	MOVQ n+24(FP), BX
	SHRQ $5, BX
	JZ   stail
sloop:
	SUMS8(0, 0, Z0, Z8)
	SUMS8(64, 8, Z1, Z9)
	SUMS8(128, 16, Z2, Z10)
	SUMS8(192, 24, Z3, Z11)
	ADDQ $256, SI
	ADDQ $256, R8
	ADDQ $32, DX
	DECQ BX
	JNZ  sloop
stail:
	MOVQ n+24(FP), CX
	ANDQ $31, CX
stl:
	TESTQ CX, CX
	JLE   sdone
	TAILMASK
	VMOVUPD.Z (SI), K1, Z4
	KEEP((DX))
	VMULPD Z5, Z4, Z4
	VMOVUPD.Z (R8), K1, Z6
	VMAXPD Z31, Z6, Z6
	VSUBPD Z20, Z6, Z6
	VMULPD Z21, Z6, Z6
	VADDPD Z4, Z0, Z0
	VMULPD Z6, Z4, Z6
	VADDPD Z6, Z8, Z8
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $8, DX
	SUBQ $8, CX
	JMP  stl
sdone:
	REDUCE(Z0, Z1, Z2, Z3, Y0, X0, Y1, X1)
	VMOVSD X0, sg+40(FP)
	REDUCE(Z8, Z9, Z10, Z11, Y8, X8, Y1, X1)
	VMOVSD X8, sgx+48(FP)
	VZEROUPPER
	RET

// BWD8 computes 8 values of bnBwdAVX512 (dout at O(SI), y at O(R8), mask
// at MO(DX)) into Z4, adds them to A and converts them into Y4.
#define BWD8(O, MO, A) \
	VMOVUPD O(SI), Z4; \
	KEEP(MO(DX)); \
	VMULPD Z5, Z4, Z4; \
	VMOVUPD O(R8), Z6; \
	VCMPPD $0x1e, Z31, Z6, K3; \
	VSUBPD Z20, Z6, Z6; \
	VMULPD Z21, Z6, Z6; \
	VSUBPD Z25, Z4, Z4; \
	VMULPD Z26, Z6, Z6; \
	VSUBPD Z6, Z4, Z4; \
	VMULPD Z27, Z4, Z4; \
	VMOVAPD.Z Z4, K3, Z4; \
	VADDPD Z4, A, A; \
	VCVTPD2PS Z4, Y4

// func bnBwdAVX512(d32 *float32, dout, y *float64, mask *uint8, n int, c *[6]float64) (sum float64)
// c = {mean, is, scale, mg, mgx, cg}; see bnDropBwd32.
TEXT ·bnBwdAVX512(SB), NOSPLIT, $0-56
	VPXORQ Z31, Z31, Z31
	MOVQ c+40(FP), AX
	VBROADCASTSD 0(AX), Z20
	VBROADCASTSD 8(AX), Z21
	VBROADCASTSD 16(AX), Z24
	VBROADCASTSD 24(AX), Z25
	VBROADCASTSD 32(AX), Z26
	VBROADCASTSD 40(AX), Z27
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ d32+0(FP), DI
	MOVQ dout+8(FP), SI
	MOVQ y+16(FP), R8
	MOVQ mask+24(FP), DX
	MOVQ n+32(FP), BX
	SHRQ $5, BX
	JZ   btail
bloop:
	BWD8(0, 0, Z0)
	VMOVUPS Y4, 0(DI)
	BWD8(64, 8, Z1)
	VMOVUPS Y4, 32(DI)
	BWD8(128, 16, Z2)
	VMOVUPS Y4, 64(DI)
	BWD8(192, 24, Z3)
	VMOVUPS Y4, 96(DI)
	ADDQ $256, SI
	ADDQ $256, R8
	ADDQ $128, DI
	ADDQ $32, DX
	DECQ BX
	JNZ  bloop
btail:
	MOVQ n+32(FP), CX
	ANDQ $31, CX
btl:
	TESTQ CX, CX
	JLE   bdone
	TAILMASK
	VMOVUPD.Z (SI), K1, Z4
	KEEP((DX))
	VMULPD Z5, Z4, Z4
	VMOVUPD.Z (R8), K1, Z6
	VCMPPD $0x1e, Z31, Z6, K3
	VSUBPD Z20, Z6, Z6
	VMULPD Z21, Z6, Z6
	VSUBPD Z25, Z4, Z4
	VMULPD Z26, Z6, Z6
	VSUBPD Z6, Z4, Z4
	VMULPD Z27, Z4, Z4
	VMOVAPD.Z Z4, K3, Z4
	VADDPD Z4, Z0, Z0
	VCVTPD2PS Z4, Y4
	VMOVUPS Y4, K1, (DI)
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $32, DI
	ADDQ $8, DX
	SUBQ $8, CX
	JMP  btl
bdone:
	REDUCE(Z0, Z1, Z2, Z3, Y0, X0, Y1, X1)
	VMOVSD X0, sum+48(FP)
	VZEROUPPER
	RET

// func transpose32AVX(dst, src *float32, rows, cols int)
// Writes the transpose of the rows x cols float32 matrix src (row-major)
// into dst (cols x rows), for the rows&^7 x cols&^7 part only, in 8 x 8
// blocks (AVX: unpack, shuffle, lane permute); the caller does the edges.
TEXT ·transpose32AVX(SB), NOSPLIT, $0-32
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ R9, R10
	SHLQ $2, R10 // src stride in bytes
	MOVQ R8, R11
	SHLQ $2, R11 // dst stride in bytes
	MOVQ R8, R12
	SHRQ $3, R12 // row blocks
	JZ   tdone
	MOVQ R9, R13
	SHRQ $3, R13 // column blocks
	JZ   tdone
	MOVQ src+8(FP), SI
	MOVQ dst+0(FP), DI
	XORQ R14, R14 // row block index
trow:
	// SI: src row 8*i, column 0; DI: dst row 0, column 8*i
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R13, CX
tcol:
	MOVQ AX, DX
	VMOVUPS (DX), Y0
	ADDQ R10, DX
	VMOVUPS (DX), Y1
	ADDQ R10, DX
	VMOVUPS (DX), Y2
	ADDQ R10, DX
	VMOVUPS (DX), Y3
	ADDQ R10, DX
	VMOVUPS (DX), Y4
	ADDQ R10, DX
	VMOVUPS (DX), Y5
	ADDQ R10, DX
	VMOVUPS (DX), Y6
	ADDQ R10, DX
	VMOVUPS (DX), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	MOVQ BX, DX
	VMOVUPS Y8, (DX)
	ADDQ R11, DX
	VMOVUPS Y9, (DX)
	ADDQ R11, DX
	VMOVUPS Y10, (DX)
	ADDQ R11, DX
	VMOVUPS Y11, (DX)
	ADDQ R11, DX
	VMOVUPS Y12, (DX)
	ADDQ R11, DX
	VMOVUPS Y13, (DX)
	ADDQ R11, DX
	VMOVUPS Y14, (DX)
	ADDQ R11, DX
	VMOVUPS Y15, (DX)
	ADDQ $32, AX // next 8 source columns
	MOVQ R11, DX
	SHLQ $3, DX
	ADDQ DX, BX // next 8 destination rows
	DECQ CX
	JNZ  tcol
	MOVQ R10, DX
	SHLQ $3, DX
	ADDQ DX, SI // next 8 source rows
	ADDQ $32, DI // next 8 destination columns
	INCQ R14
	CMPQ R14, R12
	JL   trow
tdone:
	VZEROUPPER
	RET

DATA pairs<>+0(SB)/8, $1
DATA pairs<>+8(SB)/8, $2
DATA pairs<>+16(SB)/8, $3
DATA pairs<>+24(SB)/8, $4
DATA pairs<>+32(SB)/8, $5
DATA pairs<>+40(SB)/8, $6
DATA pairs<>+48(SB)/8, $7
DATA pairs<>+56(SB)/8, $8
GLOBL pairs<>(SB), RODATA, $64

// func dropHashAVX512(mask *uint8, key uint64, blocks int, thr uint32)
// The first 16*blocks bytes of dropHash's mask: for pair p (elements 2p
// and 2p+1), z = splitmix64 finalizer of key + (p+1)*golden; element 2p
// keeps (1) when the low 32 bits of z are >= thr, 2p+1 when the high 32
// bits are. 8 pairs (16 elements) per step.
TEXT ·dropHashAVX512(SB), NOSPLIT, $0-28
	MOVQ mask+0(FP), DI
	VPBROADCASTQ key+8(FP), Z20
	MOVQ blocks+16(FP), CX
	MOVL thr+24(FP), AX
	VPBROADCASTD AX, Z26
	VMOVDQU64 pairs<>(SB), Z21
	MOVQ $8, AX
	VPBROADCASTQ AX, Z22
	MOVQ $0x9e3779b97f4a7c15, AX
	VPBROADCASTQ AX, Z23
	MOVQ $0xbf58476d1ce4e5b9, AX
	VPBROADCASTQ AX, Z24
	MOVQ $0x94d049bb133111eb, AX
	VPBROADCASTQ AX, Z25
	MOVL $1, AX
	VPBROADCASTD AX, Z27
	TESTQ CX, CX
	JZ   hdone
hloop:
	VPMULLQ Z23, Z21, Z0
	VPADDQ  Z20, Z0, Z0
	VPSRLQ  $30, Z0, Z1
	VPXORQ  Z1, Z0, Z0
	VPMULLQ Z24, Z0, Z0
	VPSRLQ  $27, Z0, Z1
	VPXORQ  Z1, Z0, Z0
	VPMULLQ Z25, Z0, Z0
	VPSRLQ  $31, Z0, Z1
	VPXORQ  Z1, Z0, Z0
	VPCMPUD $5, Z26, Z0, K1
	VMOVDQA32.Z Z27, K1, Z2
	VPMOVDB Z2, X2
	VMOVDQU X2, (DI)
	VPADDQ  Z22, Z21, Z21
	ADDQ $16, DI
	DECQ CX
	JNZ  hloop
hdone:
	VZEROUPPER
	RET

// func transpose8x64AVX512(dst *float64, ldd int, rows *[8]*float64, cblocks int)
// For c < cblocks, i < 8, r < 8: dst[(8c+i)*ldd + r] = rows[r][8c+i]: eight
// source rows (anywhere) become eight columns of dst, 8 x 8 at a time
// (unpack pairs, then two rounds of 128-bit lane shuffles).
TEXT ·transpose8x64AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R9
	SHLQ $3, R9
	MOVQ rows+16(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R10
	MOVQ 16(AX), R11
	MOVQ 24(AX), R12
	MOVQ 32(AX), R13
	MOVQ 40(AX), R14
	MOVQ 48(AX), R15
	MOVQ 56(AX), SI
	MOVQ cblocks+24(FP), CX
	TESTQ CX, CX
	JZ   gdone
	XORQ AX, AX
gloop:
	VMOVUPD (R8)(AX*1), Z0
	VMOVUPD (R10)(AX*1), Z1
	VMOVUPD (R11)(AX*1), Z2
	VMOVUPD (R12)(AX*1), Z3
	VMOVUPD (R13)(AX*1), Z4
	VMOVUPD (R14)(AX*1), Z5
	VMOVUPD (R15)(AX*1), Z6
	VMOVUPD (SI)(AX*1), Z7
	VUNPCKLPD Z1, Z0, Z8  // a0b0 a2b2 a4b4 a6b6
	VUNPCKHPD Z1, Z0, Z9  // a1b1 a3b3 a5b5 a7b7
	VUNPCKLPD Z3, Z2, Z10 // c.d.
	VUNPCKHPD Z3, Z2, Z11
	VUNPCKLPD Z5, Z4, Z12 // e.f.
	VUNPCKHPD Z5, Z4, Z13
	VUNPCKLPD Z7, Z6, Z14 // g.h.
	VUNPCKHPD Z7, Z6, Z15
	VSHUFF64X2 $0x88, Z10, Z8, Z16  // a0b0 a4b4 c0d0 c4d4
	VSHUFF64X2 $0xDD, Z10, Z8, Z17  // a2b2 a6b6 c2d2 c6d6
	VSHUFF64X2 $0x88, Z14, Z12, Z18 // e0f0 e4f4 g0h0 g4h4
	VSHUFF64X2 $0xDD, Z14, Z12, Z19 // e2f2 e6f6 g2h2 g6h6
	VSHUFF64X2 $0x88, Z11, Z9, Z20  // a1b1 a5b5 c1d1 c5d5
	VSHUFF64X2 $0xDD, Z11, Z9, Z21  // a3b3 a7b7 c3d3 c7d7
	VSHUFF64X2 $0x88, Z15, Z13, Z22
	VSHUFF64X2 $0xDD, Z15, Z13, Z23
	VSHUFF64X2 $0x88, Z18, Z16, Z0 // column 0
	VSHUFF64X2 $0xDD, Z18, Z16, Z4 // column 4
	VSHUFF64X2 $0x88, Z19, Z17, Z2 // column 2
	VSHUFF64X2 $0xDD, Z19, Z17, Z6 // column 6
	VSHUFF64X2 $0x88, Z22, Z20, Z1 // column 1
	VSHUFF64X2 $0xDD, Z22, Z20, Z5 // column 5
	VSHUFF64X2 $0x88, Z23, Z21, Z3 // column 3
	VSHUFF64X2 $0xDD, Z23, Z21, Z7 // column 7
	MOVQ DI, DX
	VMOVUPD Z0, (DX)
	ADDQ R9, DX
	VMOVUPD Z1, (DX)
	ADDQ R9, DX
	VMOVUPD Z2, (DX)
	ADDQ R9, DX
	VMOVUPD Z3, (DX)
	ADDQ R9, DX
	VMOVUPD Z4, (DX)
	ADDQ R9, DX
	VMOVUPD Z5, (DX)
	ADDQ R9, DX
	VMOVUPD Z6, (DX)
	ADDQ R9, DX
	VMOVUPD Z7, (DX)
	ADDQ R9, DX
	MOVQ DX, DI
	ADDQ $64, AX
	DECQ CX
	JNZ  gloop
gdone:
	VZEROUPPER
	RET
