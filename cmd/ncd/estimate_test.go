package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampledEstimateJSON is the part of estimate-k's --json a sampled scan adds to.
type sampledEstimateJSON struct {
	K      int                  `json:"k"`
	Rows   int                  `json:"rows"`
	Ks     []int                `json:"ks"`
	Scores map[string][]float64 `json:"scores"`
	Sample *struct {
		Rows         int       `json:"rows"`
		Sampled      int       `json:"sampled"`
		Strata       int       `json:"strata"`
		SilhouetteSE []float64 `json:"silhouette_se"`
	} `json:"sample"`
}

// TestEstimateSampled: letter's 20,000 rows all unlabelled are more than a
// scan clusters (6,000): the scan runs on a stratified sample and says so
// in --json and on stderr, with the silhouette's sampling error per k; the
// result is the same at 1 and 2 threads. Small k range and restarts keep
// it quick.
func TestEstimateSampled(t *testing.T) {
	novel := "A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X,Y,Z"
	args := []string{"estimate-k", "--data", "../../testdata/letter.csv", "--novel", novel,
		"--k-max", "5", "--runs", "1", "--n-init", "2", "--seed", "4", "--k-rule", "1se"}
	var out [2]sampledEstimateJSON
	var raw [2]string
	for i, th := range []string{"1", "2"} {
		code, stdout, stderr := runCLI(t, "", append(args, "--json", "--threads", th)...)
		if code != 0 {
			t.Fatalf("threads %s: exit %d\n%s", th, code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), &out[i]); err != nil {
			t.Fatal(err)
		}
		raw[i] = stdout[:strings.Index(stdout, `"seconds"`)]
		if !strings.Contains(stderr, "+-se") || !strings.Contains(stderr, "20000 rows, scan on a sample of 6000 stratified by 30 clusters") {
			t.Errorf("stderr does not show the sample:\n%s", stderr)
		}
	}
	r := out[0]
	if r.Rows != 20000 || r.Sample == nil || r.Sample.Rows != 20000 || r.Sample.Sampled != 6000 || r.Sample.Strata != 30 ||
		len(r.Sample.SilhouetteSE) != 4 || len(r.Scores["silhouette"]) != 4 {
		t.Fatalf("--json: %+v, sample %+v", r, r.Sample)
	}
	for i, se := range r.Sample.SilhouetteSE {
		if !(se > 0 && se < 0.01) {
			t.Errorf("k = %d: silhouette error %v", r.Ks[i], se)
		}
	}
	if raw[0] != raw[1] {
		t.Errorf("--threads 1 and 2 differ:\n%s\n%s", raw[0], raw[1])
	}
	// known-acc samples too, by label: 26 novel classes leave no known one,
	// so hide 20 (6 known classes and the unlabelled rows: 7 strata).
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", "../../testdata/letter.csv", "--novel", novel[:39],
		"--index", "known-acc", "--k-max", "4", "--n-init", "1", "--json")
	var ka sampledEstimateJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &ka) != nil || ka.Sample == nil || ka.Sample.Sampled != 6000 || ka.Sample.Strata != 7 ||
		!strings.Contains(stderr, "scan on a sample of 6000 stratified by 7 labels") {
		t.Errorf("known-acc: exit %d, %s\n%s", code, stdout, stderr)
	}
	// A scan of fewer rows than that reports no sample.
	code, stdout, _ = runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "4", "--json", "--quiet")
	if code != 0 || strings.Contains(stdout, `"sample"`) {
		t.Errorf("iris: exit %d, %s", code, stdout)
	}
}

// TestEstimateProgressBar: on a terminal the scan shows a bar counting k
// of K, then one over the silhouette's row blocks.
func TestEstimateProgressBar(t *testing.T) {
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, StderrIsTTY: true}
	if code := Execute(app, []string{"estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "6", "--k-rule", "1se"}); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	for _, want := range []string{"estimating k (k-means, k of K)", "/5", "estimating k (silhouettes, row blocks)"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%q", want, errb.String())
		}
	}
}

// TestJSONFloats: an undefined index (NaN) is null in --json, which
// encoding/json cannot write for a float64; other values as it writes them.
func TestJSONFloats(t *testing.T) {
	b, err := json.Marshal(map[string]jsonFloats{"s": {0.5, math.NaN(), 1e21, 14560, 1e-7}})
	if err != nil || string(b) != `{"s":[0.5,null,1e+21,14560,1e-7]}` {
		t.Errorf("got %s, %v", b, err)
	}
}

