package pgstate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

func openTest(t *testing.T, dsn string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lkey(i int) state.LedgerKey {
	var k state.LedgerKey
	binary.BigEndian.PutUint64(k[8:], uint64(i))
	return k
}

// addLocal adds a file known by path only and claims it.
func addAndClaim(t *testing.T, s *Store, i int, owner string) (string, state.Claim) {
	t.Helper()
	ctx := context.Background()
	sha := fmt.Sprintf("%016x%048d", 0xa000+i, 0)
	res, err := s.AddFiles(ctx, []state.Incoming{{SHA256: sha, Size: 1, FileName: "f.xlsx"}}, state.Arrival{Path: fmt.Sprintf("/f%d", i)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := res.New[0].ID
	_, c, err := s.ClaimFile(ctx, id, owner, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return id, c
}

// Two processes share the ledger key; a wrong password fails without showing it; an unreachable
// server is ErrUnavailable, and its error holds no password either.
func TestOpenSharesLedgerKeyAndHidesPassword(t *testing.T) {
	dsn := pg.Database(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	ka, _ := a.LedgerSecret(context.Background())
	kb, _ := b.LedgerSecret(context.Background())
	if string(ka) != string(kb) || len(ka) != 32 {
		t.Fatal("two processes got different ledger keys")
	}
	c := pg.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, strings.Replace(dsn, c.Password(), "Wr0ngPassw0rdXyz", 1), Options{})
	if err == nil || strings.Contains(err.Error(), "Wr0ngPassw0rdXyz") {
		t.Fatalf("wrong password: err %v", err)
	}
	_, err = Open(ctx, "postgres://x:Secr3tPw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", Options{})
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "Secr3tPw") {
		t.Fatalf("unreachable: err %v", err)
	}
	// The libpq environment supplies what the URL leaves out (the password among it).
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	db := dsn[strings.LastIndex(dsn, "/")+1 : strings.Index(dsn, "?")]
	s, err := Open(ctx, "postgres:///"+db, Options{})
	if err != nil {
		t.Fatalf("open with PG* variables: %v", err)
	}
	s.Close()
}

// Files racing for the same keys, each in its own process: every key ends registered by exactly
// one file. A file whose keys were taken after its view is told so (ErrLostClaim and
// ErrLedgerConflict, nothing recorded, the claim released) and, processed again with a fresh view,
// leaves those keys to their owner.
func TestKeysRegisteredOnceUnderRace(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const files, keys = 6, 300
	var wg sync.WaitGroup
	registered := make([]map[state.LedgerKey]bool, files)
	ids := make([]string, files)
	for i := range files {
		s := openTest(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, c := addAndClaim(t, s, i, fmt.Sprintf("p%d", i))
			ids[i] = id
			for attempt := 0; attempt < 10; attempt++ {
				view, err := s.LedgerView(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				var changes []state.LedgerChange
				for k := range keys {
					if e, ok := view.Get(lkey(k)); ok && !e.Deleted && e.FileID != id {
						continue // a ledger duplicate
					}
					changes = append(changes, state.LedgerChange{Key: lkey(k), Row: k + 2})
				}
				view.Close()
				err = s.RecordOutcome(ctx, id, state.Outcome{Claim: c, Status: state.StatusProcessed, Changes: changes})
				if errors.Is(err, ErrLedgerConflict) && errors.Is(err, state.ErrLostClaim) {
					if _, c, err = s.ClaimFile(ctx, id, c.Owner, time.Minute); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				registered[i] = map[state.LedgerKey]bool{}
				for _, ch := range changes {
					registered[i][ch.Key] = true
				}
				return
			}
			t.Errorf("file %d: no progress after 10 conflicts", i)
		}()
	}
	wg.Wait()
	owners := map[state.LedgerKey]int{}
	for i := range files {
		for k := range registered[i] {
			owners[k]++
		}
	}
	if len(owners) != keys {
		t.Fatalf("%d keys registered, want %d", len(owners), keys)
	}
	for k, n := range owners {
		if n != 1 {
			t.Fatalf("key %x registered by %d files", k, n)
		}
	}
	s := openTest(t, dsn)
	live, _, err := s.LedgerStats(ctx)
	if err != nil || live != keys {
		t.Fatalf("ledger: %d live keys (%v)", live, err)
	}
}

// The ledger view of one process sees what another process registered (incremental refresh),
// including a later tombstone of a key it had cached.
func TestLedgerViewCatchesUp(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	a, b := openTest(t, dsn), openTest(t, dsn)
	v, err := a.LedgerView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.Get(lkey(1)); ok {
		t.Fatal("key in an empty ledger")
	}
	id1, c1 := addAndClaim(t, b, 1, "b")
	if err := b.RecordOutcome(ctx, id1, state.Outcome{Claim: c1, Status: state.StatusProcessed,
		Changes: []state.LedgerChange{{Key: lkey(1), Row: 2}, {Key: lkey(2), Row: 3}}}); err != nil {
		t.Fatal(err)
	}
	v, _ = a.LedgerView(ctx)
	if e, ok := v.Get(lkey(2)); !ok || e.FileID != id1 || e.Row != 3 || e.Deleted {
		t.Fatalf("after b registered: %+v %v", e, ok)
	}
	id2, c2 := addAndClaim(t, b, 2, "b")
	if err := b.RecordOutcome(ctx, id2, state.Outcome{Claim: c2, Status: state.StatusProcessed,
		Changes: []state.LedgerChange{{Key: lkey(2), Row: 9, Delete: true}}}); err != nil {
		t.Fatal(err)
	}
	v, _ = a.LedgerView(ctx)
	if e, ok := v.Get(lkey(2)); !ok || e.FileID != id2 || !e.Deleted {
		t.Fatalf("after b deleted: %+v %v", e, ok)
	}
}

// Records and the report are stored with the outcome, from the records file, and replaced (not
// doubled) when the file's outcome is recorded again.
func TestRecordsStoredWithOutcome(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	s := openTest(t, dsn)
	id, c := addAndClaim(t, s, 1, "w")
	recs := filepath.Join(t.TempDir(), "records.jsonl")
	lines := `{"file_id":"x","row":2,"person_id":"01010000000"}` + "\n" + `{"file_id":"x","row":5,"person_id":"02020000000"}` + "\n"
	if err := os.WriteFile(recs, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	o := state.Outcome{Claim: c, Status: state.StatusProcessed, RecordsPath: recs, Report: []byte(`{"status":"accepted"}`),
		Summary: state.Summary{ReportStatus: "accepted"}, Changes: []state.LedgerChange{{Key: lkey(1), Row: 2}, {Key: lkey(2), Row: 5}}}
	if err := s.RecordOutcome(ctx, id, o); err != nil {
		t.Fatal(err)
	}
	_, c, _ = s.ClaimFile(ctx, id, "w", time.Minute, state.StatusProcessed)
	o.Claim = c
	if err := s.RecordOutcome(ctx, id, o); err != nil {
		t.Fatal(err)
	}
	var n int
	var rows string
	if err := s.Pool().QueryRow(ctx, "SELECT count(*), string_agg(row_no::text, ',' ORDER BY row_no) FROM records WHERE file_id = $1", id).Scan(&n, &rows); err != nil {
		t.Fatal(err)
	}
	if n != 2 || rows != "2,5" {
		t.Fatalf("records: %d rows %s", n, rows)
	}
	var status string
	if err := s.Pool().QueryRow(ctx, "SELECT status FROM file_reports WHERE file_id = $1", id).Scan(&status); err != nil || status != "accepted" {
		t.Fatalf("file_reports: %q %v", status, err)
	}
}
