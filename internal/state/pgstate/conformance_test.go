package pgstate

import (
	"context"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/statetest"
)

// The conformance suite of internal/state against PostgreSQL: a fresh database per test, opened
// again (as another process would) whenever the suite reopens the state.
func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		dsn := pg.Database(t)
		pwDir := t.TempDir()
		return statetest.Backend{
			Shared: true,
			Open: func(t *testing.T, now func() time.Time) state.Store {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				s, err := Open(ctx, dsn, Options{Now: now, PasswordDir: pwDir, TempDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		}
	})
}
