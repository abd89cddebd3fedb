package io

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/ncd-project/ncd/internal/usererr"
)

// The CSV reader scans the in-memory file byte by byte. Unquoted fields are
// sub-slices of the buffer and numbers are parsed from them directly, so a
// numeric cell costs no allocation. Quoted fields follow RFC 4180 (embedded
// delimiters, newlines and doubled quotes); a quote inside an unquoted field
// is taken literally (like encoding/csv's LazyQuotes) since files such as
// `5'11"` heights are common and unambiguous. Empty lines are skipped, a
// UTF-8 byte order mark is dropped, CRLF line ends are accepted.

// parseError is a syntax error at a physical line; the caller adds the row.
type parseError struct {
	line int
	msg  string
}

type csvParser struct {
	data    []byte
	delim   byte
	line    int    // physical line (1-based) where the next record starts
	scratch []byte // unescaped quoted fields of the current record
}

// span locates a field: data[lo:hi], or scratch[lo:hi] when esc. Offsets
// rather than slices: storing them needs no GC write barriers.
type span struct {
	lo, hi int
	esc    bool
}

func (p *csvParser) field(s span) []byte {
	if s.esc {
		return p.scratch[s.lo:s.hi]
	}
	return p.data[s.lo:s.hi]
}

// record splits the record starting at pos into fields (appended to
// fields[:0]) and returns the position after it and the number of newlines
// it spans. Quoted fields containing doubled quotes are unescaped into
// p.scratch, which is reset here.
func (p *csvParser) record(pos int, fields []span) ([]span, int, int, *parseError) {
	fields = fields[:0]
	p.scratch = p.scratch[:0]
	data, delim := p.data, p.delim
	newlines := 0
	for {
		if pos < len(data) && data[pos] == '"' {
			start := pos + 1
			i := start
			esc := false
			elo := len(p.scratch)
			for {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return nil, 0, 0, &parseError{p.line, "quoted field is never closed (missing closing \")"}
				}
				j += i
				if j+1 < len(data) && data[j+1] == '"' { // doubled quote = one quote
					p.scratch = append(p.scratch, data[i:j+1]...)
					esc = true
					i = j + 2
					continue
				}
				f := span{lo: start, hi: j}
				if esc {
					p.scratch = append(p.scratch, data[i:j]...)
					f = span{lo: elo, hi: len(p.scratch), esc: true}
				}
				if f.hi-f.lo > maxLine {
					return nil, 0, 0, &parseError{p.line, "quoted field longer than " + sizeText(maxLine) + " (a missing closing quote?)"}
				}
				newlines += bytes.Count(data[start:j], []byte{'\n'})
				fields = append(fields, f)
				pos = j + 1
				break
			}
			switch {
			case pos >= len(data):
				return fields, pos, newlines, nil
			case data[pos] == delim:
				pos++
				continue
			case data[pos] == '\n':
				return fields, pos + 1, newlines + 1, nil
			case data[pos] == '\r' && (pos+1 == len(data) || data[pos+1] == '\n'):
				if pos+1 == len(data) {
					return fields, pos + 1, newlines, nil
				}
				return fields, pos + 2, newlines + 1, nil
			default:
				return nil, 0, 0, &parseError{p.line + newlines, fmt.Sprintf("unexpected %q after a closing quote (a quote inside a quoted field must be doubled: \"\")", data[pos])}
			}
		}
		i := pos
		for i < len(data) {
			c := data[i]
			if c == delim || c == '\n' {
				break
			}
			i++
		}
		if i-pos > maxLine {
			return nil, 0, 0, &parseError{p.line, "field longer than " + sizeText(maxLine)}
		}
		if i >= len(data) || data[i] == '\n' {
			hi := i
			if hi > pos && data[hi-1] == '\r' {
				hi--
			}
			fields = append(fields, span{lo: pos, hi: hi})
			if i >= len(data) {
				return fields, i, newlines, nil
			}
			return fields, i + 1, newlines + 1, nil
		}
		fields = append(fields, span{lo: pos, hi: i})
		pos = i + 1
	}
}

// skipBlank skips empty lines ("\n" or "\r\n") at pos.
func (p *csvParser) skipBlank(pos int) int {
	for pos < len(p.data) {
		switch {
		case p.data[pos] == '\n':
			pos++
		case p.data[pos] == '\r' && pos+1 < len(p.data) && p.data[pos+1] == '\n':
			pos += 2
		default:
			return pos
		}
		p.line++
	}
	return pos
}

