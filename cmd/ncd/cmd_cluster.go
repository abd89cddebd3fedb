package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/cluster"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/gcd"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/spectral"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newClusterCmd) }

// clusterResult is cluster's --json object.
type clusterResult struct {
	Method       string             `json:"method"`
	K            int                `json:"k"`
	KEstimated   bool               `json:"k_estimated"`
	Rows         int                `json:"rows"`
	Clustered    int                `json:"rows_clustered"`
	FitRows      int                `json:"fit_rows,omitempty"`
	Features     int                `json:"features"` // columns of the encoded feature matrix, as fit reports
	Sizes        map[string]int     `json:"sizes"`
	Inertia      float64            `json:"inertia"`
	Spectral     *spectralSummary   `json:"spectral,omitempty"`
	Estimate     *estimateResult    `json:"estimate,omitempty"`
	Out          string             `json:"out,omitempty"`
	Report       string             `json:"report,omitempty"` // --report's HTML file
	Seconds      map[string]float64 `json:"seconds"`          // per phase: load, estimate_k, cluster (spectral_* within it), write
	Wall         float64            `json:"wall_seconds"`
	ModelApplied string             `json:"model,omitempty"`
	Stream       *streamSummary     `json:"stream,omitempty"` // cluster --model read and wrote in chunks
}

type spectralSummary struct {
	Sigma       float64   `json:"sigma"`
	Affinity    string    `json:"affinity"`
	Components  int       `json:"graph_components"`
	Converged   int       `json:"converged"`
	Iterations  int       `json:"iterations"`
	Eigenvalues []float64 `json:"eigenvalues"`
}

func newClusterCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster --data F --method kmeans|ncd-kmeans|sc|ncd-sc [--k auto|N] [--test T] [--out P]",
		Short: "Cluster unlabeled rows with k-means, NCD k-means, spectral or NCD spectral clustering",
		Long: `Cluster the unlabeled rows (rows without a label, or of --novel classes).

Methods:
  kmeans      k-means (k-means++ seeding, n-init restarts) fitted on the
              unlabeled rows of --data; --test rows are assigned to the
              nearest centroid.
  ncd-kmeans  NCD k-means: the known classes' means are fixed centroids and
              the novel centroids are seeded away from them, then only the
              novel centroids move. --assign-known lets unlabeled rows join a
              known class (generalized setting). Default method.
  sc          spectral clustering of the unlabeled rows (of --test when
              given): MST bandwidth, RBF affinity, normalized Laplacian,
              k-means on its first --n-components nontrivial eigenvectors.
  ncd-sc      spectral embedding of known and unlabeled rows together, then
              k-means on the unlabeled rows' embedding (--known-centroids
              adds the known classes' embedding means as fixed centroids).

Features are z-scored with statistics of --data. --k auto (default) estimates
the number of novel classes (see --k-rule and 'ncd estimate-k').
The output holds every row of --test (or --data) with its columns plus
'cluster' (the known class for labeled rows, novel_0.. for discovered ones)
and 'unlabeled'. Without --out and --json, it is written as CSV to stdout.
Given such an output as --data, its 'cluster' and 'unlabeled' columns are not
features (a note says so; name them in --features to use them).`,
		Example: `  # NCD k-means with 5 novel classes, fitted on train, predicting test
  ncd cluster --data testdata/pendigits_train.csv --test testdata/pendigits_test.csv \
      --novel 0,3,5,6,7 --method ncd-kmeans --k 5 --out pred.csv
  ncd eval --data pred.csv

  # NCD spectral clustering with the number of clusters estimated
  ncd cluster --data train.csv --test test.csv --method ncd-sc --min-dist 0.38 --n-components 15

  # assign new rows with a model fitted by 'ncd fit' (and report them)
  ncd cluster --model model.ncd --data new.csv --out pred.csv
  ncd cluster --model model.ncd --data new.csv --out pred.csv --report new.html

  # generalized setting without a network (--method ncd-kmeans or ncd-sc):
  # unlabeled rows may be known or new; k_new may be 0
  ncd cluster --data train.csv --setting gcd --method ncd-sc --out pred.csv`,
		Args: cobra.NoArgs,
		RunE: runE(app, func(ctx context.Context, cmd *cobra.Command, v *viper.Viper, c common) error {
			if err := checkReportFlags(cmd, v); err != nil {
				return err
			}
			if v.GetString("model") != "" {
				return runClusterWithModel(ctx, app, v, c)
			}
			return runCluster(ctx, app, v, c)
		}),
	}
	addDataFlags(cmd, true)
	addKFlags(cmd)
	addSettingFlags(cmd)
	f := cmd.Flags()
	f.String("method", "ncd-kmeans", "kmeans|ncd-kmeans|sc|ncd-sc")
	f.String("out", "", "predictions file (.csv, .tsv, .csv.gz, .parquet); default CSV on stdout unless --json")
	f.String("model", "", "assign the rows of --data with a model fitted by 'ncd fit' (no training)")
	f.Int("n-init", 0, "k-means restarts (0 = auto: 10, or 50 on a spectral embedding, where restarts are cheap and the optimum is hard to find)")
	f.Int("max-iter", 300, "k-means iterations per restart")
	f.Float64("tol", 1e-4, "k-means tolerance, relative to the mean feature variance")
	f.Bool("assign-known", false, "ncd-kmeans: unlabeled rows may also join a known class (generalized setting)")
	f.String("ncd-variant", "reference", "ncd-kmeans, and k-means in sc/ncd-sc: reference (the authors' code: distance-proportional seeding, restart with the lowest sum of distances), squared (the paper's squared-distance seeding) or inertia (greedy seeding, lowest inertia)")
	f.Float64("min-dist", 0.6, "sc/ncd-sc: similarity level at which the MST stays connected (sets the RBF bandwidth), in (0,1)")
	f.Int("n-components", 0, "sc/ncd-sc: embedding dimension (default: k)")
	f.String("affinity", "auto", "sc/ncd-sc: dense|knn|auto (dense up to 8000 rows)")
	f.Int("knn", 30, "sc/ncd-sc: neighbours per row of the kNN affinity")
	f.Float64("eigen-tol", 0, "sc/ncd-sc: residual |Mu - lambda u| at which an eigenvector counts as converged (0 = default 1e-8)")
	f.Bool("stream", true, "with --model: read, assign and write --data in chunks when it is a file and --out a file (memory bounded by the chunks; same output); false: load the whole table (--report loads it too)")
	f.Bool("known-centroids", false, "ncd-sc: the known classes' embedding means as fixed pre-centroids (default: plain k-means on the unlabeled rows' embedding)")
	addReportFlags(cmd)
	f.String("row-norm", "auto", "sc/ncd-sc: scale embedding rows to unit length before k-means: true|false|auto (auto: yes for ncd-sc and kNN affinities, no for sc on a dense affinity)")
	return cmd
}

