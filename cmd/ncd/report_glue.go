package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/estimate"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/report"
	"github.com/ncd-project/ncd/internal/usererr"
)

// addReportFlags registers --report and its map settings (explain, fit, cluster).
func addReportFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("report", "", "write a self-contained offline HTML report (.html): summary, class sizes, maps, each class's rule, contrasts and typical rows")
	f.String("map", "tsne", "--report maps: pca (PCA only) or tsne (PCA and t-SNE)")
	f.Int("map-rows", 10000, "--report maps: rows drawn (a seeded sample stratified by class when there are more)")
}

type reportOptions struct {
	Path    string
	Map     string
	MapRows int
}

// reportRun says where the report's data came from.
type reportRun struct {
	Command, Input string
	KScan          *estimateResult
	Extra          []report.KV // more summary lines
}

// reportOptionsFrom reads and checks the report flags before any work:
// --map and --map-rows whether or not --report is given.
func reportOptionsFrom(v *viper.Viper, _ common) (reportOptions, error) {
	o := reportOptions{Path: v.GetString("report"), Map: v.GetString("map"), MapRows: v.GetInt("map-rows")}
	if o.Map != "pca" && o.Map != "tsne" {
		return o, usererr.New("--map must be pca or tsne, got %q", o.Map)
	}
	if o.MapRows < 10 || o.MapRows > 50000 {
		return o, usererr.New("--map-rows must be between 10 and 50000, got %d", o.MapRows)
	}
	if o.Path == "" {
		return o, nil
	}
	if ext := strings.ToLower(filepath.Ext(o.Path)); ext != ".html" && ext != ".htm" && !atomicfile.IsSink(o.Path) {
		return o, usererr.New("--report must name an .html file, got %q", o.Path)
	}
	return o, checkWritable(o.Path)
}

// checkReportFlags is reportOptionsFrom's check, first thing in fit,
// cluster and explain; it also refuses --map or --map-rows given on the
// command line without --report, where they would do nothing (a config
// file may hold them for the runs that do write a report).
func checkReportFlags(cmd *cobra.Command, v *viper.Viper) error {
	if _, err := reportOptionsFrom(v, common{}); err != nil {
		return err
	}
	if v.GetString("report") != "" {
		return nil
	}
	for _, name := range []string{"map", "map-rows"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return usererr.New("--%s sets the maps of --report's HTML file: add --report FILE.html, or drop --%s", name, name)
		}
	}
	return nil
}

func loadModelFile(path string) (*model.File, error) { return model.Load(path) }

// modelSummary is the report's summary line of a model file.
func modelSummary(path string, m *model.File) report.KV {
	how := "given"
	if m.KEstimated {
		how = "estimated"
	}
	return report.KV{Key: "model", Value: fmt.Sprintf("%s: k = %d (%s), %d known classes, written by ncd %s", path, m.K, how, len(m.Prep.Classes), m.NCDVersion)}
}

// reportWithModel is cluster --model's --report: the assigned rows
// explained as fit's report explains its predictions, with distances and
// maps in the model's latent space and the model in the summary. It
// returns the report's path ("" without --report).
func reportWithModel(ctx context.Context, app *App, v *viper.Viper, c common, m *model.File, t *ncdio.Table, ds *dataset.Dataset, names []string, unl []bool) (string, error) {
	path := v.GetString("report")
	if path == "" {
		return "", nil
	}
	input := t.Source
	if input == "" {
		input = v.GetString("data")
	}
	mp := v.GetString("model")
	err := reportAfterRun(ctx, app, v, c, "cluster --model "+filepath.Base(mp), input, t, m.Prep, ds, names, unl,
		func() linalg.Matrix { return m.Embed(ds.X) }, nil, modelSummary(mp, m))
	return path, err
}

