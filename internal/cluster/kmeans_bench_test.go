package cluster

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/testutil"
)

// The reference protocol (REFERENCE.md): fit on the z-scored train-novel rows
// with the true number of novel classes, n_init 10; the reference NCD k-means
// fit takes 0.19 / 0.08 / 0.06 s at 1 thread on letter / pendigits / optdigits.
var refSets = []struct {
	name string
	k    int
}{{"letter", 7}, {"pendigits", 5}, {"optdigits", 5}}

// BenchmarkKMeansRef times KMeans on the train-novel rows and reports the
// inertia and the ACC of the predicted test-novel rows (reference ACC:
// .519 / .817 / .783).
func BenchmarkKMeansRef(b *testing.B) {
	for _, ds := range refSets {
		sp := refSplit(b, ds.name)
		for _, algo := range []string{AlgoAuto, AlgoLloyd, AlgoHamerly, AlgoElkan} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", ds.name, algo, th), func(b *testing.B) {
					var fits []*Result
					seed := uint64(0)
					cm := startCPU()
					for b.Loop() {
						res, err := KMeans(context.Background(), sp.trainNovel, KMeansOptions{K: ds.k, Rng: rng(seed), Threads: th, Algorithm: algo})
						if err != nil {
							b.Fatal(err)
						}
						fits = append(fits, res)
						seed++
					}
					cm.report(b)
					acc, inertia := 0.0, 0.0
					for _, res := range fits {
						pred, _ := Assign(sp.testNovel, res.Centroids, th)
						acc += clusterAccuracy(sp.testTruth, pred) / float64(len(fits))
						inertia += res.Inertia / float64(len(fits))
					}
					b.ReportMetric(inertia, "mean-inertia")
					b.ReportMetric(acc, "mean-ACC")
				})
			}
		}
	}
}

// BenchmarkNCDKMeansRef is BenchmarkKMeansRef for NCD k-means with the
// train-known class means as fixed centroids, in both variants (reference
// ACC: .525 / .817 / .954).
func BenchmarkNCDKMeansRef(b *testing.B) {
	for _, ds := range refSets {
		sp := refSplit(b, ds.name)
		for _, variant := range []string{NCDSquared, NCDReference, NCDInertia} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", ds.name, variant, th), func(b *testing.B) {
					var fits []*NCDResult
					seed := uint64(0)
					cm := startCPU()
					for b.Loop() {
						res, err := NCDKMeans(context.Background(), sp.trainNovel, sp.knownMeans, NCDKMeansOptions{
							KMeansOptions: KMeansOptions{K: ds.k, Rng: rng(seed), Threads: th}, Variant: variant})
						if err != nil {
							b.Fatal(err)
						}
						fits = append(fits, res)
						seed++
					}
					cm.report(b)
					acc, inertia := 0.0, 0.0
					for _, res := range fits {
						pred, _, _ := res.Assign(sp.testNovel, th)
						acc += clusterAccuracy(sp.testTruth, pred) / float64(len(fits))
						inertia += res.Inertia / float64(len(fits))
					}
					b.ReportMetric(inertia, "mean-inertia")
					b.ReportMetric(acc, "mean-ACC")
				})
			}
		}
	}
}

// BenchmarkAlgo compares Lloyd and Hamerly over shapes, to set autoAlgorithm.
func BenchmarkAlgo(b *testing.B) {
	for _, sh := range []struct{ n, d, k int }{
		{4000, 16, 3}, {4000, 16, 7}, {20000, 16, 26}, {4000, 64, 5}, {4000, 64, 30}, {2000, 128, 10}, {3000, 500, 7},
	} {
		X := blobs(sh.n, sh.d, sh.k+3, 6, 1)
		for _, algo := range []string{AlgoLloyd, AlgoHamerly, AlgoElkan} {
			b.Run(fmt.Sprintf("n=%d/d=%d/k=%d/%s", sh.n, sh.d, sh.k, algo), func(b *testing.B) {
				var res *Result
				cm := startCPU()
				for b.Loop() {
					var err error
					res, err = KMeans(context.Background(), X, KMeansOptions{K: sh.k, NInit: 2, Rng: rng(1), Threads: 1, Algorithm: algo, Breathe: -1})
					if err != nil {
						b.Fatal(err)
					}
				}
				cm.report(b)
				b.ReportMetric(float64(res.Iter), "iter")
			})
		}
	}
}

// BenchmarkLetter26 is the quality check at full size: letter.csv
// z-scored, k = 26, n_init 10, with and without breathing.
func BenchmarkLetter26(b *testing.B) {
	X, _ := loadCSV(b, "letter.csv")
	m, s := testutil.ColStats(X)
	testutil.Standardize(X, m, s)
	for _, algo := range []string{AlgoLloyd, AlgoHamerly, AlgoElkan} {
		for _, br := range []int{-1, 0} {
			for _, th := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/breathe=%d/threads=%d", algo, br, th), func(b *testing.B) {
					var res *Result
					seed := uint64(0)
					cm := startCPU()
					for b.Loop() {
						var err error
						res, err = KMeans(context.Background(), X, KMeansOptions{K: 26, Rng: rng(seed), Threads: th, Algorithm: algo, Breathe: br})
						if err != nil {
							b.Fatal(err)
						}
						seed++
					}
					cm.report(b)
					b.ReportMetric(res.Inertia, "inertia")
				})
			}
		}
	}
}

// BenchmarkAssign times predicting 20000 rows.
func BenchmarkAssign(b *testing.B) {
	X := blobs(20000, 16, 26, 3, 1)
	C := blobs(26, 16, 26, 3, 2)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			cm := startCPU()
			for b.Loop() {
				Assign(X, C, th)
			}
			cm.report(b)
		})
	}
}

var _ = linalg.New

// cpuTime is the process's user+system CPU time. The machine is shared, so
// wall-clock ns/op swings with other people's load; CPU seconds per op are a
// steadier basis for comparing variants (for Threads 1 they are the work itself).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports CPU milliseconds per op as a benchmark metric.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-m.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
