package pgstate

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises schema migrations between processes
// starting at the same moment ("sysvak" in ASCII).
const migrationLockKey int64 = 0x737973766b

// Migration is one versioned schema change, migrations/NNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var migrationNameRe = regexp.MustCompile(`^(\d{3})_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in version order. Versions start at 1 and have no
// gaps; a file that breaks the naming rule is an error (caught by the tests, never at a customer).
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstate: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationNameRe.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("pgstate: migration file %q is not NNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("pgstate: read migration: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("pgstate: migration versions must be 1, 2, 3...: found %03d at position %d", m.Version, i+1)
		}
	}
	return ms, nil
}

// ErrSchemaTooNew is returned when the database was migrated by a newer release than this one.
var ErrSchemaTooNew = errors.New("pgstate: the database schema is newer than this program; upgrade sysvak-import")

// Migrate brings the schema up to date. It holds a session advisory lock while it works, so that
// processes starting together apply each migration once; each migration runs in its own
// transaction together with its row in schema_migrations. It returns the schema version.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return 0, fmt.Errorf("pgstate: migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx was cancelled mid-migration (if
		// the unlock fails, the connection is closed below and the lock goes with it).
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("pgstate: create schema_migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return 0, fmt.Errorf("pgstate: read schema version: %w", err)
	}
	if current > len(ms) {
		return current, fmt.Errorf("%w (database at version %d, this program knows %d)", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return current, fmt.Errorf("pgstate: migration %03d_%s: %w", m.Version, m.Name, err)
		}
		current = m.Version
	}
	return current, nil
}
