// Package atomicfile writes output files the way every ncd output is
// written: complete or not at all, with the permissions any other program
// would give them, and straight into devices and pipes (/dev/null,
// /dev/stdout, a named pipe) that cannot be replaced by a rename.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ncd-project/ncd/internal/usererr"
)

// CreateTemp creates a new file in dir named "."+base+".tmp-<random>" and
// opens it for writing. Unlike os.CreateTemp, which creates 0600 files, it
// asks for 0666 and lets the kernel apply the umask, so that the file that
// is later renamed into place gets the mode a plain create would have given
// it (0644 under the usual umask 022).
func CreateTemp(dir, base string) (*os.File, error) {
	if dir == "" {
		dir = "."
	}
	var err error
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		var f *os.File
		// O_EXCL: never clobber a file someone else created meanwhile.
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	return nil, err
}

// IsSink reports whether path names an existing file that is not a regular
// file (a character device such as /dev/null, a named pipe, a socket) or one
// of the process's own descriptors (/dev/stdout, /dev/fd/N,
// /proc/self/fd/N, which are regular files when the shell redirected the
// stream into one). Such a path is written in place: renaming a temporary
// file over it would replace the device node or the symlink instead of
// writing to it.
func IsSink(path string) bool {
	if path == "" || path == "-" {
		return false
	}
	clean := filepath.ToSlash(filepath.Clean(path))
	switch {
	case clean == "/dev/stdout", clean == "/dev/stderr",
		strings.HasPrefix(clean, "/dev/fd/"), strings.HasPrefix(clean, "/proc/self/fd/"):
		_, err := os.Stat(path)
		return err == nil
	}
	st, err := os.Stat(path)
	return err == nil && !st.Mode().IsRegular() && !st.IsDir()
}

// Write creates path with the bytes fill writes (buffered). A regular file is
// written to a temporary file in path's folder (mode 0666 minus the umask),
// optionally fsynced, and renamed over path only when everything succeeded;
// on any error the temporary file is removed, so path is either the complete
// new file or untouched. A sink (see IsSink) is opened and written directly.
// Errors creating or writing the file are user errors naming path.
func Write(path string, sync bool, fill func(io.Writer) error) (err error) {
	if IsSink(path) {
		return writeSink(path, fill)
	}
	dir, base := filepath.Split(path)
	f, err := CreateTemp(dir, base)
	if err != nil {
		return &usererr.Error{File: path, Msg: "cannot create the output file", Err: unwrapPathError(err)}
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = fill(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return &usererr.Error{File: path, Msg: "cannot write", Err: unwrapPathError(err)}
	}
	if sync {
		if err = f.Sync(); err != nil {
			return &usererr.Error{File: path, Msg: "cannot write", Err: unwrapPathError(err)}
		}
	}
	if err = f.Close(); err != nil {
		return &usererr.Error{File: path, Msg: "cannot write", Err: unwrapPathError(err)}
	}
	if err = os.Rename(tmp, path); err != nil {
		return &usererr.Error{File: path, Msg: "cannot replace the output file", Err: unwrapPathError(err)}
	}
	return nil
}

// WriteBytes is Write for data already in memory.
func WriteBytes(path string, sync bool, data []byte) error {
	return Write(path, sync, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeSink(path string, fill func(io.Writer) error) error {
	// No O_CREATE (it exists) and no O_TRUNC (a device or pipe has nothing
	// to cut, and a shell redirect already truncated its file).
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return &usererr.Error{File: path, Msg: "cannot open the output for writing", Err: unwrapPathError(err)}
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !usererr.Is(err) {
		return &usererr.Error{File: path, Msg: "cannot write", Err: unwrapPathError(err)}
	}
	return err
}

// CheckWritable fails, before any work is done, when path could not be
// written later: its folder is missing, path is a folder, or a file cannot
// be created in the folder (checked by creating and removing a probe file,
// which sees what a permission check cannot: read-only mounts, ACLs, full
// quotas on inodes). A sink (see IsSink) only has to be openable for
// writing; a named pipe is not opened, since that would wait for a reader.
func CheckWritable(path string) error {
	if IsSink(path) {
		st, err := os.Stat(path)
		if err == nil && st.Mode()&os.ModeNamedPipe != 0 {
			return nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return &usererr.Error{File: path, Msg: "cannot open the output for writing", Err: unwrapPathError(err)}
		}
		return f.Close()
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &usererr.Error{File: path, Msg: "folder " + dir + " does not exist"}
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return &usererr.Error{File: path, Msg: "is a folder; name a file to write"}
	}
	f, err := CreateTemp(dir, "ncd-probe")
	if err != nil {
		return &usererr.Error{File: path, Msg: "cannot create files in folder " + dir, Err: unwrapPathError(err)}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPathError drops the *PathError wrapper, whose text repeats the
// temporary file's name; the caller names the real path.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
