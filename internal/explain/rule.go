package explain

import (
	"fmt"
	"math"
)

// Condition is the merged constraint a rule puts on one column.
//
// Numeric: Lower < x <= Upper, a bound absent when infinite (LowerText and
// UpperText are the printed thresholds). Categorical: the level is one of
// Allowed. Missing says whether a missing value satisfies the condition: it
// does when the column had missing values in training and every split on
// the column along the rule's path sent them the rule's way.
type Condition struct {
	Col                  int
	Name                 string
	Lower, Upper         float64
	LowerText, UpperText string
	Allowed              []bool
	Levels               []string
	Missing              bool
}

// Rule is a conjunction of conditions describing Class.
type Rule struct {
	Class      int
	Conditions []Condition
	// Train is measured on the training rows the tree saw.
	Train Metrics
}

// Metrics of a rule read as a classifier "in the class when it matches".
type Metrics struct {
	Support   int // rows of the class among the evaluated rows
	Covered   int // rows the rule matches
	TP        int
	Rows      int
	Precision float64
	Recall    float64
	F1        float64
}

func newMetrics(tp, covered, support, rows int) Metrics {
	m := Metrics{Support: support, Covered: covered, TP: tp, Rows: rows}
	// Undefined ratios are 0, as scikit-learn's zero_division=0.
	if covered > 0 {
		m.Precision = float64(tp) / float64(covered)
	}
	if support > 0 {
		m.Recall = float64(tp) / float64(support)
	}
	if covered+support > 0 {
		m.F1 = 2 * float64(tp) / float64(covered+support)
	}
	return m
}

// Match reports whether a row satisfies every condition.
func (r *Rule) Match(X *Table, row int) bool {
	for i := range r.Conditions {
		if !r.Conditions[i].match(X, row) {
			return false
		}
	}
	return true
}

func (c *Condition) match(X *Table, row int) bool {
	col := &X.Cols[c.Col]
	if col.missing(row) {
		return c.Missing
	}
	if col.Categorical() {
		return c.Allowed[col.Codes[row]]
	}
	v := col.Num[row]
	return c.Lower < v && v <= c.Upper
}

// Evaluate measures the rule against class membership on rows (nil: all).
func (r *Rule) Evaluate(X *Table, y []int, rows []int) Metrics {
	if rows == nil {
		rows = make([]int, X.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	tp, covered, support := 0, 0, 0
	for _, row := range rows {
		pos := y[row] == r.Class
		if pos {
			support++
		}
		if r.Match(X, row) {
			covered++
			if pos {
				tp++
			}
		}
	}
	return newMetrics(tp, covered, support, len(rows))
}

// PathRule turns the path from the root to leaf into a rule for class,
// merging conditions on the same column (x > 3 and x <= 7 becomes
// 3 < x <= 7); columns keep the order of their first split on the path.
func (t *Tree) PathRule(leaf *Node, class int) (*Rule, error) {
	type step struct {
		n    *Node
		left bool
	}
	var path []step
	var find func(n *Node) bool
	find = func(n *Node) bool {
		if n == leaf {
			return true
		}
		if n.Leaf() {
			return false
		}
		path = append(path, step{n, true})
		if find(n.Left) {
			return true
		}
		path[len(path)-1].left = false
		if find(n.Right) {
			return true
		}
		path = path[:len(path)-1]
		return false
	}
	if !find(t.Root) {
		return nil, fmt.Errorf("explain: leaf not in tree")
	}
	r := &Rule{Class: class}
	at := map[int]int{}
	for _, s := range path {
		col := &t.X.Cols[s.n.Col]
		i, ok := at[s.n.Col]
		if !ok {
			c := Condition{Col: s.n.Col, Name: col.Name, Lower: math.Inf(-1), Upper: math.Inf(1), Missing: hasMissing(col)}
			if col.Categorical() {
				c.Levels = col.Levels
				c.Allowed = make([]bool, len(col.Levels))
				for l := range c.Allowed {
					c.Allowed[l] = true
				}
			}
			r.Conditions = append(r.Conditions, c)
			i = len(r.Conditions) - 1
			at[s.n.Col] = i
		}
		c := &r.Conditions[i]
		c.Missing = c.Missing && s.n.MissingLeft == s.left
		if col.Categorical() {
			for l := range c.Allowed {
				if s.n.LeftSet[l] != s.left {
					c.Allowed[l] = false
				}
			}
			continue
		}
		if s.left {
			if s.n.Threshold < c.Upper {
				c.Upper, c.UpperText = s.n.Threshold, s.n.ThresholdText
			}
		} else if s.n.Threshold > c.Lower {
			c.Lower, c.LowerText = s.n.Threshold, s.n.ThresholdText
		}
	}
	return r, nil
}

// OneVsRest fits a shallow tree separating class from the other labels in y
// and returns it with the rule of its leaf with the highest F1 on the
// training rows (rows; nil: all), the first such leaf from the left on a
// tie. Defaults: MaxDepth 3 (so at most 3 conditions), MinLeaf
// max(5, 1% of the class's training rows), balanced class weights (each side
// weighs half, so a small class is not ignored). Missing values go to the
// child with the lower impurity, the heavier child on a tie, learned per
// split.
func OneVsRest(X *Table, y []int, class int, rows []int, opts Options) (*Rule, *Tree, error) {
	return oneVsRest(X, y, class, rows, opts, nil)
}

// oneVsRest is OneVsRest with the rows' presort (nil: computed).
func oneVsRest(X *Table, y []int, class int, rows []int, opts Options, sorted [][]int) (*Rule, *Tree, error) {
	if len(y) != X.Rows {
		return nil, nil, fmt.Errorf("explain: %d labels for %d rows", len(y), X.Rows)
	}
	if rows == nil {
		rows = make([]int, X.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	bin := make([]int, len(y))
	pos := 0
	for _, r := range rows {
		if y[r] == class {
			bin[r] = 1
			pos++
		}
	}
	if pos == 0 {
		return nil, nil, fmt.Errorf("explain: class %d has no training rows", class)
	}
	if opts.MaxDepth == 0 {
		opts.MaxDepth = 3
	}
	if opts.MinLeaf == 0 {
		opts.MinLeaf = max(5, (pos+99)/100)
	}
	cw := []float64{1, 1}
	if !opts.Unweighted && pos < len(rows) {
		n := float64(len(rows))
		cw = []float64{n / (2 * float64(len(rows)-pos)), n / (2 * float64(pos))}
	}
	t, err := fit(X, bin, 2, rows, cw, opts, sorted)
	if err != nil {
		return nil, nil, err
	}
	var best *Node
	bestF1 := -1.0
	for _, l := range t.Leaves() {
		tp, cov := l.Counts[1], l.Counts[0]+l.Counts[1]
		f1 := 2 * float64(tp) / float64(cov+pos)
		if tp > 0 && f1 > bestF1 {
			best, bestF1 = l, f1
		}
	}
	r, err := t.PathRule(best, class)
	if err != nil {
		return nil, nil, err
	}
	r.Train = r.Evaluate(X, y, rows)
	return r, t, nil
}
