package intake_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/validate"
)

var ctx = context.Background()

type world struct {
	t          *testing.T
	dir, out   string
	st         state.Store
	svc        *intake.Service
	receiptsMu sync.Mutex
	receipts   []string
	// wrap, when set, wraps the state the service uses (fault injection).
	wrap func(state.Store) state.Store
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, dir: t.TempDir(), out: t.TempDir()}
	w.open()
	t.Cleanup(func() { w.st.Close() })
	return w
}

func (w *world) open() {
	st, err := folder.Open(ctx, w.dir, folder.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.st = st
	svcState := state.Store(st)
	if w.wrap != nil {
		svcState = w.wrap(st)
	}
	opts := importer.Options{Lang: "en", Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: 11, Day: 23}}}
	w.svc = intake.New(svcState, intake.Config{OutDir: w.out, Opts: opts, Log: zerolog.Nop(),
		Receipts: func(f state.File, rep *report.Report) []state.Receipt {
			w.receiptsMu.Lock()
			defer w.receiptsMu.Unlock()
			w.receipts = append(w.receipts, f.ID+"/"+string(f.Status))
			return []state.Receipt{{ID: f.ID + "." + string(rep.Status), FileID: f.ID, Kind: string(f.Status), To: f.Source.Sender}}
		}})
}

func (w *world) reopen() {
	w.st.Close()
	w.open()
}

// spool puts a fixture into the state as a mailed file and returns its id.
func (w *world) spool(fixture string, uid uint32) string {
	w.t.Helper()
	b, err := os.ReadFile(fixture)
	if err != nil {
		w.t.Fatal(err)
	}
	f, _ := os.CreateTemp(w.st.TempDir(), "in-*")
	f.Write(b)
	f.Close()
	sum := sha(b)
	arr := state.Arrival{Received: time.Date(2026, 11, 20, 10, 0, int(uid), 0, time.UTC), Mailbox: "INBOX", UIDValidity: 1, UID: uid,
		MessageID: "<m" + string(rune('0'+uid)) + "@x>", Sender: "nurse@example.org"}
	if _, err := w.st.AddFiles(ctx, []state.Incoming{{TempPath: f.Name(), SHA256: sum, Size: int64(len(b)), FileName: filepath.Base(fixture)}}, arr, nil); err != nil {
		w.t.Fatal(err)
	}
	return sum[:16]
}

func (w *world) pass(known ...secret.Secret) []intake.Event {
	w.t.Helper()
	var evs []intake.Event
	if err := w.svc.Pass(ctx, intake.PassInput{}, known, func(ev intake.Event) error { evs = append(evs, ev); return nil }); err != nil {
		w.t.Fatalf("Pass: %v", err)
	}
	return evs
}