// reportAfterRun is fit's and cluster's --report: it explains the
// predictions just made (the unlabeled rows' classes, default settings)
// and writes the report. latent, when not nil, gives the latent of every
// row of ds for the distances and maps; extra adds summary lines.
func reportAfterRun(ctx context.Context, app *App, v *viper.Viper, c common, command, input string, t *ncdio.Table, prep *ncdio.Preprocessor,
	ds *dataset.Dataset, names []string, unl []bool, latent func() linalg.Matrix, scan *estimateResult, extra ...report.KV) error {
	ro, err := reportOptionsFrom(v, c)
	if err != nil || ro.Path == "" {
		return err
	}
	d := &explainData{Source: input, Table: t, Prep: prep, X: ds.X, Groups: names, Unl: unl, Truth: ds.Truth, ID: prep.Roles.ID}
	if latent != nil {
		d.Latent = latent()
	}
	hasTruth := false
	for _, s := range ds.Truth {
		hasTruth = hasTruth || !ncdio.IsMissingLabel(s)
	}
	if !hasTruth {
		d.Truth = nil
	}
	ex, err := explainRun(d, explainOptions{Scope: "novel", MaxConditions: 3, Holdout: 0.25, Examples: 3, Top: 5, Seed: c.Seed, Threads: c.Threads})
	if err != nil {
		return err
	}
	if err := writeReport(ctx, app, c, ro, d, ex, reportRun{Command: command, Input: input, KScan: scan, Extra: extra}); err != nil {
		return err
	}
	if !c.Quiet {
		fmt.Fprintf(app.Stderr, "report written to %s\n", ro.Path)
	}
	return nil
}

