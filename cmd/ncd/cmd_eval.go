package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/metrics"
	"github.com/ncd-project/ncd/internal/usererr"
)

func init() { commands = append(commands, newEvalCmd) }

// evalOptions are eval's parsed flags.
type evalOptions struct {
	common
	Data      string
	Delimiter byte
	Truth     string
	Pred      string
	Rows      string   // "unlabeled", "all" or "" (= unlabeled when the file has that column)
	Known     []string // --known: the old classes (default: the labels of rows with unlabeled = false)
	FailUnder map[string]float64
	Baseline  string
	MaxDrop   float64
}

// evalResult is eval's --json object.
type evalResult struct {
	File             string            `json:"file"`
	RowsScored       string            `json:"rows_scored"`
	ACC              float64           `json:"acc"`
	NMI              float64           `json:"nmi"`
	ARI              float64           `json:"ari"`
	Rows             int               `json:"rows"`
	RowsWithoutTruth int               `json:"rows_without_truth"`
	TrueClasses      int               `json:"true_classes"`
	PredClusters     int               `json:"pred_clusters"`
	Mapping          map[string]string `json:"mapping"`
	// UnmatchedClusters (more clusters than classes: their rows count as
	// errors) and UnmatchedClasses (more classes than clusters), in
	// natural order.
	UnmatchedClusters []string `json:"unmatched_clusters"`
	UnmatchedClasses  []string `json:"unmatched_classes"`
	// The GCD keys, present only when some scored row is an unlabeled row
	// of an old (known) class; a pure NCD file has none of them, so its
	// output is what it was before GCD. ACCNew is absent too when no
	// scored row is of a new class. Pointers, so that an absent key is
	// absent (not 0) in --json and in a --baseline read back.
	OldClasses  []string `json:"old_classes,omitempty"`
	ACCOld      *float64 `json:"acc_old,omitempty"`
	ACCNew      *float64 `json:"acc_new,omitempty"`
	ACCOldNamed *float64 `json:"acc_old_named,omitempty"`
	RowsOld     *int     `json:"rows_old,omitempty"`
	RowsNew     *int     `json:"rows_new,omitempty"`
	KNew        *int     `json:"k_new,omitempty"`
	KNewTrue    *int     `json:"k_new_true,omitempty"`

	Failures   []string           `json:"failures"`
	Passed     bool               `json:"passed"`
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	Wall       float64            `json:"wall_seconds"` // the whole run, as every command's
}

func newEvalCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval --data PRED.csv [--truth COL] [--pred COL]",
		Short: "Score predictions against true labels (ACC, NMI, ARI, GCD's old/new split); thresholds for CI",
		Long: `Score a clustering against the true labels.

ACC is the accuracy under the best one-to-one matching of clusters to classes
(Hungarian algorithm; unmatched rows count as errors, so it works when the
number of clusters differs from the number of classes). NMI uses the
arithmetic-mean normalization and ARI is the adjusted Rand index, both as
scikit-learn computes them.

When the file has an 'unlabeled' column (as 'ncd fit' and 'ncd cluster'
write), only those rows are scored unless --rows all is given. Rows with an
empty true label cannot be scored and are skipped (their count is reported).

Unlabeled rows that mix known and new classes (generalized category
discovery, GCD; e.g. after 'fit --unlabel-known'): the old classes are the
labels of the rows with unlabeled = false, or --known. When some scored
unlabeled row is of an old class, eval adds GCD's "v2" scores: one matching
over all scored rows (acc, as above), its hits split into acc_old (rows of
old classes) and acc_new (rows of new classes); acc_old_named, the share of
old rows predicted exactly their own class name (v2 may match a cluster
named "A" to class B: acc_old_named is what the names get right); k_new,
the clusters not named as an old class, and k_new_true, the new classes
among the scored rows. A file where no unlabeled row is of an old class (the
NCD setting) gets none of these keys. Ties between equally good matchings go
to the one pairing most clusters with the class of the same name.

Exit code 3 when a --fail-under threshold is not met, or when a metric falls
more than --max-drop below a --baseline file written by 'ncd eval --json'.
Every key above works with both; k_new and k_new_true are counts
(k_new=5 asks for at least 5).`,
		Example: `  # score the novel rows of a fit's predictions
  ncd eval --data pred.csv --truth class --pred cluster

  # fail a CI job if accuracy drops under 0.8 or NMI under 0.7
  ncd eval --data pred.csv --fail-under acc=0.8,nmi=0.7

  # fail if any metric fell by more than 0.02 against a stored run
  ncd eval --data pred.csv --json > run.json
  ncd eval --data pred.csv --baseline run.json --max-drop 0.02

  # known and new classes among the unlabeled rows: require the known ones
  ncd eval --data pred.csv --fail-under acc=0.7,acc_old=0.8
  ncd eval --data pred.csv --known 1,2,4,8,9 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c, err := loadConfig(cmd, app)
			if err != nil {
				return err
			}
			opts := evalOptions{
				common:   c,
				Data:     v.GetString("data"),
				Truth:    v.GetString("truth"),
				Pred:     v.GetString("pred"),
				Rows:     v.GetString("rows"),
				Known:    getList(v, "known"),
				Baseline: v.GetString("baseline"),
				MaxDrop:  v.GetFloat64("max-drop"),
			}
			if opts.FailUnder, err = parseThresholds(strings.Join(getList(v, "fail-under"), ",")); err != nil {
				return err
			}
			if opts.Delimiter, err = ncdio.ParseDelimiter(v.GetString("delimiter")); err != nil {
				return err
			}
			return runEval(app, opts)
		},
	}
	f := cmd.Flags()
	f.String("data", "", "predictions file (.csv, .tsv, .csv.gz, .parquet, - for stdin)")
	addDelimiterFlag(cmd)
	f.String("truth", "class", "column with the true labels")
	f.String("pred", "cluster", "column with the predicted clusters")
	f.String("rows", "", "rows to score: unlabeled|all (default: unlabeled when the file has an 'unlabeled' column)")
	addListFlag(cmd, "known", "the old (known) classes for the GCD scores (default: the labels of rows with unlabeled = false)")
	addListFlag(cmd, "fail-under", "exit 3 unless every metric reaches its threshold, e.g. acc=0.7,nmi=0.5,ari=0.4 (also acc_old, acc_new, acc_old_named, k_new, k_new_true)")
	f.String("baseline", "", "a previous 'ncd eval --json' output; exit 3 if a metric dropped more than --max-drop")
	f.Float64("max-drop", 0.02, "largest allowed drop of any metric against --baseline")
	return cmd
}

// metricNames are the keys --fail-under and --baseline know, in the order
// failures are reported.
var metricNames = []string{"acc", "nmi", "ari", "acc_old", "acc_new", "acc_old_named", "k_new", "k_new_true"}

// isCount tells the metrics that count clusters or classes from the scores.
func isCount(name string) bool { return strings.HasPrefix(name, "k_") }

// formatMetric prints a score with 4 decimals and a count as a count.
func formatMetric(name string, x float64) string {
	if isCount(name) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

// parseThresholds reads "acc=0.7,nmi=0.5".
func parseThresholds(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !slices.Contains(metricNames, name) {
			return nil, usererr.New("--fail-under: %q is not metric=value with metric %s", part, strings.Join(metricNames, ", "))
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		switch {
		case isCount(name) && (err != nil || x < 0 || math.IsInf(x, 0)):
			return nil, usererr.New("--fail-under: %q: %s is a count, the threshold must be a number >= 0", part, name)
		case !isCount(name) && (err != nil || x < -1 || x > 1):
			return nil, usererr.New("--fail-under: %q: the threshold must be a number in [-1, 1]", part)
		}
		out[name] = x
	}
	return out, nil
}

// values returns the metrics the result has, by key (the GCD keys only when
// computed).
func (r *evalResult) values() map[string]float64 {
	out := map[string]float64{"acc": r.ACC, "nmi": r.NMI, "ari": r.ARI}
	for name, p := range map[string]*float64{"acc_old": r.ACCOld, "acc_new": r.ACCNew, "acc_old_named": r.ACCOldNamed} {
		if p != nil {
			out[name] = *p
		}
	}
	for name, p := range map[string]*int{"k_new": r.KNew, "k_new_true": r.KNewTrue} {
		if p != nil {
			out[name] = float64(*p)
		}
	}
	return out
}

// whyAbsent says why a metric the result lacks was not computed.
func (r *evalResult) whyAbsent(name string) string {
	if name == "acc_new" && r.ACCOld != nil {
		return "no scored row is of a new class"
	}
	return "no scored unlabeled row is of an old class (old classes: the labels of rows with unlabeled = false, or --known), so the file is scored as pure novel class discovery"
}

func runEval(app *App, o evalOptions) error {
	t0 := time.Now()
	if o.Data == "" {
		return usererr.New("--data is required (the predictions file to score)")
	}
	if o.Rows != "" && o.Rows != "unlabeled" && o.Rows != "all" {
		return usererr.New("--rows must be unlabeled or all, got %q", o.Rows)
	}
	var baseline *evalResult
	if o.Baseline != "" {
		b, err := readBaseline(o.Baseline)
		if err != nil {
			return err
		}
		baseline = b
	}
	ro := labelColumns(o.Truth, o.Pred)
	ro.Delimiter = o.Delimiter
	t, err := ncdio.ReadWith(o.Data, app.Stdin, ro)
	if err != nil {
		return err
	}
	truthCol, _ := t.Col(o.Truth)
	if truthCol == nil {
		return usererr.InFile(o.Data, 0, o.Truth, "no such column (use --truth; columns: %s)", strings.Join(t.Names(), ", "))
	}
	predCol, _ := t.Col(o.Pred)
	if predCol == nil {
		return usererr.InFile(o.Data, 0, o.Pred, "no such column (use --pred; columns: %s)", strings.Join(t.Names(), ", "))
	}
	rows := o.Rows
	unlCol, _ := t.Col("unlabeled")
	if rows == "" {
		rows = "all"
		if unlCol != nil {
			rows = "unlabeled"
		}
	}
	// unl is the 'unlabeled' column, nil without one. With --rows all a
	// column of that name that is not true/false is not ncd's: it is
	// ignored, as it was before it was needed for the old classes.
	var unl []bool
	if unlCol != nil {
		if unl, err = parseBools(o.Data, unlCol); err != nil && rows == "unlabeled" {
			return err
		}
	}
	if rows == "unlabeled" && unlCol == nil {
		return usererr.InFile(o.Data, 0, "unlabeled", "--rows unlabeled needs an 'unlabeled' column (as written by ncd fit/cluster)")
	}
	truthAll, predAll := truthCol.Strings(), predCol.Strings()
	old := oldClasses(o, truthAll, unl)
	var truth, pred []string
	missing, oldUnlabeled := 0, false
	for i := range truthAll {
		if rows == "unlabeled" && !unl[i] {
			continue
		}
		if ncdio.IsMissingLabel(truthAll[i]) {
			missing++
			continue
		}
		truth = append(truth, truthAll[i])
		pred = append(pred, predAll[i])
		if old[truthAll[i]] && (unl == nil || unl[i]) {
			oldUnlabeled = true
		}
	}
	if len(truth) == 0 {
		return noRowsToScore(o, rows, missing)
	}
	rep := metrics.Score(truth, pred)
	res := evalResult{
		File: o.Data, RowsScored: rows,
		ACC: rep.ACC, NMI: rep.NMI, ARI: rep.ARI,
		Rows: rep.Rows, RowsWithoutTruth: missing,
		TrueClasses: rep.TrueClasses, PredClusters: rep.PredClusters,
		Mapping:    metrics.Mapping(truth, pred),
		Thresholds: o.FailUnder,
		Failures:   []string{},
	}
	if oldUnlabeled {
		addGCD(&res, metrics.GCD(truth, pred, slices.Collect(maps.Keys(old))), old)
	}
	res.UnmatchedClusters, res.UnmatchedClasses = unmatched(truth, pred, res.Mapping)
	got := res.values()
	for _, name := range metricNames {
		th, ok := o.FailUnder[name]
		if !ok {
			continue
		}
		x, ok := got[name]
		if !ok {
			return usererr.InFile(o.Data, 0, "", "--fail-under %s: %s is not computed for this file: %s", name, name, res.whyAbsent(name))
		}
		if x < th {
			res.Failures = append(res.Failures, fmt.Sprintf("%s %s is under the threshold %s", name, formatMetric(name, x), formatMetric(name, th)))
		}
	}
	if baseline != nil {
		prev := baseline.values()
		for _, name := range metricNames {
			p, inBase := prev[name]
			x, inRun := got[name]
			switch {
			case !inBase:
			case !inRun:
				// A CI check must not pass because a score it watched
				// disappeared.
				res.Failures = append(res.Failures, fmt.Sprintf("%s is in the baseline (%s) but not computed here: %s", name, formatMetric(name, p), res.whyAbsent(name)))
			case p-x > o.MaxDrop:
				res.Failures = append(res.Failures, fmt.Sprintf("%s dropped by %s (%s -> %s), more than --max-drop %.4f", name, formatMetric(name, p-x), formatMetric(name, p), formatMetric(name, x), o.MaxDrop))
			}
		}
	}
	res.Passed = len(res.Failures) == 0
	res.Wall = time.Since(t0).Seconds()
	if o.JSON {
		if err := writeJSON(app.Stdout, res); err != nil {
			return err
		}
	} else if !o.Quiet {
		printEval(app.Stdout, res)
	}
	if missing > 0 && !o.Quiet {
		fmt.Fprintf(app.Stderr, "ncd: note: %d %s rows have no true label in %q and were not scored\n", missing, rows, o.Truth)
	}
	if !o.Quiet {
		// A --known class no row has is most likely a typo (it changes
		// nothing, so it is not an error).
		seen := map[string]bool{}
		for _, l := range truthAll {
			seen[l] = true
		}
		for _, k := range o.Known {
			if !seen[k] {
				fmt.Fprintf(app.Stderr, "ncd: note: --known class %q does not occur in the %q column\n", k, o.Truth)
			}
		}
	}
	if !res.Passed {
		return &exitError{code: exitThreshold, msg: strings.Join(res.Failures, "; ")}
	}
	return nil
}

// oldClasses is the set of old (known) classes: --known, or else the true
// labels of the rows with unlabeled = false (nil unl: none).
func oldClasses(o evalOptions, truth []string, unl []bool) map[string]bool {
	old := map[string]bool{}
	if len(o.Known) > 0 {
		for _, k := range o.Known {
			old[k] = true
		}
		return old
	}
	for i, l := range truth {
		if unl != nil && !unl[i] && !ncdio.IsMissingLabel(l) {
			old[l] = true
		}
	}
	return old
}

// addGCD puts GCD's scores into the result; its matching replaces the
// plain one (same total, but the split must be read off the matching that
// produced it).
func addGCD(res *evalResult, g metrics.GCDReport, old map[string]bool) {
	res.OldClasses = slices.SortedFunc(maps.Keys(old), naturalCompare)
	res.Mapping = g.Mapping
	res.ACCOld, res.ACCOldNamed = &g.ACCOld, &g.ACCOldNamed
	if g.NewRows > 0 {
		res.ACCNew = &g.ACCNew
	}
	res.RowsOld, res.RowsNew = &g.OldRows, &g.NewRows
	res.KNew, res.KNewTrue = &g.KNew, &g.KNewTrue
}

func printEval(w io.Writer, r evalResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "ACC\tNMI\tARI\trows\tclasses\tclusters\t\n")
	fmt.Fprintf(tw, "%.4f\t%.4f\t%.4f\t%d\t%d\t%d\t\n", r.ACC, r.NMI, r.ARI, r.Rows, r.TrueClasses, r.PredClusters)
	tw.Flush()
	if r.ACCOld != nil {
		accNew := "-"
		if r.ACCNew != nil {
			accNew = fmt.Sprintf("%.4f", *r.ACCNew)
		}
		fmt.Fprintf(w, "GCD (one matching, split by old and new classes; old: %s)\n", strings.Join(r.OldClasses, " "))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "ACC old\tACC new\told named\told rows\tnew rows\tk_new\tk_new true\t\n")
		fmt.Fprintf(tw, "%.4f\t%s\t%.4f\t%d\t%d\t%d\t%d\t\n", *r.ACCOld, accNew, *r.ACCOldNamed, *r.RowsOld, *r.RowsNew, *r.KNew, *r.KNewTrue)
		tw.Flush()
	}
	if n := len(r.Mapping) + len(r.UnmatchedClusters); n > 0 && n <= 40 {
		keys := make([]string, 0, len(r.Mapping))
		for k := range r.Mapping {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, naturalCompare)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "->" + r.Mapping[k]
		}
		fmt.Fprintf(w, "matching: %s\n", strings.Join(parts, " "))
		if len(r.UnmatchedClusters) > 0 {
			fmt.Fprintf(w, "unmatched clusters (their rows count as errors): %s\n", strings.Join(r.UnmatchedClusters, " "))
		}
		if len(r.UnmatchedClasses) > 0 {
			fmt.Fprintf(w, "classes no cluster matched: %s\n", strings.Join(r.UnmatchedClasses, " "))
		}
	}
}

// unmatched lists the predicted clusters and the true classes the matching
// left out, in natural order (the matching line used to omit clusters).
func unmatched(truth, pred []string, mapping map[string]string) (clusters, classes []string) {
	matched := map[string]bool{}
	for _, c := range mapping {
		matched[c] = true
	}
	seenP, seenT := map[string]bool{}, map[string]bool{}
	for i := range pred {
		if p := pred[i]; !seenP[p] {
			seenP[p] = true
			if _, ok := mapping[p]; !ok {
				clusters = append(clusters, p)
			}
		}
		if c := truth[i]; !seenT[c] {
			seenT[c] = true
			if !matched[c] {
				classes = append(classes, c)
			}
		}
	}
	slices.SortFunc(clusters, naturalCompare)
	slices.SortFunc(classes, naturalCompare)
	return append([]string{}, clusters...), append([]string{}, classes...)
}

// naturalCompare orders names with their digit runs compared as numbers:
// novel_2 before novel_10, class 9 before class 10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// noRowsToScore explains why nothing could be scored: how many of the rows
// eval looked at had no true label, and what to do.
func noRowsToScore(o evalOptions, rows string, missing int) error {
	switch {
	case missing == 0 && rows == "unlabeled":
		return usererr.InFile(o.Data, 0, "unlabeled", "no rows to score: no row is unlabeled (score the labeled rows with --rows all)")
	case missing == 0:
		return usererr.InFile(o.Data, 0, "", "no rows to score: the file has no rows")
	case rows == "unlabeled":
		return usererr.InFile(o.Data, 0, o.Truth, "no rows to score: none of the %d unlabeled rows has a true label (they are empty, NA, NaN or null); "+
			"eval scores discovered classes against known truth: hide classes whose labels you have with --novel in fit or cluster, or score all rows with --rows all", missing)
	default:
		return usererr.InFile(o.Data, 0, o.Truth, "no rows to score: none of the %d rows has a true label (they are empty, NA, NaN or null)", missing)
	}
}

func parseBools(file string, c *ncdio.Column) ([]bool, error) {
	vals := c.Strings()
	out := make([]bool, len(vals))
	for i, s := range vals {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes", "t":
			out[i] = true
		case "false", "0", "no", "f":
		default:
			return nil, usererr.InFile(file, i+1, c.Name, "%q is not true or false", s)
		}
	}
	return out, nil
}

func readBaseline(path string) (*evalResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &usererr.Error{File: path, Msg: "cannot read the baseline", Err: err}
	}
	var b evalResult
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, &usererr.Error{File: path, Msg: "not an 'ncd eval --json' output", Err: err}
	}
	if b.Rows == 0 {
		return nil, &usererr.Error{File: path, Msg: "not an 'ncd eval --json' output (no rows field)"}
	}
	return &b, nil
}
