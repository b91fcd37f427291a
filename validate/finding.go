package validate

import "github.com/fhi/sysvak-import/internal/finding"

// Severity says whether a finding rejects its row (error) or keeps it (warning).
type Severity = finding.Severity

// Code is a stable finding code (internal/finding holds the list).
type Code = finding.Code

// The codes and severities, re-exported from internal/finding.
const (
	SeverityError                   = finding.SeverityError
	SeverityWarning                 = finding.SeverityWarning
	IDMissing                       = finding.IDMissing
	IDFormat                        = finding.IDFormat
	IDLeadingZeroRestored           = finding.IDLeadingZeroRestored
	IDPrecisionLost                 = finding.IDPrecisionLost
	IDBirthdate                     = finding.IDBirthdate
	IDChecksum                      = finding.IDChecksum
	IDDUFYear                       = finding.IDDUFYear
	IDTypeNotAllowed                = finding.IDTypeNotAllowed
	IDSynthetic                     = finding.IDSynthetic
	DateMissing                     = finding.DateMissing
	DateFormat                      = finding.DateFormat
	DateFuture                      = finding.DateFuture
	DateBeforeBirth                 = finding.DateBeforeBirth
	DateImplausible                 = finding.DateImplausible
	CodeMissing                     = finding.CodeMissing
	CodeFormat                      = finding.CodeFormat
	CodeUnknown                     = finding.CodeUnknown
	CodeInactive                    = finding.CodeInactive
	DoseFormat                      = finding.DoseFormat
	BatchMissing                    = finding.BatchMissing
	BatchFormat                     = finding.BatchFormat
	VaccinatorMissing               = finding.VaccinatorMissing
	VaccinatorFormat                = finding.VaccinatorFormat
	UnitFormat                      = finding.UnitFormat
	MunicipalityFormat              = finding.MunicipalityFormat
	MunicipalityLeadingZeroRestored = finding.MunicipalityLeadingZeroRestored
	GivenElsewhereFormat            = finding.GivenElsewhereFormat
	ActionFormat                    = finding.ActionFormat
	CommentTooLong                  = finding.CommentTooLong
	CellFormulaNoValue              = finding.CellFormulaNoValue
	RowDuplicate                    = finding.RowDuplicate
	RowDuplicateConflict            = finding.RowDuplicateConflict
	LedgerDuplicate                 = finding.LedgerDuplicate
	LedgerDeleteUnknown             = finding.LedgerDeleteUnknown
	FileUnsupportedFormat           = finding.FileUnsupportedFormat
	FileLegacyXLS                   = finding.FileLegacyXLS
	FilePasswordNeeded              = finding.FilePasswordNeeded
	FileWrongPassword               = finding.FileWrongPassword
	FileCorrupt                     = finding.FileCorrupt
	FileIntegrity                   = finding.FileIntegrity
	FileTooLarge                    = finding.FileTooLarge
	FileNoSheet                     = finding.FileNoSheet
	FileHeaderNotFound              = finding.FileHeaderNotFound
	FileColumnMissing               = finding.FileColumnMissing
	FileNoRows                      = finding.FileNoRows
	HeaderUnknownColumn             = finding.HeaderUnknownColumn
	MailNoAttachment                = finding.MailNoAttachment
	MailUnreadable                  = finding.MailUnreadable
	MailTooManyParts                = finding.MailTooManyParts
	MailTooDeep                     = finding.MailTooDeep
)

// AllCodes lists every code in the order of validation-rules.md.
func AllCodes() []Code { return finding.AllCodes() }

// Args are the named values a message template refers to as {name}. Keys in use: "type" (an
// identifier type), "row" (another row), "file" (a file id), "headers" (a list of headers found),
// "column" (a column or header name), "what" (what a file looks like), "limit", "detail".
// Args never hold an unmasked ID number, a name or a password.
type Args map[string]string

// Finding is one problem found in a file. Row is the spreadsheet's 1-based row number, 0 for a
// file-level finding. Column is a column key ("" for file level). Value is the cell value as read,
// empty for person_id (no part of an ID number, SPEC 5) and for the free-text columns. Message
// is filled in by Localize for the reader's language.
type Finding struct {
	Row      int      `json:"row"`
	Column   string   `json:"column"`
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Value    string   `json:"value"`
	Args     Args     `json:"-"`
}

// MaskID masks an identifier for reports and messages: the first six characters followed by
// "*****" (SPEC 5). Shorter values are masked completely. It never returns more than six of the
// input's characters.
func MaskID(s string) string {
	r := []rune(s)
	if len(r) <= 6 {
		return "*****"
	}
	return string(r[:6]) + "*****"
}
