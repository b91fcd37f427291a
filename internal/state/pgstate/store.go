package pgstate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fhi/sysvak-import/internal/state"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUnavailable wraps errors that mean the database cannot be reached (down, restarting,
// refusing connections): an operational failure (exit 4), worth retrying later.
var ErrUnavailable = state.ErrUnavailable

// ErrLedgerConflict is returned (wrapped together with state.ErrLostClaim) by RecordOutcome when
// another file registered some of the file's keys after its ledger view was taken: nothing is
// recorded, the claim is released, and the file is processed again with a fresh view (its
// rows then become ledger duplicates).
var ErrLedgerConflict = state.ErrLedgerConflict

// Options tune Open.
type Options struct {
	// Now is the clock for claims, leases and recorded times (default time.Now). Processes sharing
	// a state compare leases across hosts, so hosts keep their clocks in sync (NTP).
	Now func() time.Time
	// PasswordDir is the password drop-box folder (SPEC 8: --password-dir; passwords are never
	// stored in the database). Default: TempDir's sibling "passwords" under a per-process folder.
	PasswordDir string
	// TempDir is where incoming attachments and opened spool copies are written (default a new
	// 0700 folder under the system temp folder, removed by Close).
	TempDir string
	// MaxConns bounds the connection pool (default 8).
	MaxConns int32
}

// Store is an open PostgreSQL state. It implements state.Store.
type Store struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	mac     []byte
	tempDir string
	ownTemp string // removed by Close
	pwDir   string
	cache   ledgerCache

	importedMAC []byte // set by Import's header
}

var _ state.Store = (*Store)(nil)

// IsURL reports whether a --state value names a PostgreSQL database rather than a folder.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database named by url (libpq URL; PGPASSWORD, PGPASSFILE, PGSSLROOTCERT
// and the other libpq variables apply), migrates the schema and loads the ledger key. Errors
// never contain the password.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in parse errors; add nothing of the URL.
		return nil, fmt.Errorf("pgstate: the --state URL is not valid: %w", err)
	}
	cfg.MaxConns = 8
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "sysvak-import"
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{now: o.Now, tempDir: o.TempDir, pwDir: o.PasswordDir}
	if err := s.makeDirs(); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		s.removeTemp()
		return nil, classify(fmt.Errorf("pgstate: connect: %w", err))
	}
	s.pool = pool
	if err := s.init(ctx); err != nil {
		pool.Close()
		s.removeTemp()
		return nil, err
	}
	return s, nil
}

func (s *Store) makeDirs() error {
	if s.tempDir == "" || s.pwDir == "" {
		d, err := os.MkdirTemp("", "sysvak-pgstate-")
		if err != nil {
			return fmt.Errorf("pgstate: temp folder: %w", err)
		}
		s.ownTemp = d
		if s.tempDir == "" {
			s.tempDir = filepath.Join(d, "incoming")
		}
		if s.pwDir == "" {
			s.pwDir = filepath.Join(d, "passwords")
		}
	}
	for _, d := range []string{s.tempDir, s.pwDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			s.removeTemp()
			return fmt.Errorf("pgstate: create %s: %w", filepath.Base(d), err)
		}
	}
	return nil
}

func (s *Store) removeTemp() {
	if s.ownTemp != "" {
		os.RemoveAll(s.ownTemp)
	}
}

func (s *Store) init(ctx context.Context) error {
	var version int
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return classify(fmt.Errorf("pgstate: connect: %w", err))
	}
	if version < 150000 {
		return fmt.Errorf("pgstate: PostgreSQL %d.%d is too old; 15 or newer is needed", version/10000, version%10000)
	}
	if _, err := Migrate(ctx, s.pool); err != nil {
		return classify(err)
	}
	mac := make([]byte, 32)
	if _, err := rand.Read(mac); err != nil {
		return fmt.Errorf("pgstate: generate ledger key: %w", err)
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO state_meta (ledger_mac) VALUES ($1) ON CONFLICT (id) DO NOTHING", mac); err != nil {
		return classify(fmt.Errorf("pgstate: ledger key: %w", err))
	}
	if err := s.pool.QueryRow(ctx, "SELECT ledger_mac FROM state_meta").Scan(&s.mac); err != nil {
		return classify(fmt.Errorf("pgstate: ledger key: %w", err))
	}
	return nil
}

// Close closes the pool and removes the store's own temp folder. Claims still held expire.
func (s *Store) Close() error {
	s.pool.Close()
	s.removeTemp()
	return nil
}

// Pool is the connection pool (for `state check`, `state import` and the tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// PasswordDir is the password drop-box folder.
func (s *Store) PasswordDir() string { return s.pwDir }

// classify marks errors that mean "the database is not there" with ErrUnavailable.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot
		// connect now (starting up or shutting down).
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	return strings.Contains(err.Error(), "conn closed")
}

// tx runs f in a transaction and classifies its error.
func (s *Store) tx(ctx context.Context, f func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, f))
}
