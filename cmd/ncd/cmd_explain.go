package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/explain"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newExplainCmd) }

func newExplainCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain --data PRED.csv [--scope novel|all] [--max-conditions 3] [--report R.html]",
		Short: "Describe each discovered class with a short rule, its contrasts and typical rows",
		Long: `Explain the classes in a predictions file written by 'ncd fit' or 'ncd cluster'
(its input columns plus 'cluster' and 'unlabeled').

For each group of --pred (default: the discovered classes among the
unlabeled rows; --scope all: every row, known classes too):
  rule       a conjunction of at most --max-conditions conditions on the raw
             columns, in the file's own units, learned by a one-vs-rest CART
             tree on the other rows in scope. It prints as a pandas query and
             as an SQL WHERE clause. Precision, recall and F1 are measured on
             rows held out of the rule learning (--holdout, per group,
             seeded); a group under 20 rows is not split and its numbers are
             on training rows (marked "train"). A warning says when no short
             rule reaches F1 0.7: read the contrasts then.
  differs    the features that differ most from the other rows in scope:
             standardized mean difference (SMD, in pooled SDs) and the
             Kolmogorov-Smirnov statistic (KS, 0..1), ranked by KS; a text
             column's levels count as 0/1 features (col=level).
  typical    rows nearest the group's centre in the z-scored features (in the
             model's latent space with --model), and one borderline row (the
             least margin to another group's centre). Row numbers are data
             rows of the file, 1 = first row after the header.
A multi-class surrogate tree closes the output, with its held-out agreement.

Rules are measured against the clustering, not the truth: they say what
the clusters are, not whether they are right. The rules of --scope novel
describe a group among the unlabeled rows: to select it in the whole file,
add "unlabeled and" (pandas) or "unlabeled AND" (SQL).

--report writes one self-contained HTML file (no network access, works
offline): summary, metrics when the truth column is present, class sizes,
2-D maps (PCA, and t-SNE on a seeded sample of --map-rows rows), and every
group's rule, contrasts and examples. 'ncd fit' and 'ncd cluster' take
--report too.`,
		Example: `  # what did fit discover?
  ncd fit --data train.csv --novel 3,5 --out pred.csv
  ncd explain --data pred.csv

  # known classes too, rules of at most 2 conditions, as JSON
  ncd explain --data pred.csv --scope all --max-conditions 2 --json

  # an offline HTML report, the map drawn in the model's latent space, with
  # the k scan of the fit
  ncd fit --data train.csv --novel 3,5 --model m.ncd --out pred.csv --json > fit.json
  ncd explain --data pred.csv --model m.ncd --run-json fit.json --report report.html

  # paste a rule
  python -c 'import pandas as pd; print(len(pd.read_csv("pred.csv").query("unlabeled and petal_width <= 1.65")))'`,
		Args: cobra.NoArgs,
		RunE: runE(app, func(ctx context.Context, cmd *cobra.Command, v *viper.Viper, c common) error {
			if err := checkReportFlags(cmd, v); err != nil {
				return err
			}
			return runExplain(ctx, app, v, c)
		}),
	}
	f := cmd.Flags()
	f.String("data", "", "predictions file (.csv, .tsv, .csv.gz, .parquet; - for CSV on stdin) written by fit or cluster")
	f.String("target", "class", "true label column (not a feature; scores the clusters in the report when present)")
	f.String("id", "", "row identifier column (shown with the examples, not a feature)")
	f.String("pred", "cluster", "column with the groups to explain")
	addListFlag(cmd, "features", "feature columns (default: all but target, id, --pred and ncd's own output columns)")
	addListFlag(cmd, "exclude", "columns to leave out of the features")
	f.String("impute", "", "numeric features with missing values: mean|median (used for distances and maps; rules treat missing values as missing)")
	addDelimiterFlag(cmd)
	f.String("scope", "novel", "novel: the unlabeled rows and their groups; all: every row and group")
	f.Int("max-conditions", 3, "most conditions per rule (depth of the one-vs-rest trees)")
	f.Float64("holdout", 0.25, "share of each group's rows held out of rule learning to measure the rules, in [0, 0.9]")
	f.Int("examples", 3, "typical rows shown per group (plus one borderline row)")
	f.Int("top", 5, "features listed per group in its contrasts")
	f.String("model", "", "model file from 'ncd fit --model': measure distances and draw the map in its latent space")
	f.String("run-json", "", "the --json output of the fit or cluster run (or of estimate-k): the report shows its k scan")
	addReportFlags(cmd)
	return cmd
}

