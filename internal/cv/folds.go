package cv

import (
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/folds"
)

// Fold modes accepted by FoldOptions.Mode (see package folds).
const (
	FoldAuto      = folds.Auto
	FoldPartition = folds.Partition
	FoldRandom    = folds.Random
)

// FoldOptions configures MakeFolds (see folds.Options).
type FoldOptions = folds.Options

// DefaultHidden is folds.DefaultHidden.
func DefaultHidden(classes int) int { return folds.DefaultHidden(classes) }

// MakeFolds is folds.Make.
func MakeFolds(classes int, opt FoldOptions) ([][]int, string, error) {
	return folds.Make(classes, opt)
}

func hideClasses(ds *dataset.Dataset, hide []int) (*dataset.Dataset, []int, []string) {
	return folds.Hide(ds, hide)
}
