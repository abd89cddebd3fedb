package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// gcdFitJSON is the part of fit --json the tests read.
type gcdFitJSON struct {
	Setting string `json:"setting"`
	K       int    `json:"k"`
	GCD     struct {
		KNew      int     `json:"k_new"`
		Estimated bool    `json:"k_new_estimated"`
		NFlagged  int     `json:"n_flagged"`
		Expected  float64 `json:"expected_flagged"`
		ExistP    float64 `json:"existence_p"`
		Exists    bool    `json:"new_classes"`
		NCal      int     `json:"calibration_rows"`
		NovelRows int     `json:"rows_novel"`
		Curve     *struct {
			Ks []int     `json:"ks"`
			PS []float64 `json:"ps"`
		} `json:"k_curve"`
	} `json:"gcd"`
}

// gcdFit runs fit --setting gcd on optdigits' training table (2 networks,
// 30 epochs: a few seconds) with half of each known digit's labels hidden.
func gcdFit(t *testing.T, dir, name string, threads int, extra ...string) (gcdFitJSON, map[string][]string) {
	t.Helper()
	out := filepath.Join(dir, name+".csv")
	args := append([]string{"fit", "--data", "../../testdata/optdigits_train.csv", "--unlabel-known", "0.5", "--setting", "gcd",
		"--ensemble", "2", "--epochs", "30", "--seed", "0", "--json", "--out", out, "--threads", strconv.Itoa(threads)}, extra...)
	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("fit %v: exit %d: %s", extra, code, stderr)
	}
	var j gcdFitJSON
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("fit --json: %v: %s", err, stdout)
	}
	return j, readCSVColumns(t, out)
}

// evalJSON runs eval --json on a predictions file.
func evalJSON(t *testing.T, path string) map[string]float64 {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", "eval", "--data", path, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for k, v := range m {
		if f, ok := v.(float64); ok {
			out[k] = f
		}
	}
	return out
}

// checkGCDColumns: labeled rows are not novel, p = confidence = 1; every
// unlabeled row's novelty_p is a conformal p-value (1+j)/(nCal+1); novel
// is true exactly for the rows in a novel_<j> cluster.
func checkGCDColumns(t *testing.T, cols map[string][]string, nCal int) (novelRows int) {
	t.Helper()
	for _, name := range []string{"cluster", "unlabeled", "novel", "novelty_p", "confidence"} {
		if cols[name] == nil {
			t.Fatalf("no %s column", name)
		}
	}
	for i, u := range cols["unlabeled"] {
		p, err := strconv.ParseFloat(cols["novelty_p"][i], 64)
		if err != nil {
			t.Fatalf("row %d: novelty_p %q", i+1, cols["novelty_p"][i])
		}
		conf, _ := strconv.ParseFloat(cols["confidence"][i], 64)
		isNovel := strings.HasPrefix(cols["cluster"][i], "novel_")
		if cols["novel"][i] != strconv.FormatBool(isNovel) {
			t.Fatalf("row %d: cluster %s, novel %s", i+1, cols["cluster"][i], cols["novel"][i])
		}
		if u == "false" {
			if p != 1 || conf != 1 || isNovel {
				t.Fatalf("labeled row %d: p %v confidence %v cluster %s", i+1, p, conf, cols["cluster"][i])
			}
			continue
		}
		j := p*float64(nCal+1) - 1
		if math.Abs(j-math.Round(j)) > 1e-6 || j < -1e-6 || j > float64(nCal)+1e-6 {
			t.Fatalf("row %d: novelty_p %v is not (1+j)/%d", i+1, p, nCal+1)
		}
		if !(conf > 0 && conf <= 1) {
			t.Fatalf("row %d: confidence %v", i+1, conf)
		}
		if isNovel {
			novelRows++
		}
	}
	return novelRows
}