// explainData is what explain works on, from a predictions file or from a
// fit or cluster run in memory.
type explainData struct {
	Source string
	Table  *ncdio.Table        // the rows with their raw columns
	Prep   *ncdio.Preprocessor // which columns are features, and their kinds
	X      linalg.Matrix       // the z-scored features of every row
	Latent linalg.Matrix       // a model's latent of every row (Rows 0: none)
	Groups []string            // group per row
	Unl    []bool              // unlabeled per row (nil: unknown)
	Truth  []string            // true label per row (nil: none; "" missing)
	ID     string
}

type explainOptions struct {
	Scope         string
	MaxConditions int
	Holdout       float64
	Examples, Top int
	Seed          uint64
	Threads       int
	Progress      func(done, total int)
}

func explainOptionsFrom(v *viper.Viper, c common) (explainOptions, error) {
	o := explainOptions{Scope: v.GetString("scope"), MaxConditions: v.GetInt("max-conditions"),
		Holdout: v.GetFloat64("holdout"), Examples: v.GetInt("examples"), Top: v.GetInt("top"),
		Seed: c.Seed, Threads: c.Threads}
	if o.Scope == "" {
		o.Scope = "novel"
	}
	switch {
	case o.Scope != "novel" && o.Scope != "all":
		return o, usererr.New("--scope must be novel or all, got %q", o.Scope)
	case o.MaxConditions < 1 || o.MaxConditions > 10:
		return o, usererr.New("--max-conditions must be between 1 and 10, got %d", o.MaxConditions)
	case !(o.Holdout >= 0 && o.Holdout <= 0.9):
		return o, usererr.New("--holdout must be in [0, 0.9], got %v", o.Holdout)
	case o.Examples < 0 || o.Examples > 100:
		return o, usererr.New("--examples must be between 0 and 100, got %d", o.Examples)
	case o.Top < 0 || o.Top > 1000:
		return o, usererr.New("--top must be between 0 and 1000, got %d", o.Top)
	}
	return o, nil
}

// explainJSON is explain's --json object.
type explainJSON struct {
	Input     string             `json:"input"`
	Scope     string             `json:"scope"`
	Rows      int                `json:"rows"`
	Space     string             `json:"space"`
	Features  []string           `json:"features"`
	Settings  map[string]any     `json:"settings"`
	Metrics   *metricsJSON       `json:"metrics,omitempty"`
	Clusters  []clusterExplained `json:"clusters"`
	Surrogate surrogateJSON      `json:"surrogate"`
	Warnings  []string           `json:"warnings"`
	Report    string             `json:"report,omitempty"` // --report's HTML file
	Seconds   map[string]float64 `json:"seconds"`
	Wall      float64            `json:"wall_seconds"` // the whole run, as every command's
}

type metricsJSON struct {
	Truth string  `json:"truth"`
	Rows  int     `json:"rows"`
	ACC   float64 `json:"acc"`
	NMI   float64 `json:"nmi"`
	ARI   float64 `json:"ari"`
}

