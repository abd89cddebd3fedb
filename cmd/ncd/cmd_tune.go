package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/chart"
	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/cv/study"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/spectral"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newTuneCmd) }

// Fold-estimate defaults: a trimmed scan. On 37 fold latents of letter
// (random and top configurations) 1 run x 3 restarts picked the same k as
// fit's 3 x 10 scan in 35 (the two others off by 4 and 1) at about 1/7 of
// the cost; 1 x 1 agreed in only 12 of 20.
const (
	tuneDefaultRuns      = 1
	tuneDefaultScanNInit = 3
)

// tuneResult is tune's --json object.
type tuneResult struct {
	Method      string         `json:"method"`
	Trials      int            `json:"trials"`
	Complete    int            `json:"complete"`
	Pruned      int            `json:"pruned"`
	Failed      int            `json:"failed"`
	Resumed     int            `json:"resumed"`
	FoldMode    string         `json:"fold_mode"`
	Folds       []cv.FoldInfo  `json:"folds"`
	K           string         `json:"k"`
	Space       cv.Space       `json:"space"`
	Best        *cv.Trial      `json:"best"`
	BestConfig  map[string]any `json:"best_config"` // typed by the flags of the command it is for
	Leaderboard []cv.Trial     `json:"leaderboard"`
	Study       string         `json:"study"`
	Out         string         `json:"out,omitempty"`
	Plot        string         `json:"plot,omitempty"`
	Seconds     float64        `json:"seconds"`      // the whole run's wall time
	Wall        float64        `json:"wall_seconds"` // the same, under the name every command uses
}