// Delimiters are the field separators the reader sniffs, in the order that
// breaks ties (and the ones --delimiter accepts).
var Delimiters = []byte{',', '\t', ';', '|'}

// Sniffing looks at the header and at most sniffRecords records or
// sniffBytes bytes after it: enough to see that field counts agree, cheap on
// any file.
const (
	sniffRecords = 50
	sniffBytes   = 1 << 20
)

// sniffDelim picks the delimiter of the file starting at data[pos] (the
// header). A candidate is consistent when the header splits into more than one
// field and every sampled record parses (quotes respected, as the parser
// does) into as many fields. Among consistent candidates the one with the
// most fields wins, ties going to the earlier in Delimiters: a stray ';' or
// '|' inside the cells of a comma file changes the field count from row to
// row, the real delimiter does not. When no candidate is consistent (a
// ragged or broken file) the one splitting the header into the most fields
// is taken, so that the parse error that follows names the right problem.
func sniffDelim(data []byte, pos int) byte {
	best, bestN := byte(','), 0
	fallback, fallbackN := byte(','), 1
	var fields []span
	for _, d := range Delimiters {
		p := csvParser{data: data, delim: d}
		var perr *parseError
		var next int
		fields, next, _, perr = p.record(pos, fields)
		if perr != nil {
			continue
		}
		n := len(fields)
		if n > fallbackN {
			fallback, fallbackN = d, n
		}
		if n < 2 {
			continue
		}
		consistent := true
		for r := 0; r < sniffRecords && next-pos < sniffBytes; r++ {
			q := p.skipBlank(next)
			if q >= len(data) {
				break
			}
			fields, next, _, perr = p.record(q, fields)
			if perr != nil || len(fields) != n {
				consistent = false
				break
			}
		}
		if consistent && n > bestN {
			best, bestN = d, n
		}
	}
	if bestN == 0 {
		return fallback
	}
	return best
}

// delimName names a delimiter for messages, as --delimiter spells it.
func delimName(d byte) string {
	if d == '\t' {
		return "tab"
	}
	return string(d)
}

// ParseDelimiter reads a --delimiter value: ",", ";", "|", "tab" (also
// written as a backslash and t, or as a tab character), or "" / "auto" for
// sniffing (returned as 0).
func ParseDelimiter(s string) (byte, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case "tab", `\t`, "\t":
		return '\t', nil
	case ",", ";", "|":
		return s[0], nil
	}
	return 0, usererr.New("--delimiter must be , ; | or tab (or auto to sniff it), got %q", s)
}

// oneColumnHint refuses a header that parsed to a single unquoted column
// whose name holds another likely delimiter: the file is almost certainly
// separated by it, and going on would end in a puzzling "no such target
// column" that lists one long name.
func oneColumnHint(col string, header []byte, delim byte, file string) error {
	bestD, bestN := byte(0), 0
	for _, d := range Delimiters {
		if d == delim {
			continue
		}
		if n := bytes.Count(header, []byte{d}); n > bestN {
			bestD, bestN = d, n
		}
	}
	if bestN == 0 {
		return nil
	}
	return usererr.InFile(file, 0, "", "the header has one column %q: is the file separated by %s? use --delimiter %s",
		col, quoteDelim(bestD), delimName(bestD))
}

func quoteDelim(d byte) string {
	if d == '\t' {
		return "tabs"
	}
	return "'" + string(d) + "'"
}

// colState is a column being built; numeric until a cell is not a number.
type colState struct {
	name   string
	kind   Kind // Int (initially), Float or Text
	sawNum bool // a non-missing numeric cell was seen
	// num holds Int values, or Float values as their bits: one allocation
	// serves both, and the switch from Int to Float converts in place.
	num    []int64
	texts  []string
	null   []bool // nil until the first missing cell
	n      int    // cells so far
	intern map[string]string
}

// maxIntern bounds the per-column string interning: low-cardinality text
// columns (classes, categories) then store each distinct value once, and a
// high-cardinality column (ids) cannot grow the map without bound.
const maxIntern = 4096

var nanBits = int64(math.Float64bits(math.NaN()))

func (c *colState) setNull() {
	if c.null == nil {
		c.null = make([]bool, c.n, max(c.n+1, cap(c.texts), cap(c.num)))
	}
	c.null = append(c.null, true)
}

func (c *colState) text(f []byte) string {
	if s, ok := c.intern[string(f)]; ok { // no allocation for the lookup
		return s
	}
	s := string(f)
	if c.intern == nil {
		c.intern = make(map[string]string)
	}
	if len(c.intern) < maxIntern {
		c.intern[s] = s
	}
	return s
}

