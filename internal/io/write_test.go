package io

import (
	"bytes"
	stdio "io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// sameTable compares two tables cell by cell: kinds, nulls, float bits,
// ints, text, bools. Text under a null is compared only when both are CSV
// (verbatim) tables, so keepNullText selects that.
func sameTable(t *testing.T, what string, got, want *Table, keepNullText bool) {
	t.Helper()
	if got.Rows != want.Rows || !reflect.DeepEqual(got.Names(), want.Names()) {
		t.Fatalf("%s: %d rows %q, want %d rows %q", what, got.Rows, got.Names(), want.Rows, want.Names())
	}
	for j, w := range want.Columns {
		g := got.Columns[j]
		if g.Kind != w.Kind {
			t.Errorf("%s: column %q kind %v, want %v", what, w.Name, g.Kind, w.Kind)
			continue
		}
		for i := range want.Rows {
			if g.IsNull(i) != w.IsNull(i) {
				t.Fatalf("%s: column %q row %d null %v, want %v", what, w.Name, i+1, g.IsNull(i), w.IsNull(i))
			}
			if w.IsNull(i) && !(w.Kind == Text && keepNullText) {
				continue
			}
			ok := true
			switch w.Kind {
			case Float:
				ok = math.Float64bits(g.Float[i]) == math.Float64bits(w.Float[i])
			case Int:
				ok = g.Int[i] == w.Int[i]
			case Text:
				ok = g.Text[i] == w.Text[i]
			case Bool:
				ok = g.Bool[i] == w.Bool[i]
			}
			if !ok {
				t.Fatalf("%s: column %q row %d: %q, want %q", what, w.Name, i+1, g.Cell(i), w.Cell(i))
			}
		}
	}
}

func TestParquetRoundTripLetter(t *testing.T) {
	if _, err := os.Stat(letterCSV); err != nil {
		t.Skip("letter.csv not available")
	}
	want, err := Read(letterCSV, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"l.parquet", "l.csv", "l.tsv", "l.csv.gz", "l.tsv.gz"} {
		path := filepath.Join(dir, name)
		if err := Write(path, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := Read(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameTable(t, name, got, want, true)
	}
	// The CSV written is byte-identical to the input (all ints and letters).
	orig, _ := os.ReadFile(letterCSV)
	out, _ := os.ReadFile(filepath.Join(dir, "l.csv"))
	if !bytes.Equal(orig, out) {
		t.Errorf("letter.csv written back differs from the original")
	}
}

// mixedTable has every kind, nulls, awkward text and awkward floats.
func mixedTable() *Table {
	return &Table{Source: "mem", Rows: 6, Columns: []*Column{
		{Name: "f", Kind: Float, Float: []float64{0.1, -1e-300, math.MaxFloat64, math.NaN(), 5e-324, 0.30000000000000004},
			Null: []bool{false, false, false, true, false, false}},
		{Name: "big", Kind: Float, Float: []float64{1e21, 123456789.123, -2.5e-8, 1, 2, math.Copysign(0, -1)}},
		{Name: "i", Kind: Int, Int: []int64{math.MinInt64, math.MaxInt64, 0, -1, 0, 42}, Null: []bool{false, false, false, false, true, false}},
		{Name: "s, \"q\"", Kind: Text, Text: []string{"plain", "a,b", "say \"hi\"", "multi\nline\r\nx", " padded ", "NA"},
			Null: []bool{false, false, false, false, false, true}},
		{Name: "b", Kind: Bool, Bool: []bool{true, false, true, false, false, true}, Null: []bool{false, false, false, false, true, false}},
	}}
}

func TestWriteReadRoundTrip(t *testing.T) {
	want := mixedTable()
	dir := t.TempDir()
	for _, name := range []string{"m.csv", "m.tsv", "m.csv.gz", "m.TSV.GZ", "m.parquet"} {
		path := filepath.Join(dir, name)
		if err := Write(path, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := Read(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "m.parquet" {
			sameTable(t, name, got, want, false)
			continue
		}
		// CSV has no bool type: the bool column comes back as text cells.
		w := want.ShallowCopy()
		w.Columns[4] = &Column{Name: "b", Kind: Text, Text: []string{"true", "false", "true", "false", "", "true"},
			Null: []bool{false, false, false, false, true, false}}
		// -0 is written "-0", an integer literal: the column reads back as
		// floats still, since other cells are not integers; values match.
		sameTable(t, name, got, w, true)
	}
}

func TestWriteSingleColumnEmptyCells(t *testing.T) {
	// A lone empty cell must not become an empty line (readers skip those).
	tb := &Table{Rows: 3, Columns: []*Column{{Name: "x", Kind: Float, Float: []float64{1.5, math.NaN(), 3.25}, Null: []bool{false, true, false}}}}
	var b bytes.Buffer
	if err := WriteTo(&b, tb, CSV); err != nil {
		t.Fatal(err)
	}
	if b.String() != "x\n1.5\n\"\"\n3.25\n" {
		t.Errorf("wrote %q", b.String())
	}
	got, err := Read("-", &b)
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, "single column", got, tb, false)
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	good := mixedTable()
	// Unknown extension, missing folder: errors, nothing created.
	if err := Write(filepath.Join(dir, "out.xlsx"), good); err == nil || !strings.Contains(err.Error(), "unknown output format") {
		t.Errorf("xlsx: %v", err)
	}
	err := Write(filepath.Join(dir, "no", "such", "out.csv"), good)
	wantUserErr(t, "missing folder", err, "out.csv", "cannot create the output file")

	// A broken table (a column too short) fails before a byte is written,
	// and an existing file keeps its content.
	target := filepath.Join(dir, "out.parquet")
	os.WriteFile(target, []byte("old"), 0o644)
	bad := good.ShallowCopy()
	bad.Columns = append(bad.Columns, &Column{Name: "short", Kind: Float, Float: []float64{1}})
	for _, name := range []string{"out.parquet", "new.csv", "new.csv.gz"} {
		if err := Write(filepath.Join(dir, name), bad); err == nil {
			t.Errorf("%s: broken table written", name)
		}
	}
	// A failure in the middle of writing (the fill function fails after
	// writing some bytes) removes the temporary file.
	err = writeAtomic(filepath.Join(dir, "mid.csv"), func(w stdio.Writer) error {
		w.Write([]byte("a,b\n1,2\n"))
		return os.ErrInvalid
	})
	if err == nil {
		t.Errorf("failing fill reported no error")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"out.parquet"}) {
		t.Errorf("folder holds %q, want only the old out.parquet", names)
	}
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Errorf("existing file changed to %q", b)
	}
	// A successful write replaces it.
	if err := Write(target, good); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(target, nil); err != nil || got.Rows != 6 {
		t.Errorf("rewritten file: %v", err)
	}
}

func TestWriteToFormats(t *testing.T) {
	tb := &Table{Rows: 2, Columns: []*Column{
		{Name: "a", Kind: Int, Int: []int64{1, 2}},
		{Name: "t", Kind: Text, Text: []string{"x\ty", "z"}},
	}}
	var b bytes.Buffer
	if err := WriteTo(&b, tb, TSV); err != nil {
		t.Fatal(err)
	}
	if b.String() != "a\tt\n1\t\"x\ty\"\n2\tz\n" {
		t.Errorf("TSV %q", b.String())
	}
	b.Reset()
	if err := WriteTo(&b, tb, CSV); err != nil || b.String() != "a,t\n1,\"x\ty\"\n2,z\n" {
		t.Errorf("CSV %q %v", b.String(), err)
	}
	for _, f := range []Format{CSVGzip, Parquet} {
		b.Reset()
		if err := WriteTo(&b, tb, f); err != nil {
			t.Fatal(err)
		}
		got, err := Read("-", &b)
		if err != nil {
			t.Fatalf("%s from stdin: %v", f, err)
		}
		sameTable(t, string(f), got, tb, true)
	}
	if err := WriteTo(&b, tb, Format("xml")); err == nil {
		t.Errorf("unknown format accepted")
	}
	for path, want := range map[string]Format{"-": CSV, "a.CSV": CSV, "x.tsv": TSV, "y.csv.gz": CSVGzip, "z.tsv.gz": TSVGzip, "p.parquet": Parquet, "q.pq": Parquet} {
		if f, err := FormatOf(path); f != want || err != nil {
			t.Errorf("FormatOf(%q) = %q %v", path, f, err)
		}
	}
}

// writeArrow writes an Arrow table as Parquet with small row groups, so that
// columns come back in several chunks.
func writeArrow(t *testing.T, path string, tbl arrow.Table, storeSchema bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	arrProps := pqarrow.NewArrowWriterProperties()
	if storeSchema {
		arrProps = pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	}
	// WriteTable closes f itself.
	if err := pqarrow.WriteTable(tbl, f, 2, parquet.NewWriterProperties(), arrProps); err != nil {
		t.Fatal(err)
	}
}

func TestReadParquetTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	valid := []bool{true, false, true, true, true}
	var arrs []arrow.Array
	var fields []arrow.Field
	add := func(name string, a arrow.Array) {
		arrs = append(arrs, a)
		fields = append(fields, arrow.Field{Name: name, Type: a.DataType(), Nullable: true})
	}
	i32 := array.NewInt32Builder(mem)
	i32.AppendValues([]int32{1, 99, -3, 4, 5}, valid)
	add("i32", i32.NewArray())
	u64 := array.NewUint64Builder(mem)
	u64.AppendValues([]uint64{1, 0, math.MaxUint64, 4, 5}, valid)
	add("u64", u64.NewArray())
	f32 := array.NewFloat32Builder(mem)
	f32.AppendValues([]float32{0.1, 99, -2.5, 4, 5}, valid)
	add("f32", f32.NewArray())
	ls := array.NewLargeStringBuilder(mem)
	ls.AppendValues([]string{"a", "garbage", "c", "", "e"}, valid)
	add("large", ls.NewArray())
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	for i, s := range []string{"red", "x", "blue", "red", "red"} {
		if valid[i] {
			db.AppendString(s)
		} else {
			db.AppendNull()
		}
	}
	add("dict", db.NewArray())
	bb := array.NewBooleanBuilder(mem)
	bb.AppendValues([]bool{true, true, false, true, false}, valid)
	add("flag", bb.NewArray())
	i8 := array.NewInt8Builder(mem)
	i8.AppendValues([]int8{-128, 0, 127, 4, 5}, valid)
	add("i8", i8.NewArray())
	u16 := array.NewUint16Builder(mem)
	u16.AppendValues([]uint16{65535, 0, 3, 4, 5}, valid)
	add("u16", u16.NewArray())
	f16 := array.NewFloat16Builder(mem)
	f16.AppendValues([]float16.Num{float16.New(1.5), float16.New(0), float16.New(-2), float16.New(4), float16.New(65504)}, valid)
	add("f16", f16.NewArray())
	bin := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	bin.AppendValues([][]byte{[]byte("b1"), nil, []byte("b3"), []byte("b4"), []byte("b5")}, valid)
	add("bin", bin.NewArray())
	ts := array.NewDate32Builder(mem)
	ts.AppendValues([]arrow.Date32{0, 0, 1, 365, 19000}, valid)
	add("date", ts.NewArray())
	dec := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 10, Scale: 2})
	dec.AppendValues([]decimal128.Num{decimal128.FromI64(150), {}, decimal128.FromI64(-25), decimal128.FromI64(1), decimal128.FromI64(0)}, valid)
	add("dec", dec.NewArray())
	di := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int32}).(*array.Int32DictionaryBuilder)
	for i, v := range []int32{7, 0, 9, 7, 7} {
		if valid[i] {
			di.Append(v)
		} else {
			di.AppendNull()
		}
	}
	add("dictint", di.NewArray())
	for _, b := range []interface{ Release() }{i32, u64, f32, ls, bb, i8, u16, f16, bin, ts, dec, di} {
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, 5)
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	path := filepath.Join(t.TempDir(), "types.parquet")
	writeArrow(t, path, tbl, true) // stored schema: the dictionary stays a dictionary
	tbl.Release()
	rec.Release()
	for _, a := range arrs {
		a.Release()
	}
	db.Release()
	mem.AssertSize(t, 0)

	got, err := Read(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	null := []bool{false, true, false, false, false}
	want := &Table{Rows: 5, Columns: []*Column{
		{Name: "i32", Kind: Int, Int: []int64{1, 0, -3, 4, 5}, Null: null},
		{Name: "u64", Kind: Float, Float: []float64{1, math.NaN(), math.MaxUint64, 4, 5}, Null: null},
		{Name: "f32", Kind: Float, Float: []float64{float64(float32(0.1)), math.NaN(), -2.5, 4, 5}, Null: null},
		{Name: "large", Kind: Text, Text: []string{"a", "", "c", "", "e"}, Null: null},
		{Name: "dict", Kind: Text, Text: []string{"red", "", "blue", "red", "red"}, Null: null},
		{Name: "flag", Kind: Bool, Bool: []bool{true, false, false, true, false}, Null: null},
		{Name: "i8", Kind: Int, Int: []int64{-128, 0, 127, 4, 5}, Null: null},
		{Name: "u16", Kind: Int, Int: []int64{65535, 0, 3, 4, 5}, Null: null},
		{Name: "f16", Kind: Float, Float: []float64{1.5, math.NaN(), -2, 4, 65504}, Null: null},
		{Name: "bin", Kind: Text, Text: []string{"b1", "", "b3", "b4", "b5"}, Null: null},
		{Name: "date", Kind: Text, Text: []string{"1970-01-01", "", "1970-01-02", "1971-01-01", "2022-01-08"}, Null: null},
		{Name: "dec", Kind: Float, Float: []float64{1.5, math.NaN(), -0.25, 0.01, 0}, Null: null},
		{Name: "dictint", Kind: Int, Int: []int64{7, 0, 9, 7, 7}, Null: null},
	}}
	sameTable(t, "parquet types", got, want, true)

	// Columns in several chunks, as pqarrow may return them.
	c1, c2 := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	c1.AppendValues([]int64{1, 2}, nil)
	c2.AppendValues([]int64{3, 0, 5}, []bool{true, false, true})
	a1, a2 := c1.NewArray(), c2.NewArray()
	field := arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	chunked := arrow.NewChunked(field.Type, []arrow.Array{a1, a2})
	column := arrow.NewColumn(field, chunked)
	ct := array.NewTable(arrow.NewSchema([]arrow.Field{field}, nil), []arrow.Column{*column}, 5)
	got, err = fromArrow(ct, "chunks")
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, "chunks", got, &Table{Rows: 5, Columns: []*Column{{Name: "x", Kind: Int, Int: []int64{1, 2, 3, 0, 5}, Null: []bool{false, false, false, true, false}}}}, true)
	ct.Release()
	column.Release()
	chunked.Release()
	a1.Release()
	a2.Release()
	c1.Release()
	c2.Release()
	mem.AssertSize(t, 0)
}

func TestReadParquetEmpty(t *testing.T) {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	a := b.NewArray()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{a}, 0)
	tbl := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	path := filepath.Join(t.TempDir(), "empty.parquet")
	writeArrow(t, path, tbl, false)
	_, err := Read(path, nil)
	wantUserErr(t, "empty parquet", err, "empty.parquet", "no data rows")
}