type clusterExplained struct {
	Cluster     string          `json:"cluster"`
	Kind        string          `json:"kind"` // novel or known
	Rows        int             `json:"rows"`
	Share       float64         `json:"share"`
	Rule        string          `json:"rule"` // pandas query
	RuleSQL     string          `json:"rule_sql"`
	Conditions  []conditionJSON `json:"conditions"`
	Precision   float64         `json:"precision"`
	Recall      float64         `json:"recall"`
	F1          float64         `json:"f1"`
	MeasuredOn  string          `json:"measured_on"` // holdout or train
	HeldOutRows int             `json:"heldout_rows"`
	Train       ruleMetrics     `json:"train"`
	Warning     string          `json:"warning,omitempty"`
	Contrasts   []contrastJSON  `json:"contrasts"`
	Examples    []exampleJSON   `json:"examples"`
	Nearest     string          `json:"nearest,omitempty"`
	// NearestKnown is the known class (labeled rows outside the scope)
	// whose centre is closest to this group's, in the distance space.
	NearestKnown string `json:"nearest_known,omitempty"`
}

type ruleMetrics struct {
	Rows      int     `json:"rows"`
	Support   int     `json:"support"`
	Covered   int     `json:"covered"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

type conditionJSON struct {
	Feature string `json:"feature"`
	Op      string `json:"op"` // >, <=, in
	Value   any    `json:"value"`
	// MissingMatches: a missing value satisfies the condition.
	MissingMatches bool `json:"missing_matches,omitempty"`
}

type contrastJSON struct {
	Feature string `json:"feature"`
	Level   string `json:"level,omitempty"`
	// SMD is null when both sides are constant at different values (no
	// spread to measure the difference in: the separation is complete).
	SMD     *float64 `json:"smd"`
	KS      float64  `json:"ks"`
	MeanIn  float64  `json:"mean_in"`
	MeanOut float64  `json:"mean_out"`
	// ConstantIn: every row of the group has the value mean_in;
	// ConstantOut: every other row has mean_out.
	ConstantIn  bool `json:"constant_in"`
	ConstantOut bool `json:"constant_out"`
	// difference is the printed wording (explain.Contrast.Difference).
	difference string
}

// newContrastJSON is a contrast as explain's JSON and text print it.
func newContrastJSON(c explain.Contrast) contrastJSON {
	x := contrastJSON{Feature: c.Feature, Level: c.Level, KS: round6(c.KS), MeanIn: round6(c.MeanIn), MeanOut: round6(c.MeanOut),
		ConstantIn: c.ConstantIn, ConstantOut: c.ConstantOut, difference: c.Difference()}
	if c.SMDDefined() {
		smd := round6(c.SMD)
		x.SMD = &smd
	}
	return x
}

// name is the feature, or feature=level.
func (x contrastJSON) name() string {
	if x.Level != "" {
		return x.Feature + "=" + x.Level
	}
	return x.Feature
}

type exampleJSON struct {
	Row      int               `json:"row"` // data row of the file, 1-based
	ID       string            `json:"id,omitempty"`
	Role     string            `json:"role"`
	Distance float64           `json:"distance"`
	Margin   *float64          `json:"margin,omitempty"` // none when the group is the only one
	Values   map[string]string `json:"values"`
}

type surrogateJSON struct {
	Leaves   int     `json:"leaves"`
	Depth    int     `json:"depth"`
	Accuracy float64 `json:"accuracy"`
	Baseline float64 `json:"baseline"`
	// MeasuredOn is "holdout" or "train" (nothing held out: --holdout 0, or
	// every group under 20 rows), like a rule's.
	MeasuredOn  string `json:"measured_on"`
	HeldOutRows int    `json:"heldout_rows"`
	Text        string `json:"text"`
}

// agreesOn says which rows the surrogate's agreement was measured on.
func (s surrogateJSON) agreesOn() string {
	if s.MeasuredOn == "train" {
		return "training rows (none held out)"
	}
	return "held-out rows"
}

// explanation is one explain run's result: the JSON and what the report
// needs on top of it.
type explanation struct {
	JSON  explainJSON
	Rows  []int         // file rows in scope, increasing
	Space linalg.Matrix // the distance space of the rows in scope
	Names []string      // feature columns
}

func runExplain(ctx context.Context, app *App, v *viper.Viper, c common) error {
	o, err := explainOptionsFrom(v, c)
	if err != nil {
		return err
	}
	ro, err := reportOptionsFrom(v, c)
	if err != nil {
		return err
	}
	run := reportRun{Command: "explain"}
	if rj := v.GetString("run-json"); rj != "" {
		if run.KScan, err = readScan(rj); err != nil {
			return err
		}
	}
	d, err := loadExplainData(app, v)
	if err != nil {
		return err
	}
	run.Input = d.Source
	if mp := v.GetString("model"); mp != "" {
		m, err := loadModelFile(mp)
		if err != nil {
			return err
		}
		run.Extra = append(run.Extra, modelSummary(mp, m))
		ds, err := m.Prep.Transform(d.Table)
		if err != nil {
			return modelMismatch(mp, err)
		}
		d.Latent = m.Embed(ds.X)
	}
	bar := app.newProgress(c, 1, "rules")
	o.Progress = func(done, total int) {
		bar.setTotal(total)
		bar.Set(done)
	}
	ex, err := explainRun(d, o)
	bar.Finish()
	if err != nil {
		return err
	}
	if ro.Path != "" {
		if err := writeReport(ctx, app, c, ro, d, ex, run); err != nil {
			return err
		}
	}
	ex.JSON.Report = ro.Path
	ex.JSON.Seconds["total"] = time.Since(c.Start).Seconds()
	ex.JSON.Wall = ex.JSON.Seconds["total"]
	if c.JSON {
		enc := json.NewEncoder(app.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // rules hold < and >
		return enc.Encode(ex.JSON)
	}
	printExplanation(app.Stdout, &ex.JSON)
	if !c.Quiet {
		for _, w := range ex.JSON.Warnings {
			fmt.Fprintf(app.Stderr, "ncd: warning: %s\n", w)
		}
		if ro.Path != "" {
			fmt.Fprintf(app.Stderr, "report written to %s\n", ro.Path)
		}
	}
	return nil
}

// loadExplainData reads --data as a predictions file.
func loadExplainData(app *App, v *viper.Viper) (*explainData, error) {
	path := v.GetString("data")
	if path == "" {
		return nil, usererr.New("--data is required (a predictions file written by 'ncd fit' or 'ncd cluster')")
	}
	target, id, pred := v.GetString("target"), v.GetString("id"), v.GetString("pred")
	if pred == "" {
		return nil, usererr.New("--pred must name the column with the groups")
	}
	ro, err := readOptions(v, target, id, pred)
	if err != nil {
		return nil, err
	}
	t, err := ncdio.ReadWith(path, app.Stdin, ro)
	if err != nil {
		return nil, err
	}
	src := t.Source
	if src == "" {
		src = path
	}
	pc, _ := t.Col(pred)
	if pc == nil {
		return nil, usererr.InFile(src, 0, pred, "no such column (the groups to explain; name it with --pred; columns: %s)", strings.Join(t.Names(), ", "))
	}
	groups := pc.Strings()
	for i, g := range groups {
		if pc.IsNull(i) || strings.TrimSpace(g) == "" {
			return nil, usererr.InFile(src, i+1, pred, "missing group name")
		}
	}
	roles := rolesFrom(v)
	roles.Novel, roles.UnlabelKnown, roles.UnlabelSeed = nil, 0, 0
	tc, _ := t.Col(target)
	if tc == nil && target != "class" {
		// The default truth column is optional; one named with --target
		// must exist (a typo would silently drop the scores).
		return nil, usererr.InFile(src, 0, target, "no such --target column (columns: %s)", strings.Join(t.Names(), ", "))
	}
	if tc == nil || target == pred {
		roles.Target = ncdio.NoTarget
	}
	if len(roles.Features) == 0 {
		// The groups and ncd's own columns are never features.
		skip := map[string]bool{}
		for _, n := range roles.Exclude {
			skip[n] = true
		}
		for _, n := range append([]string{pred}, ncdio.OwnOutputColumns(t, target)...) {
			if c, _ := t.Col(n); c != nil && !skip[n] {
				roles.Exclude = append(roles.Exclude, n)
				skip[n] = true
			}
		}
	} else {
		for _, n := range roles.Features {
			if n == pred {
				return nil, usererr.InFile(src, 0, n, "the --pred column cannot be a feature")
			}
		}
	}
	prep, err := ncdio.Fit(t, roles)
	if err != nil {
		return nil, err
	}
	ds, err := prep.Transform(t)
	if err != nil {
		return nil, err
	}
	d := &explainData{Source: src, Table: t, Prep: prep, X: ds.X, Groups: groups, ID: id}
	if roles.Target != ncdio.NoTarget {
		d.Truth = ds.Truth
	}
	if uc, _ := t.Col("unlabeled"); uc != nil && pred != "unlabeled" {
		if d.Unl, err = parseBools(src, uc); err != nil {
			if v.GetString("scope") != "all" {
				return nil, err
			}
			d.Unl = nil
		}
	}
	return d, nil
}

// explainRun selects the rows in scope, builds the raw feature table and
// runs explain.Describe.
func explainRun(d *explainData, o explainOptions) (*explanation, error) {
	t0 := time.Now()
	var rows []int
	for i := range d.Groups {
		if o.Scope == "all" || d.Unl == nil || d.Unl[i] {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, usererr.InFile(d.Source, 0, "unlabeled", "no unlabeled rows to explain (use --scope all to explain the known classes)")
	}
	X, names, err := rawTable(d, rows)
	if err != nil {
		return nil, err
	}
	space := d.X
	spaceName := "z-scored features"
	if d.Latent.Rows > 0 {
		space, spaceName = d.Latent, "model latent"
	}
	space = space.Select(rows)
	groups := make([]string, len(rows))
	for i, r := range rows {
		groups[i] = d.Groups[r]
	}
	res, err := explain.Describe(explain.Input{X: X, Groups: groups, Space: space.Data, Dims: space.Cols,
		MaxConditions: o.MaxConditions, Holdout: o.Holdout, Seed: o.Seed, Examples: o.Examples,
		Contrasts: o.Top, Threads: o.Threads, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	scope := "unlabeled rows"
	if o.Scope == "all" || d.Unl == nil {
		scope = "all rows"
	}
	out := &explanation{Rows: rows, Space: space, Names: names}
	j := &out.JSON
	*j = explainJSON{Input: d.Source, Scope: scope, Rows: len(rows), Space: spaceName, Features: names,
		Settings: map[string]any{"max_conditions": o.MaxConditions, "holdout": o.Holdout, "seed": o.Seed, "scope": o.Scope},
		Clusters: []clusterExplained{}, Warnings: []string{}, Seconds: map[string]float64{}}
	if d.Truth != nil {
		var truth, pred []string
		for _, r := range rows {
			if !ncdio.IsMissingLabel(d.Truth[r]) {
				truth = append(truth, d.Truth[r])
				pred = append(pred, d.Groups[r])
			}
		}
		if len(truth) > 0 {
			rep := metrics.Score(truth, pred)
			j.Metrics = &metricsJSON{Truth: d.Prep.Roles.Target, Rows: rep.Rows, ACC: rep.ACC, NMI: rep.NMI, ARI: rep.ARI}
		}
	}
	var idCol *ncdio.Column
	if d.ID != "" {
		idCol, _ = d.Table.Col(d.ID)
	}
	nearestKnown := nearestKnownClasses(d, rows, space.Cols, res.Groups)
	for gi, g := range res.Groups {
		ce := clusterExplained{NearestKnown: nearestKnown[gi], Cluster: g.Name, Kind: "known", Rows: g.Rows, Share: g.Share,
			Warning: g.Warning, Nearest: g.Nearest, Conditions: []conditionJSON{}, Contrasts: []contrastJSON{}, Examples: []exampleJSON{}}
		if isNovel(g.Name) {
			ce.Kind = "novel"
		}
		if g.Rule != nil {
			ce.Rule, ce.RuleSQL = g.Rule.String(explain.Pandas), g.Rule.String(explain.SQL)
			ce.Conditions = conditionsJSON(g.Rule)
			ce.Precision, ce.Recall, ce.F1 = g.Test.Precision, g.Test.Recall, g.Test.F1
			ce.MeasuredOn = "train"
			if g.HasTest {
				ce.MeasuredOn, ce.HeldOutRows = "holdout", g.Test.Rows
			}
			tr := g.Train
			ce.Train = ruleMetrics{Rows: tr.Rows, Support: tr.Support, Covered: tr.Covered, Precision: tr.Precision, Recall: tr.Recall, F1: tr.F1}
		}
		for _, c := range g.Contrasts {
			ce.Contrasts = append(ce.Contrasts, newContrastJSON(c))
		}
		for _, e := range g.Examples {
			r := rows[e.Row]
			ej := exampleJSON{Row: r + 1, Role: e.Role, Distance: round6(e.Distance), Values: map[string]string{}}
			if !math.IsInf(e.Margin, 0) && !math.IsNaN(e.Margin) {
				m := round6(e.Margin)
				ej.Margin = &m
			}
			if idCol != nil {
				ej.ID = idCol.Cell(r)
			}
			for _, n := range names {
				col, _ := d.Table.Col(n)
				ej.Values[n] = col.Cell(r)
			}
			ce.Examples = append(ce.Examples, ej)
		}
		if g.Warning != "" {
			j.Warnings = append(j.Warnings, g.Warning)
		}
		j.Clusters = append(j.Clusters, ce)
	}
	s := res.Surrogate
	j.Surrogate = surrogateJSON{Leaves: s.Leaves, Depth: s.Depth, Accuracy: s.Accuracy, Baseline: s.Baseline, Text: s.Text,
		MeasuredOn: "holdout", HeldOutRows: s.HeldOut}
	if s.HeldOut == 0 {
		j.Surrogate.MeasuredOn = "train"
	}
	j.Seconds["explain"] = time.Since(t0).Seconds()
	return out, nil
}

// round6 keeps 6 significant decimals in JSON: statistics, not exact data.
func round6(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	return math.Round(x*1e6) / 1e6
}

func isNovel(name string) bool {
	d, ok := strings.CutPrefix(name, "novel_")
	if !ok || d == "" {
		return false
	}
	return strings.Trim(d, "0123456789") == ""
}

// rawTable builds the rule learner's table from the feature columns of the
// rows in scope, in the file's own units.
func rawTable(d *explainData, rows []int) (*explain.Table, []string, error) {
	var cols []explain.Column
	var names []string
	for _, f := range d.Prep.Features {
		c, _ := d.Table.Col(f.Name)
		if c == nil {
			return nil, nil, usererr.InFile(d.Source, 0, f.Name, "feature column missing")
		}
		names = append(names, f.Name)
		if f.Kind.Numeric() && (c.Kind == ncdio.Float || c.Kind == ncdio.Int) {
			v := make([]float64, len(rows))
			for i, r := range rows {
				switch {
				case c.IsNull(r):
					v[i] = math.NaN()
				case c.Kind == ncdio.Float:
					v[i] = c.Float[r]
				default:
					v[i] = float64(c.Int[r])
				}
				if math.IsInf(v[i], 0) {
					v[i] = math.NaN()
				}
			}
			cols = append(cols, explain.NumericColumn(f.Name, v))
			continue
		}
		if f.Kind.Numeric() {
			// A text column read as numbers with stray cells (--impute):
			// its numbers, the stray cells missing.
			v := make([]float64, len(rows))
			for i, r := range rows {
				v[i] = math.NaN()
				if !c.IsNull(r) {
					if x, err := parseFloatCell(c.Cell(r)); err == nil {
						v[i] = x
					}
				}
			}
			cols = append(cols, explain.NumericColumn(f.Name, v))
			continue
		}
		s := make([]string, len(rows))
		for i, r := range rows {
			if !c.IsNull(r) {
				s[i] = c.Cell(r)
			}
		}
		cols = append(cols, explain.CategoricalColumn(f.Name, s))
	}
	X, err := explain.NewTable(cols...)
	return X, names, err
}

// parseFloatCell reads a number cell as the loader does (the whole cell,
// surrounding spaces ignored): "99kg" is not 99 but a stray cell.
func parseFloatCell(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (math.IsInf(x, 0) || math.IsNaN(x)) {
		err = fmt.Errorf("%q is not a finite number", s)
	}
	return x, err
}

// conditionsJSON lists a rule's conditions as feature/op/value triples;
// an interval gives two.
func conditionsJSON(r *explain.Rule) []conditionJSON {
	out := []conditionJSON{}
	for _, c := range r.Conditions {
		if c.Allowed != nil {
			var lv []string
			for l, ok := range c.Allowed {
				if ok {
					lv = append(lv, c.Levels[l])
				}
			}
			out = append(out, conditionJSON{Feature: c.Name, Op: "in", Value: lv, MissingMatches: c.Missing})
			continue
		}
		if !math.IsInf(c.Lower, -1) {
			out = append(out, conditionJSON{Feature: c.Name, Op: ">", Value: json.Number(c.LowerText), MissingMatches: c.Missing})
		}
		if !math.IsInf(c.Upper, 1) {
			out = append(out, conditionJSON{Feature: c.Name, Op: "<=", Value: json.Number(c.UpperText), MissingMatches: c.Missing})
		}
	}
	return out
}

// printExplanation writes the terminal form (ASCII).
func printExplanation(w io.Writer, j *explainJSON) {
	scope := j.Scope // "unlabeled rows" or "all rows"
	if scope == "all rows" {
		scope = "rows (all)"
	}
	if j.Rows == 1 {
		scope = strings.Replace(scope, "rows", "row", 1)
	}
	groups := "groups"
	if len(j.Clusters) == 1 {
		groups = "group"
	}
	fmt.Fprintf(w, "%s: %d %s, %d %s (distances in %s)\n", j.Input, j.Rows, scope, len(j.Clusters), groups, j.Space)
	if m := j.Metrics; m != nil {
		fmt.Fprintf(w, "against %s (%d rows): ACC %.3f  NMI %.3f  ARI %.3f\n", m.Truth, m.Rows, m.ACC, m.NMI, m.ARI)
	}
	for _, c := range j.Clusters {
		rows := "rows"
		if c.Rows == 1 {
			rows = "row"
		}
		fmt.Fprintf(w, "\n%s  %d %s (%.1f%%)\n", c.Cluster, c.Rows, rows, 100*c.Share)
		if c.Rule != "" {
			on := fmt.Sprintf("held-out, %d rows", c.HeldOutRows)
			if c.MeasuredOn == "train" {
				on = fmt.Sprintf("train, %d rows: too few to hold out", c.Train.Rows)
			}
			fmt.Fprintf(w, "  rule       %s\n", c.Rule)
			fmt.Fprintf(w, "             precision %.2f  recall %.2f  F1 %.2f  (%s)\n", c.Precision, c.Recall, c.F1, on)
			fmt.Fprintf(w, "  sql        %s\n", c.RuleSQL)
		}
		if len(c.Contrasts) > 0 {
			parts := make([]string, len(c.Contrasts))
			for i, x := range c.Contrasts {
				parts[i] = fmt.Sprintf("%s %s (KS %.2f)", x.name(), x.difference, x.KS)
			}
			fmt.Fprintf(w, "  differs    %s\n", strings.Join(parts, ", "))
		}
		for _, e := range c.Examples {
			fmt.Fprintf(w, "  %-10s row %d%s: %s\n", e.Role, e.Row, idSuffix(e.ID), valuesText(e.Values, j.Features, c.Contrasts))
		}
		if c.Nearest != "" {
			fmt.Fprintf(w, "  nearest    %s", c.Nearest)
			if c.NearestKnown != "" {
				fmt.Fprintf(w, "; nearest known class: %s", c.NearestKnown)
			}
			fmt.Fprintln(w)
		}
		if c.Warning != "" {
			fmt.Fprintf(w, "  warning    %s\n", c.Warning)
		}
	}
	if s := j.Surrogate; s.Leaves > 0 {
		fmt.Fprintf(w, "\nsurrogate tree: %d leaves, depth %d, agrees with the groups on %.1f%% of %s (largest group %.1f%%)\n",
			s.Leaves, s.Depth, 100*s.Accuracy, s.agreesOn(), 100*s.Baseline)
	}
}

func idSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " (" + id + ")"
}

// valuesText prints a row's values, the group's top contrast features
// first, then the other features in column order, at most 8.
func valuesText(vals map[string]string, names []string, cs []contrastJSON) string {
	seen := map[string]bool{}
	var parts []string
	for _, c := range cs {
		if !seen[c.Feature] {
			seen[c.Feature] = true
			parts = append(parts, c.Feature+"="+vals[c.Feature])
		}
	}
	for _, k := range names {
		if len(parts) >= 8 {
			parts = append(parts, "...")
			break
		}
		if !seen[k] {
			seen[k] = true
			parts = append(parts, k+"="+vals[k])
		}
	}
	return strings.Join(parts, " ")
}

// nearestKnownClasses names, for each group explained, the known class
// (the groups of the labeled rows left out of the scope) whose centre is
// nearest the group's centre in the distance space; "" for all when no
// labeled row is out of scope.
func nearestKnownClasses(d *explainData, rows []int, dims int, groups []explain.Group) []string {
	out := make([]string, len(groups))
	if d.Unl == nil || dims == 0 {
		return out
	}
	space := d.X
	if d.Latent.Rows > 0 {
		space = d.Latent
	}
	inScope := make([]bool, len(d.Groups))
	for _, r := range rows {
		inScope[r] = true
	}
	sums := map[string][]float64{}
	counts := map[string]float64{}
	var known []string
	for r, g := range d.Groups {
		if inScope[r] || d.Unl[r] {
			continue
		}
		if sums[g] == nil {
			sums[g] = make([]float64, dims)
			known = append(known, g)
		}
		for j, x := range space.Row(r) {
			sums[g][j] += x
		}
		counts[g]++
	}
	if len(known) == 0 {
		return out
	}
	sort.Slice(known, func(a, b int) bool { return explain.NaturalLess(known[a], known[b]) })
	index := map[string]int{}
	for i, g := range groups {
		index[g.Name] = i
	}
	cent := make([][]float64, len(groups))
	n := make([]float64, len(groups))
	for i := range cent {
		cent[i] = make([]float64, dims)
	}
	for _, r := range rows {
		g := index[d.Groups[r]]
		for j, x := range space.Row(r) {
			cent[g][j] += x
		}
		n[g]++
	}
	for i := range groups {
		best, bestD := "", math.Inf(1)
		for _, k := range known {
			var s float64
			for j := range cent[i] {
				t := cent[i][j]/n[i] - sums[k][j]/counts[k]
				s += t * t
			}
			if s < bestD {
				best, bestD = k, s
			}
		}
		out[i] = best
	}
	return out
}