// add appends one cell. It returns false when a numeric column meets a
// non-number, so that the caller can recover the earlier cells' text.
func (c *colState) add(f []byte) bool {
	if c.kind == Text {
		c.texts = append(c.texts, c.text(f))
		if isMissing(trimSpace(f)) {
			c.setNull()
		} else if c.null != nil {
			c.null = append(c.null, false)
		}
		c.n++
		return true
	}
	t := trimSpace(f)
	if isMissing(t) {
		c.addNull()
		return true
	}
	if c.kind == Int {
		if v, ok := parseInt(t); ok {
			c.addNum(v)
			return true
		}
	}
	v, ok := parseFloat(t)
	if !ok {
		return false
	}
	if c.kind == Int {
		c.toFloat()
	}
	if math.IsNaN(v) { // "+nan" and the like: missing, as "NaN" is
		c.addNull()
		return true
	}
	c.addNum(int64(math.Float64bits(v)))
	return true
}

func (c *colState) addNum(v int64) {
	c.num = append(c.num, v)
	c.sawNum = true
	if c.null != nil {
		c.null = append(c.null, false)
	}
	c.n++
}

func (c *colState) addNull() {
	if c.kind == Int {
		c.num = append(c.num, 0)
	} else {
		c.num = append(c.num, nanBits)
	}
	c.setNull()
	c.n++
}

func (c *colState) toFloat() {
	for i, v := range c.num {
		if c.null != nil && c.null[i] {
			c.num[i] = nanBits
		} else {
			c.num[i] = int64(math.Float64bits(float64(v)))
		}
	}
	c.kind = Float
}

func (c *colState) column(final bool) *Column {
	if final && c.kind == Int && !c.sawNum && c.n > 0 {
		c.toFloat() // only missing cells: a float column of NaNs
	}
	col := &Column{Name: c.name, Kind: c.kind, Null: c.null}
	switch c.kind {
	case Int:
		col.Int = c.num
	case Float:
		// Same size and alignment, no pointers: reinterpret the bits.
		col.Float = unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(c.num))), len(c.num))
	case Text:
		col.Text = c.texts
	}
	return col
}

// parseCSV parses a whole CSV/TSV file. delim 0 = sniff from the header.
func parseCSV(data []byte, name string, delim byte, opt ReadOptions) (*Table, error) {
	h, p, pos, err := parseHeader(data, name, delim)
	if err != nil {
		return nil, err
	}
	data = p.data
	// Row estimate for preallocation: the line count, but never more than
	// the bytes allow (a record of ncol fields takes at least ncol bytes),
	// so that a wide header over many blank lines cannot reserve gigabytes.
	est := min(bytes.Count(data[pos:], []byte{'\n'})+1, (len(data)-pos+1)/len(h.names)+1)
	cols := h.colStates(opt, nil, est)
	rows, err := p.records(pos, cols, name)
	if err != nil {
		return nil, err
	}
	if rows == 0 {
		return nil, usererr.InFile(name, 0, "", "no data rows: the file has a header but no rows")
	}
	return h.table(name, rows, cols, true), nil
}

// csvHeader is a parsed header line.
type csvHeader struct {
	names []string
	delim byte
}

// parseHeader drops a byte order mark and leading blank lines, sniffs the
// delimiter when delim is 0, and parses the header. It returns the parser
// (over data without the byte order mark) and the position after the header.
func parseHeader(data []byte, name string, delim byte) (*csvHeader, *csvParser, int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	p := &csvParser{data: data, line: 1}
	pos := p.skipBlank(0)
	if pos >= len(data) {
		return nil, nil, 0, usererr.InFile(name, 0, "", "empty file: a header row with the column names is required")
	}
	if delim == 0 {
		delim = sniffDelim(data, pos)
	}
	p.delim = delim

	hdr, next, nl, perr := p.record(pos, nil)
	if perr != nil {
		return nil, nil, 0, usererr.InFile(name, 0, "", "header (line %d): %s", perr.line, perr.msg)
	}
	if len(hdr) == 1 && data[pos] != '"' {
		if err := oneColumnHint(string(trimSpace(p.field(hdr[0]))), p.field(hdr[0]), delim, name); err != nil {
			return nil, nil, 0, err
		}
	}
	p.line += nl
	h := &csvHeader{delim: delim, names: make([]string, len(hdr))}
	seen := make(map[string]int, len(hdr))
	for j, f := range hdr {
		nm := string(trimSpace(p.field(f)))
		if nm == "" {
			// pandas writes its index with an empty name; give it one the
			// user can pass to --exclude or --id.
			nm = "column" + strconv.Itoa(j+1)
		}
		if k, dup := seen[nm]; dup {
			return nil, nil, 0, usererr.InFile(name, 0, nm, "duplicate column name (header columns %d and %d); column names must be unique", k+1, j+1)
		}
		seen[nm] = j
		h.names[j] = nm
	}
	return h, p, next, nil
}

