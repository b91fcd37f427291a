package pgstate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T, dsn string, o Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testFile(i int) (File, []byte) {
	data := []byte(fmt.Sprintf("file %d", i))
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return File{FileID: h[:16], SHA256: h, FileName: fmt.Sprintf("f%d.xlsx", i), Size: int64(len(data)),
		Received: time.Now().UTC(), Status: "new"}, data
}

func key(i int) Key {
	var k Key
	binary.BigEndian.PutUint64(k[8:], uint64(i))
	return k
}

// Two processes open one database: they share the ledger key; a wrong password fails without
// showing the password; an unreachable server is ErrUnavailable.
func TestOpenSharesLedgerKeyAndHidesPassword(t *testing.T) {
	dsn := pg.Database(t)
	a := openTest(t, dsn, Options{})
	b := openTest(t, dsn, Options{})
	if string(a.LedgerMAC()) != string(b.LedgerMAC()) || len(a.LedgerMAC()) != 32 {
		t.Fatal("two processes got different ledger keys")
	}
	if a.Owner() == b.Owner() {
		t.Fatal("two processes got the same owner name")
	}
	c := pg.Cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := strings.Replace(dsn, c.Password(), "Wr0ngPassw0rdXyz", 1)
	_, err := Open(ctx, bad, Options{})
	if err == nil || strings.Contains(err.Error(), "Wr0ngPassw0rdXyz") {
		t.Fatalf("wrong password: err %v", err)
	}
	_, err = Open(ctx, "postgres://x:Secr3tPw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", Options{})
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "Secr3tPw") {
		t.Fatalf("unreachable: err %v", err)
	}
}

