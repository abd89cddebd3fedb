package io

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ncd-project/ncd/internal/dataset"
	"github.com/ncd-project/ncd/internal/linalg"
	"github.com/ncd-project/ncd/internal/usererr"
)

// NoTarget as Roles.Target means the table has no label column: every row is
// unlabeled. (An absent target column is otherwise an error, so that a
// forgotten --target cannot silently turn the labels into a feature.)
const NoTarget = "-"

// DefaultMaxLevels is the Roles.MaxLevels used when it is 0.
const DefaultMaxLevels = 1000

// Roles says what each column is for.
type Roles struct {
	// Target is the label column ("" = "class"; NoTarget = none). Its cells
	// are class names as text (an Int column's 3 is "3"); empty, NA, NaN,
	// null (any case) and Parquet nulls mean "unlabeled".
	Target string `json:"target"`
	// ID is an optional row-identifier column: never a feature.
	ID string `json:"id,omitempty"`
	// Novel classes are hidden: their rows get Known = Unlabeled, Truth kept.
	Novel []string `json:"novel,omitempty"`
	// UnlabelKnown (0..1) hides that share of each known class's labeled
	// rows in every table transformed, drawn with UnlabelSeed (see
	// unlabelKnown): Known = Unlabeled, Truth kept, as Novel does for whole
	// classes. An experiment mode for rows that mix known and new classes.
	UnlabelKnown float64 `json:"unlabel_known,omitempty"`
	UnlabelSeed  uint64  `json:"unlabel_seed,omitempty"`
	// Features lists the feature columns; empty = every column except the
	// target and the id.
	Features []string `json:"features,omitempty"`
	// Exclude removes columns from the features.
	Exclude []string `json:"exclude,omitempty"`
	// Impute fills missing and non-finite numeric cells: "" (they are an
	// error), "mean" or "median" of the column's finite cells.
	Impute string `json:"impute,omitempty"`
	// MaxLevels caps the distinct values of a text feature (0 =
	// DefaultMaxLevels): more usually means a numeric column with a stray
	// word, or an identifier.
	MaxLevels int `json:"max_levels,omitempty"`
}

func (r Roles) withDefaults() Roles {
	if r.Target == "" {
		r.Target = "class"
	}
	if r.MaxLevels == 0 {
		r.MaxLevels = DefaultMaxLevels
	}
	return r
}

// Feature is one input column as fitted.
type Feature struct {
	Name string `json:"name"`
	// Kind is the column's kind in the fitting table. Float and Int columns
	// are z-scored, Text and Bool columns one-hot encoded.
	Kind Kind `json:"kind"`
	// Mean and Std z-score a numeric column: x' = (x - Mean) / Std, with the
	// population standard deviation (ddof 0, as scikit-learn's
	// StandardScaler).
	Mean float64 `json:"mean,omitempty"`
	Std  float64 `json:"std,omitempty"`
	// Fill replaces missing and non-finite cells of a numeric column when
	// Roles.Impute is set.
	Fill float64 `json:"fill,omitempty"`
	// Levels is the one-hot vocabulary of a text column, sorted. A cell not
	// in it (or a null) encodes as all zeros.
	Levels []string `json:"levels,omitempty"`
}

// Width is the number of matrix columns the feature produces.
func (f *Feature) Width() int {
	if f.Kind.Numeric() {
		return 1
	}
	return len(f.Levels)
}

// Preprocessor turns tables into datasets with statistics learned by Fit.
// All fields are exported plain data, so it saves with encoding/gob or
// encoding/json as part of a model.
type Preprocessor struct {
	Roles    Roles     `json:"roles"`
	Features []Feature `json:"features"`
	// Classes are the known classes: labels of the fitting table that are
	// not Novel, sorted (numerically when every name is a number, so that
	// "2" comes before "10"; otherwise as strings).
	Classes []string `json:"classes"`
	// Dropped lists columns left out because they are constant in the
	// fitting table (z-scoring them would divide by zero, and they carry no
	// information), or text columns with no values.
	Dropped []string `json:"dropped,omitempty"`
	// Notes are human-readable remarks for the user (dropped columns,
	// columns read as text although most cells are numbers, ...).
	Notes []string `json:"notes,omitempty"`
}