func newTuneCmd(app *App) *cobra.Command {
	def := pbn.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "tune --data F --method pbn|baseline|ncd-sc [--folds 5] [--trials N] [--k auto|true] [--out best.yaml]",
		Short: "Search a method's hyperparameters by hidden-class cross-validation",
		Long: `Tune a method's hyperparameters without using any novel label.

Each fold hides some of the known classes: their labels are dropped, so their
rows join the unlabeled rows. The method is trained on the remaining known
classes and every unlabeled row, as 'ncd fit --ensemble 1' (or 'ncd cluster'
for ncd-sc) would run it: one network per fold, since fit's ensemble averages
out seed noise without changing what a configuration is, and would multiply
the tune's time. The hidden classes' rows are then clustered, with k
estimated as fit does (--k auto, --k-rule; the default rule, sizes, compares
the hidden rows with the sizes of the fold's remaining known classes) or set
to the number of hidden classes (--k true), and scored against their hidden labels (ACC, NMI, ARI).
The real novel rows are never scored. A configuration's score is its mean ACC
over the folds.

Folds: --fold-mode partition splits the known classes into --folds groups
(every class hidden once); random draws --folds distinct sets of --hidden
classes; auto (default) partitions when every group gets at least 2 classes.

Search: --trials configurations, the first --startup drawn at random, then
TPE (a Tree-structured Parzen Estimator) proposes from the trials so far
(--sampler random: all random). Ranges per method, overridable with
--lr-range 1e-4,1e-2 etc. (one value fixes the parameter):
  pbn       lr log [1e-4,1e-2], w [0,1], dropout [0,0.6], latent-dim int log [4,2d]
  baseline  lr, dropout, latent-dim
  ncd-sc    min-dist [0.01,0.99], n-components int log [2,150]
Trials and folds run in parallel on --threads; the trials, scores and winner
depend only on --seed, never on --threads.

Every finished trial is appended (and fsynced) to the study file (--study,
default next to --out: best.yaml -> best.study.jsonl). An interrupted tune
continues with --resume and loses no finished trial; a study made with other
data or settings is refused. The best configuration is written to --out as a
config file for 'ncd fit --config' ('ncd cluster --config' for ncd-sc).

Several machines: with --storage postgres://USER@HOST/DB the study lives in a
PostgreSQL database, --study NAME names it, and any number of 'ncd tune'
processes with the same command, on any machines, run its trials together
(--trials is the total). The study is the same whatever the number of
workers; a trial whose worker stops answering for --grace is run again by
another. --status shows the study and --export writes best.yaml (or a study
file) at any time; the worker that finds the study finished writes --out.`,
		Example: `  # tune PBN on letter's training split, the 7 novel classes staying unlabeled
  ncd tune --data testdata/letter_train.csv --novel A,D,H,M,P,V,X --trials 30 --out best.yaml --plot trials.svg
  ncd fit --config best.yaml --test testdata/letter_test.csv --out pred.csv
  ncd eval --data pred.csv

  # generalized setting: folds also unlabel half of the kept known rows, 2 null folds hide no class
  ncd tune --data train.csv --setting gcd --trials 20 --out best.yaml

  # continue after Ctrl-C (or ask for more trials)
  ncd tune --data testdata/letter_train.csv --novel A,D,H,M,P,V,X --trials 40 --out best.yaml --resume

  # one study, many machines: run the same command on each (--trials is the total)
  ncd tune --data letter_train.csv --novel A,D,H,M,P,V,X --trials 64 --storage postgres://ncd@db.example/ncd --study letter
  ncd tune --storage postgres://ncd@db.example/ncd --study letter --status
  ncd tune --storage postgres://ncd@db.example/ncd --study letter --export best.yaml`,
		Args: cobra.NoArgs,
		RunE: runE(app, func(ctx context.Context, cmd *cobra.Command, v *viper.Viper, c common) error {
			return runTune(ctx, app, cmd, v, c)
		}),
	}
	addDataFlags(cmd, false)
	addTuneGCDFlags(cmd)
	f := cmd.Flags()
	f.String("method", "pbn", "pbn|baseline|ncd-sc|tabularncd")
	f.Int("trials", cv.DefaultTrials, "configurations to evaluate")
	f.String("sampler", cv.SamplerTPE, "tpe|random")
	f.Bool("default-trial", true, "pbn/baseline: trial 0 is fit's default configuration (lr, w, dropout, latent-dim), so the winner has to beat the defaults on the folds")
	f.Int("startup", cv.DefaultStartup, "random trials before TPE starts")
	f.Int("folds", 5, "hidden-class folds")
	f.Int("hidden", 0, "classes hidden per fold with --fold-mode random (default: a fifth of the known classes, at least 2)")
	f.String("fold-mode", cv.FoldAuto, "auto|partition|random")
	f.String("k", "auto", "clusters per fold: auto (estimated on the hidden rows with --k-rule) or true (the number of hidden classes)")
	f.Int("k-min", 2, "--k auto: smallest k scanned")
	f.Int("k-max", 30, "--k auto: largest k scanned")
	addKRuleFlag(cmd)
	f.Int("runs", tuneDefaultRuns, "--k auto: k-means runs per k in a fold's scan (fit uses 3; 1 x 3 restarts picks fit's k in ~95% of folds at 1/7 of the cost)")
	f.Int("scan-n-init", tuneDefaultScanNInit, "--k auto: k-means restarts per run in a fold's scan (fit uses --n-init)")
	f.Int("n-init", 0, "restarts of the final k-means of a fold (0 = auto: 10, as fit's --n-init; 50 for ncd-sc, as cluster's)")
	f.Int("prune", 0, "median rule: stop a trial whose mean ACC over its first N folds is below the earlier trials' median (0 = off)")
	f.String("out", "best.yaml", "write the best configuration to this YAML file (empty: do not write)")
	f.String("study", "", "study file (JSON lines) of finished trials (default: --out with .study.jsonl); with --storage postgres://...: the study's name (default: --out's name, e.g. best)")
	f.Bool("resume", false, "continue the study file's search instead of refusing to overwrite it")
	addStorageFlags(cmd)
	f.Int("top", 10, "trials shown in the leaderboard")
	f.String("plot", "", "draw every trial's ACC (mean and fold range) and the best so far into FILE.svg or FILE.png")
	// Settings of PBN / baseline held fixed while tuning (as fit's flags).
	f.Int("epochs", def.Epochs, "pbn/baseline: training epochs (tabularncd: joint epochs, 30 unless --epochs is given)")
	f.Int("max-steps", def.MaxSteps, "pbn/baseline: at most this many optimizer steps per training (0 = no cap)")
	f.Int("batch-size", def.BatchSize, "pbn/baseline: mini-batch size")
	f.Bool("shuffle", true, "pbn/baseline: reshuffle the rows every epoch")
	f.String("latent", "normalized", "pbn/baseline: space clustered after training: normalized or raw")
	addTabularFlags(cmd) // tabularncd: the settings held fixed (and the tuned ones' base values)
	// Settings of NCD SC held fixed while tuning (as cluster's flags).
	f.String("affinity", "auto", "ncd-sc: dense|knn|auto (dense up to 8000 rows)")
	f.Int("knn", 30, "ncd-sc: neighbours per row of the kNN affinity")
	f.Bool("known-centroids", false, "ncd-sc: the known classes' embedding means as fixed pre-centroids (as ncd cluster; default plain k-means)")
	f.String("cpuprofile", "", "write a CPU profile of the search to this file (diagnostics)")
	_ = f.MarkHidden("cpuprofile")
	for _, p := range rangeFlags {
		f.Var(&onceValue{name: p + "-range"}, p+"-range", fmt.Sprintf("search range of %s as LOW,HIGH (one value fixes it; default: the method's; give it once)", p))
	}
	return cmd
}

