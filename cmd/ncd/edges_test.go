package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const pendigitsTrain = "../../testdata/pendigits_train.csv"

// unwritableDir returns a folder in which no file can be created: a 0555
// folder, or, for root (whom permission bits do not stop), an immutable
// one. The test is skipped where neither can be made.
func unwritableDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	writable := func() bool {
		f, err := os.CreateTemp(dir, "probe")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	if !writable() {
		return dir
	}
	if err := exec.Command("chattr", "+i", dir).Run(); err == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if !writable() {
			return dir
		}
	}
	t.Skip("cannot make an unwritable folder here (root without chattr)")
	return ""
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestOutputPathsCheckedBeforeWork: every output path (fit's --out and
// --model, cluster's --out, tune's --out, --study and --plot, estimate-k's
// --plot) in a folder where no file can be created is refused with exit 2
// before the data is even trained on: a 200-epoch, 8-network fit of
// pendigits takes about 10 s, and each refusal must take under 1 s.
func TestOutputPathsCheckedBeforeWork(t *testing.T) {
	ro := unwritableDir(t)
	ok := t.TempDir()
	data := []string{"--data", pendigitsTrain, "--novel", "0,3,5,6,7"}
	for _, c := range []struct {
		args []string
		bad  string // the refused path
	}{
		{[]string{"fit", "--epochs", "200", "--out", filepath.Join(ro, "p.csv")}, filepath.Join(ro, "p.csv")},
		{[]string{"fit", "--epochs", "200", "--out", filepath.Join(ok, "p.csv"), "--model", filepath.Join(ro, "m.ncd")}, filepath.Join(ro, "m.ncd")},
		{[]string{"cluster", "--method", "ncd-sc", "--out", filepath.Join(ro, "p.csv")}, filepath.Join(ro, "p.csv")},
		{[]string{"tune", "--out", filepath.Join(ro, "best.yaml")}, filepath.Join(ro, "best.yaml")},
		{[]string{"tune", "--out", filepath.Join(ok, "best.yaml"), "--study", filepath.Join(ro, "s.jsonl")}, filepath.Join(ro, "s.jsonl")},
		{[]string{"tune", "--out", filepath.Join(ok, "best.yaml"), "--plot", filepath.Join(ro, "t.svg")}, filepath.Join(ro, "t.svg")},
		{[]string{"estimate-k", "--plot", filepath.Join(ro, "k.svg")}, filepath.Join(ro, "k.svg")},
	} {
		args := append(slices.Clone(c.args), data...)
		start := time.Now()
		code, stdout, stderr := runCLI(t, "", args...)
		took := time.Since(start)
		want := "ncd: " + c.bad + ": cannot create files in folder " + ro + ": "
		if code != exitUsage || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line starting %q", c.args[:1], code, stderr, want)
		}
		if took > time.Second {
			t.Errorf("%v: refused after %v; the check must come before any work", c.args, took)
		}
	}
	if names := listDir(t, ok); len(names) != 0 {
		t.Errorf("files left behind: %v", names)
	}
	// A folder given as the output file, and a missing folder, as before.
	code, _, stderr := runCLI(t, "", append([]string{"fit", "--model", ok}, data...)...)
	if code != exitUsage || !strings.Contains(stderr, "is a folder") {
		t.Errorf("--model <folder>: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "", append([]string{"tune", "--out", filepath.Join(ok, "no", "b.yaml")}, data...)...)
	if code != exitUsage || !strings.Contains(stderr, "folder "+filepath.Join(ok, "no")+" does not exist") {
		t.Errorf("missing folder: exit %d, %q", code, stderr)
	}
}

// pendigitsRows writes the header and the first n rows of pendigits' training
// split (the first 400 rows hold 212 of the classes 0,3,5,6,7).
func pendigitsRows(t *testing.T, dir string, n int) string {
	t.Helper()
	b, err := os.ReadFile(pendigitsTrain)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return writeFile(t, dir, "pen.csv", strings.Join(lines[:n+1], ""))
}

// TestKBoundsCheckedBeforeWork: --k, --k-min and --k-max are checked against
// the rows the loaded table gives to cluster, before any training or scan
// (each refusal under 1 s, where the fit would train 8 networks for 200
// epochs); an explicit value the rows cannot satisfy is refused naming the
// limit, a default --k-max is lowered to it with a note.
func TestKBoundsCheckedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsRows(t, dir, 400) // 212 rows of 0,3,5,6,7; 188 known
	novel := []string{"--data", data, "--novel", "0,3,5,6,7", "--out", filepath.Join(dir, "p.csv")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fit", "--epochs", "200", "--k", "500"}, "--k 500: the 212 unlabeled rows of " + data + " cannot make more than 212 clusters"},
		{[]string{"fit", "--epochs", "200", "--k-max", "400"}, "--k-max 400: the 212 unlabeled rows of " + data + " allow at most k = 211"},
		{[]string{"fit", "--epochs", "200", "--k-min", "212", "--k-max", "212"}, "--k-min 212: the 212 unlabeled rows"},
		{[]string{"cluster", "--method", "sc", "--k", "213"}, "cannot make more than 212 clusters"},
		{[]string{"cluster", "--k-max", "212"}, "allow at most k = 211"},
		{[]string{"estimate-k", "--k-max", "400"}, "allow at most k = 211"},
		{[]string{"estimate-k", "--index", "known-acc", "--k-max", "400"}, "the 400 rows of " + data + " and 5 known classes allow at most 395 novel clusters"},
		// tune's folds scan the rows of the classes they hide.
		{[]string{"tune", "--k-max", "100"}, "--k-max 100: fold 4 hides only 71 rows (classes 8,9), which allow at most k = 70"},
	} {
		args := append(slices.Clone(c.args), novel...)
		if c.args[0] == "estimate-k" {
			args = args[:len(args)-2]
		}
		start := time.Now()
		code, stdout, stderr := runCLI(t, "", args...)
		if took := time.Since(start); took > time.Second {
			t.Errorf("%v: refused after %v; the check must come before any work", c.args, took)
		}
		if code != exitUsage || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"pen.csv"}) {
		t.Errorf("files left behind: %v", names)
	}

	// 17 unlabeled rows: the default --k-max 30 becomes 16, said once; the
	// JSON shows the scan that ran.
	small := pendigitsRows(t, t.TempDir(), 40)
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", small, "--novel", "0,3,5,6,7", "--json", "--k-rule", "1se")
	var res estimateResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %s", code, err, stderr)
	}
	wantNote := "ncd: note: the k scan stops at k = 16 instead of the default --k-max 30: the 17 unlabeled rows of " + small + " allow no more\n"
	if res.Rows != 17 || res.Ks[len(res.Ks)-1] != 16 || strings.Count(stderr, wantNote) != 1 {
		t.Errorf("rows %d, last k %d, stderr %q", res.Rows, res.Ks[len(res.Ks)-1], stderr)
	}
	code, _, stderr = runCLI(t, "", "cluster", "--data", small, "--novel", "0,3,5,6,7", "--k-max", "20", "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "--k-max 20: the 17 unlabeled rows") {
		t.Errorf("explicit --k-max 20 on 17 rows: exit %d %q", code, stderr)
	}
}

