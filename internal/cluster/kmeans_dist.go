package cluster

import (
	"math"

	"github.com/ncd-project/ncd/internal/linalg"
)

// Every exact squared distance in the k-means code (seeding, Hamerly, Elkan,
// bookkeeping) goes through sqDist's summation order: four partial sums over
// the features f = 0, 1, 2, 3 (mod 4), each accumulated in feature order
// with a fused multiply-add (s = fma(t, t, s), one rounding per feature),
// combined as (s0 + s1) + (s2 + s3). FMA is exactly specified, so the bits
// are the same on every machine: the assembly kernels use the instruction,
// math.FMA is the instruction on amd64 with FMA and arm64 (and a slow
// software fallback on x86 CPUs older than 2013). One order everywhere means the distance
// of a row to a centroid has the same bits whichever kernel computed it, so
// state carried from the seeding into the first iteration (labels, bounds)
// is exactly what a fresh pass would compute. The four chains also keep the
// additions from being one long dependency chain.

// sqDist is the exact squared Euclidean distance between a and b (len(b) >= len(a)).
func sqDist(a, b []float64) float64 {
	if len(a) == 16 {
		return sqDist16((*[16]float64)(a), (*[16]float64)(b[:16]))
	}
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		t0 := a[i] - b[i]
		t1 := a[i+1] - b[i+1]
		t2 := a[i+2] - b[i+2]
		t3 := a[i+3] - b[i+3]
		s0 = math.FMA(t0, t0, s0)
		s1 = math.FMA(t1, t1, s1)
		s2 = math.FMA(t2, t2, s2)
		s3 = math.FMA(t3, t3, s3)
	}
	// The last len(a) % 4 features go to the partial sums of their lanes,
	// as the assembly kernel's masked load puts them.
	switch len(a) - i {
	case 3:
		t := a[i+2] - b[i+2]
		s2 = math.FMA(t, t, s2)
		fallthrough
	case 2:
		t := a[i+1] - b[i+1]
		s1 = math.FMA(t, t, s1)
		fallthrough
	case 1:
		t := a[i] - b[i]
		s0 = math.FMA(t, t, s0)
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDist16 is sqDist unrolled for 16 features (letter, pendigits): no loop
// or bounds checks, 1.3-1.5x faster than the loop.
func sqDist16(a, b *[16]float64) float64 {
	t0 := a[0] - b[0]
	t1 := a[1] - b[1]
	t2 := a[2] - b[2]
	t3 := a[3] - b[3]
	// 0 + t*t rounds like t*t: the first products need no FMA.
	s0, s1, s2, s3 := t0*t0, t1*t1, t2*t2, t3*t3
	t0 = a[4] - b[4]
	t1 = a[5] - b[5]
	t2 = a[6] - b[6]
	t3 = a[7] - b[7]
	s0 = math.FMA(t0, t0, s0)
	s1 = math.FMA(t1, t1, s1)
	s2 = math.FMA(t2, t2, s2)
	s3 = math.FMA(t3, t3, s3)
	t0 = a[8] - b[8]
	t1 = a[9] - b[9]
	t2 = a[10] - b[10]
	t3 = a[11] - b[11]
	s0 = math.FMA(t0, t0, s0)
	s1 = math.FMA(t1, t1, s1)
	s2 = math.FMA(t2, t2, s2)
	s3 = math.FMA(t3, t3, s3)
	t0 = a[12] - b[12]
	t1 = a[13] - b[13]
	t2 = a[14] - b[14]
	t3 = a[15] - b[15]
	s0 = math.FMA(t0, t0, s0)
	s1 = math.FMA(t1, t1, s1)
	s2 = math.FMA(t2, t2, s2)
	s3 = math.FMA(t3, t3, s3)
	return (s0 + s1) + (s2 + s3)
}

// sqDists writes the exact squared distances (sqDist) from x to every row of
// C into out.
func sqDists(x []float64, C linalg.Matrix, out []float64) {
	sqDistsRows(x, C.Data, out[:C.Rows])
}

// tailMasks[r] selects the first r lanes of a YMM register.
var tailMasks = [4][4]int64{{}, {-1}, {-1, -1}, {-1, -1, -1}}

// sqDistsRows writes out[j] = sqDist(q, rows[j*d:(j+1)*d]) for j <
// len(out), d = len(q). With AVX2 the rows go four at a time through the
// assembly kernel (about 4x the Go loop's speed at d = 16), with the same
// bits as sqDist.
func sqDistsRows(q, rows, out []float64) {
	d, m := len(q), len(out)
	if m == 0 {
		return
	}
	rows = rows[:m*d]
	j := 0
	if useAVX2 && m >= 4 && d > 0 {
		j = m &^ 3
		var mask *[4]int64
		if d%4 != 0 {
			mask = &tailMasks[d%4]
		}
		sqDistRows4(&q[0], &rows[0], d, j, &out[0], mask)
	}
	if d == 16 {
		qa := (*[16]float64)(q)
		for ; j < m; j++ {
			out[j] = sqDist16(qa, (*[16]float64)(rows[j*16:j*16+16]))
		}
		return
	}
	for ; j < m; j++ {
		out[j] = sqDist(q, rows[j*d:(j+1)*d])
	}
}

var nearestConsts = [12]float64{0, 1, 2, 3, 4, 4, 4, 4, math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)}

