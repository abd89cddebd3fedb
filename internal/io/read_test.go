package io

import (
	"bytes"
	"compress/gzip"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readStr reads CSV text as a file with the given name in a temp folder.
func readStr(t *testing.T, name, content string) (*Table, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return Read(path, nil)
}

func mustRead(t *testing.T, name, content string) *Table {
	t.Helper()
	tb, err := readStr(t, name, content)
	if err != nil {
		t.Fatalf("read %q: %v", content, err)
	}
	return tb
}

func col(t *testing.T, tb *Table, name string) *Column {
	t.Helper()
	c, _ := tb.Col(name)
	if c == nil {
		t.Fatalf("no column %q in %v", name, tb.Names())
	}
	return c
}

func TestReadQuotedFields(t *testing.T) {
	in := "name,\"note, with comma\",x\r\n" +
		"plain,\"He said \"\"hi\"\"\",1\r\n" +
		"\"multi\nline\",\"a,b\",2\r\n" +
		"\"\",\"\"\"\",3\r\n" +
		"5'11\",bare\"quote,4\n"
	tb := mustRead(t, "q.csv", in)
	if got, want := tb.Names(), []string{"name", "note, with comma", "x"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
	if tb.Rows != 4 {
		t.Fatalf("rows %d, want 4", tb.Rows)
	}
	name := col(t, tb, "name")
	if want := []string{"plain", "multi\nline", "", "5'11\""}; !reflect.DeepEqual(name.Text, want) {
		t.Errorf("name %q, want %q", name.Text, want)
	}
	if want := []bool{false, false, true, false}; !reflect.DeepEqual(name.Null, want) {
		t.Errorf("name nulls %v, want %v", name.Null, want)
	}
	note := col(t, tb, "note, with comma")
	if want := []string{`He said "hi"`, "a,b", `"`, `bare"quote`}; !reflect.DeepEqual(note.Text, want) {
		t.Errorf("note %q, want %q", note.Text, want)
	}
	x := col(t, tb, "x")
	if x.Kind != Int || !reflect.DeepEqual(x.Int, []int64{1, 2, 3, 4}) || x.Null != nil {
		t.Errorf("x = %v %v %v", x.Kind, x.Int, x.Null)
	}
}

func TestReadDelimiterSniffing(t *testing.T) {
	// Tabs in the header and no commas: tab-separated whatever the name.
	for _, name := range []string{"a.csv", "a.txt", "a"} {
		tb := mustRead(t, name, "a\tb\tclass\n1.5\t2\tx\n3\t4\ty\n")
		if got := tb.Names(); !reflect.DeepEqual(got, []string{"a", "b", "class"}) {
			t.Errorf("%s: names %q", name, got)
		}
		if c := col(t, tb, "a"); c.Kind != Float || !reflect.DeepEqual(c.Float, []float64{1.5, 3}) {
			t.Errorf("%s: a = %v %v", name, c.Kind, c.Float)
		}
	}
	// .tsv forces tabs even when the header has more commas than tabs.
	tb := mustRead(t, "a.tsv", "x,y\tz\n1,2\t3\n")
	if got := tb.Names(); !reflect.DeepEqual(got, []string{"x,y", "z"}) {
		t.Errorf(".tsv names %q", got)
	}
	// Commas win a tie and inside quotes nothing counts.
	tb = mustRead(t, "b.csv", "\"a\tb\",c\n1,2\n")
	if got := tb.Names(); !reflect.DeepEqual(got, []string{"a\tb", "c"}) {
		t.Errorf("quoted tab names %q", got)
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadGzipAndStdin(t *testing.T) {
	dir := t.TempDir()
	csv := "a,class\n1,x\n2,y\n"
	tsv := "a\tclass\n1\tx\n2\ty\n"
	for name, data := range map[string][]byte{
		"d.csv.gz": gz(t, csv), "d.tsv.gz": gz(t, tsv), "d.csv": []byte(csv), "d.gz": gz(t, csv),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tb, err := Read(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tb.Rows != 2 || !reflect.DeepEqual(col(t, tb, "class").Text, []string{"x", "y"}) {
			t.Errorf("%s: got %d rows %v", name, tb.Rows, tb.Names())
		}
	}
	for _, data := range [][]byte{[]byte(csv), gz(t, csv), []byte(tsv)} {
		tb, err := Read("-", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if tb.Source != "stdin" || tb.Rows != 2 || !reflect.DeepEqual(col(t, tb, "a").Int, []int64{1, 2}) {
			t.Errorf("stdin: %+v", tb)
		}
	}
	if _, err := Read("-", nil); err == nil || !strings.Contains(err.Error(), "no standard input") {
		t.Errorf("nil stdin: %v", err)
	}
}

func TestReadKindsAndMissing(t *testing.T) {
	in := "i,f,big,miss,txt,allna,sp,inf\n" +
		"1,1.5,9223372036854775807,NA,NA,,  7 ,Inf\n" +
		"+2,-0.25,9223372036854775808,nan,b,NA,8,-inf\n" +
		"-3,1e3,1,NULL,null,null,9 ,1\n" +
		"4,,2,  ,c,nan,10,2\n"
	tb := mustRead(t, "k.csv", in)
	check := func(name string, kind Kind) *Column {
		c := col(t, tb, name)
		if c.Kind != kind {
			t.Errorf("%s: kind %v, want %v", name, c.Kind, kind)
		}
		return c
	}
	if c := check("i", Int); !reflect.DeepEqual(c.Int, []int64{1, 2, -3, 4}) || c.Null != nil {
		t.Errorf("i = %v %v", c.Int, c.Null)
	}
	c := check("f", Float)
	if c.Float[0] != 1.5 || c.Float[1] != -0.25 || c.Float[2] != 1000 || !math.IsNaN(c.Float[3]) ||
		!reflect.DeepEqual(c.Null, []bool{false, false, false, true}) {
		t.Errorf("f = %v %v", c.Float, c.Null)
	}
	// An integer beyond int64 makes the column float.
	if c := check("big", Float); c.Float[0] != 9223372036854775807 || c.Float[1] != 9223372036854775808 {
		t.Errorf("big = %v", c.Float)
	}
	// Missing tokens in any case, and blanks, are nulls; a column of nothing
	// but missing cells is a float column of NaNs.
	if c := check("miss", Float); !reflect.DeepEqual(c.Null, []bool{true, true, true, true}) {
		t.Errorf("miss nulls %v", c.Null)
	}
	if c := check("allna", Float); c.NullCount() != 4 {
		t.Errorf("allna nulls %v", c.Null)
	}
	// Text keeps the cells verbatim, missing tokens included (marked null).
	c = check("txt", Text)
	if !reflect.DeepEqual(c.Text, []string{"NA", "b", "null", "c"}) || !reflect.DeepEqual(c.Null, []bool{true, false, true, false}) {
		t.Errorf("txt = %q %v", c.Text, c.Null)
	}
	if got := c.Strings(); !reflect.DeepEqual(got, []string{"", "b", "", "c"}) {
		t.Errorf("txt Strings %q", got)
	}
	// Spaces around numbers are ignored.
	if c := check("sp", Int); !reflect.DeepEqual(c.Int, []int64{7, 8, 9, 10}) {
		t.Errorf("sp = %v", c.Int)
	}
	// Inf is a number (rejected later by Fit), not a missing value.
	if c := check("inf", Float); !math.IsInf(c.Float[0], 1) || !math.IsInf(c.Float[1], -1) || c.Null != nil {
		t.Errorf("inf = %v %v", c.Float, c.Null)
	}
}

func TestReadNumericTurnsText(t *testing.T) {
	// The stray word comes late: earlier cells must come back verbatim,
	// including quoting and non-canonical numbers.
	in := "x,y\n1.50,1\n\"2\",2\n007,3\nNA,4\noops,5\n+6,6\n"
	tb := mustRead(t, "t.csv", in)
	x := col(t, tb, "x")
	if x.Kind != Text || !reflect.DeepEqual(x.Text, []string{"1.50", "2", "007", "NA", "oops", "+6"}) {
		t.Fatalf("x = %v %q", x.Kind, x.Text)
	}
	if !reflect.DeepEqual(x.Null, []bool{false, false, false, true, false, false}) {
		t.Errorf("x nulls %v", x.Null)
	}
	if y := col(t, tb, "y"); y.Kind != Int {
		t.Errorf("y kind %v", y.Kind)
	}
	// Two files concatenated: the second header turns every column at once.
	tb = mustRead(t, "cat.csv", "a,b,c\n1,2.5,x\n3,\"4\",y\na,b,c\n5,6,z\n")
	for j, want := range [][]string{{"1", "3", "a", "5"}, {"2.5", "4", "b", "6"}, {"x", "y", "c", "z"}} {
		if c := tb.Columns[j]; c.Kind != Text || !reflect.DeepEqual(c.Text, want) {
			t.Errorf("column %d: %v %q, want %q", j, c.Kind, c.Text, want)
		}
	}
}

func TestReadOptionsText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.csv")
	os.WriteFile(path, []byte("id,class,v\n007,01,1\n008,02,2\n"), 0o644)
	tb, err := ReadWith(path, nil, ReadOptions{Text: []string{"id", "class", "absent"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := col(t, tb, "id"); c.Kind != Text || !reflect.DeepEqual(c.Text, []string{"007", "008"}) {
		t.Errorf("id = %v %q", c.Kind, c.Text)
	}
	if c := col(t, tb, "class"); c.Kind != Text || !reflect.DeepEqual(c.Text, []string{"01", "02"}) {
		t.Errorf("class = %v %q", c.Kind, c.Text)
	}
	tb = mustRead(t, "o.csv", "id,class,v\n007,01,1\n008,02,2\n")
	if c := col(t, tb, "id"); c.Kind != Int || !reflect.DeepEqual(c.Strings(), []string{"7", "8"}) {
		t.Errorf("id without option = %v %q", c.Kind, c.Strings())
	}
}

func TestReadLayoutQuirks(t *testing.T) {
	// UTF-8 BOM, blank lines (also before the header), CRLF, no final
	// newline, an unnamed first column (pandas' index), names trimmed.
	in := "\xef\xbb\xbf\r\n\n,a , b\r\n0,1,x\r\n\r\n1,2,y"
	tb := mustRead(t, "l.csv", in)
	if got := tb.Names(); !reflect.DeepEqual(got, []string{"column1", "a", "b"}) {
		t.Fatalf("names %q", got)
	}
	if tb.Rows != 2 || !reflect.DeepEqual(col(t, tb, "b").Text, []string{"x", "y"}) {
		t.Errorf("rows %d, b %q", tb.Rows, col(t, tb, "b").Text)
	}
	// A trailing delimiter is one more (empty) field.
	tb = mustRead(t, "e.csv", "a,b\n1,\n2,\n")
	if c := col(t, tb, "b"); c.NullCount() != 2 {
		t.Errorf("b nulls %v", c.Null)
	}
}

func TestColumnStrings(t *testing.T) {
	c := &Column{Kind: Float, Float: []float64{0.1, 1e21, math.Copysign(0, -1), math.NaN(), math.Inf(1), 3}, Null: []bool{false, false, false, true, false, false}}
	if got, want := c.Strings(), []string{"0.1", "1e+21", "-0", "", "+Inf", "3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("float Strings %q, want %q", got, want)
	}
	c = &Column{Kind: Int, Int: []int64{-5, 0, math.MaxInt64}}
	if got, want := c.Strings(), []string{"-5", "0", "9223372036854775807"}; !reflect.DeepEqual(got, want) {
		t.Errorf("int Strings %q, want %q", got, want)
	}
	c = &Column{Kind: Bool, Bool: []bool{true, false, false}, Null: []bool{false, false, true}}
	if got, want := c.Strings(), []string{"true", "false", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("bool Strings %q, want %q", got, want)
	}
}

func TestTableAppend(t *testing.T) {
	tb := mustRead(t, "a.csv", "a,b\n1,2\n3,4\n")
	cp := tb.ShallowCopy()
	cp.AppendText("cluster", []string{"x", "novel_0"})
	cp.AppendBool("unlabeled", []bool{false, true})
	cp.AppendText("a", []string{"r", "s"}) // replaces in place
	if got := cp.Names(); !reflect.DeepEqual(got, []string{"a", "b", "cluster", "unlabeled"}) {
		t.Errorf("names %q", got)
	}
	if col(t, cp, "a").Kind != Text || len(tb.Columns) != 2 || col(t, tb, "a").Kind != Int {
		t.Errorf("ShallowCopy did not isolate the original")
	}
	defer func() {
		if recover() == nil {
			t.Errorf("AppendText with the wrong length did not panic")
		}
	}()
	cp.AppendText("bad", []string{"x"})
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	cases := []string{"0", "-0", "+0", "1", "1.", ".5", "-.5", "0.1", "123456789012345", "1234567890123456",
		"12345678901234567890", "1e22", "1e23", "1e-22", "1e-23", "4.9e-324", "1e-400", "1.7976931348623157e308",
		"2e308", "0.000000000000000000000001", "9007199254740993", "3.14159", "1E5", "1e+5", "1e", "e5", ".", "-",
		"+", "1.2.3", "0x1p-2", "0x10", "inf", "-Infinity", "nan", "NaN", "1_000", "0x_1p0", "00012.50", "1e0001",
		"123.456e-7", "99999999999999999999e-20", "1d", "١", "", " 1", "0.30000000000000004"}
	for _, s := range cases {
		want, err := strconvParse(s)
		got, ok := parseFloat([]byte(s))
		if ok != (err == nil) {
			t.Errorf("%q: ok %v, strconv err %v", s, ok, err)
			continue
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("%q: %v (%x), strconv %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// strconvParse is the reference for parseFloat: strconv.ParseFloat, where an
// out-of-range value (±Inf) still counts as a number.
func strconvParse(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		err = nil
	}
	return v, err
}

func TestParseFloatRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200000 {
		var s string
		switch i % 4 {
		case 0: // shortest form of a random double
			s = strconv.FormatFloat(math.Float64frombits(rng.Uint64()), 'g', -1, 64)
		case 1: // fixed decimals of a moderate value
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(12)-4)), 'f', rng.IntN(10), 64)
		case 2: // random digit strings with a point and an exponent
			b := []byte{}
			for range 1 + rng.IntN(20) {
				b = append(b, byte('0'+rng.IntN(10)))
			}
			b = slices.Insert(b, rng.IntN(len(b)+1), '.')
			s = string(b) + "e" + strconv.Itoa(rng.IntN(60)-30)
		case 3:
			s = strconv.FormatInt(rng.Int64()>>rng.IntN(64), 10)
		}
		want, err := strconvParse(s)
		got, ok := parseFloat([]byte(s))
		if ok != (err == nil) || (ok && math.Float64bits(got) != math.Float64bits(want) && !math.IsNaN(want)) {
			t.Fatalf("%q: got %v %v, strconv %v %v", s, got, ok, want, err)
		}
		if iv, ok := parseInt([]byte(s)); ok {
			if w, err := strconv.ParseInt(s, 10, 64); err != nil || w != iv {
				t.Fatalf("parseInt(%q) = %d, strconv %d %v", s, iv, w, err)
			}
		}
	}
}
