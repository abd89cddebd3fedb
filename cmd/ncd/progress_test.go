package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// shortProgress makes the plain-line progress print every milestone and a
// heartbeat every 50 ms for the test.
func shortProgress(t *testing.T) {
	every, milestone := progressEvery, milestoneEvery
	progressEvery, milestoneEvery = 50*time.Millisecond, 0
	t.Cleanup(func() { progressEvery, milestoneEvery = every, milestone })
}

// TestProgressLinesWhenNotATerminal: with stderr not a terminal (a log, CI),
// fit prints a plain line per trained network and tune one per finished
// trial, plus heartbeat lines, with no bar (no carriage return); --quiet
// prints none of them.
func TestProgressLinesWhenNotATerminal(t *testing.T) {
	shortProgress(t)
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 1200)
	code, _, stderr := runCLI(t, "", "fit", "--data", data, "--novel", "0,3", "--ensemble", "3", "--epochs", "100",
		"--threads", "1", "--k", "2", "--out", dir+"/p.csv")
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("a bar was drawn into a non-terminal:\n%q", stderr)
	}
	done := regexp.MustCompile(`(?m)^ncd: training: (\d)/3 networks done \(network \d: ce \d+\.\d{3}, rec \d+\.\d{3}\), \d+ s$`).FindAllStringSubmatch(stderr, -1)
	if len(done) != 3 || done[0][1] != "1" || done[1][1] != "2" || done[2][1] != "3" {
		t.Errorf("want one line per network, 1/3 to 3/3:\n%s", stderr)
	}
	if !regexp.MustCompile(`(?m)^ncd: training net [123]/3 \(ce \d+\.\d{3}, rec \d+\.\d{3}\), \d+% done, \d+ s$`).MatchString(stderr) {
		t.Errorf("no heartbeat line during training:\n%s", stderr)
	}

	code, _, stderr = runCLI(t, "", "tune", "--data", data, "--novel", "0,3", "--trials", "3", "--folds", "3", "--epochs", "2",
		"--k", "true", "--threads", "1", "--out", dir+"/best.yaml")
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	trials := regexp.MustCompile(`(?m)^ncd: tuning: (\d)/3 trials done, best ACC \d\.\d{4} \(trial \d\), \d+ s$`).FindAllStringSubmatch(stderr, -1)
	if len(trials) != 3 || trials[2][1] != "3" {
		t.Errorf("want one line per trial:\n%s", stderr)
	}

	code, _, stderr = runCLI(t, "", "fit", "--data", data, "--novel", "0,3", "--ensemble", "2", "--epochs", "5",
		"--k", "2", "--out", dir+"/q.csv", "--quiet")
	if code != 0 || stderr != "" {
		t.Errorf("--quiet: exit %d, stderr %q", code, stderr)
	}
}

// TestProgressBarShowsEveryNetwork: on a terminal, the bar's loss follows
// the network being trained; it used to show network 1's loss only, so it
// froze once network 1 was done. With one thread the networks train one
// after the other, and the second one's loss must reach the bar.
func TestProgressBarShowsEveryNetwork(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 3000)
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StderrIsTTY: true}
	code := Execute(app, []string{"fit", "--data", data, "--novel", "0,3", "--ensemble", "2", "--epochs", "40",
		"--threads", "1", "--k", "2", "--out", dir + "/p.csv"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := errb.String()
	if !regexp.MustCompile(`training net 2/2 \(ce \d+\.\d{3}, rec \d+\.\d{3}\)`).MatchString(s) {
		t.Errorf("the bar never showed network 2's loss:\n%q", s)
	}
	if strings.Contains(s, "networks done") {
		t.Errorf("plain progress lines on a terminal:\n%q", s)
	}
}
