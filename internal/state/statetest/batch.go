package statetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// The batch operations (issue 17): ClaimFiles, RecordOutcomes and SetWrittenFiles.

// localIncoming is a local file (not spooled) for AddFiles with its own arrival path.
func localIncoming(content, path string) state.Incoming {
	sum := sha256.Sum256([]byte(content))
	return state.Incoming{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), FileName: path[1:], Path: path}
}

// claimAll claims ids in one ClaimFiles step and fails on any file's error.
func (h *harness) claimAll(owner string, ids ...string) []state.Claim {
	h.t.Helper()
	res, err := h.st.ClaimFiles(ctx, ids, owner, time.Minute)
	mustNil(h.t, "ClaimFiles", err)
	cs := make([]state.Claim, len(res))
	for i, r := range res {
		if r.Err != nil || r.File.ID != ids[i] || r.File.Status != state.StatusProcessing || r.Claim.Owner != owner {
			h.t.Fatalf("ClaimFiles %s: %+v", ids[i], r)
		}
		cs[i] = r.Claim
	}
	return cs
}

// testBatch: several local files added in one step (each its own arrival), claimed in one step,
// recorded in one step, in order (a later file's deletion of a key an earlier file of the batch
// registered wins, as one by one), and marked written in one step.
func testBatch(t *testing.T, h *harness) {
	ins := []state.Incoming{localIncoming("batch a", "/a.xlsx"), localIncoming("batch b", "/b.xlsx"), localIncoming("batch c", "/c.xlsx")}
	res, err := h.st.AddFiles(ctx, ins, state.Arrival{Received: h.clock.Now()}, nil)
	mustNil(t, "AddFiles", err)
	if len(res.New) != 3 {
		t.Fatalf("AddFiles: %+v", res)
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = state.FileIDOf(in.SHA256)
		if f := h.file(ids[i]); f.Source.Path != in.Path || f.Name != in.FileName || f.Spooled {
			t.Fatalf("file %d: source %+v, name %q", i, f.Source, f.Name)
		}
	}
	other := h.add("held by another worker", 9)
	_ = h.claim(other, "w2")
	cr, err := h.st.ClaimFiles(ctx, []string{ids[0], other, "0123456789abcdef", ids[1], ids[2]}, "w1", time.Minute)
	mustNil(t, "ClaimFiles", err)
	wantErr(t, "batch claim of a claimed file", cr[1].Err, state.ErrClaimed)
	if !isNotFound(cr[2].Err) {
		t.Fatalf("batch claim of an unknown file: %v", cr[2].Err)
	}
	for _, i := range []int{0, 3, 4} {
		if cr[i].Err != nil || cr[i].Claim.Owner != "w1" {
			t.Fatalf("ClaimFiles result %d: %+v", i, cr[i])
		}
	}
	a, b, c := processed(cr[0].Claim, 1, 2, 3), processed(cr[3].Claim, 4), state.Outcome{Claim: cr[4].Claim,
		Status: state.StatusWaiting, LastError: "file.password_required", Report: []byte(`{"status":"waiting_password"}`)}
	b.Changes = append(b.Changes, state.LedgerChange{Key: key(2), Row: 9, Delete: true})
	b.Receipts = []state.Receipt{{ID: ids[1] + ".processed", FileID: ids[1], Kind: "processed", To: "x@example.org"}}
	outs := []state.FileOutcome{{ID: ids[0], Outcome: a}, {ID: ids[1], Outcome: b}, {ID: ids[2], Outcome: c}}
	mustNil(t, "RecordOutcomes", h.st.RecordOutcomes(ctx, outs))
	v, err := h.st.LedgerView(ctx)
	mustNil(t, "LedgerView", err)
	want := map[byte]state.LedgerEntry{1: {FileID: ids[0], Row: 2}, 2: {FileID: ids[1], Row: 9, Deleted: true},
		3: {FileID: ids[0], Row: 4}, 4: {FileID: ids[1], Row: 2}}
	for k, w := range want {
		if e, ok := v.Get(key(k)); !ok || e != w {
			t.Errorf("key %d: %+v %v, want %+v", k, e, ok, w)
		}
	}
	v.Close()
	live, deleted, err := h.st.LedgerStats(ctx)
	mustNil(t, "LedgerStats", err)
	if live != 3 || deleted != 1 {
		t.Fatalf("ledger: %d live, %d deleted; want 3, 1", live, deleted)
	}
	for i, st := range []state.FileStatus{state.StatusProcessed, state.StatusProcessed, state.StatusWaiting} {
		f := h.file(ids[i])
		if f.Status != st || f.Written || f.Claim.Held(h.clock.Now()) {
			t.Fatalf("file %d after RecordOutcomes: %+v", i, f)
		}
		if rep, err := h.st.Report(ctx, ids[i]); err != nil || string(rep) != string(outs[i].Report) {
			t.Fatalf("report %d: %q %v", i, rep, err)
		}
	}
	if rs, err := h.st.ListReceipts(ctx, state.ReceiptQueued); err != nil || len(rs) != 1 || rs[0].ID != ids[1]+".processed" {
		t.Fatalf("receipts queued with the batch: %+v %v", rs, err)
	}
	mustNil(t, "SetWrittenFiles", h.st.SetWrittenFiles(ctx, ids, true))
	for _, id := range ids {
		if !h.file(id).Written {
			t.Fatalf("SetWrittenFiles did not stick for %s", id)
		}
	}
	if err := h.st.SetWrittenFiles(ctx, []string{ids[0], "0123456789abcdef"}, true); !isNotFound(err) {
		t.Fatalf("SetWrittenFiles of an unknown file: %v", err)
	}
	// The batch's claims have ended: recording again is refused, as for one file.
	err = h.st.RecordOutcomes(ctx, outs[:1])
	wantErr(t, "outcomes under ended claims", err, state.ErrLostClaim)
}

