package statetest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

var errorsIs = errors.Is

func testIdempotentRetries(t *testing.T, h *harness) {
	id := h.add("retry", 1)
	// A worker records the ledger part, dies before the rest; the retry records the same keys.
	c := h.claim(id, "w1")
	h.reopen()
	h.clock.Advance(2 * time.Minute)
	c = h.claim(id, "w2")
	mustNil(t, "outcome", h.st.RecordOutcome(ctx, id, processed(c, 1, 2)))
	c = h.claim(id, "w3", state.StatusProcessed)
	mustNil(t, "outcome again", h.st.RecordOutcome(ctx, id, processed(c, 1, 2)))
	h.checkKeys(id, 1, 2)
	// Receipts queued twice are one receipt, and a sent one is not queued again.
	r := state.Receipt{ID: "r1", FileID: id, Kind: "processed", To: "a@example.org"}
	mustNil(t, "enqueue", h.st.EnqueueReceipts(ctx, []state.Receipt{r, r}))
	mustNil(t, "enqueue again", h.st.EnqueueReceipts(ctx, []state.Receipt{r}))
	got, err := h.st.ClaimDueReceipts(ctx, "s", 10, time.Minute)
	mustNil(t, "claim receipts", err)
	if len(got) != 1 {
		t.Fatalf("%d receipts claimed, want 1", len(got))
	}
	mustNil(t, "sent", h.st.MarkReceiptSent(ctx, got[0].Claim))
	mustNil(t, "enqueue after sent", h.st.EnqueueReceipts(ctx, []state.Receipt{r}))
	if rr, _ := h.st.Receipt(ctx, "r1"); rr.Status != state.ReceiptSent {
		t.Fatalf("re-queued a sent receipt: %+v", rr)
	}
	// A message recorded twice is one message; moves marked twice are fine.
	m := &state.Message{Mailbox: "INBOX", UIDValidity: 3, UID: 9, MessageID: "<x@y>", Folder: "Rejected",
		Rejected: []state.Rejection{{Reason: "no_attachment"}}}
	mustNil(t, "record", h.st.RecordMessage(ctx, m))
	mustNil(t, "record again", h.st.RecordMessage(ctx, m))
	ms, err := h.st.MessagesByID(ctx, "<x@y>")
	mustNil(t, "by id", err)
	if len(ms) != 1 {
		t.Fatalf("%d messages by id", len(ms))
	}
	mustNil(t, "moved", h.st.MarkMoved(ctx, "INBOX", 3, 9))
	mustNil(t, "moved again", h.st.MarkMoved(ctx, "INBOX", 3, 9))
}

