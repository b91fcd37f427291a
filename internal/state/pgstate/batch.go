package pgstate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fhi/sysvak-import/internal/state"
)

// errSlowPath: a batch that the set-based statements of recordBatch do not cover (a lost claim,
// a key that exists already or that two files of the batch touch, a deletion): it is recorded
// file by file instead, which finds and names the cause.
var errSlowPath = errors.New("pgstate: the batch takes the path of one file at a time")

// recordBatch records the outcomes of several files with one statement per kind of row
// (claims, ledger keys, records, reports, files) instead of one per file: a batch of 500 small
// files costs a handful of round trips, not thousands (issue 16: PostgreSQL at most 2x the
// folder state on 500 small files). Inside tx, under the ledger lock. errSlowPath when the batch
// needs recordTx's file-by-file path; tx is then as it was.
func recordBatch(ctx context.Context, tx pgx.Tx, outs []state.FileOutcome, recs [][]record, sums [][]byte, now time.Time) error {
	if err := checkClaims(ctx, tx, outs); err != nil {
		return err
	}
	keys, files, rows, err := batchKeys(outs)
	if err != nil {
		return err
	}
	sp, err := tx.Begin(ctx) // a savepoint: a key that exists rolls back to here
	if err != nil {
		return err
	}
	if err := copyBatch(ctx, sp, keys, files, rows, outs, recs); err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	if err := sp.Commit(ctx); err != nil {
		return err
	}
	return finishBatch(ctx, tx, outs, sums, now)
}

// checkClaims locks the batch's file rows and checks that each still carries its claim.
func checkClaims(ctx context.Context, tx pgx.Tx, outs []state.FileOutcome) error {
	ids := make([]string, len(outs))
	want := make(map[string]state.Claim, len(outs))
	for i, o := range outs {
		ids[i] = o.ID
		want[o.ID] = o.Claim
	}
	rows, err := tx.Query(ctx, `SELECT file_id, status, claimed_by, claim_token FROM files
		WHERE file_id = ANY($1) ORDER BY file_id FOR UPDATE`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	held := 0
	for rows.Next() {
		var id, status, owner string
		var token int64
		if err := rows.Scan(&id, &status, &owner, &token); err != nil {
			return err
		}
		c := want[id]
		if status != string(state.StatusProcessing) || owner != c.Owner || token != c.Token {
			return errSlowPath
		}
		held++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if held != len(outs) {
		return errSlowPath // a file gone, or twice in the batch
	}
	return nil
}

// batchKeys lists the batch's ledger registrations in key order; errSlowPath when a file
// deletes a key or two files touch one key (the upsert of the slow path decides those).
func batchKeys(outs []state.FileOutcome) (keys [][]byte, files []string, rows []int32, err error) {
	type reg struct {
		key  state.LedgerKey
		file string
		row  int32
	}
	var all []reg
	for _, o := range outs {
		for _, c := range o.Changes {
			if c.Delete {
				return nil, nil, nil, errSlowPath
			}
			all = append(all, reg{c.Key, o.ID, int32(c.Row)})
		}
	}
	slices.SortFunc(all, func(a, b reg) int { return bytes.Compare(a.key[:], b.key[:]) })
	for i := range all {
		if i > 0 && all[i].key == all[i-1].key {
			if all[i].file != all[i-1].file {
				return nil, nil, nil, errSlowPath
			}
			continue // one file naming a key twice: its first row, as applyChanges keeps
		}
		keys, files, rows = append(keys, all[i].key[:]), append(files, all[i].file), append(rows, all[i].row)
	}
	return keys, files, rows, nil
}

// copyBatch puts the batch's keys and records with one COPY each.
func copyBatch(ctx context.Context, tx pgx.Tx, keys [][]byte, files []string, rows []int32, outs []state.FileOutcome, recs [][]record) error {
	if len(keys) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"ledger_keys"}, []string{"key", "file_id", "row_no"},
			pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) { return []any{keys[i], files[i], rows[i]}, nil }))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: some key exists
			return errSlowPath
		}
		if err != nil {
			return fmt.Errorf("pgstate: ledger commit: %w", err)
		}
	}
	var replaced []string
	type line struct {
		file string
		rec  record
	}
	var lines []line
	for i, o := range outs {
		if o.RecordsPath == "" {
			continue
		}
		replaced = append(replaced, o.ID)
		for _, r := range recs[i] {
			lines = append(lines, line{o.ID, r})
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM records WHERE file_id = ANY($1)", replaced); err != nil {
		return fmt.Errorf("pgstate: replace records: %w", err)
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"file_id", "row_no", "record"},
		pgx.CopyFromSlice(len(lines), func(i int) ([]any, error) { return []any{lines[i].file, lines[i].rec.row, lines[i].rec.json}, nil }))
	if err != nil {
		return fmt.Errorf("pgstate: store records: %w", err)
	}
	return nil
}

// finishBatch stores the reports, queues the receipts and sets the files' outcomes.
func finishBatch(ctx context.Context, tx pgx.Tx, outs []state.FileOutcome, sums [][]byte, now time.Time) error {
	var repIDs, repStatus []string
	var reports [][]byte
	var receipts []state.Receipt
	ids, statuses, lastErrs, summaries := make([]string, len(outs)), make([]string, len(outs)), make([]string, len(outs)), make([]string, len(outs))
	reported := make([]int32, len(outs))
	for i, o := range outs {
		if o.Report != nil {
			repIDs, repStatus, reports = append(repIDs, o.ID), append(repStatus, o.Summary.ReportStatus), append(reports, o.Report)
		}
		receipts = append(receipts, o.Receipts...)
		ids[i], statuses[i], lastErrs[i], reported[i] = o.ID, string(o.Status), o.LastError, int32(o.Reported)
		summaries[i] = string(sums[i])
	}
	if len(repIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO file_reports (file_id, status, report, updated)
			SELECT f, s, r, $4 FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(f, s, r)
			ON CONFLICT (file_id) DO UPDATE SET status = excluded.status, report = excluded.report, updated = excluded.updated`,
			repIDs, repStatus, reports, now); err != nil {
			return fmt.Errorf("pgstate: store reports: %w", err)
		}
	}
	if err := enqueue(ctx, tx, receipts, now); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE files SET status = t.st, last_error = t.le, summary = t.su, reported = t.rp, written = false,
		claimed_by = '', claim_from = '', lease_until = NULL, updated = $6
		FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[]) AS t(id, st, le, su, rp) WHERE file_id = t.id`,
		ids, statuses, lastErrs, summaries, reported, now)
	return err
}
