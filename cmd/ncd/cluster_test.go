package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/model"
)

const irisPath = "../../testdata/iris.csv"

// TestClusterKMeansIrisMatchesSklearn: k-means (k=2, n_init 10) on the
// z-scored versicolor+virginica rows of iris. Reference: scikit-learn 1.2.1
// KMeans(2, n_init=10), best of random_state 0..19, on StandardScaler()
// features of all 150 rows: inertia 92.15208585078541; ACC 0.75 (scipy
// linear_sum_assignment), NMI 0.18983907181393764, ARI 0.2423747699064116.
func TestClusterKMeansIrisMatchesSklearn(t *testing.T) {
	dir := t.TempDir()
	pred := filepath.Join(dir, "p.csv")
	code, stdout, stderr := runCLI(t, "", "cluster", "--data", irisPath, "--novel", "versicolor,virginica",
		"--method", "kmeans", "--k", "2", "--out", pred, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res clusterResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.K != 2 || res.Clustered != 100 || res.Rows != 150 {
		t.Fatalf("k %d clustered %d rows %d", res.K, res.Clustered, res.Rows)
	}
	if rel := (res.Inertia - 92.15208585078541) / 92.15208585078541; math.Abs(rel) > 1e-9 {
		t.Errorf("inertia %.12f, scikit-learn 92.15208585078541", res.Inertia)
	}
	code, stdout, stderr = runCLI(t, "", "eval", "--data", pred, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name      string
		got, want float64
	}{{"acc", ev.ACC, 0.75}, {"nmi", ev.NMI, 0.18983907181393764}, {"ari", ev.ARI, 0.2423747699064116}} {
		if math.Abs(m.got-m.want) > 1e-9 {
			t.Errorf("%s = %.12f, scikit-learn %.12f", m.name, m.got, m.want)
		}
	}

	// The output keeps every input column, adds cluster and unlabeled, and
	// labeled rows keep their class.
	data, err := os.ReadFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 151 {
		t.Fatalf("%d lines, want header + 150", len(lines))
	}
	header := strings.Split(lines[0], ",")
	if header[len(header)-2] != "cluster" || header[len(header)-1] != "unlabeled" || header[len(header)-3] != "class" {
		t.Fatalf("header %v", header)
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		class, cl, unl := f[len(f)-3], f[len(f)-2], f[len(f)-1]
		if class == "setosa" && (cl != "setosa" || unl != "false") {
			t.Fatalf("labeled row written as %q", l)
		}
		if class != "setosa" && (!strings.HasPrefix(cl, "novel_") || unl != "true") {
			t.Fatalf("novel row written as %q", l)
		}
	}
}

// TestClusterDeterministicAcrossThreads: same seed, any --threads, same bytes.
func TestClusterDeterministicAcrossThreads(t *testing.T) {
	dir := t.TempDir()
	for _, method := range []string{"kmeans", "ncd-kmeans", "sc", "ncd-sc"} {
		var outs []string
		for _, threads := range []string{"1", "2"} {
			p := filepath.Join(dir, method+threads+".csv")
			code, _, stderr := runCLI(t, "", "cluster", "--data", irisPath, "--novel", "versicolor,virginica",
				"--method", method, "--k", "2", "--seed", "7", "--threads", threads, "--out", p, "--quiet")
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", method, code, stderr)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, string(b))
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: --threads 1 and 2 gave different predictions", method)
		}
	}
}

func TestClusterBadInput(t *testing.T) {
	dir := t.TempDir()
	labeledOnly := writeFile(t, dir, "l.csv", "a,b,class\n1,2,x\n3,4,y\n5,6,x\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "--data", irisPath, "--novel", "virginica", "--method", "dbscan"}, "--method must be"},
		{[]string{"cluster", "--data", irisPath, "--novel", "virginica", "--k", "zero"}, "--k must be auto or a positive integer"},
		{[]string{"cluster", "--data", irisPath, "--novel", "tulip"}, "tulip"},
		{[]string{"cluster", "--data", labeledOnly, "--k", "2"}, "no unlabeled rows"},
		{[]string{"cluster", "--data", irisPath, "--novel", "virginica", "--k", "2", "--out", filepath.Join(dir, "no", "p.csv")}, "does not exist"},
		{[]string{"cluster", "--data", irisPath, "--novel", "virginica", "--k", "2", "--out", filepath.Join(dir, "p.xlsx")}, "p.xlsx"},
		{[]string{"cluster", "--data", irisPath, "--novel", "virginica", "--method", "sc", "--k", "2", "--min-dist", "1.5"}, "min_dist"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 { // only l.csv: no partial output anywhere
		t.Errorf("files left behind: %d entries", len(entries))
	}
}

// TestEstimateKStdoutIsTheNumber: iris with every class unlabeled; the
// silhouette is clearly highest at k = 2 (setosa vs the rest: scikit-learn's
// silhouette_score is 0.58 at k=2 and 0.46 at k=3 for KMeans labels).
func TestEstimateKStdoutIsTheNumber(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "8", "--k-rule", "1se")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "2\n" {
		t.Fatalf("stdout %q, want the estimate alone", stdout)
	}
	if !strings.Contains(stderr, "silhouette") || !strings.Contains(stderr, "estimated k = 2") {
		t.Fatalf("stderr lacks the table: %q", stderr)
	}
	code, stdout, _ = runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "8", "--index", "all", "--json", "--quiet")
	var res estimateResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 {
		t.Fatalf("json: %v (exit %d)", err, code)
	}
	if len(res.Ks) != 7 || len(res.Scores["silhouette"]) != 7 || len(res.Scores["ch"]) != 7 || res.Best["silhouette"] != 2 {
		t.Fatalf("scores %+v", res)
	}
	plot := filepath.Join(t.TempDir(), "k.svg")
	if code, _, stderr = runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "setosa,versicolor,virginica", "--k-max", "5", "--plot", plot, "--quiet"); code != 0 {
		t.Fatalf("plot: exit %d %s", code, stderr)
	}
	// The default rule's plot: the silhouette and prediction strength panels; 2 is stable.
	if b, err := os.ReadFile(plot); err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "chosen k = 2") || !strings.Contains(string(b), "prediction strength") {
		t.Fatalf("plot file: %v", err)
	}
}

