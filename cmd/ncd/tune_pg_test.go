//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/cv/study"
	"github.com/ncd-project/ncd/internal/pgtest"
)

// statusJSON is the part of `tune --status --json` the tests read.
type statusJSON struct {
	Total  int            `json:"total"`
	Counts map[string]int `json:"counts"`
	Trials []struct {
		Number  int            `json:"number"`
		State   string         `json:"state"`
		Params  cv.Params      `json:"params"`
		Scores  []cv.FoldScore `json:"scores"`
		Worker  string         `json:"worker"`
		Attempt int            `json:"attempt"`
		Refused int            `json:"refused_results"`
	} `json:"trials"`
}

// process is a running `ncd tune` worker.
type process struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	stdout bytes.Buffer
	done   chan error
}

func startNCD(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(ncdBinary(t), args...), done: make(chan error, 1)}
	p.cmd.Stderr, p.cmd.Stdout = &p.stderr, &p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *process) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatal(err)
	case <-time.After(5 * time.Minute):
		t.Fatalf("ncd %v did not finish\n%s", p.cmd.Args, p.stderr.String())
	}
	return -1
}

// waitOK waits for the process and stops the test unless it exited 0.
func (p *process) waitOK(t *testing.T, what string) {
	t.Helper()
	if code := p.wait(t); code != 0 {
		t.Fatalf("%s: exit %d\n%s", what, code, p.stderr.String())
	}
}

