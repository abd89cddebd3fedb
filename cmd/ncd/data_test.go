package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ncdio "github.com/ncd-project/ncd/internal/io"
)

// copyWithDelimiter writes a copy of a bundled CSV whose cells hold no
// commas, with every comma replaced by d.
func copyWithDelimiter(t *testing.T, src, dst, d string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, bytes.ReplaceAll(raw, []byte(","), []byte(d)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// predictionColumn reads the cluster column of a predictions file.
func predictionColumn(t *testing.T, path, name string) []string {
	t.Helper()
	tb, err := ncdio.Read(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tb.Col(name)
	if c == nil {
		t.Fatalf("%s has no column %q (columns %q)", path, name, tb.Names())
	}
	return c.Strings()
}

// estimateJSON runs estimate-k --json and returns its result without the
// timing.
func estimateJSON(t *testing.T, args ...string) estimateResult {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", append([]string{"estimate-k", "--json", "--threads", "1"}, args...)...)
	if code != 0 {
		t.Fatalf("estimate-k %v: exit %d\n%s", args, code, stderr)
	}
	var r estimateResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	r.Seconds, r.Wall = 0, 0
	return r
}

// TestSemicolonCopyGivesSameResults: wine.csv with ';' (and with '|') as
// the delimiter gives the same k scan and the same clusters as the comma
// file, sniffed or named with --delimiter.
func TestSemicolonCopyGivesSameResults(t *testing.T) {
	dir := t.TempDir()
	const wine = "../../testdata/wine.csv"
	semi := copyWithDelimiter(t, wine, filepath.Join(dir, "wine_semi.csv"), ";")
	pipe := copyWithDelimiter(t, wine, filepath.Join(dir, "wine_pipe.txt"), "|")
	novel := []string{"--novel", "class_1,class_2", "--k-max", "8"}

	want := estimateJSON(t, append([]string{"--data", wine}, novel...)...)
	if want.Rows != 119 || want.K < 2 {
		t.Fatalf("comma file: %d rows, k %d", want.Rows, want.K)
	}
	for _, args := range [][]string{
		{"--data", semi},
		{"--data", semi, "--delimiter", ";"},
		{"--data", pipe},
		{"--data", pipe, "--delimiter", "|"},
	} {
		if got := estimateJSON(t, append(args, novel...)...); !reflect.DeepEqual(got, want) {
			t.Errorf("estimate-k %v: %+v\nwant %+v", args, got, want)
		}
	}

	// cluster: the same predictions, row for row.
	pred := func(data, out string, extra ...string) []string {
		args := append([]string{"cluster", "--data", data, "--novel", "class_1,class_2", "--method", "ncd-kmeans",
			"--k", "2", "--out", out, "--quiet"}, extra...)
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		return predictionColumn(t, out, "cluster")
	}
	base := pred(wine, filepath.Join(dir, "p.csv"))
	if got := pred(semi, filepath.Join(dir, "p_semi.csv")); !reflect.DeepEqual(got, base) {
		t.Errorf("semicolon copy: clusters differ from the comma file")
	}
	if got := pred(semi, filepath.Join(dir, "p_semi2.csv"), "--delimiter", ";"); !reflect.DeepEqual(got, base) {
		t.Errorf("semicolon copy with --delimiter: clusters differ from the comma file")
	}
	// eval reads with --delimiter too: score a ';' copy of the predictions.
	p := copyWithDelimiter(t, filepath.Join(dir, "p.csv"), filepath.Join(dir, "p_semi_pred.csv"), ";")
	code, out1, stderr := runCLI(t, "", "eval", "--data", filepath.Join(dir, "p.csv"), "--json")
	if code != 0 {
		t.Fatal(stderr)
	}
	code, out2, stderr := runCLI(t, "", "eval", "--data", p, "--delimiter", ";", "--json")
	// wall_seconds is timing: left out of the comparison.
	out1, out2 = secondsRE.ReplaceAllString(out1, ""), secondsRE.ReplaceAllString(out2, "")
	if code != 0 || out1 != strings.Replace(out2, "p_semi_pred.csv", "p.csv", 1) {
		t.Errorf("eval of the ';' copy: exit %d %s\n%s\nwant\n%s", code, stderr, out2, out1)
	}
}

// TestDelimiterErrors: a wrong --delimiter (or none on a file the sniffer
// cannot read) says what the header looks like and what to do; a bad value
// is refused before any work. Exit 2.
func TestDelimiterErrors(t *testing.T) {
	dir := t.TempDir()
	semi := copyWithDelimiter(t, "../../testdata/iris.csv", filepath.Join(dir, "iris.csv"), ";")
	for _, cmd := range []string{"estimate-k", "cluster", "fit", "tune"} {
		code, _, stderr := runCLI(t, "", cmd, "--data", semi, "--delimiter", ",", "--novel", "setosa")
		if code != exitUsage || !strings.Contains(stderr, `iris.csv: the header has one column "sepal_length;sepal_width;petal_length;petal_width;class": is the file separated by ';'? use --delimiter ;`) {
			t.Errorf("%s --delimiter , on a ';' file: exit %d\n%s", cmd, code, stderr)
		}
	}
	// The same hint from a .tsv name.
	tsv := copyWithDelimiter(t, "../../testdata/iris.csv", filepath.Join(dir, "iris.tsv"), ",")
	code, _, stderr := runCLI(t, "", "estimate-k", "--data", tsv)
	if code != exitUsage || !strings.Contains(stderr, "is the file separated by ','? use --delimiter ,") {
		t.Errorf(".tsv holding commas: exit %d\n%s", code, stderr)
	}
	for _, cmd := range []string{"estimate-k", "cluster", "fit", "tune", "eval"} {
		code, stdout, stderr := runCLI(t, "", cmd, "--data", semi, "--delimiter", "colon")
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, `--delimiter must be , ; | or tab (or auto to sniff it), got "colon"`) {
			t.Errorf("%s --delimiter colon: exit %d\n%s", cmd, code, stderr)
		}
	}
}

// editCSV copies a bundled CSV with cell (data row, column index) replaced.
func editCSV(t *testing.T, src, dst string, row, col int, val string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	f := strings.Split(lines[row], ",")
	f[col] = val
	lines[row] = strings.Join(f, ",")
	if err := os.WriteFile(dst, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestStrayCellEveryCommand: iris with "five" typed over row 9's
// sepal_length (4.4). Every command refuses it with exit 2 and a message
// naming file, row, column and value; with --impute mean every command
// prints the same one note, once (none with --quiet), and estimate-k finds
// the k of the unedited file.
func TestStrayCellEveryCommand(t *testing.T) {
	dir := t.TempDir()
	typo := editCSV(t, irisPath, filepath.Join(dir, "typo.csv"), 9, 0, "five")
	pen := editCSV(t, pendigitsSubset(t, dir, 600), filepath.Join(dir, "pen_typo.csv"), 5, 2, "five")
	const irisNote = `ncd: note: column "sepal_length": row 9 "five" is not a number; treated as missing and filled with the mean 5.853020134228189 (--impute mean)` + "\n"
	const penNote = `ncd: note: column "x2": row 5 "five" is not a number; treated as missing and filled with the mean `
	runs := []struct {
		data, msg, note string
		args            []string
	}{
		{typo, `typo.csv: row 9: column "sepal_length": "five" is not a number, in a column of 149 numbers; fix it, or use --impute mean or --impute median to treat it as missing`,
			irisNote, []string{"estimate-k", "--novel", "versicolor,virginica"}},
		{typo, `typo.csv: row 9: column "sepal_length": "five" is not a number`,
			irisNote, []string{"cluster", "--novel", "versicolor,virginica", "--k", "2", "--out", filepath.Join(dir, "c.csv")}},
		{typo, `typo.csv: row 9: column "sepal_length": "five" is not a number`,
			irisNote, []string{"fit", "--novel", "versicolor,virginica", "--k", "2", "--epochs", "1", "--ensemble", "1", "--out", filepath.Join(dir, "f.csv")}},
		{pen, `pen_typo.csv: row 5: column "x2": "five" is not a number, in a column of 599 numbers`,
			penNote, []string{"tune", "--novel", "0,3", "--trials", "1", "--folds", "2", "--epochs", "1", "--k-max", "5", "--out", filepath.Join(dir, "best.yaml")}},
	}
	for _, r := range runs {
		args := append([]string{r.args[0], "--data", r.data, "--threads", "1"}, r.args[1:]...)
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, r.msg) {
			t.Errorf("%s: exit %d, stdout %q\n%s", r.args[0], code, stdout, stderr)
		}
		os.Remove(filepath.Join(dir, "best.study.jsonl")) // each tune starts a new study
		code, _, stderr = runCLI(t, "", append(args, "--impute", "mean")...)
		if code != 0 || strings.Count(stderr, "ncd: note:") != 1 || !strings.Contains(stderr, r.note) {
			t.Errorf("%s --impute mean: exit %d, want the note once\n%s", r.args[0], code, stderr)
		}
		os.Remove(filepath.Join(dir, "best.study.jsonl"))
		code, _, stderr = runCLI(t, "", append(args, "--impute", "mean", "--quiet")...)
		if code != 0 || strings.Contains(stderr, "note") {
			t.Errorf("%s --impute mean --quiet: exit %d\n%s", r.args[0], code, stderr)
		}
	}

	// The k of the unedited file: the scan sees one setosa value moved,
	// which only shifts the z-scores of the unlabeled rows a little.
	_, clean, _ := runCLI(t, "", "estimate-k", "--data", irisPath, "--novel", "versicolor,virginica", "--quiet")
	_, fixed, _ := runCLI(t, "", "estimate-k", "--data", typo, "--novel", "versicolor,virginica", "--impute", "mean", "--quiet")
	if clean != "2\n" || fixed != clean {
		t.Errorf("estimate-k: %q on the typo file with --impute, %q on iris", fixed, clean)
	}

	// Under a model: the rows to assign (or scan) follow the model's
	// --impute, and the note names the file.
	for _, imp := range []string{"", "mean"} {
		m := filepath.Join(dir, "m"+imp+".ncd")
		args := []string{"fit", "--data", irisPath, "--novel", "versicolor,virginica", "--k", "2", "--epochs", "1", "--ensemble", "1", "--model", m, "--quiet"}
		if imp != "" {
			args = append(args, "--impute", imp)
		}
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			t.Fatalf("fit: exit %d\n%s", code, stderr)
		}
		for _, cmd := range [][]string{{"cluster", "--out", filepath.Join(dir, "a.csv")}, {"estimate-k", "--k-max", "5"}} {
			code, _, stderr := runCLI(t, "", append(cmd, "--model", m, "--data", typo)...)
			switch {
			case imp == "" && (code != exitUsage || !strings.Contains(stderr, `typo.csv: row 9: column "sepal_length": "five" is not a number, in a column of 149 numbers (numeric in the data the model `+m+` was fitted on); fix it, or use --impute`)):
				t.Errorf("%s --model without impute: exit %d\n%s", cmd[0], code, stderr)
			case imp != "" && (code != 0 || strings.Count(stderr, "ncd: note:") != 1 ||
				!strings.Contains(stderr, typo+`: column "sepal_length": row 9 "five" is not a number; treated as missing and filled with 5.843333333333335 (the --impute mean of the fitting data)`)):
				t.Errorf("%s --model with impute: exit %d\n%s", cmd[0], code, stderr)
			}
		}
	}
}

// TestReclusterOwnOutput: an earlier run's predictions (CSV or Parquet) fed
// back as --data give the same clusters as the original file: their cluster
// and unlabeled columns are not features (cluster holds the labeled rows'
// true classes), one note says so, and --json reports the same number of
// features. Named in --features, they are used.
func TestReclusterOwnOutput(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (clusterResult, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", append(args, "--json", "--threads", "1")...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		var r clusterResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		r.Seconds, r.Wall, r.Out = nil, 0, ""
		if r.Estimate != nil {
			r.Estimate.Seconds = 0
		}
		if r.Stream != nil {
			r.Stream.RowsPerSec = 0
		}
		return r, stderr
	}
	const note = `ncd: note: columns "cluster", "unlabeled" are an earlier ncd run's predictions, not data: they are left out of the features (name them in --features to use them)`
	for _, ext := range []string{".csv", ".parquet"} {
		for _, method := range []string{"ncd-kmeans", "ncd-sc"} {
			common := []string{"--novel", "versicolor,virginica", "--method", method} // --k auto
			first, second := filepath.Join(dir, method+"1"+ext), filepath.Join(dir, method+"2"+ext)
			want, stderr := run(append([]string{"cluster", "--data", irisPath, "--out", first}, common...)...)
			if want.Features != 4 || want.K != 2 || strings.Contains(stderr, "note") {
				t.Fatalf("iris: features %d k %d\n%s", want.Features, want.K, stderr)
			}
			got, stderr := run(append([]string{"cluster", "--data", first, "--out", second}, common...)...)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: re-clustering the output gives %+v, want %+v", ext, method, got, want)
			}
			if strings.Count(stderr, note) != 1 || strings.Count(stderr, "ncd: note:") != 1 {
				t.Errorf("%s %s: want the note once:\n%s", ext, method, stderr)
			}
			a, b := predictionColumn(t, first, "cluster"), predictionColumn(t, second, "cluster")
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s %s: clusters differ", ext, method)
			}
			if ext == ".csv" {
				// Same columns (cluster and unlabeled replaced in place), same rows.
				ra, _ := os.ReadFile(first)
				rb, _ := os.ReadFile(second)
				if !bytes.Equal(ra, rb) {
					t.Errorf("%s: the second output differs from the first", method)
				}
			}
		}
	}

	// estimate-k and fit skip them too.
	pred := filepath.Join(dir, "ncd-kmeans1.parquet")
	k1 := estimateJSON(t, "--data", irisPath, "--novel", "versicolor,virginica", "--k-max", "10")
	k2 := estimateJSON(t, "--data", pred, "--novel", "versicolor,virginica", "--k-max", "10")
	if !reflect.DeepEqual(k1, k2) {
		t.Errorf("estimate-k on the output: %+v, want %+v", k2, k1)
	}
	fitOut := func(data, out string) (fitResult, []byte) {
		code, stdout, stderr := runCLI(t, "", "fit", "--data", data, "--novel", "versicolor,virginica", "--k", "2", "--epochs", "2",
			"--ensemble", "1", "--threads", "1", "--out", out, "--json")
		if code != 0 {
			t.Fatalf("fit %s: exit %d\n%s", data, code, stderr)
		}
		var r fitResult
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return r, raw
	}
	r1, out1 := fitOut(irisPath, filepath.Join(dir, "fit1.csv"))
	r2, out2 := fitOut(filepath.Join(dir, "fit1.csv"), filepath.Join(dir, "fit2.csv"))
	if r1.Features != 4 || r2.Features != 4 || !bytes.Equal(out1, out2) {
		t.Errorf("fit on its own output: features %d -> %d, predictions equal %v", r1.Features, r2.Features, bytes.Equal(out1, out2))
	}

	// Named in --features, they are features: 1 + 3 cluster levels + 2.
	got, stderr := run("cluster", "--data", pred, "--novel", "versicolor,virginica", "--k", "2", "--features", "sepal_length,cluster,unlabeled")
	if got.Features != 6 || strings.Contains(stderr, "note") {
		t.Errorf("--features naming them: %d features\n%s", got.Features, stderr)
	}
	// Under a model, the features are the model's whatever the file has.
	m := filepath.Join(dir, "m.ncd")
	if code, _, stderr := runCLI(t, "", "fit", "--data", irisPath, "--novel", "versicolor,virginica", "--k", "2", "--epochs", "2",
		"--ensemble", "1", "--model", m, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	r3, _ := run("cluster", "--model", m, "--data", irisPath, "--out", filepath.Join(dir, "m1.csv"))
	r4, _ := run("cluster", "--model", m, "--data", filepath.Join(dir, "m1.csv"), "--out", filepath.Join(dir, "m2.csv"))
	if r3.Features != 4 || !reflect.DeepEqual(r3, r4) || !reflect.DeepEqual(predictionColumn(t, filepath.Join(dir, "m1.csv"), "cluster"), predictionColumn(t, filepath.Join(dir, "m2.csv"), "cluster")) {
		t.Errorf("cluster --model on its output: %+v, want %+v", r4, r3)
	}
}