// Dims returns the number of columns of the transformed matrix.
func (p *Preprocessor) Dims() int {
	d := 0
	for i := range p.Features {
		d += p.Features[i].Width()
	}
	return d
}

// FeatureNames names the transformed matrix's columns: a numeric column by
// its name, a one-hot column as "name=level".
func (p *Preprocessor) FeatureNames() []string {
	out := make([]string, 0, p.Dims())
	for _, f := range p.Features {
		if f.Kind.Numeric() {
			out = append(out, f.Name)
			continue
		}
		for _, l := range f.Levels {
			out = append(out, f.Name+"="+l)
		}
	}
	return out
}

// Fit learns the preprocessing from every row of t (labeled, unlabeled and
// novel rows alike): the feature columns, z-score statistics, one-hot
// vocabularies, impute values and the known classes.
//
// Rules:
//   - Features are every column except the target and the id, or
//     Roles.Features (in that order), minus Roles.Exclude. Without
//     Roles.Features, the columns of an earlier run's predictions
//     (OwnOutputColumns: cluster, unlabeled, ...) are left out too, with a
//     note: cluster holds the labeled rows' true classes.
//   - Float and Int columns are z-scored. Missing or non-finite cells are an
//     error naming the row, unless Roles.Impute is set: then they take the
//     mean or median of the finite cells, and the z-score statistics are
//     computed after imputation (as a scikit-learn imputer + scaler
//     pipeline would).
//   - A Text column of numbers with a few stray cells (at least
//     strayMinShare of its non-missing cells are numbers and at most
//     strayMaxCells are not: "five" typed into a column of numbers) is an
//     error naming the first stray cell's row and value, since one-hot
//     encoding it would silently turn a numeric feature into hundreds of
//     levels. With Roles.Impute the stray cells are missing values instead:
//     the column is numeric, imputed as above, and a note lists them.
//   - Text and Bool columns are one-hot encoded over their sorted distinct
//     non-null values; a null, or at Transform a value not seen here, is a
//     block of zeros. More than Roles.MaxLevels values is an error that
//     shows the first non-numeric cell, since that is usually a stray word
//     in a numeric column.
//   - Columns constant over t (min == max after imputation; a single text
//     value and no nulls; or no values at all) carry no information and
//     would divide by a zero deviation: they are dropped and listed in
//     Dropped and Notes. (The paper drops optdigits' two constant pixels.)
//   - Target cells become class names via Column.Cell; missing ones mean
//     unlabeled. Classes are the labels not in Roles.Novel.
func Fit(t *Table, r Roles) (*Preprocessor, error) {
	r = r.withDefaults()
	if t == nil || t.Rows == 0 {
		return nil, usererr.New("no rows to fit")
	}
	src := t.Source
	switch r.Impute {
	case "", "mean", "median":
	default:
		return nil, usererr.New("--impute must be mean or median, got %q", r.Impute)
	}
	if r.MaxLevels < 0 {
		return nil, usererr.New("the maximum number of text levels must be positive, got %d", r.MaxLevels)
	}
	p := &Preprocessor{Roles: r}

	var target *Column
	if r.Target != NoTarget {
		if target, _ = t.Col(r.Target); target == nil {
			return nil, usererr.InFile(src, 0, r.Target, "no such target column (name the label column with --target, or --target %s for a file without labels; columns: %s)", NoTarget, joinNames(t.Names()))
		}
	}
	if r.ID != "" {
		if c, _ := t.Col(r.ID); c == nil {
			return nil, usererr.InFile(src, 0, r.ID, "no such --id column (columns: %s)", joinNames(t.Names()))
		}
		if r.ID == r.Target {
			return nil, usererr.InFile(src, 0, r.ID, "the --id column cannot also be the --target column")
		}
	}

	labels := labelsOf(target, t.Rows)
	present := map[string]bool{}
	for _, l := range labels {
		if l != "" {
			present[l] = true
		}
	}
	novel := map[string]bool{}
	for _, n := range r.Novel {
		if target == nil {
			return nil, usererr.New("--novel needs a target column, but --target is %s", NoTarget)
		}
		if !present[n] {
			all := make([]string, 0, len(present))
			for l := range present {
				all = append(all, l)
			}
			sortClasses(all)
			return nil, usererr.InFile(src, 0, r.Target, "--novel class %q does not occur in the target column (classes: %s)", n, joinNames(all))
		}
		novel[n] = true
	}
	if err := r.checkUnlabelKnown(target != nil); err != nil {
		return nil, err
	}
	for l := range present {
		if !novel[l] {
			p.Classes = append(p.Classes, l)
		}
	}
	sortClasses(p.Classes)
	if p.Classes == nil {
		p.Classes = []string{}
	}
	if r.UnlabelKnown > 0 {
		p.Notes = append(p.Notes, p.fitNote(src, labels))
	}

	names, own, err := r.featureColumns(t)
	if err != nil {
		return nil, err
	}
	if len(own) > 0 {
		what := "columns %s are an earlier ncd run's predictions, not data: they are left out of the features (name them in --features to use them)"
		if len(own) == 1 { // the other one is the target
			what = "column %s is an earlier ncd run's prediction, not data: it is left out of the features (name it in --features to use it)"
		}
		p.Notes = append(p.Notes, fmt.Sprintf(what, quoteList(own)))
	}
	for _, name := range names {
		c, _ := t.Col(name)
		var f *Feature
		switch stray, numeric := strayCells(c); {
		case stray != nil:
			if r.Impute == "" {
				return nil, strayError(src, c, stray, numeric, "")
			}
			// The user asked for missing numbers to be filled: a typo
			// is a missing number, not a reason to one-hot the column.
			if f, err = p.fitNumeric(src, strayToNumeric(c, stray)); err == nil && f != nil {
				p.Notes = append(p.Notes, fmt.Sprintf("column %q: %s not a number; treated as missing and filled with the %s %s (--impute %s)",
					c.Name, strayList(c, stray), r.Impute, formatFloat(f.Fill), r.Impute))
			}
		case c.Kind.Numeric():
			f, err = p.fitNumeric(src, c)
		default:
			f, err = p.fitCategorical(src, c)
		}
		if err != nil {
			return nil, err
		}
		if f != nil {
			p.Features = append(p.Features, *f)
		}
	}
	if len(p.Features) == 0 {
		msg := "no feature columns left"
		if len(p.Dropped) > 0 {
			msg += fmt.Sprintf(" (constant or empty columns dropped: %s)", joinNames(p.Dropped))
		}
		return nil, usererr.InFile(src, 0, "", "%s", msg)
	}
	return p, nil
}

