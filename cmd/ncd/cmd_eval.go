package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

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
	Rows      string // "unlabeled", "all" or "" (= unlabeled when the file has that column)
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
	UnmatchedClusters []string           `json:"unmatched_clusters"`
	UnmatchedClasses  []string           `json:"unmatched_classes"`
	Failures          []string           `json:"failures"`
	Passed            bool               `json:"passed"`
	Thresholds        map[string]float64 `json:"thresholds,omitempty"`
}

func newEvalCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval --data PRED.csv [--truth COL] [--pred COL]",
		Short: "Score predictions against true labels (ACC, NMI, ARI); thresholds for CI",
		Long: `Score a clustering against the true labels.

ACC is the accuracy under the best one-to-one matching of clusters to classes
(Hungarian algorithm; unmatched rows count as errors, so it works when the
number of clusters differs from the number of classes). NMI uses the
arithmetic-mean normalization and ARI is the adjusted Rand index, both as
scikit-learn computes them.

When the file has an 'unlabeled' column (as 'ncd fit' and 'ncd cluster'
write), only those rows are scored unless --rows all is given. Rows with an
empty true label cannot be scored and are skipped (their count is reported).

Exit code 3 when a --fail-under threshold is not met, or when a metric falls
more than --max-drop below a --baseline file written by 'ncd eval --json'.`,
		Example: `  # score the novel rows of a fit's predictions
  ncd eval --data pred.csv --truth class --pred cluster

  # fail a CI job if accuracy drops under 0.8 or NMI under 0.7
  ncd eval --data pred.csv --fail-under acc=0.8,nmi=0.7

  # fail if any metric fell by more than 0.02 against a stored run
  ncd eval --data pred.csv --json > run.json
  ncd eval --data pred.csv --baseline run.json --max-drop 0.02`,
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
	addListFlag(cmd, "fail-under", "exit 3 unless every metric reaches its threshold, e.g. acc=0.7,nmi=0.5,ari=0.4")
	f.String("baseline", "", "a previous 'ncd eval --json' output; exit 3 if a metric dropped more than --max-drop")
	f.Float64("max-drop", 0.02, "largest allowed drop of any metric against --baseline")
	return cmd
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
		if !ok || (name != "acc" && name != "nmi" && name != "ari") {
			return nil, usererr.New("--fail-under: %q is not metric=value with metric acc, nmi or ari", part)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || x < -1 || x > 1 {
			return nil, usererr.New("--fail-under: %q: the threshold must be a number in [-1, 1]", part)
		}
		out[name] = x
	}
	return out, nil
}

func runEval(app *App, o evalOptions) error {
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
	var keep []bool
	if rows == "unlabeled" {
		if unlCol == nil {
			return usererr.InFile(o.Data, 0, "unlabeled", "--rows unlabeled needs an 'unlabeled' column (as written by ncd fit/cluster)")
		}
		if keep, err = parseBools(o.Data, unlCol); err != nil {
			return err
		}
	}
	truthAll, predAll := truthCol.Strings(), predCol.Strings()
	var truth, pred []string
	missing := 0
	for i := range truthAll {
		if keep != nil && !keep[i] {
			continue
		}
		if ncdio.IsMissingLabel(truthAll[i]) {
			missing++
			continue
		}
		truth = append(truth, truthAll[i])
		pred = append(pred, predAll[i])
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
	res.UnmatchedClusters, res.UnmatchedClasses = unmatched(truth, pred, res.Mapping)
	got := map[string]float64{"acc": res.ACC, "nmi": res.NMI, "ari": res.ARI}
	for _, name := range []string{"acc", "nmi", "ari"} {
		if th, ok := o.FailUnder[name]; ok && got[name] < th {
			res.Failures = append(res.Failures, fmt.Sprintf("%s %.4f is under the threshold %.4f", name, got[name], th))
		}
	}
	if baseline != nil {
		prev := map[string]float64{"acc": baseline.ACC, "nmi": baseline.NMI, "ari": baseline.ARI}
		for _, name := range []string{"acc", "nmi", "ari"} {
			if drop := prev[name] - got[name]; drop > o.MaxDrop {
				res.Failures = append(res.Failures, fmt.Sprintf("%s dropped by %.4f (%.4f -> %.4f), more than --max-drop %.4f", name, drop, prev[name], got[name], o.MaxDrop))
			}
		}
	}
	res.Passed = len(res.Failures) == 0
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
	if !res.Passed {
		return &exitError{code: exitThreshold, msg: strings.Join(res.Failures, "; ")}
	}
	return nil
}

func printEval(w io.Writer, r evalResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "ACC\tNMI\tARI\trows\tclasses\tclusters\t\n")
	fmt.Fprintf(tw, "%.4f\t%.4f\t%.4f\t%d\t%d\t%d\t\n", r.ACC, r.NMI, r.ARI, r.Rows, r.TrueClasses, r.PredClusters)
	tw.Flush()
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