// testBatchAllOrNothing: a batch in which one file's claim was lost records nothing (ledger,
// statuses, reports, receipts) and names that file; the files before it are then recorded as
// they were, and the one after it too.
func testBatchAllOrNothing(t *testing.T, h *harness) {
	ids := []string{h.add("one of three", 1), h.add("two of three", 2), h.add("three of three", 3)}
	cs := h.claimAll("w1", ids...)
	// The second file's lease runs out and another worker takes it over.
	h.clock.Advance(2 * time.Minute)
	_ = h.claim(ids[1], "w2")
	outs := []state.FileOutcome{{ID: ids[0], Outcome: processed(cs[0], 1)}, {ID: ids[1], Outcome: processed(cs[1], 2)},
		{ID: ids[2], Outcome: processed(cs[2], 3)}}
	outs[0].Receipts = []state.Receipt{{ID: ids[0] + ".processed", FileID: ids[0], Kind: "processed", To: "x@example.org"}}
	err := h.st.RecordOutcomes(ctx, outs)
	wantErr(t, "batch with a lost claim", err, state.ErrLostClaim)
	var be *state.BatchError
	if !errors.As(err, &be) || be.Index != 1 || be.ID != ids[1] {
		t.Fatalf("error %v does not name the second file", err)
	}
	if live, deleted, _ := h.st.LedgerStats(ctx); live+deleted != 0 {
		t.Fatalf("a failed batch left %d ledger keys", live+deleted)
	}
	for i, id := range ids {
		f := h.file(id)
		if f.Status != state.StatusProcessing {
			t.Fatalf("file %d after a failed batch: %+v", i, f)
		}
		if _, err := h.st.Report(ctx, id); !isNotFound(err) {
			t.Fatalf("file %d has a report after a failed batch: %v", i, err)
		}
	}
	if rs, _ := h.st.ListReceipts(ctx); len(rs) != 0 {
		t.Fatalf("a failed batch queued receipts: %+v", rs)
	}
	// The lost file out: the others are recorded under the claims they kept.
	mustNil(t, "RecordOutcomes without the lost file", h.st.RecordOutcomes(ctx, []state.FileOutcome{outs[0], outs[2]}))
	if f := h.file(ids[1]); f.Status != state.StatusProcessing || f.Claim.Owner != "w2" {
		t.Fatalf("the taken-over file: %+v", f)
	}
	live, _, err := h.st.LedgerStats(ctx)
	mustNil(t, "LedgerStats", err)
	if live != 2 {
		t.Fatalf("%d live keys, want 2", live)
	}
}