// TestFitModelRoundTrip: a short PBN fit on pendigits; the saved model
// reassigns the test rows exactly as fit did, at any thread count, and a
// damaged model file is refused with exit code 2.
func TestFitModelRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	model, pred := filepath.Join(dir, "m.ncd"), filepath.Join(dir, "p.csv")
	args := []string{"fit", "--data", "../../testdata/pendigits_train.csv", "--test", "../../testdata/pendigits_test.csv",
		"--novel", "0,3,5,6,7", "--epochs", "5", "--k", "5", "--lr", "3e-3", "--latent-dim", "11", "--quiet"}
	code, _, stderr := runCLI(t, "", append(args, "--model", model, "--out", pred, "--threads", "1")...)
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	pred2 := filepath.Join(dir, "p2.csv")
	if code, _, stderr = runCLI(t, "", append(args, "--out", pred2, "--threads", "2")...); code != 0 {
		t.Fatalf("fit threads 2: exit %d: %s", code, stderr)
	}
	again := filepath.Join(dir, "again.csv")
	if code, _, stderr = runCLI(t, "", "cluster", "--model", model, "--data", "../../testdata/pendigits_test.csv", "--out", again, "--quiet"); code != 0 {
		t.Fatalf("cluster --model: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(pred)
	b, _ := os.ReadFile(pred2)
	c, _ := os.ReadFile(again)
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("fit predictions differ between --threads 1 and 2")
	}
	if string(a) != string(c) {
		t.Fatal("the saved model assigns the rows differently from fit")
	}
	_, stdout, _ := runCLI(t, "", "eval", "--data", pred, "--json")
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	// k-means on the raw features already reaches 0.817; 5 epochs of PBN
	// must at least find real structure.
	if ev.ACC < 0.6 || ev.Rows != 1734 {
		t.Fatalf("ACC %.3f on %d rows", ev.ACC, ev.Rows)
	}

	raw, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.ncd")
	if err := os.WriteFile(bad, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "", "cluster", "--model", bad, "--data", "../../testdata/pendigits_test.csv", "--out", filepath.Join(dir, "x.csv"))
	if code != exitUsage || !strings.Contains(stderr, "truncated") {
		t.Fatalf("truncated model: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); err == nil {
		t.Fatal("an output file was written for a failed run")
	}
}

// TestLabelsStayVerbatim: class names that look like numbers are names:
// "007" must come back as "007", not 7.
func TestLabelsStayVerbatim(t *testing.T) {
	dir := t.TempDir()
	data := writeFile(t, dir, "d.csv", "a,b,class\n1,2,007\n2,3,007\n5,5,\n6,6,NA\n1,1,08\n")
	code, stdout, stderr := runCLI(t, "", "cluster", "--data", data, "--k", "1", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "a,b,class,cluster,unlabeled\n1,2,007,007,false\n2,3,007,007,false\n5,5,,novel_0,true\n6,6,NA,novel_0,true\n1,1,08,08,false\n"
	if stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", stdout, want)
	}
}

// TestFitEnsemble: an ensemble fit gives the same predictions at 1 and 2
// threads, its saved model (every member) assigns the rows exactly as fit
// did, it differs from the single network, and a bad --ensemble is a usage
// error with no output written.
func TestFitEnsemble(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks")
	}
	dir := t.TempDir()
	args := []string{"fit", "--data", "../../testdata/pendigits_train.csv", "--test", "../../testdata/pendigits_test.csv",
		"--novel", "0,3,5,6,7", "--epochs", "4", "--k", "5", "--lr", "3e-3", "--latent-dim", "11", "--quiet"}
	out := func(name string) string { return filepath.Join(dir, name) }
	modelPath := out("m.ncd")
	for _, run := range [][]string{
		{"--ensemble", "3", "--threads", "1", "--model", modelPath, "--out", out("e1.csv")},
		{"--ensemble", "3", "--threads", "2", "--out", out("e2.csv")},
		{"--ensemble", "1", "--out", out("single.csv")},
	} {
		if code, _, stderr := runCLI(t, "", append(slices.Clone(args), run...)...); code != 0 {
			t.Fatalf("fit %v: exit %d: %s", run, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "", "cluster", "--model", modelPath, "--data", "../../testdata/pendigits_test.csv", "--out", out("again.csv"), "--quiet"); code != 0 {
		t.Fatalf("cluster --model: exit %d: %s", code, stderr)
	}
	read := func(name string) string {
		b, err := os.ReadFile(out(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("e1.csv") != read("e2.csv") {
		t.Fatal("ensemble predictions differ between --threads 1 and 2")
	}
	if read("e1.csv") != read("again.csv") {
		t.Fatal("the saved ensemble assigns the rows differently from fit")
	}
	if read("e1.csv") == read("single.csv") {
		t.Fatal("--ensemble 3 predicted exactly what one network did")
	}
	// A model whose members disagree on their shape is refused, not run.
	m, err := model.Load(modelPath)
	if err != nil || len(m.Ensemble) != 2 {
		t.Fatalf("saved ensemble: %v members, err %v", len(m.Ensemble), err)
	}
	m.Ensemble[1].Dims[3]++
	if err := m.Save(out("odd.ncd")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "cluster", "--model", out("odd.ncd"), "--data", "../../testdata/pendigits_test.csv", "--out", out("odd.csv"))
	if code != exitUsage || !strings.Contains(stderr, "ensemble member") {
		t.Fatalf("inconsistent ensemble: exit %d %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "", append(slices.Clone(args), "--ensemble", "0", "--out", out("bad.csv"))...)
	if code != exitUsage || !strings.Contains(stderr, "--ensemble") {
		t.Fatalf("--ensemble 0: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(out("bad.csv")); err == nil {
		t.Fatal("an output file was written for a failed run")
	}
}
