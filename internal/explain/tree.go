package explain

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Options bound a tree. Zero values take the defaults documented on
// OneVsRest and MultiClass.
type Options struct {
	// MaxDepth is the largest number of splits on a root-to-leaf path, hence
	// the most conditions a rule can have before merging.
	MaxDepth int
	// MinLeaf is the fewest training rows a child may hold.
	MinLeaf int
	// MaxLeaves stops best-first growth (largest impurity decrease first, as
	// scikit-learn's max_leaf_nodes); negative means no limit, 0 the
	// function's default (none for OneVsRest, 2k for MultiClass).
	MaxLeaves int
	// Unweighted turns off the balanced class weights OneVsRest uses by
	// default (MultiClass is always unweighted).
	Unweighted bool
}

// Node is one node of a fitted tree. Internal nodes send a row left when
// its value is <= Threshold (numeric) or its level is in LeftSet
// (categorical); a missing value goes the way MissingLeft says.
type Node struct {
	Col           int // -1 for a leaf
	Threshold     float64
	ThresholdText string // the printed form of Threshold
	LeftSet       []bool // categorical: levels sent left
	MissingLeft   bool
	Left, Right   *Node

	Rows     int       // training rows reaching the node
	Counts   []int     // training rows per class
	Weights  []float64 // weighted class totals the split search used
	Class    int       // class with the largest weight (lowest index on ties)
	Impurity float64   // Gini impurity of Weights
	Depth    int
}

// Leaf reports whether n has no children.
func (n *Node) Leaf() bool { return n.Col < 0 }

// Tree is a fitted CART tree.
type Tree struct {
	Root    *Node
	Classes int
	X       *Table // the table the tree was fitted on (names and levels)
}

func gini(c []float64) (float64, float64) {
	var w, s float64
	for _, v := range c {
		w += v
		s += v * v
	}
	if w <= 0 {
		return 0, 0
	}
	return 1 - s/(w*w), w
}

// wgini is the total weight times the Gini impurity, the quantity CART
// minimises summed over the two children.
func wgini(c []float64) float64 {
	g, w := gini(c)
	return g * w
}

type split struct {
	ok          bool
	col         int
	score       float64
	lo, hi      float64 // numeric: adjacent values around the cut
	leftSet     []bool
	missingLeft bool
}

type builder struct {
	X       *Table
	y       []int
	k       int
	cw      []float64
	minLeaf int
	lm, rm  []float64
}

func (b *builder) newNode(rows []int, depth int) *Node {
	n := &Node{Col: -1, Rows: len(rows), Counts: make([]int, b.k), Weights: make([]float64, b.k), Depth: depth}
	for _, r := range rows {
		n.Counts[b.y[r]]++
		n.Weights[b.y[r]] += b.cw[b.y[r]]
	}
	for c := 1; c < b.k; c++ {
		if n.Weights[c] > n.Weights[n.Class] {
			n.Class = c
		}
	}
	n.Impurity, _ = gini(n.Weights)
	return n
}

// better keeps the first candidate among equal scores: columns are scanned
// in order and thresholds ascending, which is the documented tie break. The
// tolerance absorbs rounding so that exact ties stay ties.
func better(s, best float64, tot float64) bool {
	return s < best-1e-12*(1+tot)
}

// tryCut scores a cut given the class weights left and right of it over
// the non-missing rows, with the missing rows sent to either side; missing
// rows go where the impurity is lower, to the heavier child on a tie.
func (b *builder) tryCut(L, R, M []float64, nL, nR, nM int, tot float64) (float64, bool, bool) {
	k := b.k
	// Scratch reused across candidates: this runs once per distinct value.
	lm, rm := b.lm, b.rm
	for c := 0; c < k; c++ {
		lm[c] = L[c] + M[c]
		rm[c] = R[c] + M[c]
	}
	okL := nL+nM >= b.minLeaf && nR >= b.minLeaf
	okR := nL >= b.minLeaf && nR+nM >= b.minLeaf
	if !okL && !okR {
		return 0, false, false
	}
	sL := math.Inf(1)
	sR := math.Inf(1)
	if okL {
		sL = wgini(lm) + wgini(R)
	}
	if okR {
		sR = wgini(L) + wgini(rm)
	}
	var wl, wr float64
	for c := 0; c < k; c++ {
		wl += L[c]
		wr += R[c]
	}
	missLeft := wl >= wr
	s := sR
	if missLeft {
		s = sL
	}
	if better(sL, s, tot) {
		s, missLeft = sL, true
	} else if better(sR, s, tot) {
		s, missLeft = sR, false
	}
	return s, missLeft, true
}

