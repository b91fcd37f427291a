package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhi/sysvak-import/internal/secret"
)

// Store is the whole state of sysvak-import (SPEC 8): ledger, files and their status, the spool,
// the messages taken from mailboxes, the password drop-box, the receipts outbox, the operator
// accounts and the audit log. Every method is safe for concurrent use by several goroutines; a
// backend that supports several processes (PostgreSQL) is also safe across processes, which the
// claims (ClaimFile, ClaimMessage) coordinate.
type Store interface {
	Ledger
	Files
	Spool
	Messages
	Passwords
	Outbox
	Operators
	Audit
	Claims
	// Close releases the state. Claims still held are not released: they expire.
	Close() error
}

// Errors every backend returns (wrapped), for errors.Is.
var (
	// ErrNotFound: no file, message, operator or receipt of that key.
	ErrNotFound = errors.New("state: not found")
	// ErrExists: an operator of that name exists already.
	ErrExists = errors.New("state: already exists")
	// ErrClaimed: another worker holds a live claim on the file or message.
	ErrClaimed = errors.New("state: claimed by another worker")
	// ErrWrongStatus: the file's status is not one a claim may start from.
	ErrWrongStatus = errors.New("state: the file's status does not allow this")
	// ErrLostClaim: the claim expired and was taken over (or released); the caller's work on it
	// must not be recorded.
	ErrLostClaim = errors.New("state: the claim is no longer held")
	// ErrLocked: a folder state is open in another process.
	ErrLocked = errors.New("state: the state is in use by another sysvak-import process")
	// ErrUnavailable: the state cannot be reached now (a database restarting or down); a
	// long-running process waits and tries again, a one-shot run exits 4.
	ErrUnavailable = errors.New("state: the state is unavailable")
	// ErrLedgerConflict: in a shared state another file registered some of the file's keys after
	// its ledger view was taken; nothing was recorded and the claim was released: process the
	// file again (those rows then become ledger duplicates). It comes wrapped with ErrLostClaim.
	ErrLedgerConflict = errors.New("state: keys of the file were registered by another file meanwhile")
	// ErrBadFileID: a file id is 16 lower-case hex digits.
	ErrBadFileID = errors.New("state: a file id is 16 lower-case hex digits")
)

// ---- Ledger (SPEC 3) ----

// LedgerKeySize is the length of a ledger key: the first 16 bytes of an HMAC-SHA-256.
const LedgerKeySize = 16

// LedgerKey is the keyed hash of one (person ID, vaccination date, SYSVAK code) triple.
type LedgerKey [LedgerKeySize]byte

// LedgerEntry is what the ledger knows about a key: the file and row that registered it, and
// whether a deletion row of that file removed it (a tombstone).
type LedgerEntry struct {
	FileID  string
	Row     int
	Deleted bool
}

// LedgerChange is one effect of a file on the ledger.
type LedgerChange struct {
	Key    LedgerKey
	Row    int
	Delete bool
}

// Ledger is the key register. Changes are applied only through Files.RecordOutcome, in the same
// step that records the file's outcome. Idempotence rule: an entry owned by the same file id is
// that file's own registration, so processing a file again after a crash gives the same records.
type Ledger interface {
	// LedgerSecret returns the 32-byte HMAC key under which ledger keys are computed (created
	// once, the same for every process sharing the state).
	LedgerSecret(ctx context.Context) ([]byte, error)
	// LedgerView opens a consistent read view for the duration of one file.
	LedgerView(ctx context.Context) (LedgerView, error)
	// LedgerStats counts live keys and tombstones.
	LedgerStats(ctx context.Context) (live, deleted int, err error)
}

// LedgerView is a read view of the ledger. Get is called once per row: keep it cheap.
type LedgerView interface {
	Get(k LedgerKey) (LedgerEntry, bool)
	Close() error
}

// ---- Files (SPEC 5, 6): one source of truth for a file's status ----

