// Package io reads and writes ncd's tables (CSV, TSV, gzip-compressed CSV/TSV,
// Parquet) and turns them into algorithm-ready datasets.
//
// Reading (Read) gives a Table of typed columns:
//   - CSV needs a header row. The delimiter is ReadOptions.Delimiter, or a
//     tab for .tsv/.tab names, or sniffed among ',', tab, ';' and '|': the
//     one that splits the header into several fields and the first records
//     into as many (quotes respected); see sniffDelim. A header that parses
//     to one column holding another of them is an error that says so.
//     Quoted fields follow RFC 4180. gzip and Parquet are recognised by
//     content as well as by name; "-" reads stdin.
//   - A CSV column is numeric when every non-missing cell parses as a number
//     (strconv.ParseFloat, surrounding spaces ignored): Int when every such
//     cell is a plain integer literal that fits an int64, Float otherwise.
//     "Inf" and "1e999" are numbers (infinite), which Fit then rejects
//     unless imputing. Any other column is Text and keeps its cells verbatim.
//   - Missing cells are the empty string, NA, NaN and null in any letter
//     case, surrounding spaces ignored (IsMissingLabel); they set
//     Column.Null. "N/A", "-", "?" are not missing: such a column is text.
//   - Parquet columns keep the file's types (integers -> Int, floats and
//     decimals -> Float, booleans -> Bool, strings, binary, dictionaries of
//     strings, dates and anything else -> Text) and its nulls.
//
// Writing (Write, WriteTo) is the inverse: numbers round-trip bit-exactly,
// text verbatim, through CSV and Parquet alike (a CSV float column whose
// values are all integral reads back as Int, with the same values).
//
// Fit/Transform apply the column roles (target, id, features, --novel) and
// produce a dataset.Dataset; see Roles, Preprocessor and Fit for the rules.
package io

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the storage type of a Column.
type Kind int

// Column kinds. Float and Int are numeric; Text and Bool are categorical.
const (
	Float Kind = iota
	Int
	Text
	Bool
)

var kindNames = [...]string{Float: "float", Int: "int", Text: "text", Bool: "bool"}

// String returns the kind's name ("float", "int", "text", "bool").
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name, so that saved preprocessors are readable
// and do not depend on the constants' order.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("invalid column kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText parses a name written by MarshalText.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if string(b) == n {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("invalid column kind %q", b)
}

// Numeric reports whether the kind is Float or Int.
func (k Kind) Numeric() bool { return k == Float || k == Int }

// Column is one named column. Exactly one of Float, Int, Text, Bool holds the
// values (the one matching Kind), with one entry per table row.
type Column struct {
	Name  string    // header name, unique in its table
	Kind  Kind      // which of the value slices below is used
	Float []float64 // Kind Float; NaN under a null
	Int   []int64   // Kind Int; 0 under a null
	// Text holds Kind Text cells verbatim as they were in a CSV file, also
	// under a null (so "NA" is written back as "NA"); "" under a Parquet null.
	Text []string
	Bool []bool // Kind Bool; false under a null
	// Null marks missing cells; nil when the column has none.
	Null []bool
}

// Len returns the number of cells.
func (c *Column) Len() int {
	switch c.Kind {
	case Float:
		return len(c.Float)
	case Int:
		return len(c.Int)
	case Text:
		return len(c.Text)
	case Bool:
		return len(c.Bool)
	}
	return 0
}

// IsNull reports whether cell i is missing.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// NullCount returns the number of missing cells.
func (c *Column) NullCount() int {
	n := 0
	for _, b := range c.Null {
		if b {
			n++
		}
	}
	return n
}

// Cell returns cell i as text: "" for a null, floats in strconv's shortest
// 'g' form (exact round trip), ints in decimal, bools as true/false, text
// verbatim.
func (c *Column) Cell(i int) string {
	if c.IsNull(i) {
		return ""
	}
	switch c.Kind {
	case Float:
		return formatFloat(c.Float[i])
	case Int:
		return strconv.FormatInt(c.Int[i], 10)
	case Text:
		return c.Text[i]
	case Bool:
		return strconv.FormatBool(c.Bool[i])
	}
	return ""
}

// Strings returns every cell as Cell does.
func (c *Column) Strings() []string {
	out := make([]string, c.Len())
	if c.Kind == Text && c.Null == nil {
		copy(out, c.Text)
		return out
	}
	for i := range out {
		out[i] = c.Cell(i)
	}
	return out
}