func testConcurrentCallers(t *testing.T, h *harness) {
	const n = 16
	var wg sync.WaitGroup
	// Arrivals: n goroutines, half of them the same bytes.
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			content := fmt.Sprintf("file %d", i%(n/2))
			in := incoming(t, h.st, content, "f.xlsx")
			if _, err := h.st.AddFiles(ctx, []state.Incoming{in}, mailArrival(uint32(100+i), h), nil); err != nil {
				t.Errorf("AddFiles: %v", err)
			}
		}()
	}
	wg.Wait()
	page, err := h.st.ListFiles(ctx, state.FileQuery{})
	mustNil(t, "list", err)
	if page.Total != n/2 {
		t.Fatalf("%d files, want %d", page.Total, n/2)
	}
	// Claims: of n workers racing for each file, exactly one wins.
	var wins atomic.Int32
	for _, f := range page.Files {
		for w := 0; w < n; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, c, err := h.st.ClaimFile(ctx, f.ID, fmt.Sprintf("w%d", w), time.Minute)
				switch {
				case err == nil:
					wins.Add(1)
					if err := h.st.RecordOutcome(ctx, f.ID, processed(c)); err != nil {
						t.Errorf("outcome: %v", err)
					}
				case !errors.Is(err, state.ErrClaimed) && !errors.Is(err, state.ErrWrongStatus):
					t.Errorf("claim: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if int(wins.Load()) != n/2 {
		t.Fatalf("%d claims won, want %d", wins.Load(), n/2)
	}
	concurrentOutboxAndAccounts(t, h)
}

// concurrentOutboxAndAccounts: receipts claimed once each by concurrent senders, and operators and
// the audit log under concurrent writers (no lost update, no lost line).
func concurrentOutboxAndAccounts(t *testing.T, h *harness) {
	const n = 16
	var wg sync.WaitGroup
	// Receipts: each claimed once by concurrent senders.
	var rs []state.Receipt
	for i := 0; i < 20; i++ {
		rs = append(rs, state.Receipt{ID: fmt.Sprintf("r%02d", i), Kind: "processed", To: "a@example.org"})
	}
	mustNil(t, "enqueue", h.st.EnqueueReceipts(ctx, rs))
	var claimed atomic.Int32
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := h.st.ClaimDueReceipts(ctx, fmt.Sprintf("s%d", w), 3, time.Minute)
				if err != nil {
					t.Errorf("claim receipts: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, r := range got {
					claimed.Add(1)
					if err := h.st.MarkReceiptSent(ctx, r.Claim); err != nil {
						t.Errorf("sent: %v", err)
					}
				}
			}
		}()
	}
	// Operators and the audit log under concurrent writers.
	mustNil(t, "add operator", h.st.AddOperator(ctx, state.Operator{Name: "kari", Hash: "$argon2id$x"}))
	for w := 0; w < n; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := h.st.UpdateOperator(ctx, "kari", func(op *state.Operator) error { op.FailedLogins++; return nil })
			if err != nil {
				t.Errorf("update operator: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := h.st.AppendAudit(ctx, state.AuditEntry{Actor: "kari", Action: "login"}); err != nil {
				t.Errorf("audit: %v", err)
			}
		}()
	}
	wg.Wait()
	if claimed.Load() != 20 {
		t.Fatalf("%d receipts claimed, want 20", claimed.Load())
	}
	op, err := h.st.Operator(ctx, "kari")
	mustNil(t, "operator", err)
	if op.FailedLogins != n {
		t.Fatalf("failed logins %d, want %d (a lost update)", op.FailedLogins, n)
	}
	es, err := h.st.ListAudit(ctx, state.AuditQuery{})
	mustNil(t, "audit", err)
	if len(es) != n {
		t.Fatalf("%d audit entries, want %d", len(es), n)
	}
}

func testMessages(t *testing.T, h *harness) {
	k := state.MessageKey{Mailbox: "INBOX", UIDValidity: 5, UID: 1}
	_, err := h.st.Message(ctx, k)
	if !isNotFound(err) {
		t.Fatalf("unknown message: %v", err)
	}
	c, err := h.st.ClaimMessage(ctx, k, "p1", time.Minute)
	mustNil(t, "claim message", err)
	_, err = h.st.ClaimMessage(ctx, k, "p2", time.Minute)
	wantErr(t, "second message claim", err, state.ErrClaimed)
	msg := &state.Message{Mailbox: "INBOX", UIDValidity: 5, UID: 1, MessageID: "<a@b>", Received: h.clock.Now(),
		From: "nurse@example.org", ReplyTo: "office@example.org", ReturnPath: "nurse@example.org", Folder: "Processed"}
	arr := state.Arrival{Received: h.clock.Now(), Mailbox: "INBOX", UIDValidity: 5, UID: 1, MessageID: "<a@b>", Sender: "office@example.org"}
	res, err := h.st.AddFiles(ctx, []state.Incoming{incoming(t, h.st, "att 1", "a.xlsx"), incoming(t, h.st, "att 2", "b.xlsx")}, arr, msg)
	mustNil(t, "AddFiles with message", err)
	if len(res.New) != 2 || len(msg.FileIDs) != 2 {
		t.Fatalf("AddFiles: %+v, msg %+v", res, msg)
	}
	mustNil(t, "release message claim", h.st.ReleaseClaim(ctx, c))
	rej := &state.Message{Mailbox: "INBOX", UIDValidity: 5, UID: 2, MessageID: "<c@d>", Folder: "Rejected",
		AutoSubmitted: "auto-replied", Rejected: []state.Rejection{{FileName: "x.pdf", Reason: "unsupported_type", What: "PDF"}}}
	mustNil(t, "record rejected", h.st.RecordMessage(ctx, rej))
	h.reopen()
	got, err := h.st.Message(ctx, k)
	mustNil(t, "message", err)
	if got.ReplyTo != "office@example.org" || got.From != "nurse@example.org" || len(got.FileIDs) != 2 || got.Moved {
		t.Fatalf("message: %+v", got)
	}
	got, err = h.st.Message(ctx, state.MessageKey{Mailbox: "INBOX", UIDValidity: 5, UID: 2})
	mustNil(t, "rejected message", err)
	if len(got.Rejected) != 1 || got.Rejected[0].Reason != "unsupported_type" || got.AutoSubmitted != "auto-replied" {
		t.Fatalf("rejected message: %+v", got)
	}
	pend, err := h.st.PendingMoves(ctx, "INBOX", 5)
	mustNil(t, "pending moves", err)
	if len(pend) != 2 {
		t.Fatalf("%d pending moves, want 2", len(pend))
	}
	mustNil(t, "mark moved", h.st.MarkMoved(ctx, "INBOX", 5, 1, 2))
	pend, _ = h.st.PendingMoves(ctx, "INBOX", 5)
	if len(pend) != 0 {
		t.Fatalf("pending after move: %+v", pend)
	}
	ms, err := h.st.MailboxState(ctx, "INBOX")
	mustNil(t, "mailbox state", err)
	if ms.UIDValidity != 5 || ms.LastUID != 2 {
		t.Fatalf("mailbox state %+v", ms)
	}
	mustNil(t, "set mailbox state", h.st.SetMailboxState(ctx, "INBOX", state.MailboxState{UIDValidity: 6}))
	ms, _ = h.st.MailboxState(ctx, "INBOX")
	if ms.UIDValidity != 6 || ms.LastUID != 0 {
		t.Fatalf("mailbox state after set %+v", ms)
	}
	// A message claim expires.
	c1, err := h.st.ClaimMessage(ctx, k, "p1", time.Minute)
	mustNil(t, "claim", err)
	h.clock.Advance(2 * time.Minute)
	_, err = h.st.ClaimMessage(ctx, k, "p2", time.Minute)
	mustNil(t, "take over a message claim", err)
	_, err = h.st.RenewClaim(ctx, c1, time.Minute)
	wantErr(t, "renew a lost message claim", err, state.ErrLostClaim)
}