// TestGCDFitNoNewClass (S3): optdigits with no class hidden, half of each
// digit's labels hidden: the existence test fails (measured p .04; 139
// rows flagged where 94.5 are expected), k_new = 0, every unlabeled row is
// named by the classifier, so acc_old_named = acc; the expected count is
// n_unlabeled * floor(.05 (n_cal+1)) / (n_cal+1). Same output at 1 and 2
// threads.
func TestGCDFitNoNewClass(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	j, cols := gcdFit(t, dir, "s3", 1)
	if j.Setting != "gcd" || j.K != 0 || j.GCD.KNew != 0 || j.GCD.Exists || !j.GCD.Estimated || j.GCD.NovelRows != 0 {
		t.Fatalf("S3: %+v", j)
	}
	if j.GCD.ExistP < 1e-3 {
		t.Errorf("existence p %v, want >= 1e-3", j.GCD.ExistP)
	}
	nUnl := 0
	for _, u := range cols["unlabeled"] {
		if u == "true" {
			nUnl++
		}
	}
	if nUnl != 1914 {
		t.Errorf("%d unlabeled rows, want 1914 (half of 3823 rows per digit, rounded)", nUnl)
	}
	m := math.Floor(0.05 * float64(j.GCD.NCal+1))
	if want := float64(nUnl) * m / float64(j.GCD.NCal+1); math.Abs(j.GCD.Expected-want) > 1e-9 {
		t.Errorf("expected flagged %v, want %v", j.GCD.Expected, want)
	}
	if checkGCDColumns(t, cols, j.GCD.NCal) != 0 {
		t.Error("rows in novel clusters with k_new = 0")
	}
	e := evalJSON(t, filepath.Join(dir, "s3.csv"))
	if e["acc_old_named"] != e["acc"] || e["acc"] < 0.8 || e["k_new"] != 0 {
		t.Errorf("eval: %v", e)
	}
	j2, _ := gcdFit(t, dir, "s3t2", 2)
	a, _ := os.ReadFile(filepath.Join(dir, "s3.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "s3t2.csv"))
	if string(a) != string(b) || j2.GCD != j.GCD {
		t.Error("1 and 2 threads differ")
	}
}

// TestGCDFitOneNewClass (S2): digit 0 hidden as well: about 480 rows
// flagged for about 100 expected (p < 1e-10), k_new = 1 (prediction
// strength falls below .8 at k = 2), the novel cluster is digit 0 (acc_new
// > .95). Same output at 1 and 2 threads; 'cluster --model' gives the
// fit's rows the fit's novelty p-values and names.
func TestGCDFitOneNewClass(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "m.ncd")
	j, cols := gcdFit(t, dir, "s2", 1, "--novel", "0", "--model", model)
	if j.GCD.KNew != 1 || !j.GCD.Exists || j.GCD.ExistP > 1e-10 || j.GCD.Curve == nil || j.GCD.Curve.PS[0] != 1 || j.GCD.Curve.PS[1] >= 0.8 {
		t.Fatalf("S2: %+v curve %+v", j.GCD, j.GCD.Curve)
	}
	if n := checkGCDColumns(t, cols, j.GCD.NCal); n != j.GCD.NovelRows || n < 300 {
		t.Errorf("%d rows in novel clusters (json %d)", n, j.GCD.NovelRows)
	}
	e := evalJSON(t, filepath.Join(dir, "s2.csv"))
	if e["k_new"] != 1 || e["k_new_true"] != 1 || e["acc_new"] < 0.95 || e["acc"] < 0.8 {
		t.Errorf("eval: %v", e)
	}
	j2, _ := gcdFit(t, dir, "s2t2", 2, "--novel", "0")
	a, _ := os.ReadFile(filepath.Join(dir, "s2.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "s2t2.csv"))
	if string(a) != string(b) || j2.GCD.KNew != j.GCD.KNew || j2.GCD.NFlagged != j.GCD.NFlagged {
		t.Error("1 and 2 threads differ")
	}
	// The model scores and names the same rows as the fit did.
	cm := filepath.Join(dir, "cm.csv")
	if code, _, stderr := runCLI(t, "", "cluster", "--model", model, "--data", "../../testdata/optdigits_train.csv", "--out", cm, "--quiet"); code != 0 {
		t.Fatalf("cluster --model: exit %d: %s", code, stderr)
	}
	if c, _ := os.ReadFile(cm); string(c) != string(a) {
		t.Error("cluster --model differs from fit's predictions")
	}
	// estimate-k in the model's latent finds the fit's k_new.
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--model", model, "--data", "../../testdata/optdigits_train.csv", "--setting", "gcd", "--quiet")
	if code != 0 || strings.TrimSpace(stdout) != "1" {
		t.Errorf("estimate-k --model --setting gcd: exit %d, %q, %s", code, stdout, stderr)
	}
}

// TestGCDClusterAndEstimate: without a network. In optdigits' z-scored
// features, with no class hidden, ncd-kmeans and estimate-k find no new
// class (the existence test fails: measured p .40) and every unlabeled
// row is named by its nearest labelled rows (acc_old_named .974); with
// digit 0 hidden, ncd-sc's spectral embedding flags it (p < 1e-10) and
// finds k_new >= 1, the novel clusters holding mostly zeros (acc_new > .9).
func TestGCDClusterAndEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("spectral embedding of 3,823 rows")
	}
	dir := t.TempDir()
	base := []string{"--data", "../../testdata/optdigits_train.csv", "--unlabel-known", "0.5", "--setting", "gcd", "--seed", "0"}
	code, stdout, stderr := runCLI(t, "", append([]string{"estimate-k", "--quiet"}, base...)...)
	if code != 0 || strings.TrimSpace(stdout) != "0" {
		t.Errorf("estimate-k --setting gcd: exit %d, %q, %s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "km.csv")
	code, stdout, stderr = runCLI(t, "", append([]string{"cluster", "--method", "ncd-kmeans", "--out", out, "--json"}, base...)...)
	if code != 0 {
		t.Fatalf("cluster ncd-kmeans: exit %d: %s", code, stderr)
	}
	var j struct {
		K   int `json:"k"`
		GCD struct {
			KNew   int     `json:"k_new"`
			ExistP float64 `json:"existence_p"`
			NCal   int     `json:"calibration_rows"`
		} `json:"gcd"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	if j.K != 0 || j.GCD.KNew != 0 || j.GCD.ExistP < 1e-3 {
		t.Errorf("ncd-kmeans S3: %+v", j)
	}
	checkGCDColumns(t, readCSVColumns(t, out), j.GCD.NCal)
	if e := evalJSON(t, out); e["acc_old_named"] < 0.95 {
		t.Errorf("ncd-kmeans S3 eval: %v", e)
	}
	out = filepath.Join(dir, "sc.csv")
	code, stdout, stderr = runCLI(t, "", append([]string{"cluster", "--method", "ncd-sc", "--novel", "0", "--out", out, "--json"}, base...)...)
	if code != 0 {
		t.Fatalf("cluster ncd-sc: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	if j.GCD.KNew < 1 || j.GCD.ExistP > 1e-10 {
		t.Errorf("ncd-sc S2: %+v", j)
	}
	checkGCDColumns(t, readCSVColumns(t, out), j.GCD.NCal)
	if e := evalJSON(t, out); e["acc_new"] < 0.9 || e["k_new_true"] != 1 {
		t.Errorf("ncd-sc S2 eval: %v", e)
	}
}

// TestGCDBadFlags: values the generalized setting refuses, before any
// work, with exit 2 and no output file.
func TestGCDBadFlags(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.csv")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--calib-frac", "1.5"}, "--calib-frac must be a fraction strictly between 0 and 1, got 1.5"},
		{[]string{"--calib-frac", "0"}, "--calib-frac must be a fraction strictly between 0 and 1, got 0"},
		{[]string{"--alpha", "0"}, "--alpha must be strictly between 0 and 1, got 0"},
		{[]string{"--alpha", "1"}, "--alpha must be strictly between 0 and 1, got 1"},
		{[]string{"--setting", "open"}, `--setting must be ncd or gcd, got "open"`},
		{[]string{"--novelty", "msp"}, `--novelty must be knn or centroid, got "msp"`},
		{[]string{"--k", "-1"}, `--k must be auto or a positive integer, got "-1"`},
	} {
		for _, cmd := range []string{"fit", "cluster", "estimate-k"} {
			if cmd == "estimate-k" && c.args[0] == "--k" {
				continue
			}
			args := []string{cmd, "--data", "../../testdata/iris.csv", "--setting", "gcd"}
			if cmd != "estimate-k" {
				args = append(args, "--out", out)
			}
			args = append(args, c.args...)
			code, _, stderr := runCLI(t, "", args...)
			if code != exitUsage || !strings.Contains(stderr, c.msg) {
				t.Errorf("%s %v: exit %d, %q; want 2, %q", cmd, c.args, code, stderr, c.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%s %v left %s", cmd, c.args, out)
			}
		}
	}
	code, _, stderr := runCLI(t, "", "cluster", "--data", "../../testdata/iris.csv", "--setting", "gcd", "--method", "kmeans", "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "--setting gcd works with --method ncd-kmeans or ncd-sc, not kmeans") {
		t.Errorf("cluster --method kmeans --setting gcd: exit %d %q", code, stderr)
	}
	// --k 0 is legal under gcd only.
	code, _, stderr = runCLI(t, "", "fit", "--data", "../../testdata/iris.csv", "--k", "0", "--out", out)
	if code != exitUsage || !strings.Contains(stderr, `--k must be auto or a positive integer, got "0"`) {
		t.Errorf("ncd --k 0: exit %d %q", code, stderr)
	}
}

// TestGCDTune: tune --setting gcd on optdigits with the paper's 5 novel
// digits (5 known digits left): 2 folds hiding 2 or 3 of them, plus a null
// fold hiding none. Each fold's rows to cluster are its hidden digits'
// rows plus round(.5 n_c) rows of every digit it keeps (n_c from the
// file); the null fold's are the latter only. best.yaml records the
// setting, so 'fit --config best.yaml' runs the same pipeline.
func TestGCDTune(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	best := filepath.Join(dir, "best.yaml")
	code, stdout, stderr := runCLI(t, "", "tune", "--data", "../../testdata/optdigits_train.csv", "--novel", "0,3,4,5,6", "--setting", "gcd",
		"--trials", "1", "--epochs", "5", "--folds", "2", "--null-folds", "1", "--json", "--out", best, "--threads", "2")
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	var j struct {
		Folds []struct {
			Hidden []string `json:"hidden"`
			Rows   int      `json:"rows"`
		} `json:"folds"`
		Best struct {
			Folds []struct {
				ACC float64 `json:"acc"`
				K   int     `json:"k"`
			} `json:"folds"`
		} `json:"best"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, c := range readCSVColumns(t, "../../testdata/optdigits_train.csv")["class"] {
		n[c]++
	}
	if len(j.Folds) != 3 || len(j.Folds[2].Hidden) != 0 || len(j.Best.Folds) != 3 {
		t.Fatalf("folds %+v best %+v", j.Folds, j.Best)
	}
	for f, fold := range j.Folds {
		want := 0
		for _, c := range []string{"1", "2", "7", "8", "9"} {
			if slices.Contains(fold.Hidden, c) {
				want += n[c]
			} else {
				want += int(math.Round(0.5 * float64(n[c])))
			}
		}
		if fold.Rows != want {
			t.Errorf("fold %d (hides %v): %d rows to cluster, want %d", f, fold.Hidden, fold.Rows, want)
		}
		if s := j.Best.Folds[f]; s.ACC <= 0 || s.ACC > 1 || s.K < 0 {
			t.Errorf("fold %d: %+v", f, s)
		}
	}
	b, err := os.ReadFile(best)
	if err != nil || !strings.Contains(string(b), `setting: "gcd"`) || !strings.Contains(string(b), "calib-frac: ") {
		t.Errorf("best.yaml lacks the setting: %s %v", b, err)
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--fold-unlabel", "1"}, "--fold-unlabel must be a fraction in [0, 1), got 1"},
		{[]string{"--method", "ncd-sc"}, "tune --setting gcd works with --method pbn or baseline, not ncd-sc"},
		{[]string{"--null-folds", "-1"}, "--null-folds must be between 0 and 20, got -1"},
	} {
		args := append([]string{"tune", "--data", "../../testdata/iris.csv", "--setting", "gcd", "--out", filepath.Join(dir, "b2.yaml")}, c.args...)
		if code, _, stderr := runCLI(t, "", args...); code != exitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("tune %v: exit %d %q", c.args, code, stderr)
		}
	}
}