// bestSplit scans every column; sorted[ci] holds the node's non-missing rows
// of numeric column ci in ascending order of value.
func (b *builder) bestSplit(n *Node, rows []int, sorted [][]int) split {
	best := split{score: wgini(n.Weights)}
	var tot float64
	for _, w := range n.Weights {
		tot += w
	}
	if n.Impurity == 0 || len(rows) < 2*b.minLeaf {
		return best
	}
	k := b.k
	for ci := range b.X.Cols {
		col := &b.X.Cols[ci]
		M := make([]float64, k)
		nM := 0
		if col.Categorical() {
			agg := make([][]float64, len(col.Levels))
			cnt := make([]int, len(col.Levels))
			for _, r := range rows {
				code := col.Codes[r]
				if code < 0 {
					M[b.y[r]] += b.cw[b.y[r]]
					nM++
					continue
				}
				if agg[code] == nil {
					agg[code] = make([]float64, k)
				}
				agg[code][b.y[r]] += b.cw[b.y[r]]
				cnt[code]++
			}
			var present []int
			for l := range agg {
				if agg[l] != nil {
					present = append(present, l)
				}
			}
			if len(present) < 2 {
				continue
			}
			// Ordering levels by the rate of one class and cutting the order
			// is exact for two classes (Breiman et al. 1984, §9.4); for more
			// classes the node's majority class is used, a heuristic.
			target := n.Class
			if k == 2 {
				target = 1
			}
			rate := func(l int) float64 {
				var s float64
				for _, v := range agg[l] {
					s += v
				}
				return agg[l][target] / s
			}
			sort.SliceStable(present, func(i, j int) bool { return rate(present[i]) < rate(present[j]) })
			L := make([]float64, k)
			R := make([]float64, k)
			nR := 0
			for _, l := range present {
				for c := 0; c < k; c++ {
					R[c] += agg[l][c]
				}
				nR += cnt[l]
			}
			nL := 0
			for i := 0; i+1 < len(present); i++ {
				l := present[i]
				for c := 0; c < k; c++ {
					L[c] += agg[l][c]
					R[c] -= agg[l][c]
				}
				nL += cnt[l]
				nR -= cnt[l]
				s, ml, ok := b.tryCut(L, R, M, nL, nR, nM, tot)
				if ok && better(s, best.score, tot) {
					set := make([]bool, len(col.Levels))
					for _, p := range present[:i+1] {
						set[p] = true
					}
					best = split{ok: true, col: ci, score: s, leftSet: set, missingLeft: ml}
				}
			}
			continue
		}
		idx := sorted[ci]
		for _, r := range rows {
			if math.IsNaN(col.Num[r]) {
				M[b.y[r]] += b.cw[b.y[r]]
				nM++
			}
		}
		L := make([]float64, k)
		R := make([]float64, k)
		for _, r := range idx {
			R[b.y[r]] += b.cw[b.y[r]]
		}
		for i := 0; i+1 < len(idx); i++ {
			r := idx[i]
			L[b.y[r]] += b.cw[b.y[r]]
			R[b.y[r]] -= b.cw[b.y[r]]
			lo, hi := col.Num[r], col.Num[idx[i+1]]
			if lo == hi {
				continue
			}
			s, ml, ok := b.tryCut(L, R, M, i+1, len(idx)-i-1, nM, tot)
			if ok && better(s, best.score, tot) {
				best = split{ok: true, col: ci, score: s, lo: lo, hi: hi, missingLeft: ml}
			}
		}
	}
	return best
}

// goesLeft routes one row through an internal node.
func (n *Node) goesLeft(X *Table, row int) bool {
	col := &X.Cols[n.Col]
	if col.missing(row) {
		return n.MissingLeft
	}
	if col.Categorical() {
		return n.LeftSet[col.Codes[row]]
	}
	return col.Num[row] <= n.Threshold
}

type frontier struct {
	node   *Node
	rows   []int
	sorted [][]int
	sp     split
	gain   float64
}

