package pgstate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/statedump"
)

// fillFolder makes a folder state with a processed file (records in outDir, keys from them), a
// waiting file, messages, a receipt, an operator and an audit entry.
func fillFolder(t *testing.T, dir, outDir string) {
	t.Helper()
	ctx := context.Background()
	st, err := folder.Open(ctx, dir, folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for i, content := range []string{"workbook one", "workbook two"} {
		p := filepath.Join(st.TempDir(), fmt.Sprintf("in%d", i))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(content))
		msg := &state.Message{Mailbox: "INBOX", UIDValidity: 9, UID: uint32(i + 1), MessageID: fmt.Sprintf("<m%d@x>", i), Folder: "Processed"}
		res, err := st.AddFiles(ctx, []state.Incoming{{TempPath: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), FileName: "v.xlsx"}},
			state.Arrival{Mailbox: "INBOX", UIDValidity: 9, UID: uint32(i + 1), MessageID: msg.MessageID, Sender: "a@example.org"}, msg)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.New[0].ID)
	}
	mac, _ := st.LedgerSecret(ctx)
	h := ledger.NewHasher(mac)
	var lines bytes.Buffer
	var changes []state.LedgerChange
	for row := 2; row <= 4; row++ {
		pid := fmt.Sprintf("0101%07d", row)
		fmt.Fprintf(&lines, `{"file_id":%q,"row":%d,"person_id":%q,"vaccination_date":"2026-01-0%d","sysvak_code":"COV03","action":"register"}`+"\n", ids[0], row, pid, row)
		changes = append(changes, state.LedgerChange{Key: state.LedgerKey(h.Key(pid, []byte(fmt.Sprintf("2026-01-0%d", row)), "COV03")), Row: row})
	}
	recs := filepath.Join(outDir, ids[0], "records.jsonl")
	if err := os.MkdirAll(filepath.Dir(recs), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recs, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err := st.ClaimFile(ctx, ids[0], "w", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordOutcome(ctx, ids[0], state.Outcome{Claim: c, Status: state.StatusProcessed, Changes: changes,
		Summary: state.Summary{ReportStatus: "accepted", Rows: 3, Registered: 3}, Report: []byte(`{"status":"accepted"}`),
		Receipts: []state.Receipt{{ID: ids[0] + ".processed", FileID: ids[0], Kind: "processed", To: "a@example.org"}}}); err != nil {
		t.Fatal(err)
	}
	_, c, _ = st.ClaimFile(ctx, ids[1], "w", time.Minute)
	if err := st.RecordOutcome(ctx, ids[1], state.Outcome{Claim: c, Status: state.StatusWaiting, LastError: "file.password_needed"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddOperator(ctx, state.Operator{Name: "kari", Hash: "$argon2id$x"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendAudit(ctx, state.AuditEntry{Actor: "kari", Action: "login"}); err != nil {
		t.Fatal(err)
	}
}

// A folder state moves into PostgreSQL whole: export, import, and `state check` finds nothing;
// an import into a state that is not empty is refused; a removed record is found by the check.
func TestFolderStateMovesToPostgres(t *testing.T) {
	ctx := context.Background()
	dir, out := t.TempDir(), t.TempDir()
	fillFolder(t, dir, out)
	fst, err := folder.Open(ctx, dir, folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	exp, err := statedump.Export(ctx, fst, out, &dump)
	fst.Close()
	if err != nil {
		t.Fatal(err)
	}
	if exp.LedgerKeys != 3 || exp.Files != 2 || exp.Records != 3 || exp.Messages != 2 || exp.Receipts != 1 || exp.Operators != 1 || exp.Audit != 1 {
		t.Fatalf("export: %v", exp)
	}
	s := openTest(t, pg.Database(t))
	imp, err := s.Import(ctx, bytes.NewReader(dump.Bytes()))
	if err != nil || imp != exp {
		t.Fatalf("import: %v (%v)", imp, err)
	}
	if _, err := s.Import(ctx, bytes.NewReader(dump.Bytes())); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second import: %v", err)
	}
	// The folder state itself is consistent (records from its --out folder).
	fst, _ = folder.Open(ctx, dir, folder.Options{})
	probs, err := statedump.Check(ctx, fst, out)
	fst.Close()
	if err != nil || len(probs) != 0 {
		t.Fatalf("check of the folder state: %+v %v", probs, err)
	}
	probs, err = statedump.Check(ctx, s, "")
	if err != nil || len(probs) != 0 {
		t.Fatalf("check after import: %+v %v", probs, err)
	}
	// The imported state works: its ledger view knows the keys, the files keep their statuses.
	page, _ := s.ListFiles(ctx, state.FileQuery{})
	if page.Counts[state.StatusProcessed] != 1 || page.Counts[state.StatusWaiting] != 1 {
		t.Fatalf("imported files: %v", page.Counts)
	}
	live, _, _ := s.LedgerStats(ctx)
	if live != 3 {
		t.Fatalf("imported ledger: %d keys", live)
	}
	// And exporting it again gives the same counts.
	var again bytes.Buffer
	if st2, err := statedump.Export(ctx, s, "", &again); err != nil || st2 != exp {
		t.Fatalf("export from PostgreSQL: %v %v", st2, err)
	}
	if _, err := s.Pool().Exec(ctx, "DELETE FROM records WHERE row_no = 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "UPDATE spool SET data = 'tampered'"); err != nil {
		t.Fatal(err)
	}
	probs, _ = statedump.Check(ctx, s, "")
	codes := map[string]int{}
	for _, p := range probs {
		codes[p.Code]++
	}
	if codes["ledger_without_record"] != 1 || codes["spool_sha256"] != 2 || codes["records_missing"] != 1 {
		t.Fatalf("check after damage: %+v", probs)
	}
}