// TestListFlagsAddUp: a repeated list flag adds to the list instead of
// replacing it (--novel versicolor --novel virginica was virginica alone),
// "a,b" still works, and a config file may give the list as a YAML list or
// as a string: every spelling gives the same predictions byte for byte.
func TestListFlagsAddUp(t *testing.T) {
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		out := filepath.Join(dir, name+".csv")
		code, _, stderr := runCLI(t, "", append([]string{"cluster", "--data", irisPath, "--k", "2", "--method", "kmeans", "--out", out, "--quiet"}, args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		return string(must(os.ReadFile(out)))
	}
	want := run("comma", "--novel", "versicolor,virginica")
	if strings.Count(want, ",true\n") != 100 {
		t.Fatalf("versicolor,virginica: %d unlabeled rows, want 100", strings.Count(want, ",true\n"))
	}
	yamlList := writeFile(t, dir, "list.yaml", "novel: [versicolor, virginica]\n")
	yamlString := writeFile(t, dir, "string.yaml", "novel: \"versicolor, virginica\"\n")
	for name, args := range map[string][]string{
		"repeated":    {"--novel", "versicolor", "--novel", "virginica"},
		"overlapping": {"--novel", "versicolor,virginica", "--novel", "virginica"},
		"yaml-list":   {"--config", yamlList},
		"yaml-string": {"--config", yamlString},
	} {
		if got := run(name, args...); got != want {
			t.Errorf("%s %v: predictions differ from --novel versicolor,virginica", name, args)
		}
	}
	t.Setenv("NCD_NOVEL", "versicolor,virginica")
	if got := run("env"); got != want {
		t.Errorf("NCD_NOVEL: predictions differ from --novel versicolor,virginica")
	}
	os.Unsetenv("NCD_NOVEL")

	// --exclude and --features add up too (fit reports the feature count),
	// and the list the fit used is recorded joined by commas.
	for _, c := range []struct {
		args     []string
		features int
		record   string
	}{
		{[]string{"--exclude", "sepal_length", "--exclude", "sepal_width"}, 2, "[sepal_length sepal_width]"},
		{[]string{"--features", "sepal_length", "--features", "petal_length,petal_width"}, 3, ""},
	} {
		args := append([]string{"fit", "--data", irisPath, "--novel", "virginica", "--novel", "versicolor", "--epochs", "1",
			"--ensemble", "1", "--k", "2", "--json", "--quiet", "--out", filepath.Join(dir, "f.csv")}, c.args...)
		code, stdout, stderr := runCLI(t, "", args...)
		var res struct {
			Features int            `json:"features"`
			Config   map[string]any `json:"config"`
		}
		if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		novel, exclude := fmt.Sprint(res.Config["novel"]), fmt.Sprint(res.Config["exclude"])
		if res.Features != c.features || novel != "[virginica versicolor]" || (c.record != "" && exclude != c.record) {
			t.Errorf("%v: %d features (want %d), novel %s, exclude %s", c.args, res.Features, c.features, novel, exclude)
		}
	}

	// eval's thresholds: both apply (NMI 0.99 is not met).
	code, _, stderr := runCLI(t, "", "eval", "--data", filepath.Join(dir, "comma.csv"), "--fail-under", "acc=0.1", "--fail-under", "nmi=0.99", "--quiet")
	if code != exitThreshold || !strings.Contains(stderr, "nmi") || strings.Contains(stderr, "acc ") {
		t.Errorf("eval with two --fail-under: exit %d %q", code, stderr)
	}
}

// TestEmptyKRefused: --k "" (what --k "$K" gives when K=$(ncd estimate-k
// ...) failed) is a usage error in fit, cluster and tune, from a flag or a
// config file, instead of silently meaning auto.
func TestEmptyKRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "k.yaml", "k: \"\"\n")
	for _, args := range [][]string{
		{"fit", "--k", ""},
		{"cluster", "--k", ""},
		{"tune", "--k", ""},
		{"cluster", "--config", cfg},
	} {
		args = append(args, "--data", irisPath, "--novel", "virginica", "--out", filepath.Join(dir, "x.csv"))
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitUsage || stdout != "" || stderr != "ncd: --k is empty: give auto or a number (was it set from a K=$(ncd estimate-k ...) that failed?)\n" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"k.yaml"}) {
		t.Errorf("files left behind: %v", names)
	}
}

