package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/model"
	"github.com/spf13/cobra"
)

// TestFitTabularNCD: fit --method tabularncd gives the same predictions at
// 1 and 2 threads (one network with k given, and an ensemble with k
// estimated), its saved model assigns the rows exactly as fit did, the
// --json and the model record what ran, and the clusters find structure.
func TestFitTabularNCD(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	read := func(name string) string {
		b, err := os.ReadFile(out(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	args := []string{"fit", "--method", "tabularncd", "--data", "../../testdata/pendigits_train.csv", "--test", "../../testdata/pendigits_test.csv",
		"--novel", "0,3,5,6,7", "--pretrain-epochs", "2", "--epochs", "3", "--lr-classif", "6.359e-3", "--lr-cluster", "9.585e-3",
		"--top-k", "5.609", "--k-neighbors", "10", "--w1", "0.797", "--w2", "0.8", "--quiet"}
	ensK := 0
	for _, c := range []struct {
		extra []string
		name  string
	}{
		{[]string{"--k", "5"}, "single"}, // one network by default
		{[]string{"--k", "auto", "--ensemble", "2"}, "ens"},
	} {
		var res [2]fitResult
		for i, threads := range []string{"1", "2"} {
			run := append(slices.Clone(args), c.extra...)
			run = append(run, "--threads", threads, "--out", out(c.name+threads+".csv"), "--json")
			if i == 0 {
				run = append(run, "--model", out(c.name+".ncd"))
			}
			code, stdout, stderr := runCLI(t, "", run...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
			}
			if err := json.Unmarshal([]byte(stdout), &res[i]); err != nil {
				t.Fatal(err)
			}
		}
		if read(c.name+"1.csv") != read(c.name+"2.csv") {
			t.Fatalf("%s: predictions differ between --threads 1 and 2", c.name)
		}
		r := res[0]
		if c.name == "ens" {
			// Estimated in the latent after 2 pretraining epochs: any k
			// the scan can give, but the same at both thread counts.
			if r.K < 1 || r.K > 30 || r.K != res[1].K || !r.KEstimated {
				t.Errorf("ens: k %d and %d (estimated %v)", r.K, res[1].K, r.KEstimated)
			}
			ensK = r.K
		} else if r.K != 5 || r.Ensemble != 1 || r.Config["ensemble"] != float64(1) {
			t.Errorf("single: k %d, want 5; ensemble %d (config %v), want 1 by default", r.K, r.Ensemble, r.Config["ensemble"])
		}
		if r.Method != "tabularncd" || r.Latent != "clustering-head" || r.Clustered != 1734 {
			t.Errorf("%s: --json method %q latent %q clustered %d", c.name, r.Method, r.Latent, r.Clustered)
		}
		if _, ok := r.FinalLoss["clustering"]; !ok || r.Config["epochs"] != float64(3) || r.Config["dropout"] != float64(0) {
			t.Errorf("%s: final loss %v, config epochs %v dropout %v (want 3 and TabularNCD's default 0)", c.name, r.FinalLoss, r.Config["epochs"], r.Config["dropout"])
		}
		if code, _, stderr := runCLI(t, "", "cluster", "--model", out(c.name+".ncd"), "--data", "../../testdata/pendigits_test.csv",
			"--novel", "0,3,5,6,7", "--out", out(c.name+"-again.csv"), "--quiet"); code != 0 {
			t.Fatalf("%s: cluster --model: exit %d: %s", c.name, code, stderr)
		}
		if read(c.name+"1.csv") != read(c.name+"-again.csv") {
			t.Fatalf("%s: the saved model assigns the rows differently from fit", c.name)
		}
		_, stdout, _ := runCLI(t, "", "eval", "--data", out(c.name+"1.csv"), "--json")
		var ev evalResult
		if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
			t.Fatal(err)
		}
		// 3 joint epochs already find most of the structure ([O] reached
		// .77-.78 after 1 epoch); chance is about .2.
		if ev.ACC < 0.6 {
			t.Errorf("%s: ACC %.3f after 3 epochs", c.name, ev.ACC)
		}
	}
	if read("single1.csv") == read("ens1.csv") {
		t.Error("the ensemble predicted exactly what one network did")
	}
	code, _, stderr := runCLI(t, "", "cluster", "--model", out("single.ncd"), "--data", "../../testdata/pendigits_test.csv",
		"--novel", "0,3,5,6,7", "--assign-known", "--out", out("ak.csv"))
	if code != exitUsage || !strings.Contains(stderr, "--assign-known needs a PBN model") {
		t.Errorf("cluster --model --assign-known on a TabularNCD model: exit %d %q", code, stderr)
	}
	m, err := model.Load(out("ens.ncd"))
	if err != nil || len(m.TabularNCD) != 2 || m.Net != nil || m.K != ensK || m.TabularNCD[0].K() != ensK || !m.KEstimated {
		t.Fatalf("saved ensemble: err %v", err)
	}
}

// TestTabularNCDBadInput: bad hyperparameters are usage errors naming the
// problem, with no output written.
func TestTabularNCDBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--activation", "tanh"}, "activation"},
		{[]string{"--w1", "1.5"}, "w1"},
		{[]string{"--top-k", "0"}, "top-k"},
		{[]string{"--k-neighbors", "0"}, "k-neighbors"},
		{[]string{"--setting", "gcd"}, "--setting gcd needs --method pbn"},
		{[]string{"--max-steps", "100"}, "--max-steps applies to --method pbn and baseline"}, // not a cap it ignores
		{[]string{"--pretrain-batch-size", "0"}, "--pretrain-batch-size must be >= 1"},       // panicked (divide by zero)
		{[]string{"--epochs", "0"}, "--epochs must be >= 1"},                                 // trained nothing, exit 0
		{[]string{"--vime-alpha", "-1"}, "--vime-alpha must be >= 0"},                        // said "alpha", a --setting gcd flag
		{[]string{"--lr-cluster", "-1"}, "--lr-classif and --lr-cluster must be > 0"},
	} {
		outPath := filepath.Join(dir, "x.csv")
		args := append([]string{"fit", "--method", "tabularncd", "--data", "../../testdata/iris.csv", "--novel", "virginica", "--out", outPath}, c.flags...)
		code, _, stderr := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q", c.flags, code, stderr)
		}
		if _, err := os.Stat(outPath); err == nil {
			t.Errorf("%v: an output file was written for a failed run", c.flags)
		}
	}
}

