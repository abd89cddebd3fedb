package tabularncd

import (
	"bytes"
	"context"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
)

func TestPseudoK(t *testing.T) {
	// [O] L39-42: int(256 * cosine_topk / 100) with batch 512.
	for _, c := range []struct {
		topk float64
		want int
	}{{5.609, 14}, {2.019, 5}, {15.015, 38}, {19.3, 49}, {0.1, 1}} {
		cfg := DefaultConfig()
		cfg.TopK = c.topk
		if got := cfg.PseudoK(); got != c.want {
			t.Errorf("TopK %g: PseudoK %d, want %d", c.topk, got, c.want)
		}
	}
}

func TestTopK(t *testing.T) {
	r := []float64{0.5, 0.9, 0.1, 0.9, -1, 0.7}
	if got := topK(r, 3, nil); !slices.Equal(got, []int{1, 3, 5}) {
		t.Errorf("topK = %v, want [1 3 5] (ties to the lower index)", got)
	}
	if got := topK(r, 6, nil); !slices.Equal(got, []int{1, 3, 5, 0, 2, 4}) {
		t.Errorf("full topK = %v", got)
	}
}

// TestPseudoTargetsByHand: 4 latents on a circle at 0, 10, 90 and 100
// degrees; with kpl = 1 each row's nearest is its 10-degree partner, so the
// positives are exactly the pairs (0,1) and (2,3).
func TestPseudoTargetsByHand(t *testing.T) {
	deg := []float64{0, 10, 90, 100}
	z := linalg.New(2, 4) // feature-major
	for j, a := range deg {
		z.Data[j] = 3 * math.Cos(a*math.Pi/180)
		z.Data[4+j] = 3 * math.Sin(a*math.Pi/180)
	}
	var ps pseudo
	tg := ps.targets(z, 1)
	for i := 0; i < 4; i++ {
		for j := i + 1; j < 4; j++ {
			want := 0.0
			if (i == 0 && j == 1) || (i == 2 && j == 3) {
				want = 1
			}
			if tg.At(i, j) != want {
				t.Errorf("t[%d][%d] = %g, want %g", i, j, tg.At(i, j), want)
			}
		}
	}
}

func TestPseudoTargetsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	d, n, kpl := 6, 40, 5
	z := randMatrix(rng, d, n, 1)
	// Shift away from the origin so that every cosine is > 0: no self hits.
	for j := 0; j < n; j++ {
		z.Data[j] += 10
	}
	var ps pseudo
	tg := ps.targets(z, kpl)
	T := tg.Clone()
	pos := 0
	for i := 0; i < n; i++ {
		row := 0
		for j := 0; j < n; j++ {
			v := T.At(i, j)
			if v != 0 && v != 1 {
				t.Fatalf("t[%d][%d] = %g, not binary", i, j, v)
			}
			if v != T.At(j, i) {
				t.Fatalf("t not symmetric at %d,%d", i, j)
			}
			if j != i && v == 1 {
				row++
				if j > i {
					pos++
				}
			}
		}
		if row < kpl {
			t.Errorf("row %d has %d positives, want >= %d", i, row, kpl)
		}
	}
	if pos < n*kpl/2 || pos > n*kpl {
		t.Errorf("%d positive pairs, want in [%d, %d]", pos, n*kpl/2, n*kpl)
	}
	// Rescaling z changes nothing; permuting its columns permutes t.
	z2 := z.Clone()
	for i := range z2.Data {
		z2.Data[i] *= 7.5
	}
	if got := ps.targets(z2, kpl); !slices.Equal(got.Data, T.Data) {
		t.Error("targets changed when z was rescaled")
	}
	perm := rng.Perm(n)
	zp := linalg.New(d, n)
	for f := 0; f < d; f++ {
		for j := 0; j < n; j++ {
			zp.Data[f*n+j] = z.Data[f*n+perm[j]]
		}
	}
	tp := ps.targets(zp, kpl)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j && tp.At(i, j) != T.At(perm[i], perm[j]) {
				t.Fatalf("permuted targets differ at %d,%d", i, j)
			}
		}
	}
}