// TestJSONConfigIsTyped: fit's config and tune's best_config give numbers
// and booleans as JSON numbers and booleans ("epochs": 200, was "200") and
// lists as arrays, typed by the flags; best.yaml quotes text and list values
// (a class "007" stays "007") and leaves numbers bare.
func TestJSONConfigIsTyped(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 400)
	code, stdout, stderr := runCLI(t, "", "fit", "--data", data, "--novel", "0,3", "--epochs", "2", "--ensemble", "1",
		"--k", "2", "--out", filepath.Join(dir, "p.csv"), "--json", "--quiet")
	var fit struct {
		Config  map[string]any     `json:"config"`
		Seconds map[string]float64 `json:"seconds"`
		Wall    float64            `json:"wall_seconds"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &fit) != nil {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	for k, want := range map[string]any{
		"epochs": 2.0, "batch-size": 512.0, "lr": 1e-3, "shuffle": true, "seed": 0.0, "ensemble": 1.0,
		"novel": []any{"0", "3"}, "features": []any{}, "method": "pbn", "k": "2",
	} {
		if got := fit.Config[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("config[%q] = %#v, want %#v", k, got, want)
		}
	}
	sum := 0.0
	for _, s := range fit.Seconds {
		sum += s
	}
	if fit.Wall < sum || fit.Seconds["train"] <= 0 {
		t.Errorf("wall_seconds %.4f is less than its phases' %.4f (%v)", fit.Wall, sum, fit.Seconds)
	}

	out := filepath.Join(dir, "best.yaml")
	r, _ := runTuneJSON(t, "--data", data, "--novel", "0,3", "--trials", "1", "--folds", "3", "--epochs", "2",
		"--k", "true", "--out", out, "--quiet")
	if r.BestConfig["epochs"] != 2.0 || r.BestConfig["shuffle"] != true || !reflect.DeepEqual(r.BestConfig["novel"], []any{"0", "3"}) {
		t.Errorf("best_config: %#v", r.BestConfig)
	}
	if _, ok := r.BestConfig["lr"].(float64); !ok {
		t.Errorf("best_config lr: %#v, want a number", r.BestConfig["lr"])
	}
	// wall_seconds, as the README promises for every command's --json.
	if r.Wall <= 0 {
		t.Errorf("tune --json: wall_seconds %v", r.Wall)
	}
	code, stdout, stderr = runCLI(t, "", "eval", "--data", filepath.Join(dir, "p.csv"), "--json")
	var ev struct {
		Wall *float64 `json:"wall_seconds"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &ev) != nil || ev.Wall == nil || *ev.Wall < 0 {
		t.Errorf("eval --json: exit %d, wall_seconds %v: %s", code, ev.Wall, stderr)
	}
	yaml := string(must(os.ReadFile(out)))
	for _, line := range []string{"\nmethod: \"pbn\"\n", "\nepochs: 2\n", "\nshuffle: true\n", "\nnovel: \"0,3\"\n"} {
		if !strings.Contains(yaml, line) {
			t.Errorf("best.yaml lacks %q:\n%s", line, yaml)
		}
	}
}