func testOutbox(t *testing.T, h *harness) {
	later := h.clock.Now().Add(time.Hour)
	mustNil(t, "enqueue", h.st.EnqueueReceipts(ctx, []state.Receipt{
		{ID: "a", Kind: "processed", To: "a@example.org", Payload: []byte(`{"n":1}`)},
		{ID: "b", Kind: "waiting", To: "b@example.org", NextAttempt: later},
	}))
	got, err := h.st.ClaimDueReceipts(ctx, "s1", 10, time.Minute)
	mustNil(t, "claim", err)
	if len(got) != 1 || got[0].ID != "a" || got[0].Attempts != 1 || string(got[0].Payload) != `{"n":1}` {
		t.Fatalf("due: %+v", got)
	}
	mustNil(t, "retry", h.st.RetryReceipt(ctx, got[0].Claim, h.clock.Now().Add(5*time.Minute), "421 try later"))
	if again, _ := h.st.ClaimDueReceipts(ctx, "s1", 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed before the next attempt: %+v", again)
	}
	h.clock.Advance(2 * time.Hour)
	got, err = h.st.ClaimDueReceipts(ctx, "s1", 10, time.Minute)
	mustNil(t, "claim later", err)
	if len(got) != 2 {
		t.Fatalf("due later: %+v", got)
	}
	var a, b state.Receipt
	for _, r := range got {
		if r.ID == "a" {
			a = r
		} else {
			b = r
		}
	}
	if a.Attempts != 2 || a.LastError != "421 try later" {
		t.Fatalf("retried receipt %+v", a)
	}
	mustNil(t, "give up", h.st.GiveUpReceipt(ctx, b.Claim, "550 no such user"))
	// The sender of a dies; its claim expires and another sender takes it.
	h.reopen()
	h.clock.Advance(2 * time.Minute)
	got, err = h.st.ClaimDueReceipts(ctx, "s2", 10, time.Minute)
	mustNil(t, "take over", err)
	if len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("take over: %+v", got)
	}
	wantErr(t, "sent under a lost claim", h.st.MarkReceiptSent(ctx, a.Claim), state.ErrLostClaim)
	mustNil(t, "sent", h.st.MarkReceiptSent(ctx, got[0].Claim))
	sent, _ := h.st.ListReceipts(ctx, state.ReceiptSent)
	failed, _ := h.st.ListReceipts(ctx, state.ReceiptFailed)
	if len(sent) != 1 || len(failed) != 1 || failed[0].LastError != "550 no such user" {
		t.Fatalf("sent %+v failed %+v", sent, failed)
	}
	if more, _ := h.st.ClaimDueReceipts(ctx, "s2", 10, time.Minute); len(more) != 0 {
		t.Fatalf("sent or failed receipts claimed again: %+v", more)
	}
	_, err = h.st.Receipt(ctx, "zz")
	if !isNotFound(err) {
		t.Fatalf("unknown receipt: %v", err)
	}
}