// addKFlags registers --k and the scan range used by --k auto.
func addKFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("k", "auto", "number of novel clusters: auto (estimated, see --k-rule) or a number")
	f.Int("k-min", 2, "--k auto: smallest k scanned (k = 1 stays possible: the class sizes can give it at the default 2, and rules stable and ps answer 1 when no scanned k is stable)")
	f.Int("k-max", 30, "--k auto: largest k scanned")
	addKRuleFlag(cmd)
}

// checkKRule validates --k-rule before any work is done (fit would
// otherwise train for minutes before the scan refuses it). The folds rule
// trains networks on hidden-class folds of the known classes, so only fit
// has what it needs (why names the command's reason otherwise).
func checkKRule(v *viper.Viper, why string) error {
	switch r := v.GetString("k-rule"); r {
	case estimate.RuleSizes, estimate.RuleStable, estimate.RulePS, estimate.RuleOneSE, estimate.RuleMax:
	case estimate.RuleFolds:
		if why != "" {
			return usererr.New("--k-rule folds %s; use it with 'ncd fit' (PBN, ncd setting), or another rule here", why)
		}
	default:
		return usererr.New("--k-rule must be sizes, stable, ps, folds, 1se or max, got %q", r)
	}
	return nil
}

// addKRuleFlag registers --k-rule (how --k auto picks k).
func addKRuleFlag(cmd *cobra.Command) {
	cmd.Flags().String("k-rule", estimate.RuleSizes, "how --k auto picks k: sizes (k = unlabeled rows / mean known class size, rounded, when the known classes are even enough in size for its standard deviation to be at most .39 and k is within --k-min..--k-max (or 1 at --k-min 2); otherwise stable. It assumes the unlabeled rows hold the novel classes' rows in the proportions the labelled rows hold the known ones'), stable (the silhouette's 1se k, lowered to the largest k that prediction strength finds stable; can answer 1), ps (prediction strength alone: the largest k whose clusters on one half of the rows predict those on the other half, ps + se >= .7), folds (fit only: the class sizes' k as sizes takes it, otherwise stable or ps, whichever finds the number of classes hidden in 3 hidden-class folds of the known classes better, 2 more networks each; slower), 1se (the smallest k within one standard error of the highest mean silhouette) or max (the highest silhouette, as the paper)")
}

