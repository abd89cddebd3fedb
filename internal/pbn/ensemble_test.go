package pbn

import (
	"context"
	"math"
	"slices"
	"testing"
)

// TestEnsembleMembersAreSeededTrainings: member 0 is exactly Train with the
// seed, member i is exactly Train with MemberSeeds' i-th seed, the members
// differ, and none of it depends on the thread count (1 thread: members in
// turn; 2 and 3 threads: members side by side).
func TestEnsembleMembersAreSeededTrainings(t *testing.T) {
	ds := blobs(3, 600, 12, 5, 3)
	cfg := Config{Method: MethodPBN, LR: 3e-3, W: 0.5, Dropout: 0.1, LatentDim: 6, Epochs: 3, BatchSize: 128, Shuffle: true, Seed: 7}
	seeds := MemberSeeds(cfg.Seed, 3)
	if seeds[0] != cfg.Seed || seeds[1] == seeds[2] || seeds[1] == cfg.Seed {
		t.Fatalf("member seeds %v", seeds)
	}
	var runs [][]*Model
	for _, th := range []int{1, 2, 3} {
		cfg.Threads = th
		calls := 0
		ms, err := TrainEnsemble(context.Background(), ds, cfg, 3, func(member, epoch int, ce, rec float64) { calls++ })
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 || calls != 3*cfg.Epochs {
			t.Fatalf("threads %d: %d members, %d progress calls", th, len(ms), calls)
		}
		runs = append(runs, ms)
	}
	for i, seed := range seeds {
		c := cfg
		c.Seed, c.Threads = seed, 1
		want, err := Train(context.Background(), ds, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		for r := range runs {
			if !slices.Equal(weights(runs[r][i]), weights(want)) {
				t.Fatalf("run %d member %d is not Train with seed %d", r, i, seed)
			}
		}
	}
	if slices.Equal(weights(runs[0][0]), weights(runs[0][1])) {
		t.Fatal("members 0 and 1 are the same network")
	}
}

// TestEmbedEnsemble: the joint latent is the members' latents side by side,
// each scaled by 1/sqrt(r): normalized rows keep unit length, a squared
// distance is the mean of the members' squared distances, and one member
// gives its own Embed unchanged.
func TestEmbedEnsemble(t *testing.T) {
	ds := blobs(4, 300, 8, 4, 2)
	cfg := Config{Method: MethodPBN, LR: 3e-3, W: 0.5, LatentDim: 5, Epochs: 2, BatchSize: 100, Seed: 1}
	ms, err := TrainEnsemble(context.Background(), ds, cfg, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if one := EmbedEnsemble(ms[:1], ds.X, true); !slices.Equal(one.Data, ms[0].Embed(ds.X, true).Data) {
		t.Fatal("an ensemble of one is not the member's Embed")
	}
	z := EmbedEnsemble(ms, ds.X, true)
	if z.Rows != ds.X.Rows || z.Cols != 10 {
		t.Fatalf("joint latent is %dx%d, want %dx10", z.Rows, z.Cols, ds.X.Rows)
	}
	a, b := ms[0].Embed(ds.X, true), ms[1].Embed(ds.X, true)
	sq := func(x, y []float64) float64 {
		s := 0.0
		for j := range x {
			s += (x[j] - y[j]) * (x[j] - y[j])
		}
		return s
	}
	for _, p := range [][2]int{{0, 1}, {5, 200}, {17, 299}} {
		i, j := p[0], p[1]
		if n := sq(z.Row(i), make([]float64, 10)); math.Abs(n-1) > 1e-12 {
			t.Fatalf("row %d has squared norm %v, want 1", i, n)
		}
		got := sq(z.Row(i), z.Row(j))
		want := (sq(a.Row(i), a.Row(j)) + sq(b.Row(i), b.Row(j))) / 2
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("rows %d,%d: joint squared distance %v, members' mean %v", i, j, got, want)
		}
	}
	if _, err := TrainEnsemble(context.Background(), ds, cfg, 0, nil); err == nil {
		t.Fatal("an ensemble of 0 networks trained")
	}
}
