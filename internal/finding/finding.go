// Package finding is the shared vocabulary of findings: the stable finding codes and their
// severities (validation-rules.md). It is a leaf package every layer may use: validate reports
// findings with these codes, intake turns a mailbox's rejections into them, and receipts and the
// console name them. It holds no rules and imports nothing.
package finding

// Severity says whether a finding rejects its row (error) or keeps it (warning).
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Code is a stable finding code (validation-rules.md). Users, scripts and tests depend on the
// spelling; never rename one.
type Code string

// Identifier codes (column person_id).
const (
	IDMissing             Code = "id.missing"
	IDFormat              Code = "id.format"
	IDLeadingZeroRestored Code = "id.leading_zero_restored"
	IDPrecisionLost       Code = "id.precision_lost"
	IDBirthdate           Code = "id.birthdate"
	IDChecksum            Code = "id.checksum"
	IDDUFYear             Code = "id.duf_year"
	IDTypeNotAllowed      Code = "id.type_not_allowed"
	IDSynthetic           Code = "id.synthetic"
)

// Date codes (column vaccination_date).
const (
	DateMissing     Code = "date.missing"
	DateFormat      Code = "date.format"
	DateFuture      Code = "date.future"
	DateBeforeBirth Code = "date.before_birth"
	DateImplausible Code = "date.implausible"
)

// Vaccine code codes (column sysvak_code).
const (
	CodeMissing  Code = "code.missing"
	CodeFormat   Code = "code.format"
	CodeUnknown  Code = "code.unknown"
	CodeInactive Code = "code.inactive"
)

// Codes of the other columns.
const (
	DoseFormat         Code = "dose.format"
	BatchMissing       Code = "batch.missing"
	BatchFormat        Code = "batch.format"
	VaccinatorMissing  Code = "vaccinator.missing"
	VaccinatorFormat   Code = "vaccinator.format"
	UnitFormat         Code = "unit.format"
	MunicipalityFormat Code = "municipality.format"
	// MunicipalityLeadingZeroRestored: a 3-digit kommunenummer (301: a number cell, or a CSV
	// opened in Excel or LibreOffice, dropped the 0 of 0301) is read with the 0 put back.
	MunicipalityLeadingZeroRestored Code = "municipality.leading_zero_restored"
	GivenElsewhereFormat            Code = "given_elsewhere.format"
	ActionFormat                    Code = "action.format"
	CommentTooLong                  Code = "comment.too_long"
	CellFormulaNoValue              Code = "cell.formula_no_value"
)

// Duplicate and ledger codes.
const (
	RowDuplicate         Code = "row.duplicate"
	RowDuplicateConflict Code = "row.duplicate_conflict"
	LedgerDuplicate      Code = "ledger.duplicate"
	LedgerDeleteUnknown  Code = "ledger.delete_unknown"
)

// File-level codes (row 0, no column).
const (
	FileUnsupportedFormat Code = "file.unsupported_format"
	FileLegacyXLS         Code = "file.legacy_xls"
	FilePasswordNeeded    Code = "file.password_needed"
	FileWrongPassword     Code = "file.wrong_password"
	FileCorrupt           Code = "file.corrupt"
	FileIntegrity         Code = "file.integrity"
	FileTooLarge          Code = "file.too_large"
	FileNoSheet           Code = "file.no_sheet"
	FileHeaderNotFound    Code = "file.header_not_found"
	FileColumnMissing     Code = "file.column_missing"
	FileNoRows            Code = "file.no_rows"
	HeaderUnknownColumn   Code = "header.unknown_column"
)

// Mail codes: a message in the mailbox that gave no file to process (SPEC 6). The mailbox
// package reports them; they live here so that every code has its severity and messages in one
// place.
const (
	MailNoAttachment Code = "mail.no_attachment"
	MailUnreadable   Code = "mail.unreadable"
	MailTooManyParts Code = "mail.too_many_parts"
	MailTooDeep      Code = "mail.too_deep"
)

// AllCodes lists every code in the order of validation-rules.md. Tests use it to prove that each
// code has a severity and a message in every language.
func AllCodes() []Code {
	return []Code{
		IDMissing, IDFormat, IDLeadingZeroRestored, IDPrecisionLost, IDBirthdate, IDChecksum, IDDUFYear, IDTypeNotAllowed, IDSynthetic,
		DateMissing, DateFormat, DateFuture, DateBeforeBirth, DateImplausible,
		CodeMissing, CodeFormat, CodeUnknown, CodeInactive,
		DoseFormat, BatchMissing, BatchFormat, VaccinatorMissing, VaccinatorFormat, UnitFormat, MunicipalityFormat, MunicipalityLeadingZeroRestored, GivenElsewhereFormat, ActionFormat, CommentTooLong, CellFormulaNoValue,
		RowDuplicate, RowDuplicateConflict, LedgerDuplicate, LedgerDeleteUnknown,
		FileUnsupportedFormat, FileLegacyXLS, FilePasswordNeeded, FileWrongPassword, FileCorrupt, FileIntegrity, FileTooLarge, FileNoSheet, FileHeaderNotFound, FileColumnMissing, FileNoRows, HeaderUnknownColumn,
		MailNoAttachment, MailUnreadable, MailTooManyParts, MailTooDeep,
	}
}

// DefaultSeverity is the severity a code has unless a rule says otherwise (date.before_birth and
// id.synthetic can be downgraded to warnings; see their rules). File-level codes are errors except
// header.unknown_column.
func (c Code) DefaultSeverity() Severity {
	switch c {
	case IDLeadingZeroRestored, MunicipalityLeadingZeroRestored, DateImplausible, BatchMissing, VaccinatorMissing,
		RowDuplicate, RowDuplicateConflict, LedgerDuplicate, LedgerDeleteUnknown, HeaderUnknownColumn:
		return SeverityWarning
	}
	return SeverityError
}
