package io

import (
	"context"
	"fmt"
	stdio "io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/ncd-project/ncd/internal/usererr"
)

// readParquet reads every column of a Parquet file. Arrow hands columns back
// in chunks, with undefined values under nulls and strings in buffers that
// are freed on Release: everything is copied into plain Go slices.
func readParquet(r parquet.ReaderAtSeeker, name string) (t *Table, err error) {
	// A corrupt file can make the decoder panic; the user should get an
	// error naming the file instead.
	defer func() {
		if rec := recover(); rec != nil {
			t, err = nil, usererr.InFile(name, 0, "", "corrupt Parquet file (%v)", rec)
		}
	}()
	pf, err := file.NewParquetReader(r)
	if err != nil {
		return nil, &usererr.Error{File: name, Msg: "not a valid Parquet file", Err: err}
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, &usererr.Error{File: name, Msg: "unsupported Parquet schema", Err: err}
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, &usererr.Error{File: name, Msg: "cannot read Parquet data", Err: err}
	}
	defer tbl.Release()
	return fromArrow(tbl, name)
}

// fromArrow copies an Arrow table into a Table.
func fromArrow(tbl arrow.Table, name string) (*Table, error) {
	if tbl.NumCols() == 0 {
		return nil, usererr.InFile(name, 0, "", "the Parquet file has no columns")
	}
	rows := int(tbl.NumRows())
	if rows == 0 {
		return nil, usererr.InFile(name, 0, "", "no data rows: the Parquet file has columns but no rows")
	}
	t := &Table{Source: name, Rows: rows}
	seen := map[string]bool{}
	for i := 0; i < int(tbl.NumCols()); i++ {
		ac := tbl.Column(i)
		if seen[ac.Name()] {
			return nil, usererr.InFile(name, 0, ac.Name(), "duplicate column name; column names must be unique")
		}
		seen[ac.Name()] = true
		c := newColumn(ac.Name(), ac.DataType(), rows)
		for _, ch := range ac.Data().Chunks() {
			appendArrow(c, ch)
		}
		if c.Len() != rows {
			return nil, usererr.InFile(name, 0, ac.Name(), "column has %d values for %d rows (unsupported nested column?)", c.Len(), rows)
		}
		t.Columns = append(t.Columns, c)
	}
	return t, nil
}

// kindOf maps an Arrow type to the column kind it is stored as.
func kindOf(dt arrow.DataType) Kind {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return Int
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return Float
	case arrow.BOOL:
		return Bool
	case arrow.DICTIONARY:
		return kindOf(dt.(*arrow.DictionaryType).ValueType)
	}
	return Text
}

func newColumn(name string, dt arrow.DataType, rows int) *Column {
	c := &Column{Name: name, Kind: kindOf(dt)}
	switch c.Kind {
	case Int:
		c.Int = make([]int64, 0, rows)
	case Float:
		c.Float = make([]float64, 0, rows)
	case Bool:
		c.Bool = make([]bool, 0, rows)
	case Text:
		c.Text = make([]string, 0, rows)
	}
	return c
}

// valuer is the typed Value accessor shared by Arrow's numeric arrays.
type valuer[T any] interface {
	arrow.Array
	Value(int) T
}

func appendInts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](c *Column, a valuer[T]) {
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			c.Int = append(c.Int, 0)
			markNull(c, true)
			continue
		}
		c.Int = append(c.Int, int64(a.Value(i)))
		markNull(c, false)
	}
}

func appendFloats[T float32 | float64](c *Column, a valuer[T]) {
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			c.Float = append(c.Float, math.NaN())
			markNull(c, true)
			continue
		}
		c.Float = append(c.Float, float64(a.Value(i)))
		markNull(c, false)
	}
}

// markNull records the null flag of the cell just appended.
func markNull(c *Column, null bool) {
	n := c.Len()
	if null && c.Null == nil {
		c.Null = make([]bool, n-1, cap(c.Int)+cap(c.Float)+cap(c.Text)+cap(c.Bool))
	}
	if c.Null != nil {
		c.Null = append(c.Null, null)
	}
}