// TestSummaryTimesNamePhases: the summaries' time line gives the whole
// run's wall time and names every phase (cluster used to print its
// clustering's time alone, 0.01 s for a 0.44 s run).
func TestSummaryTimesNamePhases(t *testing.T) {
	dir := t.TempDir()
	phase := `\d+\.\d+ s`
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "--data", irisPath, "--novel", "versicolor,virginica", "--out", filepath.Join(dir, "c.csv")},
			`(?m)^time: ` + phase + ` in all: load ` + phase + `, estimate k ` + phase + `, cluster ` + phase + `, write ` + phase + `$`},
		{[]string{"fit", "--data", irisPath, "--novel", "virginica", "--epochs", "2", "--ensemble", "1", "--k", "2", "--out", filepath.Join(dir, "f.csv")},
			`(?m)^time: ` + phase + ` in all: load ` + phase + `, train ` + phase + `, cluster ` + phase + `, write ` + phase + `$`},
		{[]string{"estimate-k", "--data", irisPath, "--novel", "versicolor,virginica", "--k-max", "5"},
			`(?m)^time: ` + phase + ` in all, the scan ` + phase + `$`},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != 0 || !regexp.MustCompile(c.want).MatchString(stderr) {
			t.Errorf("%s: exit %d, no line matching %s in:\n%s", c.args[0], code, c.want, stderr)
		}
	}
}

