package nn

import "math"

// AdamW is torch.optim.AdamW (non-amsgrad, non-fused): decoupled weight
// decay p -= lr*wd*p, then the bias-corrected Adam step
// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64

	params []*Param
	m, v   [][]float64
	step   int
}

// NewAdamW returns an optimizer over params with PyTorch's defaults
// (betas 0.9/0.999, eps 1e-8, weight decay 0.01) and the given learning rate.
func NewAdamW(params []*Param, lr float64) *AdamW {
	o := &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, params: params}
	for _, p := range params {
		o.m = append(o.m, make([]float64, len(p.Data)))
		o.v = append(o.v, make([]float64, len(p.Data)))
	}
	return o
}

// Step applies one update from the parameters' current gradients (and
// keeps each Param's Data32, when set, equal to float32(Data)).
func (o *AdamW) Step() {
	o.step++
	t := float64(o.step)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2sqrt := math.Sqrt(1 - math.Pow(o.Beta2, t))
	stepSize := o.LR / bc1
	decay := 1 - o.LR*o.WeightDecay
	b1, b2 := o.Beta1, o.Beta2
	c := [7]float64{1 - b1, b2, 1 - b2, bc2sqrt, o.Eps, decay, stepSize}
	for k, p := range o.params {
		m := o.m[k][:len(p.Data)]
		v := o.v[k][:len(p.Data)]
		g := p.Grad[:len(p.Data)]
		var w32 []float32
		if len(p.Data32) == len(p.Data) {
			w32 = p.Data32
		}
		if useAVX512 && len(p.Data) > 0 {
			// Same operations in the same order, 8 at a time: the
			// scalar loop below spends most of its time waiting on its
			// two divisions and square root.
			var w32p *float32
			if w32 != nil {
				w32p = &w32[0]
			}
			adamwAVX512(&p.Data[0], &g[0], &m[0], &v[0], w32p, len(p.Data), &c)
			continue
		}
		for i, w := range p.Data {
			gi := g[i]
			// Same operation order as PyTorch: exp_avg.lerp_(grad, 1-b1),
			// exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1-b2),
			// param.mul_(1-lr*wd).addcdiv_(exp_avg, denom, -step_size).
			mi := m[i] + (1-b1)*(gi-m[i])
			vi := v[i]*b2 + (1-b2)*gi*gi
			m[i], v[i] = mi, vi
			p.Data[i] = w*decay - stepSize*(mi/(math.Sqrt(vi)/bc2sqrt+o.Eps))
		}
		if w32 != nil {
			toF32(w32, p.Data)
		}
	}
}
