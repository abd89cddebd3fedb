package estimate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/par"
)

// letterNovel is letter_train's novel rows (A D H M P V X), z-scored with
// all-train statistics: 3832 x 16.
func letterNovel(tb testing.TB) linalg.Matrix {
	X, y, _ := loadCSV(tb, "letter_train.csv")
	Z, _ := novelZ(X, y, "ADHMPVX", false)
	return Z
}

// randomLabelings returns runs random labellings for each k in [2, 30]
// (87 for runs = 3), all distinct partitions far from each other.
func randomLabelings(n, runs int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]int
	for k := 2; k <= 30; k++ {
		for r := 0; r < runs; r++ {
			l := make([]int, n)
			for i := range l {
				l[i] = rng.IntN(k)
			}
			out = append(out, l)
		}
	}
	return out
}

var (
	kmLabOnce sync.Once
	kmLab     [][]int
)

// kmeansLabelings are the 87 partitions of a default scan of letter's novel
// rows (k = 2..30, 3 runs of 10 k-means++ restarts), as Scan scores them.
func kmeansLabelings(b *testing.B, X linalg.Matrix) [][]int {
	kmLabOnce.Do(func() {
		cl := KMeansClusterer(10)
		rng := rand.New(rand.NewPCG(1, 0))
		seeds := make([]uint64, 87)
		for i := range seeds {
			seeds[i] = rng.Uint64()
		}
		kmLab = make([][]int, 87)
		par.Each(0, 87, func(t int) {
			l, _, err := cl(context.Background(), X, 2+t/3, seeds[t], 1)
			if err != nil {
				panic(err)
			}
			kmLab[t] = l
		})
	})
	return kmLab
}

// BenchmarkSilhouetteMany scores 87 labellings (k = 2..30, 3 each) of
// letter's 3832 novel rows in one pass. "random": unrelated random
// labellings, the worst case (3832^2 * 87 = 1.28e9 additions); "kmeans": the
// partitions of a real scan, where restarts that agree are scored as
// corrections of each other.
func BenchmarkSilhouetteMany(b *testing.B) {
	X := letterNovel(b)
	sets := map[string][][]int{"random": randomLabelings(X.Rows, 3, 7)}
	for _, name := range []string{"random", "kmeans"} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", name, th), func(b *testing.B) {
				labs := sets[name]
				if labs == nil {
					labs = kmeansLabelings(b, X)
					b.ResetTimer()
				}
				start := cpuTime()
				for i := 0; i < b.N; i++ {
					SilhouetteMany(X, labs, th)
				}
				reportCPU(b, start)
			})
		}
	}
}

// BenchmarkScanLetter is the full default scan (k = 2..30, 3 runs x 10
// k-means++ restarts per k, silhouette) on letter's novel rows; scikit-learn
// 1.2 takes 21.4 s for the same at 1 thread. Reports the chosen k.
func BenchmarkScanLetter(b *testing.B) {
	X := letterNovel(b)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			var c *Curve
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				var err error
				if c, err = Scan(context.Background(), X, ScanOptions{Threads: th, Seed: 0}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
			b.ReportMetric(float64(c.K), "k")
		})
	}
}

