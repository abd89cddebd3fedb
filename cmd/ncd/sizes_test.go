package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/estimate"
)

type sizesJSON struct {
	K          int                    `json:"k"`
	ClassSizes *estimate.SizeEstimate `json:"class_sizes"`
}

// TestKRuleSizes: the default rule takes k from the class sizes when the
// known classes are even. pendigits' training split with 0,3,5,6,7 novel:
// 3,717 unlabeled rows, known classes of 719, 780, 779, 780 and 719 rows
// (mean 755.4, sample sd / mean .0440), so k = 3717 / 755.4 = 4.92 -> 5,
// whatever the raw-space scan says. --k-rule stable leaves the sizes out.
func TestKRuleSizes(t *testing.T) {
	args := []string{"estimate-k", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
		"--k-max", "8", "--runs", "1", "--n-init", "2", "--json"}
	code, stdout, stderr := runCLI(t, "", args...)
	var res sizesJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	s := res.ClassSizes
	if s == nil || res.K != 5 || !s.Used || s.K != 5 || s.KnownClasses != 5 || s.Unlabeled != 3717 ||
		math.Abs(s.MeanSize-755.4) > 1e-9 || math.Abs(s.KHat-3717/755.4) > 1e-9 || math.Abs(s.CV-0.043991) > 1e-5 || s.SD > 0.39 {
		t.Fatalf("class sizes: k %d %+v", res.K, s)
	}
	plot := filepath.Join(t.TempDir(), "k.svg")
	code, _, stderr = runCLI(t, "", append(args[:len(args)-1:len(args)-1], "--plot", plot)...)
	if code != 0 || !strings.Contains(stderr, "k = 5 from the class sizes (--k-rule sizes): 3717 unlabeled rows / 755 rows per known class") ||
		!strings.Contains(stderr, "estimated k = 5 (from the class sizes; scan: index stable, raw space, 3717 rows") {
		t.Errorf("stderr: %s", stderr)
	}
	if svg, err := os.ReadFile(plot); err != nil || !strings.Contains(string(svg), "(k = 5 from the class sizes)") {
		t.Errorf("the plot does not say the sizes chose k (%v)", err)
	}
	// Half of each known class's labels hidden: the unlabeled rows are no
	// count of novel classes any more (the sizes would say 14.8).
	code, stdout, stderr = runCLI(t, "", append(args, "--unlabel-known", "0.5")...)
	var mixed sizesJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &mixed) != nil || mixed.ClassSizes == nil || mixed.ClassSizes.Used ||
		!strings.Contains(mixed.ClassSizes.Reason, "--unlabel-known") || mixed.K != mixed.ClassSizes.ScanK {
		t.Errorf("--unlabel-known: exit %d, %s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "", append(args, "--k-rule", "stable")...)
	var st sizesJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || st.ClassSizes != nil || st.K != s.ScanK {
		t.Errorf("--k-rule stable: exit %d, %s\n%s", code, stdout, stderr)
	}
}

// TestKRuleSizesUneven: known classes of 10, 40, 20 and 80 rows say
// nothing precise about how many classes 60 unlabeled rows hold (k_hat
// 60 / 37.5 = 1.6, spread .85): the stable rule's scan chooses k, which
// finds the two well-separated novel groups, and says why.
func TestKRuleSizesUneven(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,class\n")
	row := 0
	add := func(cx, cy float64, n int, label string) {
		for i := range n {
			// a small deterministic jitter around the centre
			a := float64(row%7) / 7 * 2 * math.Pi
			r := 0.3 + 0.05*float64(i%5)
			fmt.Fprintf(&b, "%.4f,%.4f,%s\n", cx+r*math.Cos(a), cy+r*math.Sin(a), label)
			row++
		}
	}
	add(0, 0, 10, "k1")
	add(10, 0, 40, "k2")
	add(0, 10, 20, "k3")
	add(10, 10, 80, "k4")
	add(20, 20, 30, "n1")
	add(-10, 20, 30, "n2")
	path := filepath.Join(t.TempDir(), "uneven.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", path, "--novel", "n1,n2", "--k-max", "6", "--json")
	var res sizesJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	s := res.ClassSizes
	if s == nil || s.Used || res.K != 2 || s.ScanK != 2 || math.Abs(s.KHat-1.6) > 1e-9 || !strings.Contains(s.Reason, "too uneven") {
		t.Fatalf("k %d, class sizes %+v", res.K, s)
	}
}

// TestKRuleSizesIndex: another index than the silhouette asks for the
// index scan (as --k-rule stable and ps do; see --index's help), also under
// the default rule: estimate-k --index ch chooses Calinski-Harabasz's k, with
// no class sizes, although pendigits' sizes would give 5.
func TestKRuleSizesIndex(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
		"--k-max", "8", "--runs", "1", "--n-init", "2", "--index", "ch", "--json")
	var res estimateResult
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	if res.Index != "ch" || res.ClassSizes != nil || res.K != res.Best["ch"] || len(res.Scores["ch"]) != 7 {
		t.Fatalf("index %q, k %d, best %v, class sizes %+v", res.Index, res.K, res.Best, res.ClassSizes)
	}
}

