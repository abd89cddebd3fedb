// Package explain learns short, printable rules that describe classes of a
// table in the user's raw units: CART trees (Gini impurity) fitted one class
// against the rest or on all classes at once, rule extraction from the best
// leaf, held-out evaluation, and printing for pandas `query` and SQL `WHERE`.
//
// Everything is deterministic: the learner is single-threaded and breaks ties
// by column order then threshold, so the result never depends on the thread
// count; the only randomness is the seeded holdout split.
package explain

import (
	"fmt"
	"math"
	"sort"
)

// Column is one feature. A column is categorical when Levels is non-nil; then
// Codes holds an index into Levels per row, -1 for a missing value. Otherwise
// Num holds raw values, NaN for a missing value.
type Column struct {
	Name   string
	Num    []float64
	Codes  []int
	Levels []string
}

// Categorical reports whether the column holds level codes.
func (c *Column) Categorical() bool { return c.Levels != nil }

func (c *Column) missing(row int) bool {
	if c.Categorical() {
		return c.Codes[row] < 0
	}
	return math.IsNaN(c.Num[row])
}

// Table is a feature matrix stored by column; all columns have Rows entries.
type Table struct {
	Cols []Column
	Rows int
}

// NumericColumn wraps raw values; NaN marks a missing value.
func NumericColumn(name string, vals []float64) Column {
	return Column{Name: name, Num: vals}
}

// CategoricalColumn encodes string values; the empty string marks a missing
// value. Levels are sorted so that the encoding, and hence every tie break,
// does not depend on row order.
func CategoricalColumn(name string, vals []string) Column {
	seen := map[string]bool{}
	for _, v := range vals {
		if v != "" {
			seen[v] = true
		}
	}
	levels := make([]string, 0, len(seen))
	for v := range seen {
		levels = append(levels, v)
	}
	sort.Strings(levels)
	index := make(map[string]int, len(levels))
	for i, v := range levels {
		index[v] = i
	}
	codes := make([]int, len(vals))
	for i, v := range vals {
		if v == "" {
			codes[i] = -1
		} else {
			codes[i] = index[v]
		}
	}
	return Column{Name: name, Codes: codes, Levels: levels}
}

// NewTable checks that all columns have the same length.
func NewTable(cols ...Column) (*Table, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("explain: no columns")
	}
	n := -1
	for i := range cols {
		c := &cols[i]
		m := len(c.Num)
		if c.Categorical() {
			m = len(c.Codes)
			for _, code := range c.Codes {
				if code >= len(c.Levels) {
					return nil, fmt.Errorf("explain: column %q: code %d out of %d levels", c.Name, code, len(c.Levels))
				}
			}
		}
		if n >= 0 && m != n {
			return nil, fmt.Errorf("explain: column %q has %d rows, want %d", c.Name, m, n)
		}
		n = m
	}
	return &Table{Cols: cols, Rows: n}, nil
}
