package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/assign"
	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/model"
)

// streamMemoryLimit is the Go heap's soft limit while streaming (unless
// GOMEMLIMIT is set).
const streamMemoryLimit = 512 << 20

// streamSummary is the --json "stream" object of a streamed assignment.
type streamSummary struct {
	Chunks     int     `json:"chunks"`
	Passes     int     `json:"passes"` // more than 1 when a column's kind widened mid-file
	RowsPerSec float64 `json:"rows_per_second"`
}

// streamAssign runs cluster --model chunk by chunk (internal/assign) when
// it can: --data a regular file, --out a file, a model without
// --unlabel-known, --stream not false and no --report (the report explains
// the whole table, so it is loaded). ok false means: use the
// in-memory path (also when the input turned out to need it).
func streamAssign(ctx context.Context, app *App, v *viper.Viper, c common, out string) (ok bool, err error) {
	data := v.GetString("data")
	if !v.GetBool("stream") || v.GetString("report") != "" || data == "" || data == "-" || out == "" || out == "-" || atomicfile.IsSink(out) {
		return false, nil
	}
	if st, err := os.Stat(data); err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	m, err := model.Load(v.GetString("model"))
	if err != nil {
		return false, err
	}
	if !assign.Streamable(m) {
		return false, nil
	}
	ro, err := readOptions(v, m.Prep.Roles.Target, m.Prep.Roles.ID)
	if err != nil {
		return false, err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The chunks in flight hold about 200 MB; without a limit the
		// collector lets the heap grow to several times that between
		// cycles on a busy machine.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(streamMemoryLimit))
	}
	t0 := time.Now()
	bar := app.newProgress(c, 1000, "assigning")
	s, err := assign.Run(ctx, m, assign.Options{
		Data: data, Out: out, Read: ro, AssignKnown: v.GetBool("assign-known"), Threads: c.Threads,
		Progress: func(rows int, done, total int64) {
			if total > 0 {
				bar.Set(int(1000 * done / total))
			}
			bar.Describe(fmt.Sprintf("assigning: %d rows, %.0f rows/s", rows, float64(rows)/time.Since(t0).Seconds()))
		},
	})
	bar.Finish()
	if errors.Is(err, assign.ErrNeedsTable) {
		return false, nil
	}
	if err != nil {
		return true, modelMismatch(v.GetString("model"), err)
	}
	secs := time.Since(t0).Seconds()
	res := clusterResult{Method: "model", K: m.K, KEstimated: m.KEstimated, Rows: s.Rows, Clustered: s.Clustered, Features: s.Features,
		Sizes: s.Sizes, Inertia: s.Inertia, Out: out, ModelApplied: v.GetString("model"),
		Seconds: map[string]float64{"total": secs},
		Stream:  &streamSummary{Chunks: s.Chunks, Passes: s.Passes, RowsPerSec: float64(s.Rows) / secs}}
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return true, writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "model %s: %d unlabeled rows assigned (k=%d)\nsizes: %s\n", res.ModelApplied, s.Clustered, m.K, formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "streamed: %d rows in %d chunks, %.0f rows/s\n", s.Rows, s.Chunks, res.Stream.RowsPerSec)
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, nil))
	}
	return true, nil
}
