package main

import (
	"context"
	"fmt"
	"github.com/ncd-project/ncd/internal/chart"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/usererr"
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

// checkOutPath rejects an output path whose format or folder is wrong before
// any work is done.
func checkOutPath(path string) error {
	if path == "" || path == "-" {
		return nil
	}
	if _, err := ncdio.FormatOf(path); err != nil {
		return err
	}
	return checkFolder(path)
}

// checkPlotPath refuses, before any work, a --plot path ("" = no plot) in an
// unknown format or a missing folder.
func checkPlotPath(path string) error {
	if path == "" {
		return nil
	}
	if err := chart.CheckPath(path); err != nil {
		return err
	}
	return checkFolder(path)
}

// checkFolder fails early when path's folder does not exist.
func checkFolder(path string) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &usererr.Error{File: path, Msg: fmt.Sprintf("folder %s does not exist", dir)}
	}
	return nil
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