// writeReport draws the maps and writes the HTML file atomically.
func writeReport(ctx context.Context, app *App, c common, ro reportOptions, d *explainData, ex *explanation, run reportRun) error {
	t0 := time.Now()
	j := &ex.JSON
	r := &report.Report{Title: "ncd " + run.Command + ": " + filepath.Base(run.Input), Command: reportCommand(run, j), Version: versionString()}
	r.Summary = []report.KV{
		{Key: "input", Value: run.Input},
		{Key: "rows explained", Value: fmt.Sprintf("%d (%s)", j.Rows, j.Scope)},
		{Key: "classes", Value: fmt.Sprint(len(j.Clusters))},
		{Key: "features", Value: fmt.Sprintf("%d: %s", len(j.Features), abbreviate(j.Features, 12))},
		{Key: "rules", Value: fmt.Sprintf("at most %v conditions; measured on %.0f%% of each class's rows held out (seed %d)", j.Settings["max_conditions"], 100*j.Settings["holdout"].(float64), c.Seed)},
		{Key: "distances and maps in", Value: j.Space},
	}
	r.Summary = append(r.Summary, run.Extra...)
	if m := j.Metrics; m != nil {
		r.Metrics = &report.Metrics{Truth: m.Truth, Rows: m.Rows, ACC: m.ACC, NMI: m.NMI, ARI: m.ARI}
	}
	if k := run.KScan; k != nil && len(k.Ks) > 0 {
		ks := &report.KScan{Index: k.Index, Ks: k.Ks, Scores: k.Scores[k.Index], Chosen: k.K, Note: k.Note}
		if ks.Scores == nil && (k.Index == estimate.IndexStable || k.Index == estimate.IndexAll) && k.Scores[estimate.IndexSilhouette] != nil {
			// The stable rule (which the default, sizes, runs) and the vote record no score
			// of their own: draw the silhouette scan they start from.
			ks.Index, ks.Scores = estimate.IndexSilhouette, k.Scores[estimate.IndexSilhouette]
			rule := "k-rule stable: the silhouette's k, lowered where prediction strength finds it unstable"
			if k.ClassSizes != nil {
				// The sizes rule ran this scan; the line before says which k was taken.
				rule = "The curve is the scan of k-rule stable, which the sizes rule runs: the silhouette's k, lowered where prediction strength finds it unstable"
			}
			if k.Index == estimate.IndexAll {
				rule = "index all: the vote of silhouette, CH, DB and elbow"
			}
			ks.Note = strings.TrimSpace(rule + ". " + k.Note)
		}
		if k.ClassSizes != nil {
			ks.Note = strings.TrimSpace(k.ClassSizes.Summary() + ". " + ks.Note)
		}
		if ks.Scores == nil {
			ks.Scores = make([]float64, len(k.Ks))
			for i := range ks.Scores {
				ks.Scores[i] = math.NaN()
			}
		}
		r.KScan = ks
	}
	index := map[string]int{}
	for i, cl := range j.Clusters {
		index[cl.Cluster] = i
		g := report.Group{Name: cl.Cluster, Kind: cl.Kind, Rows: cl.Rows, Share: cl.Share, Rule: cl.Rule, RuleSQL: cl.RuleSQL,
			P: cl.Precision, R: cl.Recall, F1: cl.F1, Warning: cl.Warning, Nearest: cl.Nearest, NearestKnown: cl.NearestKnown}
		g.MeasuredOn = fmt.Sprintf("held-out rows: %d", cl.HeldOutRows)
		if cl.MeasuredOn == "train" {
			g.MeasuredOn = fmt.Sprintf("training rows: %d; the class is too small to hold rows out", cl.Train.Rows)
		}
		for _, x := range cl.Contrasts {
			rc := report.Contrast{Feature: x.name(), KS: x.KS, MeanIn: x.MeanIn, MeanOut: x.MeanOut,
				Difference: x.difference, ConstantIn: x.ConstantIn, SMDUndefined: x.SMD == nil}
			if x.SMD != nil {
				rc.SMD = *x.SMD
			}
			g.Contrasts = append(g.Contrasts, rc)
		}
		g.Columns = exampleColumns(j.Features, cl.Contrasts, 10)
		for _, e := range cl.Examples {
			ex := report.Example{Row: e.Row, ID: e.ID, Role: e.Role}
			for _, col := range g.Columns {
				ex.Values = append(ex.Values, e.Values[col])
			}
			g.Examples = append(g.Examples, ex)
		}
		r.Groups = append(r.Groups, g)
	}
	s := j.Surrogate
	r.Surrogate = s.Text
	r.SurrogateNote = fmt.Sprintf("One multi-class CART tree (%d leaves, depth %d) predicts the class of a row; it agrees with the classes on %.1f%% of %s, against %.1f%% for always answering the largest class.",
		s.Leaves, s.Depth, 100*s.Accuracy, s.agreesOn(), 100*s.Baseline)
	r.Notes = []string{
		"Rules, precision, recall and F1 describe the classes found, not the truth: they say how faithfully a short rule reproduces the clustering.",
		"Thresholds are in the file's own units; the pandas form pastes into DataFrame.query, the SQL form into a WHERE clause.",
		"On a t-SNE map, distances between classes and the size of a class's area carry little meaning; neighbourhoods do.",
	}
	if j.Scope == "unlabeled rows" {
		r.Notes = append(r.Notes, "Rules describe a class among the unlabeled rows: to select it in the whole file, prefix \"unlabeled and\" (pandas) or \"unlabeled AND\" (SQL).")
	}

	// Maps on a seeded sample stratified by class.
	y := make([]int, len(ex.Rows))
	for i, row := range ex.Rows {
		y[i] = index[d.Groups[row]]
	}
	sample := stratifiedSample(y, len(j.Clusters), ro.MapRows, c.Seed)
	Z := ex.Space.Select(sample)
	gs := make([]int, len(sample))
	for i, s := range sample {
		gs[i] = y[s]
	}
	pca, share := report.PCA(Z)
	drawn := fmt.Sprintf("%d rows", len(sample))
	if len(sample) < len(ex.Rows) {
		drawn = fmt.Sprintf("a sample of %d of the %d rows, stratified by class (seed %d)", len(sample), len(ex.Rows), c.Seed)
	}
	r.Maps = append(r.Maps, report.Map{Title: "PCA map (" + j.Space + ")", Method: "PCA",
		Note:   fmt.Sprintf("First two principal components of the %s (%.0f%% and %.0f%% of the variance); %s.", j.Space, 100*share[0], 100*share[1], drawn),
		Points: pca, Group: gs})
	if ro.Map == "tsne" {
		bar := app.newProgress(c, 1, "t-SNE map")
		o := report.TSNEOptions{Threads: c.Threads, Progress: func(done, total int) {
			bar.setTotal(total)
			bar.Set(done)
		}}
		ts, err := report.TSNE(ctx, Z, o)
		bar.Finish()
		if err != nil {
			return err
		}
		r.Maps = append(r.Maps, report.Map{Title: "t-SNE map (" + j.Space + ")", Method: "t-SNE",
			Note:   fmt.Sprintf("Barnes-Hut t-SNE (perplexity 30, 750 iterations, PCA start) of the %s; %s.", j.Space, drawn),
			Points: ts, Group: gs})
	}
	err := atomicfile.Write(ro.Path, false, func(w io.Writer) error { return r.Write(w) })
	j.Seconds["report"] = time.Since(t0).Seconds()
	return err
}

