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
	return s.seed(p, k, trials, fixed, rng, threads, plain, false)
}

// seedEps is the relative margin of the seeding's triangle-inequality test:
// a row is skipped only when the bound puts the candidate farther than its
// nearest centroid by more than rounding could hide, so every skipped
// distance would have lost the min() anyway and the result is the one
// computing all distances gives.
const seedEps = 1e-9

// seeder holds the seeding's per-row state and scratch; the zero value is
// ready, and one seeder can seed many restarts on the same problem.
//
// The cost of greedy k-means++ is trials full distance passes per centroid.
// Most of them are wasted late in the seeding: a candidate only changes the
// rows it is closer to than their current centroid. Rows are kept grouped by
// nearest centroid g, with the group's largest squared distance maxC[g]; by
// the triangle inequality a candidate at distance D from centroid g cannot be
// closer to a row of g than its centroid when D >= 2 sqrt(closest), so whole
// groups (D^2 >= 4 maxC[g]) and single rows are skipped without touching the
// row. The potential of a candidate is the current potential minus the
// decrease over the rows it wins, so skipped rows cost nothing at all.
type seeder struct {
	lab      []int32   // nearest placed centroid (group index)
	closest  []float64 // squared distance to it
	rc       []float64 // sqrt(closest), kept only with state
	low      []float64 // lower bound on the distance to the second-nearest centroid, only with state
	cum      []float64
	order    []int32 // rows sorted by group
	start    []int32 // group g holds order[start[g]:start[g+1]]
	pos      []int32
	maxC     []float64
	placed   linalg.Matrix // fixed centroids first, then the new ones
	cand     []int
	dist     []float64 // trials x groups: squared candidate-centroid distances
	wins     [][]rowDist
	gain     []float64
	wantLow  bool
	nFixed   int
	nGroups  int
	weighted func(float64) float64
}

// rowDist is a row a candidate wins, with its squared distance to the candidate.
type rowDist struct {
	i int32
	v float64
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// seed runs the seeding (see kmeansPP). With state, the seeder keeps for
// the first fit iteration each row's nearest centroid, squared distance to it
// and a lower bound on the distance to its second-nearest (only without fixed
// centroids).
func (s *seeder) seed(p *problem, k, trials int, fixed *linalg.Matrix, rng *rand.Rand, threads int, plain, state bool) linalg.Matrix {
	w := func(sq float64) float64 { return sq }
	if plain {
		w = math.Sqrt
	}
	s.weighted = w
	n, d, X := p.n, p.d, p.X
	s.nFixed = 0
	if fixed != nil {
		s.nFixed = fixed.Rows
	}
	G := s.nFixed + k
	s.wantLow = state && s.nFixed == 0
	s.lab = grow(s.lab, n)
	s.closest = grow(s.closest, n)
	s.cum = grow(s.cum, n)
	s.order = grow(s.order, n)
	s.start = grow(s.start, G+1)
	s.maxC = grow(s.maxC, G)
	s.cand = grow(s.cand, trials)
	s.dist = grow(s.dist, trials*G)
	s.gain = grow(s.gain, trials)
	if len(s.wins) < trials {
		s.wins = append(s.wins, make([][]rowDist, trials-len(s.wins))...)
	}
	if s.wantLow {
		s.rc = grow(s.rc, n)
		s.low = grow(s.low, n)
	}
	s.placed = linalg.Matrix{Data: grow(s.placed.Data, G*d), Rows: G, Cols: d}
	centers := linalg.New(k, d)
	start := 0
	if s.nFixed > 0 {
		copy(s.placed.Data, fixed.Data)
		par.For(threads, n, p.chunk, func(_, lo, hi int) {
			dist := make([]float64, fixed.Rows)
			for i := lo; i < hi; i++ {
				sqDists(X.Row(i), *fixed, dist)
				j := 0
				for f, v := range dist {
					if v < dist[j] {
						j = f
					}
				}
				s.closest[i], s.lab[i] = dist[j], int32(j)
			}
		})
	} else {
		c0 := X.Row(rng.IntN(n))
		copy(centers.Row(0), c0)
		copy(s.placed.Row(0), c0)
		par.For(threads, n, p.chunk, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				v := sqDist(X.Row(i), c0)
				s.closest[i], s.lab[i] = v, 0
				if s.wantLow {
					s.rc[i], s.low[i] = math.Sqrt(v), math.Inf(1)
				}
			}
		})
		start = 1
	}
	for c := start; c < k; c++ {
		s.nGroups = s.nFixed + c
		s.regroup()
		tot := 0.0
		for i, v := range s.closest[:n] {
			tot += w(v)
			s.cum[i] = tot
		}
		for t := range s.cand {
			// First row whose cumulative weight reaches the draw (numpy's
			// searchsorted, side left), clipped for rounding at the top end.
			r := rng.Float64() * tot
			idx := sort.SearchFloat64s(s.cum[:n], r)
			s.cand[t] = min(idx, n-1)
		}
		par.Each(threads, trials, s.trial(p))
		// The potential after adding candidate t is tot - gain[t]: the
		// lowest potential is the largest gain (ties to the first trial).
		best := 0
		for t := 1; t < trials; t++ {
			if tot-s.gain[t] < tot-s.gain[best] {
				best = t
			}
		}
		s.accept(p, best, int32(s.nFixed+c))
		copy(centers.Row(c), X.Row(s.cand[best]))
		copy(s.placed.Row(s.nFixed+c), X.Row(s.cand[best]))
	}
	return centers
}

