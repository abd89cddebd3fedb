package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/assign"
	ncdio "github.com/ncd-project/ncd/internal/io"
)

// streamInput writes pendigits' test rows with an id column of number-like
// names, some rows unlabeled, feature x3 turning float at a late row (so the
// streamed pass must start over with x3 as Float), and a column with no value
// at all (Float when the whole file is read, which a Parquet output shows).
func streamInput(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/pendigits_test.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var b strings.Builder
	b.WriteString("id,blank," + lines[0] + "\n")
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		if i == len(lines)-40 {
			f[4] = "49.5"
		}
		if i%9 == 0 {
			f[len(f)-1] = "NA"
		}
		fmt.Fprintf(&b, "%05d,,%s\n", i, strings.Join(f, ","))
	}
	return writeFile(t, dir, "in.csv", b.String())
}

func TestStreamedAssignmentMatchesInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	defer func(n, m int) { ncdio.ChunkBytes, assign.SliceRows = n, m }(ncdio.ChunkBytes, assign.SliceRows)
	ncdio.ChunkBytes = 4096 // about 80 rows a chunk
	assign.SliceRows = 30   // and the Parquet input's one row group in slices
	dir := t.TempDir()
	model := filepath.Join(dir, "m.ncd")
	if code, _, stderr := runCLI(t, "", "fit", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
		"--epochs", "3", "--ensemble", "2", "--k", "5", "--quiet", "--model", model); code != 0 {
		t.Fatalf("fit: %s", stderr)
	}
	in := streamInput(t, dir)
	// The same rows as Parquet input.
	inPq := filepath.Join(dir, "in.parquet")
	tb, err := ncdio.ReadWith(in, nil, ncdio.ReadOptions{Text: []string{"class", "id"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ncdio.Write(inPq, tb); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{in, inPq} {
		for _, ext := range []string{".csv", ".tsv", ".csv.gz", ".parquet"} {
			for _, known := range []string{"--assign-known=false", "--assign-known=true"} {
				whole := filepath.Join(dir, "whole"+ext)
				code, _, stderr := runCLI(t, "", "cluster", "--model", model, "--data", src, "--out", whole, "--stream=false", known, "--quiet")
				if code != 0 {
					t.Fatalf("in memory: %s", stderr)
				}
				want, _ := os.ReadFile(whole)
				for _, th := range []string{"1", "3"} {
					got := filepath.Join(dir, "streamed"+ext)
					code, stdout, stderr := runCLI(t, "", "cluster", "--model", model, "--data", src, "--out", got, known, "--threads", th, "--json")
					if code != 0 {
						t.Fatalf("streamed: %s", stderr)
					}
					var res clusterResult
					if err := json.Unmarshal([]byte(stdout), &res); err != nil {
						t.Fatal(err)
					}
					if res.Stream == nil || res.Rows != 3498 || res.Clustered < 3498/9 {
						t.Fatalf("%s -> %s: not streamed, or wrong counts: %s", src, ext, stdout)
					}
					wantPasses := 2 // x3 turns float
					if ext == ".parquet" {
						wantPasses = 3 // and the blank column is written as double
					}
					if src == in && (res.Stream.Chunks < 20 || res.Stream.Passes != wantPasses) {
						t.Fatalf("CSV input -> %s: %d chunks, %d passes; want many chunks and %d passes", ext, res.Stream.Chunks, res.Stream.Passes, wantPasses)
					}
					g, _ := os.ReadFile(got)
					if len(want) == 0 || !bytes.Equal(g, want) {
						t.Fatalf("%s -> %s %s threads %s: streamed output differs from the in-memory one", src, ext, known, th)
					}
				}
			}
		}
	}
}

func TestStreamedAssignmentBadCell(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	defer func(n, m int) { ncdio.ChunkBytes, assign.SliceRows = n, m }(ncdio.ChunkBytes, assign.SliceRows)
	ncdio.ChunkBytes = 4096
	assign.SliceRows = 7
	dir := t.TempDir()
	model := filepath.Join(dir, "m.ncd")
	if code, _, stderr := runCLI(t, "", "fit", "--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7",
		"--epochs", "1", "--ensemble", "1", "--k", "5", "--quiet", "--model", model); code != 0 {
		t.Fatalf("fit: %s", stderr)
	}
	raw, _ := os.ReadFile("../../testdata/pendigits_test.csv")
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	f := strings.Split(lines[3000], ",")
	f[2] = "" // row 3000, column x2: missing
	lines[3000] = strings.Join(f, ",")
	bad := writeFile(t, dir, "bad.csv", strings.Join(lines, "\n")+"\n")
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := runCLI(t, "", "cluster", "--model", model, "--data", bad, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, bad+": row 3000: column \"x2\": missing value") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an output file was written for a failed run")
	}
	// A text cell in a numeric feature is judged on the whole column: the
	// in-memory path's message.
	f[2] = "five"
	lines[3000] = strings.Join(f, ",")
	bad = writeFile(t, dir, "bad2.csv", strings.Join(lines, "\n")+"\n")
	code, _, stderr = runCLI(t, "", "cluster", "--model", model, "--data", bad, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "row 3000: column \"x2\": \"five\" is not a number") {
		t.Fatalf("exit %d: %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an output file was written for a failed run")
	}
}
