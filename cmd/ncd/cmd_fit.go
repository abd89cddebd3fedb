package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/gcd"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/pbn"
	"github.com/ncd-project/ncd/internal/tabularncd"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newFitCmd) }

// fitResult is fit's --json object.
type fitResult struct {
	Method     string             `json:"method"`
	Ensemble   int                `json:"ensemble"`
	K          int                `json:"k"`
	KEstimated bool               `json:"k_estimated"`
	Estimate   *estimateResult    `json:"estimate,omitempty"`
	TrainRows  int                `json:"train_rows"`
	Epochs     int                `json:"epochs"`    // per network, after --max-steps
	Steps      int                `json:"steps"`     // optimizer steps per network
	MaxSteps   int                `json:"max_steps"` // the cap (0: none)
	Known      int                `json:"known_classes"`
	Features   int                `json:"features"`
	Rows       int                `json:"rows"`
	Clustered  int                `json:"rows_clustered"`
	Sizes      map[string]int     `json:"sizes"`
	Inertia    float64            `json:"inertia"`
	Empty      int                `json:"empty_clusters"` // novel clusters of the k that received no row
	Notes      []string           `json:"notes,omitempty"`
	FinalLoss  map[string]float64 `json:"final_loss"`
	Latent     string             `json:"latent"`
	Model      string             `json:"model,omitempty"`
	Out        string             `json:"out,omitempty"`
	Report     string             `json:"report,omitempty"` // --report's HTML file
	Setting    string             `json:"setting"`
	GCD        *gcdResult         `json:"gcd,omitempty"`
	Config     map[string]any     `json:"config"`  // typed by the flags: "epochs": 200
	Seconds    map[string]float64 `json:"seconds"` // per phase: load, train, estimate_k, cluster, write
	Wall       float64            `json:"wall_seconds"`
}

func newFitCmd(app *App) *cobra.Command {
	def := pbn.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "fit --data F [--test T] [--novel L] [--k auto|N] [--model M.ncd] [--out P]",
		Short: "Train the PBN model, estimate the number of novel classes and cluster them",
		Long: `Fit the paper's PBN model (Projection-Based NCD) and discover the novel classes.

The network's encoder maps the z-scored features into a small latent space
where a classifier must recognise the known classes and a decoder must
rebuild every row, labeled or not; the loss is w * cross-entropy (known rows)
+ (1 - w) * reconstruction error (all rows). After training, the unlabeled
rows of --test (or of --data) are embedded, the number of novel classes is
estimated there (--k auto, see --k-rule) unless --k is given, and
k-means groups them into novel_0..novel_{k-1}.

Eight networks are trained by default (--ensemble), differing only in their
seeds; their latents are clustered side by side. That makes the estimate of
k and the clusters much less dependent on one training's luck (tuned
hyperparameters, k auto, 10 seeds: optdigits .77 -> .92 ACC, pendigits
.78 -> .81, letter .63 -> .68) at 8 times the training time.
--ensemble 1 is the paper's single network.

--model saves everything needed to assign new rows later with
'ncd cluster --model'. --method baseline trains the encoder and classifier on
the known rows only (the paper's competitor).

--method tabularncd trains TabularNCD (Troisemaine et al. 2022) instead:
VIME self-supervised pretraining, then a classifier of the known classes
plus "unknown" and a clustering head of width k trained together; a row's
novel class is the clustering head's argmax. Its hyperparameters are the
flags marked "tabularncd:" (with --dropout, --epochs, --batch-size and
--ensemble, which default to its own 0, 30, 512 and 1); --k auto estimates k
in the pretrained latent. configs/tabularncd-*.yaml hold the authors' tuned values.

--setting gcd is for unlabeled rows that mix known classes and maybe new
ones (generalized discovery): --calib-frac of each known class's labeled
rows is held out of the classification loss to calibrate a novelty
p-value per row (distance to the nearest labeled rows in the latent,
against the held-out rows' distances); a beta-binomial test of how many
rows have p <= --alpha decides whether any new class exists (k_new = 0 if
not); k_new is then estimated on the flagged rows (prediction strength),
and NCD k-means with the known centroids fixed puts every unlabeled row in
a known class (named by its nearest labeled rows) or a novel cluster.
Extra output columns: novel, novelty_p, confidence.`,
		Example: `  # the paper's setting on pendigits: hide 5 classes, fit on train, predict test
  ncd fit --data testdata/pendigits_train.csv --test testdata/pendigits_test.csv \
      --novel 0,3,5,6,7 --lr 2.84e-3 --w 0.4606 --dropout 0.02538 --latent-dim 11 \
      --model pendigits.ncd --out pred.csv
  ncd eval --data pred.csv

  # use hyperparameters found by 'ncd tune'
  ncd fit --config best.yaml --data train.csv --out pred.csv

  # TabularNCD with its authors' tuned values on pendigits (true k)
  ncd fit --config configs/tabularncd-pendigits.yaml --out pred.csv

  # a large table: at most 25,000 optimizer steps per network (the default
  # budget; --max-steps 0 runs every --epochs); an offline HTML report
  ncd fit --data big.csv --novel 3,5 --max-steps 25000 --out pred.csv --report report.html

  # unlabeled rows that mix known and new classes: is there a new class?
  ncd fit --data testdata/optdigits_train.csv --novel 0 --unlabel-known 0.5 \
      --setting gcd --out pred.csv --json
  ncd eval --data pred.csv                  # acc_old, acc_new, k_new ...`,
		Args: cobra.NoArgs,
		RunE: runE(app, func(ctx context.Context, cmd *cobra.Command, v *viper.Viper, c common) error {
			return runFit(ctx, app, cmd, v, c)
		}),
	}
	addDataFlags(cmd, true)
	addKFlags(cmd)
	addPBNFlags(cmd, def)
	addSettingFlags(cmd)
	addTabularFlags(cmd)
	f := cmd.Flags()
	f.String("model", "", "save the fitted model to this file (.ncd)")
	f.String("out", "", "predictions file (.csv, .tsv, .csv.gz, .parquet); default CSV on stdout unless --json or --model")
	f.Int("n-init", 10, "k-means restarts on the latent space")
	addReportFlags(cmd)
	f.Int("ensemble", defaultEnsemble, "train this many networks (seeds drawn from --seed) and cluster their latents side by side (1: the paper's single network)")
	return cmd
}