func fit(X *Table, y []int, k int, rows []int, cw []float64, opts Options, sorted [][]int) (*Tree, error) {
	if len(y) != X.Rows {
		return nil, fmt.Errorf("explain: %d labels for %d rows", len(y), X.Rows)
	}
	if rows == nil {
		rows = make([]int, X.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("explain: no training rows")
	}
	for _, r := range rows {
		if y[r] < 0 || y[r] >= k {
			return nil, fmt.Errorf("explain: row %d: class %d outside [0, %d)", r, y[r], k)
		}
	}
	b := &builder{X: X, y: y, k: k, cw: cw, minLeaf: max(opts.MinLeaf, 1), lm: make([]float64, k), rm: make([]float64, k)}
	root := b.newNode(rows, 0)
	var open []*frontier
	push := func(n *Node, rs []int, sorted [][]int) {
		if opts.MaxDepth > 0 && n.Depth >= opts.MaxDepth {
			return
		}
		sp := b.bestSplit(n, rs, sorted)
		if sp.ok {
			open = append(open, &frontier{node: n, rows: rs, sorted: sorted, sp: sp, gain: wgini(n.Weights) - sp.score})
		}
	}
	// Sort once at the root; children inherit the order by a stable
	// partition, which keeps each node's scan linear.
	if sorted == nil {
		sorted = presort(X, rows)
	}
	push(root, rows, sorted)
	isLeft := make([]bool, X.Rows)
	leaves := 1
	for len(open) > 0 && (opts.MaxLeaves <= 0 || leaves < opts.MaxLeaves) {
		// Best first; the earliest opened node wins a tie, which keeps the
		// order independent of anything but the data.
		bi := 0
		for i, f := range open {
			if f.gain > open[bi].gain+1e-12 {
				bi = i
			}
		}
		f := open[bi]
		open = append(open[:bi], open[bi+1:]...)
		n, sp := f.node, f.sp
		n.Col = sp.col
		n.MissingLeft = sp.missingLeft
		n.LeftSet = sp.leftSet
		if !X.Cols[sp.col].Categorical() {
			n.ThresholdText, n.Threshold = splitPoint(sp.lo, sp.hi)
		}
		var lr, rr []int
		for _, r := range f.rows {
			isLeft[r] = n.goesLeft(X, r)
			if isLeft[r] {
				lr = append(lr, r)
			} else {
				rr = append(rr, r)
			}
		}
		n.Left = b.newNode(lr, n.Depth+1)
		n.Right = b.newNode(rr, n.Depth+1)
		leaves++
		ls := make([][]int, len(X.Cols))
		rs := make([][]int, len(X.Cols))
		for ci, idx := range f.sorted {
			for _, r := range idx {
				if isLeft[r] {
					ls[ci] = append(ls[ci], r)
				} else {
					rs[ci] = append(rs[ci], r)
				}
			}
		}
		push(n.Left, lr, ls)
		push(n.Right, rr, rs)
	}
	return &Tree{Root: root, Classes: k, X: X}, nil
}

// MultiClass fits one tree on all classes (y in [0, k)), unweighted, the
// global surrogate of the design note. Defaults: no depth limit, MaxLeaves
// 2k (negative: no limit), MinLeaf 1. Categorical levels are ordered by
// the share of the node's majority class before the prefix cut, which is
// exact only for two classes. rows selects the training rows (nil: all).
func MultiClass(X *Table, y []int, k int, rows []int, opts Options) (*Tree, error) {
	return multiClass(X, y, k, rows, opts, nil)
}

// multiClass is MultiClass with the rows' presort (nil: computed).
func multiClass(X *Table, y []int, k int, rows []int, opts Options, sorted [][]int) (*Tree, error) {
	if k < 1 {
		return nil, fmt.Errorf("explain: %d classes", k)
	}
	if opts.MaxLeaves == 0 {
		opts.MaxLeaves = 2 * k
	}
	cw := make([]float64, k)
	for i := range cw {
		cw[i] = 1
	}
	return fit(X, y, k, rows, cw, opts, sorted)
}

// Predict returns the class of the leaf a row reaches.
func (t *Tree) Predict(X *Table, row int) int {
	return t.leaf(X, row).Class
}

func (t *Tree) leaf(X *Table, row int) *Node {
	n := t.Root
	for !n.Leaf() {
		if n.goesLeft(X, row) {
			n = n.Left
		} else {
			n = n.Right
		}
	}
	return n
}

// Accuracy is the share of rows (nil: all) whose prediction equals y.
func (t *Tree) Accuracy(X *Table, y []int, rows []int) float64 {
	if rows == nil {
		rows = make([]int, X.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) == 0 {
		return math.NaN()
	}
	ok := 0
	for _, r := range rows {
		if t.Predict(X, r) == y[r] {
			ok++
		}
	}
	return float64(ok) / float64(len(rows))
}

// Leaves lists the leaves left to right.
func (t *Tree) Leaves() []*Node {
	var out []*Node
	var walk func(*Node)
	walk = func(n *Node) {
		if n.Leaf() {
			out = append(out, n)
			return
		}
		walk(n.Left)
		walk(n.Right)
	}
	walk(t.Root)
	return out
}

// Depth is the longest root-to-leaf path in splits.
func (t *Tree) Depth() int {
	d := 0
	for _, l := range t.Leaves() {
		d = max(d, l.Depth)
	}
	return d
}

// Text renders the tree like scikit-learn's export_text, with class names
// (nil: class indices).
func (t *Tree) Text(classNames []string) string {
	var sb strings.Builder
	name := func(c int) string {
		if c < len(classNames) {
			return classNames[c]
		}
		return strconv.Itoa(c)
	}
	var walk func(n *Node, indent string)
	walk = func(n *Node, indent string) {
		if n.Leaf() {
			fmt.Fprintf(&sb, "%s|--- class: %s (%d rows)\n", indent, name(n.Class), n.Rows)
			return
		}
		col := &t.X.Cols[n.Col]
		for side := 0; side < 2; side++ {
			left := side == 0
			var cond string
			if col.Categorical() {
				var lv []string
				for l, in := range n.LeftSet {
					if in {
						lv = append(lv, col.Levels[l])
					}
				}
				op := "in"
				if !left {
					op = "not in"
				}
				cond = fmt.Sprintf("%s %s {%s}", col.Name, op, strings.Join(lv, ", "))
			} else {
				op := "<="
				if !left {
					op = "> "
				}
				cond = fmt.Sprintf("%s %s %s", col.Name, op, n.ThresholdText)
			}
			if left == n.MissingLeft && hasMissing(col) {
				cond += " or missing"
			}
			fmt.Fprintf(&sb, "%s|--- %s\n", indent, cond)
			child := n.Right
			if left {
				child = n.Left
			}
			walk(child, indent+"|   ")
		}
	}
	walk(t.Root, "")
	return sb.String()
}

func hasMissing(c *Column) bool {
	n := len(c.Num)
	if c.Categorical() {
		n = len(c.Codes)
	}
	for i := 0; i < n; i++ {
		if c.missing(i) {
			return true
		}
	}
	return false
}

// splitPoint returns the threshold printed and used between two adjacent
// training values lo < hi. It is their midpoint, as scikit-learn's (iris:
// 1.9 and 3.0 give 2.45), written with the digits the midpoint of the two
// values as written needs (one more decimal than the longer of them), so a
// rule reads in the data's own precision. When that takes more than 8
// significant digits (values that are not typed-in decimals), the midpoint
// is rounded to the fewest significant digits that still lie strictly
// between the two values. Any value strictly between separates the training
// rows identically.
func splitPoint(lo, hi float64) (string, float64) {
	m := lo + (hi-lo)/2
	d := max(decimals(lo), decimals(hi)) + 1
	if d <= 17 {
		s := strconv.FormatFloat(m, 'f', d, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		if v, err := strconv.ParseFloat(s, 64); err == nil && lo < v && v < hi && sigDigits(s) <= 8 {
			return s, v
		}
	}
	for p := 1; p <= 17; p++ {
		s := strconv.FormatFloat(m, 'g', p, 64)
		if v, err := strconv.ParseFloat(s, 64); err == nil && lo < v && v < hi {
			return s, v
		}
	}
	// Adjacent floats: nothing lies strictly between, and x <= lo is the
	// same cut.
	return strconv.FormatFloat(lo, 'g', -1, 64), lo
}

func decimals(x float64) int {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func sigDigits(s string) int {
	n := 0
	started := false
	for _, r := range s {
		if r < '0' || r > '9' {
			continue
		}
		if r != '0' {
			started = true
		}
		if started {
			n++
		}
	}
	return n
}

// sortRows returns the rows with a value (not NaN) in ascending order of
// value, rows of equal value in their order in rows: a stable sort, done
// as an unstable sort on (value, position), which is several times faster.
func sortRows(vals []float64, rows []int) []int {
	type vp struct {
		v float64
		p int32
	}
	ps := make([]vp, 0, len(rows))
	for p, r := range rows {
		if v := vals[r]; !math.IsNaN(v) {
			ps = append(ps, vp{v, int32(p)})
		}
	}
	slices.SortFunc(ps, func(a, b vp) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return int(a.p - b.p)
	})
	out := make([]int, len(ps))
	for i, x := range ps {
		out[i] = rows[x.p]
	}
	return out
}

// presort returns, per numeric column, the rows with a value in ascending
// order (ties in rows order); nil for categorical columns. fit reads it
// only, so one presort serves every tree fitted on the same rows.
func presort(X *Table, rows []int) [][]int {
	sorted := make([][]int, len(X.Cols))
	for ci := range X.Cols {
		col := &X.Cols[ci]
		if !col.Categorical() {
			sorted[ci] = sortRows(col.Num, rows)
		}
	}
	return sorted
}
