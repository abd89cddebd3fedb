package io

import (
	"strings"
)

// The columns ncd adds to the rows it writes (cmd/ncd's writePredictions):
// the predicted cluster (the known class for labeled rows, novel_<j> for
// discovered ones) and whether the row was unlabeled. laterColumns are
// columns a later version may add next to them.
var (
	predictionColumns = []string{"cluster", "unlabeled"}
	laterColumns      = []string{"novel", "novelty_p", "confidence"}
)

// OwnOutputColumns returns the columns of t that are ncd's own predictions
// when t is the output of an earlier fit or cluster run (nil otherwise), so
// that re-clustering such a file does not use them as features: `cluster`
// holds the true class of every labeled row, a perfect and illegitimate
// feature.
//
// A table is ncd's output when it has both `cluster` and `unlabeled` and
//   - every `unlabeled` cell is a boolean (true/false as ncd writes them,
//     also 1/0, yes/no, t/f in any case, as eval accepts them; a Parquet
//     Bool column), with no missing cell;
//   - no `cluster` cell is missing, and that of every unlabeled row is
//     novel_<j> or a class some labeled row has (its cluster or, when the
//     target column is present, its target: --assign-known);
//   - and ncd's mark is there: some row's cluster is novel_<j>, or there
//     are labeled rows and each one's cluster equals its target.
//
// Then `novel` (booleans), `novelty_p` and `confidence` (numbers in [0, 1]),
// when present, are ncd's too.
func OwnOutputColumns(t *Table, target string) []string {
	cl, _ := t.Col("cluster")
	ul, _ := t.Col("unlabeled")
	if cl == nil || ul == nil || cl.NullCount() > 0 {
		return nil
	}
	unl, ok := boolCells(ul)
	if !ok {
		return nil
	}
	var tgt *Column
	if target != "cluster" {
		tgt, _ = t.Col(target)
	}
	clusters := cl.Strings()
	known := map[string]bool{}
	labeled, sameAsTarget, novel := 0, 0, false
	for i, u := range unl {
		if tgt != nil && !tgt.IsNull(i) {
			known[tgt.Cell(i)] = true
		}
		if u {
			continue
		}
		known[clusters[i]] = true
		labeled++
		if tgt != nil && !tgt.IsNull(i) && tgt.Cell(i) == clusters[i] {
			sameAsTarget++
		}
	}
	for i, u := range unl {
		if !u {
			continue
		}
		switch {
		case isNovelName(clusters[i]):
			novel = true
		case !known[clusters[i]]:
			return nil
		}
	}
	if !novel && (labeled == 0 || sameAsTarget != labeled) {
		return nil
	}
	out := append([]string(nil), predictionColumns...)
	for _, name := range laterColumns {
		c, _ := t.Col(name)
		if c == nil {
			continue
		}
		if name == "novel" {
			if _, ok := boolCells(c); ok {
				out = append(out, name)
			}
		} else if inUnitInterval(c) {
			out = append(out, name)
		}
	}
	return out
}

// boolCells reads a column of booleans; ok is false when a cell is missing
// or not a boolean.
func boolCells(c *Column) ([]bool, bool) {
	if c.NullCount() > 0 {
		return nil, false
	}
	if c.Kind == Bool {
		return c.Bool, true
	}
	out := make([]bool, c.Len())
	for i := range out {
		switch strings.ToLower(trimSpace(c.Cell(i))) {
		case "true", "1", "yes", "t":
			out[i] = true
		case "false", "0", "no", "f":
		default:
			return nil, false
		}
	}
	return out, true
}

// isNovelName reports whether s is novel_<j>, ncd's name for the j-th
// discovered class.
func isNovelName(s string) bool {
	d, ok := strings.CutPrefix(s, "novel_")
	if !ok || d == "" {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// inUnitInterval reports whether c is numeric with every present value in
// [0, 1], as a probability or a confidence is.
func inUnitInterval(c *Column) bool {
	if !c.Kind.Numeric() {
		return false
	}
	for i := range c.Len() {
		if v, ok := numericCell(c, i); ok && (v < 0 || v > 1) {
			return false
		}
	}
	return true
}