// FileStatus is where a file stands in its life cycle:
// arrived -> processing -> processed | rejected | waiting_password; waiting_password ->
// processing (a password came) -> ...
type FileStatus string

// The statuses of a file.
const (
	StatusArrived    FileStatus = "arrived"
	StatusWaiting    FileStatus = "waiting_password"
	StatusProcessing FileStatus = "processing"
	StatusProcessed  FileStatus = "processed"
	StatusRejected   FileStatus = "rejected"
)

// AllStatuses lists the statuses in life-cycle order.
func AllStatuses() []FileStatus {
	return []FileStatus{StatusArrived, StatusWaiting, StatusProcessing, StatusProcessed, StatusRejected}
}

// Arrival is one arrival of a file: from a mailbox (Mailbox, UIDValidity, UID, MessageID) or a
// local path (Path). The first is File.Source, later ones (the same bytes again) File.Arrivals.
type Arrival struct {
	Received    time.Time `json:"received"`
	Mailbox     string    `json:"mailbox,omitempty"`
	UIDValidity uint32    `json:"uidvalidity,omitempty"`
	UID         uint32    `json:"uid,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	// Sender is the address receipts go to (Reply-To, else From). State only; never log it.
	Sender   string `json:"sender,omitempty"`
	FileName string `json:"file_name,omitempty"`
	Path     string `json:"path,omitempty"`
}

// SameDelivery reports whether two arrivals are the same delivery seen twice (a re-poll after a
// crash or a UIDVALIDITY change), as opposed to a real resend.
func (a Arrival) SameDelivery(b Arrival) bool {
	if a.Path != "" || b.Path != "" {
		return false // every import of a local file is an arrival of its own (SPEC 5 resent)
	}
	if a.Mailbox != b.Mailbox {
		return false
	}
	if a.MessageID != "" || b.MessageID != "" {
		return a.MessageID == b.MessageID
	}
	return a.UIDValidity == b.UIDValidity && a.UID == b.UID
}

// Summary is the outcome of a processed file as the console lists it.
type Summary struct {
	ReportStatus string `json:"report_status,omitempty"` // accepted, rejected_rows, ... (SPEC 5)
	Rows         int    `json:"rows"`
	Registered   int    `json:"registered"`
	Rejected     int    `json:"rejected"`
	Warnings     int    `json:"warnings"`
	// Processed is when the file was processed to this outcome: the FHIR `recorded` of its
	// records (SPEC 12), kept when a resend rewrites its report. Zero in states from before it.
	Processed time.Time `json:"processed,omitzero"`
}

// File is one file, keyed by its id (the first 16 hex digits of the SHA-256 of its bytes as
// received).
type File struct {
	ID       string     `json:"file_id"`
	SHA256   string     `json:"sha256"`
	Name     string     `json:"file_name"` // sanitised, for display only
	Size     int64      `json:"size"`
	Kind     string     `json:"kind,omitempty"` // what the content sniffer said
	Spooled  bool       `json:"spooled"`        // its bytes are in the spool
	Received time.Time  `json:"received"`       // first arrival
	Source   Arrival    `json:"source"`
	Arrivals []Arrival  `json:"arrivals,omitempty"`
	Status   FileStatus `json:"status"`
	// LastError is the finding code that left the file rejected or waiting (file.wrong_password...).
	LastError string  `json:"last_error,omitempty"`
	Summary   Summary `json:"summary"`
	// Reported is how many of Arrivals the stored report lists under `resent`.
	Reported int `json:"reported"`
	// Written: the --out outputs match the recorded outcome (see SetWritten).
	Written bool      `json:"written"`
	Updated time.Time `json:"updated"`
	// Claim is the live or expired claim on the file, if any (Owner empty: none).
	Claim Claim `json:"claim"`
}

// FileQuery selects files for a listing: newest first (by first arrival, then id).
type FileQuery struct {
	Status []FileStatus // any of these; none: all
	Offset int
	Limit  int // 0: all
}

// FilePage is one page of a listing.
type FilePage struct {
	Files  []File
	Total  int                // files matching the query
	Counts map[FileStatus]int // all files by status (for the console's filter)
}

// Outcome is the result of processing a file, recorded in one step by RecordOutcome: the ledger
// changes, the file's new status and summary, its report, and the receipts to send. A PostgreSQL
// backend does it in one transaction (with the records and file_reports tables, SPEC 8).
type Outcome struct {
	Claim     Claim
	Status    FileStatus // processed, rejected or waiting_password
	LastError string
	Summary   Summary
	// Report is report.json as the file's outputs hold it.
	Report []byte
	// Reported: how many of the file's later arrivals Report lists under `resent`.
	Reported int
	// Changes are the file's ledger changes; a backend may reorder them (the folder backend
	// sorts them in place rather than copy a million of them).
	Changes []LedgerChange
	// RecordsPath is the records.jsonl written for this outcome (empty: none). A backend that
	// stores records itself reads it before RecordOutcome returns.
	RecordsPath string
	Receipts    []Receipt
}

// Files holds the files and their life cycle.
type Files interface {
	// File returns a file (ErrNotFound).
	File(ctx context.Context, id string) (File, error)
	// ListFiles returns a page of files, newest first.
	ListFiles(ctx context.Context, q FileQuery) (FilePage, error)
	// ClaimFile claims a file for processing if its status is one of from (default arrived and
	// waiting_password), or it is processing under an expired claim, and sets it to processing.
	// ErrClaimed: another worker holds a live claim; ErrWrongStatus: the status does not allow it.
	ClaimFile(ctx context.Context, id, owner string, lease time.Duration, from ...FileStatus) (File, Claim, error)
	// RecordOutcome records a claimed file's outcome in one atomic step and ends the claim.
	// ErrLostClaim when the claim is no longer held (nothing is recorded then).
	RecordOutcome(ctx context.Context, id string, o Outcome) error
	// Report returns the stored report.json of a file (ErrNotFound: none yet).
	Report(ctx context.Context, id string) ([]byte, error)
	// SetWritten records that the file's --out outputs match its recorded outcome (written after
	// RecordOutcome; a crash in between leaves Written false, and the outputs are written again).
	SetWritten(ctx context.Context, id string, written bool) error

	// Batches (a group commit for many files, issue 17: `import` of many small files).

	// ClaimFiles claims several files in one step, each as ClaimFile would: a file that cannot
	// be claimed (ErrClaimed, ErrWrongStatus, ErrNotFound) gets that error in its result and the
	// others are claimed. The error is for the step as a whole (the state unreachable...).
	ClaimFiles(ctx context.Context, ids []string, owner string, lease time.Duration, from ...FileStatus) ([]ClaimResult, error)
	// RecordOutcomes records several claimed files' outcomes in one atomic step: all of them or
	// none. The files are applied in order, so the ledger ends as after RecordOutcome of each in
	// turn (a later file's deletion of a key an earlier file registered wins). When a file's
	// claim is no longer held, or (shared state) another process registered one of its keys
	// since its ledger view was taken, nothing is recorded, every claim is kept, and the error
	// is a *BatchError naming the first such file (wrapping ErrLostClaim, or ErrLedgerConflict).
	// The caller takes a file with a lost claim out of the batch, evaluates a conflicting one
	// again with a fresh view, and does the same for the files after it (they may have counted
	// on its keys); the files before it are recorded as they were.
	RecordOutcomes(ctx context.Context, outs []FileOutcome) error
	// SetWrittenFiles is SetWritten for several files in one step.
	SetWrittenFiles(ctx context.Context, ids []string, written bool) error
}

// ClaimResult is the result of claiming one file of ClaimFiles: the file and the claim, or why
// it could not be claimed.
type ClaimResult struct {
	File  File
	Claim Claim
	Err   error
}

// FileOutcome is one file's part of RecordOutcomes.
type FileOutcome struct {
	ID string
	Outcome
}

// BatchError names the file of a batch that stopped it (RecordOutcomes).
type BatchError struct {
	Index int    // the file's position in the batch
	ID    string // its file id
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("file %s (number %d of the batch): %v", e.ID, e.Index+1, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// ---- Claims ----

// Claim is a lease on a file or a message held by one worker (Owner: a process-unique name).
type Claim struct {
	Kind    string    `json:"kind,omitempty"` // "file" or "message"
	Key     string    `json:"key,omitempty"`
	Owner   string    `json:"owner,omitempty"`
	Token   int64     `json:"token,omitempty"` // increases with every claim of the key
	Expires time.Time `json:"expires"`
	// From is the status the file had before the claim (ReleaseClaim puts it back).
	From FileStatus `json:"from,omitempty"`
}

// Held reports whether the claim is live at time now.
func (c Claim) Held(now time.Time) bool { return c.Owner != "" && now.Before(c.Expires) }

// Claims renew and release claims of either kind.
type Claims interface {
	// RenewClaim extends a held claim (ErrLostClaim when it was taken over).
	RenewClaim(ctx context.Context, c Claim, lease time.Duration) (Claim, error)
	// ReleaseClaim gives a claim up without an outcome; a file goes back to the status it had.
	ReleaseClaim(ctx context.Context, c Claim) error
}

// ---- Spool: the bytes of each file as received ----

// Incoming is a file to add: its bytes are in TempPath (in TempDir, fsynced), or, for a local
// file that is not spooled, TempPath is empty.
type Incoming struct {
	TempPath string
	// Path is the arrival's Path of a local file when one AddFiles call adds several local files
	// (each an arrival of its own); empty: arr.Path.
	Path     string
	SHA256   string // hex, 64 digits
	Size     int64
	FileName string
	Kind     string
}

// AddResult says what AddFiles did.
type AddResult struct {
	New    []File // files created (status arrived)
	Resent []File // known files that got this arrival (or had it already)
}

// Spooled is an open spooled file. Path is a local file with the bytes (a temp copy for a
// backend that keeps them elsewhere); Close releases it.
type Spooled struct {
	Path  string
	Size  int64
	close func() error
}

// NewSpooled is for backends: a spooled file at path, with its release function (may be nil).
func NewSpooled(path string, size int64, release func() error) *Spooled {
	return &Spooled{Path: path, Size: size, close: release}
}

// Close releases the file.
func (s *Spooled) Close() error {
	if s == nil || s.close == nil {
		return nil
	}
	c := s.close
	s.close = nil
	return c()
}

// Spool holds the bytes of files, keyed by file id.
type Spool interface {
	// TempDir is where incoming bytes are written before AddFiles (same file system as the spool
	// for a folder state).
	TempDir() string
	// AddFiles makes incoming files durable and records them with arrival arr in one step,
	// together with the message msg when not nil (msg.FileIDs and msg.Resent are filled in, and
	// msg.Receipts queued in the same step). A file
	// whose id is known gets the arrival added unless it is the same delivery seen again. The temp
	// files are consumed whatever the outcome.
	AddFiles(ctx context.Context, in []Incoming, arr Arrival, msg *Message) (AddResult, error)
	// OpenSpooled opens the bytes of a spooled file (ErrNotFound).
	OpenSpooled(ctx context.Context, id string) (*Spooled, error)
}

// ---- Messages taken from mailboxes (SPEC 6) ----

// Rejection is why a part of a message (or the whole message) gave no file: the mailbox's own
// reason (no_attachment, unsupported_type, too_large, ...), what the part looked like.
type Rejection struct {
	FileName string `json:"file_name,omitempty"`
	Reason   string `json:"reason"`
	What     string `json:"what,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

// Message is a message taken from a mailbox, with the headers receipts need (SPEC 10).
type Message struct {
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uidvalidity"`
	UID         uint32    `json:"uid"`
	MessageID   string    `json:"message_id,omitempty"`
	Received    time.Time `json:"received"`
	Recorded    time.Time `json:"recorded"`
	// Headers for receipts. Never logged.
	From          string `json:"from,omitempty"`
	ReplyTo       string `json:"reply_to,omitempty"`
	ReturnPath    string `json:"return_path,omitempty"`
	AutoSubmitted string `json:"auto_submitted,omitempty"`
	Precedence    string `json:"precedence,omitempty"`
	// Folder is where the message is (to be) moved.
	Folder   string      `json:"folder"`
	FileIDs  []string    `json:"file_ids,omitempty"` // new files it carried
	Resent   []string    `json:"resent,omitempty"`   // files it carried that were known
	Rejected []Rejection `json:"rejected,omitempty"` // parts not taken (all of them: a rejected message)
	Moved    bool        `json:"moved"`
	// Receipts are queued with the message in the same transaction that records it
	// (RecordMessage, AddFiles; SPEC 10): a rejected message's receipt, and the receipts of the
	// files it carries again. Like EnqueueReceipts, a receipt whose ID is known is left as it is,
	// so recording a message again (a retry after a crash) queues nothing twice. Input only:
	// never stored with the message, empty when read back.
	Receipts []Receipt `json:"-"`
}

// MessageKey names a message in a mailbox.
type MessageKey struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
}