// TestTuneTabularNCD: tune searches TabularNCD's space and writes a config
// that fit runs.
func TestTuneTabularNCD(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	best := filepath.Join(dir, "best.yaml")
	code, stdout, stderr := runCLI(t, "", "tune", "--method", "tabularncd", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
		"--trials", "2", "--folds", "2", "--k", "true", "--pretrain-epochs", "1", "--epochs", "1", "--out", best, "--json", "--quiet", "--threads", "2")
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	var res tuneResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Method != "tabularncd" || res.Trials != 2 {
		t.Fatalf("tune --json: method %q, %d trials", res.Method, res.Trials)
	}
	cfg, err := os.ReadFile(best)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"method: \"tabularncd\"", "lr-classif:", "lr-cluster:", "top-k:", "k-neighbors:", "w1:", "w2:", "dropout:", "epochs: 1", "pretrain-epochs: 1"} {
		if !strings.Contains(string(cfg), key) {
			t.Errorf("best config lacks %q:\n%s", key, cfg)
		}
	}
	code, _, stderr = runCLI(t, "", "fit", "--config", best, "--k", "5", "--out", filepath.Join(dir, "p.csv"), "--quiet")
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("fit --config best.yaml: exit %d: %s", code, stderr)
	}
}

// TestTuneTabularNCDEpochs: tune --method tabularncd trains TabularNCD's 30
// joint epochs unless --epochs is given, whatever the value given: an
// explicit --epochs 200 (PBN's default) is 200, not 30.
func TestTuneTabularNCDEpochs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 30},
		{[]string{"--epochs", "200"}, 200},
		{[]string{"--epochs", "7"}, 7},
	} {
		app := &App{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
		root := newRootCmd(app)
		tune, _, err := root.Find([]string{"tune"})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var setting string
		tune.RunE = func(cmd *cobra.Command, _ []string) error {
			v, _, err := loadConfig(cmd, app)
			if err != nil {
				return err
			}
			got = tabularTuneConfig(cmd, v, common{}).Epochs
			setting = tabularSetting(cmd, v, "epochs")
			return nil
		}
		root.SetArgs(append([]string{"tune", "--method", "tabularncd"}, c.args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if got != c.want || setting != strconv.Itoa(c.want) {
			t.Errorf("tune %v: epochs %d, best config's epochs %q; want %d", c.args, got, setting, c.want)
		}
	}
}

// TabularNCD has no step cap: its --json says max_steps 0 (none), not
// PBN's default 25,000 next to the steps it ran.
func TestFitTabularNCDNoStepCap(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "fit", "--method", "tabularncd", "--data", "../../testdata/iris.csv", "--novel", "virginica",
		"--pretrain-epochs", "1", "--epochs", "2", "--k", "2", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r fitResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	// 150 rows: 2 VIME batches of 128 + 2 joint epochs x 1 batch x 2 steps = 6.
	if r.MaxSteps != 0 || r.Epochs != 3 || r.Steps != 6 || strings.Contains(stdout, `"max-steps"`) {
		t.Errorf("max_steps %d, epochs %d, steps %d; want 0, 3, 6 and no max-steps in the config", r.MaxSteps, r.Epochs, r.Steps)
	}
}

// fit --epochs 0 trained nothing and exited 0 (PBN too); a bad PBN setting
// names its flag. No output file is written.
func TestFitPBNBadBudget(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--epochs", "0"}, "--epochs must be >= 1, got 0"},
		{[]string{"--max-steps", "-1"}, "--max-steps must be >= 0 (0: no cap), got -1"},
		{[]string{"--latent-dim", "0"}, "--latent-dim must be >= 1"},
	} {
		outPath := filepath.Join(dir, "x.csv")
		args := append([]string{"fit", "--data", "../../testdata/iris.csv", "--novel", "virginica", "--ensemble", "1", "--out", outPath}, c.flags...)
		code, _, stderr := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", c.flags, code, stderr, c.want)
		}
		if _, err := os.Stat(outPath); err == nil {
			t.Errorf("%v: an output file was written for a failed run", c.flags)
		}
	}
}

