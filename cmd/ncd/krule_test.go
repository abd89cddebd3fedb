package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// --k-rule folds trains networks on hidden-class folds: only fit (PBN, ncd
// setting) can; every other command refuses it before any work, exit 2,
// saying why; fit with 2 known classes keeps the default cutoff and says so.
func TestKRuleFolds(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"estimate-k", "--data", irisPath, "--novel", "virginica", "--k-rule", "folds"},
		{"cluster", "--data", irisPath, "--novel", "virginica", "--k-rule", "folds", "--out", dir + "/c.csv"},
		{"tune", "--data", "../../testdata/pendigits_test.csv", "--novel", "0,3", "--k-rule", "folds", "--out", dir + "/b.yaml"},
		{"fit", "--data", irisPath, "--novel", "virginica", "--k-rule", "folds", "--setting", "gcd", "--out", dir + "/g.csv"},
		{"fit", "--data", irisPath, "--novel", "virginica", "--k-rule", "folds", "--method", "tabularncd", "--out", dir + "/t.csv"},
		{"fit", "--data", irisPath, "--novel", "virginica", "--k-rule", "fold", "--out", dir + "/f.csv"},
	} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(stderr, "--k-rule") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	code, stdout, stderr := runCLI(t, "", "fit", "--data", irisPath, "--novel", "virginica", "--k-rule", "folds",
		"--ensemble", "1", "--epochs", "5", "--out", dir+"/p.csv", "--json")
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	var res struct {
		Estimate struct {
			Note        string          `json:"note"`
			Calibration json.RawMessage `json:"calibration"`
		} `json:"estimate"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Estimate.Note, "at least 3 known classes") || res.Estimate.Calibration != nil {
		t.Errorf("2 known classes: note %q, calibration %s", res.Estimate.Note, res.Estimate.Calibration)
	}
}
