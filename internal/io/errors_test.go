package io

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/usererr"
)

// wantUserErr checks that err is a *usererr.Error whose message contains
// every part (file, row, column, what is wrong).
func wantUserErr(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one containing %q", what, parts)
		return
	}
	if !usererr.Is(err) {
		t.Errorf("%s: %T is not a user error: %v", what, err, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not contain %q", what, err.Error(), p)
		}
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct {
		name, in string
		parts    []string
	}{
		{"empty", "", []string{"bad.csv", "empty file"}},
		{"blank lines only", "\n\r\n\n", []string{"bad.csv", "empty file"}},
		{"header only", "a,b,class\n", []string{"bad.csv", "no data rows"}},
		{"duplicate names", "a,b,a\n1,2,3\n", []string{"bad.csv", `column "a"`, "duplicate column name", "columns 1 and 3"}},
		{"duplicate after trim", "a, a\n1,2\n", []string{`column "a"`, "duplicate"}},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", []string{"bad.csv: row 2", "line 3 has 2 fields but the header has 3"}},
		{"ragged long", "a,b\n1,2\n3,4\n5,6,7\n", []string{"bad.csv: row 3", "3 fields but the header has 2"}},
		{"unclosed quote", "a,b\n1,2\n\"3,4\n5,6\n", []string{"bad.csv: row 2", "line 3", "never closed"}},
		{"text after quote", "a,b\n\"1\"x,2\n", []string{"bad.csv: row 1", "line 2", `unexpected 'x' after a closing quote`}},
		{"bad header quote", "\"a\"b,c\n1,2\n", []string{"bad.csv", "header", "after a closing quote"}},
		{"NUL bytes", "a,b\x00c\n1,2\n", []string{"bad.csv", "not a CSV file", "NUL"}},
		{"UTF-16", "\xff\xfea\x00,\x00b\x00\n\x00", []string{"not a CSV file"}},
		{"invalid UTF-8 header", "a,\xc3\x28,b\n1,2,3\n", []string{"bad.csv", "not a CSV file", "UTF-8"}},
		{"binary without newline", "\x89PNG\r\x1a\x00\x00\x00\rIHDR", []string{"not a CSV file"}},
	}
	for _, c := range cases {
		_, err := readStr(t, "bad.csv", c.in)
		wantUserErr(t, c.name, err, c.parts...)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(filepath.Join(dir, "nope.csv"), nil)
	wantUserErr(t, "missing file", err, "nope.csv", "cannot open", "no such file")
	_, err = Read(dir, nil)
	wantUserErr(t, "directory", err, "is a directory")
	_, err = Read("", nil)
	wantUserErr(t, "empty path", err, "no input file")

	bad := gz(t, "a,b\n1,2\n3,4\n")
	bad[len(bad)-6] ^= 0xff // break the CRC
	p := filepath.Join(dir, "c.csv.gz")
	os.WriteFile(p, bad, 0o644)
	_, err = Read(p, nil)
	wantUserErr(t, "corrupt gzip", err, "c.csv.gz", "gzip")
	p = filepath.Join(dir, "t.csv.gz")
	full := gz(t, strings.Repeat("a,b\n1,2\n", 1000))
	os.WriteFile(p, full[:len(full)/2], 0o644)
	_, err = Read(p, nil)
	wantUserErr(t, "truncated gzip", err, "t.csv.gz", "gzip")

	p = filepath.Join(dir, "x.parquet")
	os.WriteFile(p, []byte("PAR1 this is not really parquet PAR1"), 0o644)
	_, err = Read(p, nil)
	wantUserErr(t, "corrupt parquet", err, "x.parquet", "Parquet")
	p = filepath.Join(dir, "y.parquet")
	os.WriteFile(p, []byte("a,b\n1,2\n"), 0o644)
	_, err = Read(p, nil)
	wantUserErr(t, "csv named parquet", err, "y.parquet", "Parquet")
}

func TestReadLongLine(t *testing.T) {
	defer func(v int) { maxLine = v }(maxLine)
	maxLine = 1 << 10
	// One enormous line (the 2 GB case, scaled down): refused after
	// reading about maxLine bytes, from a file and from stdin.
	big := "a,b\n1,2\n" + strings.Repeat("x", 50<<10) + "\n"
	_, err := readStr(t, "long.csv", big)
	wantUserErr(t, "long line", err, "long.csv", "row 2", "line 3", "longer than 1 KiB")
	r := &countingReader{r: strings.NewReader(big)}
	_, err = Read("-", r)
	wantUserErr(t, "long line stdin", err, "stdin", "longer than")
	if r.n > 1<<20+4<<10 { // one read chunk plus bufio's buffer at most
		t.Errorf("read %d bytes before refusing the line", r.n)
	}
	// A long quoted field spread over short lines.
	_, err = readStr(t, "q.csv", "a,b\n\""+strings.Repeat("y\n", 1000)+"\",1\n")
	wantUserErr(t, "long field", err, "q.csv", "row 1", "longer than")
	// A header without newline that is too long.
	_, err = readStr(t, "h.csv", strings.Repeat("h", 4<<10))
	wantUserErr(t, "long header", err, "h.csv", "line 1 is longer than")
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// fitErr reads a CSV, fits and transforms it, returning the first error.
func fitErr(t *testing.T, in string, r Roles) error {
	t.Helper()
	tb := mustRead(t, "data.csv", in)
	p, err := Fit(tb, r)
	if err != nil {
		return err
	}
	_, err = p.Transform(tb)
	return err
}

func TestFitErrors(t *testing.T) {
	base := "a,b,class\n1,2,x\n3,4,y\n5,6,x\n"
	cases := []struct {
		name, in string
		roles    Roles
		parts    []string
	}{
		{"unknown target", base, Roles{Target: "label"}, []string{"data.csv", `column "label"`, "no such target column", "columns: a, b, class"}},
		{"default target absent", "a,b\n1,2\n3,4\n", Roles{}, []string{`column "class"`, "--target"}},
		{"unknown id", base, Roles{ID: "row"}, []string{`column "row"`, "no such --id column"}},
		{"novel absent", base, Roles{Novel: []string{"z"}}, []string{"data.csv", `column "class"`, `--novel class "z" does not occur`, "classes: x, y"}},
		{"novel without target", "a,b\n1,2\n3,4\n", Roles{Target: NoTarget, Novel: []string{"x"}}, []string{"--novel needs a target"}},
		{"features unknown", base, Roles{Features: []string{"a", "zz", "yy"}}, []string{"data.csv", `--features names unknown columns "zz", "yy"`, "columns: a, b, class"}},
		{"exclude unknown", base, Roles{Exclude: []string{"q"}}, []string{`--exclude names unknown columns "q"`}},
		{"target as feature", base, Roles{Features: []string{"a", "class"}}, []string{`column "class"`, "target column cannot be a feature"}},
		{"no features left", base, Roles{Exclude: []string{"a", "b"}}, []string{"data.csv", "no feature columns left"}},
		{"all constant", "a,b,class\n1,2,x\n1,2,y\n", Roles{}, []string{"no feature columns left", "constant", "a, b"}},
		{"missing value", "a,b,class\n1,2,x\n3,,y\n5,6,x\n", Roles{}, []string{"data.csv: row 2", `column "b"`, "missing value", "--impute"}},
		{"NA value", "a,b,class\n1,2,x\n3,4,y\nNA,6,x\n", Roles{}, []string{"data.csv: row 3", `column "a"`, "missing value"}},
		{"Inf value", "a,b,class\n1,2,x\n3,Inf,y\n", Roles{}, []string{"data.csv: row 2", `column "b"`, "non-finite value +Inf"}},
		{"-Inf value", "a,b,class\n-inf,2,x\n3,1,y\n", Roles{}, []string{"data.csv: row 1", `column "a"`, "non-finite value -Inf"}},
		{"overflow value", "a,b,class\n1e999,2,x\n3,1,y\n", Roles{}, []string{"row 1", `column "a"`, "non-finite"}},
		{"bad impute", base, Roles{Impute: "mode"}, []string{`--impute must be mean or median, got "mode"`}},
		{"stray word", "x,class\n" + strings.Repeat("1,a\n2,b\n3,a\n", 3) + "oops,b\n4,a\n5,b\n", Roles{MaxLevels: 4},
			[]string{"data.csv", `column "x"`, "6 distinct values, more than the limit of 4", `row 10 has "oops"`, "11 other cells are numbers"}},
		{"identifier", "name,v,class\nann,1,a\nbob,2,b\ncid,3,a\n", Roles{MaxLevels: 2},
			[]string{`column "name"`, "3 distinct values", `first value "ann" at row 1`, "--id"}},
	}
	for _, c := range cases {
		wantUserErr(t, c.name, fitErr(t, c.in, c.roles), c.parts...)
	}
}

func TestTransformErrors(t *testing.T) {
	train := mustRead(t, "train.csv", "a,b,color,class\n1,2,red,x\n3,4,blue,y\n5,7,red,x\n")
	p, err := Fit(train, Roles{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, in string
		parts    []string
	}{
		{"missing column", "a,color,class\n1,red,x\n", []string{"test.csv", `column "b"`, "column is missing", "fitted with the columns a, b, color"}},
		{"text in numeric", "a,b,color,class\n1,2,red,x\n2,two,red,y\n", []string{"test.csv: row 2", `column "b"`, `"two" is not a number`}},
		{"missing numeric", "a,b,color,class\n1,2,red,x\n2,,red,y\n", []string{"test.csv: row 2", `column "b"`, "missing value"}},
		{"inf numeric", "a,b,color,class\n1,2,red,x\n2,-Inf,red,y\n", []string{"test.csv: row 2", `column "b"`, "non-finite"}},
	}
	for _, c := range cases {
		_, err := p.Transform(mustRead(t, "test.csv", c.in))
		wantUserErr(t, c.name, err, c.parts...)
	}
}

func TestTransformTooWide(t *testing.T) {
	levels := make([]string, 60000)
	for i := range levels {
		levels[i] = strconv.Itoa(i)
	}
	p := &Preprocessor{Roles: Roles{Target: NoTarget}, Features: []Feature{{Name: "t", Kind: Text, Levels: levels}}}
	tb := &Table{Source: "wide.csv", Rows: 40000}
	tb.AppendText("t", make([]string, 40000))
	_, err := p.Transform(tb)
	wantUserErr(t, "too wide", err, "wide.csv", "40000 rows x 60000 columns", "--exclude")
}

// Errors from a whole run through bytes given on stdin name "stdin".
func TestStdinErrorsNameStdin(t *testing.T) {
	_, err := Read("-", bytes.NewReader([]byte("a,b\n1\n")))
	wantUserErr(t, "stdin ragged", err, "stdin: row 1", "1 fields")
}
