package study

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/usererr"
)

func trial(i int, acc float64) cv.Trial {
	return cv.Trial{Index: i, Params: cv.Params{"lr": 1e-3 * float64(i+1), "latent-dim": 13},
		Folds: []cv.FoldScore{{Fold: 0, K: 4, ACC: acc, NMI: 0.5, ARI: 0.25, Seconds: 1.5}}, ACC: acc, NMI: 0.5, ARI: 0.25}
}

func TestRoundTripAndAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.study.jsonl")
	h := Header{Fingerprint: "abc", Settings: map[string]string{"method": "pbn"}}
	w, err := Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	// Finishing order is not index order; values that need all 17 digits
	// must come back bit for bit (TPE's proposals depend on them).
	want := []cv.Trial{trial(2, 0.1+0.2), trial(0, 1.0/3), trial(1, 0.7)}
	for _, tr := range want {
		if err := w.Add(tr); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Header.Fingerprint != "abc" || s.Header.Study != Version || len(s.Warnings) != 0 {
		t.Fatalf("header %+v, warnings %v", s.Header, s.Warnings)
	}
	sorted := []cv.Trial{want[1], want[2], want[0]}
	if !reflect.DeepEqual(s.Trials, sorted) {
		t.Fatalf("trials\n%+v\nwant\n%+v", s.Trials, sorted)
	}
	// Resume: append one more.
	w, err = Append(path, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(trial(3, 0.9)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if s, err = Load(path); err != nil || len(s.Trials) != 4 || s.Trials[3].ACC != 0.9 {
		t.Fatalf("after append: %v trials, err %v", len(s.Trials), err)
	}
}

func TestIncompleteLastLineIsDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	w, err := Create(path, Header{Fingerprint: "f"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(trial(0, 0.5))
	w.Add(trial(1, 0.6))
	w.Close()
	data, _ := os.ReadFile(path)
	// kill -9 in the middle of writing trial 2: a prefix of its line.
	full := data
	line := `{"trial":2,"params":{"lr":0.003},"folds":[{"fold":0,"k":4,"acc":0.9`
	for _, tail := range []string{line, `{"trial":2,"params":{"lr":0.003}` /* valid JSON, no newline */, "\x00\x00\x00"} {
		if err := os.WriteFile(path, append(append([]byte(nil), full...), tail...), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path)
		if err != nil {
			t.Fatalf("tail %q: %v", tail, err)
		}
		if len(s.Trials) != 2 || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "line 4 is incomplete") {
			t.Fatalf("tail %q: %d trials, warnings %v", tail, len(s.Trials), s.Warnings)
		}
		// Appending cuts the fragment.
		w, err := Append(path, s)
		if err != nil {
			t.Fatal(err)
		}
		w.Add(trial(2, 0.7))
		w.Close()
		s, err = Load(path)
		if err != nil || len(s.Trials) != 3 || len(s.Warnings) != 0 || s.Trials[2].ACC != 0.7 {
			t.Fatalf("tail %q: after append: %+v, %v", tail, s, err)
		}
	}
}

func TestCorruptFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(func() string {
		p := filepath.Join(dir, "good.jsonl")
		w, _ := Create(p, Header{Fingerprint: "f"})
		w.Add(trial(0, 0.5))
		w.Add(trial(1, 0.6))
		w.Close()
		return p
	}())
	lines := strings.SplitAfter(string(good), "\n")
	for name, content := range map[string]string{
		"empty":           "",
		"no header":       lines[1] + lines[2],
		"header only cut": lines[0][:10],
		"not json":        "hello\n",
		"middle corrupt":  lines[0] + "garbage\n" + lines[2],
		"future version":  strings.Replace(lines[0], `"ncd_study":1`, `"ncd_study":9`, 1),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := Load(p); err == nil || !usererr.Is(err) {
			t.Errorf("%s: err %v, want a user error", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestMismatch(t *testing.T) {
	a := Header{Settings: map[string]string{"epochs": "200", "method": "pbn", "seed": "0"}}
	b := Header{Settings: map[string]string{"epochs": "100", "method": "pbn", "prune": "2"}}
	got := Mismatch(a, b)
	want := []string{"epochs: 200 -> 100", "prune: (unset) -> 2", "seed: 0 -> (unset)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Mismatch = %v, want %v", got, want)
	}
	if Mismatch(a, a) != nil {
		t.Error("identical settings reported as different")
	}
}

func TestConcurrentWritersAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.jsonl")
	w, err := Create(path, Header{Fingerprint: "f"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(trial(0, 0.5))
	// A second tune resuming the study while the first still runs: refused
	// (flock), before it touches the file.
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Append(path, s); err == nil || !strings.Contains(err.Error(), "another ncd tune") {
		t.Fatalf("second writer: err %v, want a refusal", err)
	}
	// Creating it anew is refused too.
	if _, err := Create(path, Header{Fingerprint: "f"}); err == nil {
		t.Fatal("Create over an existing study succeeded")
	}
	w.Add(trial(1, 0.6))
	w.Close()
	w.Close()
	// Once the first writer is done the study can be resumed, but not from
	// a stale read.
	stale := s
	if _, err := Append(path, stale); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("stale Load: err %v", err)
	}
	s, _ = Load(path)
	w2, err := Append(path, s)
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	if s, _ = Load(path); len(s.Trials) != 2 {
		t.Fatalf("%d trials, want 2", len(s.Trials))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
