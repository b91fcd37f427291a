package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Outcome is the result of processing one file, recorded in one transaction: the ledger changes,
// the records (one JSON object each, as in records.jsonl), the report (report.json and the text
// report), the file's new status, and the receipts to queue.
type Outcome struct {
	FileID     string
	Status     string
	Done       bool
	LastError  string
	Changes    []Change
	Records    []Record
	Report     json.RawMessage
	ReportText string
	Receipts   []Receipt
}

// Record is one registered row.
type Record struct {
	Row  int
	JSON []byte
}

// ConflictError is returned by Finish when some keys were registered by another file after this
// file looked them up: nothing was committed; the caller reports those rows as ledger duplicates
// and calls Finish again without them.
type ConflictError struct {
	Conflicts []Change
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("pgstate: %d keys were registered by another file meanwhile", len(e.Conflicts))
}

// Finish records a file's outcome in one transaction, while this process holds the file's claim
// (ErrLostClaim otherwise): the ledger changes, the file's records and report (replacing those of
// an earlier, interrupted attempt), its status (the claim is released) and its receipts.
func (s *Store) Finish(ctx context.Context, o Outcome) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lockOwnClaim(ctx, tx, o.FileID); err != nil {
			return err
		}
		conflicts, err := applyChanges(ctx, tx, o.FileID, o.Changes)
		if err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return &ConflictError{Conflicts: conflicts}
		}
		if err := writeRecords(ctx, tx, o.FileID, o.Records); err != nil {
			return err
		}
		if len(o.Report) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO file_reports (file_id, report, report_txt) VALUES ($1, $2, $3)
				ON CONFLICT (file_id) DO UPDATE SET report = excluded.report, report_txt = excluded.report_txt, updated = now()`,
				o.FileID, o.Report, o.ReportText); err != nil {
				return fmt.Errorf("pgstate: store report %s: %w", o.FileID, err)
			}
		}
		if err := queueReceipts(ctx, tx, o.Receipts); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE files SET status = $2, done = $3, last_error = $4, processed_at = now(), updated = now(),
			claimed_by = NULL, lease_until = NULL WHERE file_id = $1`, o.FileID, o.Status, o.Done, o.LastError)
		return err
	})
	var ce *ConflictError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrLostClaim) && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("pgstate: record outcome of %s: %w", o.FileID, err)
	}
	return err
}

// writeRecords replaces the file's records with COPY (fast for a 100k-row file).
func writeRecords(ctx context.Context, tx pgx.Tx, fileID string, recs []Record) error {
	if _, err := tx.Exec(ctx, "DELETE FROM records WHERE file_id = $1", fileID); err != nil {
		return fmt.Errorf("pgstate: replace records: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"file_id", "row_no", "record"},
		pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
			return []any{fileID, int32(recs[i].Row), string(recs[i].JSON)}, nil
		}))
	if err != nil {
		return fmt.Errorf("pgstate: store records: %w", err)
	}
	return nil
}

// Records returns a file's records in row order.
func (s *Store) Records(ctx context.Context, fileID string) ([]Record, error) {
	rows, err := s.pool.Query(ctx, "SELECT row_no, record::text FROM records WHERE file_id = $1 ORDER BY row_no", fileID)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read records: %w", err))
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var js string
		if err := rows.Scan(&r.Row, &js); err != nil {
			return nil, classify(fmt.Errorf("pgstate: read records: %w", err))
		}
		r.JSON = []byte(js)
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// Report returns a file's stored report (JSON) and its text form.
func (s *Store) Report(ctx context.Context, fileID string) (json.RawMessage, string, bool, error) {
	var rep json.RawMessage
	var txt string
	err := s.pool.QueryRow(ctx, "SELECT report, report_txt FROM file_reports WHERE file_id = $1", fileID).Scan(&rep, &txt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, classify(fmt.Errorf("pgstate: read report: %w", err))
	}
	return rep, txt, true, nil
}
