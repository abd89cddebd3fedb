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

// runCLI runs ncd in memory and returns exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &App{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}
	code := Execute(app, args)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEvalReferenceCases runs `ncd eval --json` on the 8 cases of
// testdata/metrics_cases.json (scikit-learn 1.2.1's NMI and ARI, scipy
// linear_sum_assignment ACC) and requires agreement to 1e-9.
func TestEvalReferenceCases(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/metrics_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Truth, Pred   []string
			ACC, NMI, ARI float64
		}
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != 8 {
		t.Fatalf("expected 8 reference cases, got %d", len(ref.Cases))
	}
	dir := t.TempDir()
	for ci, c := range ref.Cases {
		var b strings.Builder
		b.WriteString("truth,pred\n")
		for i := range c.Truth {
			fmt.Fprintf(&b, "%s,%s\n", c.Truth[i], c.Pred[i])
		}
		path := writeFile(t, dir, fmt.Sprintf("case%d.csv", ci), b.String())
		code, stdout, stderr := runCLI(t, "", "eval", "--data", path, "--truth", "truth", "--pred", "pred", "--json")
		if code != 0 {
			t.Fatalf("case %d: exit %d: %s", ci, code, stderr)
		}
		var got evalResult
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("case %d: bad json %q: %v", ci, stdout, err)
		}
		for _, m := range []struct {
			name      string
			got, want float64
		}{{"acc", got.ACC, c.ACC}, {"nmi", got.NMI, c.NMI}, {"ari", got.ARI, c.ARI}} {
			if math.Abs(m.got-m.want) > 1e-9 {
				t.Errorf("case %d %s = %.12f, scikit-learn %.12f", ci, m.name, m.got, m.want)
			}
		}
		if got.Rows != len(c.Truth) || got.RowsScored != "all" {
			t.Errorf("case %d: rows %d scored %q", ci, got.Rows, got.RowsScored)
		}
	}
}