// testBatchConflict (shared states): a key another process registered after the batch's view
// was taken rolls the batch back, names the file, and keeps the claims; the files before it are
// then recorded.
func testBatchConflict(t *testing.T, h *harness) {
	if !h.b.Shared {
		t.Skip("the backend is for one process at a time")
	}
	other := h.b.Open(t, h.clock.Now)
	defer other.Close()
	ids := []string{h.add("conflict one", 1), h.add("conflict two", 2)}
	cs := h.claimAll("w1", ids...)
	rival := h.add("the rival", 3)
	_, rc, err := other.ClaimFile(ctx, rival, "w2", time.Minute)
	mustNil(t, "rival claim", err)
	mustNil(t, "rival outcome", other.RecordOutcome(ctx, rival, processed(rc, 7)))
	outs := []state.FileOutcome{{ID: ids[0], Outcome: processed(cs[0], 1)}, {ID: ids[1], Outcome: processed(cs[1], 7)}}
	err = h.st.RecordOutcomes(ctx, outs)
	wantErr(t, "batch with a conflicting key", err, state.ErrLedgerConflict)
	var be *state.BatchError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("error %v does not name the second file", err)
	}
	for _, id := range ids {
		if f := h.file(id); f.Status != state.StatusProcessing || f.Claim.Owner != "w1" {
			t.Fatalf("claim not kept after a conflict: %+v", f)
		}
	}
	mustNil(t, "the file before the conflict", h.st.RecordOutcomes(ctx, outs[:1]))
	if e, ok := func() (state.LedgerEntry, bool) {
		v, _ := h.st.LedgerView(ctx)
		defer v.Close()
		return v.Get(key(7))
	}(); !ok || e.FileID != rival {
		t.Fatalf("the rival's key: %+v %v", e, ok)
	}
}

// testBatchNewKeys: a batch whose files only register new keys (a backend may record such a
// batch with one statement per kind of row: PostgreSQL does), with a file that waits, a receipt,
// and a file that names one key on two rows (its first row is kept), recorded as one by one.
func testBatchNewKeys(t *testing.T, h *harness) {
	ins := []state.Incoming{localIncoming("new a", "/a.xlsx"), localIncoming("new b", "/b.xlsx"), localIncoming("new c", "/c.xlsx")}
	_, err := h.st.AddFiles(ctx, ins, state.Arrival{Received: h.clock.Now()}, nil)
	mustNil(t, "AddFiles", err)
	ids := []string{state.FileIDOf(ins[0].SHA256), state.FileIDOf(ins[1].SHA256), state.FileIDOf(ins[2].SHA256)}
	cs := h.claimAll("w1", ids...)
	a, b := processed(cs[0], 1, 2), processed(cs[1], 3, 4, 5)
	a.Changes = append(a.Changes, state.LedgerChange{Key: key(1), Row: 2})
	b.Receipts = []state.Receipt{{ID: ids[1] + ".processed", FileID: ids[1], Kind: "processed", To: "x@example.org"}}
	c := state.Outcome{Claim: cs[2], Status: state.StatusWaiting, LastError: "file.password_required", Report: []byte(`{"status":"waiting_password"}`)}
	outs := []state.FileOutcome{{ID: ids[0], Outcome: a}, {ID: ids[1], Outcome: b}, {ID: ids[2], Outcome: c}}
	mustNil(t, "RecordOutcomes", h.st.RecordOutcomes(ctx, outs))
	v, err := h.st.LedgerView(ctx)
	mustNil(t, "LedgerView", err)
	want := map[byte]state.LedgerEntry{1: {FileID: ids[0], Row: 2}, 2: {FileID: ids[0], Row: 3},
		3: {FileID: ids[1], Row: 2}, 4: {FileID: ids[1], Row: 3}, 5: {FileID: ids[1], Row: 4}}
	for k, w := range want {
		if e, ok := v.Get(key(k)); !ok || e != w {
			t.Errorf("key %d: %+v %v, want %+v", k, e, ok, w)
		}
	}
	v.Close()
	if live, deleted, err := h.st.LedgerStats(ctx); err != nil || live != 5 || deleted != 0 {
		t.Fatalf("ledger: %d live, %d deleted, %v; want 5, 0", live, deleted, err)
	}
	for i, o := range outs {
		f := h.file(ids[i])
		if f.Status != o.Status || f.LastError != o.LastError || f.Summary != o.Summary || f.Written || f.Claim.Held(h.clock.Now()) {
			t.Fatalf("file %d after RecordOutcomes: %+v", i, f)
		}
		if rep, err := h.st.Report(ctx, ids[i]); err != nil || string(rep) != string(o.Report) {
			t.Fatalf("report %d: %q %v", i, rep, err)
		}
	}
	if rs, err := h.st.ListReceipts(ctx, state.ReceiptQueued); err != nil || len(rs) != 1 || rs[0].ID != ids[1]+".processed" {
		t.Fatalf("receipts queued with the batch: %+v %v", rs, err)
	}
	h.reopen() // durable
	if live, _, err := h.st.LedgerStats(ctx); err != nil || live != 5 {
		t.Fatalf("after reopen: %d live keys, %v", live, err)
	}
}
