// Package study stores a tune's trials durably in a JSON Lines file, so that
// an interrupted search (Ctrl-C, kill -9, a crash) resumes without losing a
// finished trial.
//
// Line 1 is the header: the format version, a fingerprint of the data and of
// every setting the trials depend on, and those settings in clear (to say
// what differs when a study is refused). Every other line is one finished
// trial (cv.Trial as JSON), appended and fsynced as soon as it finishes, in
// finishing order. A process killed in the middle of a write leaves at most
// one incomplete last line: Load drops it with a warning, and Append
// continues after the last complete line.
package study

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/ncd-project/ncd/internal/atomicfile"
	"github.com/ncd-project/ncd/internal/cv"
	"github.com/ncd-project/ncd/internal/usererr"
)

// Version is the study file format version.
const Version = 1

// Header is a study file's first line.
type Header struct {
	// Study is the format version (the key also marks the file as a study).
	Study int `json:"ncd_study"`
	// Fingerprint hashes the data and Settings.
	Fingerprint string `json:"fingerprint"`
	// Settings are the settings the trials depend on, by name.
	Settings map[string]string `json:"settings"`
	// NCDVersion and Created are informative.
	NCDVersion string `json:"ncd_version,omitempty"`
	Created    string `json:"created,omitempty"`
}

// Study is a loaded study file.
type Study struct {
	Header Header
	// Trials are the finished trials, by index.
	Trials []cv.Trial
	// Warnings report what was dropped (an incomplete last line, duplicates).
	Warnings []string
	// size is the length of the valid prefix of the file, read the file's
	// length when it was loaded.
	size, read int64
}

// errLocked reports a study locked by another process.
var errLocked = errors.New("locked")

func lockError(path string) error {
	return &usererr.Error{File: path, Msg: "study is being written by another ncd tune process; wait for it to finish, or use another --study"}
}

// Load reads the study at path. A missing file is reported with an error
// satisfying errors.Is(err, os.ErrNotExist).
func Load(path string) (*Study, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Study{read: int64(len(data))}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 || !bytes.HasSuffix(lines[0], []byte("\n")) {
		return nil, &usererr.Error{File: path, Msg: "not an ncd study file (no complete header line); delete it or choose another --study"}
	}
	dec := func(b []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	if err := dec(lines[0], &s.Header); err != nil || s.Header.Study == 0 || s.Header.Fingerprint == "" {
		return nil, &usererr.Error{File: path, Row: 1, Msg: "not an ncd study file (bad header line); delete it or choose another --study"}
	}
	if s.Header.Study != Version {
		return nil, &usererr.Error{File: path, Msg: fmt.Sprintf("study format version %d, this ncd reads version %d", s.Header.Study, Version)}
	}
	s.size = int64(len(lines[0]))
	seen := map[int]bool{}
	for n, line := range lines[1:] {
		last := n == len(lines)-2
		var t cv.Trial
		err := dec(line, &t)
		if err == nil && !bytes.HasSuffix(line, []byte("\n")) {
			err = errors.New("no end of line")
		}
		if err == nil && (t.Index < 0 || len(t.Folds) == 0 || t.Params == nil) {
			err = errors.New("not a trial")
		}
		if err != nil {
			if last {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: line %d is incomplete (interrupted write?); dropped", path, n+2))
				break
			}
			return nil, &usererr.Error{File: path, Row: n + 2, Msg: "corrupt trial line (only the last line may be incomplete)", Err: err}
		}
		s.size += int64(len(line))
		if seen[t.Index] {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: line %d repeats trial %d; ignored", path, n+2, t.Index))
			continue
		}
		seen[t.Index] = true
		s.Trials = append(s.Trials, t)
	}
	sort.Slice(s.Trials, func(i, j int) bool { return s.Trials[i].Index < s.Trials[j].Index })
	return s, nil
}

// Mismatch lists the settings that differ between two headers ("key: old ->
// new"), sorted; empty when only the data differ.
func Mismatch(old, cur Header) []string {
	var out []string
	keys := map[string]bool{}
	for k := range old.Settings {
		keys[k] = true
	}
	for k := range cur.Settings {
		keys[k] = true
	}
	for k := range keys {
		a, aok := old.Settings[k]
		b, bok := cur.Settings[k]
		switch {
		case !aok:
			a = "(unset)"
		case !bok:
			b = "(unset)"
		}
		if a != b || aok != bok {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, a, b))
		}
	}
	slices.Sort(out)
	return out
}

// Writer appends trials to a study file.
type Writer struct {
	f *os.File
}

// Create writes a new study file holding only the header: to a temporary
// file in the same folder, fsynced, then linked to path, which must not
// exist (two processes creating the same study cannot both succeed), so
// that path never holds a partial header. The file stays locked until
// Close.
func Create(path string, h Header) (*Writer, error) {
	h.Study = Version
	line, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	// 0666 minus the umask, as for any file the user creates (os.CreateTemp
	// would make it 0600).
	tmp, err := atomicfile.CreateTemp(dir, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
		}
	}()
	if err := lock(tmp); err != nil {
		return nil, err
	}
	if _, err := tmp.Write(append(line, '\n')); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, &usererr.Error{File: path, Msg: "study file appeared while creating it (another ncd tune?)"}
		}
		// A filesystem without hard links: rename (not exclusive).
		if err := os.Rename(tmp.Name(), path); err != nil {
			return nil, err
		}
	}
	ok = true
	syncDir(dir)
	// The open descriptor now refers to path; keep appending through it.
	if _, err := tmp.Seek(0, io.SeekEnd); err != nil {
		tmp.Close()
		return nil, err
	}
	return &Writer{f: tmp}, nil
}

// Append opens a loaded study for appending after its last complete line
// (cutting an incomplete one). It locks the file first and refuses it if
// it changed since Load (another process writing it).
func Append(path string, s *Study) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Writer, error) {
		f.Close()
		return nil, err
	}
	if err := lock(f); err != nil {
		if errors.Is(err, errLocked) {
			return fail(lockError(path))
		}
		return fail(err)
	}
	if st, err := f.Stat(); err != nil {
		return fail(err)
	} else if st.Size() != s.read {
		return fail(&usererr.Error{File: path, Msg: "study changed while it was being read (another ncd tune process?)"})
	}
	if err := f.Truncate(s.size); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(s.size, io.SeekStart); err != nil {
		return fail(err)
	}
	return &Writer{f: f}, nil
}

// Add appends one trial as a line and fsyncs it: once Add returns, the trial
// survives a crash.
func (w *Writer) Add(t cv.Trial) error {
	line, err := json.Marshal(t)
	if err != nil {
		return err
	}
	// One write call per line: a crash leaves either the whole line or an
	// incomplete last line, which Load drops.
	if _, err := w.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes the file (and releases its lock). Closing twice is harmless.
func (w *Writer) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
