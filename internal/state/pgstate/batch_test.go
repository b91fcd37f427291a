package pgstate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
)

// A batch of files with new keys takes the set-based path (recordBatch), and what it stores
// equals what the file-by-file path stores for the same outcomes: ledger keys, records, reports,
// statuses and summaries.
func TestRecordBatchSameAsOneByOne(t *testing.T) {
	ctx := context.Background()
	stored := map[string]string{}
	for _, path := range []string{"batch", "one by one"} {
		s := openTest(t, pg.Database(t))
		var outs []state.FileOutcome
		for i := 1; i <= 3; i++ {
			id, c := addAndClaim(t, s, i, "w")
			recs := filepath.Join(t.TempDir(), "records.jsonl")
			var lines string
			var changes []state.LedgerChange
			for r := 0; r < 4*i; r++ {
				lines += fmt.Sprintf(`{"file_id":%q,"row":%d,"person_id":"0101%07d"}`+"\n", id, r+2, 100*i+r)
				changes = append(changes, state.LedgerChange{Key: lkey(100*i + r), Row: r + 2})
			}
			if err := os.WriteFile(recs, []byte(lines), 0o600); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, state.FileOutcome{ID: id, Outcome: state.Outcome{Claim: c, Status: state.StatusProcessed,
				RecordsPath: recs, Report: []byte(fmt.Sprintf(`{"status":"accepted","n":%d}`, i)), Changes: changes,
				Summary: state.Summary{ReportStatus: "accepted", Rows: 4 * i, Registered: 4 * i}}})
		}
		if path == "batch" {
			recs, sums := make([][]record, len(outs)), make([][]byte, len(outs))
			for i, o := range outs {
				recs[i], _ = readRecords(o.RecordsPath)
				sums[i], _ = json.Marshal(o.Summary)
			}
			err := pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error { return recordBatch(ctx, tx, outs, recs, sums, time.Now()) })
			if err != nil {
				t.Fatalf("recordBatch: %v (the set-based path must take a batch of new keys)", err)
			}
		} else {
			for _, o := range outs {
				if err := s.RecordOutcome(ctx, o.ID, o.Outcome); err != nil {
					t.Fatal(err)
				}
			}
		}
		var dump string
		err := s.Pool().QueryRow(ctx, `SELECT
			(SELECT string_agg(encode(key, 'hex') || file_id || row_no || deleted, ',' ORDER BY key) FROM ledger_keys) || '|' ||
			(SELECT string_agg(file_id || row_no || record::text, ',' ORDER BY file_id, row_no) FROM records) || '|' ||
			(SELECT string_agg(file_id || status || encode(report, 'escape'), ',' ORDER BY file_id) FROM file_reports) || '|' ||
			(SELECT string_agg(file_id || status || summary::text || claimed_by || written, ',' ORDER BY file_id) FROM files)`).Scan(&dump)
		if err != nil {
			t.Fatal(err)
		}
		stored[path] = dump
	}
	if stored["batch"] != stored["one by one"] {
		t.Fatalf("the batch stored\n%s\none by one\n%s", stored["batch"], stored["one by one"])
	}
}
