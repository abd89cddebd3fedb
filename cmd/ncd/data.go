package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/ncd-project/ncd/internal/dataset"
	ncdio "github.com/ncd-project/ncd/internal/io"
	"github.com/ncd-project/ncd/internal/model"
	"github.com/ncd-project/ncd/internal/usererr"
)

// addDataFlags registers the input flags shared by fit, cluster, estimate-k and tune.
func addDataFlags(cmd *cobra.Command, withTest bool) {
	f := cmd.Flags()
	f.String("data", "", "input table (.csv, .tsv, .csv.gz, .parquet; - for CSV on stdin)")
	if withTest {
		f.String("test", "", "second table with the same columns: fit on --data, predict these rows")
	}
	f.String("target", "class", "label column; empty, NA, NaN, null = unlabeled row")
	addListFlag(cmd, "novel", "classes to treat as unlabeled (experiment mode; true labels kept)")
	f.Float64("unlabel-known", 0, "experiment mode: hide this fraction (0..1) of each known class's labels, per class, drawn with --seed, in --data and --test (true labels kept for eval)")
	f.String("id", "", "row identifier column (kept in outputs, not a feature)")
	addListFlag(cmd, "features", "feature columns (default: all but target and id)")
	addListFlag(cmd, "exclude", "columns to leave out of the features")
	f.String("impute", "", "fill missing numeric values: mean|median (default: missing values are an error)")
	addDelimiterFlag(cmd)
}

// addDelimiterFlag registers --delimiter for every command that reads CSV.
func addDelimiterFlag(cmd *cobra.Command) {
	cmd.Flags().String("delimiter", "", "CSV field separator: , ; | or tab (default: tab for .tsv, otherwise sniffed among these)")
}

// readOptions is how a command reads its tables: label-like columns kept as
// text, and the --delimiter.
func readOptions(v *viper.Viper, labels ...string) (ncdio.ReadOptions, error) {
	ro := labelColumns(labels...)
	var err error
	ro.Delimiter, err = ncdio.ParseDelimiter(v.GetString("delimiter"))
	return ro, err
}

// splitList parses "a,b , c" into [a b c]; empty input gives nil.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// inputs is the prepared data of one command run.
type inputs struct {
	DataPath, TestPath string
	Data, Test         *ncdio.Table // Test nil without --test
	Prep               *ncdio.Preprocessor
	Train, Eval        *dataset.Dataset // Eval is the test rows' dataset (Train itself without --test)
}

func rolesFrom(v *viper.Viper) ncdio.Roles {
	r := ncdio.Roles{
		Target:       v.GetString("target"),
		ID:           v.GetString("id"),
		Novel:        getList(v, "novel"),
		UnlabelKnown: v.GetFloat64("unlabel-known"),
		Features:     getList(v, "features"),
		Exclude:      getList(v, "exclude"),
		Impute:       v.GetString("impute"),
	}
	if r.UnlabelKnown != 0 {
		// The seed goes with the fraction into the preprocessing (and a
		// model file), so that every table it transforms, also rows
		// assigned later with the model, hides rows drawn the same way.
		r.UnlabelSeed = v.GetUint64("seed")
	}
	return r
}

// loadInputs reads --data (and --test), fits the preprocessing on --data and
// transforms both.
func loadInputs(app *App, v *viper.Viper) (*inputs, error) {
	in := &inputs{DataPath: v.GetString("data"), TestPath: v.GetString("test")}
	if in.DataPath == "" {
		return nil, usererr.New("--data is required")
	}
	if in.DataPath == "-" && in.TestPath == "-" {
		return nil, usererr.New("--data and --test cannot both read stdin")
	}
	roles := rolesFrom(v)
	ro, err := readOptions(v, roles.Target, roles.ID)
	if err != nil {
		return nil, err
	}
	if in.Data, err = ncdio.ReadWith(in.DataPath, app.Stdin, ro); err != nil {
		return nil, err
	}
	if in.Prep, err = ncdio.Fit(in.Data, roles); err != nil {
		return nil, err
	}
	// Transforming the fitting table repeats Fit's notes: only Fit's and
	// the --test table's are printed.
	if in.Train, err = in.Prep.Transform(in.Data); err != nil {
		return nil, err
	}
	notes := slices.Clone(in.Prep.Notes)
	in.Eval = in.Train
	if in.TestPath != "" {
		if in.Test, err = ncdio.ReadWith(in.TestPath, app.Stdin, ro); err != nil {
			return nil, err
		}
		var testNotes []string
		if in.Eval, testNotes, err = in.Prep.TransformNotes(in.Test); err != nil {
			return nil, err
		}
		notes = append(notes, testNotes...)
	}
	printNotes(app, v, notes)
	return in, nil
}

