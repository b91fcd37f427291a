package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// folderState makes a real folder state with n spooled files, batch files per arrival (arrival i
// is i minutes after the first), and returns it with the file ids, oldest first.
func folderState(tb testing.TB, n, batch int) (*folder.Store, []string) {
	tb.Helper()
	ctx := context.Background()
	st, err := folder.Open(ctx, tb.TempDir(), folder.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for lo := 0; lo < n; lo += batch {
		var in []state.Incoming
		for i := lo; i < min(lo+batch, n); i++ {
			body := []byte(fmt.Sprintf("vaksinasjonsfil %d", i))
			p := filepath.Join(st.TempDir(), fmt.Sprintf("in-%d", i))
			if err := os.WriteFile(p, body, 0o600); err != nil {
				tb.Fatal(err)
			}
			sum := sha256.Sum256(body)
			h := hex.EncodeToString(sum[:])
			in = append(in, state.Incoming{TempPath: p, SHA256: h, Size: int64(len(body)), FileName: fmt.Sprintf("vaksiner-%05d.xlsx", i), Kind: "xlsx"})
			ids = append(ids, state.FileIDOf(h))
		}
		arr := state.Arrival{Received: base.Add(time.Duration(lo/batch) * time.Minute), Mailbox: "INBOX",
			UIDValidity: 1, UID: uint32(lo + 1), MessageID: fmt.Sprintf("<%d@example.no>", lo), Sender: "avsender@example.no"}
		if _, err := st.AddFiles(ctx, in, arr, nil); err != nil {
			tb.Fatal(err)
		}
	}
	return st, ids
}

// record gives a file an outcome through a claim, as the intake service does.
func record(tb testing.TB, st state.Store, id string, status state.FileStatus, rep *report.Report) {
	tb.Helper()
	ctx := context.Background()
	_, claim, err := st.ClaimFile(ctx, id, "test", time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	o := state.Outcome{Claim: claim, Status: status}
	if rep != nil {
		rep.FileID = id
		o.Report, _ = json.Marshal(rep)
		o.Summary = state.Summary{ReportStatus: string(rep.Status), Rows: rep.Stats.Rows, Registered: rep.Stats.Registered,
			Rejected: rep.Stats.Rejected, Warnings: rep.Stats.Warnings}
	}
	if status == state.StatusWaiting {
		o.LastError = "file.wrong_password"
	}
	if err := st.RecordOutcome(ctx, id, o); err != nil {
		tb.Fatal(err)
	}
}

func TestStateFiles(t *testing.T) {
	ctx := context.Background()
	st, ids := folderState(t, 6, 1)
	rows, err := validateFixture(ctx, repoPath("fixtures", "files", "row-errors.xlsx"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	record(t, st, ids[0], state.StatusProcessed, rows)
	record(t, st, ids[1], state.StatusWaiting, nil)
	out := t.TempDir()
	// A file processed before the state kept reports: its report is in OUT.
	clean, _ := validateFixture(ctx, repoPath("fixtures", "files", "clean.xlsx"), time.Now())
	clean.FileID = ids[2]
	b, _ := json.Marshal(clean)
	os.MkdirAll(filepath.Join(out, ids[2]), 0o700)
	os.WriteFile(filepath.Join(out, ids[2], "report.json"), b, 0o600)
	record(t, st, ids[2], state.StatusProcessed, nil)

	f := StateFiles{State: st, OutDir: out}
	l, err := f.ListFiles(ctx, ListQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if l.Total != 6 || len(l.Files) != 6 || l.Files[0].ID != ids[5] || l.Files[5].ID != ids[0] {
		t.Fatalf("list: total %d, order %v", l.Total, l.Files)
	}
	if l.Counts[StageProcessed] != 2 || l.Counts[StageWaiting] != 1 || l.Counts[StageArrived] != 3 {
		t.Fatalf("counts %v", l.Counts)
	}
	byID := map[string]FileSummary{}
	for _, s := range l.Files {
		byID[s.ID] = s
	}
	if s := byID[ids[0]]; s.Status != report.StatusRejectedRows || s.Rows != rows.Stats.Rows || s.Sender != "avsender@example.no" || s.Source != "mailbox" {
		t.Errorf("processed file: %+v", s)
	}
	if s := byID[ids[2]]; s.Status != report.StatusAccepted || s.Rows != 12 {
		t.Errorf("file with its report in OUT: %+v", s)
	}
	w, _ := f.ListFiles(ctx, ListQuery{Stage: StageWaiting, Limit: 50})
	if w.Total != 1 || w.Files[0].ID != ids[1] || w.Files[0].Status != report.StatusWaitingPassword {
		t.Errorf("waiting filter: %+v", w)
	}
	d, err := f.FileDetail(ctx, ids[0])
	if err != nil || d.Report == nil || len(d.Report.Findings) == 0 || len(d.Arrivals) != 1 {
		t.Fatalf("detail: %v %+v", err, d)
	}
	wd, _ := f.FileDetail(ctx, ids[1])
	if wd.Stage != StageWaiting || wd.LastError != "file.wrong_password" || wd.Report != nil {
		t.Errorf("waiting detail: %+v", wd)
	}
	if _, err := f.FileDetail(ctx, "ffffffffffffffff"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown file: %v", err)
	}
	tot, _ := f.Totals(ctx)
	if tot.ByStage[StageArrived] != 3 || tot.Rows != rows.Stats.Rows {
		t.Errorf("totals %+v", tot)
	}
	// Through the pages.
	e := newEnv(t, nil, func(c *Config) { c.Files = f })
	c := e.start(t)
	page := c.mustLogin()
	if !strings.Contains(page.body, ids[5]) || !strings.Contains(page.body, "mottatt, ikke behandlet") {
		t.Errorf("list page over a folder state")
	}
	if fp := c.get("/files/" + ids[0]); !strings.Contains(fp.body, "id.checksum") {
		t.Errorf("file page over a folder state")
	}
}

func TestPollTracker(t *testing.T) {
	st, _ := folderState(t, 1, 1)
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.EnqueueReceipts(ctx, []state.Receipt{{ID: "r1", Kind: "waiting", To: "a@example.no", Status: state.ReceiptQueued,
		NextAttempt: now, Created: now}, {ID: "r2", Kind: "processed", To: "a@example.no", Status: state.ReceiptQueued, NextAttempt: now, Created: now}}); err != nil {
		t.Fatal(err)
	}
	p := &PollTracker{Outbox: st}
	if n, err := p.ReceiptsWaiting(ctx); err != nil || n != 2 {
		t.Fatalf("receipts waiting %d %v", n, err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	p.Polled(at)
	p.Polled(at.Add(-time.Hour)) // an older pass does not move it back
	if !p.LastSuccessfulPoll().Equal(at) {
		t.Fatalf("last poll %v", p.LastSuccessfulPoll())
	}
	e := newEnv(t, fixtureFiles(t), func(c *Config) { c.Poll = p })
	if m := e.start(t).get("/metrics"); !strings.Contains(m.body, "sysvak_receipts_waiting 2") ||
		!strings.Contains(m.body, "sysvak_last_successful_poll_timestamp_seconds 1.795428e+09") {
		t.Errorf("metrics:\n%s", m.body)
	}
}
