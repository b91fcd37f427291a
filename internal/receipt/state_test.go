package receipt

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/smtptest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/validate"
)

type stateClock struct{ t time.Time }

func (c *stateClock) now() time.Time { return c.t }

func openFolderState(t *testing.T, clk *stateClock) *folder.Store {
	t.Helper()
	st, err := folder.Open(context.Background(), t.TempDir(), folder.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func mailedFile(id string, status state.FileStatus, uid uint32) state.File {
	return state.File{ID: id, Status: status, Source: state.Arrival{Mailbox: "INBOX", UIDValidity: 9, UID: uid,
		MessageID: "<m" + id + "@legekontor.example>", Sender: testSender}}
}

// TestStateOutboxDeliversAndSurvivesACrash: receipts built for outcomes are queued in a real
// folder state (twice: still one each), sent through aiosmtpd; a sender killed between the
// server's acceptance and the state's record leaves a claim that expires, and the receipt is sent
// once more with the same Message-ID, then never again. `pending`'s view (ListReceipts) shows
// what waits.
func TestStateOutboxDeliversAndSurvivesACrash(t *testing.T) {
	clk := &stateClock{t: testDate}
	st := openFolderState(t, clk)
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	b := &Builder{From: testFrom, Mode: ModeSummary, Messages: st, Now: clk.now}
	rep := fixtureReport(t, "row-errors.xlsx")
	waiting := mailedFile("a1b2c3d4e5f60718", state.StatusWaiting, 7)
	processed := mailedFile(rep.FileID, state.StatusProcessed, 8)
	local := state.File{ID: "b1b2c3d4e5f60718", Status: state.StatusProcessed, Source: state.Arrival{Path: "/tmp/x.xlsx"}}
	var rs []state.Receipt
	rs = append(rs, b.ForFile(waiting, &report.Report{Status: report.StatusWaitingPassword})...)
	rs = append(rs, b.ForFile(processed, rep)...)
	rs = append(rs, b.ForFile(local, rep)...)
	rs = append(rs, b.ForRejectedMessage(state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 9, MessageID: "<r@legekontor.example>",
		From: testSender, Rejected: []state.Rejection{{Reason: "unsupported_type", FileName: "Kari Nordmann.pdf"}}}, nil)...)
	if len(rs) != 3 {
		t.Fatalf("%d receipts, want 3 (none for a local file)", len(rs))
	}
	for i := 0; i < 2; i++ {
		if err := st.EnqueueReceipts(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	if q, _ := st.ListReceipts(context.Background(), state.ReceiptQueued); len(q) != 3 {
		t.Fatalf("%d queued, want 3", len(q))
	}
	// First sender: sends the first receipt, then "dies" before recording it.
	crashed := &StateOutbox{St: st, Owner: "sender-1", Lease: time.Minute, From: testFrom}
	items, err := crashed.Due(context.Background(), clk.now(), 1)
	if err != nil || len(items) != 1 {
		t.Fatalf("claim: %v, %v", items, err)
	}
	if err := tlsSender(t, srv).Send(context.Background(), items[0].From, items[0].To, items[0].Data); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(2 * time.Minute) // the claim expires
	w := &Worker{Outbox: &StateOutbox{St: st, Owner: "sender-2", From: testFrom}, Sender: tlsSender(t, srv), Now: clk.now}
	for i := 0; i < 3; i++ {
		if _, err := w.SendDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 4 {
		t.Fatalf("%d deliveries, want 4 (three receipts, one resent after the crash)", len(got))
	}
	ids := map[string]int{}
	for _, g := range got {
		ids[g.Header.Get("Message-Id")]++
		checkPrivacy(t, g.Raw, "Kari", "Nordmann")
	}
	if ids[items[0].ID] != 2 || len(ids) != 3 {
		t.Errorf("deliveries by Message-ID: %v", ids)
	}
	if sent, _ := st.ListReceipts(context.Background(), state.ReceiptSent); len(sent) != 3 {
		t.Errorf("%d receipts recorded as sent, want 3", len(sent))
	}
}

// TestBuilderRespectsModeAndMachines: receipts off makes none; a message from a machine gets none.
func TestBuilderRespectsModeAndMachines(t *testing.T) {
	clk := &stateClock{t: testDate}
	st := openFolderState(t, clk)
	m := state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 3, MessageID: "<auto@x>", From: testSender, AutoSubmitted: "auto-replied", Folder: "Rejected"}
	if err := st.RecordMessage(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	b := &Builder{From: testFrom, Mode: ModeSummary, Messages: st, Now: clk.now}
	if rs := b.ForRejectedMessage(m, nil); len(rs) != 0 {
		t.Errorf("an auto-replied message got %d receipts", len(rs))
	}
	f := mailedFile("a1b2c3d4e5f60718", state.StatusWaiting, 3) // arrived in the auto-replied message
	if rs := b.ForFile(f, &report.Report{Status: report.StatusWaitingPassword}); len(rs) != 0 {
		t.Errorf("a file from an auto-replied message got %d receipts", len(rs))
	}
	off := &Builder{From: testFrom, Mode: ModeOff}
	m.AutoSubmitted = ""
	if rs := off.ForRejectedMessage(m, []Reason{{Code: validate.MailNoAttachment}}); len(rs) != 0 {
		t.Error("receipts off still made one")
	}
}

// TestBatchOutboxOpensTheStateOnlyBriefly: with a folder state opened per use (as poll does, so
// that `pending` and `unlock` can run between passes), receipts are claimed, sent with the state
// closed, and recorded in one flush; while the worker sends, another user can open the state.
func TestBatchOutboxOpensTheStateOnlyBriefly(t *testing.T) {
	dir := t.TempDir()
	open := func(ctx context.Context) (*folder.Store, error) { return folder.Open(ctx, dir, folder.Options{}) }
	st, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := &Builder{From: testFrom, Mode: ModeSummary}
	rep := fixtureReport(t, "clean.xlsx")
	rs := b.ForFile(mailedFile(rep.FileID, state.StatusProcessed, 4), rep)
	rs = append(rs, b.ForFile(mailedFile("a1b2c3d4e5f60718", state.StatusWaiting, 5), &report.Report{Status: report.StatusWaitingPassword})...)
	if err := st.EnqueueReceipts(context.Background(), rs); err != nil || len(rs) != 2 {
		t.Fatalf("enqueue %d: %v", len(rs), err)
	}
	_ = st.Close()
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	opened := 0
	ob := &BatchOutbox{From: testFrom, Owner: "poller", Open: func(ctx context.Context) (state.Outbox, func() error, error) {
		s, err := open(ctx)
		if err != nil {
			return nil, nil, err
		}
		opened++
		return s, s.Close, nil
	}}
	// The sender checks that the state is free while it talks to the SMTP server.
	sender := submitFunc(func(ctx context.Context, from, to string, data []byte) error {
		s, err := folder.Open(ctx, dir, folder.Options{LockTimeout: time.Second})
		if err != nil {
			return err
		}
		_ = s.Close()
		return tlsSender(t, srv).Send(ctx, from, to, data)
	})
	w := &Worker{Outbox: ob, Sender: sender}
	res, err := w.SendDue(context.Background())
	if err != nil || res.Sent != 2 {
		t.Fatalf("pass = %+v, %v", res, err)
	}
	if opened != 2 {
		t.Errorf("the state was opened %d times, want 2 (claim, flush)", opened)
	}
	st, err = open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if sent, _ := st.ListReceipts(context.Background(), state.ReceiptSent); len(sent) != 2 {
		t.Errorf("%d recorded as sent", len(sent))
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d delivered", n)
	}
}

type submitFunc func(ctx context.Context, from, to string, data []byte) error

func (f submitFunc) Send(ctx context.Context, from, to string, data []byte) error {
	return f(ctx, from, to, data)
}

// TestResentFileAnswersTheNewMessage: the same file in a second message gets its own receipt for
// that message (another Message-ID, In-Reply-To the new message), and a rejected message known
// only by its key is answered from the headers recorded for it.
func TestResentFileAnswersTheNewMessage(t *testing.T) {
	clk := &stateClock{t: testDate}
	st := openFolderState(t, clk)
	b := &Builder{From: testFrom, Mode: ModeSummary, Messages: st, Now: clk.now}
	rep := fixtureReport(t, "clean.xlsx")
	f := mailedFile(rep.FileID, state.StatusProcessed, 4)
	again := state.Arrival{Mailbox: "INBOX", UIDValidity: 9, UID: 12, MessageID: "<again@legekontor.example>", Sender: "annen@legekontor.example"}
	first, second := b.ForFile(f, rep), b.ForArrival(f, again, rep)
	if len(first) != 1 || len(second) != 1 || first[0].ID == second[0].ID {
		t.Fatalf("receipts %v / %v", first, second)
	}
	if second[0].To != "annen@legekontor.example" || second[0].InReplyTo != again.MessageID {
		t.Errorf("resend receipt to %q in reply to %q", second[0].To, second[0].InReplyTo)
	}
	m := state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 13, MessageID: "<r@x>", From: testSender, Folder: "Rejected",
		Rejected: []state.Rejection{{Reason: "too_large", FileName: "stor.xlsx"}}}
	if err := st.RecordMessage(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
	rs := b.ForRejectedMessage(state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: 13}, nil)
	if len(rs) != 1 || rs[0].To != testSender || !strings.Contains(string(rs[0].Payload), "Filen er for stor") {
		t.Fatalf("rejection receipt from the recorded message: %+v", rs)
	}
	checkPrivacy(t, rs[0].Payload, "stor.xlsx")
}
