package io

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	stdio "io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/ncd-project/ncd/internal/usererr"
)

// Streaming: a file read chunk by chunk (CSV blocks of about ChunkBytes cut
// at record boundaries, Parquet row groups), so that a table larger than
// memory can be processed. Next hands out the chunks in order (cheap:
// reading and cutting); Parse turns one into a Table and may run on many
// chunks at once. A chunk's Table is what Read would give for those rows,
// provided every chunk is parsed with the column kinds of the whole file
// (see Kinds): Read types a CSV column by all its cells, so a column of
// integers whose row 5,000,000 is "2.5" is Float from its first row. The
// caller passes the kinds known so far and compares the chunk's kinds with
// them (MergeKinds); a column that turns out wider means starting over with
// the wider kinds, as cmd's streaming assignment does.

// ChunkBytes is the size of a CSV chunk (the first one is at least
// firstChunkBytes, so that the delimiter is sniffed on the same records as
// Read sniffs). A variable so that tests can shrink it.
var ChunkBytes = 4 << 20

const firstChunkBytes = 8 << 20

// ChunkSource reads a CSV, gzip-compressed CSV or Parquet file in chunks.
type ChunkSource struct {
	name string
	opt  ReadOptions
	f    *os.File
	size int64 // file size

	// CSV
	hdr     *csvHeader
	br      stdio.Reader // the (decompressed) byte stream
	counted *countReader // bytes of the file read, for progress
	zr      *gzip.Reader
	pending []byte // read but not yet handed out
	line    int    // physical line of pending[0]
	eof     bool

	// Parquet
	meta      *metadata.FileMetaData
	names     []string
	kinds     []Kind
	rowGroups int

	next int // index of the next chunk
}

// Chunk is one piece of the file, in order.
type Chunk struct {
	Index int
	data  []byte // CSV: whole records
	line  int    // CSV: physical line of data[0]
	group int    // Parquet: row group
}

type countReader struct {
	r stdio.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// OpenChunks opens path (a regular file: CSV, TSV, gzip-compressed CSV, or
// Parquet by name or content) for chunked reading and reads its header.
func OpenChunks(path string, opt ReadOptions) (s *ChunkSource, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &usererr.Error{File: path, Msg: "cannot open", Err: unwrapPathError(err)}
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, &usererr.Error{File: path, Msg: "cannot read", Err: unwrapPathError(err)}
	}
	if st.IsDir() {
		return nil, usererr.InFile(path, 0, "", "is a directory, not a data file")
	}
	s = &ChunkSource{name: path, opt: opt, f: f, size: st.Size()}
	if isParquetName(path) || hasParquetMagic(f) {
		return s, s.openParquet()
	}
	s.counted = &countReader{r: f}
	br := bufio.NewReaderSize(s.counted, 1<<16)
	s.br = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		if s.zr, err = gzip.NewReader(br); err != nil {
			return nil, &usererr.Error{File: path, Msg: "corrupt gzip data", Err: err}
		}
		s.br = s.zr
	}
	return s, s.openCSV()
}

// Close releases the file.
func (s *ChunkSource) Close() error { return s.f.Close() }

// Names returns the column names in file order.
func (s *ChunkSource) Names() []string {
	if s.hdr != nil {
		return s.hdr.names
	}
	return s.names
}

// Kinds returns the kinds every column starts with: Int for CSV (Text for
// ReadOptions.Text columns), the schema's kinds for Parquet.
func (s *ChunkSource) Kinds() []Kind {
	if s.hdr == nil {
		return append([]Kind(nil), s.kinds...)
	}
	forced := map[string]bool{}
	for _, t := range s.opt.Text {
		forced[t] = true
	}
	k := make([]Kind, len(s.hdr.names))
	for j, n := range s.hdr.names {
		k[j] = Int
		if forced[n] {
			k[j] = Text
		}
	}
	return k
}

// Progress returns how much of the file has been handed out: bytes of a
// CSV file (compressed bytes for gzip) or row groups of a Parquet file, and
// the total.
func (s *ChunkSource) Progress() (done, total int64) {
	if s.hdr == nil {
		return int64(s.next), int64(s.rowGroups)
	}
	return s.counted.n, s.size
}

// MergeKinds widens want by got (Int < Float < Text; an Int column of a
// chunk without numbers says nothing) and reports whether anything changed.
func MergeKinds(want []Kind, got *Table) bool {
	changed := false
	for j, c := range got.Columns {
		k := c.Kind
		if k == Int && c.NullCount() == c.Len() {
			continue
		}
		if k != want[j] && widerKind(k, want[j]) {
			want[j] = k
			changed = true
		}
	}
	return changed
}

func widerKind(a, b Kind) bool {
	rank := func(k Kind) int {
		switch k {
		case Int:
			return 0
		case Float:
			return 1
		}
		return 2
	}
	return rank(a) > rank(b)
}

