package tabularncd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
	"github.com/ncd-project/ncd/internal/pbn"
)

// EnsembleProgress is Progress with the member's index.
type EnsembleProgress func(member int, phase string, epoch int, a, b float64)

// each runs fn for every member, at most min(r, threads) at once, each with
// threads/at goroutines for its products (a member's result does not
// depend on it), serializing progress; it returns the first real error.
func each(ctx context.Context, r, threads int, progress EnsembleProgress, fn func(ctx context.Context, i, threads int, p Progress) error) error {
	threads = par.Threads(threads)
	at := min(r, threads)
	errs := make([]error, r)
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	par.Each(at, r, func(i int) {
		var cb Progress
		if progress != nil {
			cb = func(phase string, epoch int, a, b float64) {
				mu.Lock()
				defer mu.Unlock()
				progress(i, phase, epoch, a, b)
			}
		}
		if errs[i] = fn(ctx, i, max(1, threads/at), cb); errs[i] != nil {
			cancel()
		}
	})
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// PretrainEnsemble pretrains r networks that differ only in their seeds
// (pbn.MemberSeeds(cfg.Seed, r): member 0 is cfg.Seed itself), concurrently.
func PretrainEnsemble(ctx context.Context, ds *dataset.Dataset, cfg Config, r int, progress EnsembleProgress) ([]*Model, error) {
	if r < 1 {
		return nil, fmt.Errorf("tabularncd: ensemble of %d networks", r)
	}
	seeds := pbn.MemberSeeds(cfg.Seed, r)
	members := make([]*Model, r)
	err := each(ctx, r, cfg.Threads, progress, func(ctx context.Context, i, threads int, p Progress) error {
		c := cfg
		c.Seed, c.Threads = seeds[i], threads
		var err error
		members[i], err = Pretrain(ctx, ds, c, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return members, nil
}

// JointEnsemble runs Joint on every member of PretrainEnsemble (same cfg
// and r), concurrently.
func JointEnsemble(ctx context.Context, members []*Model, ds *dataset.Dataset, cfg Config, k int, progress EnsembleProgress) error {
	seeds := pbn.MemberSeeds(cfg.Seed, len(members))
	return each(ctx, len(members), cfg.Threads, progress, func(ctx context.Context, i, threads int, p Progress) error {
		c := cfg
		c.Seed, c.Threads = seeds[i], threads
		return Joint(ctx, members[i], ds, c, k, p)
	})
}

// sideBySide puts each member's matrix f(member) side by side, scaled by
// 1/sqrt(len(members)); one member gives f(member) itself.
func sideBySide(members []*Model, rows int, f func(*Model) linalg.Matrix) linalg.Matrix {
	if len(members) == 1 {
		return f(members[0])
	}
	parts := make([]linalg.Matrix, len(members))
	cols := 0
	for i, m := range members {
		parts[i] = f(m)
		cols += parts[i].Cols
	}
	out := linalg.New(rows, cols)
	s := 1 / math.Sqrt(float64(len(members)))
	off := 0
	for _, z := range parts {
		for i := 0; i < rows; i++ {
			dst := out.Row(i)[off : off+z.Cols]
			for j, v := range z.Row(i) {
				dst[j] = s * v
			}
		}
		off += z.Cols
	}
	return out
}

// LatentEnsemble returns the members' encoder outputs for X side by side,
// each scaled by 1/sqrt(len(members)) (see pbn.EmbedEnsemble).
func LatentEnsemble(members []*Model, X linalg.Matrix, normalized bool) linalg.Matrix {
	return sideBySide(members, X.Rows, func(m *Model) linalg.Matrix { return m.Latent(X, normalized) })
}

// ProbsEnsemble returns the members' clustering-head softmax for X side by
// side, each scaled by 1/sqrt(len(members)): the space an ensemble's novel
// clusters live in. For one member, the nearest of the k one-hot vectors is
// the head's argmax.
func ProbsEnsemble(members []*Model, X linalg.Matrix) linalg.Matrix {
	return sideBySide(members, X.Rows, func(m *Model) linalg.Matrix { return m.Probs(X) })
}
