package console

import (
	"context"
	"errors"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// ErrNotFound is returned (wrapped) by Files.FileDetail for an unknown file id and by Operators
// for an unknown operator: the state's own error.
var ErrNotFound = state.ErrNotFound

// Stage is where a file stands in its life cycle (the state's file status): the status filter of
// the list and the counts of /metrics use it.
type Stage string

// The stages, as the state names them.
const (
	StageArrived    Stage = "arrived"
	StageWaiting    Stage = "waiting_password"
	StageProcessing Stage = "processing"
	StageProcessed  Stage = "processed"
	StageRejected   Stage = "rejected"
)

// FileSummary is one line of the file list. Stage is the file's place in its life cycle; Status
// is its outcome as its report says (waiting_password for a waiting file; empty while arrived or
// processing).
type FileSummary struct {
	ID         string
	Name       string
	Received   time.Time
	Sender     string
	Source     string // "mailbox" or "local"
	Mailbox    string // the mailbox folder for Source "mailbox"
	Stage      Stage
	Status     report.Status
	Rows       int
	Registered int
	Rejected   int
}

// ListQuery asks for one page of the file list, newest first. An empty Stage lists every file.
type ListQuery struct {
	Stage  Stage
	Offset int
	Limit  int
}

// FileList is one page of the file list. Total counts the files matching the query's stage;
// Counts holds the number of files in each stage over the whole state (for the filter).
type FileList struct {
	Files  []FileSummary
	Total  int
	Counts map[Stage]int
}

// Arrival is one arrival of a file: the first one, then each resend of the same bytes.
type Arrival struct {
	Received time.Time
	Source   string // "mailbox" or "local"
	Mailbox  string
	Sender   string
	FileName string
}

// FileDetail is what the file page shows. Report is nil while nothing has been processed (a file
// waiting for its password may have none yet). LastError is a finding code such as
// file.wrong_password when the last attempt failed.
type FileDetail struct {
	FileSummary
	Arrivals  []Arrival
	LastError string
	Report    *report.Report
}

// Files is the read side of the state the console shows.
type Files interface {
	// ListFiles returns one page of files, newest first (by first arrival).
	ListFiles(ctx context.Context, q ListQuery) (FileList, error)
	// FileDetail returns one file, or an error wrapping ErrNotFound.
	FileDetail(ctx context.Context, fileID string) (FileDetail, error)
	// Totals counts files by status and rows over the whole state (for /metrics).
	Totals(ctx context.Context) (Totals, error)
}

// Totals are the state's counts for /metrics.
type Totals struct {
	ByStage                    map[Stage]int
	Rows, Registered, Rejected int
}

// UnlockOutcome is what an unlock attempt did. WrongPassword is true when the password did not
// open the file (it keeps waiting); otherwise Status is the file's new status.
type UnlockOutcome struct {
	Status        report.Status
	WrongPassword bool
}

// ErrNotWaiting is returned by Unlocker.Unlock for a file that does not wait for a password.
var ErrNotWaiting = errors.New("console: the file does not wait for a password")

// Unlocker supplies the password for a waiting file and processes it at once (the intake service).
type Unlocker interface {
	Unlock(ctx context.Context, fileID string, password secret.Secret) (UnlockOutcome, error)
}

// Operator is an operator account, as the state keeps it: Hash is an Argon2id hash in PHC
// string format; FailedLogins counts failures since FirstFailure (within the lockout window);
// LockedUntil is set when the account is locked.
type Operator = state.Operator

// Operators stores operator accounts (the state's interface; UpdateOperator is atomic, so that
// consoles sharing a PostgreSQL state count failures together).
type Operators = state.Operators

// AuditEntry is one line of the audit log (SPEC 9): time, user (Actor), action, file id, remote
// address and the outcome (Detail). It never holds a password, an ID number or a person's name;
// for a failed login with an unknown user name the name typed is not recorded (it might be a
// password typed into the wrong field).
type AuditEntry = state.AuditEntry

// The audit actions.
const (
	AuditLogin    = "login"
	AuditLogout   = "logout"
	AuditUnlock   = "unlock"
	AuditDownload = "download"
)

// AuditLog receives audit entries.
type AuditLog interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
}

// PollStatus tells /metrics about the poller and the receipts outbox. It is optional.
type PollStatus interface {
	LastSuccessfulPoll() time.Time
	ReceiptsWaiting(ctx context.Context) (int, error)
}