func (s *ChunkSource) openParquet() (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = usererr.InFile(s.name, 0, "", "corrupt Parquet file (%v)", rec)
		}
	}()
	pf, err := file.NewParquetReader(s.f)
	if err != nil {
		return &usererr.Error{File: s.name, Msg: "not a valid Parquet file", Err: err}
	}
	s.meta = pf.MetaData()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return &usererr.Error{File: s.name, Msg: "unsupported Parquet schema", Err: err}
	}
	sc, err := fr.Schema()
	if err != nil {
		return &usererr.Error{File: s.name, Msg: "unsupported Parquet schema", Err: err}
	}
	if sc.NumFields() == 0 {
		return usererr.InFile(s.name, 0, "", "the Parquet file has no columns")
	}
	if s.meta.NumRows == 0 {
		return usererr.InFile(s.name, 0, "", "no data rows: the Parquet file has columns but no rows")
	}
	seen := map[string]bool{}
	for _, fd := range sc.Fields() {
		if seen[fd.Name] {
			return usererr.InFile(s.name, 0, fd.Name, "duplicate column name; column names must be unique")
		}
		seen[fd.Name] = true
		s.names = append(s.names, fd.Name)
		s.kinds = append(s.kinds, kindOf(fd.Type))
	}
	s.rowGroups = pf.NumRowGroups()
	return nil
}

// fill reads until pending holds at least want bytes or the input ends.
func (s *ChunkSource) fill(want int) error {
	for !s.eof && len(s.pending) < want {
		if cap(s.pending)-len(s.pending) < 1<<20 {
			nb := make([]byte, len(s.pending), max(want+1, 2*len(s.pending), 1<<20))
			copy(nb, s.pending)
			s.pending = nb
		}
		n, err := s.br.Read(s.pending[len(s.pending):cap(s.pending)])
		s.pending = s.pending[:len(s.pending)+n]
		if err == stdio.EOF {
			s.eof = true
			break
		}
		if err != nil {
			if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, stdio.ErrUnexpectedEOF) {
				return &usererr.Error{File: s.name, Msg: "corrupt or truncated gzip data", Err: err}
			}
			return &usererr.Error{File: s.name, Msg: "cannot read", Err: err}
		}
	}
	return nil
}

func (s *ChunkSource) openCSV() error {
	if err := s.fill(firstChunkBytes); err != nil {
		return err
	}
	probe := s.pending
	if !s.eof {
		probe = probe[:bytes.LastIndexByte(probe, '\n')+1]
	}
	if _, err := checkHeaderBytes(append(probe[:len(probe):len(probe)], '\n'), s.name); err != nil {
		return err
	}
	delim := s.opt.Delimiter
	if delim != 0 && bytes.IndexByte(Delimiters, delim) < 0 {
		return usererr.New("the delimiter must be one of , ; | or tab, got %q", delim)
	}
	lp := strings.TrimSuffix(strings.ToLower(s.name), ".gz")
	if delim == 0 && (strings.HasSuffix(lp, ".tsv") || strings.HasSuffix(lp, ".tab")) {
		delim = '\t'
	}
	s.pending = bytes.TrimPrefix(s.pending, []byte("\xef\xbb\xbf"))
	if !s.eof {
		probe = s.pending[:bytes.LastIndexByte(s.pending, '\n')+1]
	} else {
		probe = s.pending
	}
	if len(probe) == 0 && !s.eof {
		return s.longLine()
	}
	h, p, pos, err := parseHeader(probe, s.name, delim)
	if err != nil {
		return err
	}
	s.hdr = h
	s.line = p.line
	s.pending = s.pending[pos:]
	return nil
}

// longLine is Read's error for a line longer than maxLine.
func (s *ChunkSource) longLine() error {
	return usererr.InFile(s.name, max(s.line-1, 0), "", "line %d is longer than %s; is this really a CSV file?", s.line, sizeText(maxLine))
}

// Next returns the next chunk, or io.EOF after the last one.
func (s *ChunkSource) Next() (*Chunk, error) {
	if s.hdr == nil {
		if s.next >= s.rowGroups {
			return nil, stdio.EOF
		}
		c := &Chunk{Index: s.next, group: s.next}
		s.next++
		return c, nil
	}
	want := ChunkBytes
	for {
		if err := s.fill(want); err != nil {
			return nil, err
		}
		if len(s.pending) == 0 && s.eof {
			return nil, stdio.EOF
		}
		cut := len(s.pending)
		if !s.eof || cut > want {
			cut = s.recordCut(min(cut, want))
		}
		if cut > 0 {
			c := &Chunk{Index: s.next, data: s.pending[:cut:cut], line: s.line}
			s.next++
			s.line += bytes.Count(c.data, []byte{'\n'})
			rest := s.pending[cut:]
			s.pending = make([]byte, len(rest), max(ChunkBytes+1<<20, len(rest)))
			copy(s.pending, rest)
			return c, nil
		}
		// No whole record in want bytes: a very long one.
		if len(s.pending) > maxLine && bytes.IndexByte(s.pending, '\n') < 0 {
			return nil, s.longLine()
		}
		if len(s.pending) > 2*maxLine {
			// A quote never closed: hand it all out, its parse says so.
			c := &Chunk{Index: s.next, data: s.pending, line: s.line}
			s.next++
			s.pending = nil
			s.eof = true
			return c, nil
		}
		want *= 2
	}
}

