package cv

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Samplers accepted in Options.Sampler.
const (
	SamplerTPE    = "tpe"
	SamplerRandom = "random"
)

// TPE settings (Bergstra et al. 2011; the multivariate variant of Optuna's
// TPESampler, Falkner et al. 2018's kernel bandwidths). They are constants
// rather than options because the study file's proposals depend on them.
const (
	// tpeGamma is the fraction of the history that forms the "good" density
	// l(x) (at most tpeMaxGood trials); hyperopt's default 0.25 suits the
	// small budgets of a tune (Optuna's 0.1 leaves 1-2 good trials out of 20).
	tpeGamma   = 0.25
	tpeMaxGood = 25
	// tpeCandidates are drawn from l(x); the one maximising l(x)/g(x) wins.
	tpeCandidates = 24
	// tpePriorWeight weighs the uniform-ish prior component of each density.
	tpePriorWeight = 1.0
	// tpeBandwidth scales Scott's rule: sigma = 0.2 * n^(-1/(D+4)) * range.
	tpeBandwidth = 0.2
)

// parzen is a mixture of truncated normals over the free dimensions, one
// component per observation plus the prior (centre of the box, sigma = box).
type parzen struct {
	w        []float64   // normalized component weights
	mu       [][]float64 // component x dim
	sigma    [][]float64 // component x dim
	lo, hi   []float64
	logNorms [][]float64 // log(sigma) + log(Phi(beta) - Phi(alpha)) per component x dim
}

func newParzen(obs [][]float64, lo, hi []float64) *parzen {
	d := len(lo)
	n := len(obs)
	p := &parzen{lo: lo, hi: hi}
	scale := tpeBandwidth * math.Pow(float64(max(n, 1)), -1/float64(d+4))
	total := float64(n) + tpePriorWeight
	for _, x := range obs {
		s := make([]float64, d)
		for j := range s {
			s[j] = scale * (hi[j] - lo[j])
		}
		p.mu = append(p.mu, x)
		p.sigma = append(p.sigma, s)
		p.w = append(p.w, 1/total)
	}
	mid := make([]float64, d)
	s := make([]float64, d)
	for j := range mid {
		mid[j] = (lo[j] + hi[j]) / 2
		s[j] = hi[j] - lo[j]
	}
	p.mu = append(p.mu, mid)
	p.sigma = append(p.sigma, s)
	p.w = append(p.w, tpePriorWeight/total)
	p.logNorms = make([][]float64, len(p.mu))
	for c := range p.mu {
		p.logNorms[c] = make([]float64, d)
		for j := 0; j < d; j++ {
			mass := normCDF((hi[j]-p.mu[c][j])/p.sigma[c][j]) - normCDF((lo[j]-p.mu[c][j])/p.sigma[c][j])
			p.logNorms[c][j] = math.Log(p.sigma[c][j]) + math.Log(math.Max(mass, 1e-300))
		}
	}
	return p
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// sample draws one point: a component by weight, then each dimension from
// that component's normal truncated to the box (by rejection; the mean is
// inside the box, so at least ~16% of draws land in it).
func (p *parzen) sample(rng *rand.Rand) []float64 {
	u := rng.Float64()
	c := len(p.w) - 1
	acc := 0.0
	for i, w := range p.w {
		acc += w
		if u < acc {
			c = i
			break
		}
	}
	x := make([]float64, len(p.lo))
	for j := range x {
		v := math.NaN()
		for try := 0; try < 1000; try++ {
			v = p.mu[c][j] + p.sigma[c][j]*rng.NormFloat64()
			if v >= p.lo[j] && v <= p.hi[j] {
				break
			}
		}
		x[j] = math.Min(math.Max(v, p.lo[j]), p.hi[j])
	}
	return x
}

// logPDF is the log density of the mixture at x.
func (p *parzen) logPDF(x []float64) float64 {
	terms := make([]float64, len(p.w))
	top := math.Inf(-1)
	for c := range p.w {
		s := math.Log(p.w[c])
		for j, v := range x {
			z := (v - p.mu[c][j]) / p.sigma[c][j]
			s += -0.5*z*z - 0.5*math.Log(2*math.Pi) - p.logNorms[c][j]
		}
		terms[c] = s
		top = math.Max(top, s)
	}
	sum := 0.0
	for _, t := range terms {
		sum += math.Exp(t - top)
	}
	return top + math.Log(sum)
}

// tpeScore is the value TPE ranks history by: the mean ACC, or -Inf for a
// failed trial (always among the bad ones). A pruned trial keeps the mean
// of its first folds, which the median rule found poor.
func tpeScore(t *Trial) float64 {
	if t.Failed {
		return math.Inf(-1)
	}
	return t.ACC
}

// sampleTPE proposes a configuration from the history (finished trials, any
// order): free parameters are drawn jointly from the density of the best
// tpeGamma fraction and the candidate with the highest ratio to the density
// of the rest is kept. With no history it falls back to random sampling.
func (s Space) sampleTPE(rng *rand.Rand, hist []*Trial) Params {
	var free []Param
	for _, p := range s {
		if !p.fixed() {
			free = append(free, p)
		}
	}
	if len(hist) == 0 || len(free) == 0 {
		return s.sampleRandom(rng)
	}
	sorted := append([]*Trial(nil), hist...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := tpeScore(sorted[i]), tpeScore(sorted[j])
		if a != b {
			return a > b
		}
		return sorted[i].Index < sorted[j].Index
	})
	nGood := min(int(math.Ceil(tpeGamma*float64(len(sorted)))), tpeMaxGood)
	lo := make([]float64, len(free))
	hi := make([]float64, len(free))
	for j, p := range free {
		lo[j], hi[j] = p.bounds()
	}
	point := func(t *Trial) []float64 {
		x := make([]float64, len(free))
		for j, p := range free {
			v, ok := t.Params[p.Name]
			if !ok {
				v = (p.Low + p.High) / 2 // a study from a narrower space: centre
			}
			x[j] = math.Min(math.Max(p.internal(math.Min(math.Max(v, p.Low), p.High)), lo[j]), hi[j])
		}
		return x
	}
	var good, bad [][]float64
	for i, t := range sorted {
		if i < nGood {
			good = append(good, point(t))
		} else {
			bad = append(bad, point(t))
		}
	}
	l, g := newParzen(good, lo, hi), newParzen(bad, lo, hi)
	var best []float64
	bestScore := math.Inf(-1)
	for c := 0; c < tpeCandidates; c++ {
		x := l.sample(rng)
		if sc := l.logPDF(x) - g.logPDF(x); best == nil || sc > bestScore {
			best, bestScore = x, sc
		}
	}
	out := Params{}
	j := 0
	for _, p := range s {
		if p.fixed() {
			out[p.Name] = p.Low
			continue
		}
		out[p.Name] = p.value(best[j])
		j++
	}
	return out
}