// MailboxState is what is remembered about a source mailbox.
type MailboxState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// Messages is the message ledger: a message is taken once (keys UIDVALIDITY+UID, Message-ID).
type Messages interface {
	// RecordMessage records a message that carried no file (it goes to the rejected folder),
	// advances the mailbox's last UID and queues msg.Receipts, in one step. Recording the same
	// message again replaces it (receipts already queued stay as they are).
	RecordMessage(ctx context.Context, msg *Message) error
	// Message returns a recorded message (ErrNotFound).
	Message(ctx context.Context, k MessageKey) (Message, error)
	// MessagesByID returns the recorded messages with this Message-ID.
	MessagesByID(ctx context.Context, messageID string) ([]Message, error)
	// MarkMoved records that messages were moved to their folders.
	MarkMoved(ctx context.Context, mailbox string, uidValidity uint32, uids ...uint32) error
	// PendingMoves lists messages of the mailbox recorded but not yet moved.
	PendingMoves(ctx context.Context, mailbox string, uidValidity uint32) ([]Message, error)
	// MailboxState and SetMailboxState hold the mailbox's UIDVALIDITY and last UID.
	MailboxState(ctx context.Context, mailbox string) (MailboxState, error)
	SetMailboxState(ctx context.Context, mailbox string, st MailboxState) error
	// ClaimMessage claims a message before it is fetched, so that of several pollers one takes it.
	ClaimMessage(ctx context.Context, k MessageKey, owner string, lease time.Duration) (Claim, error)
}