// regroup sorts the rows by nearest centroid (counting sort, stable) and
// records each group's largest squared distance.
func (s *seeder) regroup() {
	G := s.nGroups
	st := s.start[:G+1]
	clear(st)
	maxC := s.maxC[:G]
	clear(maxC)
	for i, g := range s.lab {
		st[g+1]++
		maxC[g] = max(maxC[g], s.closest[i])
	}
	for g := 1; g <= G; g++ {
		st[g] += st[g-1]
	}
	// st[g] is now the start of group g; fill, advancing a copy.
	s.pos = append(s.pos[:0], st[:G]...)
	for i, g := range s.lab {
		s.order[s.pos[g]] = int32(i)
		s.pos[g]++
	}
}

// trial returns the per-candidate work: the rows candidate t wins and the
// summed decrease of their weights.
func (s *seeder) trial(p *problem) func(t int) {
	return func(t int) {
		d, X, G := p.d, p.X, s.nGroups
		cand := X.Row(s.cand[t])
		D := s.dist[t*len(s.maxC) : t*len(s.maxC)+G]
		sqDists(cand, s.placed.Slice(0, G), D)
		wins := s.wins[t][:0]
		gain := 0.0
		for g := 0; g < G; g++ {
			// Row i cannot be won when D[g] >= 4 closest[i] (1 + seedEps).
			lim := D[g] * (1 / (4 * (1 + seedEps)))
			if s.maxC[g] <= lim {
				continue
			}
			for _, i := range s.order[s.start[g]:s.start[g+1]] {
				ci := s.closest[i]
				if ci <= lim {
					continue
				}
				v := sqDist(X.Data[int(i)*d:int(i)*d+d], cand)
				if v < ci {
					gain += s.weighted(ci) - s.weighted(v)
					wins = append(wins, rowDist{i, v})
				}
			}
		}
		s.wins[t], s.gain[t] = wins, gain
	}
}

// accept makes candidate best the centroid of group g: the rows it wins move
// to it. With bounds, every other row's lower bound on its second-nearest
// distance takes the new centroid into account (|D - sqrt(closest)| by the
// triangle inequality), and a won row's second-nearest is its old centroid.
func (s *seeder) accept(p *problem, best int, g int32) {
	if s.wantLow {
		D := s.dist[best*len(s.maxC) : best*len(s.maxC)+s.nGroups]
		for h := 0; h < s.nGroups; h++ {
			dh := math.Sqrt(D[h])
			for _, i := range s.order[s.start[h]:s.start[h+1]] {
				s.low[i] = min(s.low[i], math.Abs(dh-s.rc[i]))
			}
		}
	}
	for _, rv := range s.wins[best] {
		s.closest[rv.i], s.lab[rv.i] = rv.v, g
		if s.wantLow {
			s.low[rv.i] = s.rc[rv.i]
			s.rc[rv.i] = math.Sqrt(rv.v)
		}
	}
}
