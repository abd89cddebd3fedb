package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readCSVColumns reads a CSV file's columns by name.
func readCSVColumns(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][]string{}
	for _, r := range recs[1:] {
		for j, name := range recs[0] {
			cols[name] = append(cols[name], r[j])
		}
	}
	return cols
}

// TestUnlabelKnownFitEval: fit on pendigits with the paper's novel digits
// and --unlabel-known 0.5, predicting the test file. In the predictions
// exactly round(0.5 * n_c) test rows of each known digit are unlabeled with
// their true digit kept (n_c from the file: 364 -> 182, 336 -> 168; 882 in
// all), every novel row is unlabeled, and eval --json reports acc, acc_old
// and acc_new over 882 old and 1734 new rows. The rows hidden are the same
// at 1 and 2 threads, and 'cluster --model' hides and assigns the same
// rows as fit did (the fraction and the seed are in the model file).
func TestUnlabelKnownFitEval(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	model, pred, pred2 := filepath.Join(dir, "m.ncd"), filepath.Join(dir, "p.csv"), filepath.Join(dir, "p2.csv")
	args := []string{"fit", "--data", "../../testdata/pendigits_train.csv", "--test", "../../testdata/pendigits_test.csv",
		"--novel", "0,3,5,6,7", "--unlabel-known", "0.5", "--seed", "7", "--ensemble", "1", "--epochs", "5", "--k", "5", "--quiet"}
	if code, _, stderr := runCLI(t, "", append(args, "--model", model, "--out", pred, "--threads", "1")...); code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", append(args, "--out", pred2, "--threads", "2")...); code != 0 {
		t.Fatalf("fit --threads 2: exit %d: %s", code, stderr)
	}
	test := readCSVColumns(t, "../../testdata/pendigits_test.csv")
	got := readCSVColumns(t, pred)
	if !slices.Equal(got["class"], test["class"]) {
		t.Fatal("the class column of the predictions is not the test file's")
	}
	n, hidden := map[string]int{}, map[string]int{}
	for i, c := range got["class"] {
		n[c]++
		if got["unlabeled"][i] == "true" {
			hidden[c]++
		} else if got["cluster"][i] != c {
			t.Fatalf("row %d: labeled row of class %s predicted %s", i+1, c, got["cluster"][i])
		}
	}
	total := 0
	for c, nc := range n {
		want := nc // novel digits: every row
		if !strings.Contains("03567", c) {
			want = int(math.Round(0.5 * float64(nc)))
			total += want
		}
		if hidden[c] != want {
			t.Errorf("digit %s: %d of %d rows unlabeled, want %d", c, hidden[c], nc, want)
		}
	}
	if total != 882 {
		t.Errorf("%d known rows hidden, want 882 (182 x 3 + 168 x 2)", total)
	}
	if other := readCSVColumns(t, pred2); !slices.Equal(other["unlabeled"], got["unlabeled"]) {
		t.Error("--threads 2 hid other rows")
	}

	again := filepath.Join(dir, "again.csv")
	if code, _, stderr := runCLI(t, "", "cluster", "--model", model, "--data", "../../testdata/pendigits_test.csv", "--out", again, "--quiet"); code != 0 {
		t.Fatalf("cluster --model: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(pred)
	b, _ := os.ReadFile(again)
	if len(a) == 0 || string(a) != string(b) {
		t.Error("cluster --model hides or assigns other rows than fit")
	}

	code, stdout, stderr := runCLI(t, "", "eval", "--data", pred, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var ev evalResult
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil {
		t.Fatal(err)
	}
	// fit still treats every unlabeled row as novel (no gcd setting yet),
	// so only the presence and the sizes are checked, not the scores.
	if ev.Rows != 2616 || ev.ACCOld == nil || ev.ACCNew == nil || ev.ACCOldNamed == nil || *ev.RowsOld != 882 || *ev.RowsNew != 1734 ||
		*ev.KNewTrue != 5 || *ev.KNew != 5 || !slices.Equal(ev.OldClasses, []string{"1", "2", "4", "8", "9"}) {
		t.Errorf("eval --json: %s", stdout)
	}
	for _, key := range []string{`"acc":`, `"acc_old":`, `"acc_new":`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("eval --json lacks %s", key)
		}
	}
}

// TestUnlabelKnownOtherCommands: estimate-k and cluster take the flag, and
// a bad fraction is exit 2.
func TestUnlabelKnownOtherCommands(t *testing.T) {
	dir := t.TempDir()
	pen := pendigitsSubset(t, dir, 400)
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", pen, "--novel", "0,3,5,6,7", "--unlabel-known", "0.5", "--k-max", "6", "--json")
	var est struct{ Rows int }
	if code != 0 || json.Unmarshal([]byte(stdout), &est) != nil {
		t.Fatalf("estimate-k: exit %d %s %s", code, stderr, stdout)
	}
	if !strings.Contains(stderr, "experiment mode: the labels of") {
		t.Errorf("estimate-k: no note: %q", stderr)
	}
	_, stdout0, _ := runCLI(t, "", "estimate-k", "--data", pen, "--novel", "0,3,5,6,7", "--k-max", "6", "--json")
	var est0 struct{ Rows int }
	if json.Unmarshal([]byte(stdout0), &est0) != nil || est.Rows <= est0.Rows {
		t.Errorf("estimate-k scanned %d rows with hidden labels, %d without", est.Rows, est0.Rows)
	}
	out := filepath.Join(dir, "c.csv")
	if code, _, stderr := runCLI(t, "", "cluster", "--data", pen, "--novel", "0,3,5,6,7", "--unlabel-known", "0.25", "--k", "5", "--out", out, "--quiet"); code != 0 {
		t.Fatalf("cluster: exit %d %s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "", "eval", "--data", out, "--json"); code != 0 || !strings.Contains(stdout, `"acc_old"`) {
		t.Errorf("eval of cluster's output: exit %d %s %s", code, stderr, stdout)
	}
	for _, bad := range []string{"-0.5", "2"} {
		code, _, stderr := runCLI(t, "", "cluster", "--data", pen, "--unlabel-known", bad, "--k", "5")
		if code != exitUsage || !strings.Contains(stderr, "--unlabel-known must be a fraction between 0 and 1") {
			t.Errorf("--unlabel-known %s: exit %d %q", bad, code, stderr)
		}
	}
}
