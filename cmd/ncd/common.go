package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/chart"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

// interruption is the cancel cause of a command's context when SIGINT
// (Ctrl-C) or SIGTERM arrived.
type interruption struct{ sig os.Signal }

func (i *interruption) Error() string {
	if i.sig == syscall.SIGTERM {
		return "interrupted by SIGTERM"
	}
	return "interrupted"
}

// exitCode is the shell's convention for a process stopped by a signal,
// 128 + its number: 130 for SIGINT, 143 for SIGTERM.
func (i *interruption) exitCode() int {
	if s, ok := i.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

// interruptNote lets a command say, in the one line an interrupted run
// prints, what it kept ("3 finished trials are saved in ...").
type interruptNote struct{ msg string }

func (n *interruptNote) Error() string { return n.msg }

// signalContext is cancelled on SIGINT / SIGTERM so long work stops cleanly
// (and no partial output file is left behind); its cause is then an
// *interruption. After the first signal the default handling is back, so a
// second Ctrl-C stops the process at once.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(&interruption{sig: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

// interrupted turns the error of a command whose context a signal cancelled
// into the one line it prints ("ncd: interrupted", or with the command's
// note) and the exit code 128 + signal; any other error, and success (a run
// that finished its outputs before it noticed the signal), pass unchanged.
func interrupted(ctx context.Context, err error) error {
	var intr *interruption
	if err == nil || !errors.As(context.Cause(ctx), &intr) {
		return err
	}
	msg := intr.Error()
	var note *interruptNote
	if errors.As(err, &note) {
		msg += ": " + note.msg
	}
	return &exitError{code: intr.exitCode(), msg: msg}
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
// extra (--setting gcd) adds the novel, novelty_p and confidence columns.
func emitPredictions(app *App, c common, out string, t *ncdio.Table, names []string, unl []bool, extra ...*gcdColumns) error {
	if out == "" || out == "-" {
		if c.JSON {
			return nil
		}
		tt := t.ShallowCopy()
		tt.AppendText("cluster", names)
		tt.AppendBool("unlabeled", unl)
		for _, e := range extra {
			e.appendTo(tt)
		}
		return ncdio.WriteTo(app.Stdout, tt, ncdio.CSV)
	}
	return writePredictions(out, t, names, unl, extra...)
}

// formatSizes prints "novel_0:120 novel_1:98 ..." in natural name order.
func formatSizes(sizes map[string]int) string {
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, naturalCompare)
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

// phaseNames orders and names the phases of a command's seconds map.
var phaseNames = []struct{ key, name string }{
	{"load", "load"}, {"train", "train"}, {"estimate_k", "estimate k"}, {"cluster", "cluster"}, {"write", "write"},
}

// timeSummary is the summary's time line: the wall time of the whole
// command, then what each phase took, named ("0.44 s in all: load 0.40 s,
// estimate k 0.02 s, cluster 0.01 s, write 0.01 s"), so that no number
// reads as the run's time when it is one phase's (cluster printed its
// clustering's 0.01 s for a 0.44 s run). spectral_* sub-phases of cluster
// stay in --json.
func timeSummary(wall float64, seconds map[string]float64) string {
	var parts []string
	for _, p := range phaseNames {
		if s, ok := seconds[p.key]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", p.name, fmtSeconds(s)))
		}
	}
	out := fmtSeconds(wall) + " in all"
	if len(parts) > 0 {
		out += ": " + strings.Join(parts, ", ")
	}
	return out
}

// fmtSeconds prints a duration in seconds with 2 significant decimals
// below 10 s and 1 above.
func fmtSeconds(s float64) string {
	if s >= 10 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2f s", s)
}

// emptyClusterNote counts the novel clusters 0..k-1 that no label names
// and, when some are empty, says so: a TabularNCD clustering head can
// collapse onto a few of its k outputs (its argmax never picks the others).
func emptyClusterNote(method string, k int, labels []int) (int, string) {
	used := map[int]bool{}
	for _, l := range labels {
		if l >= 0 && l < k {
			used[l] = true
		}
	}
	empty := k - len(used)
	if empty <= 0 {
		return 0, ""
	}
	why := "k-means left them without rows; try another --seed or a smaller --k"
	if method == tabularncd.Method {
		why = "the clustering head collapsed onto fewer outputs; try another --seed, a smaller --top-k or --k, or --method pbn"
	}
	return empty, fmt.Sprintf("only %d of the k=%d novel clusters received rows (%d empty): %s", len(used), k, empty, why)
}

// outputFlags are each command's flags naming a file it writes (fit's
// --model is one; cluster's, explain's and estimate-k's read a model).
var outputFlags = map[string][]string{
	"fit":        {"out", "model", "report"},
	"cluster":    {"out", "report"},
	"explain":    {"report"},
	"estimate-k": {"plot"},
	"tune":       {"out", "study", "plot", "export", "cpuprofile"},
}

// checkStdoutOnce refuses, before any work, two writers to standard
// output: what the command prints there (--json's object, explain's text,
// estimate-k's k, fit's and cluster's predictions when no --out is given)
// and an output file that is standard output too (/dev/stdout, /dev/fd/1,
// another name of the same pipe or terminal, and "-" for predictions), or
// two such files.
func checkStdoutOnce(cmd *cobra.Command, v *viper.Viper, c common) error {
	name := cmd.Name()
	var printed string // what the command itself prints on standard output
	switch {
	case c.JSON:
		printed = "--json"
	case name == "explain":
		printed = "the explanation (printed on standard output)"
	case name == "estimate-k":
		printed = "the estimate (k printed on standard output)"
	case (name == "fit" || name == "cluster") && v.GetString("out") == "" && (name == "cluster" || v.GetString("model") == ""):
		printed = "the predictions (no --out: CSV on standard output)"
	}
	var files []string // output flags naming standard output
	for _, flag := range outputFlags[name] {
		if path := v.GetString(flag); path != "" && isStdout(path, flag == "out" && name != "tune") {
			files = append(files, "--"+flag+" "+path)
		}
	}
	switch {
	case len(files) == 0 || (printed == "" && len(files) == 1):
		return nil
	case printed == "--json":
		return usererr.New("%s and --json would both write to standard output: give %s a file, or drop --json", files[0], strings.Fields(files[0])[0])
	case printed != "":
		return usererr.New("%s and %s would both write to standard output: give %s a file", printed, files[0], strings.Fields(files[0])[0])
	}
	return usererr.New("%s and %s would both write to standard output: give one of them a file", files[0], files[1])
}

// isStdout tells whether path names standard output: /dev/stdout,
// /dev/fd/1, /proc/self/fd/1, a device or pipe that is the same file as
// this process's standard output (not /dev/null, which takes anything),
// and "-" when dash (predictions) says so.
func isStdout(path string, dash bool) bool {
	if path == "-" {
		return dash
	}
	switch filepath.ToSlash(filepath.Clean(path)) {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return true
	case "/dev/null":
		return false
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() || st.IsDir() {
		return false
	}
	out, err := os.Stdout.Stat()
	return err == nil && os.SameFile(st, out)
}
