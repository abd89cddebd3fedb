package tabularncd

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/testutil"
)

// refCase is one dataset of the reference protocol with [O]'s tuned values
// (data/*/hyperparameters.json; spec section 5).
type refCase struct {
	name  string
	novel []string
	cfg   func() Config
}

func tuned(lrCls, lrClu, topk float64, knb int, w1, w2, drop float64, act string) func() Config {
	return func() Config {
		c := DefaultConfig()
		c.LRClassif, c.LRCluster, c.TopK, c.KNeighbors = lrCls, lrClu, topk, knb
		c.W1, c.W2, c.Dropout, c.Activation = w1, w2, drop, act
		return c
	}
}

var refCases = []refCase{
	{"pendigits", []string{"0", "3", "5", "6", "7"}, tuned(6.359e-3, 9.585e-3, 5.609, 10, .797, .8, .01652, ActReLU)},
	{"letter", []string{"A", "D", "H", "M", "P", "V", "X"}, tuned(9.906e-3, 7.467e-3, 2.019, 6, .4887, .935, .07537, ActReLU)},
	// [O] has no optdigits values: [P]'s (GT k) mapped onto [O]'s
	// hyperparameters (its single lr for both; top_k .6738 gives [P]'s
	// k_pl = int(.006738 * 256) = 1).
	{"optdigits", []string{"0", "3", "4", "5", "6"}, tuned(3.927e-3, 3.927e-3, .6738, 2, .9967, .8863, .03493, ActReLU)},
}

// refData prepares the protocol's train dataset (known classes labelled,
// novel unlabelled, z-scored with the train rows' statistics) and the test
// rows of the novel classes with their labels.
func refData(tb testing.TB, rc refCase) (*dataset.Dataset, linalg.Matrix, []string) {
	trX, trY, _ := testutil.LoadCSV(tb, testutil.Data(rc.name+"_train.csv"))
	teX, teY, _ := testutil.LoadCSV(tb, testutil.Data(rc.name+"_test.csv"))
	mean, sd := testutil.ColStats(trX)
	for j := range sd {
		if sd[j] == 0 {
			sd[j] = 1
		}
	}
	testutil.Standardize(trX, mean, sd)
	testutil.Standardize(teX, mean, sd)
	isNovel := func(c string) bool { return slices.Contains(rc.novel, c) }
	var classes []string
	for _, c := range trY {
		if !isNovel(c) && !slices.Contains(classes, c) {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	ds := &dataset.Dataset{X: trX, Classes: classes, Truth: trY}
	for _, c := range trY {
		k := dataset.Unlabeled
		if !isNovel(c) {
			k = slices.Index(classes, c)
		}
		ds.Known = append(ds.Known, k)
	}
	var rows []int
	var truth []string
	for i, c := range teY {
		if isNovel(c) {
			rows = append(rows, i)
			truth = append(truth, c)
		}
	}
	return ds, teX.Select(rows), truth
}

func accuracy(m *Model, X linalg.Matrix, truth []string) float64 {
	pred := make([]string, X.Rows)
	for i, l := range m.Predict(X) {
		pred[i] = strconv.Itoa(l)
	}
	return metrics.Accuracy(truth, pred)
}

// BenchmarkReference trains TabularNCD with [O]'s tuned values on the
// reference protocol (30 pretraining and 30 joint epochs, true k) and
// reports the test-novel ACC of the clustering head's argmax and the
// training time, over seeds 0..b.N-1:
//
//	go test -run XXX -bench Reference -benchtime 3x -cpu 2 ./internal/tabularncd
func BenchmarkReference(b *testing.B) {
	for _, rc := range refCases {
		b.Run(rc.name, func(b *testing.B) {
			ds, teX, truth := refData(b, rc)
			cfg := rc.cfg()
			acc, secs := 0.0, 0.0
			runs := 0
			for b.Loop() {
				cfg.Seed = uint64(runs)
				start := time.Now()
				m, err := Train(context.Background(), ds, cfg, len(rc.novel), nil)
				if err != nil {
					b.Fatal(err)
				}
				secs += time.Since(start).Seconds()
				a := accuracy(m, teX, truth)
				b.Logf("seed %d: ACC %.4f", runs, a)
				acc += a
				runs++
			}
			b.ReportMetric(acc/float64(runs), "acc")
			b.ReportMetric(secs/float64(runs), "train_s")
		})
	}
}

// TestPendigitsQuality runs the reference protocol on pendigits for one
// seed with [O]'s tuned values (30 + 30 epochs, true k, argmax of the
// clustering head on the test novel rows). [O] on this machine kind gave
// .865, .857 and .837; this implementation .851, .856 and .851 (seeds
// 0-2), so below .82 is a regression, not bad luck.
func TestPendigitsQuality(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("full training: not in -short or -race runs")
	}
	rc := refCases[0]
	ds, teX, truth := refData(t, rc)
	cfg := rc.cfg()
	m, err := Train(context.Background(), ds, cfg, len(rc.novel), nil)
	if err != nil {
		t.Fatal(err)
	}
	acc := accuracy(m, teX, truth)
	t.Logf("pendigits test-novel ACC %.4f", acc)
	if acc < 0.82 {
		t.Errorf("pendigits ACC %.4f, want >= .82 ([O]: .837-.865)", acc)
	}
}
