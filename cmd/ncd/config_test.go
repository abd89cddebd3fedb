package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestConfigPrecedence proves SPEC.md's rule: flag > NCD_* env > config file > default.
func TestConfigPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("lr: 0.3\nlatent-dim: 30\nepochs: 300\nbogus-key: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NCD_LR", "0.2")
	t.Setenv("NCD_LATENT_DIM", "20")

	var got struct {
		lr       float64
		latent   int
		epochs   int
		batch    int
		warnings string
	}
	run := func(args ...string) {
		t.Helper()
		var stderr bytes.Buffer
		app := &App{Stdout: &bytes.Buffer{}, Stderr: &stderr}
		root := newRootCmd(app)
		cmd := &cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error {
			v, _, err := loadConfig(cmd, app)
			if err != nil {
				return err
			}
			got.lr = v.GetFloat64("lr")
			got.latent = v.GetInt("latent-dim")
			got.epochs = v.GetInt("epochs")
			got.batch = v.GetInt("batch-size")
			return nil
		}}
		cmd.Flags().Float64("lr", 0.1, "")
		cmd.Flags().Int("latent-dim", 10, "")
		cmd.Flags().Int("epochs", 200, "")
		cmd.Flags().Int("batch-size", 512, "")
		root.AddCommand(cmd)
		root.SetArgs(append([]string{"probe"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		got.warnings = stderr.String()
	}

	run("--config", cfg, "--lr", "0.4")
	if got.lr != 0.4 {
		t.Errorf("flag should beat env and config: lr = %v, want 0.4", got.lr)
	}
	if got.latent != 20 {
		t.Errorf("env should beat config: latent-dim = %v, want 20", got.latent)
	}
	if got.epochs != 300 {
		t.Errorf("config should beat default: epochs = %v, want 300", got.epochs)
	}
	if got.batch != 512 {
		t.Errorf("default should apply: batch-size = %v, want 512", got.batch)
	}
	if !strings.Contains(got.warnings, `"bogus-key"`) {
		t.Errorf("an unknown config key should be warned about; stderr: %q", got.warnings)
	}

	run()
	if got.lr != 0.2 || got.epochs != 200 {
		t.Errorf("without config: lr %v (want env 0.2), epochs %v (want default 200)", got.lr, got.epochs)
	}
}

func TestExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	app := &App{Stdout: &bytes.Buffer{}, Stderr: &stderr}
	if code := Execute(app, []string{"no-such-command"}); code != exitUsage {
		t.Errorf("unknown command: exit %d, want %d", code, exitUsage)
	}
	if code := Execute(app, []string{"--no-such-flag"}); code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", code, exitUsage)
	}
	if code := Execute(app, []string{"--version"}); code != exitOK {
		t.Errorf("--version: exit %d, want 0", code)
	}
}

// Help that was asked for goes to stdout (so `ncd fit --help | less` works);
// a usage error goes to stderr only, with exit code 2 and nothing on stdout.
func TestHelpOnStdoutErrorsOnStderr(t *testing.T) {
	for _, args := range [][]string{{"fit", "--help"}, {"help", "tune"}, {}} {
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitOK || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("ncd %v: exit %d, stdout %d bytes (Usage: %v), stderr %q", args, code, len(stdout), strings.Contains(stdout, "Usage:"), stderr)
		}
	}
	code, stdout, stderr := runCLI(t, "", "fit", "--no-such-flag")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "ncd fit --help") {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Every example config in configs/ runs with the command it is meant for,
// without an ignored key (the runs are cut short with flags, which override
// the file).
func TestExampleConfigs(t *testing.T) {
	// The configs name their data relative to configs/ (../testdata/...);
	// run them from the repository root, as the README does.
	t.Chdir("../..")
	files, err := filepath.Glob("configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	dir := t.TempDir()
	for _, f := range files {
		var args []string
		switch base := filepath.Base(f); {
		case strings.HasPrefix(base, "pbn-"):
			args = []string{"fit", "--epochs", "1", "--k", "3", "--out", filepath.Join(dir, "fit.csv")}
		case strings.HasPrefix(base, "tabularncd-"):
			args = []string{"fit", "--pretrain-epochs", "1", "--epochs", "1", "--out", filepath.Join(dir, "fit.csv")}
		case strings.HasPrefix(base, "tune-"):
			args = []string{"tune", "--trials", "1", "--epochs", "1", "--folds", "2", "--k", "true", "--out", filepath.Join(dir, base)}
		case strings.HasPrefix(base, "ncd-sc-"):
			args = []string{"cluster", "--method", "ncd-kmeans", "--out", filepath.Join(dir, "cluster.csv")}
		default:
			t.Errorf("%s: no command known for this config name", f)
			continue
		}
		args = append(args, "--config", f, "--quiet", "--threads", "2")
		code, _, stderr := runCLI(t, "", args...)
		if code != 0 || strings.Contains(stderr, "warning") {
			t.Errorf("ncd %v: exit %d\n%s", args, code, stderr)
		}
	}
}

// TestBadKRule: an unknown --k-rule is a usage error in every command that
// scans k, raised before any training or clustering (the 200-epoch fit
// below would take seconds; it must not start) and naming the flag.
func TestBadKRule(t *testing.T) {
	data := []string{"--data", "../../testdata/pendigits_train.csv", "--novel", "0,3,5,6,7", "--k-rule", "2se"}
	for _, cmd := range [][]string{
		{"fit", "--epochs", "200", "--ensemble", "8"},
		{"cluster", "--method", "kmeans"},
		{"estimate-k"},
		{"tune", "--trials", "1"},
	} {
		args := append(append(slices.Clone(cmd), data...), "--out", filepath.Join(t.TempDir(), "x"))
		if cmd[0] == "estimate-k" {
			args = append(slices.Clone(cmd), data...)
		}
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, "--k-rule") || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", cmd, code, stderr, stdout)
		}
	}
}

