package io

import (
	"bufio"
	"compress/gzip"
	"fmt"
	stdio "io"
	"os"
	"strconv"
	"strings"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Format is an output file format.
type Format string

// Output formats.
const (
	CSV     Format = "csv"
	TSV     Format = "tsv"
	CSVGzip Format = "csv.gz"
	TSVGzip Format = "tsv.gz"
	Parquet Format = "parquet"
)

// FormatOf picks the format from a file name's extension (case-insensitive):
// .csv, .tsv, .csv.gz, .tsv.gz, .parquet (or .pq). "-" is CSV.
func FormatOf(path string) (Format, error) {
	if path == "-" {
		return CSV, nil
	}
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".csv"):
		return CSV, nil
	case strings.HasSuffix(p, ".tsv"):
		return TSV, nil
	case strings.HasSuffix(p, ".csv.gz"):
		return CSVGzip, nil
	case strings.HasSuffix(p, ".tsv.gz"):
		return TSVGzip, nil
	case strings.HasSuffix(p, ".parquet"), strings.HasSuffix(p, ".pq"):
		return Parquet, nil
	}
	return "", usererr.InFile(path, 0, "", "unknown output format: the name must end in .csv, .tsv, .csv.gz, .tsv.gz or .parquet")
}

// Write writes t to path in the format its extension names (see FormatOf;
// CSV for a device or pipe without one, such as /dev/null). The file appears complete or not at all: it is written to a temporary file
// in the same folder and renamed over path only after everything succeeded;
// on any error the temporary file is removed. Path "-" writes CSV to
// os.Stdout; callers with their own stdout use WriteTo(w, t, CSV).
func Write(path string, t *Table) error {
	f, err := FormatOf(path)
	if err != nil {
		if !atomicfile.IsSink(path) {
			return err
		}
		// /dev/null, /dev/stdout, a named pipe: nothing to tell the format
		// by, so CSV, as for "-".
		f = CSV
	}
	if err := t.check(); err != nil {
		return err
	}
	if path == "-" {
		return WriteTo(os.Stdout, t, CSV)
	}
	return writeAtomic(path, func(w stdio.Writer) error { return WriteTo(w, t, f) })
}

// WriteTo writes t to w in format f. A failed write may leave partial output
// in w; Write is the atomic variant for files.
func WriteTo(w stdio.Writer, t *Table, f Format) error {
	if err := t.check(); err != nil {
		return err
	}
	switch f {
	case CSV:
		return writeDelimited(w, t, ',')
	case TSV:
		return writeDelimited(w, t, '\t')
	case CSVGzip, TSVGzip:
		zw := gzip.NewWriter(w)
		delim := byte(',')
		if f == TSVGzip {
			delim = '\t'
		}
		if err := writeDelimited(zw, t, delim); err != nil {
			return err
		}
		return zw.Close()
	case Parquet:
		return writeParquet(w, t)
	}
	return fmt.Errorf("io: unknown format %q", f)
}

// writeAtomic writes path through atomicfile.Write: complete or not at all,
// mode 0666 minus the umask like any other file the user creates, and
// straight into a device or pipe.
func writeAtomic(path string, fill func(stdio.Writer) error) error {
	return atomicfile.Write(path, false, fill)
}

// writeDelimited writes a header and the rows. Floats use the shortest text
// that parses back to the same bits, nulls are empty cells (text cells are
// written verbatim, so a text "NA" stays "NA"), and cells are quoted per RFC
// 4180 when needsQuotes says so.
func writeDelimited(w stdio.Writer, t *Table, delim byte) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	buf := appendHeader(nil, t, delim)
	for i := 0; i < t.Rows; {
		j := min(i+256, t.Rows)
		buf = appendRows(buf, t, delim, i, j)
		i = j
		if len(buf) >= 1<<15 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendHeader appends the header line of t.
func appendHeader(buf []byte, t *Table, delim byte) []byte {
	for j, c := range t.Columns {
		if j > 0 {
			buf = append(buf, delim)
		}
		buf = appendField(buf, c.Name)
	}
	return append(buf, '\n')
}

// appendRows appends rows [lo, hi) of t, one line each.
func appendRows(buf []byte, t *Table, delim byte, lo, hi int) []byte {
	for i := lo; i < hi; i++ {
		rowStart := len(buf)
		for j, c := range t.Columns {
			if j > 0 {
				buf = append(buf, delim)
			}
			if c.Kind == Text {
				buf = appendField(buf, c.Text[i])
				continue
			}
			if c.IsNull(i) {
				continue
			}
			switch c.Kind {
			case Float:
				buf = strconv.AppendFloat(buf, c.Float[i], 'g', -1, 64)
			case Int:
				buf = strconv.AppendInt(buf, c.Int[i], 10)
			case Bool:
				buf = strconv.AppendBool(buf, c.Bool[i])
			}
		}
		if len(t.Columns) == 1 && len(buf) == rowStart {
			// A lone empty cell would be an empty line, which readers skip:
			// quote it so that the row survives.
			buf = append(buf, '"', '"')
		}
		buf = append(buf, '\n')
	}
	return buf
}

func appendField(buf []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}

// needsQuotes quotes a cell with any delimiter the reader sniffs (so that
// sniffing cannot be fooled by a ';' or a tab inside names and cells), a
// quote, a line break, surrounding spaces, or a leading byte order mark
// (which a reader would strip from the start of a file).
func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || strings.HasPrefix(s, "\ufeff") {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',', '\t', ';', '|', '"', '\n', '\r':
			return true
		}
	}
	return false
}
