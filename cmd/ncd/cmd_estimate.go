package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/chart"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/discover"
	"github.com/ncd-project/ncd/internal/estimate"
	"github.com/ncd-project/ncd/internal/gcd"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newEstimateCmd) }

const indexKnownACC = "known-acc"

// estimateResult is estimate-k's --json object (and part of cluster/fit's).
type estimateResult struct {
	K      int                   `json:"k"`
	Index  string                `json:"index"`
	Space  string                `json:"space"`
	Rows   int                   `json:"rows"`
	Ks     []int                 `json:"ks"`
	Scores map[string]jsonFloats `json:"scores"`
	Best   map[string]int        `json:"best"`
	Known  *knownACCSummary      `json:"known_acc,omitempty"`
	// Sample is set when the scan ran on a sample of the rows.
	Sample *sampleSummary `json:"sample,omitempty"`
	// Note says why another rule than --k-rule chose k (too few rows).
	Note string `json:"note,omitempty"`
	// Calibration is how --k-rule folds chose its rule.
	Calibration *estimate.Calibration `json:"calibration,omitempty"`
	// ClassSizes is how --k-rule sizes (the default) chose k.
	ClassSizes *estimate.SizeEstimate `json:"class_sizes,omitempty"`
	// Setting and GCD are set by --setting gcd (k is then k_new, 0 allowed).
	Setting string     `json:"setting,omitempty"`
	GCD     *gcdResult `json:"gcd,omitempty"`
	Seconds float64    `json:"seconds"`                // the scan (or the known-acc search) alone
	Wall    float64    `json:"wall_seconds,omitempty"` // estimate-k's whole run (not set inside fit's and cluster's JSON)
}

// sampleSummary is estimate.Sample in --json: the scan clustered and scored
// Sampled of the Rows, drawn in proportion from Strata strata: clusters
// (the validity-index scan) or labels (known-acc: the known classes and the
// unlabelled rows); silhouette_se[i] is the sampling error of
// scores.silhouette[i].
type sampleSummary struct {
	Rows         int        `json:"rows"`
	Sampled      int        `json:"sampled"`
	Strata       int        `json:"strata"`
	StrataOf     string     `json:"strata_of"`
	SilhouetteSE jsonFloats `json:"silhouette_se,omitempty"`
}

// jsonFloats marshals NaN (an index undefined at some k) as null, which
// encoding/json refuses to write for a float64 (the whole --json output
// failed); other values are written as encoding/json writes them.
type jsonFloats []float64

func (f jsonFloats) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, x := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b = append(b, "null"...)
			continue
		}
		v, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, ']'), nil
}

type knownACCSummary struct {
	KnownClasses int                  `json:"known_classes"`
	TotalK       int                  `json:"total_k"`
	ACC          float64              `json:"acc"`
	Evaluated    []estimate.KnownEval `json:"evaluated"`
}

func newEstimateCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "estimate-k --data F [--novel L] [--k-min 2] [--k-max 30] [--k-rule sizes|stable|ps|1se|max] [--index silhouette|ch|db|elbow|all|known-acc]",
		Short: "Estimate the number of novel classes among the unlabeled rows",
		Long: `Estimate how many novel classes the unlabeled rows hold.

By default (--k-rule sizes) k comes from the class sizes when the known
classes are even in size: the unlabeled rows are then about k known-class
sizes' worth, k = unlabeled rows / mean known class size. The spread of the
known sizes bounds the error (c sqrt(k + k^2/C) for C known classes whose
sizes vary by c, from c's upper 95% bound); the sizes' k is used when that
standard deviation is at most .39, the estimate lies within 2 standard
deviations of a whole number and k is within --k-min..--k-max (1 allowed
when --k-min is 2); stderr and --json ("class_sizes") say whether and why.
This assumes the unlabeled rows hold the novel classes' rows in the
proportions the labelled rows hold the known ones' (the rows were labelled
or not by class); if they were collected apart, use --k-rule stable.

Otherwise (and under --k-rule stable) k is the silhouette's choice (the 1se
rule, below), checked for stability: prediction strength (Tibshirani and Walther
2005) splits the rows at random into halves, clusters both with k-means, and
PS(k) is how often two rows of the same cluster of one half fall in the same
cluster of the other half's centroids (the worst cluster's score, mean of 10
splits). If the silhouette's k is not stable (PS + its standard error below
.7), k is lowered to the largest stable k, or 1 when none is (PS(1) = 1:
the rows hold one class), which a silhouette scan alone cannot say; with
--k-min above 2, to --k-min at the lowest (with a note).
--k-rule ps takes the largest stable k of the whole range instead. The rules
were compared on ncd's benchmark suite (make bench-suite; see the README).
Prediction strength runs on a seeded sample of 3,000 rows above that, stops
after 5 k in a row below the cutoff, and needs 20 rows (below, 1se alone).

The k is printed alone on stdout, so that
    K=$(ncd estimate-k --data train.csv --novel A,B,C)
works in a script; the table of k against the scores goes to stderr.

The silhouette scan (--k-rule sizes, stable, 1se, max): for every k
in --k-min..--k-max the rows are clustered with k-means (--runs runs of
--n-init restarts each) and every partition is scored with --index; each
index's score is the mean over the runs. Indices: silhouette (the paper
found it the most reliable), ch (Calinski-Harabasz), db (Davies-Bouldin),
elbow (Kneedle on the inertia), all (a majority vote of the four), and
known-acc: cluster known and unlabeled rows together for each total k, and
pick the k whose clusters recover the known labels best (golden-section
search); its estimate is that k minus the number of known classes. An
--index other than silhouette runs that index's scan (with 1se when
--k-rule is sizes, stable or ps; the class sizes are then not used).

The silhouette's k under 1se is the smallest k whose mean silhouette is
within one standard error of the highest: a larger k must beat a smaller
one by more than the noise of the estimate, the standard error of the rows'
paired silhouette differences. --k-rule max takes the highest, as the paper
does. fit, cluster and tune use the same rules for --k auto.

Above 6,000 rows the scan clusters and scores a seeded sample of 6,000 rows
instead of every row (its cost is quadratic in the rows), drawn in proportion
from 30 clusters of a quick k-means of all rows (known-acc: from each label).
The silhouette is then the estimate of its mean over all rows, shown with its
sampling error (+-se; "sample" in --json), and 1se compares k within the
noise of the sampled rows. fit and cluster's --k auto do the same.

Features are z-scored with the statistics of --data. With --model, the scan
runs in a fitted model's latent space instead (see 'ncd fit').`,
		Example: `  K=$(ncd estimate-k --data testdata/pendigits_train.csv --novel 0,3,5,6,7)
  ncd estimate-k --data train.csv --k-rule 1se        # the silhouette alone
  ncd estimate-k --data train.csv --index all --plot k.svg --json
  # unlabeled rows mixing known and new classes: k_new, 0 when none is new
  ncd estimate-k --model m.ncd --data train.csv --setting gcd`,
		Args: cobra.NoArgs,
		RunE: runE(app, func(ctx context.Context, _ *cobra.Command, v *viper.Viper, c common) error {
			return runEstimate(ctx, app, v, c)
		}),
	}
	addDataFlags(cmd, false)
	addSettingFlags(cmd)
	f := cmd.Flags()
	f.Int("k-min", 2, "smallest k scanned")
	f.Int("k-max", 30, "largest k scanned")
	addKRuleFlag(cmd)
	f.String("index", "silhouette", "silhouette|ch|db|elbow|all|known-acc (the scan of --k-rule 1se or max; another index than silhouette runs it even under sizes, stable or ps)")
	f.Int("runs", 3, "k-means runs per k (the index is their mean)")
	f.Int("n-init", 10, "k-means restarts per run")
	f.String("plot", "", "draw the index against k into FILE.svg or FILE.png")
	f.String("model", "", "scan in the latent space of a model fitted by 'ncd fit'")
	return cmd
}

