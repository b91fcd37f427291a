// Package statetest is the conformance suite of internal/state: every backend of state.Store
// must pass Run (as restic runs one test suite against every storage backend). It covers the file
// life cycle, resends, claims and lease expiry, crashes between steps (simulated by closing the
// state after a step and opening it again), idempotent retries, concurrent callers, messages, the
// outbox, operators, the audit log, the password drop-box and listing with pagination.
package statetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// Backend is a state under test.
type Backend struct {
	// Open opens the state. Every call within one test opens the same state: the suite closes
	// it and opens it again to simulate a crash or a restart. now is the clock the backend must
	// use for claims, leases, receipts and times it records.
	Open func(t *testing.T, now func() time.Time) state.Store
	// Shared says that two opens of the state may be open at once (several processes share it,
	// as with PostgreSQL). The suite then also runs two stores side by side.
	Shared bool
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed time.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the suite; newBackend makes a fresh, empty state for each test.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	tests := []struct {
		name string
		f    func(t *testing.T, h *harness)
	}{
		{"FileLifeCycle", testFileLifeCycle},
		{"Resend", testResend},
		{"WaitingAndRelease", testWaitingAndRelease},
		{"LeaseExpiry", testLeaseExpiry},
		{"CrashBetweenSteps", testCrashBetweenSteps},
		{"IdempotentRetries", testIdempotentRetries},
		{"ConcurrentCallers", testConcurrentCallers},
		{"Messages", testMessages},
		{"MessageReceipts", testMessageReceipts},
		{"Outbox", testOutbox},
		{"Operators", testOperators},
		{"Audit", testAudit},
		{"Passwords", testPasswords},
		{"Listing", testListing},
		{"LocalFileNotSpooled", testLocalFile},
		{"TwoStores", testTwoStores},
		{"LocalThenMailed", testLocalThenMailed},
		{"Batch", testBatch},
		{"BatchAllOrNothing", testBatchAllOrNothing},
		{"BatchConflict", testBatchConflict},
		{"BatchNewKeys", testBatchNewKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			h := &harness{t: t, b: b, clock: NewClock()}
			h.open()
			defer func() {
				if h.st != nil {
					h.st.Close()
				}
			}()
			tc.f(t, h)
		})
	}
}

type harness struct {
	t     *testing.T
	b     Backend
	clock *Clock
	st    state.Store
}

var ctx = context.Background()

func (h *harness) open() {
	h.st = h.b.Open(h.t, h.clock.Now)
}

// reopen closes the state (as a crash would leave it: claims are not released) and opens it again.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.st.Close(); err != nil {
		h.t.Fatalf("close: %v", err)
	}
	h.st = nil
	h.open()
}

// incoming writes content into the store's temp folder.
func incoming(t *testing.T, st state.Store, content, name string) state.Incoming {
	t.Helper()
	f, err := os.CreateTemp(st.TempDir(), "in-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum := sha256.Sum256([]byte(content))
	return state.Incoming{TempPath: f.Name(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), FileName: name, Kind: "workbook"}
}

func idOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:8])
}

func mailArrival(uid uint32, h *harness) state.Arrival {
	return state.Arrival{Received: h.clock.Now(), Mailbox: "INBOX", UIDValidity: 7, UID: uid,
		MessageID: "<m" + string(rune('a'+uid%26)) + "@example.org>", Sender: "nurse@example.org"}
}

// add spools one file from a message and returns its id.
func (h *harness) add(content string, uid uint32) string {
	h.t.Helper()
	res, err := h.st.AddFiles(ctx, []state.Incoming{incoming(h.t, h.st, content, "vaksiner.xlsx")}, mailArrival(uid, h), nil)
	if err != nil {
		h.t.Fatalf("AddFiles: %v", err)
	}
	if len(res.New)+len(res.Resent) != 1 {
		h.t.Fatalf("AddFiles: %+v", res)
	}
	return idOf(content)
}

func (h *harness) file(id string) state.File {
	h.t.Helper()
	f, err := h.st.File(ctx, id)
	if err != nil {
		h.t.Fatalf("File %s: %v", id, err)
	}
	return f
}

func (h *harness) claim(id, owner string, from ...state.FileStatus) state.Claim {
	h.t.Helper()
	_, c, err := h.st.ClaimFile(ctx, id, owner, time.Minute, from...)
	if err != nil {
		h.t.Fatalf("ClaimFile %s by %s: %v", id, owner, err)
	}
	return c
}

func key(b byte) state.LedgerKey {
	var k state.LedgerKey
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func processed(c state.Claim, keys ...byte) state.Outcome {
	o := state.Outcome{Claim: c, Status: state.StatusProcessed,
		Summary: state.Summary{ReportStatus: "accepted", Rows: len(keys), Registered: len(keys)},
		Report:  []byte(`{"status":"accepted"}`)}
	for i, k := range keys {
		o.Changes = append(o.Changes, state.LedgerChange{Key: key(k), Row: i + 2})
	}
	return o
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
