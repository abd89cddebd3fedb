package pbn

import (
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
)

// TestNoAllocPerBatch: after the first batch, a training step (forward,
// backward, AdamW) reuses its buffers, on a narrow net and on one wide
// enough for float32 products (AVX-512).
func TestNoAllocPerBatch(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, d := range []int{16, 160} {
		testNoAlloc(t, d)
	}
}

func testNoAlloc(t *testing.T, d int) {
	cfg := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, Dropout: 0.1, LatentDim: 13, BatchSize: 512}
	m := newModel(cfg, d, []string{"a", "b", "c"}, rand.New(rand.NewPCG(1, 2)))
	nt := m.newNet(1, true)
	for _, d := range nt.drops {
		d.Rng = rand.New(rand.NewPCG(3, 4))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := linalg.New(d, 512)
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	labels := make([]int, 512)
	for i := range labels {
		labels[i] = rng.IntN(4) - 1
	}
	opt := newOptimizer(nt, cfg.LR)
	step := func() {
		nt.lossGrad(x, labels, 0.5)
		opt.Step()
	}
	step()
	if a := testing.AllocsPerRun(20, step); a != 0 {
		t.Errorf("d=%d: %g allocations per training step, want 0", d, a)
	}
}
