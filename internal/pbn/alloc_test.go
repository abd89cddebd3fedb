package pbn

import (
	"math/rand/v2"
	"testing"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/nn"
)

// TestNoAllocPerBatch: after the first batch, a training step (forward,
// backward, AdamW) reuses its buffers, on a narrow net, on one wide enough
// for float32 products on some layers, and on one where every encoder and
// decoder layer takes them (nn.Stack32, with AVX-512).
func TestNoAllocPerBatch(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, s := range [][2]int{{16, 13}, {160, 13}, {600, 32}} {
		if s[0] == 600 && !stackUsed(s[0], s[1]) {
			continue // the float64 path is the 160-feature case's; 600 is slow there
		}
		testNoAlloc(t, s[0], s[1])
	}
}

// stackUsed tells whether a d-feature PBN net with this latent size runs
// its encoder as nn.Stack32 here (float32 products: AVX-512).
func stackUsed(d, latent int) bool {
	cfg := Config{Method: MethodPBN, Dropout: 0.1, LatentDim: latent}
	m := newModel(cfg, d, []string{"a"}, rand.New(rand.NewPCG(1, 2)))
	_, ok := m.newNet(1, true).enc[0].(*nn.Stack32)
	return ok
}

func testNoAlloc(t *testing.T, d, latent int) {
	cfg := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, Dropout: 0.1, LatentDim: latent, BatchSize: 512}
	m := newModel(cfg, d, []string{"a", "b", "c"}, rand.New(rand.NewPCG(1, 2)))
	nt := m.newNet(1, true)
	checkStack(t, m, nt)
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

// checkStack fails unless the encoder and decoder run as one nn.Stack32
// exactly when all their Linear layers take float32 products.
func checkStack(t *testing.T, m *Model, nt *net) {
	t.Helper()
	for i, lin := range [][]*nn.Linear{m.Encoder, m.Decoder} {
		want := true
		for _, l := range lin {
			want = want && shareLinear(l, 1).Float32Products()
		}
		seq := []nn.Sequential{nt.enc, nt.dec}[i]
		_, got := seq[0].(*nn.Stack32)
		if got != want || (got && len(seq) != 1) {
			t.Fatalf("d=%d part %d: Stack32 %v, want %v", m.Dims[0], i, got, want)
		}
	}
}