// rangeFlags are the tunable parameters whose range a flag can override.
var rangeFlags = []string{cv.ParamLR, cv.ParamW, cv.ParamDropout, cv.ParamLatentDim, cv.ParamMinDist, cv.ParamNComponents,
	cv.ParamLRClassif, cv.ParamLRCluster, cv.ParamTopK, cv.ParamKNeighbors, cv.ParamW1, cv.ParamW2}

// tuneSetup is everything runTune derives from the flags before searching.
type tuneSetup struct {
	method   cv.Method
	space    cv.Space
	folds    [][]int
	foldMode string
	opt      cv.Options
	settings map[string]string
	note     string    // about the folds' k scan range ("" = none)
	first    cv.Params // trial 0's configuration (nil: drawn like the others)
}

func runTune(ctx context.Context, app *App, cmd *cobra.Command, v *viper.Viper, c common) error {
	if strings.TrimSpace(v.GetString("k")) == "" {
		return errEmptyK // before the data is read (tuneOptions checks the rest of --k)
	}
	if done, err := tuneStorage(ctx, app, cmd, v, c); done {
		return err // --status, --export, or a worker of a PostgreSQL study
	}
	if err := checkTuneOutputs(v); err != nil {
		return err
	}
	studyPath := v.GetString("study")
	if st := v.GetString("storage"); st != "" {
		studyPath = st
	}
	if studyPath == "" {
		studyPath = defaultStudyPath(v.GetString("out"))
	}
	if err := checkWritable(studyPath); err != nil {
		return err
	}
	ds, setup, header, err := loadTuneSetup(app, cmd, v, c)
	if err != nil {
		return err
	}
	if asked := v.GetInt("folds"); len(setup.folds) < asked && !c.Quiet {
		fmt.Fprintf(app.Stderr, "ncd: note: only %d distinct sets of %d among %d known classes: using %d folds, not the %d of --folds\n",
			len(setup.folds), len(setup.folds[0]), len(ds.Classes), len(setup.folds), asked)
	}

	// The study: create it, or resume it when it matches.
	var w *study.Writer
	var resumed []cv.Trial
	old, err := study.Load(studyPath)
	switch {
	case err == nil:
		if !v.GetBool("resume") {
			return &usererr.Error{File: studyPath, Msg: "study file exists; add --resume to continue it, or delete it (or choose another --study) to start over"}
		}
		if old.Header.Fingerprint != header.Fingerprint {
			diff := study.Mismatch(old.Header, header)
			what := "the data differ (same settings)"
			if len(diff) > 0 {
				what = "settings differ: " + strings.Join(diff, "; ")
			}
			return &usererr.Error{File: studyPath, Msg: "study was made with other data or settings, refusing to resume it (" + what + ")"}
		}
		for _, warn := range old.Warnings {
			fmt.Fprintf(app.Stderr, "ncd: warning: %s\n", warn)
		}
		resumed = old.Trials
		if w, err = study.Append(studyPath, old); err != nil {
			return err
		}
		if !c.Quiet {
			fmt.Fprintf(app.Stderr, "resuming %s: %d finished trials\n", studyPath, len(resumed))
		}
	case errors.Is(err, os.ErrNotExist):
		if w, err = study.Create(studyPath, header); err != nil {
			return err
		}
	default:
		return err
	}
	defer w.Close()

	opt := setup.opt
	opt.Done = resumed
	opt.OnTrial = w.Add
	bar := app.newTuneProgress(c, opt.Trials, len(setup.folds))
	opt.Progress = bar.OnStatus
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "tuning %s on %d rows (%d known classes): %d trials x %d folds (%s), k %s\n  space: %s\n",
			setup.method.Name(), ds.Rows(), len(ds.Classes), opt.Trials, len(setup.folds), setup.foldMode, v.GetString("k"), setup.space)
	}
	if prof := v.GetString("cpuprofile"); prof != "" {
		pf, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := cv.Tune(ctx, ds, opt)
	bar.Finish()
	if err != nil {
		if ctx.Err() != nil && res != nil {
			// The one line an interrupted tune prints (see interrupted).
			saved := fmt.Sprintf("%d finished trials are", len(res.Trials))
			if len(res.Trials) == 1 {
				saved = "1 finished trial is"
			}
			return &interruptNote{msg: fmt.Sprintf("%s saved in %s; run the same command with --resume to continue", saved, studyPath)}
		}
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}

	return reportTune(app, cmd, v, c, setup, res, len(resumed), studyPath)
}