// ---- Password drop-box (SPEC 6, 8) ----

// Passwords is the drop-box STATE/passwords/<file-id> (or --password-dir).
type Passwords interface {
	// DroppedPasswords lists the file ids with a password waiting.
	DroppedPasswords(ctx context.Context) ([]string, error)
	// TakePassword reads and removes a dropped password (ok false: none). A drop without a
	// usable password is removed too, and the error says so.
	TakePassword(ctx context.Context, id string) (pw secret.Secret, ok bool, err error)
	// DropPassword writes a password into the drop-box.
	DropPassword(ctx context.Context, id string, pw secret.Secret) error
}

// ---- Receipts outbox (SPEC 10) ----

// ReceiptStatus is where a receipt stands.
type ReceiptStatus string

// The statuses of a receipt.
const (
	ReceiptQueued  ReceiptStatus = "queued"  // waiting for its next attempt
	ReceiptSending ReceiptStatus = "sending" // claimed by a sender
	ReceiptSent    ReceiptStatus = "sent"
	ReceiptFailed  ReceiptStatus = "failed" // given up
)

// Receipt is one message to a sender, queued with the outcome it reports.
type Receipt struct {
	// ID is stable (it is also the basis of the receipt's Message-ID): the same receipt queued
	// twice is one receipt.
	ID     string `json:"id"`
	FileID string `json:"file_id,omitempty"`
	Kind   string `json:"kind"` // waiting, processed, rejected, ...
	To     string `json:"to"`
	// InReplyTo is the original Message-ID.
	InReplyTo string `json:"in_reply_to,omitempty"`
	// Payload is what the sender needs to render the receipt (opaque to the state).
	Payload     []byte        `json:"payload,omitempty"`
	Status      ReceiptStatus `json:"status"`
	Attempts    int           `json:"attempts"`
	NextAttempt time.Time     `json:"next_attempt"`
	LastError   string        `json:"last_error,omitempty"`
	Created     time.Time     `json:"created"`
	Updated     time.Time     `json:"updated"`
	Claim       Claim         `json:"claim"`
}

