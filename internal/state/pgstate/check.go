package pgstate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/state"
)

// Problem is one inconsistency `state check` found. It names files, rows and counts, never an
// ID number.
type Problem struct {
	Code   string `json:"code"`
	FileID string `json:"file_id,omitempty"`
	Row    int    `json:"row,omitempty"`
	Detail string `json:"detail"`
}

// Check verifies the state (SPEC 8): the ledger against the records (every ledger key is the key
// of its file's record at that row, and every record's key is in the ledger), the spool against
// the files and messages (every spooled file has its bytes, with the right SHA-256; every file a
// message names exists), and files against reports (a processed file has its report).
func (s *Store) Check(ctx context.Context) ([]Problem, error) {
	var out []Problem
	for _, f := range []func(context.Context) ([]Problem, error){s.checkLedger, s.checkSpool, s.checkMessages} {
		ps, err := f(ctx)
		if err != nil {
			return out, classify(err)
		}
		out = append(out, ps...)
	}
	return out, nil
}

type fileRow struct {
	file string
	row  int32
}

func (s *Store) checkLedger(ctx context.Context) ([]Problem, error) {
	var out []Problem
	owned := map[fileRow]ledger.Key{}
	inLedger := map[ledger.Key]bool{}
	err := s.ForEachLedgerKey(ctx, func(k state.LedgerKey, e state.LedgerEntry) error {
		owned[fileRow{e.FileID, int32(e.Row)}] = ledger.Key(k)
		inLedger[ledger.Key(k)] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	h := ledger.NewHasher(s.mac)
	rows, err := s.pool.Query(ctx, `SELECT file_id, row_no, record->>'person_id', coalesce(record->>'vaccination_date', ''),
		coalesce(record->>'sysvak_code', '') FROM records ORDER BY file_id, row_no`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[fileRow]bool{}
	for rows.Next() {
		var fr fileRow
		var pid, date, code string
		if err := rows.Scan(&fr.file, &fr.row, &pid, &date, &code); err != nil {
			return nil, err
		}
		seen[fr] = true
		k := h.Key(pid, []byte(date), code)
		if !inLedger[k] {
			out = append(out, Problem{Code: "record_not_in_ledger", FileID: fr.file, Row: int(fr.row), Detail: "the record's key is not in the ledger"})
		}
		if want, ok := owned[fr]; ok && want != k {
			out = append(out, Problem{Code: "ledger_record_mismatch", FileID: fr.file, Row: int(fr.row), Detail: "the ledger key of this row is not the record's key"})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for fr := range owned {
		if !seen[fr] {
			out = append(out, Problem{Code: "ledger_without_record", FileID: fr.file, Row: int(fr.row), Detail: "a ledger key has no record"})
		}
	}
	return out, nil
}

func (s *Store) checkSpool(ctx context.Context) ([]Problem, error) {
	var out []Problem
	rows, err := s.pool.Query(ctx, `SELECT f.file_id, f.spooled, f.status, sp.file_id IS NOT NULL,
			coalesce(encode(sha256(sp.data), 'hex') = f.sha256, false), r.file_id IS NOT NULL,
			(SELECT count(*) FROM records rc WHERE rc.file_id = f.file_id), coalesce((f.summary->>'registered')::int, 0)
		FROM files f LEFT JOIN spool sp USING (file_id) LEFT JOIN file_reports r USING (file_id) ORDER BY f.file_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		var spooled, hasData, shaOK, hasReport bool
		var nrec, registered int
		if err := rows.Scan(&id, &spooled, &status, &hasData, &shaOK, &hasReport, &nrec, &registered); err != nil {
			return nil, err
		}
		switch {
		case spooled && !hasData:
			out = append(out, Problem{Code: "spool_missing", FileID: id, Detail: "the file is marked spooled but its bytes are not in the spool"})
		case spooled && !shaOK:
			out = append(out, Problem{Code: "spool_sha256", FileID: id, Detail: "the spooled bytes do not match the file's SHA-256"})
		}
		if status == "processed" && !hasReport {
			out = append(out, Problem{Code: "report_missing", FileID: id, Detail: "a processed file has no report"})
		}
		if status == "processed" && nrec < registered {
			out = append(out, Problem{Code: "records_missing", FileID: id, Detail: fmt.Sprintf("%d records for %d registered rows", nrec, registered)})
		}
	}
	return out, rows.Err()
}

func (s *Store) checkMessages(ctx context.Context) ([]Problem, error) {
	var out []Problem
	msgs, err := s.AllMessages(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	rows, err := s.pool.Query(ctx, "SELECT file_id FROM files")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		known[id] = true
	}
	rows.Close()
	for _, m := range msgs {
		for _, id := range append(append([]string{}, m.FileIDs...), m.Resent...) {
			if !known[id] {
				b, _ := json.Marshal(map[string]any{"mailbox": m.Mailbox, "uidvalidity": m.UIDValidity, "uid": m.UID})
				out = append(out, Problem{Code: "message_file_missing", FileID: id, Detail: "a message names a file that is not in the state: " + string(b)})
			}
		}
	}
	return out, nil
}