// defaultEnsemble is fit's number of networks. Measured with k auto on the
// test novel rows (seeds 0-9, 2 threads), 1 / 4 / 8 networks: tuned
// optdigits .773 / .897 / .920, authors' optdigits .918 / .927 / .936,
// tuned pendigits .784 / .812 / .813, tuned letter .628 / .676 / .679. The
// cost is linear: letter trains in 2.4 s with one network and 17 s with 8
// at 1 thread (9.4 s at 2).
const defaultEnsemble = 8

// maxEnsemble bounds fit --ensemble (each member is a full training).
const maxEnsemble = 64

// addPBNFlags registers the network hyperparameters (fit and tune).
func addPBNFlags(cmd *cobra.Command, def pbn.Config) {
	f := cmd.Flags()
	f.String("method", def.Method, "pbn|baseline|tabularncd")
	f.Float64("lr", def.LR, "AdamW learning rate")
	f.Float64("w", def.W, "weight of the classification loss against reconstruction, in [0,1]")
	f.Float64("dropout", def.Dropout, "dropout probability")
	f.Int("latent-dim", def.LatentDim, "latent space dimension")
	f.Int("epochs", def.Epochs, "training epochs")
	f.Int("max-steps", def.MaxSteps, "pbn, baseline: training budget: at most this many optimizer steps (batches) per network; on large tables fewer epochs than --epochs run (0 = no cap)")
	f.Int("batch-size", def.BatchSize, "mini-batch size")
	f.Bool("shuffle", true, "reshuffle the rows every epoch (the reference code does not)")
	f.String("latent", "normalized", "space clustered after training: normalized (L2-normalized latent) or raw")
}

// pbnConfig reads the network hyperparameters.
func pbnConfig(v *viper.Viper, c common) (pbn.Config, bool, error) {
	cfg := pbn.Config{
		Method: v.GetString("method"), LR: v.GetFloat64("lr"), W: v.GetFloat64("w"),
		Dropout: v.GetFloat64("dropout"), LatentDim: v.GetInt("latent-dim"),
		Epochs: v.GetInt("epochs"), MaxSteps: v.GetInt("max-steps"), BatchSize: v.GetInt("batch-size"),
		Shuffle: v.GetBool("shuffle"), Seed: c.Seed, Threads: c.Threads,
	}
	var normalized bool
	switch v.GetString("latent") {
	case "normalized":
		normalized = true
	case "raw":
	default:
		return cfg, false, usererr.New("--latent must be normalized or raw, got %q", v.GetString("latent"))
	}
	return cfg, normalized, nil
}