// TestPseudoTargetsSelf: a row with fewer than kpl positive similarities
// takes its own (zeroed) entry, so it gets kpl-1 other positives.
func TestPseudoTargetsSelf(t *testing.T) {
	// Latents 0: (1,0); 1: (0.9, 0.1); 2..4: (-1, 0.1 j). Row 0's only
	// positive cosine is with row 1; with kpl = 2 it takes row 1 and itself.
	z := linalg.Matrix{Data: []float64{1, 0.9, -1, -1, -1, 0, 0.1, 0.2, 0.3, 0.4}, Rows: 2, Cols: 5}
	var ps pseudo
	tg := ps.targets(z, 2)
	if tg.At(0, 1) != 1 || tg.At(0, 2) != 0 || tg.At(0, 3) != 0 || tg.At(0, 4) != 0 {
		t.Errorf("row 0 targets %v, want only row 1", tg.Row(0))
	}
}

func TestQueueFIFO(t *testing.T) {
	q := newQueue(3, 2)
	push := func(vals ...float64) {
		m := linalg.New(len(vals), 2)
		for i, v := range vals {
			m.Data[2*i], m.Data[2*i+1] = v, -v
		}
		q.push(m)
	}
	push(1, 2)
	if got := q.ordered(); got.Rows != 2 || got.At(0, 0) != 1 || got.At(1, 0) != 2 {
		t.Fatalf("queue after 2 pushes: %v", got.Data)
	}
	push(3, 4, 5)
	got := q.ordered()
	if got.Rows != 3 || got.At(0, 0) != 3 || got.At(1, 0) != 4 || got.At(2, 0) != 5 || got.At(2, 1) != -5 {
		t.Fatalf("queue after 5 pushes = %v, want rows 3, 4, 5", got.Data)
	}
	if q.rows().Rows != 3 {
		t.Errorf("rows() holds %d rows, want 3", q.rows().Rows)
	}
}

func TestAugmentation(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 31))
	n, d := 50, 5
	x := randMatrix(rng, n, d, 1)
	for i := 0; i < n; i++ {
		x.Data[i*d] += 3 // all cosines > 0
	}
	mem := randMatrix(rng, 20, d, 1)
	a := augmenter{knb: 4}
	out := linalg.New(n, d)
	a.augment(x, mem, rand.New(rand.NewPCG(1, 2)), out)
	pool := linalg.New(n+20, d)
	copy(pool.Data, x.Data)
	copy(pool.Data[n*d:], mem.Data)
	for i := 0; i < n; i++ {
		// x' = x + u (nb - x) for one pool row nb != x and one u in [0,1]:
		// coordinate-wise between x and nb.
		found := false
		for p := 0; p < pool.Rows && !found; p++ {
			if p == i {
				continue
			}
			u := -1.0
			ok := true
			for j := 0; j < d; j++ {
				xv, nv, ov := x.At(i, j), pool.At(p, j), out.At(i, j)
				if ov < min(xv, nv)-1e-12 || ov > max(xv, nv)+1e-12 {
					ok = false
					break
				}
				if nv != xv {
					uj := (ov - xv) / (nv - xv)
					if u >= 0 && math.Abs(uj-u) > 1e-9 {
						ok = false
						break
					}
					u = uj
				}
			}
			found = ok && u >= 0 && u <= 1
		}
		if !found {
			t.Errorf("row %d: augmented row is not between x and another pool row", i)
		}
		if slices.Equal(out.Row(i), x.Row(i)) {
			t.Errorf("row %d: augmented from itself although other rows have similarity > 0", i)
		}
	}
}

// TestAugmentationNeighbours: with knb = 1 the neighbour is the most
// similar other row, found through the normalised product.
func TestAugmentationNeighbours(t *testing.T) {
	x := linalg.FromRows([][]float64{{1, 0}, {0, 1}, {10, 1}, {1, 10}})
	a := augmenter{knb: 1}
	out := linalg.New(4, 2)
	rng := rand.New(rand.NewPCG(5, 5))
	a.augment(x, linalg.Matrix{Cols: 2}, rng, out)
	// Row 0's nearest by cosine is row 2, row 1's row 3 and vice versa:
	// out lies on the segment to it.
	nbs := []int{2, 3, 0, 1}
	for i, nb := range nbs {
		xr, nr, or := x.Row(i), x.Row(nb), out.Row(i)
		u := (or[0] - xr[0]) / (nr[0] - xr[0])
		if u < 0 || u > 1 || math.Abs(xr[1]+u*(nr[1]-xr[1])-or[1]) > 1e-12 {
			t.Errorf("row %d: %v is not between %v and its nearest %v", i, or, xr, nr)
		}
	}
}

