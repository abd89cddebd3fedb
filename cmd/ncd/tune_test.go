package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// pendigitsSubset writes the first n rows of the pendigits training split:
// 10 classes, 16 features; small enough for tune tests with few epochs.
func pendigitsSubset(t *testing.T, dir string, n int) string {
	t.Helper()
	f, err := os.Open("../../testdata/pendigits_train.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for i := 0; i <= n && sc.Scan(); i++ {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return writeFile(t, dir, "pen.csv", b.String())
}

type tuneJSON struct {
	Trials     int               `json:"trials"`
	Complete   int               `json:"complete"`
	Resumed    int               `json:"resumed"`
	FoldMode   string            `json:"fold_mode"`
	Folds      []json.RawMessage `json:"folds"`
	Best       json.RawMessage   `json:"best"`
	BestConfig map[string]any    `json:"best_config"`
	Board      []struct {
		Trial  int                `json:"trial"`
		ACC    float64            `json:"acc"`
		Params map[string]float64 `json:"params"`
	} `json:"leaderboard"`
	Study string  `json:"study"`
	Wall  float64 `json:"wall_seconds"`
}

func runTuneJSON(t *testing.T, args ...string) (tuneJSON, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"tune", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("tune %v: exit %d\n%s", args, code, stderr)
	}
	var r tuneJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("tune --json: %v\n%s", err, stdout)
	}
	return r, stderr
}

// bestTrial strips the wall times from the best trial's JSON.
func bestTrial(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "seconds")
	for _, f := range m["folds"].([]any) {
		delete(f.(map[string]any), "seconds")
	}
	return m
}

func TestTuneWritesAConfigThatFitUses(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 1200)
	out := filepath.Join(dir, "best.yaml")
	plot := filepath.Join(dir, "trials.svg")
	r, stderr := runTuneJSON(t, "--data", data, "--novel", "0,3", "--trials", "5", "--startup", "3", "--folds", "3",
		"--epochs", "3", "--k-max", "8", "--out", out, "--plot", plot, "--threads", "2")
	if r.Trials != 5 || r.Complete != 5 || r.FoldMode != "partition" || len(r.Folds) != 3 {
		t.Fatalf("trials %d complete %d mode %s folds %d", r.Trials, r.Complete, r.FoldMode, len(r.Folds))
	}
	if r.Study != filepath.Join(dir, "best.study.jsonl") {
		t.Errorf("study %s, want best.study.jsonl next to best.yaml", r.Study)
	}
	if !strings.Contains(stderr, "rank") || !strings.Contains(stderr, "best: trial") {
		t.Errorf("no leaderboard on stderr:\n%s", stderr)
	}
	for _, k := range []string{"method", "lr", "w", "dropout", "latent-dim", "epochs", "data", "novel", "k-max"} {
		if r.BestConfig[k] == nil {
			t.Errorf("best config lacks %s: %v", k, r.BestConfig)
		}
	}
	if r.Board[0].ACC < r.Board[len(r.Board)-1].ACC {
		t.Error("leaderboard not sorted best first")
	}
	// Trial 0 is fit's default configuration (--default-trial).
	found := false
	for _, tr := range r.Board {
		if tr.Trial == 0 {
			found = true
			want := map[string]float64{"lr": 1e-3, "w": 0.5, "dropout": 0.1, "latent-dim": 32}
			if !reflect.DeepEqual(tr.Params, want) {
				t.Errorf("trial 0 = %v, want fit's defaults %v", tr.Params, want)
			}
		}
	}
	if !found {
		t.Error("trial 0 is not on the leaderboard")
	}
	// The study plot names the winner in its title (SVG text).
	svg, err := os.ReadFile(plot)
	if err != nil {
		t.Fatal(err)
	}
	var best struct {
		Trial int     `json:"trial"`
		ACC   float64 `json:"acc"`
	}
	if err := json.Unmarshal(r.Best, &best); err != nil {
		t.Fatal(err)
	}
	title := fmt.Sprintf("ncd tune pbn: 5 trials, best trial %d (ACC %.3f)", best.Trial, best.ACC)
	if !strings.HasPrefix(string(svg), "<?xml") || !strings.Contains(string(svg), title) {
		t.Errorf("plot %s: not an SVG titled %q", plot, title)
	}
	yaml, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(yaml), `novel: "0,3"`) {
		t.Errorf("novel must stay a quoted string:\n%s", yaml)
	}

	// fit reads every key without a warning and trains with the best values.
	code, stdout, stderr := runCLI(t, "", "fit", "--config", out, "--k", "2", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("fit --config best.yaml: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("fit warned about the tuned config:\n%s", stderr)
	}
	var fit struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal([]byte(stdout), &fit); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"lr", "w", "dropout", "latent-dim", "epochs", "novel", "method"} {
		if !reflect.DeepEqual(fit.Config[k], r.BestConfig[k]) {
			t.Errorf("fit used %s = %#v, tune chose %#v", k, fit.Config[k], r.BestConfig[k])
		}
	}
}

