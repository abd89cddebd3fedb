package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/chart"
	ncdio "github.com/ncd-project/ncd/internal/io"
)

// signalContext is cancelled on Ctrl-C / SIGTERM so long work stops cleanly
// (and no partial output file is left behind).
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// newRand is the one place a command turns --seed into a random source.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6e6364)) // "ncd"
}

// checkOutPath rejects, before any work is done, a predictions path whose
// format is unknown or that could not be written (see checkWritable). A
// device or pipe (/dev/null, /dev/stdout) is a sink that gets CSV.
func checkOutPath(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if !atomicfile.IsSink(path) {
		if _, err := ncdio.FormatOf(path); err != nil {
			return err
		}
	}
	return checkWritable(path)
}

// checkPlotPath refuses, before any work, a --plot path ("" = no plot) in an
// unknown format or one that could not be written.
func checkPlotPath(path string) error {
	if path == "" {
		return nil
	}
	if err := chart.CheckPath(path); err != nil {
		return err
	}
	return checkWritable(path)
}

// checkWritable fails early, in well under a second, when path could not be
// written after minutes of work: its folder is missing, it is a folder, or
// creating (and removing) a probe file in its folder fails (read-only
// folder or file system). "" (no file asked for) passes.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	return atomicfile.CheckWritable(path)
}

// emitPredictions writes the predictions to --out, or as CSV to stdout when
// there is no --out and stdout is not taken by --json.
func emitPredictions(app *App, c common, out string, t *ncdio.Table, names []string, unl []bool) error {
	if out == "" || out == "-" {
		if c.JSON {
			return nil
		}
		tt := t.ShallowCopy()
		tt.AppendText("cluster", names)
		tt.AppendBool("unlabeled", unl)
		return ncdio.WriteTo(app.Stdout, tt, ncdio.CSV)
	}
	return writePredictions(out, t, names, unl)
}

// formatSizes prints "novel_0:120 novel_1:98 ..." in name order.
func formatSizes(sizes map[string]int) string {
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, sizes[k])
	}
	return strings.Join(parts, " ")
}

// outputPath names the file predictions are made for.
func (in *inputs) outputPath() string {
	if in.Test != nil {
		return in.TestPath
	}
	return in.DataPath
}