// tuneStatus runs tune --status --json with args (the study's storage).
func tuneStatus(t *testing.T, args ...string) statusJSON {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"tune", "--status", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("--status %v: exit %d\n%s", args, code, stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// runningBy waits until worker holds a running trial of the study and
// returns its number.
func runningBy(t *testing.T, dsn, name, worker string) int {
	t.Helper()
	ctx := context.Background()
	p, err := study.OpenPG(ctx, dsn, study.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p.Use(ctx, name) != nil {
			continue
		}
		snap, err := p.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range snap.Rows {
			if r.State == study.StateRunning && r.Worker == worker {
				return r.Number
			}
		}
	}
	t.Fatalf("worker %s never ran a trial of %s", worker, name)
	return -1
}

func stripStudy(ts []cv.Trial) []cv.Trial {
	out := make([]cv.Trial, len(ts))
	for i, t := range ts {
		t.Seconds = 0
		t.Folds = append([]cv.FoldScore(nil), t.Folds...)
		for j := range t.Folds {
			t.Folds[j].Seconds = 0
		}
		out[i] = t
	}
	return out
}

// Real `ncd tune` processes on one study in a real PostgreSQL: a worker
// killed with SIGKILL in the middle of a trial, another paused with SIGSTOP
// past the grace period and continued; the studies end with every trial
// once, equal to a 1-process tune on a study file (parameters and fold
// scores), and the paused worker's late result is not taken. --status,
// --export and the errors are checked on the way.
func TestTunePGWorkers(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.DSN
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 1000)
	for _, d := range []string{"ref", "a", "b", "c", "s1", "s2", "exp"} {
		os.Mkdir(filepath.Join(dir, d), 0o755)
	}
	common := []string{"tune", "--data", data, "--novel", "0,3", "--trials", "8", "--startup", "3", "--folds", "3",
		"--epochs", "100", "--k", "true", "--threads", "1"}
	pgArgs := func(name, out, worker string) []string {
		return append(append([]string{}, common...), "--storage", dsn, "--study", name, "--out", out, "--worker", worker,
			"--grace", "3s", "--heartbeat", "200ms") // 15 heartbeats of margin: a loaded CI machine (tests of every package at once) delayed one by over 1 s
	}

	// The reference: one process, a study file (the built binary, fast
	// also when the tests run under -race).
	rp := startNCD(t, append(append([]string{}, common...), "--out", filepath.Join(dir, "ref", "best.yaml"), "--quiet", "--json")...)
	rp.waitOK(t, "reference tune")
	var ref tuneJSON
	if err := json.Unmarshal(rp.stdout.Bytes(), &ref); err != nil {
		t.Fatal(err)
	}
	refStudy, err := study.Load(ref.Study)
	if err != nil {
		t.Fatal(err)
	}
	refYAML, _ := os.ReadFile(filepath.Join(dir, "ref", "best.yaml"))

	// kill -9: worker a dies in its first trial; b and c finish the study.
	a := startNCD(t, pgArgs("kill", filepath.Join(dir, "a", "best.yaml"), "a")...)
	killed := runningBy(t, dsn, "kill", "a")
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a.wait(t)
	b := startNCD(t, pgArgs("kill", filepath.Join(dir, "b", "best.yaml"), "b")...)
	c := startNCD(t, append(pgArgs("kill", filepath.Join(dir, "c", "best.yaml"), "c"), "--json")...)
	b.waitOK(t, "worker b")
	c.waitOK(t, "worker c")
	var cj tuneJSON
	if err := json.Unmarshal(c.stdout.Bytes(), &cj); err != nil {
		t.Fatalf("worker c --json: %v\n%s", err, c.stdout.String())
	}
	if cj.Trials != 8 || !reflect.DeepEqual(bestTrial(t, cj.Best), bestTrial(t, ref.Best)) {
		t.Errorf("worker c: %d trials, best %s; want 8, %s", cj.Trials, cj.Best, ref.Best)
	}
	for _, w := range []string{"b", "c"} {
		got, _ := os.ReadFile(filepath.Join(dir, w, "best.yaml"))
		if noComments(string(got)) != noComments(string(refYAML)) {
			t.Errorf("worker %s's best.yaml differs from the 1-process tune's:\n%s\n%s", w, got, refYAML)
		}
	}
	st := tuneStatus(t, "--storage", dsn, "--study", "kill")
	if st.Total != 8 || len(st.Trials) != 8 || st.Counts["complete"] != 8 || st.Counts["running"] != 0 || st.Counts["waiting"] != 0 {
		t.Fatalf("--status: total %d, %d trials, counts %v", st.Total, len(st.Trials), st.Counts)
	}
	for i, tr := range st.Trials {
		want := refStudy.Trials[i]
		if tr.Number != i || tr.State != "complete" || !reflect.DeepEqual(tr.Params, want.Params) || len(tr.Scores) != 3 {
			t.Errorf("--status trial %d: %+v", i, tr)
		}
		for f, s := range tr.Scores {
			if s.ACC != want.Folds[f].ACC || s.K != want.Folds[f].K {
				t.Errorf("trial %d fold %d: ACC %v k %d, want %v %d", i, f, s.ACC, s.K, want.Folds[f].ACC, want.Folds[f].K)
			}
		}
		wantAttempt := 1
		if i == killed {
			wantAttempt = 2
		}
		if tr.Attempt != wantAttempt || tr.Worker == "a" {
			t.Errorf("trial %d: attempt %d by %s, want attempt %d by b or c", i, tr.Attempt, tr.Worker, wantAttempt)
		}
	}
	// --export: the study file equals the 1-process one; best.yaml too.
	exp := filepath.Join(dir, "exp", "s.study.jsonl")
	if code, _, stderr := runCLI(t, "", "tune", "--storage", dsn, "--study", "kill", "--export", exp); code != 0 {
		t.Fatalf("--export: exit %d\n%s", code, stderr)
	}
	got, err := study.Load(exp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripStudy(got.Trials), stripStudy(refStudy.Trials)) || got.Header.Fingerprint != refStudy.Header.Fingerprint {
		t.Error("exported study differs from the 1-process study file")
	}
	expYAML := filepath.Join(dir, "exp", "best.yaml")
	if code, _, stderr := runCLI(t, "", "tune", "--storage", dsn, "--study", "kill", "--export", expYAML); code != 0 {
		t.Fatalf("--export yaml: exit %d\n%s", code, stderr)
	}
	if y, _ := os.ReadFile(expYAML); noComments(string(y)) != noComments(string(refYAML)) {
		t.Errorf("exported best.yaml:\n%s\nwant\n%s", y, refYAML)
	}

	// Ctrl-C: the worker gives its trial back at once and says how to go on.
	in := startNCD(t, pgArgs("int", filepath.Join(dir, "a", "best.yaml"), "i")...)
	gaveBack := runningBy(t, dsn, "int", "i")
	if err := in.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := in.wait(t); code != 130 || !strings.Contains(in.stderr.String(), "run the same command (on any machine) to continue") {
		t.Errorf("interrupted worker: exit %d\n%s", code, in.stderr.String())
	}
	st = tuneStatus(t, "--storage", dsn, "--study", "int")
	if tr := st.Trials[gaveBack]; tr.State != "waiting" || tr.Attempt != 0 || tr.Worker != "" {
		t.Errorf("trial given back on Ctrl-C: %+v", tr)
	}

	// kill -STOP past the grace period, then -CONT: the trial is run again
	// by another worker, and the paused worker's result is not taken.
	s1 := startNCD(t, pgArgs("stop", filepath.Join(dir, "s1", "best.yaml"), "s1")...)
	paused := runningBy(t, dsn, "stop", "s1")
	if err := s1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	s2 := startNCD(t, pgArgs("stop", filepath.Join(dir, "s2", "best.yaml"), "s2")...)
	s2.waitOK(t, "worker s2")
	if err := s1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	s1.waitOK(t, "worker s1")
	if msg := s1.stderr.String(); !strings.Contains(msg, "result dropped") && !strings.Contains(msg, "result refused") {
		t.Errorf("the paused worker did not report its lost trial:\n%s", msg)
	}
	st = tuneStatus(t, "--storage", dsn, "--study", "stop")
	for i, tr := range st.Trials {
		want := refStudy.Trials[i]
		if !reflect.DeepEqual(tr.Params, want.Params) || tr.Scores[0].ACC != want.Folds[0].ACC {
			t.Errorf("stop study trial %d differs from the reference", i)
		}
		if i == paused && (tr.Attempt != 2 || tr.Worker != "s2" || tr.Refused != 1) {
			t.Errorf("paused trial %d: attempt %d by %s, %d late heartbeats or results refused; want 2 by s2, 1", i, tr.Attempt, tr.Worker, tr.Refused)
		}
	}
	if len(st.Trials) != 8 || st.Counts["complete"] != 8 {
		t.Errorf("stop study: %d trials, counts %v", len(st.Trials), st.Counts)
	}
}

// Storage errors: a clear message and exit 2, within seconds.
func TestTunePGErrors(t *testing.T) {
	srv := pgtest.Start(t)
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 300)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--storage", "postgres://ncd@127.0.0.1:99999999/x"}, "not a valid PostgreSQL URL"},
		{[]string{"--storage", strings.Replace(srv.DSN, "/postgres?", "/nosuchdb?", 1)}, `database "nosuchdb" does not exist`},
		{[]string{"--storage", srv.DSN, "--study", "nothere", "--status"}, `no study "nothere"`},
		{[]string{"--storage", srv.DSN, "--grace", "1s", "--heartbeat", "2s"}, "--heartbeat (2s) must be positive and below --grace (1s)"},
		{[]string{"--storage", "x.study.jsonl", "--study", "y.study.jsonl"}, "give one"},
	} {
		t0 := time.Now()
		code, _, stderr := runCLI(t, "", append([]string{"tune", "--data", data, "--novel", "0,3", "--out", filepath.Join(dir, "b.yaml")}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || time.Since(t0) > 10*time.Second {
			t.Errorf("%v: exit %d after %s, %q; want 2, %q", c.args, code, time.Since(t0), stderr, c.want)
		}
	}
}

// --status and --export also read a study file (no database).
func TestTuneFileStatusExport(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 600)
	args := []string{"--data", data, "--novel", "0,3", "--trials", "3", "--startup", "3", "--folds", "3", "--epochs", "2", "--k", "true",
		"--out", filepath.Join(dir, "best.yaml"), "--quiet"}
	r, _ := runTuneJSON(t, args...)
	st := tuneStatus(t, "--study", r.Study)
	s, err := study.Load(r.Study)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Trials) != 3 || st.Counts["complete"] != 3 {
		t.Fatalf("--status: %+v", st)
	}
	for i, tr := range st.Trials {
		if tr.Number != i || tr.State != "complete" || !reflect.DeepEqual(tr.Params, s.Trials[i].Params) || !reflect.DeepEqual(tr.Scores, s.Trials[i].Folds) {
			t.Errorf("trial %d: %+v", i, tr)
		}
	}
	// The study file's best configuration, with the tune's own flags.
	exp := filepath.Join(dir, "exported.yaml")
	if code, _, stderr := runCLI(t, "", append([]string{"tune", "--export", exp}, args...)...); code != 0 {
		t.Fatalf("--export: exit %d\n%s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "best.yaml"))
	b, _ := os.ReadFile(exp)
	if noComments(string(a)) != noComments(string(b)) {
		t.Errorf("exported config differs:\n%s\n%s", a, b)
	}
	// Without the tune's flags: the study's own settings (2 epochs, not
	// the flag's default 200), and a note that the data is not recorded.
	bare := filepath.Join(dir, "bare.yaml")
	code, _, stderr := runCLI(t, "", "tune", "--study", r.Study, "--export", bare)
	got := readFile(t, bare)
	if code != 0 || !strings.Contains(got, "\nepochs: 2\n") || !strings.Contains(got, "\nn-init: 0\n") || strings.Contains(got, "(, k") ||
		!strings.Contains(stderr, "does not record the data") {
		t.Errorf("--export without the tune's flags: exit %d, %s\n%s", code, stderr, got)
	}
	if code, _, stderr := runCLI(t, "", "tune", "--storage", r.Study, "--export", filepath.Join(dir, "x.txt")); code != 2 || !strings.Contains(stderr, "FILE.yaml") {
		t.Errorf("--export x.txt: exit %d, %s", code, stderr)
	}
}