func TestEvalUnlabeledRowsThresholdsAndBaseline(t *testing.T) {
	dir := t.TempDir()
	// Labeled rows are always "right"; the 6 unlabeled rows have ACC 5/6.
	pred := writeFile(t, dir, "pred.csv", `x,class,cluster,unlabeled
1,a,a,false
2,b,b,false
3,c,novel_0,true
4,c,novel_0,true
5,c,novel_0,true
6,d,novel_1,true
7,d,novel_1,true
8,d,novel_0,true
9,,novel_1,true
`)
	code, stdout, stderr := runCLI(t, "", "eval", "--data", pred, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got evalResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.RowsScored != "unlabeled" || got.Rows != 6 || got.RowsWithoutTruth != 1 {
		t.Fatalf("rows scored %q, rows %d, without truth %d", got.RowsScored, got.Rows, got.RowsWithoutTruth)
	}
	if math.Abs(got.ACC-5.0/6) > 1e-12 || got.Mapping["novel_0"] != "c" || got.Mapping["novel_1"] != "d" {
		t.Fatalf("acc %v mapping %v", got.ACC, got.Mapping)
	}
	if !strings.Contains(stderr, "1 unlabeled rows have no true label") {
		t.Errorf("missing note on stderr: %q", stderr)
	}

	// --rows all: 8 rows, 7 right.
	code, stdout, _ = runCLI(t, "", "eval", "--data", pred, "--rows", "all", "--json")
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 || math.Abs(got.ACC-7.0/8) > 1e-12 {
		t.Fatalf("--rows all: code %d acc %v err %v", code, got.ACC, err)
	}

	// Thresholds: 0.83 passes, 0.9 fails with exit 3.
	if code, _, stderr = runCLI(t, "", "eval", "--data", pred, "--fail-under", "acc=0.83"); code != 0 {
		t.Fatalf("acc=0.83 should pass, exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "", "eval", "--data", pred, "--fail-under", "acc=0.9,nmi=0.1")
	if code != exitThreshold || !strings.Contains(stderr, "acc 0.8333 is under the threshold 0.9000") {
		t.Fatalf("acc=0.9: exit %d, stderr %q", code, stderr)
	}

	// Baseline: a stored run with ACC 0.9 means a drop of 0.0667 > 0.02.
	base := writeFile(t, dir, "base.json", `{"acc":0.9,"nmi":0.0,"ari":-1,"rows":6}`)
	code, _, stderr = runCLI(t, "", "eval", "--data", pred, "--baseline", base)
	if code != exitThreshold || !strings.Contains(stderr, "acc dropped by 0.0667") {
		t.Fatalf("baseline: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr = runCLI(t, "", "eval", "--data", pred, "--baseline", base, "--max-drop", "0.1"); code != 0 {
		t.Fatalf("baseline within max-drop: exit %d %s", code, stderr)
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	pred := writeFile(t, dir, "p.csv", "class,cluster,unlabeled\na,novel_0,maybe\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"eval"}, "--data is required"},
		{[]string{"eval", "--data", filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"eval", "--data", pred, "--truth", "label"}, `column "label": no such column`},
		{[]string{"eval", "--data", pred}, `p.csv: row 1: column "unlabeled": "maybe" is not true or false`},
		{[]string{"eval", "--data", pred, "--fail-under", "acc:0.5"}, "is not metric=value"},
		{[]string{"eval", "--data", pred, "--rows", "some"}, "--rows must be unlabeled or all"},
		{[]string{"eval", "--data", pred, "--baseline", pred}, "not an 'ncd eval --json' output"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestEvalStdinHumanTable(t *testing.T) {
	code, stdout, stderr := runCLI(t, "truth,pred\nx,1\nx,1\ny,2\n", "eval", "--data", "-", "--truth", "truth", "--pred", "pred")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "1.0000") || !strings.Contains(stdout, "ACC") || !strings.Contains(stdout, "matching: 1->x 2->y") {
		t.Fatalf("stdout %q", stdout)
	}
}

// TestEvalMatchingListsEveryCluster: 12 clusters for 3 classes. The
// matching line is in natural order (novel_2 before novel_10) and the 9
// clusters the matching leaves out are listed (they were omitted); with
// fewer clusters than classes, the classes no cluster matched are listed;
// --json lists both.
func TestEvalMatchingListsEveryCluster(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("class,cluster,unlabeled\n")
	// novel_2 is a, novel_10 b, novel_11 c; novel_0..9 but 2 hold one
	// stray a each.
	for i := 0; i < 5; i++ {
		b.WriteString("a,novel_2,true\nb,novel_10,true\nc,novel_11,true\n")
	}
	for _, j := range []int{0, 1, 3, 4, 5, 6, 7, 8, 9} {
		fmt.Fprintf(&b, "a,novel_%d,true\n", j)
	}
	pred := writeFile(t, dir, "p.csv", b.String())
	code, stdout, stderr := runCLI(t, "", "eval", "--data", pred)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, line := range []string{
		"matching: novel_2->a novel_10->b novel_11->c\n",
		"unmatched clusters (their rows count as errors): novel_0 novel_1 novel_3 novel_4 novel_5 novel_6 novel_7 novel_8 novel_9\n",
	} {
		if !strings.Contains(stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, stdout)
		}
	}
	_, stdout, _ = runCLI(t, "", "eval", "--data", pred, "--json")
	var r evalResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.UnmatchedClusters) != 9 || r.UnmatchedClusters[8] != "novel_9" || len(r.UnmatchedClasses) != 0 || len(r.Mapping) != 3 {
		t.Errorf("json: unmatched %v / %v, mapping %v", r.UnmatchedClusters, r.UnmatchedClasses, r.Mapping)
	}
	// 2 clusters, 3 classes: c is left without a cluster.
	few := writeFile(t, dir, "few.csv", "class,cluster\na,novel_0\na,novel_0\nb,novel_1\nb,novel_1\nc,novel_1\n")
	_, stdout, _ = runCLI(t, "", "eval", "--data", few)
	if !strings.Contains(stdout, "matching: novel_0->a novel_1->b\nclasses no cluster matched: c\n") {
		t.Errorf("fewer clusters than classes:\n%s", stdout)
	}
}

// TestEvalNoRowsToScoreSaysWhy: predictions of truly unlabeled rows (no
// --novel) have nothing to score against; the error says how many
// unlabeled rows had no true label and what to do, exit 2.
func TestEvalNoRowsToScoreSaysWhy(t *testing.T) {
	dir := t.TempDir()
	pred := writeFile(t, dir, "p.csv", "x,class,cluster,unlabeled\n1,a,a,false\n2,,novel_0,true\n3,NA,novel_1,true\n4,,novel_0,true\n")
	code, stdout, stderr := runCLI(t, "", "eval", "--data", pred)
	want := "ncd: " + pred + `: column "class": no rows to score: none of the 3 unlabeled rows has a true label (they are empty, NA, NaN or null); ` +
		"eval scores discovered classes against known truth: hide classes whose labels you have with --novel in fit or cluster, or score all rows with --rows all\n"
	if code != exitUsage || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr\n%q\nwant\n%q", code, stderr, want)
	}
	none := writeFile(t, dir, "n.csv", "class,cluster,unlabeled\na,a,false\n")
	code, _, stderr = runCLI(t, "", "eval", "--data", none)
	if code != exitUsage || !strings.Contains(stderr, "no row is unlabeled (score the labeled rows with --rows all)") {
		t.Errorf("no unlabeled rows: exit %d %q", code, stderr)
	}
}

// TestEvalGCDReferenceCases runs `ncd eval --json` on the gcd_cases of
// testdata/metrics_cases.json (GCD's split_cluster_acc_v2 re-derived by
// brute force over every matching; each case says how), to 1e-12: once with
// the old classes given by labeled rows (unlabeled = false), once by --known
// on a file of unlabeled rows only. A case with no row of an old class is
// pure NCD: no GCD key at all.
func TestEvalGCDReferenceCases(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/metrics_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		GCDCases []struct {
			Name             string
			Old, Truth, Pred []string
			ACC              float64
			ACCOld           *float64 `json:"acc_old"`
			ACCNew           *float64 `json:"acc_new"`
			ACCOldNamed      *float64 `json:"acc_old_named"`
			KNew             int      `json:"k_new"`
			KNewTrue         int      `json:"k_new_true"`
		} `json:"gcd_cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.GCDCases) < 8 {
		t.Fatalf("expected at least 8 GCD cases, got %d", len(ref.GCDCases))
	}
	dir := t.TempDir()
	for ci, c := range ref.GCDCases {
		var labeled, unlabeled strings.Builder
		labeled.WriteString("class,cluster,unlabeled\n")
		unlabeled.WriteString("class,cluster,unlabeled\n")
		for _, o := range c.Old {
			fmt.Fprintf(&labeled, "%s,%s,false\n", o, o)
		}
		for i := range c.Truth {
			fmt.Fprintf(&labeled, "%s,%s,true\n", c.Truth[i], c.Pred[i])
			fmt.Fprintf(&unlabeled, "%s,%s,true\n", c.Truth[i], c.Pred[i])
		}
		for _, run := range []struct {
			how  string
			args []string
		}{
			{"labeled rows", []string{"--data", writeFile(t, dir, fmt.Sprintf("l%d.csv", ci), labeled.String())}},
			{"--known", []string{"--data", writeFile(t, dir, fmt.Sprintf("u%d.csv", ci), unlabeled.String()), "--known", strings.Join(c.Old, ",")}},
		} {
			code, stdout, stderr := runCLI(t, "", append([]string{"eval", "--json"}, run.args...)...)
			if code != 0 {
				t.Fatalf("%s (%s): exit %d: %s", c.Name, run.how, code, stderr)
			}
			var got evalResult
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if got.Rows != len(c.Truth) || math.Abs(got.ACC-c.ACC) > 1e-12 {
				t.Errorf("%s (%s): rows %d acc %v, want %d %v", c.Name, run.how, got.Rows, got.ACC, len(c.Truth), c.ACC)
			}
			if c.ACCOld == nil {
				if strings.Contains(stdout, "acc_old") || strings.Contains(stdout, "k_new") || got.OldClasses != nil {
					t.Errorf("%s (%s): no old row, yet GCD keys:\n%s", c.Name, run.how, stdout)
				}
				continue
			}
			check := func(name string, got, want *float64) {
				switch {
				case (got == nil) != (want == nil):
					t.Errorf("%s (%s): %s present %v, reference %v", c.Name, run.how, name, got != nil, want != nil)
				case got != nil && math.Abs(*got-*want) > 1e-12:
					t.Errorf("%s (%s): %s = %.15f, reference %.15f", c.Name, run.how, name, *got, *want)
				}
			}
			check("acc_old", got.ACCOld, c.ACCOld)
			check("acc_new", got.ACCNew, c.ACCNew)
			check("acc_old_named", got.ACCOldNamed, c.ACCOldNamed)
			if got.KNew == nil || *got.KNew != c.KNew || got.KNewTrue == nil || *got.KNewTrue != c.KNewTrue {
				t.Errorf("%s (%s): k_new %v k_new_true %v, want %d %d", c.Name, run.how, got.KNew, got.KNewTrue, c.KNew, c.KNewTrue)
			}
			if fmt.Sprint(got.OldClasses) != fmt.Sprint(c.Old) {
				t.Errorf("%s (%s): old classes %v, want %v", c.Name, run.how, got.OldClasses, c.Old)
			}
			if c.ACCNew == nil && strings.Contains(stdout, `"acc_new"`) {
				t.Errorf("%s (%s): acc_new present without new rows", c.Name, run.how)
			}
		}
	}
}

// gcdPred is the "new class matched to an old-named cluster" case of
// metrics_cases.json with labeled rows: acc 9/12, acc_old 4/7, acc_new 5/5,
// acc_old_named 3/7, k_new 0, k_new_true 1.
const gcdPred = `class,cluster,unlabeled
A,A,false
B,B,false
A,B,true
A,B,true
A,B,true
A,B,true
B,B,true
B,B,true
B,B,true
C,A,true
C,A,true
C,A,true
C,A,true
C,A,true
`

// TestEvalGCDText: the human table gets a GCD block with the old classes
// and the matching GCD used; a pure NCD file's output has none of it.
func TestEvalGCDText(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "", "eval", "--data", writeFile(t, dir, "p.csv", gcdPred))
	want := `     ACC     NMI     ARI  rows  classes  clusters
  0.7500  0.7732  0.6268    12        3         2
GCD (one matching, split by old and new classes; old: A B)
  ACC old  ACC new  old named  old rows  new rows  k_new  k_new true
   0.5714   1.0000     0.4286         7         5      0           1
matching: A->C B->A
classes no cluster matched: B
`
	if code != 0 || stdout != want {
		t.Errorf("exit %d %s\n%s\nwant\n%s", code, stderr, stdout, want)
	}
	// No new rows: acc_new is "-" in the table and absent in --json.
	noNew := writeFile(t, dir, "nonew.csv", "class,cluster,unlabeled\nA,A,false\nB,B,false\nA,A,true\nA,B,true\nB,B,true\nB,novel_0,true\n")
	_, stdout, _ = runCLI(t, "", "eval", "--data", noNew)
	if !strings.Contains(stdout, "   0.5000        -     0.5000         4         0      1           0") {
		t.Errorf("no new rows:\n%s", stdout)
	}
	_, stdout, _ = runCLI(t, "", "eval", "--data", noNew, "--json")
	if strings.Contains(stdout, "acc_new") || !strings.Contains(stdout, `"acc_old": 0.5`) || !strings.Contains(stdout, `"k_new_true": 0`) {
		t.Errorf("no new rows --json:\n%s", stdout)
	}
	// Pure NCD (the labeled rows' classes a, b never unlabeled): the output
	// is what it was before GCD, byte for byte (wantNCD is the output of
	// ncd at 82b65fa, before GCD, on this file; its --json was identical too).
	ncd := writeFile(t, dir, "ncd.csv", "class,cluster,unlabeled\na,a,false\nb,b,false\nc,novel_0,true\nc,novel_0,true\nd,novel_1,true\nd,novel_0,true\n")
	_, stdout, _ = runCLI(t, "", "eval", "--data", ncd)
	wantNCD := `     ACC     NMI     ARI  rows  classes  clusters
  0.7500  0.3437  0.0000     4        2         2
matching: novel_0->c novel_1->d
`
	if stdout != wantNCD {
		t.Errorf("pure NCD text:\n%q\nwant\n%q", stdout, wantNCD)
	}
	_, stdout, _ = runCLI(t, "", "eval", "--data", ncd, "--json")
	for _, key := range []string{"old_classes", "acc_old", "acc_new", "acc_old_named", "rows_old", "rows_new", "k_new", "k_new_true"} {
		if strings.Contains(stdout, `"`+key+`"`) {
			t.Errorf("pure NCD --json has %s:\n%s", key, stdout)
		}
	}
}

// TestEvalGCDRowsAll: with --rows all the labeled rows are scored too, as
// rows of old classes named right.
func TestEvalGCDRowsAll(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", gcdPred)
	_, stdout, stderr := runCLI(t, "", "eval", "--data", p, "--rows", "all", "--json")
	var got evalResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err, stderr)
	}
	// By hand, over all 14 rows: cluster A: A1 C5; cluster B: A4 B4.
	// A->C + B->A and A->C + B->B both hit 9; the tie goes to the same
	// name, B->B: old hits 4 (the B rows) of 9 old rows; named: 1 A row
	// called A + 4 B rows called B = 5 of 9.
	if got.Rows != 14 || math.Abs(got.ACC-9.0/14) > 1e-15 || got.ACCOld == nil || math.Abs(*got.ACCOld-4.0/9) > 1e-15 ||
		math.Abs(*got.ACCOldNamed-5.0/9) > 1e-15 || got.Mapping["B"] != "B" || got.Mapping["A"] != "C" {
		t.Errorf("--rows all: %s", stdout)
	}
}

// TestEvalGCDThresholdsAndBaseline: every GCD key works with --fail-under
// and --baseline; counts print as counts; a threshold on a key the file
// cannot have is a usage error; a baseline key that disappeared fails.
func TestEvalGCDThresholdsAndBaseline(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", gcdPred)
	if code, _, stderr := runCLI(t, "", "eval", "--data", p, "--fail-under", "acc_old=0.57,acc_new=1,acc_old_named=0.42", "--fail-under", "k_new=0,k_new_true=1"); code != 0 {
		t.Fatalf("thresholds met: exit %d %s", code, stderr)
	}
	code, _, stderr := runCLI(t, "", "eval", "--data", p, "--fail-under", "acc_old=0.6,acc_old_named=0.5,k_new=2")
	want := "ncd: acc_old 0.5714 is under the threshold 0.6000; acc_old_named 0.4286 is under the threshold 0.5000; k_new 0 is under the threshold 2\n"
	if code != exitThreshold || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
	// A baseline with better old scores and more clusters.
	base := writeFile(t, dir, "base.json", `{"acc":0.75,"nmi":0.7732385636237634,"ari":0.6267672007540056,"rows":12,"acc_old":0.6,"acc_new":1,"k_new":2,"k_new_true":1}`)
	code, _, stderr = runCLI(t, "", "eval", "--data", p, "--baseline", base)
	want = "ncd: acc_old dropped by 0.0286 (0.6000 -> 0.5714), more than --max-drop 0.0200; k_new dropped by 2 (2 -> 0), more than --max-drop 0.0200\n"
	if code != exitThreshold || stderr != want {
		t.Errorf("baseline: exit %d, stderr %q, want %q", code, stderr, want)
	}
	// The run's own --json as baseline passes.
	_, stdout, _ := runCLI(t, "", "eval", "--data", p, "--json")
	self := writeFile(t, dir, "self.json", stdout)
	if code, _, stderr := runCLI(t, "", "eval", "--data", p, "--baseline", self, "--max-drop", "0"); code != 0 {
		t.Errorf("own baseline: exit %d %s", code, stderr)
	}
	// The same baseline against a pure NCD file: acc_old vanished.
	ncd := writeFile(t, dir, "ncd.csv", "class,cluster,unlabeled\nA,A,false\nC,novel_0,true\nC,novel_0,true\n")
	code, _, stderr = runCLI(t, "", "eval", "--data", ncd, "--baseline", self)
	if code != exitThreshold || !strings.Contains(stderr, "acc_old is in the baseline (0.5714) but not computed here: no scored unlabeled row is of an old class") ||
		!strings.Contains(stderr, "k_new is in the baseline (0) but not computed here") {
		t.Errorf("vanished key: exit %d %q", code, stderr)
	}
	// Thresholds on keys the file cannot have: exit 2, saying why.
	code, _, stderr = runCLI(t, "", "eval", "--data", ncd, "--fail-under", "acc_old=0.5")
	if code != exitUsage || !strings.Contains(stderr, "--fail-under acc_old: acc_old is not computed for this file: no scored unlabeled row is of an old class") {
		t.Errorf("acc_old on NCD file: exit %d %q", code, stderr)
	}
	noNew := writeFile(t, dir, "nonew.csv", "class,cluster,unlabeled\nA,A,false\nA,A,true\n")
	code, _, stderr = runCLI(t, "", "eval", "--data", noNew, "--fail-under", "acc_new=0.5")
	if code != exitUsage || !strings.Contains(stderr, "acc_new is not computed for this file: no scored row is of a new class") {
		t.Errorf("acc_new without new rows: exit %d %q", code, stderr)
	}
	for _, bad := range []string{"k_new=-1", "k_new=x", "acc_old=1.5", "acc_older=0.5"} {
		if code, _, stderr := runCLI(t, "", "eval", "--data", p, "--fail-under", bad); code != exitUsage || !strings.Contains(stderr, "--fail-under") {
			t.Errorf("%s: exit %d %q", bad, code, stderr)
		}
	}
}

// TestEvalKnownFlag: --known replaces the labeled rows' classes (and adds
// up when repeated); a --known class no row has gets a note.
func TestEvalKnownFlag(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.csv", gcdPred)
	// Only A (and the absent Zed) old, by hand: the unlabeled rows' table
	// is cluster A: C5; cluster B: A4 B3; best A->C + B->A = 9 of 12. Old
	// (A): 4 of 4; new (B, C): 5 of 8; cluster B is not an old name: k_new 1.
	code, stdout, stderr := runCLI(t, "", "eval", "--data", p, "--known", "A", "--known", "Zed", "--json")
	var got evalResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 {
		t.Fatalf("exit %d %v %s", code, err, stderr)
	}
	if fmt.Sprint(got.OldClasses) != "[A Zed]" || *got.ACCOld != 1 || *got.ACCNew != 5.0/8 || *got.KNewTrue != 2 || *got.KNew != 1 {
		t.Errorf("--known A: %s", stdout)
	}
	if !strings.Contains(stderr, `ncd: note: --known class "Zed" does not occur in the "class" column`) {
		t.Errorf("stderr %q", stderr)
	}
}