// tune --method tabularncd refuses --max-steps as fit does (it ignored it),
// and a bad TabularNCD setting before any fold runs.
func TestTuneTabularNCDBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--max-steps", "100"}, "--max-steps applies to --method pbn and baseline"},
		{[]string{"--pretrain-batch-size", "0"}, "--pretrain-batch-size must be >= 1"},
	} {
		out := filepath.Join(dir, "best.yaml")
		args := append([]string{"tune", "--method", "tabularncd", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3",
			"--trials", "1", "--out", out}, c.flags...)
		code, _, stderr := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", c.flags, code, stderr, c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "best.study.jsonl")); err == nil {
			t.Errorf("%v: a study file was written for a refused run", c.flags)
		}
	}
}

// TestFitTabularNCDEmptyClusters: a TabularNCD clustering head that
// collapses (iris, 100 novel rows, --k 8: the head's argmax uses few of its
// 8 outputs) is said on stderr and in --json, naming how many clusters got
// rows; a fit whose k clusters all received rows says nothing.
func TestFitTabularNCDEmptyClusters(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		k          string
		wantNote   bool
		mustReport bool // the collapse must happen (the case the test is about)
	}{{"8", true, true}, {"2", false, false}} {
		args := []string{"fit", "--method", "tabularncd", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
			"--k", c.k, "--seed", "0", "--out", filepath.Join(dir, "p"+c.k+".csv")}
		code, _, stderr := runCLI(t, "", args...)
		if code != 0 {
			t.Fatalf("k %s: exit %d: %s", c.k, code, stderr)
		}
		code, stdout, stderr2 := runCLI(t, "", append(args, "--json", "--quiet")...)
		if code != 0 {
			t.Fatalf("k %s --json: exit %d: %s", c.k, code, stderr2)
		}
		var r struct {
			K             int            `json:"k"`
			Sizes         map[string]int `json:"sizes"`
			EmptyClusters int            `json:"empty_clusters"`
			Notes         []string       `json:"notes"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		k, _ := strconv.Atoi(c.k)
		got := len(r.Sizes)
		if c.mustReport && got >= k {
			t.Fatalf("k %s: %d clusters received rows: the head did not collapse, the test proves nothing", c.k, got)
		}
		if r.EmptyClusters != k-got {
			t.Errorf("k %s: --json empty_clusters %d, want %d (sizes %v)", c.k, r.EmptyClusters, k-got, r.Sizes)
		}
		note := "only " + strconv.Itoa(got) + " of the k=" + c.k + " novel clusters received rows (" + strconv.Itoa(k-got) + " empty)"
		if got < k {
			if !strings.Contains(stderr, "ncd: note: "+note) {
				t.Errorf("k %s: stderr lacks %q:\n%s", c.k, note, stderr)
			}
			if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], note) {
				t.Errorf("k %s: --json notes %q, want one containing %q", c.k, r.Notes, note)
			}
		} else if strings.Contains(stderr, "received rows") || len(r.Notes) != 0 {
			t.Errorf("k %s: all clusters got rows but a note was given: %s %q", c.k, stderr, r.Notes)
		}
		if c.wantNote != (got < k) {
			t.Errorf("k %s: %d of %d clusters received rows", c.k, got, k)
		}
		if strings.Contains(stderr2, "note:") {
			t.Errorf("k %s: --quiet printed a note: %s", c.k, stderr2)
		}
	}
}