func testOperators(t *testing.T, h *harness) {
	mustNil(t, "add", h.st.AddOperator(ctx, state.Operator{Name: "ola", Hash: "$argon2id$1"}))
	mustNil(t, "add", h.st.AddOperator(ctx, state.Operator{Name: "kari", Hash: "$argon2id$2"}))
	wantErr(t, "add twice", h.st.AddOperator(ctx, state.Operator{Name: "ola", Hash: "h"}), state.ErrExists)
	until := h.clock.Now().Add(15 * time.Minute)
	_, err := h.st.UpdateOperator(ctx, "ola", func(op *state.Operator) error {
		op.FailedLogins, op.LockedUntil = 5, until
		return nil
	})
	mustNil(t, "update", err)
	boom := errors.New("boom")
	_, err = h.st.UpdateOperator(ctx, "ola", func(op *state.Operator) error { op.Disabled = true; return boom })
	wantErr(t, "aborted update", err, boom)
	h.reopen()
	op, err := h.st.Operator(ctx, "ola")
	mustNil(t, "get", err)
	if op.FailedLogins != 5 || !op.LockedUntil.Equal(until) || op.Disabled || op.Hash != "$argon2id$1" {
		t.Fatalf("operator %+v", op)
	}
	list, err := h.st.ListOperators(ctx)
	mustNil(t, "list", err)
	if len(list) != 2 || list[0].Name != "kari" || list[1].Name != "ola" {
		t.Fatalf("list %+v", list)
	}
	mustNil(t, "remove", h.st.RemoveOperator(ctx, "ola"))
	_, err = h.st.Operator(ctx, "ola")
	if !isNotFound(err) {
		t.Fatalf("removed operator: %v", err)
	}
	if !isNotFound(h.st.RemoveOperator(ctx, "ola")) {
		t.Fatal("remove twice did not say not found")
	}
	_, err = h.st.UpdateOperator(ctx, "nobody", func(*state.Operator) error { return nil })
	if !isNotFound(err) {
		t.Fatalf("update unknown: %v", err)
	}
}

func testAudit(t *testing.T, h *harness) {
	for i, a := range []string{"login", "unlock", "download"} {
		mustNil(t, "append", h.st.AppendAudit(ctx, state.AuditEntry{Actor: "kari", Action: a, FileID: "0123456789abcdef", Remote: "127.0.0.1"}))
		if i == 0 {
			h.clock.Advance(time.Minute)
		}
	}
	h.reopen()
	all, err := h.st.ListAudit(ctx, state.AuditQuery{})
	mustNil(t, "list", err)
	if len(all) != 3 || all[0].Action != "login" || all[2].Action != "download" || all[1].FileID != "0123456789abcdef" || all[0].Time.IsZero() {
		t.Fatalf("audit %+v", all)
	}
	since, _ := h.st.ListAudit(ctx, state.AuditQuery{Since: all[1].Time})
	last, _ := h.st.ListAudit(ctx, state.AuditQuery{Limit: 1})
	if len(since) != 2 || len(last) != 1 || last[0].Action != "download" {
		t.Fatalf("since %+v last %+v", since, last)
	}
}

func testPasswords(t *testing.T, h *harness) {
	id := h.add("locked", 1)
	ids, err := h.st.DroppedPasswords(ctx)
	mustNil(t, "dropped", err)
	if len(ids) != 0 {
		t.Fatalf("dropped %v", ids)
	}
	mustNil(t, "drop", h.st.DropPassword(ctx, id, secret.New([]byte("fra SMS"))))
	ids, _ = h.st.DroppedPasswords(ctx)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("dropped %v", ids)
	}
	pw, ok, err := h.st.TakePassword(ctx, id)
	mustNil(t, "take", err)
	if !ok || string(pw.Bytes()) != "fra SMS" {
		t.Fatalf("took %v", ok)
	}
	_, ok, err = h.st.TakePassword(ctx, id)
	if ok || err != nil {
		t.Fatalf("took twice: %v %v", ok, err)
	}
	wantErr(t, "bad id", h.st.DropPassword(ctx, "../x", secret.New([]byte("p"))), state.ErrBadFileID)
}