// featureColumns resolves Features/Exclude against t. own lists the columns
// left out because they are ncd's own output (OwnOutputColumns); only
// without Roles.Features, which is obeyed as given.
func (r Roles) featureColumns(t *Table) (names, own []string, err error) {
	src := t.Source
	var unknown []string
	check := func(list []string) {
		for _, n := range list {
			if c, _ := t.Col(n); c == nil {
				unknown = append(unknown, n)
			}
		}
	}
	check(r.Features)
	if len(unknown) > 0 {
		return nil, nil, usererr.InFile(src, 0, "", "--features names unknown columns %s (columns: %s)", quoteList(unknown), joinNames(t.Names()))
	}
	check(r.Exclude)
	if len(unknown) > 0 {
		return nil, nil, usererr.InFile(src, 0, "", "--exclude names unknown columns %s (columns: %s)", quoteList(unknown), joinNames(t.Names()))
	}
	excluded := map[string]bool{}
	for _, n := range r.Exclude {
		excluded[n] = true
	}
	if len(r.Features) > 0 {
		seen := map[string]bool{}
		for _, n := range r.Features {
			if n == r.Target {
				return nil, nil, usererr.InFile(src, 0, n, "the target column cannot be a feature")
			}
			if n == r.ID {
				return nil, nil, usererr.InFile(src, 0, n, "the --id column cannot be a feature")
			}
			if !seen[n] && !excluded[n] {
				names = append(names, n)
			}
			seen[n] = true
		}
	} else {
		skip := map[string]bool{}
		for _, n := range OwnOutputColumns(t, r.Target) {
			skip[n] = true
		}
		for _, c := range t.Columns {
			if c.Name == r.Target || c.Name == r.ID || excluded[c.Name] {
				continue
			}
			if skip[c.Name] {
				own = append(own, c.Name)
				continue
			}
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		why := fmt.Sprintf("target %q", r.Target)
		if r.ID != "" {
			why += fmt.Sprintf(", id %q", r.ID)
		}
		if len(r.Exclude) > 0 {
			why += ", excluded " + quoteList(r.Exclude)
		}
		if len(own) > 0 {
			why += ", an earlier run's predictions " + quoteList(own)
		}
		return nil, nil, usererr.InFile(src, 0, "", "no feature columns left (columns: %s; %s)", joinNames(t.Names()), why)
	}
	return names, own, nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// fitNumeric returns nil (and records why) for a column to drop.
func (p *Preprocessor) fitNumeric(src string, c *Column) (*Feature, error) {
	f := &Feature{Name: c.Name, Kind: c.Kind}
	vals := make([]float64, 0, c.Len())
	var obs []float64
	firstMissing := -1
	for i := range c.Len() {
		v, ok := numericCell(c, i)
		if !ok {
			if firstMissing < 0 {
				firstMissing = i
			}
			if p.Roles.Impute == "" {
				return nil, missingError(src, c, i)
			}
		} else if p.Roles.Impute != "" {
			obs = append(obs, v)
		}
		vals = append(vals, v)
	}
	if p.Roles.Impute != "" {
		if len(obs) == 0 {
			p.drop(c.Name, fmt.Sprintf("column %q has no values and was left out", c.Name))
			return nil, nil
		}
		// Computed even when this table misses nothing: a later file
		// (--test, or new rows under a model) may miss values, and they
		// take the fitting data's mean or median, not 0.
		if p.Roles.Impute == "median" {
			f.Fill = median(obs)
		} else {
			f.Fill = mean(obs)
		}
	}
	if firstMissing >= 0 {
		for i, v := range vals {
			if !finite(v) {
				vals[i] = f.Fill
			}
		}
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	if lo == hi {
		p.drop(c.Name, fmt.Sprintf("column %q is constant (%s) and was left out", c.Name, formatFloat(lo)))
		return nil, nil
	}
	f.Mean = mean(vals)
	ss := 0.0
	for _, v := range vals {
		d := v - f.Mean
		ss += d * d
	}
	f.Std = math.Sqrt(ss / float64(len(vals)))
	if !finite(f.Mean) || !finite(f.Std) {
		return nil, usererr.InFile(src, 0, c.Name, "values too large to standardize (between %s and %s)", formatFloat(lo), formatFloat(hi))
	}
	if f.Std == 0 { // min < max but the deviations underflow: keep the column unscaled
		f.Std = 1
		p.Notes = append(p.Notes, fmt.Sprintf("column %q has a standard deviation too small to compute; it is centred but not scaled", c.Name))
	}
	return f, nil
}

func (p *Preprocessor) drop(name, note string) {
	p.Dropped = append(p.Dropped, name)
	p.Notes = append(p.Notes, note)
}

// numericCell returns cell i of a numeric or bool column as a float; ok is
// false for a null or non-finite cell.
func numericCell(c *Column, i int) (float64, bool) {
	if c.IsNull(i) {
		return math.NaN(), false
	}
	var v float64
	switch c.Kind {
	case Float:
		v = c.Float[i]
	case Int:
		v = float64(c.Int[i])
	case Bool:
		if c.Bool[i] {
			v = 1
		}
	}
	return v, finite(v)
}

func missingError(src string, c *Column, i int) error {
	if c.IsNull(i) {
		return usererr.InFile(src, i+1, c.Name, "missing value; use --impute mean or --impute median to fill missing numeric values")
	}
	v, _ := numericCell(c, i)
	return usererr.InFile(src, i+1, c.Name, "non-finite value %s; use --impute mean or --impute median to replace non-finite values", formatFloat(v))
}

// mean is the arithmetic mean, safe against an overflowing sum.
func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	n := float64(len(v))
	if finite(s) {
		return s / n
	}
	s = 0
	for _, x := range v {
		s += x / n
	}
	return s
}

// median is numpy's: the middle value, or the mean of the two middle values.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1]/2 + s[n/2]/2
}

func (p *Preprocessor) fitCategorical(src string, c *Column) (*Feature, error) {
	f := &Feature{Name: c.Name, Kind: c.Kind}
	cells, null := categoricalCells(c)
	set := map[string]bool{}
	nulls := 0
	for i, s := range cells {
		if null[i] {
			nulls++
			continue
		}
		set[s] = true
	}
	if len(set) > p.Roles.MaxLevels {
		msg := fmt.Sprintf("text column with %d distinct values, more than the limit of %d (one-hot encoding it would add a column per value)", len(set), p.Roles.MaxLevels)
		if row, val, numeric := firstNonNumeric(c); row > 0 {
			if numeric > 0 {
				msg += fmt.Sprintf("; it is text because row %d has %q while %d other cells are numbers: fix that cell if the column is meant to be numeric", row, val, numeric)
			} else {
				msg += fmt.Sprintf("; first value %q at row %d: if the column is an identifier, name it with --id or leave it out with --exclude", val, row)
			}
		}
		return nil, usererr.InFile(src, 0, c.Name, "%s", msg)
	}
	if len(set) == 0 || (len(set) == 1 && nulls == 0) {
		p.drop(c.Name, fmt.Sprintf("column %q has a single value and was left out", c.Name))
		if len(set) == 0 {
			p.Notes[len(p.Notes)-1] = fmt.Sprintf("column %q has no values and was left out", c.Name)
		}
		return nil, nil
	}
	for s := range set {
		f.Levels = append(f.Levels, s)
	}
	sort.Strings(f.Levels)
	if c.Kind == Text {
		if row, val, numeric := firstNonNumeric(c); row > 0 && numeric > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("column %q is one-hot encoded as text (%d levels) because row %d has %q, although %d other cells are numbers", c.Name, len(f.Levels), row, val, numeric))
		}
	}
	return f, nil
}