func runEstimate(ctx context.Context, app *App, v *viper.Viper, c common) error {
	index := v.GetString("index")
	plotPath := v.GetString("plot")
	if err := checkPlotPath(plotPath); err != nil {
		return err
	}
	if err := checkKRule(v, "trains networks on hidden-class folds of the known classes, which estimate-k does not do"); err != nil {
		return err
	}
	setting, gopt, err := gcdFlags(v)
	if err != nil {
		return err
	}
	space := "raw"
	var X linalg.Matrix
	var known []int
	var nKnown int
	var data *dataset.Dataset
	if mpath := v.GetString("model"); mpath != "" {
		m, _, ds, err := loadModelAndData(app, v, mpath)
		if err != nil {
			return err
		}
		X, known, nKnown, space, data = m.Latent(ds.X), ds.Known, len(ds.Classes), "latent", ds
	} else {
		in, err := loadInputs(app, v)
		if err != nil {
			return err
		}
		X, known, nKnown, data = in.Train.X, in.Train.Known, len(in.Train.Classes), in.Train
	}
	if setting == gcd.SettingGCD {
		return runEstimateGCD(ctx, app, v, c, X, data, space, gopt)
	}
	var unl []int
	for i, k := range known {
		if k < 0 {
			unl = append(unl, i)
		}
	}
	if len(unl) == 0 {
		return usererr.New("%s has no unlabeled rows (give rows an empty label, or name classes with --novel)", v.GetString("data"))
	}
	var note string
	if index == indexKnownACC {
		b := kBounds{rows: X.Rows, what: fmt.Sprintf("the %d rows of %s", X.Rows, v.GetString("data"))}
		note, err = b.checkKnownACCScan(v, nKnown)
	} else {
		note, err = newKBounds(len(unl), v.GetString("data")).checkScan(v)
	}
	if err != nil {
		return err
	}
	printBoundNote(app, c, note)
	var res *estimateResult
	if index == indexKnownACC {
		res, err = knownACC(ctx, app, v, c, X, known, nKnown)
	} else {
		res, err = scanK(ctx, app, v, c, X.Select(unl), data, data)
	}
	if err != nil {
		return err
	}
	res.Space = space
	res.Wall = time.Since(c.Start).Seconds()
	if !c.Quiet {
		printCurve(app.Stderr, res)
	}
	if plotPath != "" {
		if err := chart.Save(plotPath, curvePanels(res)); err != nil {
			return err
		}
	}
	if c.JSON {
		return writeJSON(app.Stdout, res)
	}
	_, err = fmt.Fprintln(app.Stdout, res.K)
	return err
}

// scanOptions reads the scan's flags. cluster and fit have no --index/--runs
// flags: zero values select the scan's defaults (silhouette, 3 runs).
func scanOptions(v *viper.Viper) estimate.ScanOptions {
	o := estimate.ScanOptions{
		KMin: v.GetInt("k-min"), KMax: v.GetInt("k-max"),
		Runs: v.GetInt("runs"), NInit: v.GetInt("n-init"), Index: v.GetString("index"), Rule: v.GetString("k-rule"),
	}
	// An index other than the silhouette asks for the index scan; the
	// prediction strength rules (and sizes, which falls back to stable)
	// would ignore it.
	if (o.Rule == estimate.RulePS || o.Rule == estimate.RuleStable || o.Rule == estimate.RuleSizes) && o.Index != "" && o.Index != estimate.IndexSilhouette {
		o.Rule = estimate.RuleOneSE
	}
	return o
}

