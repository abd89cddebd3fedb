package cluster

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// kmeansPP draws k initial centroids from the rows of p.X with k-means++:
// each new centroid is a row drawn with probability proportional to its
// squared distance to the nearest centroid already placed. As scikit-learn's
// greedy variant, trials candidates are drawn per centroid and the one that
// lowers the potential (sum of those squared distances) most is kept.
//
// With fixed centroids (NCD k-means' known-class means) the distances start
// from them, so even the first new centroid is drawn away from the known
// classes; without, the first centroid is a uniformly drawn row.
//
// plain weighs rows by the distance instead of its square (and measures the
// potential the same way), as the NCD k-means reference code does.
func kmeansPP(p *problem, k, trials int, fixed *linalg.Matrix, rng *rand.Rand, threads int, plain bool) linalg.Matrix {
	var s seeder
	return s.seed(p, k, trials, fixed, rng, threads, plain)
}

// seeder holds the seeding's per-row state and scratch; the zero value is
// ready, and one seeder can seed many restarts on the same problem.
//
// Without fixed centroids it ends holding exactly what a first assignment
// pass over the seeds would compute, from distances it had to compute anyway:
// each row's nearest seed (lowest index on ties), a second-nearest, and the
// squared distances to the three nearest. fit starts Hamerly from that state
// instead of spending a full pass on it.
type seeder struct {
	lab     []int     // nearest placed centroid (fixed ones first)
	closest []float64 // squared distance to it
	second  []float64 // squared distance to the second-nearest
	lab2    []int     // a second-nearest (only with state)
	third   []float64 // squared distance to the third-nearest (only with state)
	cum     []float64
	cand    []int
	dist    []float64 // trials x n: squared distances to the candidates
	gain    []float64
	qd      []float64 // seedGainsOct's duplicated candidates
	// state is set when lab, closest and second describe the returned seeds.
	state bool
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (s *seeder) seed(p *problem, k, trials int, fixed *linalg.Matrix, rng *rand.Rand, threads int, plain bool) linalg.Matrix {
	n, d, X := p.n, p.d, p.X
	s.lab = grow(s.lab, n)
	s.closest = grow(s.closest, n)
	s.second = grow(s.second, n)
	s.lab2 = grow(s.lab2, n)
	s.third = grow(s.third, n)
	s.cum = grow(s.cum, n)
	s.cand = grow(s.cand, trials)
	s.dist = grow(s.dist, trials*n)
	s.gain = grow(s.gain, trials)
	s.state = false
	centers := linalg.New(k, d)
	start := 0
	// X in the oct layout for the AVX-512 gains of all candidates in one
	// pass (one thread; 16 columns rearrange X in registers instead).
	var xo []float64
	if !plain && threads <= 1 && useAVX512 {
		if d == 16 {
			xo = X.Data
		} else {
			xo = p.octX()
		}
	}
	if fixed != nil && fixed.Rows > 0 {
		par.For(threads, n, p.chunk, func(_, lo, hi int) {
			dist := make([]float64, fixed.Rows)
			for i := lo; i < hi; i++ {
				sqDists(X.Row(i), *fixed, dist)
				s.closest[i] = dist[0]
				for _, v := range dist[1:] {
					s.closest[i] = min(s.closest[i], v)
				}
			}
		})
	} else {
		c0 := X.Row(rng.IntN(n))
		copy(centers.Row(0), c0)
		sqDistsRows(c0, X.Data, s.closest)
		clear(s.lab)
		clear(s.lab2)
		for i := range s.second {
			s.second[i], s.third[i] = math.Inf(1), math.Inf(1)
		}
		s.state = true
		start = 1
	}
	for c := start; c < k; c++ {
		tot := 0.0
		if plain {
			for i, v := range s.closest {
				tot += math.Sqrt(v)
				s.cum[i] = tot
			}
		} else {
			for i, v := range s.closest {
				tot += v
				s.cum[i] = tot
			}
		}
		for t := range s.cand {
			// First row whose cumulative weight reaches the draw (numpy's
			// searchsorted, side left), clipped for rounding at the top end.
			r := rng.Float64() * tot
			idx := sort.SearchFloat64s(s.cum, r)
			s.cand[t] = min(idx, n-1)
		}
		if xo != nil && threads <= 1 {
			seedGainsOct(X, xo, s.cand, s.closest, s.dist, s.gain, &s.qd)
		} else {
			par.Each(threads, trials, func(t int) {
				// The potential after adding candidate t is tot minus the summed
				// decrease over the rows it is closer to than their centroid.
				dist := s.dist[t*n : (t+1)*n]
				if plain {
					sqDistsRows(X.Row(s.cand[t]), X.Data, dist)
					g := 0.0
					for i, v := range dist {
						if ci := s.closest[i]; v < ci {
							g += math.Sqrt(ci) - math.Sqrt(v)
						}
					}
					s.gain[t] = g
				} else {
					s.gain[t] = seedGain(X.Row(s.cand[t]), X, s.closest, dist)
				}
			})
		}
		best := 0
		for t := 1; t < trials; t++ {
			if tot-s.gain[t] < tot-s.gain[best] {
				best = t
			}
		}
		dist := s.dist[best*n : (best+1)*n]
		if s.state {
			seedAccept(dist, s.closest, s.second, s.third, s.lab, s.lab2, c)
		} else {
			for i, v := range dist {
				s.closest[i] = min(s.closest[i], v)
			}
		}
		copy(centers.Row(c), X.Row(s.cand[best]))
	}
	return centers
}

// seedGain writes the squared distances from q to the rows of X into out and
// returns how much a centroid at q lowers the potential: the sum over rows of
// max(closest - dist, 0), summed in four partial sums over the rows i = 0, 1,
// 2, 3 (mod 4) combined as (g0 + g1) + (g2 + g3). Four independent chains
// instead of one: the assembly kernel keeps one per lane.
func seedGain(q []float64, X linalg.Matrix, closest, out []float64) float64 {
	n, d := X.Rows, X.Cols
	closest, out = closest[:n], out[:n]
	var g [4]float64
	i := 0
	if useAVX2 && n-i >= 4 && d > 0 {
		j := i
		i = n &^ 3
		if d == 16 {
			seedGain4d16(&q[0], &X.Data[j*d], i-j, &closest[j], &out[j], &g)
		} else {
			var mask *[4]int64
			if d%4 != 0 {
				mask = &tailMasks[d%4]
			}
			seedGain4(&q[0], &X.Data[j*d], d, i-j, mask, &closest[j], &out[j], &g)
		}
	}
	for ; i < n; i++ {
		v := sqDist(q, X.Data[i*d:(i+1)*d])
		out[i] = v
		g[i%4] += max(closest[i]-v, 0)
	}
	return (g[0] + g[1]) + (g[2] + g[3])
}

// seedAccept makes the candidate with squared distances dist the centroid c:
// rows closer to it than to their centroid move to it, and every row's
// second- and third-nearest distances (and second-nearest centroid) take it
// into account.
func seedAccept(dist, closest, second, third []float64, lab, lab2 []int, c int) {
	n := len(dist)
	closest, second, third, lab, lab2 = closest[:n], second[:n], third[:n], lab[:n], lab2[:n]
	i := 0
	if useAVX2 && n >= 4 {
		i = n &^ 3
		seedAccept3x4(&dist[0], &closest[0], &second[0], &third[0], &lab[0], &lab2[0], i, c)
	}
	for ; i < n; i++ {
		switch v, ci := dist[i], closest[i]; {
		case v < ci:
			closest[i], second[i], third[i], lab[i], lab2[i] = v, ci, second[i], c, lab[i]
		case v < second[i]:
			second[i], third[i], lab2[i] = v, second[i], c
		case v < third[i]:
			third[i] = v
		}
	}
}

// seedGainsOct is seedGain for every candidate row cand[t] of X (xo its
// oct layout, or X itself for 16 columns), distances to dist[t*n:(t+1)*n], gains to gain[t], with the
// same bits. The AVX-512 kernels measure each block of 8 rows against all
// candidates while it is in registers (16 columns) or in L1: streaming X
// (larger than L1) once per candidate made the single-candidate kernel
// bound by L2 bandwidth. qd is scratch.
func seedGainsOct(X linalg.Matrix, xo []float64, cand []int, closest, dist, gain []float64, qd *[]float64) {
	n, d, T := X.Rows, X.Cols, len(cand)
	w := (d + 3) / 4
	*qd = grow(*qd, T*(8*w+4))
	q := *qd
	g := q[T*8*w : T*(8*w+4)]
	clear(g)
	for t, c := range cand {
		row := X.Row(c)
		for k := 0; k < w; k++ {
			o := q[t*8*w+k*8 : t*8*w+k*8+8]
			for f := 0; f < 4; f++ {
				v := 0.0
				if 4*k+f < d {
					v = row[4*k+f]
				}
				o[f], o[f+4] = v, v
			}
		}
	}
	n8 := n &^ 7
	if n8 > 0 {
		if d == 16 {
			seedGainMultiNat16(&q[0], T, &X.Data[0], n8, n, &closest[0], &dist[0], &g[0])
		} else {
			seedGainMultiG(&q[0], T, w, &xo[0], n8, n, &closest[0], &dist[0], &g[0])
		}
	}
	var mask *[4]int64
	if d%4 != 0 {
		mask = &tailMasks[d%4]
	}
	for t, c := range cand {
		out := dist[t*n : (t+1)*n]
		gt := (*[4]float64)(g[4*t : 4*t+4])
		i := n8
		if useAVX2 && n-i >= 4 {
			if d == 16 {
				seedGain4d16(&X.Data[c*16], &X.Data[i*16], 4, &closest[i], &out[i], gt)
			} else {
				seedGain4(&X.Data[c*d], &X.Data[i*d], d, 4, mask, &closest[i], &out[i], gt)
			}
			i += 4
		}
		for ; i < n; i++ {
			v := sqDist(X.Data[c*d:c*d+d], X.Data[i*d:i*d+d])
			out[i] = v
			gt[i%4] += max(closest[i]-v, 0)
		}
		gain[t] = (gt[0] + gt[1]) + (gt[2] + gt[3])
	}
}