// A text column is numbers with stray cells when at least strayMinShare of
// its non-missing cells parse as numbers and at most strayMaxCells do not.
// Both bounds keep genuinely categorical columns out: words, codes such as
// "90-100" or "lt-80", and a number-like code column with a real category
// among its values (more than 5% of the cells, or more than 10 of them)
// stay text, and are one-hot encoded with a note.
const (
	strayMinShare = 0.95
	strayMaxCells = 10
)

// strayCells returns the 0-based rows of the non-numeric, non-missing cells
// of a Text column that is numbers with stray cells, and the number of its
// numeric cells; nil for any other column.
func strayCells(c *Column) (stray []int, numeric int) {
	if c.Kind != Text {
		return nil, 0
	}
	for i, s := range c.Text {
		if c.IsNull(i) {
			continue
		}
		if _, ok := parseFloat([]byte(trimSpace(s))); ok {
			numeric++
			continue
		}
		if len(stray) == strayMaxCells {
			return nil, 0 // too many to be typos: a text column
		}
		stray = append(stray, i)
	}
	if len(stray) == 0 || float64(numeric) < strayMinShare*float64(numeric+len(stray)) {
		return nil, 0
	}
	return stray, numeric
}

// strayToNumeric returns c as a Float column in which the stray cells (and
// the missing ones) are null.
func strayToNumeric(c *Column, stray []int) *Column {
	n := c.Len()
	out := &Column{Name: c.Name, Kind: Float, Float: make([]float64, n), Null: make([]bool, n)}
	k := 0
	for i, s := range c.Text {
		if k < len(stray) && stray[k] == i {
			k++
			out.Float[i], out.Null[i] = math.NaN(), true
			continue
		}
		if c.IsNull(i) {
			out.Float[i], out.Null[i] = math.NaN(), true
			continue
		}
		out.Float[i], _ = parseFloat([]byte(trimSpace(s)))
	}
	return out
}

