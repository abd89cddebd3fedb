package io

import (
	"bufio"
	"compress/gzip"
	"fmt"
	stdio "io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ChunkWriter writes a table given as consecutive chunks (tables with the
// same columns, kinds and names) in one format. The bytes are those WriteTo
// writes for all the rows at once (Parquet: the same row groups of
// parquetRowGroup rows), except that a Parquet text column always has
// 32-bit offsets, which WriteTo widens when one column holds 2 GiB of text.
// Chunks are formatted by EncodeChunk, which may run on several chunks at
// once; Write takes them in order.
type ChunkWriter struct {
	f     Format
	delim byte
	bw    *bufio.Writer
	zw    *gzip.Writer
	began bool

	sink     stdio.Writer
	fw       *pqarrow.FileWriter
	schema   *arrow.Schema
	pend     []*Table // Parquet rows not yet written (less than a row group)
	pendRows int
	pendOff  int // rows of pend[0] already written
}

// NewChunkWriter writes format f to w. Close finishes the file (it does not
// close w).
func NewChunkWriter(w stdio.Writer, f Format) (*ChunkWriter, error) {
	cw := &ChunkWriter{f: f, sink: struct{ stdio.Writer }{w}}
	switch f {
	case CSV, CSVGzip:
		cw.delim = ','
	case TSV, TSVGzip:
		cw.delim = '\t'
	case Parquet:
		return cw, nil
	default:
		return nil, fmt.Errorf("io: unknown format %q", f)
	}
	if f == CSVGzip || f == TSVGzip {
		cw.zw = gzip.NewWriter(w)
		w = cw.zw
	}
	cw.bw = bufio.NewWriterSize(w, 1<<16)
	return cw, nil
}

// EncodeChunk formats t's rows for Write: delimited text for the CSV
// formats, nil for Parquet (Write encodes row groups itself).
func EncodeChunk(t *Table, f Format) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	switch f {
	case CSV, CSVGzip:
		return appendRows(nil, t, ',', 0, t.Rows), nil
	case TSV, TSVGzip:
		return appendRows(nil, t, '\t', 0, t.Rows), nil
	}
	return nil, nil
}

// Write appends chunk t, whose rows EncodeChunk formatted as enc.
func (cw *ChunkWriter) Write(t *Table, enc []byte) error {
	if cw.f != Parquet {
		if !cw.began {
			cw.began = true
			if _, err := cw.bw.Write(appendHeader(nil, t, cw.delim)); err != nil {
				return err
			}
		}
		_, err := cw.bw.Write(enc)
		return err
	}
	if err := t.check(); err != nil {
		return err
	}
	cw.pend = append(cw.pend, t)
	cw.pendRows += t.Rows
	for cw.pendRows >= parquetRowGroup {
		if err := cw.writeGroup(parquetRowGroup); err != nil {
			return err
		}
	}
	return nil
}

// writeGroup writes the first rows pending rows as one row group.
func (cw *ChunkWriter) writeGroup(rows int) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("write Parquet: %v", rec)
		}
	}()
	first := cw.pend[0]
	g := &Table{Source: first.Source, Rows: rows, Columns: make([]*Column, len(first.Columns))}
	for j, c := range first.Columns {
		g.Columns[j] = &Column{Name: c.Name, Kind: c.Kind}
	}
	left := rows
	for left > 0 {
		t := cw.pend[0]
		lo := cw.pendOff
		hi := min(t.Rows, lo+left)
		for j, c := range t.Columns {
			appendColumnRows(g.Columns[j], c, lo, hi, rows)
		}
		left -= hi - lo
		if hi == t.Rows {
			cw.pend, cw.pendOff = cw.pend[1:], 0
		} else {
			cw.pendOff = hi
		}
	}
	cw.pendRows -= rows
	fields, arrs := arrowColumns(g, false)
	defer release(arrs)
	if cw.fw == nil {
		cw.schema = arrow.NewSchema(fields, nil)
		if cw.fw, err = pqarrow.NewFileWriter(cw.schema, cw.sink, parquetProps(), pqarrow.DefaultWriterProps()); err != nil {
			return err
		}
	}
	rec := array.NewRecordBatch(cw.schema, arrs, int64(rows))
	defer rec.Release()
	tbl := array.NewTableFromRecords(cw.schema, []arrow.RecordBatch{rec})
	defer tbl.Release()
	return cw.fw.WriteTable(tbl, parquetRowGroup)
}

// appendColumnRows appends rows [lo, hi) of src to dst (of the same kind);
// n is dst's final length, for the null flags.
func appendColumnRows(dst, src *Column, lo, hi, n int) {
	if src.Null != nil && dst.Null == nil {
		dst.Null = make([]bool, dst.Len(), n)
	}
	if dst.Null != nil {
		if src.Null != nil {
			dst.Null = append(dst.Null, src.Null[lo:hi]...)
		} else {
			dst.Null = append(dst.Null, make([]bool, hi-lo)...)
		}
	}
	switch src.Kind {
	case Float:
		dst.Float = append(dst.Float, src.Float[lo:hi]...)
	case Int:
		dst.Int = append(dst.Int, src.Int[lo:hi]...)
	case Text:
		dst.Text = append(dst.Text, src.Text[lo:hi]...)
	case Bool:
		dst.Bool = append(dst.Bool, src.Bool[lo:hi]...)
	}
}

// Close writes what is pending and finishes the file.
func (cw *ChunkWriter) Close() error {
	if cw.f != Parquet {
		if err := cw.bw.Flush(); err != nil {
			return err
		}
		if cw.zw != nil {
			return cw.zw.Close()
		}
		return nil
	}
	if cw.pendRows > 0 {
		if err := cw.writeGroup(cw.pendRows); err != nil {
			return err
		}
	}
	if cw.fw == nil {
		return fmt.Errorf("io: no rows to write")
	}
	return cw.fw.Close()
}
