package io

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	stdio "io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ncd-project/ncd/internal/usererr"
)

// maxLine caps the length of one physical line (and of one field) of a CSV
// file, so that a huge file without newlines (a binary, or a 2 GB line) is
// refused after reading at most this much instead of exhausting memory.
// A variable so that tests can lower it.
var maxLine = 64 << 20

// ReadOptions adjusts Read.
type ReadOptions struct {
	// Text names CSV columns to keep as verbatim text even when every cell is
	// a number. Pass the target and id columns here to keep labels such as
	// "01" or ids such as "007" exactly as written (otherwise they become the
	// numbers 1 and 7, and are written back as such). Names not in the file
	// are ignored. No effect on Parquet, whose columns carry their own type.
	Text []string
	// Delimiter separates CSV fields: ',', '\t', ';' or '|' (see
	// ParseDelimiter); 0 takes a tab for .tsv/.tab names and sniffs it
	// otherwise. No effect on Parquet.
	Delimiter byte
}

// Read reads a table from path: .parquet by extension or content, CSV or TSV
// otherwise (gzip-compressed when the content is gzip, e.g. .csv.gz). Path "-"
// reads from stdin (CSV, TSV, gzip or Parquet by content). Problems with the
// file are *usererr.Error values naming the file, and the row and column
// where they apply.
func Read(path string, stdin stdio.Reader) (*Table, error) {
	return ReadWith(path, stdin, ReadOptions{})
}

// ReadWith is Read with options.
func ReadWith(path string, stdin stdio.Reader, opt ReadOptions) (*Table, error) {
	name := path
	var src stdio.Reader
	size := 0
	if path == "-" {
		name = "stdin"
		if stdin == nil {
			return nil, usererr.New("no standard input to read (--data -)")
		}
		src = stdin
	} else {
		if path == "" {
			return nil, usererr.New("no input file given")
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, &usererr.Error{File: path, Msg: "cannot open", Err: unwrapPathError(err)}
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, &usererr.Error{File: path, Msg: "cannot read", Err: unwrapPathError(err)}
		}
		if st.IsDir() {
			return nil, usererr.InFile(path, 0, "", "is a directory, not a data file")
		}
		if st.Mode().IsRegular() {
			size = int(min(st.Size(), 1<<40))
		}
		if st.Mode().IsRegular() && (isParquetName(path) || hasParquetMagic(f)) {
			return readParquet(f, name)
		}
		src = f // CSV, or gzip/Parquet from a pipe: the content decides below
	}

	br := bufio.NewReaderSize(src, 1<<16)
	head, _ := br.Peek(4)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &usererr.Error{File: name, Msg: "corrupt gzip data", Err: err}
		}
		defer zr.Close()
		return readCSVFrom(zr, name, path, 0, opt)
	case string(head) == "PAR1":
		// Parquet from a pipe: it needs random access, so buffer it whole.
		data, err := stdio.ReadAll(br)
		if err != nil {
			return nil, &usererr.Error{File: name, Msg: "cannot read", Err: err}
		}
		return readParquet(bytes.NewReader(data), name)
	}
	return readCSVFrom(br, name, path, size, opt)
}

func isParquetName(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".parquet" || ext == ".pq"
}

func hasParquetMagic(f *os.File) bool {
	var b [4]byte
	n, _ := f.ReadAt(b[:], 0)
	return n == 4 && string(b[:]) == "PAR1"
}

// unwrapPathError drops the *PathError's repetition of the file name, which
// usererr.Error already prints.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readCSVFrom loads the whole (decompressed) input and parses it. The file is
// held in memory during parsing: numeric cells become float64/int64 and text
// cells are copied out, so the buffer is dropped when Read returns.
func readCSVFrom(r stdio.Reader, name, path string, sizeHint int, opt ReadOptions) (*Table, error) {
	data, err := readAllCapped(r, name, sizeHint)
	if err != nil {
		return nil, err
	}
	delim := opt.Delimiter
	if delim != 0 && bytes.IndexByte(Delimiters, delim) < 0 {
		return nil, usererr.New("the delimiter must be one of , ; | or tab, got %q", delim)
	}
	lp := strings.ToLower(path)
	lp = strings.TrimSuffix(lp, ".gz")
	if delim == 0 && (strings.HasSuffix(lp, ".tsv") || strings.HasSuffix(lp, ".tab")) {
		delim = '\t'
	}
	return parseCSV(data, name, delim, opt)
}

// readAllCapped reads r to the end, refusing a physical line longer than
// maxLine and, early, input whose first line is not text.
func readAllCapped(r stdio.Reader, name string, sizeHint int) ([]byte, error) {
	const chunk = 1 << 20
	// Start small: a multi-gigabyte binary named .csv must be refused by
	// the header check before the whole size is allocated. Once the first
	// line looks like text, grow straight to the file size (+1 so that the
	// final Read sees io.EOF without another growth).
	buf := make([]byte, 0, min(max(sizeHint+1, 4096), chunk))
	lastNL := -1 // index of the last '\n' in buf
	headerOK := false
	for {
		if len(buf) == cap(buf) {
			n := max(2*cap(buf), len(buf)+chunk)
			if headerOK && sizeHint >= len(buf) {
				n = sizeHint + 1
			}
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			old := len(buf)
			buf = buf[:old+n]
			if k := bytes.LastIndexByte(buf[old:], '\n'); k >= 0 {
				lastNL = old + k
			}
			if !headerOK {
				var herr error
				headerOK, herr = checkHeaderBytes(buf, name)
				if herr != nil {
					return nil, herr
				}
			}
			if len(buf)-(lastNL+1) > maxLine {
				line := bytes.Count(buf, []byte{'\n'}) + 1
				return nil, usererr.InFile(name, max(line-1, 0), "",
					"line %d is longer than %s; is this really a CSV file?", line, sizeText(maxLine))
			}
		}
		if err == stdio.EOF {
			if !headerOK {
				if _, herr := checkHeaderBytes(append(buf, '\n'), name); herr != nil {
					return nil, herr
				}
			}
			return buf, nil
		}
		if err != nil {
			if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, stdio.ErrUnexpectedEOF) {
				return nil, &usererr.Error{File: name, Msg: "corrupt or truncated gzip data", Err: err}
			}
			return nil, &usererr.Error{File: name, Msg: "cannot read", Err: err}
		}
	}
}

// checkHeaderBytes refuses input whose first line contains NUL bytes or is not
// UTF-8 (a binary file, an image, UTF-16 text): a clear "not a CSV file"
// beats a parse error deep inside garbage. done is true once the whole first
// line has been checked.
func checkHeaderBytes(buf []byte, name string) (done bool, err error) {
	// The header is the first non-blank line, as the parser sees it.
	buf = bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
	buf = bytes.TrimLeft(buf, "\r\n")
	nl := bytes.IndexByte(buf, '\n')
	line := buf
	if nl >= 0 {
		line = buf[:nl]
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return false, usererr.InFile(name, 0, "", "not a CSV file: the first line contains NUL bytes (a binary file, or UTF-16 text?)")
	}
	if nl < 0 {
		// Incomplete line: check what cannot be a cut-off multi-byte rune.
		if len(line) > utf8.UTFMax && !utf8.Valid(line[:len(line)-utf8.UTFMax]) {
			return false, notUTF8(name)
		}
		return false, nil
	}
	if !utf8.Valid(line) {
		return false, notUTF8(name)
	}
	return true, nil
}

func notUTF8(name string) error {
	return usererr.InFile(name, 0, "", "not a CSV file: the header line is not valid UTF-8 text (a binary file?)")
}