// TestKRuleSizesFewRows: 15 unlabeled rows are too few for prediction
// strength, so the stable scan falls back to the silhouette's 1se rule and
// notes it (its k is 2 at least); when the class sizes decide (10 known
// classes of 15 rows: one novel class's worth, sd 1/sqrt(15) sqrt(1 + 1/10)
// = .27), the note says it concerns the scan's own k, not the k used.
func TestKRuleSizesFewRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("x,y,class\n")
	for c := range 11 {
		label := fmt.Sprintf("c%d", c)
		if c == 10 {
			label = "n0"
		}
		for i := range 15 {
			a := float64(i) / 15 * 2 * math.Pi
			r := 0.3 + 0.1*float64(i%3)
			fmt.Fprintf(&b, "%.4f,%.4f,%s\n", 10*float64(c%4)+r*math.Cos(a), 10*float64(c/4)+r*math.Sin(a), label)
		}
	}
	path := filepath.Join(t.TempDir(), "few.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "estimate-k", "--data", path, "--novel", "n0", "--k-max", "6")
	if code != 0 || stdout != "1\n" {
		t.Fatalf("exit %d: %q\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "k = 1 from the class sizes (--k-rule sizes): 15 unlabeled rows / 15 rows per known class") ||
		!strings.Contains(stderr, "note: the scan's own k (") || strings.Contains(stderr, "note: prediction strength") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestTuneExportKRule: a study tuned with a k rule other than the default
// (sizes) writes it into best.yaml, and --export of the study file without
// the tune's flags writes the rule and range the trials ran with (from the
// study's "scan" setting), not this command's defaults; the study resumes.
func TestTuneExportKRule(t *testing.T) {
	dir := t.TempDir()
	data := pendigitsSubset(t, dir, 600)
	args := []string{"--data", data, "--novel", "0,3", "--trials", "1", "--startup", "1", "--folds", "3", "--epochs", "2",
		"--k-rule", "stable", "--k-max", "4", "--runs", "1", "--scan-n-init", "1", "--out", filepath.Join(dir, "best.yaml"), "--quiet"}
	r, _ := runTuneJSON(t, args...)
	best := readFile(t, filepath.Join(dir, "best.yaml"))
	if !strings.Contains(best, "\nk-rule: \"stable\"\n") || !strings.Contains(best, "\nk-max: 4\n") {
		t.Fatalf("best.yaml:\n%s", best)
	}
	bare := filepath.Join(dir, "bare.yaml")
	code, _, stderr := runCLI(t, "", "tune", "--study", r.Study, "--export", bare)
	got := readFile(t, bare)
	if code != 0 || !strings.Contains(got, "\nk-rule: \"stable\"\n") || !strings.Contains(got, "\nk-max: 4\n") || !strings.Contains(got, "\nk-min: 2\n") {
		t.Errorf("--export without the tune's flags: exit %d, %s\n%s", code, stderr, got)
	}
	// The default rule is not written, by tune or by --export.
	for scan, want := range map[string]string{
		"k 2..30, 3 runs x 10 inits, silhouette, sizes (class sizes, else stable with prediction strength)": "2 30 sizes true",
		"k 3..12, 1 runs x 2 inits, silhouette, ps (prediction strength)":                                   "3 12 ps true",
		"k 2..30, 3 runs x 10 inits, silhouette":                                                            "2 30 max true",
		"k 2..8, 3 runs x 10 inits, silhouette, 1se":                                                        "2 8 1se true",
		"k true": "0 0  false",
	} {
		kMin, kMax, rule, ok := studyScan(scan)
		if got := fmt.Sprintf("%d %d %s %v", kMin, kMax, rule, ok); got != want {
			t.Errorf("studyScan(%q) = %s, want %s", scan, got, want)
		}
	}
	r2, _ := runTuneJSON(t, append(args, "--resume", "--trials", "2")...)
	if r2.Trials != 2 || r2.Complete != 2 {
		t.Errorf("resumed: %d trials, %d complete", r2.Trials, r2.Complete)
	}
	// The default rule: no k-rule in best.yaml, nor in its bare export.
	def := slices.Clone(args)
	def[slices.Index(def, "stable")] = "sizes"
	def[slices.Index(def, "--out")+1] = filepath.Join(dir, "def.yaml")
	r3, _ := runTuneJSON(t, def...)
	code, _, stderr = runCLI(t, "", "tune", "--study", r3.Study, "--export", bare+".def.yaml")
	if got, exp := readFile(t, filepath.Join(dir, "def.yaml")), readFile(t, bare+".def.yaml"); code != 0 ||
		strings.Contains(got, "k-rule") || strings.Contains(exp, "k-rule") || !strings.Contains(exp, "\nk-max: 4\n") {
		t.Errorf("default rule: exit %d, %s\n%s\n%s", code, stderr, got, exp)
	}
}

// TestKRuleSizesUnlabelKnownModel: --unlabel-known keeps the sizes out of
// fit's k, and out of estimate-k --model with that model, whose
// preprocessing hides the same share of --data's labels (pendigits' sizes
// alone would give 5 here, TestKRuleSizes).
func TestKRuleSizesUnlabelKnownModel(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	m := filepath.Join(t.TempDir(), "m.ncd")
	data := "../../testdata/pendigits_train.csv"
	code, stdout, stderr := runCLI(t, "", "fit", "--data", data, "--novel", "0,3,5,6,7", "--unlabel-known", "0.5", "--epochs", "1",
		"--ensemble", "1", "--k-max", "8", "--model", m, "--json", "--quiet")
	var fit struct {
		K        int       `json:"k"`
		Estimate sizesJSON `json:"estimate"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &fit) != nil {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	if s := fit.Estimate.ClassSizes; s == nil || s.Used || !strings.Contains(s.Reason, "--unlabel-known") || fit.K != s.ScanK {
		t.Errorf("fit: k %d, class sizes %+v", fit.K, s)
	}
	code, stdout, stderr = runCLI(t, "", "estimate-k", "--model", m, "--data", data, "--k-max", "8", "--runs", "1", "--n-init", "2", "--json", "--quiet")
	var est sizesJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &est) != nil {
		t.Fatalf("estimate-k --model: exit %d: %s", code, stderr)
	}
	if s := est.ClassSizes; s == nil || s.Used || !strings.Contains(s.Reason, "--unlabel-known") || est.K != s.ScanK {
		t.Errorf("estimate-k --model: k %d, class sizes %+v", est.K, s)
	}
}

// TestKRuleSizesClusterSCTest: cluster --method sc clusters --test's rows;
// a --test table without labelled rows leaves the class sizes to --data's
// (4 known classes of 30 rows, 60 unlabeled: k = 2, sd 1/sqrt(30) sqrt(2 +
// 4/4) = .32), as fit does, instead of to no table at all.
func TestKRuleSizesClusterSCTest(t *testing.T) {
	var train, test strings.Builder
	train.WriteString("x,y,class\n")
	test.WriteString("x,y,class\n")
	for c := range 6 {
		for i := range 30 {
			a := float64(i) / 30 * 2 * math.Pi
			r := 0.3 + 0.1*float64(i%3)
			x, y := 10*float64(c%3)+r*math.Cos(a), 10*float64(c/3)+r*math.Sin(a)
			fmt.Fprintf(&train, "%.4f,%.4f,c%d\n", x, y, c)
			if c >= 4 {
				fmt.Fprintf(&test, "%.4f,%.4f,\n", x+0.01, y)
			}
		}
	}
	dir := t.TempDir()
	trainPath, testPath := filepath.Join(dir, "train.csv"), filepath.Join(dir, "test.csv")
	if os.WriteFile(trainPath, []byte(train.String()), 0o644) != nil || os.WriteFile(testPath, []byte(test.String()), 0o644) != nil {
		t.Fatal("writing the tables")
	}
	code, stdout, stderr := runCLI(t, "", "cluster", "--data", trainPath, "--test", testPath, "--novel", "c4,c5",
		"--method", "sc", "--k-max", "6", "--json")
	var res struct {
		K        int        `json:"k"`
		Estimate *sizesJSON `json:"estimate"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Estimate == nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	s := res.Estimate.ClassSizes
	if s == nil || !s.Used || res.K != 2 || s.K != 2 || s.KnownClasses != 4 || s.Unlabeled != 60 || s.MeanSize != 30 {
		t.Fatalf("k %d, class sizes %+v", res.K, s)
	}
}
