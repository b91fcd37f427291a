package statetest

import (
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// testMessageReceipts: a message's receipts (SPEC 10) are recorded with the message in one step,
// by RecordMessage (a rejected message) and by AddFiles (the receipts of files a message carries
// again). A step that fails leaves neither the message nor any of its receipts; recording the
// message again after a crash (before or after the receipt was sent) leaves exactly one receipt
// per message and outcome, and a sent receipt stays sent.
func testMessageReceipts(t *testing.T, h *harness) {
	rcpt := func(id string) state.Receipt {
		return state.Receipt{ID: id, Kind: "rejected", To: "nurse@example.org", InReplyTo: "<r@example.org>", Payload: []byte("receipt " + id)}
	}
	key := state.MessageKey{Mailbox: "INBOX", UIDValidity: 9, UID: 1}
	rej := func(rs ...state.Receipt) *state.Message {
		return &state.Message{Mailbox: key.Mailbox, UIDValidity: key.UIDValidity, UID: key.UID, MessageID: "<r@example.org>",
			Received: h.clock.Now(), From: "nurse@example.org", Folder: "Rejected",
			Rejected: []state.Rejection{{Reason: "no_attachment"}}, Receipts: rs}
	}

	// A step that fails in the middle (a receipt the state refuses, after the message was written
	// in the transaction) records nothing at all.
	if err := h.st.RecordMessage(ctx, rej(rcpt("<rej-1@fhi>"), state.Receipt{Kind: "rejected"})); err == nil {
		t.Fatal("RecordMessage with a receipt without ID: no error")
	}
	if _, err := h.st.Message(ctx, key); !isNotFound(err) {
		t.Fatalf("a failed RecordMessage left the message: %v", err)
	}
	h.wantReceipts(0)

	mustNil(t, "record rejected message", h.st.RecordMessage(ctx, rej(rcpt("<rej-1@fhi>"))))
	h.wantReceipts(1)
	got, err := h.st.Message(ctx, key)
	mustNil(t, "message", err)
	if len(got.Receipts) != 0 || got.From != "nurse@example.org" {
		t.Fatalf("message read back: %+v", got)
	}
	// The poller crashed before moving the message: it is taken and recorded again.
	h.reopen()
	mustNil(t, "record again", h.st.RecordMessage(ctx, rej(rcpt("<rej-1@fhi>"))))
	h.wantReceipts(1)
	r, err := h.st.Receipt(ctx, "<rej-1@fhi>")
	mustNil(t, "receipt", err)
	if r.Status != state.ReceiptQueued || string(r.Payload) != "receipt <rej-1@fhi>" || r.To != "nurse@example.org" || r.Kind != "rejected" {
		t.Fatalf("receipt: %+v", r)
	}
	// Sent, then the message recorded once more: the receipt is not queued again.
	due, err := h.st.ClaimDueReceipts(ctx, "sender", 10, time.Minute)
	mustNil(t, "claim", err)
	if len(due) != 1 {
		t.Fatalf("%d due receipts, want 1", len(due))
	}
	mustNil(t, "sent", h.st.MarkReceiptSent(ctx, due[0].Claim))
	h.reopen()
	mustNil(t, "record after sending", h.st.RecordMessage(ctx, rej(rcpt("<rej-1@fhi>"))))
	if r, err := h.st.Receipt(ctx, "<rej-1@fhi>"); err != nil || r.Status != state.ReceiptSent {
		t.Fatalf("a sent receipt after the message was recorded again: %+v, %v", r, err)
	}
	h.wantReceipts(1)
	testAddFilesReceipts(t, h)
}

// testAddFilesReceipts: AddFiles with a message queues the message's receipts in the same step.
func testAddFilesReceipts(t *testing.T, h *harness) {
	const content = "a file sent twice"
	id := h.add(content, 1)
	resend := func(rs ...state.Receipt) *state.Message {
		return &state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 2, MessageID: "<again@example.org>",
			Received: h.clock.Now(), From: "office@example.org", Folder: "Processed", Receipts: rs}
	}
	arr := state.Arrival{Received: h.clock.Now(), Mailbox: "INBOX", UIDValidity: 9, UID: 2, MessageID: "<again@example.org>", Sender: "office@example.org"}
	again := state.Receipt{ID: "<again-1@fhi>", FileID: id, Kind: "processed", To: "office@example.org", Payload: []byte("outcome")}

	_, err := h.st.AddFiles(ctx, []state.Incoming{incoming(t, h.st, content, "x.xlsx")}, arr, resend(again, state.Receipt{Kind: "processed"}))
	if err == nil {
		t.Fatal("AddFiles with a receipt without ID: no error")
	}
	if _, err := h.st.Message(ctx, state.MessageKey{Mailbox: "INBOX", UIDValidity: 9, UID: 2}); !isNotFound(err) {
		t.Fatalf("a failed AddFiles left the message: %v", err)
	}
	if f := h.file(id); len(f.Arrivals) != 0 {
		t.Fatalf("a failed AddFiles left the arrival: %+v", f.Arrivals)
	}
	h.wantReceipts(1)

	for i := 0; i < 2; i++ { // the second time: a retry after a crash before the message was moved
		msg := resend(again)
		res, err := h.st.AddFiles(ctx, []state.Incoming{incoming(t, h.st, content, "x.xlsx")}, arr, msg)
		mustNil(t, "AddFiles with receipts", err)
		if len(res.Resent) != 1 || len(msg.Resent) != 1 {
			t.Fatalf("AddFiles: %+v", res)
		}
		h.wantReceipts(2)
		h.reopen()
	}
	if r, err := h.st.Receipt(ctx, "<again-1@fhi>"); err != nil || r.FileID != id || r.Status != state.ReceiptQueued {
		t.Fatalf("resend receipt: %+v, %v", r, err)
	}
}

// wantReceipts checks how many receipts the outbox holds, whatever their status.
func (h *harness) wantReceipts(n int) {
	h.t.Helper()
	rs, err := h.st.ListReceipts(ctx)
	mustNil(h.t, "list receipts", err)
	if len(rs) != n {
		h.t.Fatalf("%d receipts in the outbox, want %d: %+v", len(rs), n, rs)
	}
}