// BenchmarkScanKMeans is the k-means part of BenchmarkScanLetter alone: the
// 87 clusterings (k = 2..30, 3 runs x 10 restarts) a default scan of
// letter's novel rows runs, one thread, without the validity indices.
func BenchmarkScanKMeans(b *testing.B) {
	X := letterNovel(b)
	cl := KMeansClusterer(10)
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		rng := rand.New(rand.NewPCG(0, 0x7363616e))
		for t := 0; t < 87; t++ {
			if _, _, err := cl(context.Background(), X, 2+t/3, rng.Uint64(), 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, start)
}

// BenchmarkScanNovel runs the default silhouette scan on the raw z-scored
// train-novel rows of letter, pendigits and optdigits (true 7, 5, 5;
// scikit-learn found 30, 5, 9) and reports the chosen k.
func BenchmarkScanNovel(b *testing.B) {
	for _, name := range []string{"letter_novel", "pendigits_novel", "optdigits_novel"} {
		b.Run(name, func(b *testing.B) {
			X := refData(b, name).X
			b.ResetTimer()
			var c *Curve
			for i := 0; i < b.N; i++ {
				var err error
				if c, err = Scan(context.Background(), X, ScanOptions{Seed: 0}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.K), "k")
			b.Logf("%s: k=%d silhouette %v", name, c.K, c.Scores[IndexSilhouette])
		})
	}
}

// cpuTime returns the process's user + system CPU time. The machine is
// shared, so wall time overstates cost; benchmarks also report CPU time per
// op ("cpu-s/op"), which at 1 thread is the work done.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU seconds per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}

// peakRSS returns the process's peak resident set size in MB (VmHWM), or 0.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkScan50k is a default silhouette scan of all 50,000 rows (10
// Gaussian blobs in 16 dimensions; sampling off). Silhouette never holds
// the 50,000^2 distances: reports the peak Go heap (sampled at every
// progress step) and peak RSS.
func BenchmarkScan50k(b *testing.B) {
	X, _ := blobs(10, 5000, 16, 3, 1, 11)
	var peakHeap uint64
	var ms runtime.MemStats
	var c *Curve
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		var err error
		c, err = Scan(context.Background(), X, ScanOptions{Seed: 1, SampleRows: -1, Progress: func(done, total int) {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
	b.ReportMetric(float64(c.K), "k")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MB-peak-heap")
	b.ReportMetric(peakRSS(), "MB-peak-RSS")
}

// BenchmarkScanSampled is the default scan (k = 2..30, 3 runs x 10
// restarts, silhouette, 1se) of 4 Gaussian classes in 20 dimensions (centres
// N(0, 3^2), unit spread: well separated, as internal/gentable writes them)
// at 33,000, 100,000 and 1,000,000 rows, where it runs on a stratified
// sample of DefaultSampleRows rows. Reports the CPU time per scan, the k
// found (4), the silhouette's sampling error at that k and the peak RSS
// (which includes X: 160 MB at a million rows).
func BenchmarkScanSampled(b *testing.B) {
	for _, n := range []int{33000, 100000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			X, _ := blobs(4, n/4, 20, 3, 1, 13)
			b.ResetTimer()
			var c *Curve
			start := cpuTime()
			for i := 0; i < b.N; i++ {
				var err error
				if c, err = Scan(context.Background(), X, ScanOptions{Seed: 0, Rule: RuleOneSE}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
			b.ReportMetric(float64(c.K), "k")
			b.ReportMetric(c.Sample.SilhouetteSE[c.K-c.Ks[0]], "se@k")
			b.ReportMetric(peakRSS(), "MB-peak-RSS")
		})
	}
}

// BenchmarkKnownACCSearch runs the known-class accuracy search on a whole
// training file (known classes labelled, novel rows unlabelled, z-scored)
// and reports the estimated number of novel classes (true: letter 7,
// pendigits 5, optdigits 5) and the number of k evaluated.
func BenchmarkKnownACCSearch(b *testing.B) {
	for _, ds := range []struct{ file, novel string }{
		{"pendigits_train.csv", "03567"},
		{"optdigits_train.csv", "03456"},
		{"letter_train.csv", "ADHMPVX"},
	} {
		b.Run(strings.TrimSuffix(ds.file, "_train.csv"), func(b *testing.B) {
			X, y, _ := loadCSV(b, ds.file)
			// z-score every row (no novel filter: all classes count as "novel" here).
			all := map[string]bool{}
			for _, c := range y {
				all[c] = true
			}
			var every string
			for c := range all {
				every += c
			}
			if len(every) != len(all) {
				b.Fatal("multi-character class names")
			}
			Z, ys := novelZ(X, y, every, strings.HasPrefix(ds.file, "optdigits"))
			isNovel := map[string]bool{}
			for _, c := range ds.novel {
				isNovel[string(c)] = true
			}
			idx := map[string]int{}
			known := make([]int, len(ys))
			for i, c := range ys {
				known[i] = -1
				if !isNovel[c] {
					if _, ok := idx[c]; !ok {
						idx[c] = len(idx)
					}
					known[i] = idx[c]
				}
			}
			b.ResetTimer()
			start := cpuTime()
			var r *KnownResult
			for i := 0; i < b.N; i++ {
				var err error
				if r, err = KnownACCSearch(context.Background(), Z, known, KnownOptions{Seed: 0}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
			b.ReportMetric(float64(r.Novel), "novel")
			b.ReportMetric(float64(len(r.Evaluated)), "evaluated")
			b.Logf("%+v", r.Evaluated)
		})
	}
}
