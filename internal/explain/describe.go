package explain

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ncd-project/ncd/internal/par"
)

// Input is what Describe explains: a table of raw features, one group name
// per row, and the space distances are measured in.
type Input struct {
	// X holds the raw features of the rows to explain.
	X *Table
	// Groups names each row's group (class or cluster); rows are described
	// against the other rows of X.
	Groups []string
	// Space holds one point per row (row-major, Dims columns): the z-scored
	// features or a model's latent. Typical and borderline rows are the
	// rows nearest their group's centre, and nearest another group's, in it.
	Space []float64
	Dims  int
	// MaxConditions bounds a rule's length (tree depth); default 3.
	MaxConditions int
	// Holdout is the share of each group's rows held out of rule learning
	// to measure the rules (default 0.25; 0: none, numbers are on training
	// rows). Groups under MinHoldoutRows rows are not split.
	Holdout        float64
	MinHoldoutRows int
	Seed           uint64
	// Examples is how many typical rows per group (default 3); one
	// borderline row is added when another group exists.
	Examples int
	// Contrasts is how many features per group are reported (default 5).
	Contrasts int
	// WarnF1 is the held-out F1 under which a group gets a warning
	// (default 0.7).
	WarnF1 float64
	// Threads learns the groups' rules in parallel; the result does not
	// depend on it.
	Threads int
	// Progress, when set, is called (never concurrently) after each
	// group's rule with the number of groups done and the total.
	Progress func(done, total int)
}

// Result explains every group.
type Result struct {
	Groups    []Group
	Surrogate Surrogate
	// TrainRows and TestRows are the rows rules were learned and measured on.
	TrainRows, TestRows int
}

// Group is one group's explanation.
type Group struct {
	Name string
	Rows int
	// Share is Rows over all rows of the input.
	Share float64
	// Rule describes the group with at most MaxConditions conditions.
	Rule *Rule
	// Train is measured on the training rows, Test on the held-out rows
	// (all rows of all groups); HasTest is false when the group was too
	// small to hold rows out (Test is then Train).
	Train, Test Metrics
	HasTest     bool
	// Warning is set when no short rule describes the group well.
	Warning   string
	Contrasts []Contrast
	Examples  []Example
	// Nearest is the group whose centre is closest to this group's centre.
	Nearest string
}

// Contrast compares one feature inside the group with the other rows.
// Level is set for a categorical column's level: the values are then the
// shares of rows with that level.
type Contrast struct {
	Feature string
	Level   string
	// SMD is the standardized mean difference (mean in - mean out) over the
	// pooled standard deviation sqrt((var in + var out) / 2). It is not
	// defined (SMDDefined false, SMD 0) when neither side varies and their
	// values differ: the group is then separated completely.
	SMD float64
	// KS is the two-sample Kolmogorov-Smirnov statistic: the largest gap
	// between the two empirical distribution functions.
	KS              float64
	MeanIn, MeanOut float64
	// ConstantIn: every row of the group with a value has the same one
	// (MeanIn, exactly); ConstantOut the same for the other rows.
	ConstantIn, ConstantOut bool
}

// SMDDefined tells whether SMD measures the difference: not when both
// sides are constant at different values (no spread to measure it in).
func (c Contrast) SMDDefined() bool {
	return !(c.ConstantIn && c.ConstantOut && c.MeanIn != c.MeanOut)
}

// Difference words how the group differs from the other rows, without
// the feature's name: "+3.6 sd", or, for a feature constant inside the
// group, "= 0.2 in every row, others mean 1.68", and for a level
// "in every row, others 12%" or "in no row, others 94%".
func (c Contrast) Difference() string {
	if !c.ConstantIn {
		return fmt.Sprintf("%+.1f sd", c.SMD)
	}
	if c.Level != "" {
		in := "in every row"
		if c.MeanIn == 0 {
			in = "in no row"
		}
		return fmt.Sprintf("%s, others %s", in, percent(c.MeanOut))
	}
	others := "others mean " + strconv.FormatFloat(c.MeanOut, 'g', 4, 64)
	if c.ConstantOut {
		others = "others all " + strconv.FormatFloat(c.MeanOut, 'g', -1, 64)
	}
	return fmt.Sprintf("= %s in every row, %s", strconv.FormatFloat(c.MeanIn, 'g', -1, 64), others)
}