// nearest2 returns the index of the row of C nearest to x (the lowest index
// on ties) with the squared distances (sqDist) to it and to the
// second-nearest (+Inf when there is none). Only the first k rows count; C
// may hold more (see padCentroids): the assembly kernel takes four at a time.
func nearest2(x []float64, C linalg.Matrix, k int) (best int, v1, v2 float64) {
	d := len(x)
	if useAVX2 && d > 0 && C.Rows >= 4 && C.Rows&3 == 0 && k > C.Rows-4 {
		var res [3]float64
		if d == 16 {
			nearest2x4d16(&x[0], &C.Data[0], C.Rows, &nearestConsts, &res)
			return int(res[2]), res[0], res[1]
		}
		var mask *[4]int64
		if d%4 != 0 {
			mask = &tailMasks[d%4]
		}
		nearest2x4(&x[0], &C.Data[0], d, C.Rows, mask, &nearestConsts, &res)
		return int(res[2]), res[0], res[1]
	}
	v1, v2 = math.Inf(1), math.Inf(1)
	for j := 0; j < k; j++ {
		v := sqDist(x, C.Data[j*d:(j+1)*d])
		if v < v1 {
			best, v1, v2 = j, v, v1
		} else if v < v2 {
			v2 = v
		}
	}
	return best, v1, v2
}

// padCentroids copies the k x d centroids C into dst (reused when large
// enough), padded with rows of +Inf to a multiple of four rows: their
// distances are +Inf, so they are never nearest nor second.
func padCentroids(dst []float64, C linalg.Matrix) linalg.Matrix {
	rows := (C.Rows + 3) &^ 3
	dst = grow(dst, rows*C.Cols)
	copy(dst, C.Data)
	for i := len(C.Data); i < len(dst); i++ {
		dst[i] = math.Inf(1)
	}
	return linalg.Matrix{Data: dst, Rows: rows, Cols: C.Cols}
}

// sqDistPairs writes out[p] = sqDist(X.Row(rows[p]), C.Row(cents[p])) for p
// < len(out). With AVX2 four pairs go through the assembly kernel at a time.
func sqDistPairs(X, C linalg.Matrix, rows, cents []int32, out []float64) {
	distPairs(X, C, rows, cents, out, false)
}

// sqrtDistPairs is sqDistPairs for the distances (square roots).
func sqrtDistPairs(X, C linalg.Matrix, rows, cents []int32, out []float64) {
	distPairs(X, C, rows, cents, out, true)
}

