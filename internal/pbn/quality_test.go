package pbn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/testutil"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
)

// datasetsDir holds the bundled datasets (see testdata/README.md); the
// reference-protocol benchmarks skip when it is missing.
const datasetsDir = "../../testdata"

// refCase is one dataset of the protocol in benchmarks/REFERENCE.md with the
// authors' tuned PBN hyperparameters.
type refCase struct {
	name          string
	novel         []string
	lr, w, drop   float64
	latent        int
	dropConstCols bool
	refACC        float64
}

var refCases = []refCase{
	{"letter", []string{"A", "D", "H", "M", "P", "V", "X"}, 6.142e-3, 0.8605, 0.0808, 13, false, 0.600},
	{"pendigits", []string{"0", "3", "5", "6", "7"}, 2.84e-3, 0.4606, 0.02538, 11, false, 0.819},
	{"optdigits", []string{"0", "3", "4", "5", "6"}, 8.756e-4, 0.0637, 0.08648, 58, true, 0.952},
}

func readCSV(tb testing.TB, path string) (x [][]float64, y []string) {
	X, y, _ := testutil.LoadCSV(tb, path)
	for i := 0; i < X.Rows; i++ {
		x = append(x, X.Row(i))
	}
	return x, y
}

// refData prepares the protocol's train dataset (known classes labelled,
// novel unlabelled, z-scored with all train rows; optdigits drops its
// constant train columns) and the test rows of the novel classes.
func refData(tb testing.TB, rc refCase) (*dataset.Dataset, linalg.Matrix, []string) {
	trX, trY := readCSV(tb, filepath.Join(datasetsDir, rc.name+"_train.csv"))
	teX, teY := readCSV(tb, filepath.Join(datasetsDir, rc.name+"_test.csv"))
	d := len(trX[0])
	mean, sd := make([]float64, d), make([]float64, d)
	for _, r := range trX {
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(trX))
	}
	for _, r := range trX {
		for j, v := range r {
			sd[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	var keep []int
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / float64(len(trX))) // numpy/sklearn: population sd
		if sd[j] > 0 || !rc.dropConstCols {
			keep = append(keep, j)
		}
		if sd[j] == 0 {
			sd[j] = 1 // sklearn StandardScaler leaves constant columns at 0
		}
	}
	scale := func(r []float64) []float64 {
		out := make([]float64, len(keep))
		for k, j := range keep {
			out[k] = (r[j] - mean[j]) / sd[j]
		}
		return out
	}
	isNovel := func(c string) bool { return slices.Contains(rc.novel, c) }
	var classes []string
	for _, c := range trY {
		if !isNovel(c) && !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	ds := &dataset.Dataset{X: linalg.New(len(trX), len(keep)), Classes: classes, Truth: trY}
	for i, r := range trX {
		copy(ds.X.Row(i), scale(r))
		k := dataset.Unlabeled
		if !isNovel(trY[i]) {
			k = slices.Index(classes, trY[i])
		}
		ds.Known = append(ds.Known, k)
	}
	var rows [][]float64
	var truth []string
	for i, r := range teX {
		if isNovel(teY[i]) {
			rows = append(rows, scale(r))
			truth = append(truth, teY[i])
		}
	}
	return ds, linalg.FromRows(rows), truth
}

// novelACC clusters the test-novel latent with k-means (k = number of novel
// classes, n_init 10) and returns the clustering accuracy.
func novelACC(tb testing.TB, z linalg.Matrix, truth []string, k int, seed uint64) float64 {
	res, err := cluster.KMeans(context.Background(), z, cluster.KMeansOptions{K: k, NInit: 10,
		Rng: rand.New(rand.NewPCG(seed, 99))})
	if err != nil {
		tb.Fatal(err)
	}
	pred := make([]string, len(res.Labels))
	for i, l := range res.Labels {
		pred[i] = strconv.Itoa(l)
	}
	return metrics.Accuracy(truth, pred)
}

// BenchmarkReference runs the reference protocol (REFERENCE.md) on letter,
// pendigits and optdigits: PBN with the authors' hyperparameters, 200
// epochs, then k-means on the test-novel latent. It reports the clustering
// accuracy in the latent before ("acc_raw") and after ("acc_l2") the L2
// normalization, averaged over b.N trainings (seeds 0..b.N-1), and the
// training wall and CPU time. Run it with
//
//	go test -run XXX -bench Reference -benchtime 5x -cpu 1 ./internal/pbn
//
// -cpu sets GOMAXPROCS; Threads follows it.
func BenchmarkReference(b *testing.B) {
	for _, rc := range refCases {
		for _, shuffle := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/shuffle=%v", rc.name, shuffle), func(b *testing.B) {
				ds, teX, truth := refData(b, rc)
				cfg := Config{Method: MethodPBN, LR: rc.lr, W: rc.w, Dropout: rc.drop, LatentDim: rc.latent,
					Epochs: 200, BatchSize: 512, Shuffle: shuffle, Threads: 0}
				var accRaw, accL2, secs, cpu float64
				runs := 0
				for b.Loop() {
					cfg.Seed = uint64(runs)
					start, c0 := time.Now(), cpuSeconds()
					m, err := Train(context.Background(), ds, cfg, nil)
					if err != nil {
						b.Fatal(err)
					}
					secs += time.Since(start).Seconds()
					cpu += cpuSeconds() - c0
					b.StopTimer()
					accRaw += novelACC(b, m.Embed(teX, false), truth, len(rc.novel), cfg.Seed)
					accL2 += novelACC(b, m.Embed(teX, true), truth, len(rc.novel), cfg.Seed)
					b.StartTimer()
					runs++
				}
				b.ReportMetric(accRaw/float64(runs), "acc_raw")
				b.ReportMetric(accL2/float64(runs), "acc_l2")
				b.ReportMetric(secs/float64(runs), "train_s")
				b.ReportMetric(cpu/float64(runs), "train_cpu_s")
			})
		}
	}
}

// TestPendigitsQuality runs the reference protocol on pendigits for one
// seed (about 1.5 s of CPU): the authors' tuned PBN, 200 epochs, k-means on
// the test-novel latent. Reference (REFERENCE.md): ACC .819 +- .008 over 3
// PyTorch trainings; this implementation gave .824-.826 over 5 seeds, so
// a drop below .80 means a regression, not bad luck.
func TestPendigitsQuality(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("200-epoch training: not in -short or -race runs")
	}
	rc := refCases[1]
	ds, teX, truth := refData(t, rc)
	cfg := Config{Method: MethodPBN, LR: rc.lr, W: rc.w, Dropout: rc.drop, LatentDim: rc.latent,
		Epochs: 200, BatchSize: 512, Seed: 1}
	m, err := Train(context.Background(), ds, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	acc := novelACC(t, m.Embed(teX, false), truth, len(rc.novel), 1)
	t.Logf("pendigits test-novel ACC %.4f", acc)
	if acc < 0.80 {
		t.Errorf("pendigits ACC %.4f, want >= 0.80 (reference .819)", acc)
	}
}