// TestTuneResumeAfterKill cuts a finished study the way kill -9 would (some
// trials, then half a line) and checks that --resume ends with the same
// trials and winner as the uninterrupted run, and that --threads does not
// matter.
func TestTuneResumeAfterKill(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 1000)
	args := func(out string, threads string) []string {
		return []string{"--data", data, "--novel", "0,3", "--trials", "6", "--startup", "3", "--folds", "3",
			"--epochs", "2", "--k-max", "6", "--out", out, "--threads", threads, "--quiet"}
	}
	full, _ := runTuneJSON(t, args(filepath.Join(dir, "full.yaml"), "2")...)
	studyFull, err := os.ReadFile(full.Study)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(studyFull), "\n")
	if len(lines) != 8 || lines[7] != "" { // header, 6 trials, ""
		t.Fatalf("study has %d lines", len(lines))
	}

	one, _ := runTuneJSON(t, args(filepath.Join(dir, "one.yaml"), "1")...)
	if !reflect.DeepEqual(bestTrial(t, one.Best), bestTrial(t, full.Best)) {
		t.Fatal("--threads 1 and 2 chose different winners")
	}

	// Header, 3 trials (in the order they finished), half of the 4th.
	cut := filepath.Join(dir, "cut.study.jsonl")
	partial := strings.Join(lines[:4], "") + lines[4][:len(lines[4])/2]
	writeFile(t, dir, "cut.study.jsonl", partial)
	code, _, stderr := runCLI(t, "", append([]string{"tune"}, args(filepath.Join(dir, "cut.yaml"), "2")...)...)
	if code != 2 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("existing study without --resume: exit %d, %s", code, stderr)
	}
	res, stderr := runTuneJSON(t, append(args(filepath.Join(dir, "cut.yaml"), "2"), "--resume")...)
	if !strings.Contains(stderr, "incomplete") {
		t.Errorf("no warning about the cut line:\n%s", stderr)
	}
	if res.Trials != 6 || res.Resumed != 3 {
		t.Fatalf("resumed run: %d trials, %d resumed; want 6, 3", res.Trials, res.Resumed)
	}
	if !reflect.DeepEqual(bestTrial(t, res.Best), bestTrial(t, full.Best)) {
		t.Fatal("resumed run chose another winner")
	}
	got, _ := os.ReadFile(cut)
	if n := strings.Count(string(got), "\n"); n != 7 {
		t.Errorf("resumed study has %d lines, want 7", n)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "full.yaml"))
	b, _ := os.ReadFile(filepath.Join(dir, "cut.yaml"))
	if noComments(string(a)) != noComments(string(b)) {
		t.Errorf("configs differ:\n%s\n%s", a, b)
	}

	// Other settings are refused, naming what changed.
	code, _, stderr = runCLI(t, "", append([]string{"tune"}, append(args(filepath.Join(dir, "cut.yaml"), "2"), "--resume", "--epochs", "3")...)...)
	if code != 2 || !strings.Contains(stderr, "epochs: 2 -> 3") {
		t.Errorf("resume with other epochs: exit %d, %s", code, stderr)
	}
}