func distPairs(X, C linalg.Matrix, rows, cents []int32, out []float64, root bool) {
	d, m := X.Cols, len(out)
	rows, cents = rows[:m], cents[:m]
	p := 0
	// The kernels trust the indices, which come from the k-means state
	// itself (rows of this chunk, labels, second-nearest centroids).
	if useAVX2 && m >= 4 && d > 0 {
		p = m &^ 3
		if root && d == 16 {
			sqrtDistPairs16(&X.Data[0], &C.Data[0], &rows[0], &cents[0], p, &out[0])
		} else {
			var mask *[4]int64
			if d%4 != 0 {
				mask = &tailMasks[d%4]
			}
			rt := 0
			if root {
				rt = 1
			}
			sqDistPairs4(&X.Data[0], &C.Data[0], d, &rows[0], &cents[0], p, mask, &out[0], rt)
		}
	}
	for ; p < m; p++ {
		i, j := int(rows[p]), int(cents[p])
		out[p] = sqDist(X.Data[i*d:(i+1)*d], C.Data[j*d:(j+1)*d])
		if root {
			out[p] = math.Sqrt(out[p])
		}
	}
}

// nearest2Rows is nearest2 for the rows rows of X, in one call when the
// AVX2 kernel for 16 columns applies: out[3q] is the index of the nearest
// centroid to row rows[q] (as a float64), out[3q+1] and out[3q+2] the
// distances (square roots) to it and to the second-nearest.
func nearest2Rows(X linalg.Matrix, rows []int32, C linalg.Matrix, k int, out []float64) {
	m, d := len(rows), X.Cols
	out = out[:3*m]
	if useAVX2 && d == 16 && m > 0 && C.Rows >= 4 && C.Rows&3 == 0 && k > C.Rows-4 {
		nearest2Rows16(&X.Data[0], &rows[0], m, &C.Data[0], C.Rows, &nearestConsts, &out[0])
		return
	}
	for q, i := range rows {
		b, v1, v2 := nearest2(X.Data[int(i)*d:int(i)*d+d], C, k)
		out[3*q], out[3*q+1], out[3*q+2] = float64(b), math.Sqrt(v1), math.Sqrt(v2)
	}
}

// nearest3Consts returns dst (reused) holding nearestConsts followed by the
// indices 0..rows-1 as float64: the constant block of nearest3Rows16.
func nearest3Consts(dst []float64, rows int) []float64 {
	dst = grow(dst, 12+rows)
	copy(dst, nearestConsts[:])
	for j := 0; j < rows; j++ {
		dst[12+j] = float64(j)
	}
	return dst
}

// nearest3Rows writes, for each row rows[q] of X, five values to
// out[5q:5q+5]: the index of the nearest of the first k centroids of C (the
// lowest on ties), the index of a second-nearest (any on ties), and the
// distances (square roots of sqDist) to the nearest, second and third (+Inf
// when there are fewer centroids). C is padded as for nearest2; cst is
// nearest3Consts(_, C.Rows).
func nearest3Rows(X linalg.Matrix, rows []int32, C linalg.Matrix, k int, cst, out []float64) {
	m, d := len(rows), X.Cols
	out = out[:5*m]
	if useAVX2 && d > 0 && m > 0 && C.Rows >= 4 && C.Rows&3 == 0 && k > C.Rows-4 {
		cst = cst[:12+C.Rows]
		if d == 16 {
			nearest3Rows16(&X.Data[0], &rows[0], m, &C.Data[0], C.Rows, &cst[0], &out[0])
			return
		}
		var mask *[4]int64
		if d%4 != 0 {
			mask = &tailMasks[d%4]
		}
		nearest3Rowsx4(&X.Data[0], &rows[0], m, &C.Data[0], C.Rows, d, mask, &cst[0], &out[0])
		return
	}
	for q, i := range rows {
		x := X.Data[int(i)*d : int(i)*d+d]
		b1, b2 := 0, 0
		v1, v2, v3 := math.Inf(1), math.Inf(1), math.Inf(1)
		for j := 0; j < k; j++ {
			v := sqDist(x, C.Data[j*d:(j+1)*d])
			switch {
			case v < v1:
				b1, b2, v1, v2, v3 = j, b1, v, v1, v2
			case v < v2:
				b2, v2, v3 = j, v, v2
			case v < v3:
				v3 = v
			}
		}
		o := out[5*q : 5*q+5]
		o[0], o[1], o[2], o[3], o[4] = float64(b1), float64(b2), math.Sqrt(v1), math.Sqrt(v2), math.Sqrt(v3)
	}
}

