package receipt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// spoolBytes writes content into the state's temp folder, as the mailbox does with an attachment.
func spoolBytes(t *testing.T, st state.Store, content string) state.Incoming {
	t.Helper()
	f, err := os.CreateTemp(st.TempDir(), "att-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return state.Incoming{TempPath: f.Name(), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), FileName: "Kari Nordmann.xlsx", Kind: "workbook"}
}

// TestMessageReceiptsAreRecordedWithTheMessage: through WithMessageReceipts, a rejected message is
// recorded with its receipt (once, however often it is recorded; none for a machine's message,
// none when the step fails), and a message that carries a processed file again is recorded with
// the receipt of that file's outcome, answering that message; a file new to the state gets no
// receipt from the message (its outcome's receipt answers it).
func TestMessageReceiptsAreRecordedWithTheMessage(t *testing.T) {
	ctx := context.Background()
	clk := &stateClock{t: testDate}
	st := openFolderState(t, clk)
	ms := WithMessageReceipts(st, &Builder{From: testFrom, Mode: ModeSummary, Now: clk.now})
	queued := func(want int) []state.Receipt {
		t.Helper()
		rs, err := st.ListReceipts(ctx)
		if err != nil || len(rs) != want {
			t.Fatalf("%d receipts in the outbox (%v), want %d", len(rs), err, want)
		}
		return rs
	}
	rejected := func(uid uint32, autoSubmitted string) *state.Message {
		return &state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: uid, MessageID: "<rej@legekontor.example>", From: testSender,
			AutoSubmitted: autoSubmitted, Folder: "Rejected", Rejected: []state.Rejection{{Reason: "unsupported_type", FileName: "Kari Nordmann.pdf"}}}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ms.RecordMessage(cancelled, rejected(1, "")); err == nil {
		t.Fatal("RecordMessage with a cancelled context: no error")
	}
	queued(0)
	for i := 0; i < 2; i++ {
		if err := ms.RecordMessage(ctx, rejected(1, "")); err != nil {
			t.Fatal(err)
		}
	}
	rs := queued(1)
	if rs[0].Kind != string(KindRejected) || rs[0].To != testSender || rs[0].InReplyTo != "<rej@legekontor.example>" {
		t.Fatalf("rejection receipt: %+v", rs[0])
	}
	checkPrivacy(t, rs[0].Payload, "Kari", "Nordmann")
	if err := ms.RecordMessage(ctx, rejected(2, "auto-replied")); err != nil {
		t.Fatal(err)
	}
	queued(1)

	// The first message brings a file: no receipt yet. It is processed; a second message
	// brings it again and is recorded with the receipt of its outcome.
	first := &state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 3, MessageID: "<first@legekontor.example>", From: testSender, Folder: "Processed"}
	arr := state.Arrival{Mailbox: "INBOX", UIDValidity: 9, UID: 3, MessageID: first.MessageID, Sender: testSender, Received: clk.now()}
	res, err := ms.AddFiles(ctx, []state.Incoming{spoolBytes(t, st, "workbook bytes")}, arr, first)
	if err != nil || len(res.New) != 1 {
		t.Fatalf("AddFiles: %+v, %v", res, err)
	}
	queued(1)
	id := res.New[0].ID
	rep := fixtureReport(t, "row-errors.xlsx")
	rep.FileID = id
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := st.ClaimFile(ctx, id, "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordOutcome(ctx, id, state.Outcome{Claim: c, Status: state.StatusProcessed, Report: raw}); err != nil {
		t.Fatal(err)
	}
	again := &state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 4, MessageID: "<again@legekontor.example>", From: "annen@legekontor.example", Folder: "Processed"}
	arr.UID, arr.MessageID, arr.Sender = 4, again.MessageID, again.From
	if res, err := ms.AddFiles(ctx, []state.Incoming{spoolBytes(t, st, "workbook bytes")}, arr, again); err != nil || len(res.Resent) != 1 {
		t.Fatalf("AddFiles again: %+v, %v", res, err)
	}
	var resend *state.Receipt
	for _, r := range queued(2) {
		if r.FileID == id {
			resend = &r
		}
	}
	if resend == nil || resend.Kind != string(KindProcessed) || resend.To != "annen@legekontor.example" || resend.InReplyTo != again.MessageID {
		t.Fatalf("resend receipt: %+v", resend)
	}
	checkPrivacy(t, resend.Payload, "Kari", "Nordmann")
}
