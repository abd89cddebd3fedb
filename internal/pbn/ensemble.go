package pbn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// MemberSeeds returns the training seeds of an ensemble of r networks: the
// first is seed itself, so that an ensemble of one is exactly Train with
// seed, and the others come from a generator seeded by seed.
func MemberSeeds(seed uint64, r int) []uint64 {
	seeds := make([]uint64, r)
	rng := rand.New(rand.NewPCG(seed, 0x656e73656d626c65)) // "ensemble"
	for i := range seeds {
		if i == 0 {
			seeds[i] = seed
			continue
		}
		seeds[i] = rng.Uint64()
	}
	return seeds
}

// TrainEnsemble trains r networks that differ only in their seeds
// (MemberSeeds(cfg.Seed, r)): initialization, dropout masks and batch
// order. Members train concurrently, cfg.Threads split among them; each
// member is the network Train returns for its seed whatever the split, so
// the ensemble does not depend on cfg.Threads either. progress, if set, is
// called after every epoch of every member (member, epoch, mean
// cross-entropy, mean reconstruction), never concurrently.
func TrainEnsemble(ctx context.Context, ds *dataset.Dataset, cfg Config, r int, progress func(member, epoch int, ce, rec float64)) ([]*Model, error) {
	if r < 1 {
		return nil, fmt.Errorf("pbn: ensemble of %d networks", r)
	}
	threads := par.Threads(cfg.Threads)
	at := min(r, threads) // members training at once
	seeds := MemberSeeds(cfg.Seed, r)
	members := make([]*Model, r)
	errs := make([]error, r)
	var mu sync.Mutex // serializes progress
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	par.Each(at, r, func(i int) {
		c := cfg
		c.Seed, c.Threads = seeds[i], max(1, threads/at)
		var cb func(int, float64, float64)
		if progress != nil {
			cb = func(epoch int, ce, rec float64) {
				mu.Lock()
				defer mu.Unlock()
				progress(i, epoch, ce, rec)
			}
		}
		if members[i], errs[i] = Train(ctx, ds, c, cb); errs[i] != nil {
			cancel()
		}
	})
	// The first error in member order, preferring a real failure over the
	// cancellations it caused in the other members.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return members, nil
}

// EmbedEnsemble returns the members' latents of X side by side (member 0's
// columns first), each scaled by 1/sqrt(len(members)): squared distances in
// the joint space are the mean of the members' squared distances, and
// normalized latents keep unit length. One member gives exactly its Embed.
// Every member must take X's columns.
func EmbedEnsemble(members []*Model, X linalg.Matrix, normalized bool) linalg.Matrix {
	if len(members) == 1 {
		return members[0].Embed(X, normalized)
	}
	cols := 0
	for _, m := range members {
		cols += m.Dims[3]
	}
	out := linalg.New(X.Rows, cols)
	s := 1 / math.Sqrt(float64(len(members)))
	off := 0
	for _, m := range members {
		z := m.Embed(X, normalized)
		for i := 0; i < X.Rows; i++ {
			dst := out.Row(i)[off : off+z.Cols]
			for j, v := range z.Row(i) {
				dst[j] = s * v
			}
		}
		off += z.Cols
	}
	return out
}
