package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/statedump"
)

// ForEachLedgerKey calls fn for every ledger key, in key order (for `state export`).
func (s *Store) ForEachLedgerKey(ctx context.Context, fn func(state.LedgerKey, state.LedgerEntry) error) error {
	rows, err := s.pool.Query(ctx, "SELECT key, file_id, row_no, deleted FROM ledger_keys ORDER BY key")
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k []byte
		var e state.LedgerEntry
		if err := rows.Scan(&k, &e.FileID, &e.Row, &e.Deleted); err != nil {
			return classify(err)
		}
		if err := fn(state.LedgerKey(k), e); err != nil {
			return err
		}
	}
	return classify(rows.Err())
}

// ForEachRecord calls fn for every record, by file and row (for `state export` and `state check`).
func (s *Store) ForEachRecord(ctx context.Context, fn func(fileID string, row int, record []byte) error) error {
	rows, err := s.pool.Query(ctx, "SELECT file_id, row_no, record::text FROM records ORDER BY file_id, row_no")
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, rec string
		var row int
		if err := rows.Scan(&id, &row, &rec); err != nil {
			return classify(err)
		}
		if err := fn(id, row, []byte(rec)); err != nil {
			return err
		}
	}
	return classify(rows.Err())
}

// AllMessages returns every recorded message (for `state export`).
func (s *Store) AllMessages(ctx context.Context) ([]state.Message, error) {
	return s.queryMessages(ctx, "true")
}

// ErrNotEmpty is returned by Import when the database already holds files or ledger keys.
var ErrNotEmpty = errors.New("pgstate: the PostgreSQL state is not empty; import into a new database")

// Import loads a dump (statedump.Export of a folder state) into this state, which must be empty,
// in one transaction: all of it or nothing. Claims are not carried over: a file that was being
// processed goes back to the status it had before.
func (s *Store) Import(ctx context.Context, r io.Reader) (statedump.Stats, error) {
	var stats statedump.Stats
	err := s.tx(ctx, func(tx pgx.Tx) error {
		stats = statedump.Stats{}
		var n int
		if err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM ledger_keys)").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrNotEmpty
		}
		im := &importer{tx: tx, s: s, stats: &stats}
		if err := statedump.Read(r, func(it statedump.Item) error { return im.item(ctx, it) }); err != nil {
			return err
		}
		return im.flush(ctx)
	})
	if err == nil {
		s.cache.mu.Lock()
		s.cache.entries, s.cache.lastSeq = nil, 0
		copy(s.mac, s.importedMAC)
		s.cache.mu.Unlock()
	}
	return stats, err
}

type importer struct {
	tx    pgx.Tx
	s     *Store
	stats *statedump.Stats
	keys  [][]any
	recs  [][]any
}

func (im *importer) item(ctx context.Context, it statedump.Item) error {
	tx, now := im.tx, im.s.now()
	switch it.Kind {
	case "header":
		im.s.importedMAC = it.LedgerSecret
		_, err := tx.Exec(ctx, "UPDATE state_meta SET ledger_mac = $1", it.LedgerSecret)
		return err
	case "ledger":
		if len(it.Key) != state.LedgerKeySize || it.Entry == nil {
			return errors.New("pgstate: malformed ledger item")
		}
		im.keys = append(im.keys, []any{it.Key, it.Entry.FileID, int32(it.Entry.Row), it.Entry.Deleted})
		im.stats.LedgerKeys++
	case "file":
		if it.File == nil {
			return errors.New("pgstate: malformed file item")
		}
		im.stats.Files++
		return importFile(ctx, tx, *it.File, it.Data, it.Report)
	case "record":
		im.recs = append(im.recs, []any{it.FileID, int32(it.Row), string(it.Record)})
		im.stats.Records++
	case "message":
		im.stats.Messages++
		return im.s.recordMessage(ctx, tx, it.Message, now)
	case "mailbox":
		_, err := tx.Exec(ctx, `INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
			ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid`,
			it.Mailbox, int64(it.MboxSt.UIDValidity), int64(it.MboxSt.LastUID))
		return err
	case "receipt":
		im.stats.Receipts++
		return importReceipt(ctx, tx, *it.Receipt)
	case "operator":
		im.stats.Operators++
		data, err := json.Marshal(it.Operator)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO operators (name, data) VALUES ($1, $2)", it.Operator.Name, data)
		return err
	case "audit":
		im.stats.Audit++
		e := it.Audit
		_, err := tx.Exec(ctx, "INSERT INTO audit (at, actor, action, file_id, remote, detail) VALUES ($1, $2, $3, $4, $5, $6)",
			e.Time.UTC(), e.Actor, e.Action, e.FileID, e.Remote, e.Detail)
		return err
	default:
		return fmt.Errorf("pgstate: unknown dump item %q", it.Kind)
	}
	return nil
}

func (im *importer) flush(ctx context.Context) error {
	if _, err := im.tx.CopyFrom(ctx, pgx.Identifier{"ledger_keys"}, []string{"key", "file_id", "row_no", "deleted"}, pgx.CopyFromRows(im.keys)); err != nil {
		return fmt.Errorf("pgstate: import ledger: %w", err)
	}
	if _, err := im.tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"file_id", "row_no", "record"}, pgx.CopyFromRows(im.recs)); err != nil {
		return fmt.Errorf("pgstate: import records: %w", err)
	}
	return nil
}

func importFile(ctx context.Context, tx pgx.Tx, f state.File, data []byte, report json.RawMessage) error {
	status := f.Status
	if status == state.StatusProcessing {
		status = f.Claim.From
		if status == "" {
			status = state.StatusArrived
		}
	}
	src, _ := json.Marshal(f.Source)
	arr, _ := json.Marshal(f.Arrivals)
	if f.Arrivals == nil {
		arr = []byte("[]")
	}
	sum, _ := json.Marshal(f.Summary)
	_, err := tx.Exec(ctx, `INSERT INTO files (file_id, sha256, file_name, size, kind, spooled, received, source, arrivals, status,
		last_error, summary, reported, written, updated, claim_token)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		f.ID, f.SHA256, f.Name, f.Size, f.Kind, f.Spooled && data != nil, f.Received, src, arr, string(status),
		f.LastError, sum, f.Reported, f.Written, f.Updated, f.Claim.Token)
	if err != nil {
		return fmt.Errorf("pgstate: import file %s: %w", f.ID, err)
	}
	if data != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO spool (file_id, data) VALUES ($1, $2)", f.ID, data); err != nil {
			return fmt.Errorf("pgstate: import spool %s: %w", f.ID, err)
		}
	}
	if report != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO file_reports (file_id, status, report, updated) VALUES ($1, $2, $3, $4)",
			f.ID, f.Summary.ReportStatus, []byte(report), f.Updated); err != nil {
			return fmt.Errorf("pgstate: import report %s: %w", f.ID, err)
		}
	}
	return nil
}

func importReceipt(ctx context.Context, tx pgx.Tx, r state.Receipt) error {
	status := r.Status
	if status == state.ReceiptSending {
		status = state.ReceiptQueued
	}
	_, err := tx.Exec(ctx, `INSERT INTO outbox (id, file_id, kind, recipient, in_reply_to, payload, status, attempts, next_attempt,
		last_error, created, updated, claim_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.FileID, r.Kind, r.To, r.InReplyTo, r.Payload, string(status), r.Attempts, r.NextAttempt, r.LastError,
		r.Created, r.Updated, r.Claim.Token)
	return err
}