// octPairs are the rows of a block of eight stored together in the oct
// layout, pair by pair.
var octPairs = [4][2]int{{0, 2}, {1, 3}, {4, 6}, {5, 7}}

// octLayout copies the rows x d matrix src into dst (reused when large
// enough) in the layout the AVX-512 kernels read: blocks of 8 rows, each
// block the pairs of rows octPairs, each pair w = ceil(d/4) words of 8
// values, word q holding features 4q..4q+3 of the pair's first row, then
// of its second (features past d are 0). A kernel subtracting a row
// broadcast to both halves of a ZMM register then squares and accumulates
// word after word: lane r of the accumulator sums the features r, r+4,
// r+8, ... in order, which is sqDist's partial sum s_r, for two rows at
// once; the pairing makes a block's eight distances come out in row order.
// Rows past the last (rows rounded up to a multiple of 8) are filled with
// pad.
func octLayout(dst, src []float64, rows, d int, pad float64) []float64 {
	w := (d + 3) / 4
	blocks := (rows + 7) / 8
	dst = grow(dst, blocks*32*w)
	for b := 0; b < blocks; b++ {
		blk := dst[b*32*w : (b+1)*32*w]
		for p, pr := range octPairs {
			for h, r := range pr {
				i := 8*b + r
				for q := 0; q < w; q++ {
					o := blk[p*8*w+q*8+h*4 : p*8*w+q*8+h*4+4]
					if i < rows && 4*q+4 <= d {
						v := src[i*d+4*q : i*d+4*q+4]
						o[0], o[1], o[2], o[3] = v[0], v[1], v[2], v[3]
						continue
					}
					for f := range o {
						switch {
						case i >= rows:
							o[f] = pad
						case 4*q+f < d:
							o[f] = src[i*d+4*q+f]
						default:
							o[f] = 0
						}
					}
				}
			}
		}
	}
	return dst
}

// nearest3RowsT is nearest3Rows with the AVX-512 kernels (the caller
// checks useAVX512), eight rows at a time, on the unpadded k x d centroids
// C, in a blocked layout: the values of rows[q] are at out[t3At(q) + 8f]
// for the fields f = 0..4 (nearest index, second index, the three
// distances). out needs t3Len(len(rows)) values; xt is scratch of
// t3Scratch(d) values (unused for d = 16, whose kernel transposes in
// registers). Same bits as
// the Go path, indices too.
func nearest3RowsT(X linalg.Matrix, rows []int32, C linalg.Matrix, k int, out, xt []float64) {
	m, d := len(rows), X.Cols
	if m == 0 || k == 0 {
		return
	}
	if C.Cols != d || C.Rows < k || len(out) < t3Len(m) || (d != 16 && len(xt) < t3Scratch(d)) {
		panic("cluster: nearest3RowsT: bad shapes")
	}
	if d != 16 {
		// Each block transposed (feature f of the 8 rows at xt[8f:8f+8]),
		// the last padded with copies of its last row.
		var last [8]int32
		for b := 0; b < m; b += 8 {
			blk := rows[b:]
			if b+8 > m {
				for q := range last {
					last[q] = rows[min(b+q, m-1)]
				}
				blk = last[:]
			}
			transpose8(&X.Data[0], &blk[0], d, &xt[0])
			nearest3TG8(&xt[0], d, &C.Data[0], k, &out[5*b])
		}
		return
	}
	m8 := m &^ 7
	if m8 > 0 {
		nearest3T16(&X.Data[0], &rows[0], m8, &C.Data[0], k, &out[0])
	}
	if m8 < m {
		// The last rows, padded with copies of the last one.
		var last [8]int32
		for q := range last {
			last[q] = rows[min(m8+q, m-1)]
		}
		nearest3T16(&X.Data[0], &last[0], 8, &C.Data[0], k, &out[5*m8])
	}
}

// t3Scratch is the scratch length nearest3RowsT needs for d columns.
func t3Scratch(d int) int { return 8 * ((d + 7) &^ 7) }

// t3Len is the output length of nearest3RowsT for m rows.
func t3Len(m int) int { return 5 * ((m + 7) &^ 7) }

// t3At is where row q's values start in nearest3RowsT's output.
func t3At(q int) int { return 40*(q>>3) + q&7 }