// TestEstimatePredictionStrength: --k-rule ps on iris with every class
// unlabeled finds the 3 species (the silhouette prefers 2: setosa against
// the rest, TestEstimateKStdoutIsTheNumber, and the default stable rule
// keeps that 2, which is stable), shows PS and its error per k, and gives
// the same output at 1 and 2 threads; above estimate.PSSampleRows rows it
// runs on a seeded sample and says so.
func TestEstimatePredictionStrength(t *testing.T) {
	var raw [2]string
	for i, th := range []string{"1", "2"} {
		code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "8", "--json", "--threads", th, "--k-rule", "ps")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var res estimateResult
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		if res.K != 3 || res.Index != "ps" || len(res.Scores["ps"]) != 7 || len(res.Scores["ps_se"]) != 7 || res.Ks[0] != 2 {
			t.Fatalf("iris: %+v", res)
		}
		if !strings.Contains(stderr, "+-se") || !strings.Contains(stderr, "estimated k = 3 (index ps") {
			t.Errorf("stderr: %s", stderr)
		}
		raw[i] = stdout[:strings.Index(stdout, `"seconds"`)]
	}
	if raw[0] != raw[1] {
		t.Errorf("--threads 1 and 2 differ:\n%s\n%s", raw[0], raw[1])
	}
	code, _, stderr := runCLI(t, "", "estimate-k", "--data", "../../testdata/letter.csv", "--novel", "A,B,C,D,E,F", "--k-max", "3", "--k-rule", "ps")
	if code != 0 || !strings.Contains(stderr, "scan on a seeded sample of 3000") {
		t.Errorf("letter: exit %d\n%s", code, stderr)
	}
}

// TestEstimateStable: the default rule is the silhouette's 1se k checked
// by prediction strength. Iris: 1se says 2 (setosa against the rest), which
// is stable, so 2, with both curves in --json. Twelve rows of three
// well-separated groups are too few for prediction strength: 1se alone,
// with a note.
func TestEstimateStable(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "8", "--json")
	var res estimateResult
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if res.K != 2 || res.Index != "stable" || res.Best["silhouette"] != 2 || res.Best["ps"] != 2 || len(res.Scores["ps"]) != len(res.Ks) {
		t.Errorf("iris: %+v", res)
	}
	dir := t.TempDir()
	rows := "x,y,class\n"
	for i, c := range [][2]float64{{0, 0}, {10, 0}, {0, 10}} {
		for j := range 4 {
			rows += fmt.Sprintf("%g,%g,g%d\n", c[0]+0.1*float64(j), c[1]-0.1*float64(j%2), i)
		}
	}
	small := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(small, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "", "estimate-k", "--data", small, "--novel", "g0,g1,g2", "--k-max", "5")
	if code != 0 || stdout != "3\n" || !strings.Contains(stderr, "prediction strength needs at least 20 rows (12 here)") {
		t.Errorf("12 rows: exit %d, k %q\n%s", code, stdout, stderr)
	}
}

// TestFitKAutoSameAtAnyThreads: fit's default k estimate (the sizes rule,
// and the stable rule's scan: silhouette, then prediction strength) in a
// 2-network latent gives
// the same k, scores and predictions at 1 and 2 threads.
func TestFitKAutoSameAtAnyThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	var outs [2]string
	var ks [2]string
	for i, th := range []string{"1", "2"} {
		p := filepath.Join(dir, "p"+th+".csv")
		code, stdout, stderr := runCLI(t, "", "fit", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
			"--epochs", "4", "--ensemble", "2", "--k-max", "10", "--seed", "3", "--threads", th, "--out", p, "--json", "--quiet")
		if code != 0 {
			t.Fatalf("threads %s: exit %d: %s", th, code, stderr)
		}
		var res struct {
			K        int             `json:"k"`
			Estimate json.RawMessage `json:"estimate"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.K < 1 {
			t.Fatalf("threads %s: %v %s", th, err, stdout)
		}
		est := string(res.Estimate)
		ks[i] = fmt.Sprint(res.K, est[:strings.Index(est, `"seconds"`)])
		if !strings.Contains(est, `"index": "stable"`) || !strings.Contains(est, `"ps"`) {
			t.Errorf("estimate is not the stable rule's: %s", est)
		}
		// The default rule, sizes: pendigits' classes are even, and 3717
		// unlabeled rows are 4.92 known classes' worth (TestKRuleSizes).
		if res.K != 5 || !strings.Contains(est, `"used": true`) || !strings.Contains(est, `"unlabeled_rows": 3717`) {
			t.Errorf("k %d, not from the class sizes: %s", res.K, est)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = string(b)
	}
	if ks[0] != ks[1] || outs[0] != outs[1] {
		t.Errorf("threads 1 and 2 differ:\n%s\n%s", ks[0], ks[1])
	}
}