func (w *world) file(id string) state.File {
	f, err := w.st.File(ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

func (w *world) records(id string) int {
	b, err := os.ReadFile(filepath.Join(w.out, id, importer.RecordsFile))
	if err != nil {
		w.t.Fatalf("records of %s: %v", id, err)
	}
	return strings.Count(string(b), "\n")
}

func (w *world) outReport(id string) report.Report {
	var r report.Report
	b, err := os.ReadFile(filepath.Join(w.out, id, importer.ReportJSONFile))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) live() int {
	n, _, err := w.st.LedgerStats(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

const clean = "../../fixtures/files/clean.xlsx"
const encrypted = "../../fixtures/encrypted/octool_agile.xlsx"

func TestImportPathThenResend(t *testing.T) {
	w := newWorld(t)
	rep, err := w.svc.ImportPath(ctx, clean, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Registered == 0 || rep.Status == report.StatusFileRejected {
		t.Fatalf("first import: %+v", rep.Stats)
	}
	id, n := rep.FileID, rep.Stats.Registered
	f := w.file(id)
	if f.Status != state.StatusProcessed || f.Spooled || !f.Written || f.Summary.Registered != n || w.records(id) != n || w.live() != n {
		t.Fatalf("after import: %+v, %d records, %d keys", f, w.records(id), w.live())
	}
	// The same bytes again: recognised, listed under resent, nothing registered twice.
	rep2, err := w.svc.ImportPath(ctx, clean, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Resent) != 1 || rep2.Stats.Registered != n || w.live() != n || w.records(id) != n {
		t.Fatalf("resend: resent %d, registered %d, keys %d", len(rep2.Resent), rep2.Stats.Registered, w.live())
	}
	if got := w.outReport(id); len(got.Resent) != 1 {
		t.Fatalf("report.json lists %d resends", len(got.Resent))
	}
	// Outputs removed by hand: a later arrival processes the file again, with the same records.
	os.RemoveAll(filepath.Join(w.out, id))
	if _, err := w.svc.ImportPath(ctx, clean, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if w.records(id) != n || w.live() != n || len(w.outReport(id).Resent) != 2 {
		t.Fatalf("after the outputs were removed: %d records, %d keys", w.records(id), w.live())
	}
	if len(w.receipts) != 2 {
		t.Fatalf("receipts asked for %v: want one per processing, none for a resend", w.receipts)
	}
}

func TestMailedFileWaitsThenDroppedPassword(t *testing.T) {
	w := newWorld(t)
	id := w.spool(encrypted, 1)
	evs := w.pass()
	if len(evs) != 1 || evs[0].Kind != intake.Waiting {
		t.Fatalf("first pass: %+v", evs)
	}
	if f := w.file(id); f.Status != state.StatusWaiting || f.LastError != string(validate.FilePasswordNeeded) {
		t.Fatalf("waiting: %+v", f)
	}
	pend, err := w.svc.Pending(ctx)
	if err != nil || len(pend) != 1 || pend[0].ID != id {
		t.Fatalf("pending %+v %v", pend, err)
	}
	if evs := w.pass(); len(evs) != 0 {
		t.Fatalf("a waiting file without a password was processed again: %+v", evs)
	}
	// A wrong drop: the file keeps waiting and says why.
	w.st.DropPassword(ctx, id, secret.New([]byte("wrong")))
	evs = w.pass()
	if len(evs) != 1 || evs[0].Kind != intake.Waiting || w.file(id).LastError != string(validate.FileWrongPassword) {
		t.Fatalf("wrong drop: %+v, %+v", evs, w.file(id))
	}
	w.st.DropPassword(ctx, id, secret.New([]byte("Sommer-Vaksine-2025")))
	evs = w.pass()
	if len(evs) != 1 || evs[0].Kind != intake.Processed || w.file(id).Status != state.StatusProcessed {
		t.Fatalf("right drop: %+v, %+v", evs, w.file(id))
	}
	if pend, _ := w.svc.Pending(ctx); len(pend) != 0 {
		t.Fatalf("pending after processing: %+v", pend)
	}
	// A later arrival of the same bytes: listed, not processed again.
	w.spool(encrypted, 2)
	evs = w.pass()
	if len(evs) != 1 || evs[0].Kind != intake.Resent || len(evs[0].Report.Resent) != 1 {
		t.Fatalf("resend pass: %+v", evs)
	}
	if evs := w.pass(); len(evs) != 0 {
		t.Fatalf("resend reported twice: %+v", evs)
	}
}

func TestUnlock(t *testing.T) {
	w := newWorld(t)
	id := w.spool(encrypted, 1)
	w.pass()
	if _, err := w.svc.Unlock(ctx, "0123456789abcdef", nil); !errors.Is(err, intake.ErrUnknownFile) {
		t.Fatalf("unknown id: %v", err)
	}
	rep, err := w.svc.Unlock(ctx, id, []secret.Secret{secret.New([]byte("nope"))})
	if err != nil || rep.Status != report.StatusWaitingPassword || w.file(id).Status != state.StatusWaiting {
		t.Fatalf("wrong password: %v %+v", err, rep)
	}
	rep, err = w.svc.Unlock(ctx, id, []secret.Secret{secret.New([]byte("Sommer-Vaksine-2025"))})
	if err != nil || rep.Status == report.StatusWaitingPassword || w.file(id).Status != state.StatusProcessed {
		t.Fatalf("right password: %v %+v", err, rep)
	}
	if _, err := w.svc.Unlock(ctx, id, nil); !errors.Is(err, intake.ErrNotWaiting) {
		t.Fatalf("unlock of a processed file: %v", err)
	}
}

// TestCrashRecovery: a worker that died holding a claim, and one that died after recording the
// outcome but before writing the outputs; the next pass finishes both, registering nothing twice.
func TestCrashRecovery(t *testing.T) {
	w := newWorld(t)
	a := w.spool(clean, 1)
	if _, _, err := w.st.ClaimFile(ctx, a, "dead", time.Hour); err != nil {
		t.Fatal(err)
	}
	w.reopen()
	evs := w.pass()
	if len(evs) != 1 || evs[0].Kind != intake.Processed || w.file(a).Status != state.StatusProcessed {
		t.Fatalf("takeover: %+v %+v", evs, w.file(a))
	}
	n := w.live()
	// Outputs lost after the outcome was recorded (Written false): written again.
	os.RemoveAll(filepath.Join(w.out, a))
	if err := w.st.SetWritten(ctx, a, false); err != nil {
		t.Fatal(err)
	}
	evs = w.pass()
	if len(evs) != 1 || w.records(a) != n || w.live() != n || !w.file(a).Written {
		t.Fatalf("rewrite: %+v, %d records, %d keys", evs, w.records(a), w.live())
	}
}

func TestMessageReport(t *testing.T) {
	w := newWorld(t)
	m := state.Message{Mailbox: "INBOX", UIDValidity: 1, UID: 7, MessageID: "<r@x>",
		Rejected: []state.Rejection{{Reason: "unsupported_type", What: "pdf", FileName: "a.pdf"}, {Reason: "too_large", Size: 60 << 20}}}
	var evs []intake.Event
	err := w.svc.Pass(ctx, intake.PassInput{Rejected: []state.Message{m}}, nil, func(ev intake.Event) error { evs = append(evs, ev); return nil })
	if err != nil || len(evs) != 1 || evs[0].Kind != intake.MessageRejected {
		t.Fatalf("pass: %v %+v", err, evs)
	}
	rep := w.outReport(intake.MessageID(m))
	if rep.Status != report.StatusFileRejected || len(rep.Findings) != 2 ||
		rep.Findings[0].Code != validate.FileUnsupportedFormat || rep.Findings[1].Code != validate.FileTooLarge {
		t.Fatalf("message report %+v", rep)
	}
	for reason, want := range map[string]validate.Code{"no_attachment": validate.MailNoAttachment, "too_deep": validate.MailTooDeep,
		"too_many_parts": validate.MailTooManyParts, "unreadable": validate.MailUnreadable, "mail.no_attachment": validate.MailNoAttachment} {
		if got := intake.Finding(reason); got != want {
			t.Errorf("Finding(%q) = %s, want %s", reason, got, want)
		}
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