// parseK reads --k: (0, nil) means auto. An empty --k is refused rather
// than taken as auto: it is what --k "$K" gives when K=$(ncd estimate-k
// ...) failed, and silently estimating k again would hide that failure.
func parseK(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, errEmptyK
	}
	if s == "auto" {
		return 0, nil
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 {
		return 0, usererr.New("--k must be auto or a positive integer, got %q", s)
	}
	return k, nil
}

func runCluster(ctx context.Context, app *App, v *viper.Viper, c common) error {
	method := v.GetString("method")
	switch method {
	case "kmeans", "ncd-kmeans", "sc", "ncd-sc":
	default:
		return usererr.New("--method must be kmeans, ncd-kmeans, sc or ncd-sc, got %q", method)
	}
	if setting, gopt, err := gcdFlags(v); err != nil {
		return err
	} else if setting == gcd.SettingGCD {
		return runClusterGCD(ctx, app, v, c, method, gopt)
	}
	k, err := parseK(v.GetString("k"))
	if err != nil {
		return err
	}
	if err := checkKRule(v, "trains networks on hidden-class folds of the known classes, which clustering in a fixed space does not do"); err != nil {
		return err
	}
	out := v.GetString("out")
	if err := checkOutPath(out); err != nil {
		return err
	}
	if _, err := reportOptionsFrom(v, c); err != nil {
		return err
	}
	seconds := map[string]float64{}
	in, err := loadInputsTimed(app, v, seconds)
	if err != nil {
		return err
	}

	kmOpt := cluster.KMeansOptions{
		NInit:   v.GetInt("n-init"),
		MaxIter: v.GetInt("max-iter"),
		Tol:     v.GetFloat64("tol"),
		Threads: c.Threads,
		Rng:     newRand(c.Seed),
	}
	// The rows the model is fitted on, and the rows predictions are made for.
	fitDS, outDS := in.Train, in.Eval
	fitUnl := fitDS.UnlabeledRows()
	outUnl := outDS.UnlabeledRows()
	if method == "sc" || method == "ncd-sc" {
		fitDS, fitUnl = outDS, outUnl // transductive: cluster the output rows themselves
	}
	if len(outUnl) == 0 {
		return usererr.New("%s has no unlabeled rows to cluster (give rows an empty label, or name classes with --novel)", in.outputPath())
	}
	if len(fitUnl) == 0 {
		return usererr.New("%s has no unlabeled rows to fit on (give rows an empty label, or name classes with --novel)", in.DataPath)
	}
	fitPath := in.DataPath
	if method == "sc" || method == "ncd-sc" {
		fitPath = in.outputPath()
	}
	if err := checkKAgainstRows(app, v, c, k, newKBounds(len(fitUnl), fitPath)); err != nil {
		return err
	}
	res := clusterResult{Method: method, Rows: outDS.Rows(), Clustered: len(outUnl), Features: outDS.X.Cols, Seconds: seconds}

	if k == 0 {
		t1 := time.Now()
		// sc clusters --test's rows: with too few labelled classes there,
		// the class sizes are --data's, as in fit.
		est, err := scanK(ctx, app, v, c, fitDS.X.Select(fitUnl), in.Train, fitDS)
		if err != nil {
			return err
		}
		k, res.KEstimated, res.Estimate = est.K, true, est
		if est.ClassSizes != nil && !c.Quiet {
			fmt.Fprintln(app.Stderr, est.ClassSizes.Summary())
		}
		if est.Note != "" {
			printNotes(app, v, []string{est.Note})
		}
		seconds["estimate_k"] = time.Since(t1).Seconds()
	}
	kmOpt.K = k
	res.K = k

	t2 := time.Now()
	labels := make([]int, outDS.Rows()) // novel cluster per output row (-1 known)
	knownOut := make([]int, outDS.Rows())
	copy(knownOut, outDS.Known)
	switch method {
	case "kmeans":
		r, err := cluster.KMeans(ctx, fitDS.X.Select(fitUnl), kmOpt)
		if err != nil {
			return err
		}
		res.FitRows, res.Inertia = len(fitUnl), r.Inertia
		pred, _ := cluster.Assign(outDS.X.Select(outUnl), r.Centroids, c.Threads)
		scatter(labels, outUnl, pred)
	case "ncd-kmeans":
		lab := fitDS.LabeledRows()
		if len(lab) == 0 {
			return usererr.New("ncd-kmeans needs labeled rows of known classes in %s", in.DataPath)
		}
		kc := cluster.KnownMeans(fitDS.X, fitDS.Known, len(fitDS.Classes))
		r, err := cluster.NCDKMeans(ctx, fitDS.X.Select(fitUnl), kc, cluster.NCDKMeansOptions{KMeansOptions: kmOpt, AssignKnown: v.GetBool("assign-known"), Variant: v.GetString("ncd-variant")})
		if err != nil {
			return err
		}
		res.FitRows, res.Inertia = len(fitUnl), r.Inertia
		pred, known, _ := r.Assign(outDS.X.Select(outUnl), c.Threads)
		scatter(labels, outUnl, pred)
		if known != nil {
			scatter(knownOut, outUnl, known)
		}
	case "sc", "ncd-sc":
		sopt := cluster.SpectralOptions{
			Embed: spectral.Options{
				MinDist:     v.GetFloat64("min-dist"),
				NComponents: v.GetInt("n-components"),
				Affinity:    v.GetString("affinity"),
				KNN:         v.GetInt("knn"),
				Tol:         v.GetFloat64("eigen-tol"),
				Threads:     c.Threads,
				Seed:        c.Seed,
			},
			KMeans:         kmOpt,
			Variant:        v.GetString("ncd-variant"),
			KnownCentroids: v.GetBool("known-centroids"),
		}
		switch rn := v.GetString("row-norm"); rn {
		case "auto":
			// Measured (see cluster.SpectralOptions): raw eigenvectors reproduce
			// the reference SC on dense affinities; NCD SC, and any kNN
			// affinity (20000 letter rows: ACC .368 vs .216), need unit rows.
			n := len(outUnl)
			if method == "ncd-sc" {
				n = outDS.Rows()
			}
			aff := v.GetString("affinity")
			knn := aff == spectral.AffinityKNN || (aff == spectral.AffinityAuto && n > spectral.DenseMaxRows)
			sopt.RowNormalize = method == "ncd-sc" || knn
		case "true", "false":
			sopt.RowNormalize = rn == "true"
		default:
			return usererr.New("--row-norm must be true, false or auto, got %q", rn)
		}
		bar := app.newProgress(c, 100, "spectral embedding")
		sopt.Embed.Progress = func(_, conv, want int) {
			if want > 0 {
				bar.Set(100 * conv / want)
			}
		}
		var r *cluster.SpectralResult
		if method == "sc" {
			r, err = cluster.Spectral(ctx, outDS.X.Select(outUnl), sopt)
		} else {
			r, err = cluster.NCDSpectral(ctx, outDS.X, outDS.Known, len(outDS.Classes), sopt)
		}
		bar.Finish()
		if err != nil {
			return err
		}
		res.Inertia = r.Inertia
		scatter(labels, outUnl, r.Labels)
		res.Spectral = &spectralSummary{Sigma: r.Info.Sigma, Affinity: r.Info.Affinity, Components: r.Info.Components,
			Converged: r.Info.Converged, Iterations: r.Info.Iterations, Eigenvalues: r.Info.Eigenvalues}
		for name, s := range r.Info.Timings {
			seconds["spectral_"+name] = s
		}
	}
	seconds["cluster"] = time.Since(t2).Seconds()

	names, unl := predictionNames(outDS, knownOut, labels)
	res.Sizes = clusterSizes(names, unl)
	t3 := time.Now()
	if err := emitPredictions(app, c, out, in.outputTable(), names, unl); err != nil {
		return err
	}
	seconds["write"] = time.Since(t3).Seconds()
	t4 := time.Now()
	if err := reportAfterRun(ctx, app, v, c, "cluster --method "+method, in.outputPath(), in.outputTable(), in.Prep, outDS, names, unl, nil, res.Estimate); err != nil {
		return err
	}
	if res.Report = v.GetString("report"); res.Report != "" {
		seconds["report"] = time.Since(t4).Seconds()
	}
	res.Out = out
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "%s: %d rows clustered into k=%d%s novel clusters (inertia %.4g)\n",
			method, res.Clustered, k, map[bool]string{true: " (estimated)", false: ""}[res.KEstimated], res.Inertia)
		fmt.Fprintf(app.Stderr, "sizes: %s\n", formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, seconds))
	}
	return nil
}

