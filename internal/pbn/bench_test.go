package pbn

import (
	"context"
	"fmt"
	"testing"

	"github.com/ncd-project/ncd/internal/nn"
)

// benchTrain trains b.N times and reports, besides wall time per op, the
// process CPU seconds per op ("cpu_s"): with one thread on a loaded shared
// machine that is the better estimate of the idle-machine time.
func benchTrain(b *testing.B, train func() error) (cpuPerOp float64) {
	b.Helper()
	c0 := cpuSeconds()
	for b.Loop() {
		if err := train(); err != nil {
			b.Fatal(err)
		}
	}
	cpuPerOp = (cpuSeconds() - c0) / float64(b.N)
	b.ReportMetric(cpuPerOp, "cpu_s")
	return cpuPerOp
}

// BenchmarkTrainLetter times 20 epochs of PBN on letter's 14000 x 16 train
// table with the reference hyperparameters (x10 for the 200-epoch figure).
// -cpu sets GOMAXPROCS; Threads follows it.
func BenchmarkTrainLetter(b *testing.B) {
	ds, _, _ := refData(b, refCases[0])
	rc := refCases[0]
	cfg := Config{Method: MethodPBN, LR: rc.lr, W: rc.w, Dropout: rc.drop, LatentDim: rc.latent,
		Epochs: 20, BatchSize: 512}
	benchTrain(b, func() error { _, err := Train(context.Background(), ds, cfg, nil); return err })
}

// BenchmarkTrainOptdigits times 20 epochs on optdigits (3823 x 62,
// 62 -> 46 -> 31 -> 58) with the reference hyperparameters.
func BenchmarkTrainOptdigits(b *testing.B) {
	rc := refCases[2]
	ds, _, _ := refData(b, rc)
	cfg := Config{Method: MethodPBN, LR: rc.lr, W: rc.w, Dropout: rc.drop, LatentDim: rc.latent,
		Epochs: 20, BatchSize: 512}
	benchTrain(b, func() error { _, err := Train(context.Background(), ds, cfg, nil); return err })
}

// BenchmarkTrainWide times 1 epoch of PBN on a generated 7000 x 784 table
// (784 -> 588 -> 392 -> 32, issue 14's wide case), where the matrix
// products dominate, with float32 products on the wide layers (the
// default on AVX-512) and in float64 (/f64). GFLOP/s counts 2 flops per
// multiply-add of the layer products (forward, weight and input gradients;
// the first layer has no input gradient) over the wall time, and
// cpu_GFLOP/s over the CPU time (the better estimate on a loaded machine).
func BenchmarkTrainWide(b *testing.B) {
	const n, d = 7000, 784
	ds := blobs(1, n, d, 10, 5)
	cfg := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, Dropout: 0.1, LatentDim: 32, Epochs: 1, BatchSize: 512}
	h1, h2, lat := 3*d/4, d/2, cfg.LatentDim
	macs := 3*(2*d*h1+2*h1*h2+2*h2*lat) - d*h1 // per row, classifier left out
	for _, f32 := range []bool{true, false} {
		name := "f32"
		if !f32 {
			name = "f64"
		}
		b.Run(name, func(b *testing.B) {
			saved := nn.Float32
			nn.Float32 = f32
			defer func() { nn.Float32 = saved }()
			cpu := benchTrain(b, func() error { _, err := Train(context.Background(), ds, cfg, nil); return err })
			b.ReportMetric(2*float64(macs*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(2*float64(macs*n)/cpu/1e9, "cpu_GFLOP/s")
		})
	}
}

// BenchmarkTrainWideEpoch separates BenchmarkTrainWide's epoch from the
// work a training does once (the network's setup, the data's transposes
// and checks, first-touch page faults): it trains 1 and 6 epochs and
// reports the CPU seconds of one more epoch (epoch_cpu_s, the difference
// over 5) and of the once-only part (setup_cpu_s), float32 products.
func BenchmarkTrainWideEpoch(b *testing.B) {
	const n, d = 7000, 784
	ds := blobs(1, n, d, 10, 5)
	var cpu [2]float64
	for i, epochs := range []int{1, 6} {
		cfg := Config{Method: MethodPBN, LR: 1e-3, W: 0.5, Dropout: 0.1, LatentDim: 32, Epochs: epochs, BatchSize: 512}
		b.Run(fmt.Sprintf("epochs%d", epochs), func(b *testing.B) {
			cpu[i] = benchTrain(b, func() error { _, err := Train(context.Background(), ds, cfg, nil); return err })
			if i == 1 {
				per := (cpu[1] - cpu[0]) / 5
				b.ReportMetric(per, "epoch_cpu_s")
				b.ReportMetric(cpu[0]-per, "setup_cpu_s")
			}
		})
	}
}

// BenchmarkEnsembleLetter times fit's default ensemble (8 networks) for 20
// epochs on letter: with -cpu 2 two members train side by side, one thread
// each; compare with 8 x BenchmarkTrainLetter.
func BenchmarkEnsembleLetter(b *testing.B) {
	ds, _, _ := refData(b, refCases[0])
	rc := refCases[0]
	cfg := Config{Method: MethodPBN, LR: rc.lr, W: rc.w, Dropout: rc.drop, LatentDim: rc.latent,
		Epochs: 20, BatchSize: 512}
	benchTrain(b, func() error { _, err := TrainEnsemble(context.Background(), ds, cfg, 8, nil); return err })
}
