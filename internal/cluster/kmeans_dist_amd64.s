//go:build amd64

#include "textflag.h"

// N2MERGE merges the partner lanes of nearest2x4 (Y0 smallest, Y1 second,
// Y2 index) into Y10, Y11, Y12: smallest = min of both, index = the
// smaller's (lower index on ties), second = min of both seconds and the
// larger smallest. Clobbers Y3-Y5.
#define N2MERGE \
	VCMPPD    $1, Y10, Y0, Y3; \
	VCMPPD    $0, Y10, Y0, Y4; \
	VCMPPD    $1, Y12, Y2, Y5; \
	VANDPD    Y5, Y4, Y4; \
	VORPD     Y4, Y3, Y3; \
	VBLENDVPD Y3, Y2, Y12, Y12; \
	VMAXPD    Y10, Y0, Y4; \
	VMINPD    Y1, Y11, Y11; \
	VMINPD    Y4, Y11, Y11; \
	VMINPD    Y0, Y10, Y10

// func sqDistRows4(q *float64, rows *float64, d int, m int, out *float64, mask *[4]int64)
//
// out[j] = squared distance from q to rows[j*d:(j+1)*d] for j < m (m a
// multiple of 4), in sqDist's exact order: lane r of one YMM accumulator sums
// the features f = r (mod 4) in feature order with a fused multiply-add
// (math.FMA in the Go code), the last d%4 features come from a
// masked load (mask selects lanes 0..d%4-1; nil when d%4 == 0), and the four
// lanes are combined as (s0 + s1) + (s2 + s3). Four rows are processed
// together so four accumulation chains overlap; their reductions share two
// horizontal adds.
TEXT ·sqDistRows4(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ rows+8(FP), DI
	MOVQ d+16(FP), R13
	MOVQ m+24(FP), CX
	MOVQ out+32(FP), DX
	MOVQ mask+40(FP), R11
	MOVQ R13, R12
	ANDQ $-4, R12         // d4 = d &^ 3
	SHLQ $3, R12          // in bytes
	SHLQ $3, R13          // row stride in bytes
	SHRQ $2, CX
	TESTQ CX, CX
	JZ   done
	TESTQ R11, R11
	JZ   rows
	VMOVUPD (R11), Y15    // tail mask
	VMASKMOVPD (SI)(R12*1), Y15, Y14 // q's tail, zero-padded

rows:
	LEAQ   (DI)(R13*1), R8
	LEAQ   (R8)(R13*1), R9
	LEAQ   (R9)(R13*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX
	CMPQ   AX, R12
	JGE    tail

feat:
	VMOVUPD (SI)(AX*1), Y8
	VMOVUPD (DI)(AX*1), Y4
	VMOVUPD (R8)(AX*1), Y5
	VMOVUPD (R9)(AX*1), Y6
	VMOVUPD (R10)(AX*1), Y7
	VSUBPD  Y4, Y8, Y4
	VSUBPD  Y5, Y8, Y5
	VSUBPD  Y6, Y8, Y6
	VSUBPD  Y7, Y8, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ    $32, AX
	CMPQ    AX, R12
	JLT     feat

tail:
	TESTQ R11, R11
	JZ    reduce
	VMASKMOVPD (DI)(AX*1), Y15, Y4
	VMASKMOVPD (R8)(AX*1), Y15, Y5
	VMASKMOVPD (R9)(AX*1), Y15, Y6
	VMASKMOVPD (R10)(AX*1), Y15, Y7
	VSUBPD  Y4, Y14, Y4
	VSUBPD  Y5, Y14, Y5
	VSUBPD  Y6, Y14, Y6
	VSUBPD  Y7, Y14, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3

reduce:
	// Y4 = (a0+a1, b0+b1, a2+a3, b2+b3), Y5 likewise for c, d.
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6 // (a0+a1, b0+b1, c0+c1, d0+d1)
	VPERM2F128 $0x31, Y5, Y4, Y7 // (a2+a3, b2+b3, c2+c3, d2+d3)
	VADDPD     Y7, Y6, Y6
	VMOVUPD    Y6, (DX)
	ADDQ       $32, DX
	LEAQ       (R10)(R13*1), DI
	DECQ       CX
	JNZ        rows

done:
	VZEROUPPER
	RET

// func nearest2x4(q *float64, C *float64, d int, k int, mask *[4]int64, cst *[12]float64, res *[3]float64)
//
// Distances from q to the k rows of C (k a multiple of 4), as sqDistRows4,
// with the two smallest tracked per lane: lane r sees centroids r, r+4, ...
// The lanes are merged at the end: res[0] is the smallest distance, res[1]
// the second smallest, res[2] the index of the smallest (lowest on ties, as
// a float64). cst is {0, 1, 2, 3, 4, 4, 4, 4, +Inf, +Inf, +Inf, +Inf}.
TEXT ·nearest2x4(SB), NOSPLIT, $0-56
	MOVQ q+0(FP), SI
	MOVQ C+8(FP), DI
	MOVQ d+16(FP), R13
	MOVQ k+24(FP), CX
	MOVQ mask+32(FP), R11
	MOVQ cst+40(FP), BX
	MOVQ res+48(FP), DX
	MOVQ R13, R12
	ANDQ $-4, R12
	SHLQ $3, R12
	SHLQ $3, R13
	SHRQ $2, CX
	VMOVUPD (BX), Y13     // lane indices
	VMOVUPD 32(BX), Y9    // +4
	VMOVUPD 64(BX), Y10   // smallest
	VMOVUPD 64(BX), Y11   // second smallest
	VMOVUPD (BX), Y12     // index of the smallest
	TESTQ CX, CX
	JZ   n2store
	TESTQ R11, R11
	JZ   n2rows
	VMOVUPD (R11), Y15
	VMASKMOVPD (SI)(R12*1), Y15, Y14

n2rows:
	LEAQ   (DI)(R13*1), R8
	LEAQ   (R8)(R13*1), R9
	LEAQ   (R9)(R13*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX
	CMPQ   AX, R12
	JGE    n2tail

n2feat:
	VMOVUPD (SI)(AX*1), Y8
	VMOVUPD (DI)(AX*1), Y4
	VMOVUPD (R8)(AX*1), Y5
	VMOVUPD (R9)(AX*1), Y6
	VMOVUPD (R10)(AX*1), Y7
	VSUBPD  Y4, Y8, Y4
	VSUBPD  Y5, Y8, Y5
	VSUBPD  Y6, Y8, Y6
	VSUBPD  Y7, Y8, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ    $32, AX
	CMPQ    AX, R12
	JLT     n2feat

n2tail:
	TESTQ R11, R11
	JZ    n2reduce
	VMASKMOVPD (DI)(AX*1), Y15, Y4
	VMASKMOVPD (R8)(AX*1), Y15, Y5
	VMASKMOVPD (R9)(AX*1), Y15, Y6
	VMASKMOVPD (R10)(AX*1), Y15, Y7
	VSUBPD  Y4, Y14, Y4
	VSUBPD  Y5, Y14, Y5
	VSUBPD  Y6, Y14, Y6
	VSUBPD  Y7, Y14, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3

n2reduce:
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VADDPD     Y7, Y6, Y6          // the four distances
	VCMPPD     $1, Y10, Y6, Y7     // Y7 = dist < smallest
	VMAXPD     Y10, Y6, Y8         // larger of dist and smallest
	VMINPD     Y8, Y11, Y11        // second smallest
	VMINPD     Y6, Y10, Y10        // smallest
	VBLENDVPD  Y7, Y13, Y12, Y12   // its index where dist < smallest
	VADDPD     Y9, Y13, Y13
	LEAQ       (R10)(R13*1), DI
	DECQ       CX
	JNZ        n2rows

n2store:
	// Merge the lanes, pairs (0,1) and (2,3) first, then the two halves.
	VPERMILPD $5, Y10, Y0
	VPERMILPD $5, Y11, Y1
	VPERMILPD $5, Y12, Y2
	N2MERGE
	VPERM2F128 $1, Y10, Y10, Y0
	VPERM2F128 $1, Y11, Y11, Y1
	VPERM2F128 $1, Y12, Y12, Y2
	N2MERGE
	VMOVSD    X10, (DX)
	VMOVSD    X11, 8(DX)
	VMOVSD    X12, 16(DX)
	VZEROUPPER
	RET

// func sqDistPairs4(X *float64, C *float64, d int, rows *int32, cents *int32, m int, mask *[4]int64, out *float64, root int)
//
// out[p] = squared distance from row rows[p] of X to row cents[p] of C
// (both with d columns) for p < m (m a multiple of 4), in sqDist's order;
// with root != 0 its square root (correctly rounded, as math.Sqrt).
TEXT ·sqDistPairs4(SB), NOSPLIT, $0-72
	MOVQ m+40(FP), CX
	SHRQ $2, CX
	TESTQ CX, CX
	JZ   pdone
	MOVQ mask+48(FP), R12
	TESTQ R12, R12
	JZ   pgroup
	VMOVUPD (R12), Y15

pgroup:
	MOVQ  d+16(FP), R12
	SHLQ  $3, R12            // row length in bytes
	MOVQ  rows+24(FP), SI
	MOVQ  cents+32(FP), DI
	MOVQ  X+0(FP), R13
	MOVLQSX (SI), R8
	IMULQ R12, R8
	ADDQ  R13, R8
	MOVLQSX 4(SI), R9
	IMULQ R12, R9
	ADDQ  R13, R9
	MOVLQSX 8(SI), R10
	IMULQ R12, R10
	ADDQ  R13, R10
	MOVLQSX 12(SI), R11
	IMULQ R12, R11
	ADDQ  R13, R11
	MOVQ  C+8(FP), R13
	MOVLQSX (DI), AX
	IMULQ R12, AX
	ADDQ  R13, AX
	MOVLQSX 4(DI), BX
	IMULQ R12, BX
	ADDQ  R13, BX
	MOVLQSX 8(DI), DX
	IMULQ R12, DX
	ADDQ  R13, DX
	MOVLQSX 12(DI), SI
	IMULQ R12, SI
	ADDQ  R13, SI
	ADDQ  $16, rows+24(FP)
	ADDQ  $16, cents+32(FP)
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ  d+16(FP), DI
	SHRQ  $2, DI             // feature blocks
	TESTQ DI, DI
	JZ    ptail

pfeat:
	VMOVUPD (R8), Y4
	VMOVUPD (R9), Y5
	VMOVUPD (R10), Y6
	VMOVUPD (R11), Y7
	VSUBPD  (AX), Y4, Y4
	VSUBPD  (BX), Y5, Y5
	VSUBPD  (DX), Y6, Y6
	VSUBPD  (SI), Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	ADDQ    $32, AX
	ADDQ    $32, BX
	ADDQ    $32, DX
	ADDQ    $32, SI
	DECQ    DI
	JNZ     pfeat

ptail:
	MOVQ  mask+48(FP), R12
	TESTQ R12, R12
	JZ    preduce
	VMASKMOVPD (R8), Y15, Y4
	VMASKMOVPD (R9), Y15, Y5
	VMASKMOVPD (R10), Y15, Y6
	VMASKMOVPD (R11), Y15, Y7
	VMASKMOVPD (AX), Y15, Y8
	VMASKMOVPD (BX), Y15, Y9
	VMASKMOVPD (DX), Y15, Y10
	VMASKMOVPD (SI), Y15, Y11
	VSUBPD  Y8, Y4, Y4
	VSUBPD  Y9, Y5, Y5
	VSUBPD  Y10, Y6, Y6
	VSUBPD  Y11, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3

preduce:
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VADDPD     Y7, Y6, Y6
	MOVQ       root+64(FP), R12
	TESTQ      R12, R12
	JZ         pstore
	VSQRTPD    Y6, Y6

pstore:
	MOVQ       out+56(FP), R12
	VMOVUPD    Y6, (R12)
	ADDQ       $32, out+56(FP)
	DECQ       CX
	JNZ        pgroup

pdone:
	VZEROUPPER
	RET

// func seedGain4(q *float64, X *float64, d int, n int, mask *[4]int64, closest *float64, out *float64, gain *[4]float64)
//
// The k-means++ candidate pass: out[i] = squared distance from q to row i of
// X (as sqDistRows4) for i < n (n a multiple of 4), and gain[r] += the sum
// over the rows i = r (mod 4), in row order, of max(closest[i] - out[i], 0):
// how much the candidate lowers the potential.
TEXT ·seedGain4(SB), NOSPLIT, $0-64
	MOVQ q+0(FP), SI
	MOVQ X+8(FP), DI
	MOVQ d+16(FP), R13
	MOVQ n+24(FP), CX
	MOVQ mask+32(FP), R11
	MOVQ closest+40(FP), BX
	MOVQ out+48(FP), DX
	MOVQ gain+56(FP), R14
	MOVQ R13, R12
	ANDQ $-4, R12
	SHLQ $3, R12
	SHLQ $3, R13
	SHRQ $2, CX
	VMOVUPD (R14), Y13    // gains
	VXORPD  Y12, Y12, Y12 // zero
	TESTQ CX, CX
	JZ   sgdone
	TESTQ R11, R11
	JZ   sgrows
	VMOVUPD (R11), Y15
	VMASKMOVPD (SI)(R12*1), Y15, Y14

sgrows:
	LEAQ   (DI)(R13*1), R8
	LEAQ   (R8)(R13*1), R9
	LEAQ   (R9)(R13*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX
	CMPQ   AX, R12
	JGE    sgtail

sgfeat:
	VMOVUPD (SI)(AX*1), Y8
	VMOVUPD (DI)(AX*1), Y4
	VMOVUPD (R8)(AX*1), Y5
	VMOVUPD (R9)(AX*1), Y6
	VMOVUPD (R10)(AX*1), Y7
	VSUBPD  Y4, Y8, Y4
	VSUBPD  Y5, Y8, Y5
	VSUBPD  Y6, Y8, Y6
	VSUBPD  Y7, Y8, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ    $32, AX
	CMPQ    AX, R12
	JLT     sgfeat

sgtail:
	TESTQ R11, R11
	JZ    sgreduce
	VMASKMOVPD (DI)(AX*1), Y15, Y4
	VMASKMOVPD (R8)(AX*1), Y15, Y5
	VMASKMOVPD (R9)(AX*1), Y15, Y6
	VMASKMOVPD (R10)(AX*1), Y15, Y7
	VSUBPD  Y4, Y14, Y4
	VSUBPD  Y5, Y14, Y5
	VSUBPD  Y6, Y14, Y6
	VSUBPD  Y7, Y14, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3

sgreduce:
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VADDPD     Y7, Y6, Y6
	VMOVUPD    Y6, (DX)
	VMOVUPD    (BX), Y7
	VSUBPD     Y6, Y7, Y7     // closest - dist
	VMAXPD     Y12, Y7, Y7    // max(., 0)
	VADDPD     Y7, Y13, Y13
	ADDQ       $32, DX
	ADDQ       $32, BX
	LEAQ       (R10)(R13*1), DI
	DECQ       CX
	JNZ        sgrows

sgdone:
	VMOVUPD Y13, (R14)
	VZEROUPPER
	RET

// D16GROUP accumulates, for the four 16-feature rows at DI, R8, R9, R10,
// the squared distances to the point held in Y6-Y9 into Y0-Y3 (one lane per
// feature mod 4, in feature order, as sqDist). Clobbers Y4, Y5, Y14, Y15.
#define D16GROUP \
	VSUBPD      (DI), Y6, Y4; \
	VSUBPD      (R8), Y6, Y5; \
	VSUBPD      (R9), Y6, Y14; \
	VSUBPD      (R10), Y6, Y15; \
	VMULPD      Y4, Y4, Y0; \
	VMULPD      Y5, Y5, Y1; \
	VMULPD      Y14, Y14, Y2; \
	VMULPD      Y15, Y15, Y3; \
	VSUBPD      32(DI), Y7, Y4; \
	VSUBPD      32(R8), Y7, Y5; \
	VSUBPD      32(R9), Y7, Y14; \
	VSUBPD      32(R10), Y7, Y15; \
	VFMADD231PD Y4, Y4, Y0; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y15, Y15, Y3; \
	VSUBPD      64(DI), Y8, Y4; \
	VSUBPD      64(R8), Y8, Y5; \
	VSUBPD      64(R9), Y8, Y14; \
	VSUBPD      64(R10), Y8, Y15; \
	VFMADD231PD Y4, Y4, Y0; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y15, Y15, Y3; \
	VSUBPD      96(DI), Y9, Y4; \
	VSUBPD      96(R8), Y9, Y5; \
	VSUBPD      96(R9), Y9, Y14; \
	VSUBPD      96(R10), Y9, Y15; \
	VFMADD231PD Y4, Y4, Y0; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y15, Y15, Y3

// func nearest2x4d16(q *float64, C *float64, k int, cst *[12]float64, res *[3]float64)
//
// nearest2x4 for d = 16, with q held in registers and the feature loop
// unrolled.
TEXT ·nearest2x4d16(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ C+8(FP), DI
	MOVQ k+16(FP), CX
	MOVQ cst+24(FP), BX
	MOVQ res+32(FP), DX
	SHRQ $2, CX
	VMOVUPD (SI), Y6
	VMOVUPD 32(SI), Y7
	VMOVUPD 64(SI), Y8
	VMOVUPD 96(SI), Y9
	VMOVUPD (BX), Y13     // lane indices
	VMOVUPD 64(BX), Y10   // smallest
	VMOVUPD 64(BX), Y11   // second smallest
	VMOVUPD (BX), Y12     // index of the smallest
	TESTQ CX, CX
	JZ   d16store

d16rows:
	LEAQ 128(DI), R8
	LEAQ 256(DI), R9
	LEAQ 384(DI), R10
	D16GROUP
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y0
	VPERM2F128 $0x31, Y5, Y4, Y1
	VADDPD     Y1, Y0, Y0          // the four distances
	VCMPPD     $1, Y10, Y0, Y1     // dist < smallest
	VMAXPD     Y10, Y0, Y2
	VMINPD     Y2, Y11, Y11
	VMINPD     Y0, Y10, Y10
	VBLENDVPD  Y1, Y13, Y12, Y12
	VADDPD     32(BX), Y13, Y13
	ADDQ       $512, DI
	DECQ       CX
	JNZ        d16rows

d16store:
	VPERMILPD $5, Y10, Y0
	VPERMILPD $5, Y11, Y1
	VPERMILPD $5, Y12, Y2
	N2MERGE
	VPERM2F128 $1, Y10, Y10, Y0
	VPERM2F128 $1, Y11, Y11, Y1
	VPERM2F128 $1, Y12, Y12, Y2
	N2MERGE
	VMOVSD    X10, (DX)
	VMOVSD    X11, 8(DX)
	VMOVSD    X12, 16(DX)
	VZEROUPPER
	RET

// func seedGain4d16(q *float64, X *float64, n int, closest *float64, out *float64, gain *[4]float64)
//
// seedGain4 for d = 16, with q held in registers.
TEXT ·seedGain4d16(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ X+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ closest+24(FP), BX
	MOVQ out+32(FP), DX
	MOVQ gain+40(FP), R11
	SHRQ $2, CX
	VMOVUPD (SI), Y6
	VMOVUPD 32(SI), Y7
	VMOVUPD 64(SI), Y8
	VMOVUPD 96(SI), Y9
	VMOVUPD (R11), Y13    // gains
	VXORPD  Y12, Y12, Y12 // zero
	TESTQ CX, CX
	JZ   g16done

g16rows:
	LEAQ 128(DI), R8
	LEAQ 256(DI), R9
	LEAQ 384(DI), R10
	D16GROUP
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y0
	VPERM2F128 $0x31, Y5, Y4, Y1
	VADDPD     Y1, Y0, Y0
	VMOVUPD    Y0, (DX)
	VMOVUPD    (BX), Y1
	VSUBPD     Y0, Y1, Y1     // closest - dist
	VMAXPD     Y12, Y1, Y1    // max(., 0)
	VADDPD     Y1, Y13, Y13
	ADDQ       $32, DX
	ADDQ       $32, BX
	ADDQ       $512, DI
	DECQ       CX
	JNZ        g16rows

g16done:
	VMOVUPD Y13, (R11)
	VZEROUPPER
	RET

// func nearest2Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *[12]float64, out *float64)
//
// nearest2x4d16 for the m rows rows[0..m) of X (16 columns) in one call:
// out[3q] = index of the nearest of the k centroids of C (k a multiple of
// 4) to row rows[q], as a float64, out[3q+1] and out[3q+2] the square roots
// of the squared distances to it and to the second-nearest.
TEXT ·nearest2Rows16(SB), NOSPLIT, $0-56
	MOVQ X+0(FP), R13
	MOVQ rows+8(FP), R11
	MOVQ m+16(FP), R12
	MOVQ C+24(FP), AX
	MOVQ k+32(FP), R14
	MOVQ cst+40(FP), BX
	MOVQ out+48(FP), DX
	SHRQ $2, R14
	TESTQ R12, R12
	JZ   nrdone
	TESTQ R14, R14
	JZ   nrdone

nrrow:
	MOVLQSX (R11), SI
	SHLQ    $7, SI            // 128 bytes a row
	ADDQ    R13, SI
	VMOVUPD (SI), Y6
	VMOVUPD 32(SI), Y7
	VMOVUPD 64(SI), Y8
	VMOVUPD 96(SI), Y9
	VMOVUPD (BX), Y13     // lane indices
	VMOVUPD 64(BX), Y10   // smallest
	VMOVUPD 64(BX), Y11   // second smallest
	VMOVUPD (BX), Y12     // index of the smallest
	MOVQ    AX, DI
	MOVQ    R14, CX

nrgroups:
	LEAQ 128(DI), R8
	LEAQ 256(DI), R9
	LEAQ 384(DI), R10
	D16GROUP
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y0
	VPERM2F128 $0x31, Y5, Y4, Y1
	VADDPD     Y1, Y0, Y0
	VCMPPD     $1, Y10, Y0, Y1
	VMAXPD     Y10, Y0, Y2
	VMINPD     Y2, Y11, Y11
	VMINPD     Y0, Y10, Y10
	VBLENDVPD  Y1, Y13, Y12, Y12
	VADDPD     32(BX), Y13, Y13
	ADDQ       $512, DI
	DECQ       CX
	JNZ        nrgroups

	VPERMILPD  $5, Y10, Y0
	VPERMILPD  $5, Y11, Y1
	VPERMILPD  $5, Y12, Y2
	N2MERGE
	VPERM2F128 $1, Y10, Y10, Y0
	VPERM2F128 $1, Y11, Y11, Y1
	VPERM2F128 $1, Y12, Y12, Y2
	N2MERGE
	VUNPCKLPD  X11, X10, X0       // (smallest, second)
	VSQRTPD    X0, X0
	VMOVSD     X12, (DX)
	VMOVUPD    X0, 8(DX)
	ADDQ       $24, DX
	ADDQ       $4, R11
	DECQ       R12
	JNZ        nrrow

nrdone:
	VZEROUPPER
	RET

// D16GROUP3 is D16GROUP with three temporaries (Y4, Y5, Y14), leaving Y15
// free; register renaming hides the reuse.
#define D16GROUP3 \
	VSUBPD      (DI), Y6, Y4; \
	VSUBPD      (R8), Y6, Y5; \
	VSUBPD      (R9), Y6, Y14; \
	VMULPD      Y4, Y4, Y0; \
	VSUBPD      (R10), Y6, Y4; \
	VMULPD      Y5, Y5, Y1; \
	VMULPD      Y14, Y14, Y2; \
	VMULPD      Y4, Y4, Y3; \
	VSUBPD      32(DI), Y7, Y4; \
	VSUBPD      32(R8), Y7, Y5; \
	VSUBPD      32(R9), Y7, Y14; \
	VFMADD231PD Y4, Y4, Y0; \
	VSUBPD      32(R10), Y7, Y4; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y4, Y4, Y3; \
	VSUBPD      64(DI), Y8, Y4; \
	VSUBPD      64(R8), Y8, Y5; \
	VSUBPD      64(R9), Y8, Y14; \
	VFMADD231PD Y4, Y4, Y0; \
	VSUBPD      64(R10), Y8, Y4; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y4, Y4, Y3; \
	VSUBPD      96(DI), Y9, Y4; \
	VSUBPD      96(R8), Y9, Y5; \
	VSUBPD      96(R9), Y9, Y14; \
	VFMADD231PD Y4, Y4, Y0; \
	VSUBPD      96(R10), Y9, Y4; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y14, Y14, Y2; \
	VFMADD231PD Y4, Y4, Y3

// N3MERGE merges the partner lanes (Y0 smallest, Y1 second, Y2 third, Y3
// index of the smallest, Y4 index of the second) into Y10, Y11, Y12, Y13,
// Y15 (same roles): smallest = min (lower index on ties), second and third
// the next values of the union, the second's index that of either on ties.
// Clobbers Y0-Y9, Y14.
#define N3MERGE \
	VCMPPD    $1, Y10, Y0, Y5; \
	VCMPPD    $0, Y10, Y0, Y6; \
	VCMPPD    $1, Y13, Y3, Y7; \
	VANDPD    Y7, Y6, Y6; \
	VORPD     Y6, Y5, Y5; \
	VBLENDVPD Y5, Y10, Y0, Y6; \
	VBLENDVPD Y5, Y13, Y3, Y7; \
	VBLENDVPD Y5, Y1, Y11, Y8; \
	VBLENDVPD Y5, Y4, Y15, Y9; \
	VMAXPD    Y11, Y0, Y14; \
	VMINPD    Y2, Y12, Y12; \
	VMINPD    Y14, Y12, Y12; \
	VMAXPD    Y1, Y10, Y14; \
	VMINPD    Y14, Y12, Y12; \
	VBLENDVPD Y5, Y3, Y13, Y13; \
	VMINPD    Y0, Y10, Y10; \
	VCMPPD    $2, Y8, Y6, Y14; \
	VBLENDVPD Y14, Y7, Y9, Y15; \
	VMINPD    Y8, Y6, Y11

// func nearest3Rows16(X *float64, rows *int32, m int, C *float64, k int, cst *float64, out *float64)
//
// For the m rows rows[0..m) of X (16 columns) and the k centroids of C (k a
// multiple of 4): out[5q] = index of the nearest centroid (lowest on ties),
// out[5q+1] = index of a second-nearest, out[5q+2..5q+5] = the square roots
// of the three smallest squared distances (sqDist). Lane r tracks the
// centroids r, r+4, ...: three smallest values and the indices of the first
// two. cst holds the +Inf and lane-index vectors of nearestConsts followed
// by the indices 0..k-1 as float64.
TEXT ·nearest3Rows16(SB), NOSPLIT, $0-56
	MOVQ X+0(FP), R13
	MOVQ rows+8(FP), R11
	MOVQ m+16(FP), R12
	MOVQ C+24(FP), AX
	MOVQ k+32(FP), R14
	MOVQ cst+40(FP), BX
	MOVQ out+48(FP), DX
	SHRQ $2, R14
	TESTQ R12, R12
	JZ   n3done
	TESTQ R14, R14
	JZ   n3done

n3row:
	MOVLQSX (R11), SI
	SHLQ    $7, SI
	ADDQ    R13, SI
	VMOVUPD (SI), Y6
	VMOVUPD 32(SI), Y7
	VMOVUPD 64(SI), Y8
	VMOVUPD 96(SI), Y9
	VMOVUPD 64(BX), Y10   // smallest
	VMOVUPD 64(BX), Y11   // second
	VMOVUPD 64(BX), Y12   // third
	VMOVUPD (BX), Y13     // index of the smallest
	VMOVUPD (BX), Y15     // index of the second
	MOVQ    AX, DI
	MOVQ    R14, CX
	LEAQ    96(BX), R15   // indices of the current group

n3groups:
	LEAQ 128(DI), R8
	LEAQ 256(DI), R9
	LEAQ 384(DI), R10
	D16GROUP3
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y0
	VPERM2F128 $0x31, Y5, Y4, Y1
	VADDPD     Y1, Y0, Y0          // the four distances
	VCMPPD     $1, Y10, Y0, Y1     // below the smallest
	VCMPPD     $1, Y11, Y0, Y2     // below the second
	VMAXPD     Y11, Y0, Y3
	VMINPD     Y3, Y12, Y12        // third
	VMAXPD     Y10, Y0, Y3
	VMINPD     Y3, Y11, Y11        // second
	VMINPD     Y0, Y10, Y10        // smallest
	VBLENDVPD  Y2, (R15), Y15, Y15 // new second's index
	VBLENDVPD  Y1, Y13, Y15, Y15   // or the old smallest's
	VBLENDVPD  Y1, (R15), Y13, Y13
	ADDQ       $512, DI
	ADDQ       $32, R15
	DECQ       CX
	JNZ        n3groups

	VPERMILPD  $5, Y10, Y0
	VPERMILPD  $5, Y11, Y1
	VPERMILPD  $5, Y12, Y2
	VPERMILPD  $5, Y13, Y3
	VPERMILPD  $5, Y15, Y4
	N3MERGE
	VPERM2F128 $1, Y10, Y10, Y0
	VPERM2F128 $1, Y11, Y11, Y1
	VPERM2F128 $1, Y12, Y12, Y2
	VPERM2F128 $1, Y13, Y13, Y3
	VPERM2F128 $1, Y15, Y15, Y4
	N3MERGE
	VMOVSD     X13, (DX)
	VMOVSD     X15, 8(DX)
	VUNPCKLPD  X11, X10, X0
	VSQRTPD    X0, X0
	VMOVUPD    X0, 16(DX)
	VSQRTSD    X12, X12, X12
	VMOVSD     X12, 32(DX)
	ADDQ       $40, DX
	ADDQ       $4, R11
	DECQ       R12
	JNZ        n3row

n3done:
	VZEROUPPER
	RET

// func seedAccept3x4(dist *float64, closest *float64, second *float64, third *float64, lab *int, lab2 *int, n int, c int)
//
// Makes the candidate with squared distances dist the centroid c, for rows
// i < n (n a multiple of 4), keeping each row's nearest centroid (lab),
// second-nearest (lab2) and three smallest squared distances: the rows' three
// nearest of the centroids placed so far.
TEXT ·seedAccept3x4(SB), NOSPLIT, $0-64
	MOVQ dist+0(FP), SI
	MOVQ closest+8(FP), DI
	MOVQ second+16(FP), R8
	MOVQ third+24(FP), R10
	MOVQ lab+32(FP), R9
	MOVQ lab2+40(FP), R11
	MOVQ n+48(FP), CX
	SHRQ $2, CX
	TESTQ CX, CX
	JZ   s3done
	VPBROADCASTQ c+56(FP), Y5

s3loop:
	VMOVUPD   (SI), Y0        // dist
	VMOVUPD   (DI), Y1        // closest
	VMOVUPD   (R8), Y2        // second
	VMOVUPD   (R10), Y7       // third
	VMOVUPD   (R9), Y3        // labels
	VMOVUPD   (R11), Y8       // second labels
	VCMPPD    $1, Y1, Y0, Y4  // dist < closest
	VCMPPD    $1, Y2, Y0, Y9  // dist < second
	VMAXPD    Y2, Y0, Y6
	VMINPD    Y6, Y7, Y7      // third = min(third, max(second, dist))
	VMAXPD    Y0, Y1, Y6
	VMINPD    Y6, Y2, Y2      // second = min(second, max(closest, dist))
	VMINPD    Y0, Y1, Y1      // closest = min(closest, dist)
	VBLENDVPD Y9, Y5, Y8, Y8  // second label c where dist < second
	VBLENDVPD Y4, Y3, Y8, Y8  // or the old label where dist < closest
	VBLENDVPD Y4, Y5, Y3, Y3  // label c where dist < closest
	VMOVUPD   Y1, (DI)
	VMOVUPD   Y2, (R8)
	VMOVUPD   Y7, (R10)
	VMOVUPD   Y3, (R9)
	VMOVUPD   Y8, (R11)
	ADDQ      $32, SI
	ADDQ      $32, DI
	ADDQ      $32, R8
	ADDQ      $32, R10
	ADDQ      $32, R9
	ADDQ      $32, R11
	DECQ      CX
	JNZ       s3loop

s3done:
	VZEROUPPER
	RET

// HBROW is one row of hamBound3 (row index AX). With upd, the bounds are
// first moved: u += p[a], lb -= p[b], l3 -= dl[a] (and stored).
#define HBROW(upd) \
	MOVQ    (BX)(AX*8), R10; \
	SHLQ    $5, R10; \
	MOVSD   (SI)(AX*8), X0; \
	MOVSD   (DI)(AX*8), X1; \
	MOVSD   (R8)(AX*8), X2; \
	upd; \
	MINSD   X2, X1; \
	MAXSD   16(R9)(R10*1), X1; \
	MOVL    AX, (R12)(R15*4); \
	SHRQ    $5, R10; \
	MOVL    R10, (R13)(R15*4); \
	MOVSD   X1, (R14)(R15*8); \
	XORL    R11, R11; \
	UCOMISD X1, X0; \
	SETHI   R11B; \
	ADDQ    R11, R15

#define HBMOVE \
	MOVLQSX (DX)(AX*4), R11; \
	SHLQ    $5, R11; \
	ADDSD   (R9)(R10*1), X0; \
	SUBSD   (R9)(R11*1), X1; \
	SUBSD   8(R9)(R10*1), X2; \
	MOVSD   X0, (SI)(AX*8); \
	MOVSD   X1, (DI)(AX*8); \
	MOVSD   X2, (R8)(AX*8)

#define HBNONE

// func hamBound3(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int
//
// The bound pass of the three-bound Hamerly E-step over rows lo..hi (see
// hamerly): tab holds per centroid {p, dl, s, 0}. For each row i (label a,
// second b), m = max(s[a], min(lb, l3)); i, a and m are appended to rows,
// cents and lim, and the count advanced when u > m (a branch-free append).
// Returns the count.
TEXT ·hamBound3(SB), NOSPLIT, $0-104
	MOVQ labels+0(FP), BX
	MOVQ b+8(FP), DX
	MOVQ u+16(FP), SI
	MOVQ lb+24(FP), DI
	MOVQ l3+32(FP), R8
	MOVQ tab+40(FP), R9
	MOVQ lo+48(FP), AX
	MOVQ hi+56(FP), CX
	MOVQ rows+72(FP), R12
	MOVQ cents+80(FP), R13
	MOVQ lim+88(FP), R14
	XORQ R15, R15
	CMPQ AX, CX
	JGE  hbdone
	MOVQ pending+64(FP), R11
	TESTQ R11, R11
	JZ   hbstill

hbmove:
	HBROW(HBMOVE)
	INCQ AX
	CMPQ AX, CX
	JLT  hbmove
	JMP  hbdone

hbstill:
	HBROW(HBNONE)
	INCQ AX
	CMPQ AX, CX
	JLT  hbstill

hbdone:
	MOVQ R15, ret+96(FP)
	RET

// PAIR16 loads the row index at off(SI) and the centroid index at off(DI),
// and points reg1 at the row (base R13) and reg2 at the centroid (base AX),
// 128 bytes each.
#define PAIR16(off, reg1, reg2) \
	MOVLQSX off(SI), reg1; \
	MOVLQSX off(DI), reg2; \
	SHLQ    $7, reg1; \
	SHLQ    $7, reg2; \
	ADDQ    R13, reg1; \
	ADDQ    AX, reg2

// PBLOCK16 accumulates feature block off of the four pairs into Y0-Y3.
#define PBLOCK16(off, first) \
	VMOVUPD off(R8), Y4; \
	VMOVUPD off(R9), Y5; \
	VMOVUPD off(R10), Y6; \
	VMOVUPD off(R11), Y7; \
	VSUBPD  off(BX), Y4, Y4; \
	VSUBPD  off(CX), Y5, Y5; \
	VSUBPD  off(DX), Y6, Y6; \
	VSUBPD  off(R12), Y7, Y7; \
	first

#define PFIRST \
	VMULPD Y4, Y4, Y0; \
	VMULPD Y5, Y5, Y1; \
	VMULPD Y6, Y6, Y2; \
	VMULPD Y7, Y7, Y3

#define PNEXT \
	VFMADD231PD Y4, Y4, Y0; \
	VFMADD231PD Y5, Y5, Y1; \
	VFMADD231PD Y6, Y6, Y2; \
	VFMADD231PD Y7, Y7, Y3

// func sqrtDistPairs16(X *float64, C *float64, rows *int32, cents *int32, m int, out *float64)
//
// sqDistPairs4 for 16 columns with root: out[p] = the distance (square
// root of sqDist) from row rows[p] of X to row cents[p] of C, p < m (m a
// multiple of 4).
TEXT ·sqrtDistPairs16(SB), NOSPLIT, $0-48
	MOVQ X+0(FP), R13
	MOVQ C+8(FP), AX
	MOVQ rows+16(FP), SI
	MOVQ cents+24(FP), DI
	MOVQ m+32(FP), R14
	MOVQ out+40(FP), R15
	SHRQ $2, R14
	TESTQ R14, R14
	JZ   p16done

p16group:
	PAIR16(0, R8, BX)
	PAIR16(4, R9, CX)
	PAIR16(8, R10, DX)
	PAIR16(12, R11, R12)
	PBLOCK16(0, PFIRST)
	PBLOCK16(32, PNEXT)
	PBLOCK16(64, PNEXT)
	PBLOCK16(96, PNEXT)
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y6
	VPERM2F128 $0x31, Y5, Y4, Y7
	VADDPD     Y7, Y6, Y6
	VSQRTPD    Y6, Y6
	VMOVUPD    Y6, (R15)
	ADDQ       $16, SI
	ADDQ       $16, DI
	ADDQ       $32, R15
	DECQ       R14
	JNZ        p16group

p16done:
	VZEROUPPER
	RET

// func nearest3Rowsx4(X *float64, rows *int32, m int, C *float64, k int, d int, mask *[4]int64, cst *float64, out *float64)
//
// nearest3Rows16 for any number of columns d (the last d%4 through the
// masked load, as sqDistRows4; mask nil when d%4 == 0).
TEXT ·nearest3Rowsx4(SB), NOSPLIT, $0-72
	MOVQ rows+8(FP), R11
	MOVQ m+16(FP), R12
	MOVQ out+64(FP), DX
	MOVQ d+40(FP), BX
	MOVQ BX, R14
	ANDQ $-4, R14
	SHLQ $3, R14          // d4 in bytes
	SHLQ $3, BX           // row stride in bytes
	TESTQ R12, R12
	JZ   g3done
	MOVQ k+32(FP), CX
	SHRQ $2, CX
	TESTQ CX, CX
	JZ   g3done

g3row:
	MOVLQSX (R11), SI
	IMULQ   BX, SI
	ADDQ    X+0(FP), SI
	MOVQ    mask+48(FP), R13
	TESTQ   R13, R13
	JZ      g3init
	VMOVUPD (R13), Y15
	VMASKMOVPD (SI)(R14*1), Y15, Y14

g3init:
	MOVQ    cst+56(FP), R15
	VMOVUPD 64(R15), Y9    // smallest
	VMOVUPD 64(R15), Y10   // second
	VMOVUPD 64(R15), Y11   // third
	VMOVUPD (R15), Y12     // index of the smallest
	VMOVUPD (R15), Y13     // index of the second
	ADDQ    $96, R15       // indices of the current group
	MOVQ    C+24(FP), DI
	MOVQ    k+32(FP), CX
	SHRQ    $2, CX

g3groups:
	LEAQ   (DI)(BX*1), R8
	LEAQ   (R8)(BX*1), R9
	LEAQ   (R9)(BX*1), R10
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX
	CMPQ   AX, R14
	JGE    g3tail

g3feat:
	VMOVUPD (SI)(AX*1), Y8
	VMOVUPD (DI)(AX*1), Y4
	VMOVUPD (R8)(AX*1), Y5
	VMOVUPD (R9)(AX*1), Y6
	VMOVUPD (R10)(AX*1), Y7
	VSUBPD  Y4, Y8, Y4
	VSUBPD  Y5, Y8, Y5
	VSUBPD  Y6, Y8, Y6
	VSUBPD  Y7, Y8, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ    $32, AX
	CMPQ    AX, R14
	JLT     g3feat

g3tail:
	MOVQ  mask+48(FP), R13
	TESTQ R13, R13
	JZ    g3reduce
	VMASKMOVPD (DI)(AX*1), Y15, Y4
	VMASKMOVPD (R8)(AX*1), Y15, Y5
	VMASKMOVPD (R9)(AX*1), Y15, Y6
	VMASKMOVPD (R10)(AX*1), Y15, Y7
	VSUBPD  Y4, Y14, Y4
	VSUBPD  Y5, Y14, Y5
	VSUBPD  Y6, Y14, Y6
	VSUBPD  Y7, Y14, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3

g3reduce:
	VHADDPD    Y1, Y0, Y4
	VHADDPD    Y3, Y2, Y5
	VPERM2F128 $0x20, Y5, Y4, Y0
	VPERM2F128 $0x31, Y5, Y4, Y1
	VADDPD     Y1, Y0, Y0          // the four distances
	VCMPPD     $1, Y9, Y0, Y1      // below the smallest
	VCMPPD     $1, Y10, Y0, Y2     // below the second
	VMAXPD     Y10, Y0, Y3
	VMINPD     Y3, Y11, Y11        // third
	VMAXPD     Y9, Y0, Y3
	VMINPD     Y3, Y10, Y10        // second
	VMINPD     Y0, Y9, Y9          // smallest
	VBLENDVPD  Y2, (R15), Y13, Y13 // new second's index
	VBLENDVPD  Y1, Y12, Y13, Y13   // or the old smallest's
	VBLENDVPD  Y1, (R15), Y12, Y12
	LEAQ       (R10)(BX*1), DI
	ADDQ       $32, R15
	DECQ       CX
	JNZ        g3groups

	// N3MERGE's registers: Y10-Y13 and Y15.
	VMOVAPD    Y13, Y15
	VMOVAPD    Y12, Y13
	VMOVAPD    Y11, Y12
	VMOVAPD    Y10, Y11
	VMOVAPD    Y9, Y10
	VPERMILPD  $5, Y10, Y0
	VPERMILPD  $5, Y11, Y1
	VPERMILPD  $5, Y12, Y2
	VPERMILPD  $5, Y13, Y3
	VPERMILPD  $5, Y15, Y4
	N3MERGE
	VPERM2F128 $1, Y10, Y10, Y0
	VPERM2F128 $1, Y11, Y11, Y1
	VPERM2F128 $1, Y12, Y12, Y2
	VPERM2F128 $1, Y13, Y13, Y3
	VPERM2F128 $1, Y15, Y15, Y4
	N3MERGE
	VMOVSD     X13, (DX)
	VMOVSD     X15, 8(DX)
	VUNPCKLPD  X11, X10, X0
	VSQRTPD    X0, X0
	VMOVUPD    X0, 16(DX)
	VSQRTSD    X12, X12, X12
	VMOVSD     X12, 32(DX)
	ADDQ       $40, DX
	ADDQ       $4, R11
	DECQ       R12
	JNZ        g3row

g3done:
	VZEROUPPER
	RET

// AVX-512 kernels for 16 features. They read the 16-column rows of one side
// in the oct layout (see octLayout): blocks of 8 rows, each block 4 pairs of
// rows (0,2), (1,3), (4,6), (5,7), each pair 4 ZMM words, word q holding
// features 4q..4q+3 of the pair's first row then of its second. With the
// other side's row broadcast to both halves of Z6-Z9 (features 4q..4q+3
// twice in Zq), lane r of a pair's accumulator sums the features f = r
// (mod 4) of its row in feature order, exactly as sqDist's partial sum s_r.
//
// D16OCTR leaves in Z0 the eight squared distances (sqDist's bits) from
// the query at R8 (four 8-value words: features 4q..4q+3 twice) to the
// block of 8 rows held in the oct layout in Z16-Z31 (pair A in Z16-Z19, B
// in Z20-Z23, C in Z24-Z27, D in Z28-Z31), in row order. It computes
// block - query: the squares are those of query - block. The two unpacks
// and adds form s0 + s1 and s2 + s3 of all eight rows, the two 128-bit
// shuffles gather them so that the last add is (s0 + s1) + (s2 + s3).
// Clobbers Z1-Z5, Z12, Z13.
#define D16OCTR \
	VSUBPD      (R8), Z16, Z4; \
	VSUBPD      (R8), Z20, Z5; \
	VSUBPD      (R8), Z24, Z12; \
	VSUBPD      (R8), Z28, Z13; \
	VMULPD      Z4, Z4, Z0; \
	VMULPD      Z5, Z5, Z1; \
	VMULPD      Z12, Z12, Z2; \
	VMULPD      Z13, Z13, Z3; \
	VSUBPD      64(R8), Z17, Z4; \
	VSUBPD      64(R8), Z21, Z5; \
	VSUBPD      64(R8), Z25, Z12; \
	VSUBPD      64(R8), Z29, Z13; \
	VFMADD231PD Z4, Z4, Z0; \
	VFMADD231PD Z5, Z5, Z1; \
	VFMADD231PD Z12, Z12, Z2; \
	VFMADD231PD Z13, Z13, Z3; \
	VSUBPD      128(R8), Z18, Z4; \
	VSUBPD      128(R8), Z22, Z5; \
	VSUBPD      128(R8), Z26, Z12; \
	VSUBPD      128(R8), Z30, Z13; \
	VFMADD231PD Z4, Z4, Z0; \
	VFMADD231PD Z5, Z5, Z1; \
	VFMADD231PD Z12, Z12, Z2; \
	VFMADD231PD Z13, Z13, Z3; \
	VSUBPD      192(R8), Z19, Z4; \
	VSUBPD      192(R8), Z23, Z5; \
	VSUBPD      192(R8), Z27, Z12; \
	VSUBPD      192(R8), Z31, Z13; \
	VFMADD231PD Z4, Z4, Z0; \
	VFMADD231PD Z5, Z5, Z1; \
	VFMADD231PD Z12, Z12, Z2; \
	VFMADD231PD Z13, Z13, Z3; \
	VUNPCKLPD   Z1, Z0, Z4; \
	VUNPCKHPD   Z1, Z0, Z5; \
	VADDPD      Z5, Z4, Z4; \
	VUNPCKLPD   Z3, Z2, Z12; \
	VUNPCKHPD   Z3, Z2, Z13; \
	VADDPD      Z13, Z12, Z12; \
	VSHUFF64X2  $0x88, Z12, Z4, Z0; \
	VSHUFF64X2  $0xDD, Z12, Z4, Z1; \
	VADDPD      Z1, Z0, Z0

// TR8 transposes the 8 x 8 block held in Z0-Z7 (row r in Zr) into d0-d7
// (feature f of the 8 rows in df): pairs of rows are interleaved, then
// 128-bit lanes gathered twice. Clobbers Z0-Z15.
#define TR8(d0, d1, d2, d3, d4, d5, d6, d7) \
	VUNPCKLPD  Z1, Z0, Z8; \
	VUNPCKHPD  Z1, Z0, Z9; \
	VUNPCKLPD  Z3, Z2, Z10; \
	VUNPCKHPD  Z3, Z2, Z11; \
	VUNPCKLPD  Z5, Z4, Z12; \
	VUNPCKHPD  Z5, Z4, Z13; \
	VUNPCKLPD  Z7, Z6, Z14; \
	VUNPCKHPD  Z7, Z6, Z15; \
	VSHUFF64X2 $0x88, Z10, Z8, Z0; \
	VSHUFF64X2 $0xDD, Z10, Z8, Z1; \
	VSHUFF64X2 $0x88, Z11, Z9, Z2; \
	VSHUFF64X2 $0xDD, Z11, Z9, Z3; \
	VSHUFF64X2 $0x88, Z14, Z12, Z4; \
	VSHUFF64X2 $0xDD, Z14, Z12, Z5; \
	VSHUFF64X2 $0x88, Z15, Z13, Z6; \
	VSHUFF64X2 $0xDD, Z15, Z13, Z7; \
	VSHUFF64X2 $0x88, Z4, Z0, d0; \
	VSHUFF64X2 $0xDD, Z4, Z0, d4; \
	VSHUFF64X2 $0x88, Z5, Z1, d2; \
	VSHUFF64X2 $0xDD, Z5, Z1, d6; \
	VSHUFF64X2 $0x88, Z6, Z2, d1; \
	VSHUFF64X2 $0xDD, Z6, Z2, d5; \
	VSHUFF64X2 $0x88, Z7, Z3, d3; \
	VSHUFF64X2 $0xDD, Z7, Z3, d7

// LOAD8 loads 8 values at offset off of the 8 rows listed at R11 (int32
// row indices into X at R13, 128 bytes a row) into Z0-Z7.
#define LOAD8(off) \
	MOVLQSX (R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z0; \
	MOVLQSX 4(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z1; \
	MOVLQSX 8(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z2; \
	MOVLQSX 12(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z3; \
	MOVLQSX 16(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z4; \
	MOVLQSX 20(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z5; \
	MOVLQSX 24(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z6; \
	MOVLQSX 28(R11), R8; \
	SHLQ    $7, R8; \
	VMOVUPD off(R13)(R8*1), Z7

// func nearest3T16(X *float64, rows *int32, m int, C *float64, k int, out *float64)
//
// nearest3Rows for 16 columns with AVX-512, eight rows at a time, one per
// lane: the rows rows[8b..8b+8) are transposed into Z16-Z31 (feature f of
// the 8 rows in Z(16+f)) and the k centroids of C (k x 16, no padding)
// visited in order, each feature broadcast from memory. Lane r's four
// partial sums are then exactly sqDist's s0..s3 for its row, and the
// running three smallest and two indices are updated as the Go loop does
// (strict comparisons, centroids in index order), so the output has the Go
// path's bits, indices included. m is a multiple of 8. Output per block of
// 8 rows, 40 values: the nearest indices, the second indices, then the
// square roots of the three smallest squared distances, 8 of each.
TEXT ·nearest3T16(SB), NOSPLIT, $0-48
	MOVQ X+0(FP), R13
	MOVQ rows+8(FP), R11
	MOVQ m+16(FP), R12
	MOVQ C+24(FP), AX
	MOVQ k+32(FP), R14
	MOVQ out+40(FP), DX
	SHRQ $3, R12
	JZ   t3done
	TESTQ R14, R14
	JZ   t3done
	MOVQ $0x3FF0000000000000, R9 // 1.0
	MOVQ $0x7FF0000000000000, R10 // +Inf

t3block:
	LOAD8(0)
	TR8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	LOAD8(64)
	TR8(Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31)
	VPBROADCASTQ R9, Z14
	VPBROADCASTQ R10, Z8  // smallest
	VMOVAPD      Z8, Z9   // second
	VMOVAPD      Z8, Z10  // third
	VPXORQ       Z11, Z11, Z11 // index of the smallest
	VPXORQ       Z12, Z12, Z12 // index of the second
	VPXORQ       Z13, Z13, Z13 // current centroid
	MOVQ         AX, CX
	MOVQ         R14, BX

t3cent:
	VSUBPD.BCST  (CX), Z16, Z4
	VSUBPD.BCST  8(CX), Z17, Z5
	VSUBPD.BCST  16(CX), Z18, Z6
	VSUBPD.BCST  24(CX), Z19, Z7
	VMULPD       Z4, Z4, Z0
	VMULPD       Z5, Z5, Z1
	VMULPD       Z6, Z6, Z2
	VMULPD       Z7, Z7, Z3
	VSUBPD.BCST  32(CX), Z20, Z4
	VSUBPD.BCST  40(CX), Z21, Z5
	VSUBPD.BCST  48(CX), Z22, Z6
	VSUBPD.BCST  56(CX), Z23, Z7
	VFMADD231PD  Z4, Z4, Z0
	VFMADD231PD  Z5, Z5, Z1
	VFMADD231PD  Z6, Z6, Z2
	VFMADD231PD  Z7, Z7, Z3
	VSUBPD.BCST  64(CX), Z24, Z4
	VSUBPD.BCST  72(CX), Z25, Z5
	VSUBPD.BCST  80(CX), Z26, Z6
	VSUBPD.BCST  88(CX), Z27, Z7
	VFMADD231PD  Z4, Z4, Z0
	VFMADD231PD  Z5, Z5, Z1
	VFMADD231PD  Z6, Z6, Z2
	VFMADD231PD  Z7, Z7, Z3
	VSUBPD.BCST  96(CX), Z28, Z4
	VSUBPD.BCST  104(CX), Z29, Z5
	VSUBPD.BCST  112(CX), Z30, Z6
	VSUBPD.BCST  120(CX), Z31, Z7
	VFMADD231PD  Z4, Z4, Z0
	VFMADD231PD  Z5, Z5, Z1
	VFMADD231PD  Z6, Z6, Z2
	VFMADD231PD  Z7, Z7, Z3
	VADDPD       Z1, Z0, Z0
	VADDPD       Z3, Z2, Z2
	VADDPD       Z2, Z0, Z0      // the 8 rows' distances to the centroid
	VCMPPD       $1, Z8, Z0, K1  // below the smallest
	VCMPPD       $1, Z9, Z0, K2  // below the second
	VMAXPD       Z9, Z0, Z3
	VMINPD       Z3, Z10, Z10    // third
	VMAXPD       Z8, Z0, Z3
	VMINPD       Z3, Z9, Z9      // second
	VMINPD       Z0, Z8, Z8      // smallest
	VMOVAPD      Z13, K2, Z12    // new second's index
	VMOVAPD      Z11, K1, Z12    // or the old smallest's
	VMOVAPD      Z13, K1, Z11
	VADDPD       Z14, Z13, Z13
	ADDQ         $128, CX
	DECQ         BX
	JNZ          t3cent

	VSQRTPD Z8, Z8
	VSQRTPD Z9, Z9
	VSQRTPD Z10, Z10
	VMOVUPD Z11, (DX)
	VMOVUPD Z12, 64(DX)
	VMOVUPD Z8, 128(DX)
	VMOVUPD Z9, 192(DX)
	VMOVUPD Z10, 256(DX)
	ADDQ    $320, DX
	ADDQ    $32, R11
	DECQ    R12
	JNZ     t3block

t3done:
	VZEROUPPER
	RET

// LOOKUP32 sets dst to the entries idx (int64 lanes, < 32) of the 32-entry
// table t0-t3 (8 entries a register): two 16-entry permutes, the second
// taken where bit 4 of the index is set (mask K). Clobbers Z15.
#define LOOKUP32(idx, msk, t0, t1, t2, t3, dst) \
	VMOVDQA64 idx, dst; \
	VPERMI2PD t1, t0, dst; \
	VMOVDQA64 idx, Z15; \
	VPERMI2PD t3, t2, Z15; \
	VMOVAPD   Z15, msk, dst

// HB8LOAD loads rows AX..AX+7: labels a in Z0, second labels b in Z1 (as
// int64), u, lb, l3 in Z2-Z4, bit 4 of a in K2, s[a] in Z5.
#define HB8LOAD \
	VMOVDQU64 (BX)(AX*8), Z0; \
	VPMOVSXDQ (DX)(AX*4), Z1; \
	VMOVUPD   (SI)(AX*8), Z2; \
	VMOVUPD   (DI)(AX*8), Z3; \
	VMOVUPD   (R8)(AX*8), Z4; \
	VPTESTMQ  Z29, Z0, K2; \
	LOOKUP32(Z0, K2, Z24, Z25, Z26, Z27, Z5)

// HB8MOVE moves the bounds by the last M-step: u += p[a], lb -= p[b],
// l3 -= dl[a], and stores them.
#define HB8MOVE \
	VPTESTMQ Z29, Z1, K3; \
	LOOKUP32(Z0, K2, Z16, Z17, Z18, Z19, Z6); \
	LOOKUP32(Z1, K3, Z16, Z17, Z18, Z19, Z7); \
	LOOKUP32(Z0, K2, Z20, Z21, Z22, Z23, Z8); \
	VADDPD   Z6, Z2, Z2; \
	VSUBPD   Z7, Z3, Z3; \
	VSUBPD   Z8, Z4, Z4; \
	VMOVUPD  Z2, (SI)(AX*8); \
	VMOVUPD  Z3, (DI)(AX*8); \
	VMOVUPD  Z4, (R8)(AX*8)

// HB8TEST computes m = max(s[a], min(lb, l3)) (the scalar kernel's operand
// order) and appends the rows with u > m, their labels and m to rows, cents
// and lim at R15, advancing R15 by their count. The compressed vectors are
// stored whole: the slots past the count are scratch.
#define HB8TEST \
	VMINPD       Z4, Z3, Z9; \
	VMAXPD       Z5, Z9, Z9; \
	VCMPPD       $0x1e, Z9, Z2, K1; \
	VPBROADCASTD AX, Y10; \
	VPADDD       Y28, Y10, Y10; \
	VPCOMPRESSD  Y10, K1, Y11; \
	VMOVDQU32    Y11, (R12)(R15*4); \
	VPMOVQD      Z0, Y12; \
	VPCOMPRESSD  Y12, K1, Y13; \
	VMOVDQU32    Y13, (R13)(R15*4); \
	VCOMPRESSPD  Z9, K1, Z14; \
	VMOVUPD      Z14, (R14)(R15*8); \
	KMOVB        K1, R10; \
	POPCNTL      R10, R10; \
	ADDQ         R10, R15

DATA lanes32<>+0(SB)/4, $0
DATA lanes32<>+4(SB)/4, $1
DATA lanes32<>+8(SB)/4, $2
DATA lanes32<>+12(SB)/4, $3
DATA lanes32<>+16(SB)/4, $4
DATA lanes32<>+20(SB)/4, $5
DATA lanes32<>+24(SB)/4, $6
DATA lanes32<>+28(SB)/4, $7
GLOBL lanes32<>(SB), RODATA|NOPTR, $32

// func hamBound8(labels *int, b *int32, u, lb, l3 *float64, tab *float64, lo, hi int, pending int, rows, cents *int32, lim *float64) int
//
// hamBound3 with AVX-512, eight rows at a time (hi - lo a multiple of 8)
// and at most 32 centroids: tab holds p, dl and s, 32 entries each, looked
// up with permutes. Same bounds, same appended lists.
TEXT ·hamBound8(SB), NOSPLIT, $0-104
	MOVQ labels+0(FP), BX
	MOVQ b+8(FP), DX
	MOVQ u+16(FP), SI
	MOVQ lb+24(FP), DI
	MOVQ l3+32(FP), R8
	MOVQ tab+40(FP), R9
	MOVQ lo+48(FP), AX
	MOVQ hi+56(FP), CX
	MOVQ rows+72(FP), R12
	MOVQ cents+80(FP), R13
	MOVQ lim+88(FP), R14
	XORQ R15, R15
	CMPQ AX, CX
	JGE  h8done
	VMOVUPD (R9), Z16       // p
	VMOVUPD 64(R9), Z17
	VMOVUPD 128(R9), Z18
	VMOVUPD 192(R9), Z19
	VMOVUPD 256(R9), Z20    // dl
	VMOVUPD 320(R9), Z21
	VMOVUPD 384(R9), Z22
	VMOVUPD 448(R9), Z23
	VMOVUPD 512(R9), Z24    // s
	VMOVUPD 576(R9), Z25
	VMOVUPD 640(R9), Z26
	VMOVUPD 704(R9), Z27
	VMOVDQU32 lanes32<>(SB), Y28 // 0..7 as int32
	MOVQ    $16, R10
	VPBROADCASTQ R10, Z29   // bit 4
	MOVQ pending+64(FP), R11
	TESTQ R11, R11
	JZ   h8still

h8move:
	HB8LOAD
	HB8MOVE
	HB8TEST
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  h8move
	JMP  h8done

h8still:
	HB8LOAD
	HB8TEST
	ADDQ $8, AX
	CMPQ AX, CX
	JLT  h8still

h8done:
	MOVQ R15, ret+96(FP)
	VZEROUPPER
	RET

// GSTEP adds feature f (the 8 rows' values at off1(DI), the centroids'
// at off2(R11) and off2(R13)) to the partial sums accA (centroid at R11)
// and accB (centroid at R13).
#define GSTEP(off1, off2, accA, accB) \
	VMOVUPD      off1(DI), Z4; \
	VSUBPD.BCST  off2(R11), Z4, Z5; \
	VSUBPD.BCST  off2(R13), Z4, Z6; \
	VFMADD231PD  Z5, Z5, accA; \
	VFMADD231PD  Z6, Z6, accB

// N3UPDATE folds the 8 rows' squared distances in dist to the current
// centroid (index Z13) into the running three smallest (Z8-Z10) and the
// indices of the first two (Z11, Z12), as the Go loop does. Clobbers Z3.
#define N3UPDATE(dist) \
	VCMPPD  $1, Z8, dist, K1; \
	VCMPPD  $1, Z9, dist, K2; \
	VMAXPD  Z9, dist, Z3; \
	VMINPD  Z3, Z10, Z10; \
	VMAXPD  Z8, dist, Z3; \
	VMINPD  Z3, Z9, Z9; \
	VMINPD  dist, Z8, Z8; \
	VMOVAPD Z13, K2, Z12; \
	VMOVAPD Z11, K1, Z12; \
	VMOVAPD Z13, K1, Z11; \
	VADDPD  Z14, Z13, Z13

// func nearest3TG8(xt *float64, d int, C *float64, k int, out *float64)
//
// nearest3T16 for any number of features d, for one block of 8 rows given
// transposed in xt (feature f of the 8 rows at xt[8f:8f+8]). Features are
// streamed from L1 instead of held in registers; two centroids share each
// load. Lane sums as sqDist: feature f into partial sum f%4, in order
// (starting from 0 with a fused multiply-add, which rounds as the first
// product does). Writes 40 values to out as nearest3T16 does for a block.
TEXT ·nearest3TG8(SB), NOSPLIT, $0-40
	MOVQ xt+0(FP), SI
	MOVQ d+8(FP), R8
	MOVQ C+16(FP), AX
	MOVQ k+24(FP), BX
	MOVQ out+32(FP), DX
	MOVQ R8, R9
	SHRQ $2, R9           // groups of 4 features
	MOVQ R8, R10
	ANDQ $3, R10          // the rest
	MOVQ R8, R15
	SHLQ $3, R15          // bytes a centroid
	MOVQ $0x3FF0000000000000, R12
	VPBROADCASTQ R12, Z14 // 1
	MOVQ $0x7FF0000000000000, R12
	VPBROADCASTQ R12, Z8  // smallest
	VMOVAPD Z8, Z9        // second
	VMOVAPD Z8, Z10       // third
	VPXORQ  Z11, Z11, Z11 // index of the smallest
	VPXORQ  Z12, Z12, Z12 // index of the second
	VPXORQ  Z13, Z13, Z13 // current centroid
	MOVQ    AX, CX
	TESTQ   BX, BX
	JZ      tgstore

tgpair:
	// Two centroids at CX and CX + d (the second a repeat of the first
	// when only one is left; its result is then dropped).
	MOVQ   CX, R11
	LEAQ   (CX)(R15*1), R13
	CMPQ   BX, $1
	JNE    tgtwo
	MOVQ   CX, R13

tgtwo:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z16, Z16, Z16
	VPXORQ Z17, Z17, Z17
	VPXORQ Z18, Z18, Z18
	VPXORQ Z19, Z19, Z19
	MOVQ   SI, DI
	MOVQ   R9, R12
	TESTQ  R12, R12
	JZ     tgrest

tggroup:
	GSTEP(0, 0, Z0, Z16)
	GSTEP(64, 8, Z1, Z17)
	GSTEP(128, 16, Z2, Z18)
	GSTEP(192, 24, Z3, Z19)
	ADDQ $256, DI
	ADDQ $32, R11
	ADDQ $32, R13
	DECQ R12
	JNZ  tggroup

tgrest:
	CMPQ R10, $0
	JE   tgsum
	GSTEP(0, 0, Z0, Z16)
	CMPQ R10, $1
	JE   tgsum
	GSTEP(64, 8, Z1, Z17)
	CMPQ R10, $2
	JE   tgsum
	GSTEP(128, 16, Z2, Z18)

tgsum:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	VADDPD Z17, Z16, Z16
	VADDPD Z19, Z18, Z18
	VADDPD Z18, Z16, Z16
	N3UPDATE(Z0)
	ADDQ   R15, CX
	DECQ   BX
	JZ     tgstore
	N3UPDATE(Z16)
	ADDQ   R15, CX
	DECQ   BX
	JNZ    tgpair

tgstore:
	VSQRTPD Z8, Z8
	VSQRTPD Z9, Z9
	VSQRTPD Z10, Z10
	VMOVUPD Z11, (DX)
	VMOVUPD Z12, 64(DX)
	VMOVUPD Z8, 128(DX)
	VMOVUPD Z9, 192(DX)
	VMOVUPD Z10, 256(DX)
	VZEROUPPER
	RET

// GOWORD adds word off of the four pairs of the block at AX (pair stride
// R9 bytes; R10 = 2*R9, BX = 3*R9) against the query word at R8 to Z0-Z3.
#define GOWORD(off) \
	VMOVUPD     off(R8), Z4; \
	VSUBPD      off(AX), Z4, Z5; \
	VSUBPD      off(AX)(R9*1), Z4, Z12; \
	VSUBPD      off(AX)(R10*1), Z4, Z13; \
	VSUBPD      off(AX)(BX*1), Z4, Z14; \
	VFMADD231PD Z5, Z5, Z0; \
	VFMADD231PD Z12, Z12, Z1; \
	VFMADD231PD Z13, Z13, Z2; \
	VFMADD231PD Z14, Z14, Z3

// func seedGainMultiG(qd *float64, t int, w int, Xo *float64, n int, stride int, closest *float64, out *float64, gain *float64)
//
// seedGainMultiNat16 for any number of features, from the oct copy of X:
// w words of 8 values a
// row pair (features 4q..4q+3 of both rows in word q, zero-padded), the
// block of 8 rows (32w values) read from L1 for every candidate after the
// first. Partial sums start from 0 with a fused multiply-add (which rounds
// as a first product does), and padded features add exact zeros.
TEXT ·seedGainMultiG(SB), NOSPLIT, $0-72
	MOVQ w+16(FP), R9
	SHLQ $6, R9            // bytes a pair: 64w
	LEAQ (R9)(R9*1), R10
	LEAQ (R10)(R9*1), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	TESTQ CX, CX
	JZ   ggdone
	MOVQ t+8(FP), R14
	TESTQ R14, R14
	JZ   ggdone
	MOVQ Xo+24(FP), DI
	MOVQ closest+48(FP), SI
	MOVQ out+56(FP), DX
	VXORPD Z6, Z6, Z6      // zero

ggrows:
	VMOVUPD (SI), Z7       // closest
	MOVQ    qd+0(FP), R8
	MOVQ    DX, R11
	MOVQ    gain+64(FP), R13
	MOVQ    t+8(FP), R14

ggcand:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ   DI, AX
	MOVQ   w+16(FP), R12

ggword:
	GOWORD(0)
	ADDQ $64, R8
	ADDQ $64, AX
	DECQ R12
	JNZ  ggword

	VUNPCKLPD     Z1, Z0, Z4
	VUNPCKHPD     Z1, Z0, Z5
	VADDPD        Z5, Z4, Z4
	VUNPCKLPD     Z3, Z2, Z12
	VUNPCKHPD     Z3, Z2, Z13
	VADDPD        Z13, Z12, Z12
	VSHUFF64X2    $0x88, Z12, Z4, Z0
	VSHUFF64X2    $0xDD, Z12, Z4, Z1
	VADDPD        Z1, Z0, Z0
	VMOVUPD       Z0, (R11)
	VSUBPD        Z0, Z7, Z1     // closest - dist
	VMAXPD        Z6, Z1, Z1     // max(., 0)
	VEXTRACTF64X4 $1, Z1, Y2
	VADDPD        (R13), Y1, Y1  // rows 8b..8b+3, then 8b+4..8b+7
	VADDPD        Y2, Y1, Y1
	VMOVUPD       Y1, (R13)
	MOVQ          stride+40(FP), R12
	LEAQ          (R11)(R12*8), R11
	ADDQ          $32, R13
	DECQ          R14
	JNZ           ggcand

	ADDQ $64, DX
	ADDQ $64, SI
	LEAQ (DI)(R9*4), DI
	DECQ CX
	JNZ  ggrows

ggdone:
	VZEROUPPER
	RET

// func transpose8(X *float64, rows *int32, d int, xt *float64)
//
// Writes feature f of the 8 rows rows[0..8) of X (d columns) to
// xt[8f:8f+8], 8 features at a time through TR8; the last partial group is
// loaded under a mask (nothing read past a row) and written whole, so xt
// needs 8 * (d rounded up to a multiple of 8) values.
TEXT ·transpose8(SB), NOSPLIT, $0-32
	MOVQ    X+0(FP), AX
	MOVQ    rows+8(FP), SI
	MOVQ    d+16(FP), CX
	MOVQ    xt+24(FP), DI
	MOVQ    CX, DX
	SHLQ    $3, DX           // bytes a row
	MOVLQSX (SI), R8
	IMULQ   DX, R8
	ADDQ    AX, R8
	MOVLQSX 4(SI), R9
	IMULQ   DX, R9
	ADDQ    AX, R9
	MOVLQSX 8(SI), R10
	IMULQ   DX, R10
	ADDQ    AX, R10
	MOVLQSX 12(SI), R11
	IMULQ   DX, R11
	ADDQ    AX, R11
	MOVLQSX 16(SI), R12
	IMULQ   DX, R12
	ADDQ    AX, R12
	MOVLQSX 20(SI), R13
	IMULQ   DX, R13
	ADDQ    AX, R13
	MOVLQSX 24(SI), R14
	IMULQ   DX, R14
	ADDQ    AX, R14
	MOVLQSX 28(SI), R15
	IMULQ   DX, R15
	ADDQ    AX, R15
	MOVQ    CX, BX
	SHRQ    $3, BX
	XORQ    AX, AX
	TESTQ   BX, BX
	JZ      trtail

trloop:
	VMOVUPD (R8)(AX*1), Z0
	VMOVUPD (R9)(AX*1), Z1
	VMOVUPD (R10)(AX*1), Z2
	VMOVUPD (R11)(AX*1), Z3
	VMOVUPD (R12)(AX*1), Z4
	VMOVUPD (R13)(AX*1), Z5
	VMOVUPD (R14)(AX*1), Z6
	VMOVUPD (R15)(AX*1), Z7
	TR8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VMOVUPD Z16, (DI)
	VMOVUPD Z17, 64(DI)
	VMOVUPD Z18, 128(DI)
	VMOVUPD Z19, 192(DI)
	VMOVUPD Z20, 256(DI)
	VMOVUPD Z21, 320(DI)
	VMOVUPD Z22, 384(DI)
	VMOVUPD Z23, 448(DI)
	ADDQ    $64, AX
	ADDQ    $512, DI
	DECQ    BX
	JNZ     trloop

trtail:
	ANDQ $7, CX
	JZ   trdone
	MOVQ $1, BX
	SHLQ CX, BX
	DECQ BX
	KMOVB BX, K1
	VMOVUPD.Z (R8)(AX*1), K1, Z0
	VMOVUPD.Z (R9)(AX*1), K1, Z1
	VMOVUPD.Z (R10)(AX*1), K1, Z2
	VMOVUPD.Z (R11)(AX*1), K1, Z3
	VMOVUPD.Z (R12)(AX*1), K1, Z4
	VMOVUPD.Z (R13)(AX*1), K1, Z5
	VMOVUPD.Z (R14)(AX*1), K1, Z6
	VMOVUPD.Z (R15)(AX*1), K1, Z7
	TR8(Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VMOVUPD Z16, (DI)
	VMOVUPD Z17, 64(DI)
	VMOVUPD Z18, 128(DI)
	VMOVUPD Z19, 192(DI)
	VMOVUPD Z20, 256(DI)
	VMOVUPD Z21, 320(DI)
	VMOVUPD Z22, 384(DI)
	VMOVUPD Z23, 448(DI)

trdone:
	VZEROUPPER
	RET

// PAIRW builds the four words of the row pair at offsets ra, rb of DI
// (16-column rows) in w0-w3, as the oct layout holds them: word q has
// features 4q..4q+3 of row a, then of row b. Clobbers t0-t3.
#define PAIRW(ra, rb, t0, t1, t2, t3, w0, w1, w2, w3) \
	VMOVUPD    ra(DI), t0; \
	VMOVUPD    rb(DI), t1; \
	VMOVUPD    ra+64(DI), t2; \
	VMOVUPD    rb+64(DI), t3; \
	VSHUFF64X2 $0x44, t1, t0, w0; \
	VSHUFF64X2 $0xEE, t1, t0, w1; \
	VSHUFF64X2 $0x44, t3, t2, w2; \
	VSHUFF64X2 $0xEE, t3, t2, w3

// func seedGainMultiNat16(qd *float64, t int, X *float64, n int, stride int, closest *float64, out *float64, gain *float64)
//
// The k-means++ gains of t candidates over the rows of X (16 columns, n a
// multiple of 8) in one pass: each block of 8 rows is loaded once,
// rearranged into the oct layout in registers (16 128-bit lane shuffles)
// and measured against every candidate; streaming X (larger than L1) once
// per candidate was bound by L2 bandwidth. qd holds candidate c's features
// as four 8-value words (features 4q..4q+3 twice) at qd[32c:]; its
// distances go to out[c*stride:], its four gain lanes (rows 8b..8b+3, then
// 8b+4..8b+7: seedGain's partial sums g[i%4]) to gain[4c:] (read and
// updated).
TEXT ·seedGainMultiNat16(SB), NOSPLIT, $0-64
	MOVQ qd+0(FP), SI
	MOVQ t+8(FP), R9
	MOVQ X+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ stride+32(FP), R12
	MOVQ closest+40(FP), BX
	MOVQ out+48(FP), DX
	MOVQ gain+56(FP), R11
	SHLQ $3, R12          // bytes between the candidates' outputs
	SHRQ $3, CX
	VXORPD Z6, Z6, Z6     // zero
	TESTQ CX, CX
	JZ   gndone
	TESTQ R9, R9
	JZ   gndone

gnrows:
	PAIRW(0, 256, Z0, Z1, Z2, Z3, Z16, Z17, Z18, Z19)
	PAIRW(128, 384, Z4, Z5, Z12, Z13, Z20, Z21, Z22, Z23)
	PAIRW(512, 768, Z0, Z1, Z2, Z3, Z24, Z25, Z26, Z27)
	PAIRW(640, 896, Z4, Z5, Z12, Z13, Z28, Z29, Z30, Z31)
	VMOVUPD (BX), Z7      // closest
	MOVQ    SI, R8
	MOVQ    DX, R10
	MOVQ    R11, R13
	MOVQ    R9, R14

gncand:
	D16OCTR
	VMOVUPD       Z0, (R10)
	VSUBPD        Z0, Z7, Z1     // closest - dist
	VMAXPD        Z6, Z1, Z1     // max(., 0)
	VEXTRACTF64X4 $1, Z1, Y2
	VADDPD        (R13), Y1, Y1  // rows 8b..8b+3, then 8b+4..8b+7
	VADDPD        Y2, Y1, Y1
	VMOVUPD       Y1, (R13)
	ADDQ          $256, R8
	ADDQ          R12, R10
	ADDQ          $32, R13
	DECQ          R14
	JNZ           gncand

	ADDQ $64, DX
	ADDQ $64, BX
	ADDQ $1024, DI
	DECQ CX
	JNZ  gnrows

gndone:
	VZEROUPPER
	RET