func TestAugmentationOneHot(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	n := 30
	x := linalg.New(n, 5) // 2 numeric columns, then a 3-level one-hot block
	for i := 0; i < n; i++ {
		r := x.Row(i)
		r[0], r[1] = rng.NormFloat64()+2, rng.NormFloat64()
		r[2+rng.IntN(3)] = 1
	}
	a := augmenter{knb: 5, groups: OneHotGroups([]string{"a", "b", "c=x", "c=y", "c=z"})}
	if len(a.groups) != 1 || !slices.Equal(a.groups[0], []int{2, 3, 4}) {
		t.Fatalf("groups %v", a.groups)
	}
	out := linalg.New(n, 5)
	a.augment(x, linalg.Matrix{Cols: 5}, rng, out)
	for i := 0; i < n; i++ {
		r := out.Row(i)
		s := r[2] + r[3] + r[4]
		if s != 1 || (r[2] != 0 && r[2] != 1) || (r[3] != 0 && r[3] != 1) {
			t.Errorf("row %d: one-hot block %v is not a level", i, r[2:])
		}
	}
}

func TestOneHotGroups(t *testing.T) {
	got := OneHotGroups([]string{"x", "col=a", "col=b", "y=1", "z=a", "z=b", "z=c", "w"})
	if len(got) != 2 || !slices.Equal(got[0], []int{1, 2}) || !slices.Equal(got[1], []int{4, 5, 6}) {
		t.Errorf("OneHotGroups = %v", got)
	}
}

func TestCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 51))
	n, d := 128, 40
	x := linalg.New(n, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Data[i*d+j] = float64(i*1000 + j) // each row's values are its own
		}
	}
	xt, mask := linalg.New(n, d), linalg.New(n, d)
	corrupt(x, 0.3, rng, xt, mask)
	changed := 0
	for i := 0; i < n; i++ {
		donor := -1
		for j := 0; j < d; j++ {
			v, m := xt.At(i, j), mask.At(i, j)
			if (v != x.At(i, j)) != (m == 1) {
				t.Fatalf("mask[%d][%d] = %g but x~ %s x", i, j, m, map[bool]string{true: "!=", false: "=="}[v != x.At(i, j)])
			}
			if m == 1 {
				changed++
				src := int(v) / 1000
				if int(v)%1000 != j {
					t.Fatalf("cell %d,%d took another column", i, j)
				}
				if donor >= 0 && src != donor {
					t.Fatalf("row %d: corrupted cells come from rows %d and %d, want one donor", i, donor, src)
				}
				donor = src
			}
		}
	}
	// The share is about p_m (less the rows whose donor is themselves):
	// binomial sd over 5120 cells is 0.0064.
	if share := float64(changed) / float64(n*d); share < 0.27 || share > 0.32 {
		t.Errorf("corrupted share %.3f, want ~0.3", share)
	}
}

// smallData is a synthetic NCD problem: 6 Gaussian classes in 8
// dimensions, 3 known (labelled) and 3 novel (unlabelled).
func smallData(seed uint64, perClass int) *dataset.Dataset { return dataD(seed, perClass, 8) }

func dataD(seed uint64, perClass, d int) *dataset.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	centers := randMatrix(rng, 6, d, 3)
	ds := &dataset.Dataset{X: linalg.New(6*perClass, d), Classes: []string{"a", "b", "c"}}
	for c := 0; c < 6; c++ {
		for i := 0; i < perClass; i++ {
			r := ds.X.Row(c*perClass + i)
			for j := range r {
				r[j] = centers.At(c, j) + rng.NormFloat64()
			}
			k := dataset.Unlabeled
			if c < 3 {
				k = c
			}
			ds.Known = append(ds.Known, k)
			ds.Truth = append(ds.Truth, string(rune('a'+c)))
		}
	}
	return ds
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Epochs, cfg.PretrainEpochs, cfg.BatchSize, cfg.PretrainBatch = 4, 3, 64, 32
	cfg.Dropout, cfg.KNeighbors, cfg.TopK, cfg.Memory = 0.1, 3, 20, 100
	cfg.LRClassif, cfg.LRCluster = 5e-3, 5e-3
	return cfg
}

