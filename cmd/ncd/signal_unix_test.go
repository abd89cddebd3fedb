//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ncdBinary builds the real ncd once per test run (signals need a real
// process: the in-memory App cannot be sent a SIGINT).
func ncdBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ncd-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ncd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// runAndSignal starts ncd with args, waits until a line of its stderr starts
// with ready (its progress says the work is under way), sends sig and
// returns the exit code and the streams.
func runAndSignal(t *testing.T, sig syscall.Signal, ready string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(ncdBinary(t), args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sc := bufio.NewScanner(pipe)
	seen := false
	for !seen && sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		seen = strings.HasPrefix(sc.Text(), ready)
	}
	if !seen {
		cmd.Wait()
		t.Fatalf("ncd ended without a line starting %q:\n%s", ready, stderr.String())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v (the run ended before it: %s)", err, stderr.String())
	}
	start := time.Now()
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v to stop after the signal", took)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// lastLine splits stderr into its last line and the lines before it.
func lastLine(s string) (string, []string) {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n", lines[:len(lines)-1]
}

// TestInterruptFit: SIGINT in the middle of a long fit (8 networks x 200
// epochs of pendigits at 1 thread, about 20 s; the signal comes when the
// first network is done) prints one line after the progress lines, "ncd:
// interrupted", exits 130 and leaves no file (no predictions, no model, no
// temporary file); SIGTERM does the same with exit 143 (128 + the signal,
// as a shell reports it).
func TestInterruptFit(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		line string
	}{
		{syscall.SIGINT, 130, "ncd: interrupted\n"},
		{syscall.SIGTERM, 143, "ncd: interrupted by SIGTERM\n"},
	} {
		dir := t.TempDir()
		code, stdout, stderr := runAndSignal(t, c.sig, "ncd: training: " /* the first "N/8 networks done" line: members train side by side, so N may be 2 */, "fit", "--data", pendigitsTrain,
			"--test", "../../testdata/pendigits_test.csv", "--novel", "0,3,5,6,7", "--epochs", "200", "--threads", "1",
			"--out", filepath.Join(dir, "p.csv"), "--model", filepath.Join(dir, "m.ncd"), "--json")
		last, before := lastLine(stderr)
		if code != c.code || last != c.line || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want %d and %q last", c.sig, code, stderr, stdout, c.code, c.line)
		}
		for _, l := range before {
			if !strings.HasPrefix(l, "ncd: training") {
				t.Errorf("%v: a line other than progress before the last: %q", c.sig, l)
			}
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Errorf("%v: files left behind: %v", c.sig, names)
		}
	}
}

// TestInterruptTune: SIGINT during a tune (once trials are done) prints one
// line that says how many trials the study file kept and how to continue, exits 130, writes no
// best config and no plot, and the study holds exactly those trials.
func TestInterruptTune(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 800)
	out := filepath.Join(dir, "best.yaml")
	study := filepath.Join(dir, "best.study.jsonl")
	code, stdout, stderr := runAndSignal(t, syscall.SIGINT, "ncd: tuning: ", "tune", "--data", data, "--novel", "0,3",
		"--trials", "1000", "--folds", "3", "--epochs", "3", "--k", "true", "--threads", "1",
		"--out", out, "--plot", filepath.Join(dir, "t.svg"))
	re := regexp.MustCompile(`^ncd: interrupted: (\d+) finished trials? (?:is|are) saved in ` + regexp.QuoteMeta(study) +
		`; run the same command with --resume to continue\n$`)
	last, before := lastLine(stderr)
	m := re.FindStringSubmatch(last)
	for _, l := range before[1:] { // tune's header first, then progress lines
		if !strings.HasPrefix(l, "ncd: tuning: ") && !strings.HasPrefix(l, "  space: ") {
			t.Errorf("a line other than progress before the last: %q", l)
		}
	}
	if code != 130 || m == nil || stdout != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
	n, _ := strconv.Atoi(m[1])
	t.Logf("%s", stderr)
	b, err := os.ReadFile(study)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != n+1 {
		t.Errorf("the study holds %d lines; the message said %d trials (+ header)", lines, n)
	}
	if names := listDir(t, dir); strings.Join(names, " ") != "best.study.jsonl pen.csv" {
		t.Errorf("files: %v; want only the study and the data", names)
	}
}
