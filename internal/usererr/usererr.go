// Package usererr separates "tell the user what is wrong with their input
// and exit 2" from bugs. Algorithm and io packages return *Error for anything
// a user can fix; cmd/ncd maps it to exit code 2 and prints one line.
package usererr

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with the user's input or invocation.
type Error struct {
	File   string // file involved, if any
	Row    int    // 1-based data row (header is row 0); 0 when not row-specific
	Column string // column name, if any
	Msg    string
	Err    error // wrapped cause, optional
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Row > 0 {
			fmt.Fprintf(&b, ": row %d", e.Row)
		}
		if e.Column != "" {
			fmt.Fprintf(&b, ": column %q", e.Column)
		}
		b.WriteString(": ")
	} else if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a user error with a formatted message.
func New(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// InFile returns a user error about a file (row and column optional: 0 / "").
func InFile(file string, row int, column string, format string, args ...any) *Error {
	return &Error{File: file, Row: row, Column: column, Msg: fmt.Sprintf(format, args...)}
}

// Is reports whether err is (or wraps) a user error.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