// strayList names stray cells for messages: `row 9 "five" is` or
// `rows 9 "five", 12 "?" are`.
func strayList(c *Column, stray []int) string {
	parts := make([]string, len(stray))
	for k, i := range stray {
		parts[k] = fmt.Sprintf("%d %q", i+1, c.Text[i])
	}
	if len(stray) == 1 {
		return "row " + parts[0] + " is"
	}
	return "rows " + strings.Join(parts, ", ") + " are"
}

// strayError reports the stray cells of a column of numbers at the first
// one's row. context says why the column must be numeric ("" in the fitting
// data).
func strayError(src string, c *Column, stray []int, numeric int, context string) error {
	others := ""
	if len(stray) > 1 {
		parts := make([]string, 0, len(stray)-1)
		for _, i := range stray[1:] {
			parts = append(parts, fmt.Sprintf("row %d %q", i+1, c.Text[i]))
		}
		others = " (nor " + map[bool]string{true: "is ", false: "are "}[len(parts) == 1] + strings.Join(parts, ", ") + ")"
	}
	them := "it"
	if len(stray) > 1 {
		them = "them"
	}
	return usererr.InFile(src, stray[0]+1, c.Name, "%q is not a number%s, in a column of %d numbers%s; fix %s, or use --impute mean or --impute median to treat %s as missing",
		c.Text[stray[0]], others, numeric, context, them, them)
}