// errEmptyK refuses --k "" (see parseK).
var errEmptyK = usererr.New("--k is empty: give auto or a number (was it set from a K=$(ncd estimate-k ...) that failed?)")

// scatter writes vals[j] into dst[idx[j]].
func scatter(dst, idx, vals []int) {
	for j, i := range idx {
		dst[i] = vals[j]
	}
}

// predictionNames names each output row: its known class (labeled rows, or
// unlabeled rows assigned to a known class in the generalized setting), or
// novel_<j>. unlabeled reports the rows that had no usable label.
func predictionNames(ds *dataset.Dataset, known, novel []int) ([]string, []bool) {
	names := make([]string, ds.Rows())
	unl := make([]bool, ds.Rows())
	for i := range names {
		unl[i] = ds.Known[i] == dataset.Unlabeled
		if known[i] != dataset.Unlabeled {
			names[i] = ds.Classes[known[i]]
		} else {
			names[i] = novelName(novel[i])
		}
	}
	return names, unl
}

// clusterSizes counts the unlabeled rows per predicted name.
func clusterSizes(names []string, unl []bool) map[string]int {
	sizes := map[string]int{}
	for i, n := range names {
		if unl[i] {
			sizes[n]++
		}
	}
	return sizes
}

// runClusterWithModel assigns the rows of --data with a fitted model: rows
// with a known label keep it, unlabeled rows go to the nearest novel centroid
// (or to the nearest known or novel one with --assign-known).
func runClusterWithModel(ctx context.Context, app *App, v *viper.Viper, c common) error {
	out := v.GetString("out")
	if err := checkOutPath(out); err != nil {
		return err
	}
	if v.GetBool("assign-known") {
		if m, err := model.Load(v.GetString("model")); err == nil && len(m.TabularNCD) > 0 {
			return usererr.New("--assign-known needs a PBN model: a TabularNCD model's clustering head only knows the novel clusters")
		}
	}
	if ok, err := streamAssign(ctx, app, v, c, out); ok || err != nil {
		return err
	}
	t0 := time.Now()
	m, t, ds, err := loadModelAndData(app, v, v.GetString("model"))
	if err != nil {
		return err
	}
	if m.Setting == gcd.SettingGCD {
		return clusterModelGCD(ctx, app, v, c, m, t, ds, out)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unl := ds.UnlabeledRows()
	Z := m.Embed(ds.X.Select(unl))
	r := &cluster.NCDResult{
		Result:         cluster.Result{Centroids: m.NovelCentroids},
		KnownCentroids: m.KnownCentroids,
		AssignKnown:    v.GetBool("assign-known"),
	}
	pred, known, inertia := r.Assign(Z, c.Threads)
	novel := make([]int, ds.Rows())
	knownOut := append([]int(nil), ds.Known...)
	scatter(novel, unl, pred)
	if known != nil {
		scatter(knownOut, unl, known)
	}
	names, unlMask := predictionNames(ds, knownOut, novel)
	res := clusterResult{Method: "model", K: m.K, KEstimated: m.KEstimated, Rows: ds.Rows(), Clustered: len(unl), Features: ds.X.Cols,
		Sizes: clusterSizes(names, unlMask), Inertia: inertia, Out: out, ModelApplied: v.GetString("model"),
		Seconds: map[string]float64{}}
	if err := emitPredictions(app, c, out, t, names, unlMask); err != nil {
		return err
	}
	if res.Report, err = reportWithModel(ctx, app, v, c, m, t, ds, names, unlMask); err != nil {
		return err
	}
	res.Seconds["total"] = time.Since(t0).Seconds() // kept for scripts that read it; wall_seconds is the same kind for every command
	res.Wall = time.Since(c.Start).Seconds()
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "model %s: %d unlabeled rows assigned (k=%d)\nsizes: %s\n", res.ModelApplied, len(unl), m.K, formatSizes(res.Sizes))
		fmt.Fprintf(app.Stderr, "time: %s\n", timeSummary(res.Wall, nil))
	}
	return nil
}