// TestLabelMapping: the classification head has the known classes plus
// the unknown class at index C, which the unlabelled rows learn; the
// clustering head has width k.
func TestLabelMapping(t *testing.T) {
	ds := smallData(1, 60)
	cfg := smallConfig()
	cfg.Epochs = 15
	m, err := Train(context.Background(), ds, cfg, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dims != [3]int{8, 4, 4} || m.Classifier.Out != 4 || m.Clusterer.Out != 4 || m.K() != 4 {
		t.Fatalf("dims %v, heads %d and %d", m.Dims, m.Classifier.Out, m.Clusterer.Out)
	}
	pred := m.PredictKnown(ds.X)
	right := 0
	for i, y := range ds.Known {
		want := y
		if y == dataset.Unlabeled {
			want = 3
		}
		if pred[i] == want {
			right++
		}
	}
	if acc := float64(right) / float64(len(pred)); acc < 0.9 {
		t.Errorf("classification head accuracy %.3f on its training rows (unknown = index 3), want >= .9", acc)
	}
	if p := m.Probs(ds.X); p.Cols != 4 {
		t.Errorf("Probs has %d columns, want 4", p.Cols)
	}
}

// TestThreadsDeterminism: the same seed gives the same model, bit for bit,
// at 1 and 2 threads, for one network and an ensemble. The batches are big
// enough (512 unlabelled rows, 24 features) for the similarity products to
// be split across threads.
func TestThreadsDeterminism(t *testing.T) {
	ds := dataD(2, 250, 24)
	cfg := smallConfig()
	cfg.BatchSize, cfg.Memory, cfg.Epochs, cfg.PretrainEpochs = 1024, 2000, 2, 1
	var ref []*Model
	for _, threads := range []int{1, 2} {
		cfg.Threads = threads
		ms, err := PretrainEnsemble(context.Background(), ds, cfg, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := JointEnsemble(context.Background(), ms, ds, cfg, 3, nil); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = ms
			continue
		}
		for i := range ms {
			a, b := encode(t, ref[i]), encode(t, ms[i])
			if !bytes.Equal(a, b) {
				t.Errorf("member %d differs between 1 and 2 threads", i)
			}
		}
	}
	// Member 0 is Train with the seed itself.
	cfg.Threads = 2
	m, err := Train(context.Background(), ds, cfg, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, m), encode(t, ref[0])) {
		t.Error("ensemble member 0 differs from Train with the same seed")
	}
	if bytes.Equal(encode(t, ref[0]), encode(t, ref[1])) {
		t.Error("ensemble members are identical")
	}
}

func encode(t *testing.T, m *Model) []byte {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGobRoundTrip: a decoded model predicts exactly as the original.
func TestGobRoundTrip(t *testing.T) {
	ds := smallData(3, 40)
	m, err := Train(context.Background(), ds, smallConfig(), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back Model
	if err := gob.NewDecoder(bytes.NewReader(encode(t, m))).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Probs(ds.X).Data, m.Probs(ds.X).Data) {
		t.Error("decoded model gives other probabilities")
	}
}

func TestBadInput(t *testing.T) {
	ds := smallData(4, 20)
	cfg := smallConfig()
	for name, mod := range map[string]func(*Config){
		"lr":         func(c *Config) { c.LRClassif = 0 },
		"topk":       func(c *Config) { c.TopK = 0 },
		"knb":        func(c *Config) { c.KNeighbors = 0 },
		"w1":         func(c *Config) { c.W1 = 1.5 },
		"dropout":    func(c *Config) { c.Dropout = 1 },
		"activation": func(c *Config) { c.Activation = "tanh" },
		"batch":      func(c *Config) { c.BatchSize = 1 },
	} {
		c := cfg
		mod(&c)
		if _, err := Train(context.Background(), ds, c, 3, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Train(context.Background(), ds, cfg, 0, nil); err == nil {
		t.Error("k = 0: no error")
	}
	nan := smallData(4, 20)
	nan.X.Data[5] = math.NaN()
	if _, err := Train(context.Background(), nan, cfg, 3, nil); err == nil {
		t.Error("NaN feature: no error")
	}
	allKnown := smallData(4, 20)
	for i := range allKnown.Known {
		allKnown.Known[i] = 0
	}
	if _, err := Train(context.Background(), allKnown, cfg, 3, nil); err == nil {
		t.Error("no unlabelled rows: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, ds, cfg, 3, nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

// TestLatentNormalized: the normalized latent is the raw one over its norm.
func TestLatentNormalized(t *testing.T) {
	m := testModel(4, 2, 2, ActReLU, 0, 60)
	X := randMatrix(rand.New(rand.NewPCG(61, 62)), 5, 4, 1)
	raw, nrm := m.Latent(X, false), m.Latent(X, true)
	for i := 0; i < 5; i++ {
		s := math.Sqrt(linalg.SqDistRows(raw.Row(i), make([]float64, 4)))
		for j := 0; j < 4; j++ {
			if math.Abs(nrm.At(i, j)-raw.At(i, j)/s) > 1e-15 {
				t.Fatalf("row %d not normalized", i)
			}
		}
	}
}