// TestMapFlagsCheckedWithoutReport: --map and --map-rows are checked
// whether or not --report is given (a bad value is exit 2 on fit, cluster,
// cluster --model and explain), and either one given on the command line
// without --report, where it would do nothing, is refused with exit 2 and
// no output written.
func TestMapFlagsCheckedWithoutReport(t *testing.T) {
	dir := t.TempDir()
	iris := "../../testdata/iris.csv"
	modelPath, pred := irisModel(t, dir)
	out := filepath.Join(dir, "out.csv")
	for _, cmd := range [][]string{
		{"fit", "--data", iris, "--novel", "versicolor,virginica", "--ensemble", "1", "--epochs", "5", "--out", out},
		{"cluster", "--data", iris, "--novel", "versicolor,virginica", "--out", out},
		{"cluster", "--model", modelPath, "--data", iris, "--out", out},
		{"explain", "--data", pred},
	} {
		for _, c := range []struct {
			flags []string
			want  string
		}{
			{[]string{"--map", "umap"}, `ncd: --map must be pca or tsne, got "umap"`},
			{[]string{"--map-rows", "5"}, "ncd: --map-rows must be between 10 and 50000, got 5"},
			{[]string{"--map", "pca"}, "ncd: --map sets the maps of --report's HTML file: add --report FILE.html, or drop --map"},
			{[]string{"--map-rows", "500"}, "ncd: --map-rows sets the maps of --report's HTML file: add --report FILE.html, or drop --map-rows"},
		} {
			code, stdout, stderr := runCLI(t, "", append(slices.Clone(cmd), c.flags...)...)
			if code != exitUsage || strings.TrimSpace(stderr) != c.want || stdout != "" {
				t.Errorf("%s %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", cmd[0], c.flags, code, stdout, stderr, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%s %v wrote %s", cmd[0], c.flags, out)
			}
		}
	}
	// With --report both are taken (explain: the report is written).
	rep := filepath.Join(dir, "r.html")
	if code, _, stderr := runCLI(t, "", "explain", "--data", pred, "--map", "pca", "--map-rows", "100", "--report", rep, "--quiet"); code != 0 {
		t.Fatalf("explain --report --map pca: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(rep); err != nil {
		t.Fatal(err)
	}
}

// TestStdoutTakenOnce: --json prints its object on standard output, so an
// output file that is standard output too (/dev/stdout, /dev/fd/1, and
// for predictions "-") is refused with it, on every command with both,
// as are two outputs to standard output; exit 2 before any work, nothing
// on stdout. /dev/null with --json is fine.
func TestStdoutTakenOnce(t *testing.T) {
	dir := t.TempDir()
	iris := "../../testdata/iris.csv"
	modelPath, pred := irisModel(t, dir)
	pen := pendigitsSubset(t, dir, 300)
	fit := []string{"fit", "--data", iris, "--novel", "versicolor,virginica", "--ensemble", "1", "--epochs", "5"}
	cluster := []string{"cluster", "--data", iris, "--novel", "versicolor,virginica"}
	tune := []string{"tune", "--data", pen, "--novel", "0,3", "--epochs", "1", "--trials", "1", "--folds", "3", "--k", "true"}
	both := func(flag, path string) string {
		return "ncd: " + flag + " " + path + " and --json would both write to standard output: give " + flag + " a file, or drop --json"
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(slices.Clone(fit), "--out", "/dev/stdout", "--json"), both("--out", "/dev/stdout")},
		{append(slices.Clone(fit), "--out", "-", "--json"), both("--out", "-")},
		{append(slices.Clone(fit), "--out", pred, "--model", "/dev/stdout", "--json"), both("--model", "/dev/stdout")},
		{append(slices.Clone(fit), "--out", pred, "--report", "/dev/fd/1", "--json"), both("--report", "/dev/fd/1")},
		{append(slices.Clone(fit), "--out", "/dev/stdout", "--report", "/dev/stdout"),
			"ncd: --out /dev/stdout and --report /dev/stdout would both write to standard output: give one of them a file"},
		{append(slices.Clone(fit), "--report", "/dev/stdout"),
			"ncd: the predictions (no --out: CSV on standard output) and --report /dev/stdout would both write to standard output: give --report a file"},
		{[]string{"explain", "--data", pred, "--report", "/dev/stdout"},
			"ncd: the explanation (printed on standard output) and --report /dev/stdout would both write to standard output: give --report a file"},
		{[]string{"estimate-k", "--data", iris, "--novel", "versicolor,virginica", "--plot", "/dev/stdout"},
			"ncd: the estimate (k printed on standard output) and --plot /dev/stdout would both write to standard output: give --plot a file"},
		{append(slices.Clone(cluster), "--out", "/dev/stdout", "--json"), both("--out", "/dev/stdout")},
		{[]string{"cluster", "--model", modelPath, "--data", iris, "--out", "/dev/stdout", "--json"}, both("--out", "/dev/stdout")},
		{append(slices.Clone(tune), "--out", "/dev/stdout", "--json"), both("--out", "/dev/stdout")},
		{append(slices.Clone(tune), "--out", filepath.Join(dir, "b.yaml"), "--plot", "/dev/stdout", "--json"), both("--plot", "/dev/stdout")},
		{[]string{"estimate-k", "--data", iris, "--novel", "versicolor,virginica", "--plot", "/dev/stdout", "--json"}, both("--plot", "/dev/stdout")},
		{[]string{"explain", "--data", pred, "--report", "/dev/stdout", "--json"}, both("--report", "/dev/stdout")},
	} {
		code, stdout, stderr := runCLI(t, "", c.args...)
		if code != exitUsage || strings.TrimSpace(stderr) != c.want || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"m.ncd", "pen.csv", "pred.csv"}) {
		t.Errorf("files written: %v", names)
	}
	code, stdout, stderr := runCLI(t, "", append(slices.Clone(fit), "--out", "/dev/null", "--json", "--quiet")...)
	var j map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &j) != nil {
		t.Errorf("--out /dev/null --json: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// irisModel fits a small model on iris (setosa known, 5 epochs, one
// network) into dir/m.ncd, its predictions into dir/pred.csv.
func irisModel(t *testing.T, dir string) (modelPath, pred string) {
	t.Helper()
	modelPath, pred = filepath.Join(dir, "m.ncd"), filepath.Join(dir, "pred.csv")
	if code, _, stderr := runCLI(t, "", "fit", "--data", "../../testdata/iris.csv", "--novel", "versicolor,virginica", "--ensemble", "1", "--epochs", "5",
		"--quiet", "--model", modelPath, "--out", pred); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	return modelPath, pred
}
