package io

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSniffSemicolonAndPipeWine: wine.csv rewritten with ';' and '|' as the
// delimiter (every cell a plain number or class name, so a byte-level
// replacement is exact) reads back as the same table, column for column.
func TestSniffSemicolonAndPipeWine(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/wine.csv")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Read("../../testdata/wine.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want.Rows != 178 || len(want.Columns) != 14 {
		t.Fatalf("wine.csv: %d rows, %d columns", want.Rows, len(want.Columns))
	}
	dir := t.TempDir()
	for _, d := range []string{";", "|", "\t"} {
		path := filepath.Join(dir, "wine.txt")
		if err := os.WriteFile(path, bytes.ReplaceAll(raw, []byte(","), []byte(d)), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path, nil)
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		sameValues(t, got, want)
		// Kinds too: the numeric columns stay numeric, the class text.
		for j, c := range got.Columns {
			if c.Kind != want.Columns[j].Kind {
				t.Errorf("%q: column %q is %v, want %v", d, c.Name, c.Kind, want.Columns[j].Kind)
			}
		}
	}
}

func TestSniffDelimiter(t *testing.T) {
	cases := []struct {
		name, in string
		names    []string
	}{
		// European CSV: ';' between fields, decimal commas inside them.
		// Counting commas in the header alone would find none; in the
		// rows, a varying number.
		{"semicolon, decimal commas", "a;b;class\n1,5;2;x\n3;4,25;y\n", []string{"a", "b", "class"}},
		{"pipe", "a|b|class\n1|2|x\n3|4|y\n", []string{"a", "b", "class"}},
		// A ';' or '|' inside the cells of a comma file: field counts under
		// them vary (or the header has one field), commas are consistent.
		{"comma with semicolons in cells", "name,tags,class\nx,a;b;c,1\ny,d,2\n", []string{"name", "tags", "class"}},
		{"comma with pipes in header and cells", "a|b,c\n1|2,3\n4|5,6\n", []string{"a|b", "c"}},
		// Quotes are respected: the ';' inside "a;b" does not count.
		{"quoted semicolons", "\"a;b\";c;class\n\"1;2\";3;x\n", []string{"a;b", "c", "class"}},
		{"quoted commas in a semicolon file", "\"x,y\";class\n\"1,5\";a\n2;b\n", []string{"x,y", "class"}},
		// More fields wins among consistent candidates: tab over comma here.
		{"tabs with commas inside", "a\tb\tc,d\n1\t2\t3,4\n", []string{"a", "b", "c,d"}},
		// CRLF and a BOM do not disturb the sniffing.
		{"CRLF semicolons", "\xef\xbb\xbfa;b\r\n1;2\r\n", []string{"a", "b"}},
	}
	for _, c := range cases {
		tb, err := readStr(t, "s.csv", c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := tb.Names(); !reflect.DeepEqual(got, c.names) {
			t.Errorf("%s: names %q, want %q", c.name, got, c.names)
		}
	}
	// The decimal-comma cells stay verbatim text (ncd does not read decimal
	// commas as numbers); the plain ones are numbers.
	tb := mustRead(t, "s.csv", "a;b;class\n1,5;2;x\n3;4;y\n")
	if a, b := col(t, tb, "a"), col(t, tb, "b"); a.Kind != Text || !reflect.DeepEqual(a.Text, []string{"1,5", "3"}) || b.Kind != Int {
		t.Errorf("a %v %q, b %v", a.Kind, a.Text, b.Kind)
	}
}

func TestSniffRaggedKeepsBestDelimiter(t *testing.T) {
	// No candidate is consistent; the one splitting the header most is
	// used, so the error is about the ragged row, not a missing column.
	_, err := readStr(t, "r.csv", "a;b;c\n1;2;3\n4;5\n")
	wantUserErr(t, "ragged ;", err, "r.csv: row 2", "line 3 has 2 fields but the header has 3")
	_, err = readStr(t, "r.csv", "a|b\n1|2\n3|4|5\n")
	wantUserErr(t, "ragged |", err, "r.csv: row 2", "3 fields but the header has 2")
}

func TestExplicitDelimiter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "semi.csv")
	if err := os.WriteFile(path, []byte("a;b;class\n1;2;x\n3;4;y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := ReadWith(path, nil, ReadOptions{Delimiter: ';'})
	if err != nil || !reflect.DeepEqual(tb.Names(), []string{"a", "b", "class"}) {
		t.Fatalf("--delimiter ';': %v %v", err, tb)
	}
	// The wrong one: the header is one column holding ';', and the error
	// says what to do.
	_, err = ReadWith(path, nil, ReadOptions{Delimiter: ','})
	wantUserErr(t, "forced comma", err, "semi.csv", `the header has one column "a;b;class"`, "separated by ';'", "use --delimiter ;")
	_, err = ReadWith(path, nil, ReadOptions{Delimiter: '|'})
	wantUserErr(t, "forced pipe", err, `one column "a;b;class"`, "--delimiter ;")
	// .tsv forces tabs; a comma file named .tsv gets the hint.
	tsv := filepath.Join(dir, "x.tsv")
	if err := os.WriteFile(tsv, []byte("a,b,class\n1,2,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Read(tsv, nil)
	wantUserErr(t, ".tsv with commas", err, "x.tsv", "separated by ','", "use --delimiter ,")
	// ... and an explicit delimiter overrides the extension.
	if tb, err = ReadWith(tsv, nil, ReadOptions{Delimiter: ','}); err != nil || len(tb.Columns) != 3 {
		t.Fatalf(".tsv with --delimiter ,: %v", err)
	}
	tab := filepath.Join(dir, "tab.csv")
	if err := os.WriteFile(tab, []byte("a\tb\n1\t2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadWith(tab, nil, ReadOptions{Delimiter: ';'})
	wantUserErr(t, "tabs", err, "separated by tabs", "use --delimiter tab")
	// A quoted single column is what the file means: no hint.
	q := filepath.Join(dir, "q.csv")
	if err := os.WriteFile(q, []byte("\"a;b\"\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tb, err = Read(q, nil); err != nil || !reflect.DeepEqual(tb.Names(), []string{"a;b"}) {
		t.Fatalf("quoted single column: %v", err)
	}
	// Same on stdin.
	_, err = ReadWith("-", strings.NewReader("a;b\n1;2\n"), ReadOptions{Delimiter: ','})
	wantUserErr(t, "stdin", err, "stdin", "use --delimiter ;")
	// A delimiter that is not one of the four is refused.
	_, err = ReadWith(path, nil, ReadOptions{Delimiter: 'x'})
	wantUserErr(t, "bad byte", err, "delimiter must be one of")
}

func TestParseDelimiter(t *testing.T) {
	for in, want := range map[string]byte{"": 0, "auto": 0, ",": ',', ";": ';', "|": '|', "tab": '\t', "TAB": '\t', `\t`: '\t', "\t": '\t'} {
		got, err := ParseDelimiter(in)
		if err != nil || got != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{":", "comma", ";;", " "} {
		_, err := ParseDelimiter(in)
		wantUserErr(t, in, err, "--delimiter must be , ; | or tab", "got")
	}
}

// The writer quotes every sniffed delimiter, so that a one-column table
// whose name holds ';' reads back as one column.
func TestWriteQuotesSniffedDelimiters(t *testing.T) {
	tb := &Table{Source: "mem", Rows: 2}
	tb.AppendText("a;b|c", []string{"1;2", "x|y"})
	var buf bytes.Buffer
	if err := WriteTo(&buf, tb, CSV); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "\"a;b|c\"\n\"1;2\"\n\"x|y\"\n"; got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	back, err := Read("-", &buf)
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, back, tb)
}