// percent prints a share as a percentage, never rounding a share that is
// not exactly 0 or 1 to "0%" or "100%".
func percent(x float64) string {
	p := math.Round(100 * x)
	switch {
	case p == 0 && x > 0:
		return "<1%"
	case p == 100 && x < 1:
		return ">99%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// Example is a row shown for a group: Role "typical" (nearest the group's
// centre) or "borderline" (smallest margin between the distance to the
// nearest other centre and to its own).
type Example struct {
	Row      int // index into the input rows
	Role     string
	Distance float64 // to the group's centre
	Margin   float64 // distance to the nearest other centre minus Distance
}

// Surrogate is one multi-class tree predicting the groups, with its
// agreement with the grouping on held-out rows.
type Surrogate struct {
	Leaves, Depth int
	Text          string
	// Accuracy is the share of held-out rows (training rows when nothing is
	// held out) whose predicted group is their group; Baseline is the share
	// of the largest group among them.
	Accuracy, Baseline float64
	// HeldOut is the number of held-out rows Accuracy was measured on; 0
	// when nothing was held out (Accuracy is on the training rows).
	HeldOut int
}

// Describe learns a rule per group (one-vs-rest CART, depth MaxConditions,
// on the training rows; of the trees with balanced and with plain class
// weights, the rule with the better training F1), measures it on the
// held-out rows, ranks contrasts by KS and picks typical and borderline
// rows.
func Describe(in Input) (*Result, error) {
	X := in.X
	if X == nil || X.Rows == 0 {
		return nil, fmt.Errorf("explain: no rows")
	}
	if len(in.Groups) != X.Rows {
		return nil, fmt.Errorf("explain: %d group names for %d rows", len(in.Groups), X.Rows)
	}
	if in.Dims > 0 && len(in.Space) != in.Dims*X.Rows {
		return nil, fmt.Errorf("explain: space has %d values, want %d x %d", len(in.Space), X.Rows, in.Dims)
	}
	if in.MaxConditions == 0 {
		in.MaxConditions = 3
	}
	if in.Examples == 0 {
		in.Examples = 3
	}
	if in.Contrasts == 0 {
		in.Contrasts = 5
	}
	if in.WarnF1 == 0 {
		in.WarnF1 = 0.7
	}
	if in.MinHoldoutRows == 0 {
		in.MinHoldoutRows = 20
	}
	names := distinctSorted(in.Groups)
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	y := make([]int, X.Rows)
	for i, g := range in.Groups {
		y[i] = index[g]
	}
	train, test, err := Holdout(y, in.Holdout, in.Seed, in.MinHoldoutRows)
	if err != nil {
		return nil, err
	}
	inTest := make([]bool, X.Rows)
	for _, r := range test {
		inTest[r] = true
	}
	sizes := make([]int, len(names))
	testSizes := make([]int, len(names))
	for i, c := range y {
		sizes[c]++
		if inTest[i] {
			testSizes[c]++
		}
	}
	res := &Result{Groups: make([]Group, len(names)), TrainRows: len(train), TestRows: len(test)}
	errs := make([]error, len(names))
	sorted := presort(X, train)
	var mu sync.Mutex
	done := 0
	par.Each(in.Threads, len(names), func(g int) {
		grp := &res.Groups[g]
		grp.Name = names[g]
		grp.Rows = sizes[g]
		grp.Share = float64(sizes[g]) / float64(X.Rows)
		if len(names) < 2 {
			grp.Warning = "the only group: there is nothing to tell it from"
			return
		}
		// Balanced class weights favour recall, plain weights precision;
		// the rule with the better training F1 is kept (balanced on a tie).
		r, _, err := oneVsRest(X, y, g, train, Options{MaxDepth: in.MaxConditions}, sorted)
		if err != nil {
			errs[g] = err
			return
		}
		if u, _, err := oneVsRest(X, y, g, train, Options{MaxDepth: in.MaxConditions, Unweighted: true}, sorted); err == nil && u.Train.F1 > r.Train.F1+1e-12 {
			r = u
		}
		grp.Rule, grp.Train = r, r.Train
		grp.Test, grp.HasTest = grp.Train, false
		if testSizes[g] > 0 {
			grp.Test, grp.HasTest = r.Evaluate(X, y, test), true
		}
		if in.Progress != nil {
			mu.Lock()
			done++
			in.Progress(done, len(names))
			mu.Unlock()
		}
		if grp.Test.F1 < in.WarnF1 {
			on := "held-out"
			if !grp.HasTest {
				on = "training"
			}
			grp.Warning = fmt.Sprintf("no rule of at most %d conditions describes %s well (%s F1 %.3f < %.2f); read its contrasts instead", in.MaxConditions, grp.Name, on, grp.Test.F1, in.WarnF1)
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if len(names) >= 2 {
		contrasts(X, y, len(names), in.Contrasts, res.Groups)
	}
	if in.Dims > 0 {
		examples(in.Space, in.Dims, y, len(names), in.Examples, res.Groups)
	}
	if len(names) >= 2 {
		t, err := multiClass(X, y, len(names), train, Options{}, sorted)
		if err != nil {
			return nil, err
		}
		eval := test
		if len(eval) == 0 {
			eval = train
		}
		cnt := make([]int, len(names))
		for _, r := range eval {
			cnt[y[r]]++
		}
		res.Surrogate = Surrogate{Leaves: len(t.Leaves()), Depth: t.Depth(), Text: t.Text(names),
			Accuracy: t.Accuracy(X, y, eval), Baseline: float64(maxInt(cnt)) / float64(len(eval)), HeldOut: len(test)}
	}
	return res, nil
}

func maxInt(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// distinctSorted returns the distinct names in natural order (novel_2
// before novel_10).
func distinctSorted(v []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return NaturalLess(out[i], out[j]) })
	return out
}

// NaturalLess orders strings with embedded numbers by value: novel_2 <
// novel_10, "2" < "10".
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// feature is one contrasted variable: a numeric column, or a categorical
// column's level as a 0/1 indicator.
type feature struct {
	name, level string
	vals        []float64 // NaN: missing
}

func contrastFeatures(X *Table) []feature {
	var out []feature
	for ci := range X.Cols {
		c := &X.Cols[ci]
		if !c.Categorical() {
			out = append(out, feature{name: c.Name, vals: c.Num})
			continue
		}
		for l, lv := range c.Levels {
			v := make([]float64, X.Rows)
			for i, code := range c.Codes {
				switch {
				case code < 0:
					v[i] = math.NaN()
				case code == l:
					v[i] = 1
				}
			}
			out = append(out, feature{name: c.Name, level: lv, vals: v})
		}
	}
	return out
}

// smdRank orders contrasts of equal KS: by |SMD|, an undefined SMD (both
// sides constant, at different values) first.
func smdRank(c Contrast) float64 {
	if !c.SMDDefined() {
		return math.Inf(1)
	}
	return math.Abs(c.SMD)
}

// contrasts fills each group's top features by KS statistic (ties: larger
// |SMD|, then feature order), a text column once, by its best level.
func contrasts(X *Table, y []int, k, top int, groups []Group) {
	feats := contrastFeatures(X)
	all := make([][]Contrast, k)
	for g := range all {
		all[g] = make([]Contrast, len(feats))
	}
	every := make([]int, X.Rows)
	for i := range every {
		every[i] = i
	}
	for fi, f := range feats {
		// Rows with a value, sorted by it (row index on ties).
		order := sortRows(f.vals, every)
		n := make([]float64, k)
		s := make([]float64, k)
		ss := make([]float64, k)
		var N, S, SS float64
		for _, i := range order {
			v := f.vals[i]
			n[y[i]]++
			s[y[i]] += v
			ss[y[i]] += v * v
			N++
			S += v
			SS += v * v
		}
		// KS for every group in one sweep over the sorted values.
		// The same sweep counts the distinct values inside and outside
		// each group (a constant side has one) and keeps the first.
		ks := make([]float64, k)
		cin := make([]float64, k)
		last := make([]float64, k)
		levelsIn, levelsOut := make([]int, k), make([]int, k)
		firstIn, firstOut := make([]float64, k), make([]float64, k)
		var cAll float64
		for a := 0; a < len(order); {
			b := a
			v := f.vals[order[a]]
			for b < len(order) && f.vals[order[b]] == v {
				cin[y[order[b]]]++
				cAll++
				b++
			}
			for g := 0; g < k; g++ {
				in := cin[g] - last[g]
				last[g] = cin[g]
				if in > 0 {
					if levelsIn[g] == 0 {
						firstIn[g] = v
					}
					levelsIn[g]++
				}
				if float64(b-a) > in {
					if levelsOut[g] == 0 {
						firstOut[g] = v
					}
					levelsOut[g]++
				}
				nIn, nOut := n[g], N-n[g]
				if nIn == 0 || nOut == 0 {
					continue
				}
				d := math.Abs(cin[g]/nIn - (cAll-cin[g])/nOut)
				ks[g] = max(ks[g], d)
			}
			a = b
		}
		for g := 0; g < k; g++ {
			c := Contrast{Feature: f.name, Level: f.level, KS: ks[g]}
			nIn, nOut := n[g], N-n[g]
			if nIn > 0 && nOut > 0 {
				c.MeanIn, c.MeanOut = s[g]/nIn, (S-s[g])/nOut
				vIn := max(ss[g]/nIn-c.MeanIn*c.MeanIn, 0)
				vOut := max((SS-ss[g])/nOut-c.MeanOut*c.MeanOut, 0)
				// A constant side: its value and no spread, exactly (the
				// sums leave rounding residues).
				c.ConstantIn, c.ConstantOut = levelsIn[g] == 1, levelsOut[g] == 1
				if c.ConstantIn {
					c.MeanIn, vIn = firstIn[g], 0
				}
				if c.ConstantOut {
					c.MeanOut, vOut = firstOut[g], 0
				}
				// No spread on either side: SMD stays 0, undefined
				// (SMDDefined), and ranks first among equal KS.
				if sd := math.Sqrt((vIn + vOut) / 2); sd > 0 {
					c.SMD = (c.MeanIn - c.MeanOut) / sd
				}
			}
			all[g][fi] = c
		}
	}
	for g := range groups {
		cs := all[g]
		idx := make([]int, len(cs))
		for i := range idx {
			idx[i] = i
		}
		const eps = 1e-12
		sort.SliceStable(idx, func(a, b int) bool {
			ca, cb := cs[idx[a]], cs[idx[b]]
			if math.Abs(ca.KS-cb.KS) > eps {
				return ca.KS > cb.KS
			}
			return smdRank(ca) > smdRank(cb)+eps
		})
		// One level per text column (its best): a two-level column's
		// levels mirror each other.
		seen := map[string]bool{}
		for _, i := range idx {
			if len(groups[g].Contrasts) == top {
				break
			}
			if seen[cs[i].Feature] {
				continue
			}
			seen[cs[i].Feature] = true
			groups[g].Contrasts = append(groups[g].Contrasts, cs[i])
		}
	}
}

// examples picks each group's typical rows (nearest its centre) and one
// borderline row (the smallest margin to another centre), ties by row.
func examples(Z []float64, d int, y []int, k, typical int, groups []Group) {
	cent := make([]float64, k*d)
	cnt := make([]float64, k)
	for i, g := range y {
		cnt[g]++
		row := Z[i*d : (i+1)*d]
		for j, v := range row {
			cent[g*d+j] += v
		}
	}
	for g := 0; g < k; g++ {
		for j := 0; j < d; j++ {
			cent[g*d+j] /= cnt[g]
		}
	}
	dist := func(row []float64, g int) float64 {
		var s float64
		for j, v := range row {
			t := v - cent[g*d+j]
			s += t * t
		}
		return math.Sqrt(s)
	}
	for g := 0; g < k; g++ {
		best, bestD := -1, math.Inf(1)
		for h := 0; h < k; h++ {
			if h == g {
				continue
			}
			if dd := dist(cent[g*d:(g+1)*d], h); dd < bestD {
				best, bestD = h, dd
			}
		}
		if best >= 0 {
			groups[g].Nearest = groups[best].Name
		}
	}
	type cand struct {
		row          int
		dist, margin float64
	}
	per := make([][]cand, k)
	for i, g := range y {
		row := Z[i*d : (i+1)*d]
		own := dist(row, g)
		other := math.Inf(1)
		for h := 0; h < k; h++ {
			if h != g {
				other = min(other, dist(row, h))
			}
		}
		per[g] = append(per[g], cand{i, own, other - own})
	}
	for g := 0; g < k; g++ {
		cs := per[g]
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].dist < cs[b].dist })
		used := map[int]bool{}
		for _, c := range cs[:min(typical, len(cs))] {
			groups[g].Examples = append(groups[g].Examples, Example{Row: c.row, Role: "typical", Distance: c.dist, Margin: c.margin})
			used[c.row] = true
		}
		if k < 2 {
			continue
		}
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].margin < cs[b].margin })
		for _, c := range cs {
			if !used[c.row] {
				groups[g].Examples = append(groups[g].Examples, Example{Row: c.row, Role: "borderline", Distance: c.dist, Margin: c.margin})
				break
			}
		}
	}
}