// recordCut returns the end of the last whole record in pending (0 if
// none). Without any quote every line end ends a record; with quotes the
// records are parsed, since a quoted field may hold line ends.
func (s *ChunkSource) recordCut(limit int) int {
	buf := s.pending[:limit]
	last := bytes.LastIndexByte(buf, '\n')
	if last < 0 {
		return 0
	}
	if bytes.IndexByte(buf[:last], '"') < 0 {
		return last + 1
	}
	p := &csvParser{data: buf, delim: s.hdr.delim}
	pos, cut := 0, 0
	var fields []span
	for {
		pos = p.skipBlank(pos)
		if pos >= len(buf) {
			return cut
		}
		var next int
		var perr *parseError
		fields, next, _, perr = p.record(pos, fields)
		if perr != nil {
			switch {
			case cut > 0:
				return cut
			case strings.Contains(perr.msg, "never closed"):
				return 0 // may close beyond the buffer: read more
			}
			return len(buf) // a syntax error: the chunk's parse reports it
		}
		if buf[next-1] != '\n' {
			return cut // cut off by the end of the buffer
		}
		pos, cut = next, next
	}
}

// Parse turns a chunk into a table, each column at least of kinds[j] (from
// Kinds and MergeKinds). Errors name rows counted from the chunk's first row
// (add the rows of the chunks before it) and the file's physical lines.
// Parse may be called on several chunks at once.
func (s *ChunkSource) Parse(c *Chunk, kinds []Kind) (*Table, error) {
	if s.hdr == nil {
		return s.parseGroup(c.group, kinds)
	}
	p := &csvParser{data: c.data, delim: s.hdr.delim, line: c.line}
	est := min(bytes.Count(c.data, []byte{'\n'})+1, len(c.data)/len(s.hdr.names)+1)
	cols := s.hdr.colStates(s.opt, kinds, est)
	rows, err := p.records(0, cols, s.name)
	if err != nil {
		return nil, err
	}
	return s.hdr.table(s.name, rows, cols, false), nil
}

func (s *ChunkSource) parseGroup(g int, kinds []Kind) (t *Table, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			t, err = nil, usererr.InFile(s.name, 0, "", "corrupt Parquet file (%v)", rec)
		}
	}()
	pf, err := file.NewParquetReader(s.f, file.WithMetadata(s.meta))
	if err != nil {
		return nil, &usererr.Error{File: s.name, Msg: "not a valid Parquet file", Err: err}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, &usererr.Error{File: s.name, Msg: "unsupported Parquet schema", Err: err}
	}
	cols := make([]int, len(kinds))
	for j := range cols {
		cols[j] = j
	}
	tbl, err := fr.RowGroup(g).ReadTable(context.Background(), cols)
	if err != nil {
		return nil, &usererr.Error{File: s.name, Msg: "cannot read Parquet data", Err: err}
	}
	defer tbl.Release()
	return fromArrowKinds(tbl, s.name, kinds)
}

// fromArrowKinds is fromArrow for one row group (which may have no rows),
// with each column at least of kinds[j].
func fromArrowKinds(tbl arrow.Table, name string, kinds []Kind) (*Table, error) {
	rows := int(tbl.NumRows())
	t := &Table{Source: name, Rows: rows}
	if int(tbl.NumCols()) != len(kinds) {
		return nil, usererr.InFile(name, 0, "", "row group with %d columns in a file of %d", tbl.NumCols(), len(kinds))
	}
	for i := 0; i < int(tbl.NumCols()); i++ {
		ac := tbl.Column(i)
		c := newColumn(ac.Name(), ac.DataType(), rows)
		if c.Kind == Int && kinds[i] == Float {
			c.Kind, c.Int, c.Float = Float, nil, make([]float64, 0, rows)
		}
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

// OffsetRows adds rows to the row of a user error from Parse (a chunk's
// rows counted from 1) so that it names the row in the file.
func OffsetRows(err error, rows int) error {
	var ue *usererr.Error
	if errors.As(err, &ue) && ue.Row > 0 {
		c := *ue
		c.Row += rows
		return &c
	}
	return err
}

// ErrKindsChanged is returned by a streaming pass that met a column whose
// kind is wider than the kinds it started with; see MergeKinds.
var ErrKindsChanged = fmt.Errorf("io: column kinds changed")

// Name is the file's name, for messages.
func (s *ChunkSource) Name() string { return s.name }

// JoinNames lists column names for messages as the package's own errors do.
func JoinNames(names []string) string { return joinNames(names) }