// appendArrow appends one chunk to c (whose Kind came from the chunk's type).
func appendArrow(c *Column, a arrow.Array) {
	switch a := a.(type) {
	case *array.Int8:
		appendInts(c, a)
	case *array.Int16:
		appendInts(c, a)
	case *array.Int32:
		appendInts(c, a)
	case *array.Int64:
		appendInts(c, a)
	case *array.Uint8:
		appendInts(c, a)
	case *array.Uint16:
		appendInts(c, a)
	case *array.Uint32:
		appendInts(c, a)
	case *array.Uint64:
		for i := 0; i < a.Len(); i++ {
			v := a.Value(i)
			if !a.IsNull(i) && v > math.MaxInt64 {
				// Does not fit an int64: keep the column as floats.
				if c.Kind == Int {
					toFloatColumn(c)
				}
			}
			null := a.IsNull(i)
			if c.Kind == Int {
				c.Int = append(c.Int, int64(v)*boolInt(!null))
			} else if null {
				c.Float = append(c.Float, math.NaN())
			} else {
				c.Float = append(c.Float, float64(v))
			}
			markNull(c, null)
		}
	case *array.Float16:
		for i := 0; i < a.Len(); i++ {
			null := a.IsNull(i)
			v := math.NaN()
			if !null {
				v = float64(a.Value(i).Float32())
			}
			c.Float = append(c.Float, v)
			markNull(c, null)
		}
	case *array.Float32:
		appendFloats(c, a)
	case *array.Float64:
		appendFloats(c, a)
	case *array.Boolean:
		for i := 0; i < a.Len(); i++ {
			null := a.IsNull(i)
			c.Bool = append(c.Bool, !null && a.Value(i))
			markNull(c, null)
		}
	case *array.Dictionary:
		// pandas Categorical and similar: decode the dictionary once, then
		// gather by index.
		dict := newColumn(c.Name, a.Dictionary().DataType(), a.Dictionary().Len())
		appendArrow(dict, a.Dictionary())
		if dict.Kind != c.Kind { // uint64 dictionary that overflowed
			if c.Kind == Int {
				toFloatColumn(c)
			}
		}
		for i := 0; i < a.Len(); i++ {
			null := a.IsNull(i)
			k := 0
			if !null {
				k = a.GetValueIndex(i)
				null = dict.IsNull(k)
			}
			appendCell(c, dict, k, null)
		}
	default:
		if c.Kind == Float { // decimals
			for i := 0; i < a.Len(); i++ {
				null := a.IsNull(i)
				v := math.NaN()
				if !null {
					f, err := strconv.ParseFloat(a.ValueStr(i), 64)
					if err == nil {
						v = f
					}
				}
				c.Float = append(c.Float, v)
				markNull(c, null)
			}
			return
		}
		intern := map[string]string{}
		for i := 0; i < a.Len(); i++ {
			null := a.IsNull(i)
			s := ""
			if !null {
				s = arrowString(a, i, intern)
			}
			c.Text = append(c.Text, s)
			markNull(c, null)
		}
	}
}

