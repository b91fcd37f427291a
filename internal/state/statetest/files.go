package statetest

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

func testFileLifeCycle(t *testing.T, h *harness) {
	id := h.add("file one", 1)
	f := h.file(id)
	if f.Status != state.StatusArrived || !f.Spooled || f.Size != 8 || f.Name != "vaksiner.xlsx" || f.Source.Sender != "nurse@example.org" {
		t.Fatalf("after AddFiles: %+v", f)
	}
	sp, err := h.st.OpenSpooled(ctx, id)
	mustNil(t, "OpenSpooled", err)
	got, err := os.ReadFile(sp.Path)
	mustNil(t, "read spooled", err)
	sp.Close()
	if string(got) != "file one" || sp.Size != 8 {
		t.Fatalf("spooled bytes %q size %d", got, sp.Size)
	}
	if _, err := h.st.Report(ctx, id); !isNotFound(err) {
		t.Fatalf("Report before outcome: %v", err)
	}

	c := h.claim(id, "w1")
	if f := h.file(id); f.Status != state.StatusProcessing || f.Claim.Owner != "w1" {
		t.Fatalf("after claim: %+v", f)
	}
	_, _, err = h.st.ClaimFile(ctx, id, "w2", time.Minute)
	wantErr(t, "second claim", err, state.ErrClaimed)

	o := processed(c, 1, 2, 3)
	o.Receipts = []state.Receipt{{ID: id + ".processed", FileID: id, Kind: "processed", To: "nurse@example.org"}}
	mustNil(t, "RecordOutcome", h.st.RecordOutcome(ctx, id, o))
	f = h.file(id)
	if f.Status != state.StatusProcessed || f.Summary.Registered != 3 || f.Claim.Held(h.clock.Now()) || f.Written {
		t.Fatalf("after outcome: %+v", f)
	}
	rep, err := h.st.Report(ctx, id)
	mustNil(t, "Report", err)
	if !bytes.Equal(rep, o.Report) {
		t.Fatalf("report %q", rep)
	}
	h.checkKeys(id, 1, 2, 3)
	rs, err := h.st.ListReceipts(ctx, state.ReceiptQueued)
	mustNil(t, "ListReceipts", err)
	if len(rs) != 1 || rs[0].ID != id+".processed" {
		t.Fatalf("receipts queued with the outcome: %+v", rs)
	}
	mustNil(t, "SetWritten", h.st.SetWritten(ctx, id, true))
	if !h.file(id).Written {
		t.Fatal("SetWritten did not stick")
	}
	// A processed file is not claimed again by default, and an ended claim records nothing.
	_, _, err = h.st.ClaimFile(ctx, id, "w2", time.Minute)
	wantErr(t, "claim of a processed file", err, state.ErrWrongStatus)
	wantErr(t, "outcome under an ended claim", h.st.RecordOutcome(ctx, id, o), state.ErrLostClaim)
	_, err = h.st.File(ctx, "0123456789abcdef")
	if !isNotFound(err) {
		t.Fatalf("unknown file: %v", err)
	}
	_, err = h.st.File(ctx, "../etc/passwd")
	wantErr(t, "bad id", err, state.ErrBadFileID)
}

func isNotFound(err error) bool { return err != nil && errorsIs(err, state.ErrNotFound) }

// checkKeys asserts that the ledger holds exactly the given keys, owned by id.
func (h *harness) checkKeys(id string, keys ...byte) {
	h.t.Helper()
	v, err := h.st.LedgerView(ctx)
	mustNil(h.t, "LedgerView", err)
	defer v.Close()
	for _, k := range keys {
		e, ok := v.Get(key(k))
		if !ok || e.FileID != id || e.Deleted {
			h.t.Fatalf("key %d: %+v %v, want owned by %s", k, e, ok, id)
		}
	}
	live, _, err := h.st.LedgerStats(ctx)
	mustNil(h.t, "LedgerStats", err)
	if live != len(keys) {
		h.t.Fatalf("ledger holds %d keys, want %d", live, len(keys))
	}
}

func testResend(t *testing.T, h *harness) {
	id := h.add("same bytes", 1)
	c := h.claim(id, "w1")
	mustNil(t, "outcome", h.st.RecordOutcome(ctx, id, processed(c, 1)))
	h.clock.Advance(time.Hour)
	res, err := h.st.AddFiles(ctx, []state.Incoming{incoming(t, h.st, "same bytes", "again.xlsx")}, mailArrival(2, h), nil)
	mustNil(t, "AddFiles again", err)
	if len(res.New) != 0 || len(res.Resent) != 1 || res.Resent[0].ID != id {
		t.Fatalf("resend: %+v", res)
	}
	f := h.file(id)
	if len(f.Arrivals) != 1 || f.Arrivals[0].UID != 2 || f.Status != state.StatusProcessed {
		t.Fatalf("after resend: %+v", f)
	}
	// The same delivery seen again (a re-poll after a crash) adds no arrival.
	_, err = h.st.AddFiles(ctx, []state.Incoming{incoming(t, h.st, "same bytes", "again.xlsx")}, mailArrival(2, h), nil)
	mustNil(t, "AddFiles same delivery", err)
	if n := len(h.file(id).Arrivals); n != 1 {
		t.Fatalf("%d arrivals after the same delivery twice", n)
	}
	// Listing the arrival in the report: claim the processed file, record the same outcome again.
	c = h.claim(id, "w1", state.StatusProcessed, state.StatusRejected)
	if c.From != state.StatusProcessed {
		t.Fatalf("claim.From %q", c.From)
	}
	o := processed(c, 1)
	o.Reported = 1
	mustNil(t, "outcome with arrivals", h.st.RecordOutcome(ctx, id, o))
	if f := h.file(id); f.Reported != 1 || f.Status != state.StatusProcessed {
		t.Fatalf("after reporting the arrival: %+v", f)
	}
	h.checkKeys(id, 1)
	// Temp files are consumed.
	left, _ := os.ReadDir(h.st.TempDir())
	if len(left) != 0 {
		t.Fatalf("%d temp files left", len(left))
	}
}

