package main

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// plantedPredictions writes a predictions file whose groups are boxes on
// two numeric columns and a text column, among 4 noise columns:
// novel_0: f0 > 6 and f1 <= 4; novel_1: f0 <= 3; novel_2: 3 < f0 <= 6 and
// color in {blue, red}; novel_3: the rest.
func plantedPredictions(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 3))
	colors := []string{"blue", "green", "red", "white"}
	var b strings.Builder
	b.WriteString("f0,f1,f2,f3,f4,f5,color,cluster,unlabeled\n")
	for range n {
		var f [6]float64
		for j := range f {
			f[j] = math.Round(rng.Float64()*1000) / 100
		}
		color := colors[rng.IntN(4)]
		g := "novel_3"
		switch {
		case f[0] > 6 && f[1] <= 4:
			g = "novel_0"
		case f[0] <= 3:
			g = "novel_1"
		case f[0] <= 6 && (color == "blue" || color == "red"):
			g = "novel_2"
		}
		fmt.Fprintf(&b, "%g,%g,%g,%g,%g,%g,%s,%s,true\n", f[0], f[1], f[2], f[3], f[4], f[5], color, g)
	}
	return writeFile(t, dir, "planted.csv", b.String())
}

func explainJSONOf(t *testing.T, args ...string) (explainJSON, string) {
	t.Helper()
	code, out, errs := runCLI(t, "", append([]string{"explain", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var j explainJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	return j, out
}

// The planted rules come back with the right columns, thresholds within 2%
// of the columns' range (0..10) and held-out F1 >= .98.
func TestExplainPlantedRules(t *testing.T) {
	path := plantedPredictions(t, t.TempDir(), 3000)
	j, _ := explainJSONOf(t, "--data", path)
	if len(j.Clusters) != 4 || j.Rows != 3000 {
		t.Fatalf("%d clusters, %d rows", len(j.Clusters), j.Rows)
	}
	for _, c := range []struct {
		cluster string
		want    map[string]string // feature op -> value
	}{
		{"novel_0", map[string]string{"f0 >": "6", "f1 <=": "4"}},
		{"novel_1", map[string]string{"f0 <=": "3"}},
		{"novel_2", map[string]string{"f0 >": "3", "f0 <=": "6", "color in": "blue,red"}},
	} {
		var got *clusterExplained
		for i := range j.Clusters {
			if j.Clusters[i].Cluster == c.cluster {
				got = &j.Clusters[i]
			}
		}
		if got == nil {
			t.Fatalf("no %s", c.cluster)
		}
		if got.MeasuredOn != "holdout" || got.F1 < 0.98 || got.HeldOutRows != 750 {
			t.Errorf("%s: %s: held-out F1 %.3f on %s (%d rows)", c.cluster, got.Rule, got.F1, got.MeasuredOn, got.HeldOutRows)
		}
		if len(got.Conditions) != len(c.want) {
			t.Fatalf("%s: rule %s", c.cluster, got.Rule)
		}
		for _, cond := range got.Conditions {
			w, ok := c.want[cond.Feature+" "+cond.Op]
			if !ok {
				t.Fatalf("%s: unexpected condition %+v in %s", c.cluster, cond, got.Rule)
			}
			if cond.Op == "in" {
				lv := fmt.Sprint(cond.Value)
				if lv != "[blue red]" {
					t.Errorf("%s: levels %s", c.cluster, lv)
				}
				continue
			}
			var x, want float64
			fmt.Sscan(fmt.Sprint(cond.Value), &x)
			fmt.Sscan(w, &want)
			if math.Abs(x-want) > 0.2 {
				t.Errorf("%s: %s %s %v, want %s", c.cluster, cond.Feature, cond.Op, cond.Value, w)
			}
		}
	}
	if !strings.Contains(j.Clusters[2].Rule, `color in ["blue", "red"]`) || !strings.Contains(j.Clusters[2].RuleSQL, `"color" IN ('blue','red')`) {
		t.Errorf("categorical condition printed as %q / %q", j.Clusters[2].Rule, j.Clusters[2].RuleSQL)
	}
	// f0 differs most for novel_1 (f0 <= 3 against 3..10): KS well above .5.
	if c := j.Clusters[1].Contrasts[0]; c.Feature != "f0" || c.KS < 0.5 || c.SMD == nil || *c.SMD > -1 {
		t.Errorf("novel_1's first contrast %+v", c)
	}
}

var secondsRE = regexp.MustCompile(`(?s)"seconds": \{.*?\}|"wall_seconds": [0-9.e+-]+`)

// Same seed, same output at 1 and 2 threads (JSON and text).
func TestExplainSameAtAnyThreads(t *testing.T) {
	path := plantedPredictions(t, t.TempDir(), 1500)
	_, a := explainJSONOf(t, "--data", path, "--threads", "1", "--seed", "4")
	_, b := explainJSONOf(t, "--data", path, "--threads", "2", "--seed", "4")
	if secondsRE.ReplaceAllString(a, "") != secondsRE.ReplaceAllString(b, "") {
		t.Fatal("JSON differs between 1 and 2 threads")
	}
	_, ta, _ := runCLI(t, "", "explain", "--data", path, "--threads", "1")
	_, tb, _ := runCLI(t, "", "explain", "--data", path, "--threads", "2")
	if ta != tb || !strings.Contains(ta, "novel_0  ") {
		t.Fatalf("text differs or is empty:\n%s", ta)
	}
}

func TestExplainBadInput(t *testing.T) {
	dir := t.TempDir()
	good := "x,y,cluster,unlabeled\n1,2,novel_0,true\n2,3,novel_1,true\n"
	noPred := writeFile(t, dir, "nopred.csv", "x,y,unlabeled\n1,2,true\n")
	missing := writeFile(t, dir, "missing.csv", "x,y,cluster,unlabeled\n1,2,novel_0,true\n2,3,,true\n")
	badBool := writeFile(t, dir, "badbool.csv", "x,y,cluster,unlabeled\n1,2,novel_0,true\n2,3,novel_1,maybe\n")
	noUnl := writeFile(t, dir, "nounl.csv", "x,y,cluster,unlabeled\n1,2,a,false\n2,3,b,false\n")
	ok := writeFile(t, dir, "ok.csv", good)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", noPred}, `nopred.csv: column "cluster": no such column`},
		{[]string{"--data", missing}, `missing.csv: row 2: column "cluster": missing group name`},
		{[]string{"--data", badBool}, `badbool.csv: row 2: column "unlabeled": "maybe" is not true or false`},
		{[]string{"--data", noUnl}, `nounl.csv: column "unlabeled": no unlabeled rows`},
		{[]string{"--data", ok, "--scope", "some"}, `--scope must be novel or all`},
		{[]string{"--data", ok, "--max-conditions", "0"}, `--max-conditions must be between 1 and 10`},
		{[]string{"--data", ok, "--holdout", "1"}, `--holdout must be in [0, 0.9]`},
		{[]string{"--data", filepath.Join(dir, "absent.csv")}, `absent.csv`},
		{[]string{}, `--data is required`},
	} {
		code, out, errs := runCLI(t, "", append([]string{"explain"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	// --scope all explains the labeled rows of noUnl.
	if code, _, errs := runCLI(t, "", "explain", "--data", noUnl, "--scope", "all"); code != 0 {
		t.Errorf("--scope all: exit %d: %s", code, errs)
	}
}

// The report is the same file at 1 and 2 threads (t-SNE included), and
// holds every class's rule.
func TestExplainReportSameAtAnyThreads(t *testing.T) {
	dir := t.TempDir()
	path := plantedPredictions(t, dir, 600)
	var html [2]string
	for i, th := range []string{"1", "2"} {
		rp := filepath.Join(dir, "r"+th+".html")
		code, _, errs := runCLI(t, "", "explain", "--data", path, "--threads", th, "--report", rp, "--map-rows", "300", "--quiet")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		html[i] = readFile(t, rp)
	}
	if html[0] != html[1] {
		t.Fatal("reports differ between 1 and 2 threads")
	}
	for _, want := range []string{"t-SNE map", "PCA map", `color in [&#34;blue&#34;, &#34;red&#34;]`, "novel_3"} {
		if !strings.Contains(html[0], want) {
			t.Errorf("report lacks %s", want)
		}
	}
}

// fit --report and cluster --report write a report of the run; bad
// report flags are refused before any work.
func TestFitAndClusterReport(t *testing.T) {
	dir := t.TempDir()
	rp := filepath.Join(dir, "fit.html")
	code, _, errs := runCLI(t, "", "fit", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
		"--ensemble", "1", "--epochs", "20", "--k", "2", "--out", filepath.Join(dir, "p.csv"), "--report", rp, "--map", "pca",
		"--model", filepath.Join(dir, "m.ncd"), "--quiet")
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, errs)
	}
	// fit --json carries the k scan; explain --run-json puts it in the
	// report, and the model's k in the summary.
	code, fitJSON, errs := runCLI(t, "", "fit", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
		"--ensemble", "1", "--epochs", "20", "--k-max", "6", "--out", filepath.Join(dir, "p2.csv"), "--json", "--quiet")
	if code != 0 {
		t.Fatalf("fit --json: exit %d: %s", code, errs)
	}
	fj := writeFile(t, dir, "fit.json", fitJSON)
	rp2 := filepath.Join(dir, "explain.html")
	code, _, errs = runCLI(t, "", "explain", "--data", filepath.Join(dir, "p2.csv"), "--model", filepath.Join(dir, "m.ncd"),
		"--run-json", fj, "--report", rp2, "--map", "pca", "--quiet")
	if code != 0 {
		t.Fatalf("explain --run-json: exit %d: %s", code, errs)
	}
	h2 := readFile(t, rp2)
	if !strings.Contains(h2, `id="kscan"`) || !strings.Contains(h2, "<td class=\"n\">6</td>") || !strings.Contains(h2, "k = 2 (given)") {
		t.Error("explain report lacks the fit's k scan (k = 2..6) or the model's k")
	}
	// The default k rule (stable) has no score of its own: the report
	// draws the silhouette it starts from, not a column of dashes.
	if !strings.Contains(h2, "silhouette per k") || strings.Contains(h2, `<td class="n">-</td>`) {
		t.Error("explain report: the k scan of --k-rule stable shows no silhouette")
	}
	bad := writeFile(t, dir, "bad.json", `{"k": 3}`)
	if code, _, errs := runCLI(t, "", "explain", "--data", filepath.Join(dir, "p2.csv"), "--run-json", bad); code != 2 || !strings.Contains(errs, "bad.json: no k scan") {
		t.Errorf("--run-json without a scan: exit %d: %s", code, errs)
	}

	// explain --model measures distances in the model's latent space.
	j, _ := explainJSONOf(t, "--data", filepath.Join(dir, "p.csv"), "--model", filepath.Join(dir, "m.ncd"))
	if j.Space != "model latent" || len(j.Clusters) != 2 || len(j.Clusters[0].Examples) != 4 {
		t.Errorf("explain --model: space %q, %d clusters", j.Space, len(j.Clusters))
	}
	h := readFile(t, rp)
	if !strings.Contains(h, "ncd fit: iris.csv") || !strings.Contains(h, "model latent") || !strings.Contains(h, "ACC") {
		t.Error("fit report lacks its title, latent space or metrics")
	}
	rp = filepath.Join(dir, "cluster.html")
	code, _, errs = runCLI(t, "", "cluster", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
		"--k", "auto", "--out", filepath.Join(dir, "c.csv"), "--report", rp, "--quiet")
	if code != 0 {
		t.Fatalf("cluster: exit %d: %s", code, errs)
	}
	if h := readFile(t, rp); !strings.Contains(h, `id="kscan"`) || !strings.Contains(h, "t-SNE map") {
		t.Error("cluster report lacks the k scan or the t-SNE map")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fit", "--data", "../../testdata/iris.csv", "--novel", "setosa", "--report", filepath.Join(dir, "r.txt")}, "--report must name an .html file"},
		{[]string{"cluster", "--data", "../../testdata/iris.csv", "--novel", "setosa", "--report", rp, "--map", "umap"}, "--map must be pca or tsne"},
		{[]string{"explain", "--data", "x.csv", "--report", filepath.Join(dir, "no", "r.html")}, filepath.Join(dir, "no")},
	} {
		if code, _, errs := runCLI(t, "", c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d: %s; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Each discovered class names the known class whose centre is nearest.
func TestExplainNearestKnown(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,class,cluster,unlabeled\n")
	for i := 0; i < 30; i++ {
		d := float64(i%5) / 10
		fmt.Fprintf(&b, "%g,%g,A,A,false\n", 0+d, 0+d)
		fmt.Fprintf(&b, "%g,%g,B,B,false\n", 10+d, 0+d)
		fmt.Fprintf(&b, "%g,%g,C,novel_0,true\n", 2+d, 1+d)
		fmt.Fprintf(&b, "%g,%g,D,novel_1,true\n", 8+d, 3+d)
	}
	j, _ := explainJSONOf(t, "--data", writeFile(t, t.TempDir(), "near.csv", b.String()))
	if len(j.Clusters) != 2 || j.Clusters[0].NearestKnown != "A" || j.Clusters[1].NearestKnown != "B" {
		t.Fatalf("%+v", j.Clusters)
	}
}

// A predictions file with a single group (fit --k 1) explains without a
// rule, and its --json is valid: the examples have no margin (there is no
// other centre), not +Inf.
func TestExplainOneGroupJSON(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,class,cluster,unlabeled\n")
	for i := range 30 {
		fmt.Fprintf(&b, "%d,%d,A,A,false\n", i, i%7)
		fmt.Fprintf(&b, "%d,%d,B,novel_0,true\n", i+40, i%5)
	}
	j, out := explainJSONOf(t, "--data", writeFile(t, t.TempDir(), "one.csv", b.String()))
	if len(j.Clusters) != 1 || len(j.Clusters[0].Examples) != 3 || strings.Contains(out, `"margin"`) {
		t.Fatalf("one group: %d clusters, examples %+v", len(j.Clusters), j.Clusters)
	}
	for _, e := range j.Clusters[0].Examples {
		if e.Role != "typical" || e.Margin != nil {
			t.Errorf("example %+v: want a typical row without a margin", e)
		}
	}
	// --scope all: two groups, every example has a finite margin.
	j, _ = explainJSONOf(t, "--data", writeFile(t, t.TempDir(), "one.csv", b.String()), "--scope", "all")
	for _, c := range j.Clusters {
		for _, e := range c.Examples {
			if e.Margin == nil {
				t.Errorf("%s: example row %d has no margin", c.Cluster, e.Row)
			}
		}
	}
}

// With --impute, a stray cell in a column of numbers ("99kg") is a missing
// value, as in fit: not read as 99 by the rules and contrasts.
func TestExplainStrayCellIsMissing(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,cluster,unlabeled\n")
	for i := range 100 {
		g, x := "novel_0", 1+float64(i%10)/10
		if i%2 == 1 {
			g, x = "novel_1", 5+float64(i%10)/10
		}
		xs := fmt.Sprint(x)
		if i == 0 || i == 2 {
			xs = "99kg"
		}
		fmt.Fprintf(&b, "%s,%d,%s,true\n", xs, i%3, g)
	}
	j, _ := explainJSONOf(t, "--data", writeFile(t, t.TempDir(), "stray.csv", b.String()), "--impute", "mean")
	// novel_0's 48 numbers are 1.0-1.9 (mean 1.45); with 99, 5.3.
	found := false
	for _, x := range j.Clusters[0].Contrasts {
		if x.Feature == "x" {
			found = true
			if j.Clusters[0].Cluster != "novel_0" || x.MeanIn > 2 {
				t.Errorf("%s: x mean %v: the stray cells were read as numbers", j.Clusters[0].Cluster, x.MeanIn)
			}
		}
	}
	if !found {
		t.Error("no contrast on x")
	}
}

// With nothing held out (--holdout 0), the surrogate tree's agreement is
// on training rows and says so, in the text and the JSON.
func TestExplainSurrogateNoHoldout(t *testing.T) {
	path := plantedPredictions(t, t.TempDir(), 400)
	j, _ := explainJSONOf(t, "--data", path, "--holdout", "0")
	if j.Surrogate.MeasuredOn != "train" || j.Surrogate.HeldOutRows != 0 {
		t.Errorf("--holdout 0: surrogate measured on %q, %d held-out rows", j.Surrogate.MeasuredOn, j.Surrogate.HeldOutRows)
	}
	code, out, errs := runCLI(t, "", "explain", "--data", path, "--holdout", "0", "--quiet")
	if code != 0 || strings.Contains(out, "of held-out rows") || !strings.Contains(out, "of training rows (none held out)") {
		t.Errorf("--holdout 0: exit %d, %s\n%s", code, out, errs)
	}
	j, _ = explainJSONOf(t, "--data", path)
	// 25% of each group's rows, rounded per group: the rules' held-out rows.
	if want := j.Clusters[0].HeldOutRows; j.Surrogate.MeasuredOn != "holdout" || j.Surrogate.HeldOutRows != want || want < 95 || want > 105 {
		t.Errorf("--holdout 0.25: surrogate measured on %q, %d held-out rows; want %d (about 100)", j.Surrogate.MeasuredOn, j.Surrogate.HeldOutRows, want)
	}
}

// A --target column that does not exist is an error (the default, class,
// may be absent: the scores are then left out).
func TestExplainMissingTarget(t *testing.T) {
	path := plantedPredictions(t, t.TempDir(), 200)
	code, _, errs := runCLI(t, "", "explain", "--data", path, "--target", "truth")
	if code != exitUsage || !strings.Contains(errs, `column "truth": no such --target column`) {
		t.Errorf("--target truth: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "explain", "--data", path, "--quiet"); code != 0 {
		t.Errorf("no class column: exit %d, %s", code, errs)
	}
}

// --json names the --report file and its time; explain's JSON has the
// wall_seconds every command's has.
func TestReportInJSON(t *testing.T) {
	dir := t.TempDir()
	rp := filepath.Join(dir, "c.html")
	pred := filepath.Join(dir, "c.csv")
	code, out, errs := runCLI(t, "", "cluster", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
		"--k", "2", "--out", pred, "--report", rp, "--map", "pca", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("cluster: exit %d: %s", code, errs)
	}
	var cr struct {
		Report  string             `json:"report"`
		Seconds map[string]float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(out), &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Report != rp || cr.Seconds["report"] <= 0 {
		t.Errorf("cluster --json: report %q, seconds %v", cr.Report, cr.Seconds)
	}
	rp2 := filepath.Join(dir, "e.html")
	j, raw := explainJSONOf(t, "--data", pred, "--report", rp2, "--map", "pca")
	if j.Report != rp2 || j.Wall <= 0 || !strings.Contains(raw, `"wall_seconds"`) {
		t.Errorf("explain --json: report %q, wall_seconds %v", j.Report, j.Wall)
	}
}

// The text's counts read as English: "1 group", "1 row", "rows (all)".
func TestExplainTextCounts(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,cluster,unlabeled\n")
	for i := range 30 {
		fmt.Fprintf(&b, "%d,%d,A,false\n", i, i%7)
		fmt.Fprintf(&b, "%d,%d,novel_0,true\n", i+40, i%5)
	}
	b.WriteString("100,3,novel_1,false\n")
	path := writeFile(t, t.TempDir(), "c.csv", b.String())
	_, out, _ := runCLI(t, "", "explain", "--data", path, "--quiet")
	if !strings.Contains(out, ": 30 unlabeled rows, 1 group (") {
		t.Errorf("scope novel:\n%s", out)
	}
	_, out, _ = runCLI(t, "", "explain", "--data", path, "--quiet", "--scope", "all")
	if !strings.Contains(out, ": 61 rows (all), 3 groups (") || !strings.Contains(out, "novel_1  1 row (1.6%)") {
		t.Errorf("scope all:\n%s", out)
	}
}

// TestExplainConstantInCluster: in fit's predictions for iris (setosa
// known, the other two hidden), the unlabeled column is false in every
// setosa row and true in every other row. Explained with --scope all, that
// level has no spread on either side: the text says so in words (it printed
// a capped "+99.0 sd"), --json gives smd null with constant_in and
// constant_out, and the report says "none: both constant". A level absent
// from a whole novel cluster reads "in no row, others N%".
func TestExplainConstantInCluster(t *testing.T) {
	dir := t.TempDir()
	pred := filepath.Join(dir, "pred.csv")
	if code, _, stderr := runCLI(t, "", "fit", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica",
		"--ensemble", "1", "--quiet", "--out", pred); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	args := []string{"explain", "--data", pred, "--scope", "all", "--features", "petal_width,petal_length,unlabeled", "--quiet"}
	code, stdout, stderr := runCLI(t, "", args...)
	if code != 0 {
		t.Fatalf("explain: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "99.0 sd") {
		t.Errorf("a capped SMD is printed:\n%s", stdout)
	}
	_, setosa, _ := strings.Cut(stdout, "\nsetosa ")
	if !strings.Contains(setosa, "differs    unlabeled=false in every row, others 0% (KS 1.00), ") {
		t.Errorf("setosa's contrasts do not say the level is in every row:\n%s", setosa)
	}
	if !regexp.MustCompile(`unlabeled=false in no row, others \d+% \(KS`).MatchString(stdout) {
		t.Errorf("no novel cluster says the level is in none of its rows:\n%s", stdout)
	}
	code, stdout, stderr = runCLI(t, "", append(args, "--json")...)
	if code != 0 {
		t.Fatalf("explain --json: exit %d: %s", code, stderr)
	}
	var j struct {
		Clusters []struct {
			Cluster   string                       `json:"cluster"`
			Contrasts []map[string]json.RawMessage `json:"contrasts"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cl := range j.Clusters {
		for _, c := range cl.Contrasts {
			if string(c["smd"]) == "99" || string(c["smd"]) == "-99" {
				t.Errorf("%s: smd %s", cl.Cluster, c["smd"])
			}
			if cl.Cluster != "setosa" || string(c["feature"]) != `"unlabeled"` {
				continue
			}
			found = true
			smd, ok := c["smd"]
			if !ok || string(smd) != "null" || string(c["level"]) != `"false"` || string(c["constant_in"]) != "true" ||
				string(c["constant_out"]) != "true" || string(c["mean_in"]) != "1" || string(c["mean_out"]) != "0" || string(c["ks"]) != "1" {
				t.Errorf("setosa's unlabeled contrast: %s", stdout)
			}
		}
	}
	if !found {
		t.Fatalf("no setosa contrast on unlabeled: %s", stdout)
	}
	rep := filepath.Join(dir, "r.html")
	if code, _, stderr := runCLI(t, "", append(args, "--report", rep, "--map-rows", "150")...); code != 0 {
		t.Fatalf("explain --report: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	if html := string(b); !strings.Contains(html, "none: both constant") || !strings.Contains(html, "unlabeled=false in every row, others 0%") || strings.Contains(html, "99.0") || strings.Contains(html, "+99.00") {
		t.Errorf("the report does not word the constant level (or shows the old cap)")
	}
}

// TestModelMismatchNamesModel: a model fitted on wine, given with iris
// rows to explain --model, cluster --model (streamed and in memory), is
// refused with exit 2 naming the data file, the first missing column and
// the model file with the columns it was fitted with; nothing is written.
func TestModelMismatchNamesModel(t *testing.T) {
	dir := t.TempDir()
	wine := filepath.Join(dir, "wine.ncd")
	if code, _, stderr := runCLI(t, "", "fit", "--data", "../../testdata/wine.csv", "--novel", "class_1,class_2", "--ensemble", "1",
		"--epochs", "2", "--k", "2", "--quiet", "--model", wine, "--out", filepath.Join(dir, "wine_pred.csv")); code != 0 {
		t.Fatalf("fit wine: exit %d: %s", code, stderr)
	}
	pred := filepath.Join(dir, "iris_pred.csv")
	if code, _, stderr := runCLI(t, "", "cluster", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica", "--k", "2",
		"--quiet", "--out", pred); code != 0 {
		t.Fatalf("cluster iris: exit %d: %s", code, stderr)
	}
	cols := "alcohol, malic_acid, ash, alcalinity_of_ash, magnesium, total_phenols, flavanoids, nonflavanoid_phenols, proanthocyanins, color_intensity, hue, od280_od315_of_diluted_wines, proline"
	out := filepath.Join(dir, "out.csv")
	for _, c := range []struct {
		args []string
		file string
	}{
		{[]string{"explain", "--data", pred, "--model", wine}, pred},
		{[]string{"cluster", "--data", "../../testdata/iris.csv", "--model", wine, "--out", out}, "../../testdata/iris.csv"},
		{[]string{"cluster", "--data", "../../testdata/iris.csv", "--model", wine, "--out", out, "--stream=false"}, "../../testdata/iris.csv"},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		want := "ncd: " + c.file + `: column "alcohol": column is missing; the model ` + wine + " was fitted with the columns " + cols + "\n"
		if code != exitUsage || stderr != want || stdout != "" {
			t.Errorf("%v: exit %d, stderr\n%q\nwant exit 2 and\n%q", c.args, code, stderr, want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v wrote %s", c.args, out)
		}
	}
}

// TestClusterModelReport: cluster --model --report (PBN and gcd models)
// writes the report of the assigned rows: the model in the summary, the
// distances and maps in its latent space, and the rules explain --model
// gives for the same predictions; --json names the report. The report
// loads the table (no streaming); the predictions are the streamed ones.
func TestClusterModelReport(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	iris := "../../testdata/iris.csv"
	for _, c := range []struct {
		name string
		fit  []string
	}{
		{"pbn", []string{"--novel", "versicolor,virginica", "--k", "2"}},
		{"gcd", []string{"--novel", "virginica", "--unlabel-known", "0.5", "--setting", "gcd"}},
	} {
		m := path(c.name + ".ncd")
		args := append([]string{"fit", "--data", iris, "--ensemble", "1", "--epochs", "20", "--seed", "0", "--quiet", "--model", m, "--out", path(c.name + "-fit.csv")}, c.fit...)
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			t.Fatalf("%s: fit: exit %d: %s", c.name, code, stderr)
		}
		data := iris // the gcd model hides the same known labels again (--unlabel-known is in the model)
		rp := path(c.name + ".html")
		code, stdout, stderr := runCLI(t, "", "cluster", "--model", m, "--data", data, "--out", path(c.name+".csv"), "--report", rp, "--map", "pca", "--json", "--quiet")
		if code != 0 {
			t.Fatalf("%s: cluster --model --report: exit %d: %s", c.name, code, stderr)
		}
		var res struct {
			Report string `json:"report"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Report != rp {
			t.Errorf("%s: --json report %q (%v), want %q", c.name, res.Report, err, rp)
		}
		// The streamed predictions (no --report) are the same rows.
		if code, _, stderr := runCLI(t, "", "cluster", "--model", m, "--data", data, "--out", path(c.name+"-s.csv"), "--quiet"); code != 0 {
			t.Fatalf("%s: cluster --model: exit %d: %s", c.name, code, stderr)
		}
		if readFile(t, path(c.name+".csv")) != readFile(t, path(c.name+"-s.csv")) {
			t.Errorf("%s: predictions with --report differ from the streamed ones", c.name)
		}
		j, _ := explainJSONOf(t, "--data", path(c.name+".csv"), "--model", m)
		h := readFile(t, rp)
		if !strings.Contains(h, "ncd cluster --model "+c.name+".ncd: ") || !strings.Contains(h, m+": k = ") || !strings.Contains(h, "model latent") {
			t.Errorf("%s: report lacks its title, the model or the latent space", c.name)
		}
		if len(j.Clusters) < 2 {
			t.Fatalf("%s: explain found %d groups", c.name, len(j.Clusters))
		}
		for _, cl := range j.Clusters {
			if cl.Rule == "" || !strings.Contains(h, html.EscapeString(cl.Rule)) {
				t.Errorf("%s: the report lacks %s's rule %q that explain --model gives", c.name, cl.Cluster, cl.Rule)
			}
		}
	}
}
