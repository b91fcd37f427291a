package workbook

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/fhi/sysvak-import/validate"
)

// Error is a file-level problem found while reading a workbook. Code is the finding code of
// validation-rules.md ("File level") that the caller reports; callers classify with errors.As.
//
// Detail and Args never hold a cell value that could be personal data: they say what the file
// looks like (counts, sheet names, header texts), never what its data cells contain.
type Error struct {
	Code   validate.Code
	Detail string
	// Args are the named values for the finding's message (validate.Args keys "column",
	// "headers", "what", "limit", "detail"). Nil when there is nothing to add.
	Args validate.Args
	Err  error
}

func (e *Error) Error() string {
	s := "workbook: " + string(e.Code)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the *Error in err's chain, or "" when there is none.
func CodeOf(err error) validate.Code {
	var we *Error
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}

func corrupt(detail string, err error) *Error {
	return &Error{Code: validate.FileCorrupt, Detail: detail, Args: validate.Args{"detail": detail}, Err: err}
}

// tooLarge is file.too_large; unit ("rows", "columns", "bytes") says what limit counts, so that
// the message can say "at most 5 rows" rather than "(5)" (issue 12).
func tooLarge(detail string, limit int64, unit string, err error) *Error {
	args := validate.Args{"detail": detail, "limit": fmt.Sprint(limit), "unit": unit}
	if limit <= 0 {
		delete(args, "limit")
	}
	return &Error{Code: validate.FileTooLarge, Detail: detail, Args: args, Err: err}
}

// panicError turns a recovered panic value into a file.corrupt error. Only a runtime error's
// message (index out of range, nil dereference: no cell data) is kept; any other panic value is
// reduced to its type, because it could quote the file's contents.
func panicError(where string, v any) *Error {
	var cause error
	if re, ok := v.(runtime.Error); ok {
		cause = fmt.Errorf("panic in excelize: %w", re)
	} else {
		cause = fmt.Errorf("panic in excelize: %T", v)
	}
	return corrupt("the workbook could not be read ("+where+")", cause)
}