// reportTune prints the leaderboard and writes --out and --plot from the
// finished trials of a study (resumed of them come from earlier runs or,
// in a shared study, from other workers).
func reportTune(app *App, cmd *cobra.Command, v *viper.Viper, c common, setup *tuneSetup, res *cv.Result, resumed int, studyPath string) error {
	out, plotPath := v.GetString("out"), v.GetString("plot")
	r := tuneResult{Method: setup.method.Name(), Trials: len(res.Trials), Resumed: resumed, FoldMode: setup.foldMode,
		Folds: res.Folds, K: v.GetString("k"), Space: setup.space, Study: studyPath}
	for _, t := range res.Trials {
		switch {
		case t.Failed:
			r.Failed++
		case t.Pruned:
			r.Pruned++
		default:
			r.Complete++
		}
	}
	ranked := res.Ranked()
	r.Leaderboard = ranked[:min(len(ranked), max(v.GetInt("top"), 1))]
	if res.Best < 0 {
		msg := "no trial completed"
		for _, t := range res.Trials {
			for _, f := range t.Folds {
				if f.Err != "" {
					msg += "; e.g. trial " + strconv.Itoa(t.Index) + " fold " + strconv.Itoa(f.Fold) + ": " + f.Err
					break
				}
			}
			if strings.Contains(msg, "e.g.") {
				break
			}
		}
		return errors.New(msg)
	}
	best := res.Trials[res.Best]
	r.Best = &best
	keys, vals := bestConfig(cmd, v, setup.method.Name(), best.Params)
	target := configTarget(app, setup.method.Name())
	bestVals := map[string]string{}
	for i, k := range keys {
		bestVals[k] = vals[i]
	}
	r.BestConfig = typedConfig(target.Flags(), bestVals)
	if out != "" {
		if err := writeBestConfig(out, target, keys, vals, setup.method.Name(), setup.foldMode, setup.settings["k"], &best, len(res.Trials)); err != nil {
			return err
		}
		r.Out = out
	}
	if plotPath != "" {
		title := fmt.Sprintf("ncd tune %s: %d trials, best trial %d (ACC %.3f)", setup.method.Name(), len(res.Trials), best.Index, best.ACC)
		if err := chart.SaveStudy(plotPath, title, "ACC", studyTrials(res.Trials), best.Index); err != nil {
			return err
		}
		r.Plot = plotPath
	}
	r.Seconds = time.Since(c.Start).Seconds()
	r.Wall = r.Seconds
	if !c.Quiet {
		printLeaderboard(app.Stderr, setup.space, res, r.Leaderboard)
		fmt.Fprintf(app.Stderr, "best: trial %d, ACC %.4f +- %.4f over %d folds", best.Index, best.ACC, best.ACCStd, len(best.Folds))
		if out != "" {
			cmdName := "fit"
			if setup.method.Name() == "ncd-sc" {
				cmdName = "cluster"
			}
			fmt.Fprintf(app.Stderr, "; written to %s (use: ncd %s --config %s)", out, cmdName, out)
		}
		fmt.Fprintf(app.Stderr, "\n%d trials (%d complete, %d pruned, %d failed, %d resumed); study %s\ntime: %s in all\n",
			r.Trials, r.Complete, r.Pruned, r.Failed, r.Resumed, studyPath, fmtSeconds(r.Seconds))
	}
	if c.JSON {
		return writeJSON(app.Stdout, r)
	}
	return nil
}

// checkTuneOutputs checks --out and --plot before any work: a tune on a
// study file and a PostgreSQL worker write both when their trials end
// (reportTune).
func checkTuneOutputs(v *viper.Viper) error {
	if err := checkWritable(v.GetString("out")); err != nil {
		return err
	}
	return checkPlotPath(v.GetString("plot"))
}

// defaultStudyPath puts the study next to the config: best.yaml ->
// best.study.jsonl.
func defaultStudyPath(out string) string {
	if out == "" {
		return "ncd-tune.study.jsonl"
	}
	ext := filepath.Ext(out)
	switch strings.ToLower(ext) {
	case ".yaml", ".yml":
		out = strings.TrimSuffix(out, ext)
	}
	return out + ".study.jsonl"
}