// Outbox is the receipts queue.
type Outbox interface {
	// EnqueueReceipts queues receipts not already known by ID (idempotent).
	EnqueueReceipts(ctx context.Context, rs []Receipt) error
	// ClaimDueReceipts claims up to limit queued receipts whose NextAttempt is due (and sending
	// ones whose claim expired), oldest first.
	ClaimDueReceipts(ctx context.Context, owner string, limit int, lease time.Duration) ([]Receipt, error)
	// MarkReceiptSent records a success: the receipt is never sent again.
	MarkReceiptSent(ctx context.Context, c Claim) error
	// RetryReceipt records a failed attempt: queued again for next.
	RetryReceipt(ctx context.Context, c Claim, next time.Time, lastError string) error
	// GiveUpReceipt records that a receipt will not be sent.
	GiveUpReceipt(ctx context.Context, c Claim, lastError string) error
	// Receipt returns one receipt (ErrNotFound); ListReceipts those of the given statuses
	// (none: all), oldest first.
	Receipt(ctx context.Context, id string) (Receipt, error)
	ListReceipts(ctx context.Context, status ...ReceiptStatus) ([]Receipt, error)
}

// ---- Operators (SPEC 9) ----

// Operator is a console account.
type Operator struct {
	Name         string    `json:"name"`
	Hash         string    `json:"hash"` // Argon2id, PHC string format
	FailedLogins int       `json:"failed_logins"`
	FirstFailure time.Time `json:"first_failure"`
	LockedUntil  time.Time `json:"locked_until"`
	Disabled     bool      `json:"disabled"`
	Created      time.Time `json:"created"`
	LastLogin    time.Time `json:"last_login"`
}

// Operators holds console accounts.
type Operators interface {
	AddOperator(ctx context.Context, op Operator) error // ErrExists
	Operator(ctx context.Context, name string) (Operator, error)
	// UpdateOperator changes an account atomically (read, f, write); f's error aborts.
	UpdateOperator(ctx context.Context, name string, f func(*Operator) error) (Operator, error)
	RemoveOperator(ctx context.Context, name string) error
	ListOperators(ctx context.Context) ([]Operator, error) // by name
}

// ---- Audit log (SPEC 9) ----

// AuditEntry is one line of the audit log. It never holds an ID number, a name or a password.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	FileID string    `json:"file_id,omitempty"`
	Remote string    `json:"remote,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditQuery selects entries: the last Limit (0: all) at or after Since, oldest first.
type AuditQuery struct {
	Since time.Time
	Limit int
}

// Audit is the append-only audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// ---- helpers for backends ----

// ValidFileID reports whether id has the form of a file id (and so is safe as a file name).
func ValidFileID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FileIDOf returns the file id of a hex SHA-256.
func FileIDOf(sha256hex string) string {
	if len(sha256hex) < 16 {
		return sha256hex
	}
	return sha256hex[:16]
}