func testWaitingAndRelease(t *testing.T, h *harness) {
	id := h.add("encrypted", 1)
	c := h.claim(id, "w1")
	mustNil(t, "waiting outcome", h.st.RecordOutcome(ctx, id, state.Outcome{Claim: c, Status: state.StatusWaiting,
		LastError: "file.password_needed", Summary: state.Summary{ReportStatus: "waiting_password"},
		Receipts: []state.Receipt{{ID: id + ".waiting", FileID: id, Kind: "waiting", To: "a@example.org"}}}))
	f := h.file(id)
	if f.Status != state.StatusWaiting || f.LastError != "file.password_needed" {
		t.Fatalf("waiting: %+v", f)
	}
	live, _, _ := h.st.LedgerStats(ctx)
	if live != 0 {
		t.Fatalf("a waiting file registered %d keys", live)
	}
	c = h.claim(id, "unlock")
	if c.From != state.StatusWaiting {
		t.Fatalf("claim.From %q", c.From)
	}
	mustNil(t, "release", h.st.ReleaseClaim(ctx, c))
	if f := h.file(id); f.Status != state.StatusWaiting || f.Claim.Held(h.clock.Now()) {
		t.Fatalf("after release: %+v", f)
	}
	wantErr(t, "release twice", h.st.ReleaseClaim(ctx, c), state.ErrLostClaim)
	wantErr(t, "outcome after release", h.st.RecordOutcome(ctx, id, processed(c)), state.ErrLostClaim)
	// Claims from a status the caller did not allow are refused.
	_, _, err := h.st.ClaimFile(ctx, id, "x", time.Minute, state.StatusArrived)
	wantErr(t, "claim from arrived only", err, state.ErrWrongStatus)
}

func testLeaseExpiry(t *testing.T, h *harness) {
	id := h.add("slow file", 1)
	c1 := h.claim(id, "w1")
	h.clock.Advance(30 * time.Second)
	c1, err := h.st.RenewClaim(ctx, c1, time.Minute)
	mustNil(t, "renew", err)
	h.clock.Advance(50 * time.Second) // within the renewed lease
	_, _, err = h.st.ClaimFile(ctx, id, "w2", time.Minute)
	wantErr(t, "claim within a renewed lease", err, state.ErrClaimed)
	h.clock.Advance(time.Minute) // the lease has expired: w1 is presumed dead
	f, c2, err := h.st.ClaimFile(ctx, id, "w2", time.Minute)
	mustNil(t, "take over an expired claim", err)
	if f.Claim.Owner != "w2" || c2.Token <= c1.Token || c2.From != state.StatusArrived {
		t.Fatalf("takeover: file %+v claim %+v (old %+v)", f, c2, c1)
	}
	_, err = h.st.RenewClaim(ctx, c1, time.Minute)
	wantErr(t, "renew a lost claim", err, state.ErrLostClaim)
	wantErr(t, "outcome under a lost claim", h.st.RecordOutcome(ctx, id, processed(c1, 9)), state.ErrLostClaim)
	mustNil(t, "outcome by the new owner", h.st.RecordOutcome(ctx, id, processed(c2, 1)))
	h.checkKeys(id, 1)
}

// testCrashBetweenSteps stops after every step of a file's life (closing the state without
// releasing anything) and opens the state again: nothing recorded is lost, and the work is taken
// over once the lease has expired.
func testCrashBetweenSteps(t *testing.T, h *harness) {
	id := h.add("crash file", 1)
	h.reopen() // after the arrival
	if f := h.file(id); f.Status != state.StatusArrived || !f.Spooled {
		t.Fatalf("after reopen: %+v", f)
	}
	h.claim(id, "dead worker")
	h.reopen() // after the claim: the worker died
	h.clock.Advance(2 * time.Minute)
	c := h.claim(id, "w2")
	if c.From != state.StatusArrived {
		t.Fatalf("takeover from %q", c.From)
	}
	o := processed(c, 4, 5)
	o.Receipts = []state.Receipt{{ID: id + ".processed", FileID: id, Kind: "processed", To: "a@example.org"}}
	mustNil(t, "outcome", h.st.RecordOutcome(ctx, id, o))
	h.reopen() // after the outcome
	f := h.file(id)
	if f.Status != state.StatusProcessed || f.Summary.Registered != 2 {
		t.Fatalf("after reopen: %+v", f)
	}
	h.checkKeys(id, 4, 5)
	if rep, err := h.st.Report(ctx, id); err != nil || string(rep) != string(o.Report) {
		t.Fatalf("report after reopen: %q %v", rep, err)
	}
	rs, _ := h.st.ListReceipts(ctx)
	if len(rs) != 1 {
		t.Fatalf("receipts after reopen: %+v", rs)
	}
	sp, err := h.st.OpenSpooled(ctx, id)
	mustNil(t, "spool after reopen", err)
	r, _ := os.Open(sp.Path)
	b, _ := io.ReadAll(r)
	r.Close()
	sp.Close()
	if string(b) != "crash file" {
		t.Fatalf("spooled bytes after reopen %q", b)
	}
}