// tuneOptions turns the flags into the method, its space, the folds and
// cv.Options, and records every setting the trials depend on.
// loadTuneSetup reads the training table, resolves the search from the
// flags (printing the k-bound note) and makes the study header that a file
// study and a PostgreSQL study both record.
func loadTuneSetup(app *App, cmd *cobra.Command, v *viper.Viper, c common) (*dataset.Dataset, *tuneSetup, study.Header, error) {
	in, err := loadInputs(app, v)
	if err != nil {
		return nil, nil, study.Header{}, err
	}
	ds := in.Train
	setup, err := tuneOptions(cmd, v, c, ds)
	if err != nil {
		return nil, nil, study.Header{}, err
	}
	printBoundNote(app, c, setup.note)
	header := study.Header{Settings: setup.settings, NCDVersion: versionString(), Created: time.Now().UTC().Format(time.RFC3339)}
	header.Fingerprint = studyFingerprint(cv.Fingerprint(ds), setup.settings)
	return ds, setup, header, nil
}

func tuneOptions(cmd *cobra.Command, v *viper.Viper, c common, ds *dataset.Dataset) (*tuneSetup, error) {
	s := &tuneSetup{settings: map[string]string{}}
	set := func(k string, val any) { s.settings[k] = fmt.Sprint(val) }
	if len(ds.Classes) < 3 {
		return nil, usererr.New("tune needs at least 3 known classes with labeled rows (2 to hide, 1 to keep), got %d", len(ds.Classes))
	}
	method := v.GetString("method")
	set("method", method)
	nInit := v.GetInt("n-init")
	if nInit == 0 {
		nInit = autoNInit(method)
	}
	switch method {
	case pbn.MethodPBN, pbn.MethodBaseline:
		cfg := pbn.DefaultConfig()
		cfg.Method = method
		cfg.Epochs, cfg.BatchSize, cfg.Shuffle = v.GetInt("epochs"), v.GetInt("batch-size"), v.GetBool("shuffle")
		cfg.MaxSteps = v.GetInt("max-steps")
		normalized := true
		switch v.GetString("latent") {
		case "normalized":
		case "raw":
			normalized = false
		default:
			return nil, usererr.New("--latent must be normalized or raw, got %q", v.GetString("latent"))
		}
		if cfg.Epochs < 1 || cfg.BatchSize < 2 || cfg.MaxSteps < 0 {
			return nil, usererr.New("--epochs must be >= 1, --batch-size >= 2 and --max-steps >= 0 (got %d, %d, %d)", cfg.Epochs, cfg.BatchSize, cfg.MaxSteps)
		}
		s.method = &cv.PBN{Base: cfg, Normalized: normalized, NInit: nInit}
		s.space = cv.PBNSpace(method, ds.X.Cols)
		if v.GetBool("default-trial") {
			def := pbn.DefaultConfig()
			s.first = cv.Params{cv.ParamLR: def.LR, cv.ParamW: def.W, cv.ParamDropout: def.Dropout, cv.ParamLatentDim: float64(def.LatentDim)}
		}
		for _, k := range []string{"epochs", "max-steps", "batch-size", "shuffle", "latent"} {
			set(k, v.GetString(k))
		}
	case "ncd-sc":
		s.method = &cv.NCDSC{
			Embed:          spectral.Options{Affinity: v.GetString("affinity"), KNN: v.GetInt("knn")},
			KMeans:         cluster.KMeansOptions{NInit: nInit},
			KnownCentroids: v.GetBool("known-centroids"),
		}
		s.space = cv.NCDSCSpace(ds.Rows())
		for _, k := range []string{"affinity", "knn", "known-centroids"} {
			set(k, v.GetString(k))
		}
	case tabularncd.Method:
		var err error
		if s.method, err = tabularTuneMethod(cmd, v, c, set); err != nil {
			return nil, err
		}
		s.space = cv.TabularNCDSpace()
		if v.GetBool("default-trial") {
			s.first = tabularDefaultTrial()
		}
	default:
		return nil, usererr.New("--method must be pbn, baseline, ncd-sc or tabularncd, got %q", method)
	}
	for _, name := range rangeFlags {
		spec := strings.TrimSpace(strings.Join(v.GetStringSlice(name+"-range"), ","))
		if spec == "" {
			continue
		}
		if _, ok := s.space.Lookup(name); !ok {
			return nil, usererr.New("--%s-range: method %s has no parameter %s (it tunes %s)", name, method, name, strings.Join(s.space.Names(), ", "))
		}
		lo, hi, err := parseRange(spec)
		if err != nil {
			return nil, usererr.New("--%s-range: %v", name, err)
		}
		if s.space, err = s.space.With(name, lo, hi); err != nil {
			return nil, err
		}
	}
	if err := s.space.Validate(); err != nil {
		return nil, err
	}
	if v.GetInt("n-init") < 0 {
		return nil, usererr.New("--n-init must be >= 0 (0 = auto), got %d", v.GetInt("n-init"))
	}
	set("n-init", nInit)
	if s.first != nil {
		fp, _ := json.Marshal(s.space.Clamp(s.first))
		set("first-trial", string(fp))
	}
	sp, _ := json.Marshal(s.space)
	set("space", string(sp))

	folds, mode, err := cv.MakeFolds(len(ds.Classes), cv.FoldOptions{Mode: v.GetString("fold-mode"), Folds: v.GetInt("folds"), Hidden: v.GetInt("hidden"), Seed: c.Seed})
	if err != nil {
		return nil, err
	}
	if mode == cv.FoldPartition && v.GetInt("hidden") != 0 {
		return nil, usererr.New("--hidden applies to --fold-mode random; a partition of %d classes into %d folds hides %d or %d per fold",
			len(ds.Classes), len(folds), len(ds.Classes)/len(folds), (len(ds.Classes)+len(folds)-1)/len(folds))
	}
	s.folds, s.foldMode = folds, mode
	var fs []string
	for _, f := range folds {
		names := make([]string, len(f))
		for i, ci := range f {
			names[i] = ds.Classes[ci]
		}
		fs = append(fs, strings.Join(names, ","))
	}
	set("folds", strings.Join(fs, " | "))

	o := cv.Options{Method: s.method, Space: s.space, First: s.first, Folds: folds, Trials: v.GetInt("trials"), Sampler: v.GetString("sampler"),
		Startup: v.GetInt("startup"), Lag: cv.DefaultLag, Prune: v.GetInt("prune"), Seed: c.Seed, Threads: c.Threads}
	if o.Trials < 1 {
		return nil, usererr.New("--trials must be >= 1, got %d", o.Trials)
	}
	if o.Startup < 1 {
		return nil, usererr.New("--startup must be >= 1, got %d", o.Startup)
	}
	if o.Sampler != cv.SamplerTPE && o.Sampler != cv.SamplerRandom {
		return nil, usererr.New("--sampler must be tpe or random, got %q", o.Sampler)
	}
	switch k := strings.ToLower(strings.TrimSpace(v.GetString("k"))); k {
	case "":
		return nil, errEmptyK
	case "auto":
		o.Scan = estimate.ScanOptions{KMin: v.GetInt("k-min"), KMax: v.GetInt("k-max"), Runs: v.GetInt("runs"), NInit: v.GetInt("scan-n-init"), Rule: v.GetString("k-rule")}
		if o.Scan.KMin < 2 || o.Scan.KMax < o.Scan.KMin || o.Scan.Runs < 1 || o.Scan.NInit < 1 {
			return nil, usererr.New("--k auto needs 2 <= --k-min <= --k-max, --runs >= 1 and --scan-n-init >= 1")
		}
		set("k", "auto")
		if err := checkKRule(v, "would train networks inside every fold of every trial"); err != nil {
			return nil, err
		}
		note, err := checkFoldScan(v, ds, folds)
		if err != nil {
			return nil, err
		}
		s.note = note
		scan := fmt.Sprintf("k %d..%d, %d runs x %d inits, silhouette", o.Scan.KMin, o.Scan.KMax, o.Scan.Runs, o.Scan.NInit)
		if o.Scan.Rule == estimate.RulePS || o.Scan.Rule == estimate.RuleStable {
			scan += ", " + o.Scan.Rule + " (prediction strength)"
		} else if o.Scan.Rule == estimate.RuleSizes {
			scan += ", sizes (class sizes, else stable with prediction strength)"
		} else if o.Scan.Rule != estimate.RuleMax {
			scan += ", " + o.Scan.Rule // studies of the max rule keep their fingerprint
		}
		set("scan", scan)
	case "true":
		o.TrueK = true
		set("k", "true")
	default:
		return nil, usererr.New("--k must be auto or true for tune, got %q", v.GetString("k"))
	}
	if o.Prune < 0 || (o.Prune > 0 && o.Prune >= len(folds)) {
		return nil, usererr.New("--prune must be between 0 and the number of folds - 1 (%d), got %d", len(folds)-1, o.Prune)
	}
	set("sampler", o.Sampler)
	set("startup", o.Startup)
	set("lag", o.Lag)
	set("prune", o.Prune)
	set("seed", c.Seed)
	set("target", v.GetString("target"))
	if v.GetFloat64("unlabel-known") != 0 {
		// The folds saw these labels hidden (drawn with the seed): a
		// study file's export needs it, and a resume must hide the same.
		set("unlabel-known", v.GetString("unlabel-known"))
	}
	// Another ncd version may score the same trial differently (k-means,
	// training): its trials must not be mixed into this study.
	set("ncd-version", versionString())
	if err := tuneGCD(v, c, s, &o); err != nil {
		return nil, err
	}
	s.opt = o
	return s, nil
}