// arrowString returns cell i of a string-like (or any other) array as a Go
// string that does not alias Arrow memory.
func arrowString(a arrow.Array, i int, intern map[string]string) string {
	var s string
	switch a := a.(type) {
	case *array.String:
		s = a.Value(i)
	case *array.LargeString:
		s = a.Value(i)
	case *array.StringView:
		s = a.Value(i)
	case *array.Binary:
		s = string(a.Value(i))
	case *array.LargeBinary:
		s = string(a.Value(i))
	case *array.BinaryView:
		s = string(a.Value(i))
	default:
		return a.ValueStr(i) // dates, timestamps, ...: their usual text form
	}
	if v, ok := intern[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(intern) < maxIntern {
		intern[v] = v
	}
	return v
}

func appendCell(c, src *Column, k int, null bool) {
	switch c.Kind {
	case Int:
		v := int64(0)
		if !null {
			v = src.Int[k]
		}
		c.Int = append(c.Int, v)
	case Float:
		v := math.NaN()
		if !null {
			if src.Kind == Int {
				v = float64(src.Int[k])
			} else {
				v = src.Float[k]
			}
		}
		c.Float = append(c.Float, v)
	case Bool:
		c.Bool = append(c.Bool, !null && src.Bool[k])
	case Text:
		s := ""
		if !null {
			s = src.Text[k]
		}
		c.Text = append(c.Text, s)
	}
	markNull(c, null)
}

func toFloatColumn(c *Column) {
	c.Float = make([]float64, len(c.Int), cap(c.Int))
	for i, v := range c.Int {
		if c.IsNull(i) {
			c.Float[i] = math.NaN()
		} else {
			c.Float[i] = float64(v)
		}
	}
	c.Int, c.Kind = nil, Float
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// parquetRowGroup is the rows per row group of the files ncd writes.
const parquetRowGroup = 1 << 17

func parquetProps() *parquet.WriterProperties {
	return parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
}

// writeParquet writes t as one Parquet file (snappy-compressed): Float ->
// double, Int -> int64, Text -> string, Bool -> boolean, nulls as nulls.
func writeParquet(w stdio.Writer, t *Table) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("write Parquet: %v", rec)
		}
	}()
	fields, arrs := arrowColumns(t, true)
	defer release(arrs)
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, arrs, int64(t.Rows))
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	defer tbl.Release()
	// The anonymous struct hides any Close method: pqarrow closes a sink
	// that has one, and the caller owns w.
	return pqarrow.WriteTable(tbl, struct{ stdio.Writer }{w}, parquetRowGroup, parquetProps(), pqarrow.DefaultWriterProps())
}

func release(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}

// arrowColumns builds t's columns as Arrow arrays. large allows 64-bit
// string offsets for a text column of 2 GiB or more (a whole table);
// streamed row groups always use 32-bit ones.
func arrowColumns(t *Table, large bool) ([]arrow.Field, []arrow.Array) {
	mem := memory.DefaultAllocator
	fields := make([]arrow.Field, len(t.Columns))
	arrs := make([]arrow.Array, len(t.Columns))
	for j, c := range t.Columns {
		var valid []bool
		if c.Null != nil {
			valid = make([]bool, len(c.Null))
			for i, n := range c.Null {
				valid[i] = !n
			}
		}
		switch c.Kind {
		case Float:
			b := array.NewFloat64Builder(mem)
			b.AppendValues(c.Float, valid)
			arrs[j], fields[j] = b.NewArray(), arrow.Field{Name: c.Name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
			b.Release()
		case Int:
			b := array.NewInt64Builder(mem)
			b.AppendValues(c.Int, valid)
			arrs[j], fields[j] = b.NewArray(), arrow.Field{Name: c.Name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}
			b.Release()
		case Bool:
			b := array.NewBooleanBuilder(mem)
			b.AppendValues(c.Bool, valid)
			arrs[j], fields[j] = b.NewArray(), arrow.Field{Name: c.Name, Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
			b.Release()
		case Text:
			total := 0
			for i, s := range c.Text {
				if !c.IsNull(i) {
					total += len(s)
				}
			}
			texts := c.Text
			if c.Null != nil { // Parquet has no text under a null
				texts = make([]string, len(c.Text))
				for i, s := range c.Text {
					if !c.Null[i] {
						texts[i] = s
					}
				}
			}
			if large && total >= math.MaxInt32 { // 32-bit offsets would overflow
				b := array.NewLargeStringBuilder(mem)
				b.AppendValues(texts, valid)
				arrs[j], fields[j] = b.NewArray(), arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.LargeString, Nullable: true}
				b.Release()
			} else {
				b := array.NewStringBuilder(mem)
				b.AppendValues(texts, valid)
				arrs[j], fields[j] = b.NewArray(), arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true}
				b.Release()
			}
		}
	}
	return fields, arrs
}
