package io

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	stdio "io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/usererr"
)

// streamAll reads path chunk by chunk as a streaming caller does (starting
// over when a chunk widens a column's kind) and returns the chunks' tables
// and the final kinds.
func streamAll(t *testing.T, path string, opt ReadOptions) ([]*Table, error) {
	t.Helper()
	var kinds []Kind
	for pass := 0; pass < 10; pass++ {
		s, err := OpenChunks(path, opt)
		if err != nil {
			return nil, err
		}
		if kinds == nil {
			kinds = s.Kinds()
		}
		var out []*Table
		rows, restart := 0, false
		for {
			c, err := s.Next()
			if err == stdio.EOF {
				break
			}
			if err != nil {
				s.Close()
				return nil, err
			}
			tb, err := s.Parse(c, kinds)
			if err != nil {
				s.Close()
				return nil, OffsetRows(err, rows)
			}
			rows += tb.Rows
			if MergeKinds(kinds, tb) {
				restart = true
				break
			}
			out = append(out, tb)
		}
		s.Close()
		if !restart {
			return out, nil
		}
	}
	t.Fatal("kinds never settled")
	return nil, nil
}

// concat joins chunk tables into one table; an Int column that saw no
// number in any chunk becomes Float, as Read types it.
func concat(chunks []*Table) *Table {
	n := 0
	for _, c := range chunks {
		n += c.Rows
	}
	first := chunks[0]
	t := &Table{Source: first.Source, Rows: n, Columns: make([]*Column, len(first.Columns))}
	for j, c := range first.Columns {
		t.Columns[j] = &Column{Name: c.Name, Kind: c.Kind}
		for _, ch := range chunks {
			appendColumnRows(t.Columns[j], ch.Columns[j], 0, ch.Rows, n)
		}
		if c := t.Columns[j]; c.Kind == Int && c.NullCount() == n {
			c.Kind, c.Float = Float, make([]float64, n)
			for i := range c.Float {
				c.Float[i] = nanFloat()
			}
			c.Int = nil
		}
	}
	return t
}

func nanFloat() float64 { return math.Float64frombits(uint64(nanBits)) }

