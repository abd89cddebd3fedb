//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputFilesFollowTheUmask: predictions, the model, best.yaml, the
// study file and both plots get mode 0666 minus the umask, as a file made
// by any other program would (the model, best.yaml, the study and the
// plots were 0600). Umask 027 gives 0640, which neither 0600 nor 0644 is.
func TestOutputFilesFollowTheUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 400)
	out := func(name string) string { return filepath.Join(dir, name) }
	for _, args := range [][]string{
		{"fit", "--data", data, "--novel", "0,3", "--epochs", "1", "--ensemble", "1", "--k", "2", "--out", out("p.csv"), "--model", out("m.ncd")},
		{"cluster", "--data", data, "--novel", "0,3", "--k", "2", "--out", out("c.parquet")},
		{"estimate-k", "--data", data, "--novel", "0,3", "--k-max", "4", "--plot", out("k.png")},
		{"tune", "--data", data, "--novel", "0,3", "--trials", "1", "--folds", "3", "--epochs", "1", "--k", "true", "--out", out("best.yaml"), "--plot", out("t.svg")},
	} {
		if code, _, stderr := runCLI(t, "", append(args, "--quiet")...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	for _, name := range []string{"p.csv", "m.ncd", "c.parquet", "k.png", "best.yaml", "best.study.jsonl", "t.svg"} {
		st, err := os.Stat(out(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640 (0666 under umask 027)", name, st.Mode().Perm())
		}
	}
}

// TestDevicesAreSinks: /dev/null takes predictions (CSV), a model and a
// plot without a complaint about its name; nothing is created next to it.
func TestDevicesAreSinks(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 300)
	for _, args := range [][]string{
		{"cluster", "--data", data, "--novel", "0,3", "--k", "2", "--out", "/dev/null"},
		{"fit", "--data", data, "--novel", "0,3", "--epochs", "1", "--ensemble", "1", "--k", "2", "--out", "/dev/null", "--model", "/dev/null"},
		{"estimate-k", "--data", data, "--novel", "0,3", "--k-max", "4", "--plot", "/dev/null"},
	} {
		code, stdout, stderr := runCLI(t, "", append(args, "--quiet")...)
		if code != 0 || strings.Contains(stdout, "novel_") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
	// A named pipe is written in place too: its reader gets the CSV.
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	code, _, stderr := runCLI(t, "", "cluster", "--data", data, "--novel", "0,3", "--k", "2", "--out", fifo, "--quiet")
	if code != 0 {
		t.Fatalf("--out fifo: exit %d: %s", code, stderr)
	}
	if s := <-got; !strings.HasPrefix(s, "x1,") || strings.Count(s, "\n") != 301 {
		t.Errorf("the pipe's reader got %d lines starting %.20q", strings.Count(s, "\n"), s)
	}
}