// printNotes prints what the preprocessing has to say about the data
// (columns dropped, or one-hot encoded although mostly numbers, stray cells
// imputed, ...) on stderr, one line each, unless --quiet. Every command that
// reads data to fit or transform goes through loadInputs or
// loadModelAndData, which call it once, so they all say the same things.
func printNotes(app *App, v *viper.Viper, notes []string) {
	if v.GetBool("quiet") {
		return
	}
	for _, n := range notes {
		fmt.Fprintf(app.Stderr, "ncd: note: %s\n", n)
	}
}

// loadModelAndData reads a model and transforms --data with its
// preprocessing. The model's own notes are about the data it was fitted on
// (printed by that fit); only notes about --data are printed.
func loadModelAndData(app *App, v *viper.Viper, path string) (*model.File, *ncdio.Table, *dataset.Dataset, error) {
	m, err := model.Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	data := v.GetString("data")
	if data == "" {
		return nil, nil, nil, usererr.New("--data is required (the rows to assign)")
	}
	ro, err := readOptions(v, m.Prep.Roles.Target, m.Prep.Roles.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	t, err := ncdio.ReadWith(data, app.Stdin, ro)
	if err != nil {
		return nil, nil, nil, err
	}
	ds, notes, err := m.Prep.TransformNotes(t)
	if err != nil {
		return nil, nil, nil, modelMismatch(path, err)
	}
	printNotes(app, v, notes)
	return m, t, ds, nil
}

// modelMismatch names the model file in an error of its preprocessing
// applied to other data (a missing column, text in a numeric column):
// "the preprocessing was fitted with the columns ..." becomes "the model
// m.ncd was fitted with the columns ...". Other errors are returned as
// they are.
func modelMismatch(modelPath string, err error) error {
	const fitted = "the preprocessing was fitted"
	var e *usererr.Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, fitted) {
		return err
	}
	named := *e
	named.Msg = strings.Replace(e.Msg, fitted, "the model "+modelPath+" was fitted", 1)
	return &named
}

// loadInputsTimed is loadInputs recording its time as seconds["load"].
func loadInputsTimed(app *App, v *viper.Viper, seconds map[string]float64) (*inputs, error) {
	t0 := time.Now()
	in, err := loadInputs(app, v)
	seconds["load"] = time.Since(t0).Seconds()
	return in, err
}

// outputTable is the table predictions are written for (--test or --data).
func (in *inputs) outputTable() *ncdio.Table {
	if in.Test != nil {
		return in.Test
	}
	return in.Data
}

// writePredictions writes every row of the output table with its input
// columns plus `cluster` and `unlabeled`, atomically.
func writePredictions(path string, t *ncdio.Table, cluster []string, unlabeled []bool, extra ...*gcdColumns) error {
	if path == "" {
		return nil
	}
	out := t.ShallowCopy()
	out.AppendText("cluster", cluster)
	out.AppendBool("unlabeled", unlabeled)
	for _, e := range extra {
		e.appendTo(out)
	}
	return ncdio.Write(path, out)
}

func novelName(j int) string { return "novel_" + strconv.Itoa(j) }

// labelColumns keeps label-like columns as verbatim text ("007" stays
// "007"), since they are names, not numbers.
func labelColumns(names ...string) ncdio.ReadOptions {
	var ro ncdio.ReadOptions
	for _, n := range names {
		if n != "" {
			ro.Text = append(ro.Text, n)
		}
	}
	return ro
}