// TestConfigPathsAreRelativeToTheConfig: a relative path in a config file
// (data, out, ...) means a file next to the config, wherever ncd runs from;
// tune writes its best config's data path that way; a path given as a flag
// stays relative to the working folder; an error about a file the config
// named names the config and the key.
func TestConfigPathsAreRelativeToTheConfig(t *testing.T) {
	dir := t.TempDir()
	pendigitsSubset(t, dir, 400) // dir/pen.csv
	if err := os.Mkdir(filepath.Join(dir, "runs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	code, _, stderr := runCLI(t, "", "tune", "--data", "pen.csv", "--novel", "0,3", "--trials", "1", "--folds", "3",
		"--epochs", "1", "--k", "true", "--out", "runs/best.yaml", "--quiet")
	if code != 0 {
		t.Fatalf("tune: exit %d: %s", code, stderr)
	}
	best, err := os.ReadFile(filepath.Join(dir, "runs", "best.yaml"))
	if err != nil || !strings.Contains(string(best), "\ndata: \"../pen.csv\"\n") {
		t.Fatalf("best.yaml should name the data relative to runs/: %v\n%s", err, best)
	}

	// From another folder: the data is found, and out: lands next to the config.
	elsewhere := t.TempDir()
	t.Chdir(elsewhere)
	cfg := filepath.Join(dir, "runs", "best.yaml")
	if err := os.WriteFile(cfg, append(best, "out: pred.csv\nk: 2\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "fit", "--config", cfg, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("fit --config from another folder: exit %d: %s", code, stderr)
	}
	var fit struct {
		Out    string         `json:"out"`
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal([]byte(stdout), &fit); err != nil {
		t.Fatal(err)
	}
	if fit.Out != filepath.Join(dir, "runs", "pred.csv") || fit.Config["data"] != filepath.Join(dir, "pen.csv") {
		t.Errorf("out %q, data %q: want them resolved against %s", fit.Out, fit.Config["data"], filepath.Join(dir, "runs"))
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "pred.csv")); err != nil {
		t.Errorf("predictions not next to the config: %v", err)
	}
	if names := listDir(t, elsewhere); len(names) != 0 {
		t.Errorf("files written in the working folder: %v", names)
	}

	// A flag's relative path is the working folder's, config or not.
	writeFile(t, elsewhere, "pen.csv", string(must(os.ReadFile(filepath.Join(dir, "pen.csv")))))
	code, stdout, stderr = runCLI(t, "", "fit", "--config", cfg, "--data", "pen.csv", "--out", "here.csv", "--json", "--quiet")
	if err := json.Unmarshal([]byte(stdout), &fit); err != nil || code != 0 {
		t.Fatalf("exit %d %v: %s", code, err, stderr)
	}
	if fit.Config["data"] != "pen.csv" || fit.Out != "here.csv" {
		t.Errorf("flags: data %q out %q", fit.Config["data"], fit.Out)
	}

	// A bad path in the config: the error names the config and the key.
	bad := writeFile(t, filepath.Join(dir, "runs"), "bad.yaml", "data: missing.csv\nnovel: \"0,3\"\nk: 2\n")
	code, _, stderr = runCLI(t, "", "cluster", "--config", bad)
	want := "ncd: " + bad + ": data: " + filepath.Join(dir, "runs", "missing.csv") + ": "
	if code != exitUsage || !strings.HasPrefix(stderr, want) {
		t.Errorf("missing data: exit %d, %q; want it to start %q", code, stderr, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