// formatFloat is the one float-to-text conversion used everywhere (cells,
// class names, CSV output): shortest text that parses back to the same bits.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Table is a read table: named columns of equal length.
type Table struct {
	// Source names where the table came from ("stdin" for -), for messages.
	Source  string
	Rows    int       // number of data rows (the header is not a row)
	Columns []*Column // in file order, each with Rows cells
}

// Col returns the column with this name and its index, or nil, -1.
func (t *Table) Col(name string) (*Column, int) {
	for i, c := range t.Columns {
		if c.Name == name {
			return c, i
		}
	}
	return nil, -1
}

// Names returns the column names in order.
func (t *Table) Names() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// ShallowCopy returns a table sharing the columns but with its own column
// list, so that Append* on the copy leaves t unchanged.
func (t *Table) ShallowCopy() *Table {
	c := *t
	c.Columns = append([]*Column(nil), t.Columns...)
	return &c
}

// AppendText adds a text column (no nulls), replacing a column of the same
// name in place. It panics if len(vals) != t.Rows: that is a caller bug.
func (t *Table) AppendText(name string, vals []string) {
	t.put(&Column{Name: name, Kind: Text, Text: vals}, len(vals))
}

// AppendBool adds a bool column (no nulls) like AppendText.
func (t *Table) AppendBool(name string, vals []bool) {
	t.put(&Column{Name: name, Kind: Bool, Bool: vals}, len(vals))
}

// AppendFloat adds a float column (no nulls) like AppendText.
func (t *Table) AppendFloat(name string, vals []float64) {
	t.put(&Column{Name: name, Kind: Float, Float: vals}, len(vals))
}

func (t *Table) put(c *Column, n int) {
	if n != t.Rows {
		panic(fmt.Sprintf("io: column %q has %d values for a table of %d rows", c.Name, n, t.Rows))
	}
	if _, i := t.Col(c.Name); i >= 0 {
		t.Columns[i] = c
		return
	}
	t.Columns = append(t.Columns, c)
}

// check verifies the table's invariants (lengths, kinds, unique names); the
// writers call it so that a malformed table never produces a file.
func (t *Table) check() error {
	seen := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		if c == nil {
			return fmt.Errorf("io: nil column in table %s", t.Source)
		}
		if seen[c.Name] {
			return fmt.Errorf("io: duplicate column name %q", c.Name)
		}
		seen[c.Name] = true
		if c.Kind < Float || c.Kind > Bool {
			return fmt.Errorf("io: column %q has invalid kind %d", c.Name, int(c.Kind))
		}
		if c.Len() != t.Rows {
			return fmt.Errorf("io: column %q has %d values for a table of %d rows", c.Name, c.Len(), t.Rows)
		}
		if c.Null != nil && len(c.Null) != t.Rows {
			return fmt.Errorf("io: column %q has %d null flags for a table of %d rows", c.Name, len(c.Null), t.Rows)
		}
	}
	return nil
}

// IsMissingLabel reports whether s is one of the missing-value tokens: the
// empty string, NA, NaN or null, in any letter case and with surrounding
// spaces ignored. The same tokens mark missing numeric cells and unlabeled
// target cells.
func IsMissingLabel(s string) bool { return isMissing(trimSpace(s)) }

// isMissing is IsMissingLabel for an already-trimmed cell. Generic so the CSV
// reader can call it on byte slices without converting.
func isMissing[S string | []byte](s S) bool {
	switch len(s) {
	case 0:
		return true
	case 2:
		return lower(s[0]) == 'n' && lower(s[1]) == 'a'
	case 3:
		return lower(s[0]) == 'n' && lower(s[1]) == 'a' && lower(s[2]) == 'n'
	case 4:
		return lower(s[0]) == 'n' && lower(s[1]) == 'u' && lower(s[2]) == 'l' && lower(s[3]) == 'l'
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// trimSpace removes ASCII spaces and tabs around a cell; numbers and missing
// tokens are recognised with them removed ("1, 2" style files).
func trimSpace[S string | []byte](s S) S {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// joinNames lists column names for error messages, shortened when long.
func joinNames(names []string) string {
	const max = 30
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-max)
	}
	return strings.Join(names, ", ")
}