// parseRange reads "LOW,HIGH" or a single value.
func parseRange(s string) (float64, float64, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ':' || r == ' ' || r == '[' || r == ']' })
	if len(parts) < 1 || len(parts) > 2 {
		return 0, 0, fmt.Errorf("want LOW,HIGH or one value, got %q", s)
	}
	vals := make([]float64, len(parts))
	for i, p := range parts {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a number", p)
		}
		vals[i] = x
	}
	if len(vals) == 1 {
		return vals[0], vals[0], nil
	}
	return vals[0], vals[1], nil
}

// studyFingerprint combines the data's fingerprint with the settings.
func studyFingerprint(data string, settings map[string]string) string {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	io.WriteString(h, data)
	for _, k := range keys {
		fmt.Fprintf(h, "\x00%s=%s", k, settings[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// bestConfig lists the config keys (long flag names of fit, or of cluster
// for ncd-sc) and values that reproduce the best trial: the method, its
// tuned parameters, the settings tuning held fixed and the data's roles.
func bestConfig(cmd *cobra.Command, v *viper.Viper, method string, p cv.Params) ([]string, []string) {
	var keys, vals []string
	add := func(k, val string) { keys = append(keys, k); vals = append(vals, val) }
	add("method", method)
	for _, name := range rangeFlags {
		if x, ok := p[name]; ok {
			add(name, strconv.FormatFloat(x, 'g', -1, 64))
		}
	}
	if method == "ncd-sc" {
		add("affinity", v.GetString("affinity"))
		add("knn", v.GetString("knn"))
		add("known-centroids", v.GetString("known-centroids"))
	} else if method == tabularncd.Method {
		for _, k := range append(tabularFixed, "epochs", "batch-size") {
			add(k, tabularSetting(cmd, v, k))
		}
	} else {
		for _, k := range []string{"epochs", "max-steps", "batch-size", "shuffle", "latent"} {
			add(k, v.GetString(k))
		}
	}
	add("n-init", v.GetString("n-init"))
	if v.GetString("setting") == "gcd" {
		for _, k := range []string{"setting", "calib-frac", "alpha", "novelty"} {
			add(k, v.GetString(k))
		}
	}
	if v.GetString("k") == "auto" && (v.GetInt("k-min") != 2 || v.GetInt("k-max") != 30) {
		add("k-min", v.GetString("k-min"))
		add("k-max", v.GetString("k-max"))
	}
	if v.GetString("k") == "auto" && v.GetString("k-rule") != estimate.RuleSizes {
		add("k-rule", v.GetString("k-rule"))
	}
	if d := v.GetString("data"); d != "" && d != "-" {
		add("data", pathFrom(v.GetString("out"), d))
	}
	for _, k := range []string{"target", "novel", "id", "features", "exclude", "impute", "delimiter"} {
		if val := flagString(v, cmd.Flags().Lookup(k)); val != "" {
			add(k, val)
		}
	}
	if v.GetFloat64("unlabel-known") != 0 {
		// The trials saw these labels hidden; the seed draws which.
		add("unlabel-known", v.GetString("unlabel-known"))
		add("seed", v.GetString("seed"))
	}
	return keys, vals
}

// pathFrom rewrites path (relative to the working folder) for a config file
// written to config: a config's relative paths are read relative to its own
// folder (see resolveConfigPaths), so 'tune --out runs/best.yaml --data
// train.csv' writes data: ../train.csv. Absolute paths stay as they are.
func pathFrom(config, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	absDir, err1 := filepath.Abs(filepath.Dir(config))
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path
	}
	rel, err := filepath.Rel(absDir, absPath)
	if err != nil {
		return absPath
	}
	return filepath.ToSlash(rel)
}

// autoNInit is what --n-init 0 (auto) means for a tuned method.
func autoNInit(method string) int {
	if method == "ncd-sc" {
		return cluster.SpectralNInit
	}
	return 10
}

// configTarget is the command a tuned config is for: fit, or cluster for
// ncd-sc. Its flags type the config's values.
func configTarget(app *App, method string) *cobra.Command {
	if method == "ncd-sc" {
		return newClusterCmd(app)
	}
	return newFitCmd(app)
}

// writeBestConfig writes the config as YAML, atomically. Strings are quoted
// (JSON strings are valid YAML) so that e.g. novel: "0,3,5" stays a string.
func writeBestConfig(path string, target *cobra.Command, keys, vals []string, method, foldMode, k string, best *cv.Trial, trials int) error {
	var b strings.Builder
	if foldMode != "" {
		foldMode += ", "
	}
	fmt.Fprintf(&b, "# Written by ncd tune: the best of %d trials of %s (trial %d), hidden-class %d-fold CV (%sk %s):\n",
		trials, method, best.Index, len(best.Folds), foldMode, k)
	fmt.Fprintf(&b, "# mean ACC %.4f +- %.4f, NMI %.4f, ARI %.4f over the folds (ACC per fold:", best.ACC, best.ACCStd, best.NMI, best.ARI)
	for _, f := range best.Folds {
		fmt.Fprintf(&b, " %.3f", f.ACC)
	}
	cmdName := "fit"
	if method == "ncd-sc" {
		cmdName = "cluster"
	}
	fmt.Fprintf(&b, ").\n# Use: ncd %s --config %s [--test T] [--out P]\n", cmdName, filepath.Base(path))
	for i, k := range keys {
		val := vals[i]
		// Text and list flags are always quoted, so that novel: "007" (or a
		// single class 3) stays the string it is; numbers and booleans are
		// not.
		quote := k != "seed" // the root's flag, not target's
		if f := target.Flags().Lookup(k); f != nil {
			switch f.Value.Type() {
			case "int", "int64", "uint64", "float64", "bool":
				quote = false
			}
		}
		if quote {
			q, _ := json.Marshal(val)
			val = string(q)
		}
		fmt.Fprintf(&b, "%s: %s\n", k, val)
	}
	return atomicfile.WriteBytes(path, false, []byte(b.String()))
}

// printLeaderboard prints the folds, then the top trials with their
// per-fold ACC and k.
func printLeaderboard(w io.Writer, space cv.Space, res *cv.Result, top []cv.Trial) {
	fmt.Fprintln(w, "folds:")
	for i, f := range res.Folds {
		fmt.Fprintf(w, "  %d: hides %s (%d rows)\n", i, strings.Join(f.Hidden, ","), f.Rows)
	}
	printBoard(w, space, top, true)
}

// printBoard prints ranked trials with their per-fold ACC and k (and NMI
// and ARI when withNMI: a study's status has no such scores).
func printBoard(w io.Writer, space cv.Space, top []cv.Trial, withNMI bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\ttrial\tACC mean +- std")
	if withNMI {
		fmt.Fprintf(tw, "\tNMI\tARI")
	}
	fmt.Fprintf(tw, "\tACC(k) per fold")
	for _, p := range space {
		fmt.Fprintf(tw, "\t%s", p.Name)
	}
	fmt.Fprintln(tw)
	for r, t := range top {
		note := ""
		switch {
		case t.Failed:
			note = " failed"
		case t.Pruned:
			note = " pruned"
		}
		var per []string
		for _, f := range t.Folds {
			per = append(per, fmt.Sprintf("%.3f(%d)", f.ACC, f.K))
		}
		fmt.Fprintf(tw, "%d\t%d%s\t%.4f +- %.4f", r+1, t.Index, note, t.ACC, t.ACCStd)
		if withNMI {
			fmt.Fprintf(tw, "\t%.4f\t%.4f", t.NMI, t.ARI)
		}
		fmt.Fprintf(tw, "\t%s", strings.Join(per, " "))
		for _, p := range space {
			fmt.Fprintf(tw, "\t%s", fmtParam(t.Params[p.Name], p))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func fmtParam(x float64, p cv.Param) string {
	switch {
	case p.Int:
		return strconv.Itoa(int(math.Round(x)))
	case p.Log:
		return fmt.Sprintf("%.3e", x)
	default:
		return fmt.Sprintf("%.4f", x)
	}
}

// studyTrials turns the trials into the study plot's points: mean ACC and
// the range over the folds that were scored.
func studyTrials(trials []cv.Trial) []chart.Trial {
	out := make([]chart.Trial, 0, len(trials))
	for _, t := range trials {
		ct := chart.Trial{Index: t.Index, Score: t.ACC, Complete: t.Complete()}
		for _, f := range t.Folds {
			if f.Err != "" {
				continue
			}
			if ct.FoldsScored == 0 || f.ACC < ct.Low {
				ct.Low = f.ACC
			}
			if ct.FoldsScored == 0 || f.ACC > ct.High {
				ct.High = f.ACC
			}
			ct.FoldsScored++
		}
		out = append(out, ct)
	}
	return out
}
