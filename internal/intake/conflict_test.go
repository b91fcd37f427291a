package intake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// conflicting answers the first n outcomes that register keys as a shared state does when
// another process registered some of them meanwhile: the claim released, ErrLedgerConflict.
type conflicting struct {
	state.Store
	left atomic.Int32
}

func (c *conflicting) RecordOutcome(ctx context.Context, id string, o state.Outcome) error {
	if len(o.Changes) > 0 && c.left.Add(-1) >= 0 {
		if err := c.Store.ReleaseClaim(ctx, o.Claim); err != nil {
			return err
		}
		return fmt.Errorf("file %s: %w: %w", id, state.ErrLostClaim, state.ErrLedgerConflict)
	}
	return c.Store.RecordOutcome(ctx, id, o)
}

// Every front end that processes one file (import, unlock and so the console, a pass) processes
// it again when the ledger changed under it, up to a bound, registering each key once.
func TestLedgerConflictRetried(t *testing.T) {
	runs := map[string]func(w *world) (*report.Report, string, error){
		"import": func(w *world) (*report.Report, string, error) {
			b, err := os.ReadFile(clean)
			if err != nil {
				w.t.Fatal(err)
			}
			rep, err := w.svc.ImportPath(ctx, clean, nil, time.Now())
			return rep, state.FileIDOf(sha(b)), err
		},
		"unlock": func(w *world) (*report.Report, string, error) {
			id := w.spool(encrypted, 1)
			rep, err := w.svc.Unlock(ctx, id, []secret.Secret{secret.New([]byte("Sommer-Vaksine-2025"))})
			return rep, id, err
		},
		"pass": func(w *world) (*report.Report, string, error) {
			id := w.spool(clean, 1)
			var rep *report.Report
			err := w.svc.Pass(ctx, intake.PassInput{}, nil, func(ev intake.Event) error { rep = ev.Report; return nil })
			return rep, id, err
		},
	}
	for name, run := range runs {
		for _, tc := range []struct {
			conflicts int32
			ok        bool
		}{{1, true}, {5, true}, {6, false}} {
			t.Run(fmt.Sprintf("%s/%d", name, tc.conflicts), func(t *testing.T) {
				cs := &conflicting{}
				cs.left.Store(tc.conflicts)
				w := &world{t: t, dir: t.TempDir(), out: t.TempDir(), wrap: func(st state.Store) state.Store { cs.Store = st; return cs }}
				w.open()
				t.Cleanup(func() { w.st.Close() })
				rep, id, err := run(w)
				if !tc.ok {
					if !errors.Is(err, state.ErrLedgerConflict) {
						t.Fatalf("after %d conflicts: %v, want ErrLedgerConflict", tc.conflicts, err)
					}
					if f := w.file(id); f.Status == state.StatusProcessing || w.live() != 0 {
						t.Fatalf("given up: status %s, %d keys", f.Status, w.live())
					}
					return
				}
				if err != nil || rep == nil {
					t.Fatalf("after %d conflicts: %v", tc.conflicts, err)
				}
				f := w.file(id)
				n := rep.Stats.Registered
				if n == 0 || f.Status != state.StatusProcessed || len(f.Arrivals) != 0 || w.live() != n || w.records(id) != n {
					t.Fatalf("status %s, arrivals %d, registered %d, keys %d, records %d", f.Status, len(f.Arrivals), n, w.live(), w.records(id))
				}
			})
		}
	}
}
