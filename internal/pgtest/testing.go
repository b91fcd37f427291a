package pgtest

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/testtool"
)

// New starts a private cluster for one test (for outage tests that stop or restart it) and
// removes it when the test ends. Without PostgreSQL the test skips locally and fails under CI.
func New(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, o)
	if errors.Is(err, ErrNoPostgres) {
		testtool.Missing(tb, "PostgreSQL 15+ (initdb, pg_ctl)", InstallHint)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Shared is one cluster per test binary, started on first use and removed when the binary ends.
// Declare one in the test package and run the tests through it:
//
//	var pg pgtest.Shared
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
//
// and give each test its own database with pg.Database(t).
type Shared struct {
	Options Options
	once    sync.Once
	c       *Cluster
	err     error
}

// Run runs the tests and then removes the cluster if one was started.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	if s.c != nil {
		if err := s.c.Close(); err != nil {
			os.Stderr.WriteString("pgtest: " + err.Error() + "\n")
		}
	}
	return code
}

// Cluster returns the shared cluster, starting it on first use. Without PostgreSQL the test skips
// locally and fails under CI.
func (s *Shared) Cluster(tb testing.TB) *Cluster {
	tb.Helper()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.c, s.err = StartCluster(ctx, s.Options)
	})
	if errors.Is(s.err, ErrNoPostgres) {
		testtool.Missing(tb, "PostgreSQL 15+ (initdb, pg_ctl)", InstallHint)
	}
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.c
}

// Database creates a fresh database on the shared cluster for this test and returns its DSN
// (password included, for in-process connections).
func (s *Shared) Database(tb testing.TB) string {
	tb.Helper()
	c := s.Cluster(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := c.CreateDatabase(ctx, tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	return c.DSN(name)
}