// Eight workers claim from 40 files at once: every file is claimed by exactly one of them.
func TestClaimNextFileTakesEachFileOnce(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup := openTest(t, dsn, Options{})
	for i := range 40 {
		f, data := testFile(i)
		if ok, err := setup.InsertFile(ctx, f, data); !ok || err != nil {
			t.Fatalf("insert %d: %v %v", i, ok, err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]string{}
	var wg sync.WaitGroup
	for w := range 8 {
		s := openTest(t, dsn, Options{Owner: fmt.Sprintf("w%d", w)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				f, ok, err := s.ClaimNextFile(ctx, "new")
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := claimed[f.FileID]; dup {
					t.Errorf("file %s claimed by %s and %s", f.FileID, prev, s.Owner())
				}
				claimed[f.FileID] = s.Owner()
				mu.Unlock()
				if err := s.Finish(ctx, Outcome{FileID: f.FileID, Status: "accepted", Done: true}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(claimed) != 40 {
		t.Fatalf("%d files claimed, want 40", len(claimed))
	}
}

// A claim whose worker stopped renewing it is taken over after the lease; the old worker's
// late Finish is refused (ErrLostClaim) and changes nothing.
func TestExpiredClaimIsTakenOver(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dead := openTest(t, dsn, Options{Owner: "dead", Lease: 300 * time.Millisecond})
	live := openTest(t, dsn, Options{Owner: "live", Lease: time.Minute})
	f, data := testFile(1)
	if _, err := dead.InsertFile(ctx, f, data); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := dead.ClaimFile(ctx, f.FileID, "new"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, ok, _ := live.ClaimFile(ctx, f.FileID, "new"); ok {
		t.Fatal("a live claim was taken over")
	}
	time.Sleep(500 * time.Millisecond)
	if _, ok, err := live.ClaimNextFile(ctx, "new"); !ok || err != nil {
		t.Fatalf("takeover: %v %v", ok, err)
	}
	err := dead.Finish(ctx, Outcome{FileID: f.FileID, Status: "accepted", Done: true, Changes: []Change{{Key: key(1), Row: 2}}})
	if !errors.Is(err, ErrLostClaim) {
		t.Fatalf("late finish: %v", err)
	}
	if err := dead.ExtendFileClaim(ctx, f.FileID); !errors.Is(err, ErrLostClaim) {
		t.Fatalf("late extend: %v", err)
	}
	if _, found, _ := live.LookupKey(ctx, key(1)); found {
		t.Fatal("the lost claim's ledger change was committed")
	}
	if err := live.Finish(ctx, Outcome{FileID: f.FileID, Status: "accepted", Done: true, Changes: []Change{{Key: key(1), Row: 2}},
		Records: []Record{{Row: 2, JSON: []byte(`{"row":2}`)}}, Report: []byte(`{"status":"accepted"}`), ReportText: "ok"}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := live.GetFile(ctx, f.FileID)
	if got.Status != "accepted" || !got.Done || got.ClaimedBy != "" {
		t.Fatalf("file after finish: %+v", got)
	}
}

// Files racing for the same keys: each key ends registered by exactly one file; the loser gets a
// ConflictError naming exactly the contested keys and commits the rest after dropping them.
func TestKeysRegisteredOnceUnderRace(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const files, keys = 6, 300
	stores := make([]*Store, files)
	ids := make([]string, files)
	for i := range files {
		stores[i] = openTest(t, dsn, Options{Owner: fmt.Sprintf("p%d", i)})
		f, data := testFile(100 + i)
		ids[i] = f.FileID
		if _, err := stores[i].InsertFile(ctx, f, data); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := stores[i].ClaimFile(ctx, f.FileID, "new"); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	var wg sync.WaitGroup
	registered := make([]map[Key]bool, files)
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changes := make([]Change, 0, keys)
			for k := range keys { // every file: keys 0..299, in a different order
				changes = append(changes, Change{Key: key((k*(i+1))%keys + 0), Row: k + 2})
			}
			changes = dedupChanges(changes)
			for attempt := 0; ; attempt++ {
				err := stores[i].Finish(ctx, Outcome{FileID: ids[i], Status: "accepted", Done: true, Changes: changes})
				var ce *ConflictError
				if errors.As(err, &ce) && attempt < 5 {
					changes = without(changes, ce.Conflicts)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				registered[i] = map[Key]bool{}
				for _, c := range changes {
					registered[i][c.Key] = true
				}
				return
			}
		}()
	}
	wg.Wait()
	owners := map[Key]int{}
	for i := range files {
		for k := range registered[i] {
			owners[k]++
		}
	}
	for k, n := range owners {
		if n != 1 {
			t.Fatalf("key %x registered by %d files", k, n)
		}
	}
	live, _, err := stores[0].LedgerStats(ctx)
	if err != nil || live != len(owners) {
		t.Fatalf("ledger has %d live keys, the files registered %d (%v)", live, len(owners), err)
	}
}

func dedupChanges(cs []Change) []Change {
	seen := map[Key]bool{}
	var out []Change
	for _, c := range cs {
		if !seen[c.Key] {
			seen[c.Key] = true
			out = append(out, c)
		}
	}
	return out
}

func without(cs, drop []Change) []Change {
	d := map[Key]bool{}
	for _, c := range drop {
		d[c.Key] = true
	}
	var out []Change
	for _, c := range cs {
		if !d[c.Key] {
			out = append(out, c)
		}
	}
	return out
}

// Only one process holds a mailbox's leader lock; it is free again after Unlock or when the
// holder's connection goes.
func TestMailboxLeaderLock(t *testing.T) {
	dsn := pg.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := openTest(t, dsn, Options{})
	b := openTest(t, dsn, Options{})
	la, err := a.LockMailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.LockMailbox(ctx, "INBOX"); !errors.Is(err, ErrMailboxBusy) {
		t.Fatalf("second lock: %v", err)
	}
	lo, err := b.LockMailbox(ctx, "Other")
	if err != nil {
		t.Fatalf("another mailbox: %v", err)
	}
	_ = lo.Unlock(ctx)
	if !la.Held(ctx) {
		t.Fatal("lock not held")
	}
	// The holder's connection is cut (a restarted database, a killed process): the lock is gone.
	if _, err := b.Pool().Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		lb, err := b.LockMailbox(ctx, "INBOX")
		if err == nil {
			_ = lb.Unlock(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock not released with its connection: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if la.Held(ctx) {
		t.Fatal("Held after its connection was cut")
	}
	_ = la.Unlock(ctx)
}