// colStates returns empty column builders for the header's columns:
// ReadOptions.Text columns are text, the others start as Int, or at
// least at kinds[j] when kinds is given (a chunk of a file whose earlier
// chunks showed floats or text in that column).
func (h *csvHeader) colStates(opt ReadOptions, kinds []Kind, est int) []*colState {
	forced := make(map[string]bool, len(opt.Text))
	for _, s := range opt.Text {
		forced[s] = true
	}
	cols := make([]*colState, len(h.names))
	for j, nm := range h.names {
		c := &colState{name: nm, kind: Int}
		if kinds != nil && (kinds[j] == Float || kinds[j] == Text) {
			c.kind = kinds[j]
		}
		if forced[nm] {
			c.kind = Text
		}
		if c.kind == Text {
			c.texts = make([]string, 0, est)
		} else {
			c.num = make([]int64, 0, est)
		}
		cols[j] = c
	}
	return cols
}

// table assembles the parsed columns. final: an Int column that saw only
// missing cells becomes a Float column of NaNs (the whole file has no number
// in it); a chunk keeps it Int, since later chunks may have numbers.
func (h *csvHeader) table(name string, rows int, cols []*colState, final bool) *Table {
	t := &Table{Source: name, Rows: rows, Columns: make([]*Column, len(cols))}
	for j, c := range cols {
		t.Columns[j] = c.column(final)
	}
	return t
}

// records parses the records from pos to the end of p.data into cols and
// returns their number. Errors name rows counted from 1 at pos.
func (p *csvParser) records(pos int, cols []*colState, name string) (int, error) {
	data, ncol := p.data, len(cols)
	var fields []span
	var failed []int
	rowStart := make([]int, 0, 64)
	rows := 0
	for {
		pos = p.skipBlank(pos)
		if pos >= len(data) {
			break
		}
		start, line := pos, p.line
		var perr *parseError
		var next, nl int
		fields, next, nl, perr = p.record(pos, fields)
		rows++
		if perr != nil {
			return 0, usererr.InFile(name, rows, "", "line %d: %s", perr.line, perr.msg)
		}
		if len(fields) != ncol {
			return 0, usererr.InFile(name, rows, "", "line %d has %d fields but the header has %d (ragged row)", line, len(fields), ncol)
		}
		rowStart = append(rowStart, start)
		failed = failed[:0]
		for j, sp := range fields {
			if !cols[j].add(p.field(sp)) {
				failed = append(failed, j)
			}
		}
		if len(failed) > 0 {
			// One re-read for all columns that turn text at this row (a
			// header repeated mid-file turns every column at once).
			if err := p.toText(cols, failed, rowStart[:len(rowStart)-1]); err != nil {
				return 0, usererr.InFile(name, rows, "", "%v", err)
			}
			for _, j := range failed {
				cols[j].add(p.field(fields[j]))
			}
		}
		p.line += nl
		pos = next
	}
	return rows, nil
}

// toText turns the numeric columns idx into text columns, recovering the
// verbatim text of their earlier cells by re-reading those records. It runs
// once per text column, usually at the first row.
func (p *csvParser) toText(cols []*colState, idx []int, starts []int) error {
	q := csvParser{data: p.data, delim: p.delim} // own scratch: p's is in use
	for _, j := range idx {
		cols[j].texts = make([]string, 0, cap(cols[j].num))
	}
	var fields []span
	for _, s := range starts {
		var perr *parseError
		fields, _, _, perr = q.record(s, fields)
		if perr != nil || len(fields) != len(cols) { // cannot happen: these records parsed before
			return fmt.Errorf("internal error re-reading an earlier row")
		}
		for _, j := range idx {
			c := cols[j]
			c.texts = append(c.texts, c.text(q.field(fields[j])))
		}
	}
	for _, j := range idx {
		cols[j].num = nil
		cols[j].kind = Text
	}
	return nil
}

// sizeText prints a byte count in KiB or MiB for messages.
func sizeText(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + " MiB"
	}
	return strconv.Itoa(n>>10) + " KiB"
}