// curveResult is the --json form of a scan of rows rows.
func curveResult(curve *estimate.Curve, rows int, seconds float64) *estimateResult {
	res := &estimateResult{K: curve.K, Index: curve.Index, Rows: rows, Ks: curve.Ks, Scores: map[string]jsonFloats{},
		Best: curve.Best, Seconds: seconds, Note: curve.Fallback, Calibration: curve.Calibration, ClassSizes: curve.Sizes}
	for name, s := range curve.Scores {
		res.Scores[name] = s
	}
	if s := curve.Sample; s != nil {
		res.Sample = &sampleSummary{Rows: s.Rows, Sampled: s.Sampled, Strata: s.Strata, StrataOf: "clusters", SilhouetteSE: s.SilhouetteSE}
	}
	return res
}

// scanBars sets o's progress callbacks to bars on stderr: one counting k of
// K while the partitions are made, then one over the row blocks while they
// are scored (silhouette). Call the returned function when the scan ends.
func scanBars(app *App, c common, o *estimate.ScanOptions) (finish func()) {
	bar := app.newProgress(c, 1, "estimating k (k-means, k of K)")
	var score *progress
	o.Progress = func(done, total int) { bar.setTotal(total); bar.Set(done) }
	o.ScoreProgress = func(done, total int) {
		if score == nil {
			bar.Finish()
			score = app.newProgress(c, total, "estimating k (silhouettes, row blocks)")
		}
		score.Set(done)
	}
	return func() {
		bar.Finish()
		if score != nil {
			score.Finish()
		}
	}
}

// scanK runs the validity-index scan of --index over --k-min..--k-max on X,
// with progress bars (scanBars).
// The class sizes of --k-rule sizes are target's (whose unlabeled rows X
// holds), or train's when target has too few labelled classes
// (discover.SizeInput).
func scanK(ctx context.Context, app *App, v *viper.Viper, c common, X linalg.Matrix, train, target *dataset.Dataset) (*estimateResult, error) {
	t0 := time.Now()
	o := scanOptions(v)
	o.Threads, o.Seed = c.Threads, c.Seed
	finish := scanBars(app, c, &o)
	ko := discover.KOptions{Scan: o}
	ko.KnownSizes, ko.Unlabeled, ko.NoSizes = discover.SizeInput(train, target)
	_, curve, err := discover.ChooseK(ctx, X, ko)
	finish()
	if err != nil {
		return nil, err
	}
	return curveResult(curve, X.Rows, time.Since(t0).Seconds()), nil
}

func knownACC(ctx context.Context, app *App, v *viper.Viper, c common, X linalg.Matrix, known []int, nKnown int) (*estimateResult, error) {
	if nKnown == 0 {
		return nil, usererr.New("--index known-acc needs labeled rows of known classes")
	}
	bar := app.newProgress(c, 1, "estimating k (known-acc), k tried")
	t0 := time.Now()
	r, err := estimate.KnownACCSearch(ctx, X, known, estimate.KnownOptions{
		KMin: v.GetInt("k-min"), KMax: v.GetInt("k-max"), NInit: v.GetInt("n-init"),
		Threads: c.Threads, Seed: c.Seed,
		Progress: func(done, total int) { bar.setTotal(total); bar.Set(done) },
	})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	res := &estimateResult{K: r.Novel, Index: indexKnownACC, Rows: X.Rows, Scores: map[string]jsonFloats{}, Best: map[string]int{indexKnownACC: r.Novel},
		Known: &knownACCSummary{KnownClasses: r.Known, TotalK: r.Total, ACC: r.ACC, Evaluated: r.Evaluated}, Seconds: time.Since(t0).Seconds()}
	for _, e := range r.Evaluated {
		res.Ks = append(res.Ks, e.Novel)
		res.Scores[indexKnownACC] = append(res.Scores[indexKnownACC], e.ACC)
	}
	if r.Sampled > 0 {
		res.Sample = &sampleSummary{Rows: X.Rows, Sampled: r.Sampled, Strata: r.Groups, StrataOf: "labels"}
	}
	return res, nil
}

// indexOrder is the order indices are shown in tables and plots.
var indexOrder = []string{estimate.IndexPS, estimate.IndexSilhouette, estimate.IndexCH, estimate.IndexDB, estimate.IndexElbow, indexKnownACC}