// categoricalCells returns the cells of any column as text plus null flags:
// text verbatim, numbers as Column.Cell formats them, bools as true/false.
func categoricalCells(c *Column) ([]string, []bool) {
	null := c.Null
	if null == nil {
		null = make([]bool, c.Len())
	}
	if c.Kind == Text {
		return c.Text, null
	}
	return c.Strings(), null
}

// firstNonNumeric finds the first non-missing cell of a text column that is
// not a number (1-based row, 0 if none) and counts its numeric cells.
func firstNonNumeric(c *Column) (row int, val string, numeric int) {
	if c.Kind != Text {
		return 0, "", 0
	}
	for i, s := range c.Text {
		if c.IsNull(i) {
			continue
		}
		if _, ok := parseFloat([]byte(trimSpace(s))); ok {
			numeric++
		} else if row == 0 {
			row, val = i+1, s
		}
	}
	return row, val, numeric
}

// labelsOf returns the target cells as class names, "" for unlabeled.
func labelsOf(target *Column, rows int) []string {
	labels := make([]string, rows)
	if target == nil {
		return labels
	}
	for i := range labels {
		if target.IsNull(i) {
			continue
		}
		s := target.Cell(i)
		if !IsMissingLabel(s) {
			labels[i] = s
		}
	}
	return labels
}

// sortClasses sorts class names numerically when all are numbers, else as
// strings.
func sortClasses(names []string) {
	vals := make(map[string]float64, len(names))
	for _, n := range names {
		v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || !finite(v) {
			sort.Strings(names)
			return
		}
		vals[n] = v
	}
	sort.Slice(names, func(a, b int) bool {
		va, vb := vals[names[a]], vals[names[b]]
		if va != vb {
			return va < vb
		}
		return names[a] < names[b]
	})
}

// maxCells caps the transformed matrix (16 GiB of float64) so that many
// wide one-hot columns give an error instead of an out-of-memory crash.
const maxCells = 1 << 31

// Transform applies the fitted preprocessing to t (the fitting table or
// another file with the same columns). Labels in Novel, and labels that are
// not known classes, give Known = dataset.Unlabeled; Truth keeps every label.
// A missing target column makes every row unlabeled (new data to assign).
func (p *Preprocessor) Transform(t *Table) (*dataset.Dataset, error) {
	ds, _, err := p.TransformNotes(t)
	return ds, err
}

// TransformNotes is Transform, also returning notes for the user about t: the
// stray cells of numeric columns it treated as missing (with Roles.Impute),
// each note naming t's source. On the fitting table these repeat Fit's notes.
func (p *Preprocessor) TransformNotes(t *Table) (*dataset.Dataset, []string, error) {
	var notes []string
	ds, err := p.transform(t, &notes)
	return ds, notes, err
}

