package pgstate

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

func testPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "initial" {
		t.Fatalf("migrations: %+v", ms)
	}
}

// Eight processes' worth of pools migrate one empty database at the same moment: every migration
// is applied once, and every caller sees the final version.
func TestMigrateConcurrentlyAppliesOnce(t *testing.T) {
	dsn := pg.Database(t)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	versions := make([]int, 8)
	errs := make([]error, 8)
	for i := range versions {
		pool := testPool(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			versions[i], errs[i] = Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	for i := range versions {
		if errs[i] != nil || versions[i] != len(ms) {
			t.Fatalf("caller %d: version %d, error %v", i, versions[i], errs[i])
		}
	}
	pool := testPool(t, dsn)
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	for _, table := range []string{"ledger_keys", "files", "spool", "messages", "mailboxes", "records",
		"file_reports", "outbox", "operators", "audit", "state_meta"} {
		if _, err := pool.Exec(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

// A database migrated by a newer release is refused, not silently used.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := testPool(t, dsn)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, pool); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
}
