package cv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/ncd-project/ncd/internal/usererr"
)

// Param is one searched hyperparameter: a range, sampled uniformly or
// log-uniformly, continuous or integer. Low == High fixes the value.
type Param struct {
	Name string  `json:"name"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	Log  bool    `json:"log,omitempty"`
	Int  bool    `json:"int,omitempty"`
}

// Space is a search space: the parameters in a fixed order.
type Space []Param

// Validate checks every range.
func (s Space) Validate() error {
	seen := map[string]bool{}
	for _, p := range s {
		switch {
		case p.Name == "":
			return usererr.New("search space: a parameter has no name")
		case seen[p.Name]:
			return usererr.New("search space: parameter %s appears twice", p.Name)
		case math.IsNaN(p.Low) || math.IsNaN(p.High) || math.IsInf(p.Low, 0) || math.IsInf(p.High, 0):
			return usererr.New("search space: %s range [%g, %g] is not finite", p.Name, p.Low, p.High)
		case p.Low > p.High:
			return usererr.New("search space: %s range [%g, %g] is empty (low > high)", p.Name, p.Low, p.High)
		case p.Log && p.Low <= 0:
			return usererr.New("search space: %s is searched on a log scale, so its low end must be > 0, got %g", p.Name, p.Low)
		case p.Int && (p.Low != math.Round(p.Low) || p.High != math.Round(p.High)):
			return usererr.New("search space: %s is an integer; its range [%g, %g] must have integer ends", p.Name, p.Low, p.High)
		}
		seen[p.Name] = true
	}
	return nil
}

// Lookup returns the parameter named name.
func (s Space) Lookup(name string) (Param, bool) {
	for _, p := range s {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// With returns a copy of s with the range of name replaced.
func (s Space) With(name string, low, high float64) (Space, error) {
	out := append(Space(nil), s...)
	for i := range out {
		if out[i].Name == name {
			out[i].Low, out[i].High = low, high
			return out, nil
		}
	}
	return nil, fmt.Errorf("search space has no parameter %s", name)
}

// String describes the space compactly ("lr log[0.0001,0.01] w [0,1] ...").
func (s Space) String() string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += " "
		}
		kind := ""
		if p.Int {
			kind += "int"
		}
		if p.Log {
			kind += "log"
		}
		if p.Low == p.High {
			out += fmt.Sprintf("%s=%g", p.Name, p.Low)
			continue
		}
		out += fmt.Sprintf("%s %s[%g,%g]", p.Name, kind, p.Low, p.High)
	}
	return out
}

// bounds returns the parameter's range in the internal coordinate the
// samplers work in: log for log parameters, widened by half a step for
// integers so that both ends are as likely as inner values.
func (p Param) bounds() (a, b float64) {
	lo, hi := p.Low, p.High
	if p.Int {
		lo, hi = lo-0.5, hi+0.5
		if p.Log {
			lo = math.Max(lo, p.Low*0.5) // keeps lo > 0 for Low = 1
		}
	}
	if p.Log {
		return math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

// internal maps a value to the internal coordinate.
func (p Param) internal(v float64) float64 {
	if p.Log {
		return math.Log(v)
	}
	return v
}

// value maps an internal coordinate back to a valid parameter value.
func (p Param) value(u float64) float64 {
	v := u
	if p.Log {
		v = math.Exp(u)
	}
	if p.Int {
		v = math.Round(v)
	}
	return math.Min(math.Max(v, p.Low), p.High)
}

// fixed reports whether the parameter has a single value.
func (p Param) fixed() bool { return p.Low == p.High }

// sampleRandom draws every free parameter uniformly in its internal
// coordinate.
func (s Space) sampleRandom(rng *rand.Rand) Params {
	out := Params{}
	for _, p := range s {
		if p.fixed() {
			out[p.Name] = p.Low
			continue
		}
		a, b := p.bounds()
		out[p.Name] = p.value(a + rng.Float64()*(b-a))
	}
	return out
}

// Names returns the parameter names in order.
func (s Space) Names() []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = p.Name
	}
	return out
}

// sortedNames returns the names of a Params in sorted order.
func sortedNames(p Params) []string {
	out := make([]string, 0, len(p))
	for k := range p {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Clamp returns p's values for s's parameters, each moved into its range
// (integers rounded); a parameter p lacks takes the middle of its range
// in the internal coordinate.
func (s Space) Clamp(p Params) Params {
	out := Params{}
	for _, q := range s {
		v, ok := p[q.Name]
		if !ok {
			lo, hi := q.bounds()
			out[q.Name] = q.value((lo + hi) / 2)
			continue
		}
		if q.Int {
			v = math.Round(v)
		}
		out[q.Name] = math.Min(math.Max(v, q.Low), q.High)
	}
	return out
}
