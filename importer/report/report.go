// Package report owns the per-file outcome of SPEC 5: the report.json document (the
// Frictionless-like shape: file identity, status, counted stats, every finding) and its rendering
// for people (report.txt: totals first, then findings grouped by code with their row numbers, then
// file-level findings), in Norwegian bokmål or English.
//
// Every row and every file ends in a counted, named state: Stats adds up, and Status names the
// file's outcome.
package report

import (
	"time"

	"github.com/fhi/sysvak-import/validate"
)

// Status is a file's outcome (SPEC 5).
type Status string

const (
	StatusAccepted             Status = "accepted"
	StatusAcceptedWithWarnings Status = "accepted_with_warnings"
	StatusRejectedRows         Status = "rejected_rows"
	StatusFileRejected         Status = "file_rejected"
	StatusWaitingPassword      Status = "waiting_password"
)

// Mode says which command made a report: validate checks and registers nothing, import (and
// poll, unlock) registers. The text report uses each one's own words.
type Mode string

const (
	ModeImport   Mode = ""
	ModeValidate Mode = "validate"
)

// Source says where a file came from: a local path, or a mailbox message.
type Source struct {
	Kind        string    `json:"kind"` // "local" or "mailbox"
	Path        string    `json:"path,omitempty"`
	Mailbox     string    `json:"mailbox,omitempty"`
	UIDValidity uint32    `json:"uidvalidity,omitempty"`
	UID         uint32    `json:"uid,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	Received    time.Time `json:"received"`
}

// Stats counts the rows of a file. Rows = Registered + Rejected + DuplicatesInFile +
// DuplicatesInLedger (+ rows not registered because of --strict, counted in NotRegistered).
type Stats struct {
	Rows               int `json:"rows"`
	Registered         int `json:"registered"`
	Rejected           int `json:"rejected"`
	DuplicatesInFile   int `json:"duplicates_in_file"`
	DuplicatesInLedger int `json:"duplicates_in_ledger"`
	Warnings           int `json:"warnings"`
	// NotRegistered counts valid rows held back because `import --strict` found rejected rows.
	NotRegistered int `json:"not_registered,omitempty"`
}

// Report is one file's report.json.
type Report struct {
	FileID   string             `json:"file_id"`
	FileName string             `json:"file_name"`
	SHA256   string             `json:"sha256"`
	Received time.Time          `json:"received"`
	Source   Source             `json:"source"`
	Resent   []Source           `json:"resent"`
	Status   Status             `json:"status"`
	Stats    Stats              `json:"stats"`
	AsOf     string             `json:"as_of,omitempty"`
	Layers   []string           `json:"encryption,omitempty"` // e.g. ["openpgp", "office"]
	Findings []validate.Finding `json:"findings"`
	// Mode is ModeValidate for a validate run (nothing registered, no ledger, nothing waits).
	Mode Mode `json:"mode,omitempty"`
}

// FileFindings returns the file-level findings (row 0).
func (r *Report) FileFindings() []validate.Finding {
	var out []validate.Finding
	for _, f := range r.Findings {
		if f.Row == 0 {
			out = append(out, f)
		}
	}
	return out
}

// Finish derives the status from the stats and findings. A file with a file-level error is
// file_rejected (or waiting_password for file.password_needed / file.wrong_password).
func (r *Report) Finish() {
	if r.Findings == nil {
		r.Findings = []validate.Finding{}
	}
	if r.Resent == nil {
		r.Resent = []Source{}
	}
	r.Stats.Warnings = 0
	for _, f := range r.Findings {
		if f.Severity == validate.SeverityWarning {
			r.Stats.Warnings++
		}
	}
	for _, f := range r.Findings {
		if f.Row != 0 || f.Severity != validate.SeverityError {
			continue
		}
		switch f.Code {
		case validate.FilePasswordNeeded, validate.FileWrongPassword:
			r.Status = StatusWaitingPassword
		default:
			r.Status = StatusFileRejected
		}
		return
	}
	switch {
	case r.Stats.Rejected > 0:
		r.Status = StatusRejectedRows
	case r.Stats.Warnings > 0:
		r.Status = StatusAcceptedWithWarnings
	default:
		r.Status = StatusAccepted
	}
}

// Localize fills every finding's message in the given language.
func (r *Report) Localize(lang string) {
	for i := range r.Findings {
		validate.Localize(lang, &r.Findings[i])
	}
}

// ExitCode is the file's contribution to the process exit code (SPEC 4): 0 processed with no
// rejected row, 1 rows rejected, 2 the file could not be processed (file-level error or waiting).
func (r *Report) ExitCode() int {
	switch r.Status {
	case StatusFileRejected, StatusWaitingPassword:
		return 2
	case StatusRejectedRows:
		return 1
	}
	return 0
}