func (p *Preprocessor) transform(t *Table, notes *[]string) (*dataset.Dataset, error) {
	if t == nil {
		return nil, usererr.New("no table to transform")
	}
	src, n, d := t.Source, t.Rows, p.Dims()
	var fitted []string
	for _, f := range p.Features {
		fitted = append(fitted, f.Name)
	}
	cols := make([]*Column, len(p.Features))
	for j, f := range p.Features {
		if cols[j], _ = t.Col(f.Name); cols[j] == nil {
			return nil, usererr.InFile(src, 0, f.Name, "column is missing; the preprocessing was fitted with the columns %s", joinNames(fitted))
		}
		if cols[j].Len() != n {
			return nil, fmt.Errorf("io: column %q has %d values for %d rows", f.Name, cols[j].Len(), n)
		}
	}
	if cells := int64(n) * int64(d); cells > maxCells {
		return nil, usererr.InFile(src, 0, "", "the encoded feature matrix would have %d rows x %d columns (%.0f GiB); leave out wide text columns with --exclude or lower their level limit", n, d, float64(cells)*8/(1<<30))
	}
	X := linalg.New(n, d)
	off := 0
	for j := range p.Features {
		f, c := &p.Features[j], cols[j]
		if f.Kind.Numeric() {
			if err := p.putNumeric(src, f, c, X, off, notes); err != nil {
				return nil, err
			}
		} else {
			idx := make(map[string]int, len(f.Levels))
			for k, l := range f.Levels {
				idx[l] = k
			}
			cells, null := categoricalCells(c)
			for i, s := range cells {
				if k, ok := idx[s]; ok && !null[i] {
					X.Data[i*d+off+k] = 1
				}
			}
		}
		off += f.Width()
	}

	ds := &dataset.Dataset{
		X:        X,
		Known:    make([]int, n),
		Classes:  slices.Clone(p.Classes),
		Features: p.FeatureNames(),
	}
	var target *Column
	if p.Roles.Target != NoTarget {
		target, _ = t.Col(p.Roles.Target)
	}
	ds.Truth = labelsOf(target, n)
	class := make(map[string]int, len(p.Classes))
	for k, c := range p.Classes {
		class[c] = k
	}
	novel := map[string]bool{}
	for _, c := range p.Roles.Novel {
		novel[c] = true
	}
	for i, l := range ds.Truth {
		ds.Known[i] = dataset.Unlabeled
		if k, ok := class[l]; ok && !novel[l] {
			ds.Known[i] = k
		}
	}
	if hidden, labeled := p.unlabelKnown(ds); labeled > 0 {
		*notes = append(*notes, p.unlabelNote(src, hidden, labeled))
	}
	return ds, nil
}

func (p *Preprocessor) putNumeric(src string, f *Feature, c *Column, X linalg.Matrix, off int, notes *[]string) error {
	d := X.Cols
	// A text column under a numeric feature: its cells are parsed, and stray
	// non-numbers follow the rule of Fit (missing with --impute, else an
	// error that says so).
	var stray []int
	numeric := 0
	if c.Kind == Text {
		stray, numeric = strayCells(c)
		if stray != nil && p.Roles.Impute != "" {
			*notes = append(*notes, fmt.Sprintf("%s: column %q: %s not a number; treated as missing and filled with %s (the --impute %s of the fitting data)",
				src, c.Name, strayList(c, stray), formatFloat(f.Fill), p.Roles.Impute))
		}
	}
	for i := range c.Len() {
		var v float64
		ok := true
		if c.Kind == Text {
			if c.IsNull(i) {
				ok = false
			} else {
				var isNum bool
				v, isNum = parseFloat([]byte(trimSpace(c.Text[i])))
				if !isNum {
					if stray == nil {
						return usererr.InFile(src, i+1, c.Name, "%q is not a number (the column is numeric in the data the preprocessing was fitted on)", c.Text[i])
					}
					if p.Roles.Impute == "" {
						return strayError(src, c, stray, numeric, " (numeric in the data the preprocessing was fitted on)")
					}
				}
				ok = isNum && finite(v)
			}
		} else {
			v, ok = numericCell(c, i)
		}
		if !ok {
			if p.Roles.Impute == "" {
				if c.Kind == Text && !c.IsNull(i) {
					return usererr.InFile(src, i+1, c.Name, "non-finite value %q; use --impute mean or --impute median to replace non-finite values", c.Text[i])
				}
				return missingError(src, c, i)
			}
			v = f.Fill
		}
		X.Data[i*d+off] = (v - f.Mean) / f.Std
	}
	return nil
}
