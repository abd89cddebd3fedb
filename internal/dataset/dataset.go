// Package dataset defines the prepared data every algorithm works on: a
// feature matrix plus, per row, the known-class index or "unlabeled".
package dataset

import "github.com/ncd-project/ncd/internal/linalg"

// Unlabeled marks a row without a known-class label in Dataset.Known.
const Unlabeled = -1

// Dataset is a preprocessed table ready for the algorithms.
type Dataset struct {
	// X holds the (standardized, one-hot encoded) features, one row per table row.
	X linalg.Matrix
	// Known[i] is the index into Classes of row i's known class, or Unlabeled
	// (no label in the file, or hidden by --novel).
	Known []int
	// Classes are the known class names, sorted.
	Classes []string
	// Truth[i] is row i's label as written in the file ("" when missing);
	// kept so that rows hidden by --novel can be scored later.
	Truth []string
	// Features names the columns of X (one-hot columns as "col=value").
	Features []string
	// MixedUnlabeled is set when some unlabeled rows are known-class rows
	// whose labels were hidden (--unlabel-known): the unlabeled rows are
	// then no longer the novel classes alone.
	MixedUnlabeled bool
}

// Rows returns the number of rows.
func (d *Dataset) Rows() int { return d.X.Rows }

// UnlabeledRows returns the indices of rows whose Known is Unlabeled.
func (d *Dataset) UnlabeledRows() []int {
	var out []int
	for i, k := range d.Known {
		if k == Unlabeled {
			out = append(out, i)
		}
	}
	return out
}

// LabeledRows returns the indices of rows with a known class.
func (d *Dataset) LabeledRows() []int {
	var out []int
	for i, k := range d.Known {
		if k != Unlabeled {
			out = append(out, i)
		}
	}
	return out
}
