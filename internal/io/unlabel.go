package io

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/usererr"
)

// checkUnlabelKnown validates Roles.UnlabelKnown against the fitting table.
func (r Roles) checkUnlabelKnown(hasTarget bool) error {
	f := r.UnlabelKnown
	if math.IsNaN(f) || f < 0 || f > 1 {
		return usererr.New("--unlabel-known must be a fraction between 0 and 1, got %v", f)
	}
	if f > 0 && !hasTarget {
		return usererr.New("--unlabel-known needs a target column, but --target is %s", NoTarget)
	}
	return nil
}

// unlabelKnown hides Roles.UnlabelKnown of each known class's labeled rows
// (Known becomes Unlabeled, Truth stays): round(frac * n_c) rows of a class
// with n_c labeled rows, half away from zero, so every class loses its
// share, a small one too. It returns the number of rows hidden and of
// labeled rows before.
//
// The rows of class c are a uniform sample drawn from a stream seeded by
// (Roles.UnlabelSeed, c's name) alone: the same seed hides the same rows,
// whatever the thread count, the other classes or their order. --test and
// rows assigned with a model get the same treatment with their own rows
// (the paper-style protocol scores test rows).
func (p *Preprocessor) unlabelKnown(ds *dataset.Dataset) (hidden, labeled int) {
	frac := p.Roles.UnlabelKnown
	if frac <= 0 {
		return 0, 0
	}
	rows := make([][]int, len(ds.Classes))
	for i, k := range ds.Known {
		if k != dataset.Unlabeled {
			rows[k] = append(rows[k], i)
			labeled++
		}
	}
	for k, rs := range rows {
		h := hideCount(frac, len(rs))
		rng := rand.New(rand.NewPCG(p.Roles.UnlabelSeed, classStream(ds.Classes[k])))
		// A partial Fisher-Yates shuffle: rs[:h] is a uniform sample.
		for j := 0; j < h; j++ {
			s := j + rng.IntN(len(rs)-j)
			rs[j], rs[s] = rs[s], rs[j]
			ds.Known[rs[j]] = dataset.Unlabeled
		}
		hidden += h
	}
	ds.MixedUnlabeled = hidden > 0
	return hidden, labeled
}

// hideCount is the number of a class's n labeled rows --unlabel-known frac
// hides: round(frac * n), half away from zero.
func hideCount(frac float64, n int) int { return int(math.Round(frac * float64(n))) }

// fitNote is unlabelNote for the fitting table, counted from its labels
// (Fit does not transform it; Transform's own note about it is not shown).
func (p *Preprocessor) fitNote(src string, labels []string) string {
	n := map[string]int{}
	for _, l := range labels {
		n[l]++
	}
	hidden, labeled := 0, 0
	for _, c := range p.Classes {
		hidden += hideCount(p.Roles.UnlabelKnown, n[c])
		labeled += n[c]
	}
	return p.unlabelNote(src, hidden, labeled)
}

// classStream is the second PCG word of a class's stream: its name's
// FNV-1a hash, mixed with a constant so that no other seeded draw of ncd
// shares the stream.
func classStream(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ 0x756e6c6162656c // "unlabel"
}

// unlabelNote tells the user what --unlabel-known did to a table.
func (p *Preprocessor) unlabelNote(src string, hidden, labeled int) string {
	return fmt.Sprintf("%s: experiment mode: the labels of %d of %d known-class rows hidden (--unlabel-known %v, seed %d, per class); their true classes stay in the output for 'ncd eval'",
		src, hidden, labeled, p.Roles.UnlabelKnown, p.Roles.UnlabelSeed)
}
