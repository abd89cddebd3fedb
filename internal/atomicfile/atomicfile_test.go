package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncd-project/ncd/internal/usererr"
)

// TestWrite: a failing fill leaves the old file and no temporary file; a
// successful one replaces it; a folder or a missing folder is a user error
// naming the path.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, true, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fill error %v, want boom", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("a failed write changed the file to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries left in the folder, want only out.txt", len(entries))
	}
	if err := WriteBytes(path, false, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("file holds %q, want new", b)
	}
	for _, bad := range []string{dir, filepath.Join(dir, "no", "x.txt")} {
		err := CheckWritable(bad)
		if !usererr.Is(err) || !strings.HasPrefix(err.Error(), bad+": ") {
			t.Errorf("CheckWritable(%s) = %v", bad, err)
		}
	}
	if err := CheckWritable(path); err != nil {
		t.Errorf("CheckWritable(existing file) = %v", err)
	}
}

// TestSink: /dev/null is a sink, written in place and never replaced.
func TestSink(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	if !IsSink("/dev/null") || IsSink(t.TempDir()) || IsSink(filepath.Join(t.TempDir(), "new.csv")) || IsSink("-") {
		t.Fatal("IsSink: /dev/null should be the only sink here")
	}
	if err := WriteBytes("/dev/null", true, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable("/dev/null"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null replaced: %v %v", st.Mode(), err)
	}
}