func reportCommand(run reportRun, j *explainJSON) string {
	return fmt.Sprintf("ncd %s on %s: %d classes, %d rows explained", run.Command, filepath.Base(run.Input), len(j.Clusters), j.Rows)
}

// exampleColumns are the columns of a class's example table: its top
// contrast features, then the others in file order, at most n.
func exampleColumns(names []string, cs []contrastJSON, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cs {
		if !seen[c.Feature] && len(out) < n {
			seen[c.Feature] = true
			out = append(out, c.Feature)
		}
	}
	for _, name := range names {
		if !seen[name] && len(out) < n {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

func abbreviate(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(s)-n)
}

// stratifiedSample returns at most m of the indices 0..len(y)-1, sorted:
// each class keeps its share (at least one row), drawn by a shuffle seeded
// with seed and the class.
func stratifiedSample(y []int, k, m int, seed uint64) []int {
	n := len(y)
	if n <= m {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	by := make([][]int, k)
	for i, g := range y {
		by[g] = append(by[g], i)
	}
	var out []int
	for g, idx := range by {
		take := max(1, int(math.Round(float64(m)*float64(len(idx))/float64(n))))
		take = min(take, len(idx))
		rng := rand.New(rand.NewPCG(seed, 0x6d6170+uint64(g))) // "map"
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		out = append(out, idx[:take]...)
	}
	sort.Ints(out)
	return out
}

// readScan reads the k scan from the --json output of fit, cluster (its
// "estimate" object) or estimate-k (the object itself).
func readScan(path string) (*estimateResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &usererr.Error{File: path, Msg: "cannot read the run's JSON", Err: err}
	}
	type scan struct {
		K      int                   `json:"k"`
		Index  string                `json:"index"`
		Ks     []int                 `json:"ks"`
		Scores map[string][]*float64 `json:"scores"`
		Note   string                `json:"note"`
	}
	var raw struct {
		scan
		Estimate *scan `json:"estimate"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &usererr.Error{File: path, Msg: "not the --json output of ncd fit, cluster or estimate-k", Err: err}
	}
	sc := raw.Estimate
	if sc == nil {
		sc = &raw.scan
	}
	if len(sc.Ks) == 0 || sc.Index == "" {
		return nil, &usererr.Error{File: path, Msg: "no k scan in this JSON (the run was given --k, or it is not ncd's --json output)"}
	}
	out := &estimateResult{K: sc.K, Index: sc.Index, Ks: sc.Ks, Note: sc.Note, Scores: map[string]jsonFloats{}}
	for name, v := range sc.Scores {
		f := make(jsonFloats, len(v))
		for i, x := range v {
			f[i] = math.NaN()
			if x != nil {
				f[i] = *x
			}
		}
		if len(f) != len(sc.Ks) {
			return nil, &usererr.Error{File: path, Msg: fmt.Sprintf("scores %q has %d values for %d values of k", name, len(f), len(sc.Ks))}
		}
		out.Scores[name] = f
	}
	return out, nil
}
