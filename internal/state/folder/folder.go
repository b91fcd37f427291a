// Package folder is the embedded state backend (SPEC 8): a state folder of bbolt databases and
// files, used by one process at a time. It implements internal/state.Store over the ledger
// (importer/ledger: STATE/ledger.db and ledger.key) and the spool store (internal/state/folder/spool:
// STATE/mailbox.db, STATE/spool/, STATE/passwords/), adding its own buckets to mailbox.db for
// reports, the receipts outbox and operator accounts, and STATE/audit.log (JSON lines).
//
// Atomicity: RecordOutcome commits the ledger changes first (idempotent: keys owned by the same
// file id are its own; a file of more than 65,536 keys in several transactions, deletions and
// the file's ledger state in the last: see ledger.CommitFiles) and then, in one mailbox.db transaction, the file's status, summary and
// report and the queued receipts. A crash between the two leaves the file processing under a claim
// of a dead instance; the next process takes it over at once (a folder state has one process, so
// a claim of another instance is dead) and processing it again gives the same outcome.
// RecordOutcomes does the same for a batch of files: every claim is checked first (a lost one
// records nothing), then one ledger commit for all of them and one mailbox.db transaction.
package folder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/dropbox"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"
)

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to close the state (default 10 s).
	LockTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is an open state folder.
type Store struct {
	dir         string
	sp          *spool.Store
	drop        dropbox.Box // STATE/passwords
	now         func() time.Time
	lockTimeout time.Duration

	ledMu sync.Mutex
	led   *ledger.Ledger // opened on first use (see ledger)

	instance string // claims of another instance are dead: one process has a folder state

	mu        sync.Mutex // message claims and the audit log
	msgClaims map[state.MessageKey]state.Claim
	msgTokens int64
}

var _ state.Store = (*Store)(nil)

var (
	bReports   = []byte("reports")
	bOutbox    = []byte("outbox")
	bOperators = []byte("operators")
)

// AuditFileName is the audit log inside the state folder.
const AuditFileName = "audit.log"

// Open opens (creating if needed) the state folder dir. It waits up to LockTimeout while another
// process has it open, then fails with state.ErrLocked.
func Open(ctx context.Context, dir string, o Options) (*Store, error) {
	if o.LockTimeout <= 0 {
		o.LockTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	sp, err := spool.Open(ctx, dir, spool.Options{Timeout: o.LockTimeout, Now: o.Now})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%w (%s)", state.ErrLocked, dir)
		}
		return nil, err
	}
	err = sp.DB().Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bReports, bOutbox, bOperators} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("state: initialise %s: %w", dir, err)
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	return &Store{dir: dir, sp: sp, drop: dropbox.Box{Dir: filepath.Join(dir, spool.PasswordDir)}, now: o.Now, lockTimeout: o.LockTimeout, instance: hex.EncodeToString(inst[:]),
		msgClaims: map[state.MessageKey]state.Claim{}}, nil
}

// ledger opens the ledger on first use: a mailbox pass needs only mailbox.db, so that a poller
// keeps taking mail while another command holds the ledger (the files wait for the next pass).
func (s *Store) ledger(ctx context.Context) (*ledger.Ledger, error) {
	s.ledMu.Lock()
	defer s.ledMu.Unlock()
	if s.led != nil {
		return s.led, nil
	}
	led, err := ledger.Open(ctx, s.dir, ledger.Options{LockTimeout: s.lockTimeout})
	if err != nil {
		if errors.Is(err, ledger.ErrLocked) {
			return nil, fmt.Errorf("%w (%s): %w", state.ErrLocked, s.dir, err)
		}
		return nil, err
	}
	s.led = led
	return led, nil
}

// Close closes the state folder.
func (s *Store) Close() error {
	s.ledMu.Lock()
	defer s.ledMu.Unlock()
	var err error
	if s.led != nil {
		err = s.led.Close()
		s.led = nil
	}
	if e := s.sp.Close(); err == nil {
		err = e
	}
	return err
}

// Dir is the state folder.
func (s *Store) Dir() string { return s.dir }

// ---- ledger ----

// LedgerSecret implements state.Ledger.
func (s *Store) LedgerSecret(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	led, err := s.ledger(ctx)
	if err != nil {
		return nil, err
	}
	return led.Secret(), nil
}

type ledgerView struct{ r *ledger.Reader }

func (v ledgerView) Get(k state.LedgerKey) (state.LedgerEntry, bool) {
	e, ok := v.r.Get(ledger.Key(k))
	return state.LedgerEntry{FileID: e.FileID, Row: e.Row, Deleted: e.Deleted}, ok
}
func (v ledgerView) Close() error { return v.r.Close() }

// LedgerView implements state.Ledger.
func (s *Store) LedgerView(ctx context.Context) (state.LedgerView, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	led, err := s.ledger(ctx)
	if err != nil {
		return nil, err
	}
	r, err := led.Reader()
	if err != nil {
		return nil, err
	}
	return ledgerView{r}, nil
}

// LedgerStats implements state.Ledger.
func (s *Store) LedgerStats(ctx context.Context) (int, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	led, err := s.ledger(ctx)
	if err != nil {
		return 0, 0, err
	}
	return led.Stats()
}

// ---- password drop-box ----

// DroppedPasswords implements state.Passwords.
func (s *Store) DroppedPasswords(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.drop.List()
}

// TakePassword implements state.Passwords.
func (s *Store) TakePassword(ctx context.Context, id string) (pw secret.Secret, ok bool, err error) {
	if !state.ValidFileID(id) {
		return pw, false, state.ErrBadFileID
	}
	if err := ctx.Err(); err != nil {
		return pw, false, err
	}
	return s.drop.Take(id)
}

// DropPassword implements state.Passwords.
func (s *Store) DropPassword(ctx context.Context, id string, pw secret.Secret) error {
	if !state.ValidFileID(id) {
		return state.ErrBadFileID
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.drop.Drop(id, pw)
}

// LockPoll takes the poll lock of a state folder (STATE/poll.lock, released when the process
// ends): one poller per folder state. The error wraps state.ErrLocked when another has it.
func LockPoll(dir string) (unlock func() error, err error) {
	l, err := spool.Lock(dir)
	if err != nil {
		if errors.Is(err, spool.ErrLocked) {
			return nil, fmt.Errorf("%w: %w", state.ErrLocked, err)
		}
		return nil, err
	}
	return l.Unlock, nil
}
