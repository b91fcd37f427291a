package spool

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/internal/fsutil"
	"github.com/fhi/sysvak-import/internal/state"
)

// Status is where a spooled file stands in the pipeline.
type Status string

// The statuses of a spooled file. The mailbox only ever writes StatusNew; the pipeline moves a
// file on (Claim -> processing -> processed | rejected | waiting_password).
const (
	StatusNew             Status = "new"
	StatusWaitingPassword Status = "waiting_password"
	StatusProcessing      Status = "processing"
	StatusProcessed       Status = "processed"
	StatusRejected        Status = "rejected"
)

// Arrival is one arrival of a file: the first one is Entry.Source, later ones (the same bytes
// sent again) are Entry.Arrivals, which a report lists as `resent` (SPEC 5).
type Arrival struct {
	Received    time.Time `json:"received"`
	Mailbox     string    `json:"mailbox,omitempty"`
	UIDValidity uint32    `json:"uidvalidity,omitempty"`
	UID         uint32    `json:"uid,omitempty"`
	MessageID   string    `json:"message_id,omitempty"`
	// Sender is the From address. It stays in the state store (for `pending`); never log it.
	Sender   string `json:"sender,omitempty"`
	FileName string `json:"file_name,omitempty"`
	// Path is set for a file that came from the local file system rather than a mailbox.
	Path string `json:"path,omitempty"`
}