var indexTitle = map[string]string{
	estimate.IndexPS:         "prediction strength (ps + se >= .7 is stable)",
	estimate.IndexSilhouette: "silhouette (max)",
	estimate.IndexCH:         "Calinski-Harabasz (max)",
	estimate.IndexDB:         "Davies-Bouldin (min)",
	estimate.IndexElbow:      "inertia (elbow)",
	indexKnownACC:            "known-class ACC (max)",
}

func printCurve(w io.Writer, r *estimateResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var cols []string
	for _, name := range indexOrder {
		if _, ok := r.Scores[name]; ok {
			cols = append(cols, name)
		}
	}
	// A sampled scan shows the silhouette's sampling error beside it.
	var se []float64
	if r.Sample != nil {
		se = r.Sample.SilhouetteSE
	}
	psSE := r.Scores["ps_se"]
	head := make([]string, 0, len(cols)+1)
	for _, name := range cols {
		head = append(head, name)
		if (name == estimate.IndexSilhouette && se != nil) || (name == estimate.IndexPS && psSE != nil) {
			head = append(head, "+-se")
		}
	}
	fmt.Fprintf(tw, "k\t%s\t\n", strings.Join(head, "\t"))
	for i, k := range r.Ks {
		fmt.Fprintf(tw, "%d\t", k)
		for _, name := range cols {
			mark := " "
			if r.Best[name] == k {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s%s\t", fmtScore(r.Scores[name][i]), mark)
			if name == estimate.IndexSilhouette && se != nil {
				fmt.Fprintf(tw, "%s \t", fmtScore(se[i]))
			}
			if name == estimate.IndexPS && psSE != nil {
				fmt.Fprintf(tw, "%s \t", fmtScore(psSE[i]))
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	rows := fmt.Sprintf("%d rows", r.Rows)
	if s := r.Sample; s != nil && s.Strata == 0 {
		rows = fmt.Sprintf("%d rows, scan on a seeded sample of %d", s.Rows, s.Sampled)
	} else if s != nil {
		rows = fmt.Sprintf("%d rows, scan on a sample of %d stratified by %d %s", s.Rows, s.Sampled, s.Strata, s.StrataOf)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
	if r.ClassSizes != nil {
		fmt.Fprintln(w, r.ClassSizes.Summary())
	}
	how := "index " + r.Index
	if r.ClassSizes != nil && r.ClassSizes.Used {
		how = "from the class sizes; scan: index " + r.Index // the line above says how
	}
	fmt.Fprintf(w, "estimated k = %d (%s, %s space, %s)\ntime: %s in all, the scan %s\n", r.K, how, r.Space, rows, fmtSeconds(r.Wall), fmtSeconds(r.Seconds))
}

func fmtScore(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	if math.Abs(x) >= 1e4 {
		return fmt.Sprintf("%.4g", x)
	}
	return fmt.Sprintf("%.4f", x)
}

func curvePanels(r *estimateResult) []chart.Panel {
	var panels []chart.Panel
	for _, name := range indexOrder {
		vals, ok := r.Scores[name]
		if !ok {
			continue
		}
		ks := r.Ks
		panels = append(panels, chart.Panel{
			Title: fmt.Sprintf("%s, %s space", indexTitle[name], r.Space), Ks: ks, Values: vals,
			Best: r.Best[name], Chosen: r.Best[name] == r.K && (name == r.Index || r.Index == estimate.IndexAll || (r.Index == estimate.IndexStable && name == estimate.IndexPS)),
		})
	}
	if s := r.ClassSizes; s != nil && s.Used && len(panels) > 0 {
		// The sizes chose k, not a curve: say so where the eye looks first.
		panels[0].Title += fmt.Sprintf(" (k = %d from the class sizes)", r.K)
		for i := range panels {
			panels[i].Chosen = false
		}
	}
	return panels
}
