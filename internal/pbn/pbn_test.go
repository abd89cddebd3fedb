package pbn

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

// blobs returns n rows of d features around `classes` random centres; the
// first `known` classes are labelled, the others unlabelled.
func blobs(seed uint64, n, d, classes, known int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, d)
		for f := range centres[c] {
			centres[c][f] = 3 * rng.NormFloat64()
		}
	}
	ds := &dataset.Dataset{X: linalg.New(n, d), Known: make([]int, n), Truth: make([]string, n)}
	for c := 0; c < known; c++ {
		ds.Classes = append(ds.Classes, string(rune('a'+c)))
	}
	for i := 0; i < n; i++ {
		c := rng.IntN(classes)
		for f, v := range centres[c] {
			ds.X.Data[i*d+f] = v + rng.NormFloat64()
		}
		ds.Truth[i] = string(rune('a' + c))
		ds.Known[i] = dataset.Unlabeled
		if c < known {
			ds.Known[i] = c
		}
	}
	return ds
}

// TestNetworkGradient checks the gradient of the whole PBN loss (encoder,
// L2 norm, decoder, classifier, both loss terms, dropout with a frozen mask)
// with respect to every parameter against five-point central differences.
func TestNetworkGradient(t *testing.T) {
	for _, method := range []string{MethodPBN, MethodBaseline} {
		cfg := Config{Method: method, LR: 1e-3, W: 0.3, Dropout: 0.2, LatentDim: 3, BatchSize: 10}
		m := newModel(cfg, 6, []string{"a", "b", "c"}, rand.New(rand.NewPCG(1, 2)))
		nt := m.newNet(1, true)
		rng := rand.New(rand.NewPCG(3, 4))
		x := linalg.New(6, 10)
		for i := range x.Data {
			x.Data[i] = rng.NormFloat64()
		}
		labels := []int{0, 2, -1, 1, -1, 0, 0, 2, -1, 1}
		w := cfg.W
		if method == MethodBaseline {
			w = 1
		}
		loss := func() float64 {
			for _, d := range nt.drops {
				d.Rng = rand.New(rand.NewPCG(5, 6))
			}
			ce, rec := nt.lossGrad(x, labels, w)
			return w*ce + (1-w)*rec
		}
		loss()
		var wrt, an [][]float64
		for _, p := range nt.params() {
			wrt = append(wrt, p.Data)
			an = append(an, append([]float64(nil), p.Grad...))
		}
		if len(nt.drops) != 4-2*btoi(method == MethodBaseline) {
			t.Fatalf("%s: %d dropout layers", method, len(nt.drops))
		}
		const h = 1e-4
		worst := 0.0
		for k, v := range wrt {
			for i := range v {
				o := v[i]
				f := func(x float64) float64 { v[i] = x; l := loss(); v[i] = o; return l }
				num := (8*(f(o+h)-f(o-h)) - (f(o+2*h) - f(o-2*h))) / (12 * h)
				a := an[k][i]
				scale := max(math.Abs(num), math.Abs(a))
				e := math.Abs(num - a)
				if scale >= 1e-4 {
					e /= scale
				} else {
					e *= 1e4 // below 1e-4: absolute error 1e-10
				}
				worst = max(worst, e)
				if e > 1e-6 {
					t.Fatalf("%s: param %d elem %d: analytic %.12g numeric %.12g", method, k, i, a, num)
				}
			}
		}
		t.Logf("%s: %d tensors, worst error %.3g", method, len(wrt), worst)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func weights(m *Model) []float64 {
	var all []float64
	for _, l := range append(append(slices.Clone(m.Encoder), m.Decoder...), m.Classifier) {
		all = append(append(all, l.W...), l.B...)
	}
	for _, b := range append(slices.Clone(m.EncoderBN), m.DecoderBN...) {
		all = append(append(append(append(all, b.Gamma...), b.Beta...), b.RunMean...), b.RunVar...)
	}
	return all
}

// TestDeterminism: same seed, identical weights and embeddings for 1 and 2
// threads (the 64-feature net is wide enough for the products to run on
// several goroutines; the 200-feature one takes the float32 products on
// AVX-512, split over goroutines too, and the 600-feature one runs its
// encoder and decoder as nn.Stack32), and a different seed gives a
// different model.
func TestDeterminism(t *testing.T) {
	for _, s := range [][2]int{{64, 8}, {200, 8}, {600, 32}} {
		if s[0] == 600 && !stackUsed(s[0], s[1]) {
			continue // no Stack32 without AVX-512; the others cover float64
		}
		t.Run(fmt.Sprint(s[0]), func(t *testing.T) { testDeterminism(t, s[0], s[1]) })
	}
}

func testDeterminism(t *testing.T, d, latent int) {
	ds := blobs(1, 700, d, 5, 3)
	cfg := Config{Method: MethodPBN, LR: 3e-3, W: 0.5, Dropout: 0.1, LatentDim: latent, Epochs: 3, BatchSize: 256, Shuffle: true, Seed: 42}
	var models []*Model
	for _, th := range []int{1, 2} {
		cfg.Threads = th
		m, err := Train(context.Background(), ds, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, m)
	}
	if !slices.Equal(weights(models[0]), weights(models[1])) {
		t.Fatal("weights differ between 1 and 2 threads")
	}
	if !slices.Equal(models[0].Embed(ds.X, false).Data, models[1].Embed(ds.X, false).Data) {
		t.Fatal("embeddings differ between 1 and 2 threads")
	}
	cfg.Seed = 43
	other, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(weights(models[0]), weights(other)) {
		t.Fatal("different seeds gave the same weights")
	}
}

// TestLearns: on separable blobs the classifier learns the known classes,
// both losses fall, and the unlabelled classes form tight groups in the
// latent space.
func TestLearns(t *testing.T) {
	ds := blobs(2, 1500, 10, 6, 3)
	cfg := Config{Method: MethodPBN, LR: 5e-3, W: 0.5, Dropout: 0.05, LatentDim: 5, Epochs: 30, BatchSize: 128, Shuffle: true, Seed: 1}
	var ces, recs []float64
	m, err := Train(context.Background(), ds, cfg, func(epoch int, ce, rec float64) {
		if epoch != len(ces) {
			t.Fatalf("progress epoch %d, want %d", epoch, len(ces))
		}
		ces, recs = append(ces, ce), append(recs, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ces) != 30 || !(ces[29] < ces[0]/5) || !(recs[29] < recs[0]/2) {
		t.Errorf("losses did not fall: ce %g -> %g, rec %g -> %g", ces[0], ces[len(ces)-1], recs[0], recs[len(recs)-1])
	}
	pred := m.Predict(ds.X)
	right, total := 0, 0
	for i, k := range ds.Known {
		if k >= 0 {
			total++
			if pred[i] == k {
				right++
			}
		}
	}
	if acc := float64(right) / float64(total); acc < 0.99 {
		t.Errorf("train accuracy on known classes %g, want >= 0.99", acc)
	}
	// Normalized embedding has unit rows; raw does not.
	zn, zr := m.Embed(ds.X, true), m.Embed(ds.X, false)
	if zn.Rows != ds.X.Rows || zn.Cols != 5 {
		t.Fatalf("embedding shape %dx%d", zn.Rows, zn.Cols)
	}
	for i := 0; i < zn.Rows; i++ {
		s := 0.0
		for _, v := range zn.Row(i) {
			s += v * v
		}
		if math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d of the normalized latent has squared norm %g", i, s)
		}
		nr := math.Sqrt(linalg.RowSqNorms(zr.Slice(i, i+1), nil)[0])
		for f, v := range zn.Row(i) {
			if math.Abs(v-zr.At(i, f)/nr) > 1e-12 {
				t.Fatalf("row %d: normalized latent is not raw/||raw||", i)
			}
		}
	}
	// Each novel class's latent rows should be closer to their own mean
	// than to the other novel classes' means (nearest-mean accuracy).
	means := map[string][]float64{}
	counts := map[string]int{}
	for i, k := range ds.Known {
		if k < 0 {
			c := ds.Truth[i]
			if means[c] == nil {
				means[c] = make([]float64, 5)
			}
			for f, v := range zn.Row(i) {
				means[c][f] += v
			}
			counts[c]++
		}
	}
	for c := range means {
		for f := range means[c] {
			means[c][f] /= float64(counts[c])
		}
	}
	right, total = 0, 0
	for i, k := range ds.Known {
		if k >= 0 {
			continue
		}
		best, bd := "", math.Inf(1)
		for c, mu := range means {
			if d := linalg.SqDistRows(zn.Row(i), mu); d < bd {
				best, bd = c, d
			}
		}
		total++
		if best == ds.Truth[i] {
			right++
		}
	}
	if acc := float64(right) / float64(total); acc < 0.95 {
		t.Errorf("novel rows nearest own-class mean: %g, want >= 0.95", acc)
	}
}

// TestBaselineIgnoresUnlabelled: the baseline trains on known rows only, so
// changing the unlabelled rows' features changes nothing.
func TestBaselineIgnoresUnlabelled(t *testing.T) {
	ds := blobs(3, 400, 8, 4, 2)
	cfg := Config{Method: MethodBaseline, LR: 1e-2, W: 0.5, Dropout: 0.1, LatentDim: 4, Epochs: 3, BatchSize: 64, Shuffle: true, Seed: 7}
	a, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range ds.Known {
		if k < 0 {
			for f := range ds.X.Row(i) {
				ds.X.Data[i*8+f] = 100
			}
		}
	}
	b, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(weights(a), weights(b)) {
		t.Error("baseline depends on unlabelled rows")
	}
	if len(a.Decoder) != 0 || len(a.DecoderBN) != 0 {
		t.Error("baseline has a decoder")
	}
}

// TestBatches: 2*bs+1 rows gives a merged last batch (BatchNorm would fail
// on one row); an exact multiple and bs+2 rows work too; with Shuffle off
// the row order matters, so permuting the data changes the model.
func TestBatches(t *testing.T) {
	for _, n := range []int{33, 32, 18, 17} {
		ds := blobs(4, n, 4, 3, 2)
		cfg := Config{Method: MethodPBN, LR: 1e-2, W: 0.5, Dropout: 0.1, LatentDim: 2, Epochs: 2, BatchSize: 16, Seed: 1}
		if _, err := Train(context.Background(), ds, cfg, nil); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	ds := blobs(5, 300, 7, 4, 2)
	cfg := Config{Method: MethodPBN, LR: 1e-2, W: 0.5, Dropout: 0.1, LatentDim: 3, Epochs: 2, BatchSize: 64, Seed: 1}
	m, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := m.Embed(ds.X, false)
	wantPred := m.Predict(ds.X)

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		t.Fatal(err)
	}
	var g Model
	if err := gob.NewDecoder(&buf).Decode(&g); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var j Model
	if err := json.Unmarshal(js, &j); err != nil {
		t.Fatal(err)
	}
	for name, mm := range map[string]*Model{"gob": &g, "json": &j} {
		if !slices.Equal(mm.Embed(ds.X, false).Data, want.Data) || !slices.Equal(mm.Predict(ds.X), wantPred) {
			t.Errorf("%s round trip changed the model's output", name)
		}
		if !slices.Equal(weights(mm), weights(m)) {
			t.Errorf("%s round trip changed the weights", name)
		}
	}
}

func TestValidation(t *testing.T) {
	ds := blobs(6, 50, 4, 3, 2)
	good := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, Dropout: 0.1, LatentDim: 2, Epochs: 1, BatchSize: 16}
	bad := []func(*Config){
		func(c *Config) { c.Method = "tabularncd" },
		func(c *Config) { c.LR = 0 },
		func(c *Config) { c.LR = math.NaN() },
		func(c *Config) { c.W = 1.5 },
		func(c *Config) { c.Dropout = 1 },
		func(c *Config) { c.LatentDim = 0 },
		func(c *Config) { c.BatchSize = 1 },
		func(c *Config) { c.Epochs = -1 },
	}
	for i, f := range bad {
		c := good
		f(&c)
		var ue *usererr.Error
		if _, err := Train(context.Background(), ds, c, nil); !errors.As(err, &ue) {
			t.Errorf("case %d: error %v, want a usererr", i, err)
		}
	}
	one := blobs(6, 50, 1, 3, 2)
	if _, err := Train(context.Background(), one, good, nil); err == nil {
		t.Error("1 feature accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, ds, good, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := Train(context.Background(), ds, good, nil); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// TestBudget: epochs and steps under the step cap, by hand: 1,000,000 rows
// in batches of 512 make 1954 batches (the last of 64 rows), so 25,000
// steps hold 12 whole epochs (23,448 steps); letter's 14,000 training rows
// make 28 batches and 200 epochs take 5,600 steps, under the cap.
func TestBudget(t *testing.T) {
	c := DefaultConfig()
	for _, tc := range []struct {
		rows, epochs, maxSteps, wantEpochs, wantSteps int
	}{
		{1000000, 200, 25000, 12, 23448},
		{14000, 200, 25000, 200, 5600},
		{58000, 200, 25000, 200, 22800}, // shuttle: 114 batches
		{1000000, 200, 0, 200, 390800},  // no cap
		{1000000, 5, 25000, 5, 9770},    // fewer epochs than the cap allows
		{1000000, 200, 1000, 1, 1954},   // a cap under one epoch: one epoch
		{513, 200, 100, 100, 100},       // 1-row last batch merged: 1 batch
		{1024, 200, 401, 200, 400},
		{1024, 200, 399, 199, 398},
		{0, 200, 100, 200, 0},
	} {
		c.Epochs, c.MaxSteps = tc.epochs, tc.maxSteps
		if e, s := c.Budget(tc.rows); e != tc.wantEpochs || s != tc.wantSteps {
			t.Errorf("%+v: Budget = %d epochs, %d steps", tc, e, s)
		}
	}
	ds := blobs(3, 10, 4, 3, 2)
	c.Method = MethodBaseline
	labelled := 0
	for _, k := range ds.Known {
		if k >= 0 {
			labelled++
		}
	}
	if got := c.TrainRows(ds); got != labelled || labelled == 10 {
		t.Errorf("baseline trains on %d rows, want the %d labelled", got, labelled)
	}
	c.Method = MethodPBN
	if got := c.TrainRows(ds); got != 10 {
		t.Errorf("PBN trains on %d rows, want 10", got)
	}
}

// TestMaxSteps: Train stops after the budget's epochs (300 rows in batches
// of 100: 3 steps an epoch, so 8 steps hold 2 epochs); a cap the training
// does not reach changes nothing.
func TestMaxSteps(t *testing.T) {
	ds := blobs(4, 300, 6, 3, 2)
	cfg := Config{Method: MethodPBN, LR: 3e-3, W: 0.5, Dropout: 0.1, LatentDim: 4, Epochs: 10, BatchSize: 100, Shuffle: true, Seed: 7}
	train := func(maxSteps int) (*Model, int) {
		c := cfg
		c.MaxSteps = maxSteps
		epochs := 0
		m, err := Train(context.Background(), ds, c, func(int, float64, float64) { epochs++ })
		if err != nil {
			t.Fatal(err)
		}
		return m, epochs
	}
	if _, e := train(8); e != 2 {
		t.Errorf("MaxSteps 8: %d epochs, want 2", e)
	}
	full, e0 := train(0)
	capped, e1 := train(30)
	if e0 != 10 || e1 != 10 || !slices.Equal(weights(full), weights(capped)) {
		t.Errorf("a cap of 30 steps (training takes 30) changed the training: %d vs %d epochs", e0, e1)
	}
	cfg.MaxSteps = -1
	if _, err := Train(context.Background(), ds, cfg, nil); err == nil {
		t.Error("MaxSteps -1 accepted")
	}
}

// Train refuses NaN and infinite features wherever they are (first value,
// inside the 4-value blocks of finite, in the tail), as a user error.
func TestTrainRefusesNonFinite(t *testing.T) {
	cfg := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, LatentDim: 2, Epochs: 1, BatchSize: 8}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, at := range []int{0, 5, 6*7 - 1} {
			ds := blobs(1, 6, 7, 3, 2) // 42 values: 10 blocks of 4 and a tail of 2
			ds.X.Data[at] = bad
			_, err := Train(context.Background(), ds, cfg, nil)
			if !usererr.Is(err) {
				t.Fatalf("%g at %d: err %v, want a user error", bad, at, err)
			}
		}
	}
	if !finite([]float64{0, -1, 1e308, -1e308, 5e-324}) || finite([]float64{1, 2, 3, 4, 5, math.Inf(1)}) {
		t.Fatal("finite is wrong")
	}
}