func testListing(t *testing.T, h *harness) {
	const n = 25
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, h.add(fmt.Sprintf("list %d", i), uint32(i+1)))
		h.clock.Advance(time.Minute)
	}
	for i, id := range ids {
		if i%5 != 0 {
			continue
		}
		c := h.claim(id, "w")
		mustNil(t, "waiting", h.st.RecordOutcome(ctx, id, state.Outcome{Claim: c, Status: state.StatusWaiting, LastError: "file.password_needed"}))
	}
	page, err := h.st.ListFiles(ctx, state.FileQuery{Limit: 10})
	mustNil(t, "list", err)
	if page.Total != n || len(page.Files) != 10 || page.Files[0].ID != ids[n-1] || page.Files[9].ID != ids[n-10] {
		t.Fatalf("first page: total %d, %d files", page.Total, len(page.Files))
	}
	if page.Counts[state.StatusWaiting] != 5 || page.Counts[state.StatusArrived] != 20 {
		t.Fatalf("counts %v", page.Counts)
	}
	page, _ = h.st.ListFiles(ctx, state.FileQuery{Offset: 20, Limit: 10})
	if len(page.Files) != 5 || page.Files[4].ID != ids[0] {
		t.Fatalf("last page: %d files", len(page.Files))
	}
	page, _ = h.st.ListFiles(ctx, state.FileQuery{Status: []state.FileStatus{state.StatusWaiting}})
	if page.Total != 5 || len(page.Files) != 5 || page.Files[0].ID != ids[20] {
		t.Fatalf("waiting: total %d", page.Total)
	}
	page, _ = h.st.ListFiles(ctx, state.FileQuery{Offset: 100})
	if len(page.Files) != 0 || page.Total != n {
		t.Fatalf("beyond the end: %+v", page)
	}
}

func testLocalFile(t *testing.T, h *harness) {
	in := state.Incoming{SHA256: "ab" + fmt.Sprintf("%062d", 7), Size: 10, FileName: "lokal.xlsx"}
	res, err := h.st.AddFiles(ctx, []state.Incoming{in}, state.Arrival{Received: h.clock.Now(), Path: "/data/lokal.xlsx"}, nil)
	mustNil(t, "AddFiles local", err)
	if len(res.New) != 1 || res.New[0].Spooled || res.New[0].Source.Path != "/data/lokal.xlsx" {
		t.Fatalf("local: %+v", res)
	}
	_, err = h.st.OpenSpooled(ctx, res.New[0].ID)
	if !isNotFound(err) {
		t.Fatalf("OpenSpooled of a local file: %v", err)
	}
}

// testTwoStores runs two opens of a shared state side by side (two processes): a claim taken in
// one is seen by the other, and of two racing claims one wins.
func testTwoStores(t *testing.T, h *harness) {
	if !h.b.Shared {
		t.Skip("the backend is for one process at a time")
	}
	other := h.b.Open(t, h.clock.Now)
	defer other.Close()
	id := h.add("shared", 1)
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i, st := range []state.Store{h.st, other, h.st, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := st.ClaimFile(ctx, id, fmt.Sprintf("p%d", i), time.Minute)
			if err == nil {
				wins.Add(1)
				if err := st.RecordOutcome(ctx, id, processed(c, 1)); err != nil {
					t.Errorf("outcome: %v", err)
				}
			} else if !errors.Is(err, state.ErrClaimed) && !errors.Is(err, state.ErrWrongStatus) {
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won, want 1", wins.Load())
	}
	f, err := other.File(ctx, id)
	mustNil(t, "file from the other store", err)
	if f.Status != state.StatusProcessed {
		t.Fatalf("other store sees %+v", f)
	}
}

func testLocalThenMailed(t *testing.T, h *harness) {
	content := "first local, then mailed"
	sum := incoming(t, h.st, content, "x.xlsx")
	local := sum
	local.TempPath = ""
	os.Remove(sum.TempPath)
	_, err := h.st.AddFiles(ctx, []state.Incoming{local}, state.Arrival{Received: h.clock.Now(), Path: "/data/x.xlsx"}, nil)
	mustNil(t, "local", err)
	id := h.add(content, 3)
	f := h.file(id)
	if !f.Spooled || len(f.Arrivals) != 1 {
		t.Fatalf("mailed after local: %+v", f)
	}
	sp, err := h.st.OpenSpooled(ctx, id)
	mustNil(t, "open", err)
	b, _ := os.ReadFile(sp.Path)
	sp.Close()
	if string(b) != content {
		t.Fatalf("bytes %q", b)
	}
}