// TestTuneThreeKnownClasses: with 3 known classes there are only 3 pairs
// to hide; the default --folds (5) uses the 3, says so, and the study
// resumes with the same folds.
func TestTuneThreeKnownClasses(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 800)
	args := []string{"--data", data, "--novel", "0,1,2,3,4,5,6", "--trials", "2", "--startup", "2",
		"--epochs", "1", "--k", "true", "--out", filepath.Join(dir, "b.yaml")}
	r, stderr := runTuneJSON(t, args...)
	if r.FoldMode != "random" || len(r.Folds) != 3 || r.Complete != 2 {
		t.Fatalf("mode %s, %d folds, %d complete; want random, 3, 2", r.FoldMode, len(r.Folds), r.Complete)
	}
	hidden := map[string]bool{}
	for _, raw := range r.Folds {
		var f struct {
			Hidden []string `json:"hidden"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Hidden) != 2 {
			t.Fatalf("fold %s hides %d classes, want 2", raw, len(f.Hidden))
		}
		hidden[strings.Join(f.Hidden, ",")] = true
	}
	if !hidden["7,8"] || !hidden["7,9"] || !hidden["8,9"] {
		t.Errorf("folds %v, want every pair of 7, 8, 9", hidden)
	}
	if want := "only 3 distinct sets of 2 among 3 known classes: using 3 folds, not the 5 of --folds"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	res, _ := runTuneJSON(t, append(args, "--trials", "3", "--resume", "--quiet")...)
	if res.Resumed != 2 || res.Complete != 3 || len(res.Folds) != 3 {
		t.Errorf("resume: %d resumed, %d complete, %d folds; want 2, 3, 3", res.Resumed, res.Complete, len(res.Folds))
	}
}

func TestTuneRangesFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 600)
	cfg := writeFile(t, dir, "tune.yaml", "lr-range: [0.001, 0.002]\nw-range: 0.5\nlatent-dim-range: \"6,8\"\nepochs: 1\nk: \"true\"\n")
	r, _ := runTuneJSON(t, "--config", cfg, "--data", data, "--novel", "0,3", "--trials", "4", "--startup", "2",
		"--folds", "3", "--out", filepath.Join(dir, "b.yaml"), "--quiet")
	for _, tr := range r.Board {
		p := tr.Params
		if p["lr"] < 0.001 || p["lr"] > 0.002 || p["w"] != 0.5 || p["latent-dim"] < 6 || p["latent-dim"] > 8 {
			t.Errorf("trial %d outside the configured ranges: %v", tr.Trial, p)
		}
	}
}

func TestTuneNCDSC(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 500)
	out := filepath.Join(dir, "sc.yaml")
	r, _ := runTuneJSON(t, "--data", data, "--novel", "0,3", "--method", "ncd-sc", "--trials", "3", "--folds", "3",
		"--k", "true", "--n-components-range", "2,10", "--out", out, "--quiet")
	if r.Complete != 3 || r.BestConfig["min-dist"] == nil || r.BestConfig["n-components"] == nil || r.BestConfig["lr"] != nil {
		t.Fatalf("ncd-sc tune: %+v", r)
	}
	code, _, stderr := runCLI(t, "", "cluster", "--config", out, "--k", "2", "--quiet", "--out", filepath.Join(dir, "p.csv"))
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("cluster --config sc.yaml: exit %d\n%s", code, stderr)
	}
}

func TestTuneBadUsage(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 300)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--method", "svm"}, "--method"},
		{[]string{"--method", "ncd-sc", "--lr-range", "1e-3,1e-2"}, "no parameter lr"},
		{[]string{"--lr-range", "1e-2,1e-3"}, "empty"},
		{[]string{"--lr-range", "0,1e-3"}, "log scale"},
		{[]string{"--folds", "3", "--hidden", "2"}, "--hidden applies"},
		{[]string{"--fold-mode", "random", "--hidden", "8"}, "between 1 and 7"},
		{[]string{"--k", "5"}, "auto or true"},
		{[]string{"--folds", "3", "--prune", "3"}, "--prune"},
		{[]string{"--sampler", "grid"}, "--sampler"},
		{[]string{"--novel", "0,1,2,3,4,5,6,7"}, "at least 3 known classes"},
	} {
		args := append([]string{"tune", "--data", data, "--novel", "0,3", "--epochs", "1", "--trials", "1", "--out", filepath.Join(dir, "x.yaml")}, c.args...)
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.msg)
		}
	}
}

func noComments(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTuneStorageOtherDatabase: a URL that is not PostgreSQL's is refused
// as such (exit 2, password hidden), not taken for a study file's name.
func TestTuneStorageOtherDatabase(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 100)
	code, _, stderr := runCLI(t, "", "tune", "--data", data, "--novel", "0,3", "--storage", "mysql://u:secret@localhost/db", "--out", filepath.Join(dir, "b.yaml"))
	if code != 2 || !strings.Contains(stderr, "no other database is supported") || strings.Contains(stderr, "secret") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.yaml")); err == nil {
		t.Errorf("b.yaml written")
	}
}

// TestTuneBestCarriesUnlabelKnown: tune --unlabel-known 0.3 --seed 4 writes
// both into best.yaml (the seed draws which labels are hidden), so that
// fit --config best.yaml hides the same labels the trials saw; without
// --unlabel-known neither is written.
func TestTuneBestCarriesUnlabelKnown(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 400)
	best := filepath.Join(dir, "best.yaml")
	tune := []string{"tune", "--data", data, "--novel", "0,3", "--trials", "1", "--folds", "3", "--epochs", "1", "--k", "true", "--quiet"}
	code, _, stderr := runCLI(t, "", append(slices.Clone(tune), "--unlabel-known", "0.3", "--seed", "4", "--out", best)...)
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	b := readFile(t, best)
	if !strings.Contains(b, "\nunlabel-known: 0.3\n") || !strings.Contains(b, "\nseed: 4\n") {
		t.Fatalf("best.yaml lacks unlabel-known: 0.3 or seed: 4:\n%s", b)
	}
	code, stdout, stderr := runCLI(t, "", "fit", "--config", best, "--k", "2", "--ensemble", "1", "--out", filepath.Join(dir, "p.csv"), "--json")
	if code != 0 {
		t.Fatalf("fit --config: exit %d: %s", code, stderr)
	}
	var fit struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal([]byte(stdout), &fit); err != nil {
		t.Fatal(err)
	}
	if fit.Config["unlabel-known"] != 0.3 || !strings.Contains(stderr, "(--unlabel-known 0.3, seed 4, per class)") {
		t.Errorf("fit --config best.yaml: unlabel-known %v; stderr %s", fit.Config["unlabel-known"], stderr)
	}
	// The study file records it too: its export without the tune's flags
	// carries both.
	r, _ := runTuneJSON(t, append(slices.Clone(tune[1:]), "--unlabel-known", "0.3", "--seed", "4", "--out", filepath.Join(dir, "b2.yaml"))...)
	bare := filepath.Join(dir, "bare.yaml")
	if code, _, stderr := runCLI(t, "", "tune", "--study", r.Study, "--export", bare, "--data", data, "--novel", "0,3"); code != 0 {
		t.Fatalf("--export: exit %d: %s", code, stderr)
	}
	if b := readFile(t, bare); !strings.Contains(b, "\nunlabel-known: 0.3\n") || !strings.Contains(b, "\nseed: 4\n") {
		t.Errorf("export of the study file lacks unlabel-known: 0.3 or seed: 4:\n%s", b)
	}
	plain := filepath.Join(dir, "plain.yaml")
	if code, _, stderr := runCLI(t, "", append(slices.Clone(tune), "--seed", "4", "--out", plain)...); code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	if b := readFile(t, plain); strings.Contains(b, "unlabel-known") || strings.Contains(b, "\nseed:") {
		t.Errorf("best.yaml without --unlabel-known:\n%s", b)
	}
}

// TestTuneRangeGivenTwice: a repeated --X-range kept only the last range;
// it is refused (exit 2) before any work, naming both.
func TestTuneRangeGivenTwice(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 300)
	out := filepath.Join(dir, "x.yaml")
	code, stdout, stderr := runCLI(t, "", "tune", "--data", data, "--novel", "0,3", "--epochs", "1", "--trials", "1", "--out", out,
		"--lr-range", "1e-4,1e-2", "--w-range", "0.5", "--lr-range", "1e-3,1e-2")
	want := `ncd: invalid argument "1e-3,1e-2" for "--lr-range" flag: --lr-range given twice ("1e-4,1e-2", then "1e-3,1e-2"): give one range, LOW,HIGH (see 'ncd tune --help')` + "\n"
	if code != exitUsage || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr\n%q\nwant exit 2 and\n%q", code, stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written", out)
	}
}

// TestTuneExportTarget: the study records the target column, so that an
// export of the study file without the tune's flags names the one the
// trials used, not the flag's default (class).
func TestTuneExportTarget(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 400)
	text := readFile(t, data)
	data = writeFile(t, dir, "label.csv", strings.Replace(text, ",class\n", ",label\n", 1))
	r, _ := runTuneJSON(t, "--data", data, "--target", "label", "--novel", "0,3", "--trials", "1", "--folds", "3", "--epochs", "1",
		"--k", "true", "--out", filepath.Join(dir, "best.yaml"), "--quiet")
	bare := filepath.Join(dir, "bare.yaml")
	code, _, stderr := runCLI(t, "", "tune", "--study", r.Study, "--export", bare)
	if got := readFile(t, bare); code != 0 || !strings.Contains(got, "\ntarget: \"label\"\n") || !strings.Contains(stderr, "has no data or novel classes") {
		t.Errorf("--export: exit %d, %s\n%s", code, stderr, got)
	}
}
