package intake_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/receipt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/validate"
)

// arrivingDuringOutcome is a state in which another message carrying the same file is recorded
// just before the outcome: the race of a poller taking a resend while the file is processed (a
// shared PostgreSQL state, or serve's console unlocking while serve polls). The message was
// recorded without a receipt, as the file had no outcome yet.
type arrivingDuringOutcome struct {
	state.Store
	t    *testing.T
	data []byte
	done bool
}

func (s *arrivingDuringOutcome) RecordOutcome(ctx context.Context, id string, o state.Outcome) error {
	if !s.done {
		s.done = true
		f, err := os.CreateTemp(s.TempDir(), "in-*")
		if err != nil {
			s.t.Fatal(err)
		}
		f.Write(s.data)
		f.Close()
		arr := state.Arrival{Received: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), Mailbox: "INBOX", UIDValidity: 1, UID: 2,
			MessageID: "<second@legekontor.example>", Sender: "annen@legekontor.example"}
		msg := &state.Message{Mailbox: "INBOX", UIDValidity: 1, UID: 2, MessageID: arr.MessageID, From: arr.Sender, Folder: "Processed"}
		if _, err := s.Store.AddFiles(ctx, []state.Incoming{{TempPath: f.Name(), SHA256: sha(s.data), Size: int64(len(s.data)), FileName: "igjen.xlsx"}}, arr, msg); err != nil {
			s.t.Fatal(err)
		}
	}
	return s.Store.RecordOutcome(ctx, id, o)
}

// TestLateArrivalGetsItsReceipt: a message that brought a file again while the file was being
// processed is answered too: its arrival is not among those the outcome's receipts covered, and
// the next pass, which lists it in the report, queues the receipt of the outcome for it (once).
func TestLateArrivalGetsItsReceipt(t *testing.T) {
	data, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, dir: t.TempDir(), out: t.TempDir()}
	st, err := folder.Open(ctx, w.dir, folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w.st = st
	b := &receipt.Builder{From: "kvittering@fhi.example", Mode: receipt.ModeSummary, Messages: st, Log: zerolog.Nop()}
	opts := importer.Options{Lang: "en", Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: 11, Day: 23}}}
	w.svc = intake.New(&arrivingDuringOutcome{Store: st, t: t, data: data}, intake.Config{OutDir: w.out, Opts: opts, Log: zerolog.Nop(),
		ReceiptsWith: func(ctx context.Context, f state.File, rep *report.Report, pws []secret.Secret) []state.Receipt {
			return b.ForOutcome(ctx, st, f, rep, pws)
		}})
	id := w.spool(clean, 1)
	w.pass()
	if f := w.file(id); f.Status != state.StatusProcessed || len(f.Arrivals) != 1 {
		t.Fatalf("file after the pass: %s, %d later arrivals", f.Status, len(f.Arrivals))
	}
	for i := 0; i < 2; i++ {
		w.pass()
	}
	rs, err := st.ListReceipts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	to := map[string]int{}
	for _, r := range rs {
		if r.FileID != id || r.Kind != string(receipt.KindProcessed) {
			t.Errorf("receipt %+v", r)
		}
		to[r.To+" "+r.InReplyTo]++
	}
	if len(rs) != 2 || to["nurse@example.org <m1@x>"] != 1 || to["annen@legekontor.example <second@legekontor.example>"] != 1 {
		t.Fatalf("receipts: %v", to)
	}
	if rep := w.outReport(id); len(rep.Resent) != 1 {
		t.Errorf("report lists %d resends, want 1", len(rep.Resent))
	}
}
