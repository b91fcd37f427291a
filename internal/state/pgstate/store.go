package pgstate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultLease is how long a claim lasts without a heartbeat. A worker extends it every third of
// it while it works; a claim whose worker died is taken over after at most this long (SPEC 8:
// within one minute).
const DefaultLease = 30 * time.Second

// ErrUnavailable wraps errors that mean the database cannot be reached (down, restarting,
// refusing connections): an operational failure (exit 4), worth retrying later.
var ErrUnavailable = errors.New("pgstate: the PostgreSQL state is unavailable")

// ErrLostClaim is returned when a worker's claim on a file or message was taken over (its lease ran
// out) before it finished: its work is rolled back and the new owner does it.
var ErrLostClaim = errors.New("pgstate: the claim was taken over by another process")

// Options tune Open.
type Options struct {
	// Owner names this process in claims (default host:pid:random).
	Owner string
	// Lease is the claim lease (default DefaultLease).
	Lease time.Duration
	// MaxConns bounds the connection pool (default 4).
	MaxConns int32
}

// Store is an open PostgreSQL state.
type Store struct {
	pool  *pgxpool.Pool
	owner string
	lease time.Duration
	mac   []byte
}

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
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	} else {
		cfg.MaxConns = 4
	}
	cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	cfg.ConnConfig.RuntimeParams["application_name"] = "sysvak-import"
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: connect: %w", err))
	}
	s := &Store{pool: pool, owner: o.Owner, lease: o.Lease}
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
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

func defaultOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}

// Close closes the pool. Claims still held run out after their lease.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Owner is this process's name in claims.
func (s *Store) Owner() string { return s.owner }

// Lease is the claim lease.
func (s *Store) Lease() time.Duration { return s.lease }

// LedgerMAC is the ledger's HMAC key.
func (s *Store) LedgerMAC() []byte { return s.mac }

// Pool is the connection pool (for `state check` and the tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

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