func runFit(ctx context.Context, app *App, cmd *cobra.Command, v *viper.Viper, c common) error {
	if err := checkReportFlags(cmd, v); err != nil {
		return err
	}
	setting, gopt, err := gcdFlags(v)
	if err != nil {
		return err
	}
	k, kFixed, err := parseKSetting(v.GetString("k"), setting)
	if err != nil {
		return err
	}
	why := ""
	if setting == gcd.SettingGCD {
		why = "is for the ncd setting (--setting gcd estimates k_new its own way)"
	} else if m := v.GetString("method"); m == tabularncd.Method {
		why = "is for PBN (--method tabularncd estimates k in its pretrained space)"
	}
	if err := checkKRule(v, why); err != nil {
		return err
	}
	ens := v.GetInt("ensemble")
	if ens < 1 || ens > maxEnsemble {
		return usererr.New("--ensemble must be between 1 and %d, got %d", maxEnsemble, ens)
	}
	cfg, normalized, err := pbnConfig(v, c)
	if err != nil {
		return err
	}
	out, modelPath := v.GetString("out"), v.GetString("model")
	if err := checkOutPath(out); err != nil {
		return err
	}
	if err := checkWritable(modelPath); err != nil {
		return err
	}
	seconds := map[string]float64{}
	in, err := loadInputsTimed(app, v, seconds)
	if err != nil {
		return err
	}
	target := in.Eval
	unl := target.UnlabeledRows()
	if len(unl) == 0 {
		return usererr.New("%s has no unlabeled rows to discover classes in (give rows an empty label, or name classes with --novel)", in.outputPath())
	}
	if len(in.Train.Classes) == 0 {
		return usererr.New("%s has no labeled rows of known classes to learn from", in.DataPath)
	}
	// Under gcd the k_new scan bounds itself by the rows it runs on.
	if setting != gcd.SettingGCD || kFixed {
		if err := checkKAgainstRows(app, v, c, k, newKBounds(len(unl), in.outputPath())); err != nil {
			return err
		}
	}

	// Train, embed, choose k, cluster: the pipeline every command shares.
	var dr *discover.Result
	var finalLoss map[string]float64
	var opts discover.PBNOptions
	epochs, steps, latent := 0, 0, v.GetString("latent")
	fitSettings := settings(cmd, v)
	if cfg.Method == tabularncd.Method {
		if setting == gcd.SettingGCD {
			return usererr.New("--setting gcd needs --method pbn or baseline (tabularncd has no novelty reference)")
		}
		if f := cmd.Flags().Lookup("max-steps"); (f != nil && f.Changed) || v.InConfig("max-steps") {
			return usererr.New("--max-steps applies to --method pbn and baseline: tabularncd trains --pretrain-epochs and --epochs whole (set those instead)")
		}
		cfg.MaxSteps = 0 // no cap: the JSON's max_steps says so
		tcfg := tabularConfig(cmd, v, c)
		if err := tcfg.Check(); err != nil {
			return err
		}
		ens = tabularEnsemble(cmd, v, ens)
		tabularSettings(fitSettings, tcfg)
		fitSettings["ensemble"] = fmt.Sprint(ens)
		epochs, steps, latent = tabularBudget(tcfg, in.Train.Rows())
		if dr, finalLoss, err = fitTabular(ctx, app, v, c, tcfg, in, k, ens); err != nil {
			return err
		}
	} else {
		epochs, steps = cfg.Budget(cfg.TrainRows(in.Train))
		bar := app.newTrainProgress(c, ens, epochs)
		opts = discover.PBNOptions{Config: cfg, Ensemble: ens, Normalized: normalized, NInit: v.GetInt("n-init"),
			K:       discover.KOptions{K: k, Scan: scanOptions(v)},
			OnEpoch: bar.OnEpoch, Setting: setting, GCD: gopt}
		opts.GCD.FixK = kFixed
		var gbar *progress
		if setting == gcd.SettingGCD {
			opts.OnTrained = func() {
				bar.Finish()
				gbar = app.newProgress(c, 1, "gcd: novelty p-values, existence test, k_new, clustering")
			}
		}
		var cbar *progress
		opts.OnCalibration = func(done, total int) {
			if cbar == nil {
				bar.Finish()
				cbar = app.newProgress(c, total, "estimating k (--k-rule folds: hidden-class folds, networks and curves)")
			}
			cbar.Set(done)
		}
		finishK := scanBars(app, c, &opts.K.Scan)
		dr, err = discover.FitPBN(ctx, in.Train, target, opts)
		bar.Finish()
		if cbar != nil {
			cbar.Finish()
		}
		finishK()
		if gbar != nil {
			gbar.Finish()
		}
		if err != nil {
			return err
		}
		lastCE, lastRec := bar.FinalLoss()
		finalLoss = map[string]float64{"ce": lastCE, "reconstruction": lastRec}
	}
	for name, s := range dr.Seconds {
		seconds[name] = s
	}
	k = dr.K
	f := &model.File{NCDVersion: versionString(), Created: time.Now().UTC(), Prep: in.Prep, TabularNCD: dr.TabularNCD,
		Normalized: normalized, Config: fitSettings,
		KnownCentroids: dr.KnownCentroids, NovelCentroids: dr.NovelCentroids, K: dr.K, KEstimated: dr.KEstimated, Setting: setting}
	if len(dr.Members) > 0 {
		f.Net, f.Ensemble = dr.Members[0], dr.Members[1:]
	}
	res := fitResult{Method: cfg.Method, Ensemble: ens, TrainRows: in.Train.Rows(), Epochs: epochs, Steps: steps, MaxSteps: cfg.MaxSteps, Known: len(in.Train.Classes), Features: in.Train.X.Cols,
		Rows: target.Rows(), Clustered: len(unl), Latent: latent, Model: modelPath, Out: out,
		Config: typedConfig(cmd.Flags(), f.Config), Seconds: seconds, FinalLoss: finalLoss,
		K: k, KEstimated: dr.KEstimated, Inertia: dr.Inertia, Setting: setting}
	if dr.Curve != nil {
		res.Estimate = curveResult(dr.Curve, len(unl), seconds["estimate_k"])
		res.Estimate.Space = "latent"
		if n := res.Estimate.Note; n != "" {
			printNotes(app, v, []string{n})
		}
	}

	var names []string
	var unlMask []bool
	var cols []*gcdColumns
	if g := dr.GCD; g != nil {
		names, unlMask = gcdNames(target, unl, dr.Labels, g.Known)
		cols = append(cols, newGCDColumns(target, unl, dr.Labels, g.P, g.Confidence))
		gr, _ := opts.GCD.Resolve()
		res.GCD = newGCDResult(g.Detection, gr, g.NRef, g.NCal, dr.Labels)
		f.GCD = g.Reference
	} else {
		novel := make([]int, target.Rows())
		scatter(novel, unl, dr.Labels)
		names, unlMask = predictionNames(target, target.Known, novel)
	}
	res.Sizes = clusterSizes(names, unlMask)
	if dr.GCD == nil {
		if empty, note := emptyClusterNote(cfg.Method, k, dr.Labels); empty > 0 {
			res.Empty, res.Notes = empty, append(res.Notes, note)
			printNotes(app, v, []string{note})
		}
	}
	t4 := time.Now()
	if modelPath != "" {
		if err := f.Save(modelPath); err != nil {
			return err
		}
	}
	if out != "" || modelPath == "" {
		if err := emitPredictions(app, c, out, in.outputTable(), names, unlMask, cols...); err != nil {
			return err
		}
	}
	seconds["write"] = time.Since(t4).Seconds()
	t5 := time.Now()
	if err := reportAfterRun(ctx, app, v, c, "fit", in.outputPath(), in.outputTable(), in.Prep, target, names, unlMask,
		func() linalg.Matrix { return dr.Embed(target.X) }, res.Estimate); err != nil {
		return err
	}
	if res.Report = v.GetString("report"); res.Report != "" {
		seconds["report"] = time.Since(t5).Seconds()
	}
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		how := ""
		if res.KEstimated {
			how = " (estimated)"
		}
		nets := ""
		if ens > 1 {
			nets = fmt.Sprintf(" x %d networks", ens)
		}
		capped := ""
		if cfg.Method != tabularncd.Method && epochs < cfg.Epochs {
			capped = fmt.Sprintf(", capped by --max-steps %d", cfg.MaxSteps)
		}
		fmt.Fprintf(app.Stderr, "%s: trained %d epochs (%d steps%s)%s on %d rows; %d rows clustered into k=%d%s novel clusters\n",
			cfg.Method, epochs, steps, capped, nets, res.TrainRows, res.Clustered, k, how)
		if res.GCD != nil {
			fmt.Fprintln(app.Stderr, gcdSummary(res.GCD))
		}
		if e := res.Estimate; e != nil && e.Calibration != nil {
			fmt.Fprintln(app.Stderr, calibSummary(e.Calibration))
		}
		if e := res.Estimate; e != nil && e.ClassSizes != nil {
			fmt.Fprintln(app.Stderr, e.ClassSizes.Summary())
		}
		fmt.Fprintf(app.Stderr, "sizes: %s\n", formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, seconds))
		if modelPath != "" {
			fmt.Fprintf(app.Stderr, "model saved to %s\n", modelPath)
		}
	}
	return nil
}

// calibSummary is the line that says how --k-rule folds chose its rule.
func calibSummary(c *estimate.Calibration) string {
	var parts []string
	for i, r := range c.Rules {
		parts = append(parts, fmt.Sprintf("%s %.2f", r, c.MeanAbsErr[i]))
	}
	return fmt.Sprintf("k rule folds: %d folds hiding %d known classes each chose %s (mean |k - %d|: %s)",
		c.Folds, c.Hidden, c.Rule, c.Hidden, strings.Join(parts, ", "))
}

// settings records every flag's effective value after config and environment
// (for the model's provenance, and for tune's best config).
func settings(cmd *cobra.Command, v *viper.Viper) map[string]string {
	out := map[string]string{}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		switch f.Name {
		case "help", "config", "json", "quiet", "threads":
			return
		}
		out[f.Name] = flagString(v, f)
	})
	return out
}