// chunkedBytes writes chunks with a ChunkWriter.
func chunkedBytes(t *testing.T, chunks []*Table, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	cw, err := NewChunkWriter(&buf, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		enc, err := EncodeChunk(c, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := cw.Write(c, enc); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wholeBytes(t *testing.T, tb *Table, f Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTo(&buf, tb, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// trickyCSV has what chunk cutting and typing must get right: quoted fields
// with line ends and delimiters, CRLF, blank lines, a byte order mark,
// missing cells, a column of integers that turns float near the end, one
// that turns text, one that is all missing until late, and a label column
// of number-like names kept as text.
func trickyCSV(rows int) string {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfid,a,b,c,late,note,class\r\n")
	for i := 0; i < rows; i++ {
		a := fmt.Sprint(i * 7)
		if i == rows-3 {
			a = "2.5"
		}
		bcol := fmt.Sprint(i % 5)
		if i == rows-10 {
			bcol = "x"
		}
		c := fmt.Sprintf("%g", float64(i)/3)
		if i%11 == 0 {
			c = "NA"
		}
		late := ""
		if i > rows-5 {
			late = fmt.Sprint(i)
		}
		note := "plain"
		switch i % 13 {
		case 1:
			note = "\"two\nlines, and a comma\""
		case 2:
			note = "\"quote \"\" inside\""
		case 3:
			note = "5'11\""
		}
		fmt.Fprintf(&b, "%03d,%s,%s,%s,%s,%s,%02d\r\n", i, a, bcol, c, late, note, i%4)
		if i%17 == 0 {
			b.WriteString("\r\n")
		}
	}
	return b.String()
}

func TestChunksMatchRead(t *testing.T) {
	dir := t.TempDir()
	defer func(n int) { ChunkBytes = n }(ChunkBytes)
	for _, size := range []int{1, 100, 1000, 1 << 20} {
		ChunkBytes = size
		for _, gz := range []bool{false, true} {
			path := filepath.Join(dir, "t.csv")
			data := []byte(trickyCSV(400))
			if gz {
				path += ".gz"
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write(data)
				zw.Close()
				data = z.Bytes()
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			opt := ReadOptions{Text: []string{"id", "class"}}
			want, err := ReadWith(path, nil, opt)
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := streamAll(t, path, opt)
			if err != nil {
				t.Fatal(err)
			}
			if size == 1 && len(chunks) < 100 {
				t.Fatalf("only %d chunks", len(chunks))
			}
			got := concat(chunks)
			for _, f := range []Format{CSV, TSV, CSVGzip, Parquet} {
				w := wholeBytes(t, want, f)
				if f == Parquet {
					// The writer widens the kinds exactly as concat does.
					chunks = []*Table{got}
				}
				if g := chunkedBytes(t, chunks, f); !bytes.Equal(g, w) {
					t.Fatalf("chunk %d gz %v format %s: streamed bytes differ from Read+Write (%d vs %d bytes)", size, gz, f, len(g), len(w))
				}
			}
		}
	}
}

func TestChunkWriterParquetRowGroups(t *testing.T) {
	// More rows than two row groups, in uneven chunks.
	n := 2*parquetRowGroup + 1234
	tb := &Table{Source: "x", Rows: n}
	a := make([]float64, n)
	b := make([]int64, n)
	c := make([]string, n)
	null := make([]bool, n)
	for i := range a {
		a[i] = float64(i) / 7
		b[i] = int64(i * 3)
		c[i] = fmt.Sprint("v", i%9)
		null[i] = i%1000 == 5
	}
	tb.Columns = []*Column{{Name: "a", Kind: Float, Float: a}, {Name: "b", Kind: Int, Int: b, Null: null}, {Name: "c", Kind: Text, Text: c}}
	var chunks []*Table
	for lo := 0; lo < n; {
		hi := min(n, lo+50000+lo%7777)
		ch := &Table{Source: "x", Rows: hi - lo}
		for _, col := range tb.Columns {
			nc := &Column{Name: col.Name, Kind: col.Kind}
			appendColumnRows(nc, col, lo, hi, hi-lo)
			if nc.Null != nil && nc.NullCount() == 0 {
				nc.Null = nil
			}
			ch.Columns = append(ch.Columns, nc)
		}
		chunks = append(chunks, ch)
		lo = hi
	}
	if !bytes.Equal(chunkedBytes(t, chunks, Parquet), wholeBytes(t, tb, Parquet)) {
		t.Fatal("chunked Parquet differs from the whole table's")
	}
	// Read back in row groups.
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := Write(path, tb); err != nil {
		t.Fatal(err)
	}
	got, err := streamAll(t, path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d chunks, want 3 row groups", len(got))
	}
	if !bytes.Equal(wholeBytes(t, concat(got), CSV), wholeBytes(t, tb, CSV)) {
		t.Fatal("row groups read back differ")
	}
}

func TestChunkErrorsNameTheFileRow(t *testing.T) {
	defer func(n int) { ChunkBytes = n }(ChunkBytes)
	ChunkBytes = 50
	dir := t.TempDir()
	for _, c := range []struct{ name, data string }{
		{"ragged", "a,b\n1,2\n3,4\n\n5,6\n7,8,9\n10,11\n"},
		{"quote", "a,b\n1,2\n3,4\n5,\"6\n7,8\n"},
		{"after", "a,b\n1,2\n3,4\n5,\"6\"x\n7,8\n"},
	} {
		path := filepath.Join(dir, c.name+".csv")
		os.WriteFile(path, []byte(strings.Repeat("", 0)+c.data), 0o644)
		_, want := Read(path, nil)
		_, got := streamAll(t, path, ReadOptions{})
		var ue *usererr.Error
		if want == nil || got == nil || !errors.As(got, &ue) || got.Error() != want.Error() {
			t.Errorf("%s: streamed error %v, Read's %v", c.name, got, want)
		}
	}
}

// checkStreamed compares reading data whole (Read) with reading it in
// chunks of chunk bytes: the same table (as CSV bytes) or the same error.
func checkStreamed(t *testing.T, data []byte, chunk int) {
	t.Helper()
	defer func(n int) { ChunkBytes = n }(ChunkBytes)
	ChunkBytes = chunk
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	opt := ReadOptions{Text: []string{"class"}}
	want, werr := ReadWith(path, nil, opt)
	chunks, gerr := streamAll(t, path, opt)
	rows := 0
	for _, c := range chunks {
		rows += c.Rows
	}
	if gerr == nil && rows == 0 {
		gerr = usererr.InFile(path, 0, "", "no data rows: the file has a header but no rows")
	}
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Fatalf("chunk %d, %q:\nRead:     %v\nstreamed: %v", chunk, data, werr, gerr)
		}
		return
	}
	if w, g := wholeBytes(t, want, CSV), wholeBytes(t, concat(chunks), CSV); !bytes.Equal(w, g) {
		t.Fatalf("chunk %d, %q:\nRead:     %q\nstreamed: %q", chunk, data, w, g)
	}
}

// TestChunksRandomCSV: random small files built from the pieces that make
// cutting and typing hard (quotes, line ends inside quotes, CRLF, blank
// lines, numbers that turn float or text, missing cells, ragged rows),
// read whole and in chunks of 1 to 64 bytes.
func TestChunksRandomCSV(t *testing.T) {
	cells := []string{"1", "22", "-3", "2.5", "1e3", "NA", "", "x", "\"q\"", "\"a,b\"", "\"l1\nl2\"", "\"d\"\"q\"", "5'11\"", " 7 ", "nan"}
	r := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 100; it++ {
		ncol := 1 + r.IntN(3)
		var b strings.Builder
		for j := 0; j < ncol; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			if j == ncol-1 {
				b.WriteString("class")
			} else {
				fmt.Fprintf(&b, "c%d", j)
			}
		}
		b.WriteString("\n")
		rows := 1 + r.IntN(12)
		for i := 0; i < rows; i++ {
			n := ncol
			if r.IntN(40) == 0 {
				n++ // ragged
			}
			for j := 0; j < n; j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(cells[r.IntN(len(cells))])
			}
			switch r.IntN(6) {
			case 0:
				b.WriteString("\r\n")
			case 1:
				b.WriteString("\n\n")
			default:
				b.WriteString("\n")
			}
		}
		data := []byte(b.String())
		if r.IntN(5) == 0 {
			data = data[:len(data)-1] // no final line end
		}
		for _, chunk := range []int{1, 5, 64} {
			checkStreamed(t, data, chunk)
		}
	}
}

// FuzzChunks: any input reads the same whole and in chunks.
func FuzzChunks(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		if bytes.HasPrefix(data, []byte("PAR1")) || (len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
			t.Skip("CSV only")
		}
		checkStreamed(t, data, 1+int(chunk))
	})
}