// same reports whether two arrivals are the same delivery seen twice (a re-poll after a crash or
// after UIDVALIDITY changed), as opposed to a real resend.
func (a Arrival) same(b Arrival) bool {
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

// Entry is one spooled file, keyed by its file id.
type Entry struct {
	FileID   string    `json:"file_id"`
	SHA256   string    `json:"sha256"`
	FileName string    `json:"file_name"` // sanitised, for display only
	Size     int64     `json:"size"`
	Kind     string    `json:"kind,omitempty"` // what the content sniffer said it is
	Received time.Time `json:"received"`
	Source   Arrival   `json:"source"`
	Arrivals []Arrival `json:"arrivals,omitempty"`
	Status   Status    `json:"status"`
	// LastError is a finding code (e.g. file.wrong_password) set by the pipeline.
	LastError string    `json:"last_error,omitempty"`
	Updated   time.Time `json:"updated"`

	// Fields of the state backend (internal/state/folder).
	NotSpooled    bool          `json:"not_spooled,omitempty"` // a local file: its bytes are not kept
	Summary       state.Summary `json:"summary"`
	Reported      int           `json:"reported,omitempty"`
	Unwritten     bool          `json:"unwritten,omitempty"` // outputs not (yet) written for the recorded outcome
	Claim         state.Claim   `json:"claim"`
	ClaimInstance string        `json:"claim_instance,omitempty"`
}

// Incoming is an attachment already written, fsynced and closed in TempDir, waiting to be committed.
type Incoming struct {
	TempPath string
	Path     string // a local file's own arrival Path (several local files in one Commit)
	SHA256   string // hex, 64 digits
	Size     int64
	FileName string
	Kind     string
}

// FileID returns the file id of SPEC 5 for a hex SHA-256.
func FileID(sha256hex string) string {
	if len(sha256hex) < 16 {
		return sha256hex
	}
	return sha256hex[:16]
}

var fileIDRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ErrBadFileID is returned for a file id that is not 16 lower-case hex digits.
var ErrBadFileID = errors.New("spool: a file id is 16 lower-case hex digits")

// ErrNotFound is returned for an unknown file id.
var ErrNotFound = errors.New("spool: no such file id")

// ValidFileID reports whether id has the form of a file id (and so is safe as a file name).
func ValidFileID(id string) bool { return fileIDRe.MatchString(id) }

// Skip is an attachment or message part that was not taken, with the reason (a code) and what
// it looked like. FileName is sanitised.
type Skip struct {
	FileName string `json:"file_name,omitempty"`
	Reason   string `json:"reason"`
	What     string `json:"what,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

// MessageRecord is the ledger entry of one message taken from a mailbox.
type MessageRecord struct {
	Mailbox     string    `json:"mailbox"`
	UIDValidity uint32    `json:"uidvalidity"`
	UID         uint32    `json:"uid"`
	MessageID   string    `json:"message_id,omitempty"`
	Recorded    time.Time `json:"recorded"`
	// Folder is where the message is (to be) moved: the processed or the rejected folder.
	Folder  string   `json:"folder"`
	FileIDs []string `json:"file_ids,omitempty"` // new files spooled from it
	Resent  []string `json:"resent,omitempty"`   // files it carried that were already spooled
	Skipped []Skip   `json:"skipped,omitempty"`
	Moved   bool     `json:"moved"`

	// Headers receipts need (SPEC 10). Never logged.
	Received      time.Time `json:"received,omitempty"`
	From          string    `json:"from,omitempty"`
	ReplyTo       string    `json:"reply_to,omitempty"`
	ReturnPath    string    `json:"return_path,omitempty"`
	AutoSubmitted string    `json:"auto_submitted,omitempty"`
	Precedence    string    `json:"precedence,omitempty"`
}

// MailboxState is what the poller remembers about a source mailbox.
type MailboxState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// Options configure Open.
type Options struct {
	// Timeout bounds the wait for the state store when another process has it open (default 10 s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is the open state folder.
type Store struct {
	dir string
	db  *bolt.DB
	now func() time.Time
}

// DBFileName, SpoolDir, PasswordDir and TempDirName are the names inside the state folder.
const (
	DBFileName  = "mailbox.db"
	SpoolDir    = "spool"
	PasswordDir = "passwords"
	TempDirName = "tmp" // inside SpoolDir
)

var (
	bFiles     = []byte("files")
	bMessages  = []byte("messages")
	bMsgIDs    = []byte("message_ids")
	bMailboxes = []byte("mailboxes")
)

// Open opens (creating if needed) the state folder dir. The store is exclusive per process while
// open (bbolt's own file lock); Open waits up to Options.Timeout for another process to close it.
func Open(ctx context.Context, dir string, opt Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, filepath.Join(dir, SpoolDir), filepath.Join(dir, SpoolDir, TempDirName), filepath.Join(dir, PasswordDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("spool: create %s: %w", filepath.Base(d), err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("spool: chmod %s: %w", filepath.Base(d), err)
		}
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db, err := bolt.Open(filepath.Join(dir, DBFileName), 0o600, &bolt.Options{Timeout: opt.Timeout})
	if err != nil {
		return nil, fmt.Errorf("spool: open state store: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bFiles, bMessages, bMsgIDs, bMailboxes} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("spool: init state store: %w", err)
	}
	return &Store{dir: dir, db: db, now: opt.Now}, nil
}

// DB is the state store's database, for the folder state backend (internal/state/folder), which
// keeps its own buckets beside these and updates entries in its own transactions.
func (s *Store) DB() *bolt.DB { return s.db }

// FilesBucket is the bucket of file entries (JSON Entry by file id) in DB.
func FilesBucket(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bFiles) }

// Close closes the state store.
func (s *Store) Close() error { return s.db.Close() }

// Dir is the state folder.
func (s *Store) Dir() string { return s.dir }

// TempDir is where attachments are written before Commit renames them (same file system).
func (s *Store) TempDir() string { return filepath.Join(s.dir, SpoolDir, TempDirName) }

// Path is the spool file of a file id.
func (s *Store) Path(fileID string) (string, error) {
	if !ValidFileID(fileID) {
		return "", ErrBadFileID
	}
	return filepath.Join(s.dir, SpoolDir, fileID), nil
}

// CommitResult says what Commit did with each incoming file.
type CommitResult struct {
	New    []Entry // entries created
	Resent []Entry // existing entries that got an arrival (or, for the same delivery seen again, none)
}

// Commit makes incoming attachment files durable in the spool and records them, together with the
// message ledger entry msg (if not nil) and the mailbox's last UID, in one bbolt transaction.
// A file whose id is already in the store is not stored again: its entry gets arrival `arr` added
// (unless it is the same delivery seen again, e.g. after a crash or a UIDVALIDITY change) and the
// temporary file is removed. msg.FileIDs and msg.Resent are filled in. The temp files are consumed
// (renamed or removed) whatever the outcome.
func (s *Store) Commit(ctx context.Context, in []Incoming, arr Arrival, msg *MessageRecord) (CommitResult, error) {
	return s.CommitWith(ctx, in, arr, msg, nil)
}

// CommitWith is Commit that also runs also (when not nil) in the same transaction, after the
// files and the message are written: its error rolls everything back (the temp files are
// consumed all the same; a retry brings them again).
func (s *Store) CommitWith(ctx context.Context, in []Incoming, arr Arrival, msg *MessageRecord, also func(*bolt.Tx) error) (CommitResult, error) {
	var res CommitResult
	defer func() {
		for _, f := range in {
			_ = os.Remove(f.TempPath) // already renamed: ENOENT
		}
	}()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if arr.Received.IsZero() {
		arr.Received = s.now()
	}
	// 1. Which ids are new? Rename those into place (after the extractor's fsync), then fsync the folder.
	if err := s.renameNew(in); err != nil {
		return res, err
	}
	// 2. Record everything in one transaction.
	now := s.now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		files := tx.Bucket(bFiles)
		seen := map[string]bool{}
		for _, f := range in {
			id := FileID(f.SHA256)
			if seen[id] {
				continue
			}
			seen[id] = true
			a := arr
			a.FileName = f.FileName
			if f.Path != "" {
				a.Path = f.Path
			}
			var e Entry
			if raw := files.Get([]byte(id)); raw != nil {
				if err := json.Unmarshal(raw, &e); err != nil {
					return fmt.Errorf("entry %s: %w", id, err)
				}
				dup := e.Source.same(a)
				for _, x := range e.Arrivals {
					dup = dup || x.same(a)
				}
				if !dup {
					e.Arrivals = append(e.Arrivals, a)
					e.Updated = now
				}
				if e.NotSpooled && f.TempPath != "" {
					e.NotSpooled = false // renamed into the spool above
				}
				res.Resent = append(res.Resent, e)
				if msg != nil {
					msg.Resent = append(msg.Resent, id)
				}
			} else {
				e = Entry{FileID: id, SHA256: f.SHA256, FileName: f.FileName, Size: f.Size, Kind: f.Kind,
					Received: a.Received, Source: a, Status: StatusNew, Updated: now, NotSpooled: f.TempPath == ""}
				res.New = append(res.New, e)
				if msg != nil {
					msg.FileIDs = append(msg.FileIDs, id)
				}
			}
			if err := putJSON(files, []byte(id), e); err != nil {
				return err
			}
		}
		if msg != nil {
			if err := putMessage(tx, msg, now); err != nil {
				return err
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return CommitResult{}, fmt.Errorf("spool: record: %w", err)
	}
	return res, nil
}

// renameNew renames the incoming files whose ids the store does not hold (with their bytes)
// into the spool, then fsyncs the spool folder.
func (s *Store) renameNew(in []Incoming) error {
	known := map[string]bool{}
	if err := s.db.View(func(tx *bolt.Tx) error {
		for _, f := range in {
			id := FileID(f.SHA256)
			// A local file recorded without its bytes gets them from a later arrival that has them.
			raw := tx.Bucket(bFiles).Get([]byte(id))
			known[id] = raw != nil && !bytes.Contains(raw, []byte(`"not_spooled":true`))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("spool: read state: %w", err)
	}
	renamed := false
	for _, f := range in {
		id := FileID(f.SHA256)
		if !ValidFileID(id) || len(f.SHA256) != 64 {
			return ErrBadFileID
		}
		if known[id] || f.TempPath == "" {
			continue
		}
		if filepath.Dir(f.TempPath) != s.TempDir() {
			return fmt.Errorf("spool: incoming file is not in the spool's temp folder")
		}
		dst, _ := s.Path(id)
		if err := os.Rename(f.TempPath, dst); err != nil {
			if errors.Is(err, os.ErrNotExist) { // two parts with the same content: renamed already
				continue
			}
			return fmt.Errorf("spool: store file %s: %w", id, err)
		}
		renamed = true
	}
	if renamed {
		return syncDir(filepath.Join(s.dir, SpoolDir))
	}
	return nil
}

// RecordMessage records a message that carried no file (it goes to the rejected folder), and
// advances the mailbox's last UID, in one transaction.
func (s *Store) RecordMessage(ctx context.Context, msg *MessageRecord) error {
	return s.RecordMessageWith(ctx, msg, nil)
}

// RecordMessageWith is RecordMessage that also runs also (when not nil) in the same transaction;
// its error rolls the message back.
func (s *Store) RecordMessageWith(ctx context.Context, msg *MessageRecord, also func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putMessage(tx, msg, now); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spool: record message: %w", err)
	}
	return nil
}

func putMessage(tx *bolt.Tx, msg *MessageRecord, now time.Time) error {
	if msg.Recorded.IsZero() {
		msg.Recorded = now
	}
	key := msgKey(msg.Mailbox, msg.UIDValidity, msg.UID)
	if err := putJSON(tx.Bucket(bMessages), key, msg); err != nil {
		return err
	}
	if msg.MessageID != "" {
		ids := tx.Bucket(bMsgIDs)
		var keys []msgRef
		if raw := ids.Get([]byte(msg.MessageID)); raw != nil {
			if err := json.Unmarshal(raw, &keys); err != nil {
				return err
			}
		}
		ref := msgRef{msg.Mailbox, msg.UIDValidity, msg.UID}
		if !containsRef(keys, ref) {
			keys = append(keys, ref)
		}
		if err := putJSON(ids, []byte(msg.MessageID), keys); err != nil {
			return err
		}
	}
	// Advance the mailbox's last UID (never backwards).
	mb := tx.Bucket(bMailboxes)
	var st MailboxState
	if raw := mb.Get([]byte(msg.Mailbox)); raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return err
		}
	}
	if st.UIDValidity != msg.UIDValidity {
		st = MailboxState{UIDValidity: msg.UIDValidity}
	}
	if msg.UID > st.LastUID {
		st.LastUID = msg.UID
	}
	return putJSON(mb, []byte(msg.Mailbox), st)
}

// Message returns the ledger entry of a message, if it was recorded.
func (s *Store) Message(mailbox string, uidValidity, uid uint32) (MessageRecord, bool, error) {
	var m MessageRecord
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bMessages).Get(msgKey(mailbox, uidValidity, uid))
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &m)
	})
	if err != nil {
		return m, false, fmt.Errorf("spool: read message: %w", err)
	}
	return m, ok, nil
}

// SeenMessageID returns the ledger entries of messages with this Message-ID.
func (s *Store) SeenMessageID(messageID string) ([]MessageRecord, error) {
	var out []MessageRecord
	if messageID == "" {
		return nil, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bMsgIDs).Get([]byte(messageID))
		if raw == nil {
			return nil
		}
		var keys []msgRef
		if err := json.Unmarshal(raw, &keys); err != nil {
			return err
		}
		for _, k := range keys {
			if r := tx.Bucket(bMessages).Get(msgKey(k.Mailbox, k.UIDValidity, k.UID)); r != nil {
				var m MessageRecord
				if err := json.Unmarshal(r, &m); err != nil {
					return err
				}
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spool: read message ids: %w", err)
	}
	return out, nil
}

// MarkMoved records that the message was moved to its folder (or is no longer in the mailbox).
func (s *Store) MarkMoved(mailbox string, uidValidity uint32, uids ...uint32) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMessages)
		for _, uid := range uids {
			k := msgKey(mailbox, uidValidity, uid)
			raw := b.Get(k)
			if raw == nil {
				continue
			}
			var m MessageRecord
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			m.Moved = true
			if err := putJSON(b, k, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spool: mark moved: %w", err)
	}
	return nil
}

// PendingMoves lists messages of mailbox/uidValidity that were recorded but not yet moved.
func (s *Store) PendingMoves(mailbox string, uidValidity uint32) ([]MessageRecord, error) {
	var out []MessageRecord
	prefix := msgKey(mailbox, uidValidity, 0)
	prefix = prefix[:len(prefix)-4]
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bMessages).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var m MessageRecord
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if !m.Moved {
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spool: pending moves: %w", err)
	}
	return out, nil
}

// Messages lists every message ledger entry (for reports and tests), in mailbox/UID order.
func (s *Store) Messages() ([]MessageRecord, error) {
	var out []MessageRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bMessages).ForEach(func(_, v []byte) error {
			var m MessageRecord
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("spool: list messages: %w", err)
	}
	return out, nil
}

// MailboxState returns the stored UIDVALIDITY and last UID of a source mailbox (zero if none).
func (s *Store) MailboxState(mailbox string) (MailboxState, error) {
	var st MailboxState
	err := s.db.View(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bMailboxes).Get([]byte(mailbox)); raw != nil {
			return json.Unmarshal(raw, &st)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("spool: read mailbox state: %w", err)
	}
	return st, nil
}

// SetMailboxState stores the UIDVALIDITY and last UID of a source mailbox.
func (s *Store) SetMailboxState(mailbox string, st MailboxState) error {
	err := s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bMailboxes), []byte(mailbox), st) })
	if err != nil {
		return fmt.Errorf("spool: write mailbox state: %w", err)
	}
	return nil
}

// Get returns the entry of a file id.
func (s *Store) Get(fileID string) (Entry, bool, error) {
	var e Entry
	var ok bool
	if !ValidFileID(fileID) {
		return e, false, ErrBadFileID
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bFiles).Get([]byte(fileID))
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &e)
	})
	if err != nil {
		return e, false, fmt.Errorf("spool: read entry: %w", err)
	}
	return e, ok, nil
}

// List returns the entries with any of the given statuses (all entries when none is given),
// oldest first.
func (s *Store) List(statuses ...Status) ([]Entry, error) {
	want := map[Status]bool{}
	for _, st := range statuses {
		want[st] = true
	}
	var out []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bFiles).ForEach(func(_, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if len(want) == 0 || want[e.Status] {
				out = append(out, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("spool: list: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Received.Equal(out[j].Received) {
			return out[i].Received.Before(out[j].Received)
		}
		return out[i].FileID < out[j].FileID
	})
	return out, nil
}

// SetStatus sets the status and last error code of a file.
func (s *Store) SetStatus(fileID string, st Status, errCode string) error {
	_, err := s.update(fileID, func(e *Entry) bool {
		e.Status, e.LastError = st, errCode
		return true
	})
	return err
}

// Claim sets a file to processing if its status is one of from (default: new or
// waiting_password) and reports whether it did. Two processes cannot both claim a file.
func (s *Store) Claim(fileID string, from ...Status) (Entry, bool, error) {
	if len(from) == 0 {
		from = []Status{StatusNew, StatusWaitingPassword}
	}
	var claimed bool
	e, err := s.update(fileID, func(e *Entry) bool {
		for _, f := range from {
			if e.Status == f {
				e.Status = StatusProcessing
				claimed = true
				return true
			}
		}
		return false
	})
	return e, claimed, err
}

func (s *Store) update(fileID string, f func(*Entry) bool) (Entry, error) {
	var e Entry
	if !ValidFileID(fileID) {
		return e, ErrBadFileID
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bFiles)
		raw := b.Get([]byte(fileID))
		if raw == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if !f(&e) {
			return nil
		}
		e.Updated = s.now()
		return putJSON(b, []byte(fileID), e)
	})
	if err != nil {
		return e, fmt.Errorf("spool: update %s: %w", fileID, err)
	}
	return e, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

func msgKey(mailbox string, uidValidity, uid uint32) []byte {
	k := make([]byte, 0, len(mailbox)+9)
	k = append(k, mailbox...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, uidValidity)
	k = binary.BigEndian.AppendUint32(k, uid)
	return k
}

// msgRef names a message ledger entry (JSON-safe, unlike the binary bbolt key).
type msgRef struct {
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	UID         uint32 `json:"uid"`
}

func containsRef(xs []msgRef, s msgRef) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
