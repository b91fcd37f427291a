package decrypt

import (
	"errors"
	"fmt"

	"github.com/fhi/sysvak-import/validate"
)

// Error is a file-level failure of the decrypt stage. Code is one of the file.* codes of
// validation-rules.md; Detail is an English sentence for logs and reports that never contains a
// password or plaintext; Err is the underlying cause, if any (also free of secrets).
type Error struct {
	Code   validate.Code
	Detail string
	Err    error
	// What is the Format.Type of a file that is not a workbook ("pdf", "ods", "empty", ...):
	// the finding names it in the reader's language (validate.FileTypeName).
	What string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Detail)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Code: c}) match any *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) && t != nil && t.Detail == "" && t.Err == nil {
		return t.Code == e.Code
	}
	return false
}

func newErr(code validate.Code, detail string, cause error) *Error {
	return &Error{Code: code, Detail: detail, Err: cause}
}

// formatErr is the error for a file of format f that cannot be processed.
func formatErr(code validate.Code, detail string, f Format) *Error {
	return &Error{Code: code, Detail: detail, What: f.Type}
}

// CodeOf returns the validate.Code of err if it is (or wraps) a *Error, and "" otherwise.
func CodeOf(err error) validate.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
