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
