package pgstate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
)

const fileColumns = `file_id, sha256, file_name, size, kind, spooled, received, source, arrivals, status, last_error,
	summary, reported, written, updated, claimed_by, claim_token, claim_from, lease_until`

func scanFile(row pgx.Row) (state.File, error) {
	var f state.File
	var src, arr, sum []byte
	var status, from string
	var lease *time.Time
	err := row.Scan(&f.ID, &f.SHA256, &f.Name, &f.Size, &f.Kind, &f.Spooled, &f.Received, &src, &arr, &status,
		&f.LastError, &sum, &f.Reported, &f.Written, &f.Updated, &f.Claim.Owner, &f.Claim.Token, &from, &lease)
	if err != nil {
		return f, err
	}
	f.Status, f.Claim.From = state.FileStatus(status), state.FileStatus(from)
	f.Received, f.Updated = f.Received.UTC(), f.Updated.UTC()
	if f.Claim.Owner != "" {
		f.Claim.Kind, f.Claim.Key = "file", f.ID
		if lease != nil {
			f.Claim.Expires = lease.UTC()
		}
	}
	if err := json.Unmarshal(src, &f.Source); err != nil {
		return f, fmt.Errorf("file %s source: %w", f.ID, err)
	}
	if err := json.Unmarshal(arr, &f.Arrivals); err != nil {
		return f, fmt.Errorf("file %s arrivals: %w", f.ID, err)
	}
	if err := json.Unmarshal(sum, &f.Summary); err != nil {
		return f, fmt.Errorf("file %s summary: %w", f.ID, err)
	}
	return f, nil
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, state.ErrNotFound) }

// File implements state.Files.
func (s *Store) File(ctx context.Context, id string) (state.File, error) {
	if !state.ValidFileID(id) {
		return state.File{}, state.ErrBadFileID
	}
	f, err := scanFile(s.pool.QueryRow(ctx, "SELECT "+fileColumns+" FROM files WHERE file_id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return state.File{}, notFound("file " + id)
	}
	if err != nil {
		return state.File{}, classify(fmt.Errorf("pgstate: read file %s: %w", id, err))
	}
	return f, nil
}

// ListFiles implements state.Files: newest first (first arrival, then id).
func (s *Store) ListFiles(ctx context.Context, q state.FileQuery) (state.FilePage, error) {
	page := state.FilePage{Counts: map[state.FileStatus]int{}}
	rows, err := s.pool.Query(ctx, "SELECT status, count(*) FROM files GROUP BY status")
	if err != nil {
		return page, classify(fmt.Errorf("pgstate: count files: %w", err))
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return page, classify(err)
		}
		page.Counts[state.FileStatus(st)] = n
	}
	rows.Close()
	statuses := make([]string, len(q.Status))
	for i, st := range q.Status {
		statuses[i] = string(st)
	}
	for _, st := range statuses {
		page.Total += page.Counts[state.FileStatus(st)]
	}
	if len(statuses) == 0 {
		for _, n := range page.Counts {
			page.Total += n
		}
	}
	limit := any(nil)
	if q.Limit > 0 {
		limit = q.Limit
	}
	rows, err = s.pool.Query(ctx, "SELECT "+fileColumns+` FROM files WHERE cardinality($1::text[]) = 0 OR status = ANY($1)
		ORDER BY received DESC, file_id DESC OFFSET $2 LIMIT $3`, statuses, max(q.Offset, 0), limit)
	if err != nil {
		return page, classify(fmt.Errorf("pgstate: list files: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return page, classify(fmt.Errorf("pgstate: list files: %w", err))
		}
		page.Files = append(page.Files, f)
	}
	return page, classify(rows.Err())
}

// ClaimFile implements state.Files. The row is locked (SELECT ... FOR UPDATE SKIP LOCKED: a row
// another worker is claiming right now counts as claimed) and the claim is taken when the file's
// status allows it or its previous claim has expired (its worker is presumed dead).
func (s *Store) ClaimFile(ctx context.Context, id, owner string, lease time.Duration, from ...state.FileStatus) (state.File, state.Claim, error) {
	if !state.ValidFileID(id) {
		return state.File{}, state.Claim{}, state.ErrBadFileID
	}
	now := s.now()
	var f state.File
	var c state.Claim
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		f, c, err = claimTx(ctx, tx, id, owner, lease, now, from)
		return err
	})
	if err != nil {
		return f, state.Claim{}, err
	}
	return f, c, nil
}

// ClaimFiles implements state.Files: one transaction; a file that cannot be claimed gets its
// error, the others are claimed.
func (s *Store) ClaimFiles(ctx context.Context, ids []string, owner string, lease time.Duration, from ...state.FileStatus) ([]state.ClaimResult, error) {
	now := s.now()
	var res []state.ClaimResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		res = make([]state.ClaimResult, len(ids))
		for i, id := range ids {
			if !state.ValidFileID(id) {
				res[i].Err = state.ErrBadFileID
				continue
			}
			f, c, err := claimTx(ctx, tx, id, owner, lease, now, from)
			if err != nil && !errors.Is(err, state.ErrClaimed) && !errors.Is(err, state.ErrWrongStatus) && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			res[i] = state.ClaimResult{File: f, Claim: c, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: claim files: %w", err))
	}
	return res, nil
}

// claimTx claims one file inside tx (ClaimFile, ClaimFiles).
func claimTx(ctx context.Context, tx pgx.Tx, id, owner string, lease time.Duration, now time.Time, from []state.FileStatus) (state.File, state.Claim, error) {
	if len(from) == 0 {
		from = []state.FileStatus{state.StatusArrived, state.StatusWaiting}
	}
	f, err := scanFile(tx.QueryRow(ctx, "SELECT "+fileColumns+" FROM files WHERE file_id = $1 FOR UPDATE SKIP LOCKED", id))
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM files WHERE file_id = $1)", id).Scan(&exists); err != nil {
			return f, state.Claim{}, err
		}
		if exists {
			return f, state.Claim{}, fmt.Errorf("file %s: %w", id, state.ErrClaimed)
		}
		return f, state.Claim{}, notFound("file " + id)
	}
	if err != nil {
		return f, state.Claim{}, err
	}
	prior := f.Status
	switch {
	case f.Status == state.StatusProcessing && f.Claim.Held(now):
		return f, state.Claim{}, fmt.Errorf("file %s: %w", id, state.ErrClaimed)
	case f.Status == state.StatusProcessing: // a dead claim: take it over
		prior = f.Claim.From
		if prior == "" {
			prior = state.StatusArrived
		}
	case !slices.Contains(from, prior):
		return f, state.Claim{}, fmt.Errorf("file %s is %s: %w", id, prior, state.ErrWrongStatus)
	}
	c := state.Claim{Kind: "file", Key: id, Owner: owner, Token: f.Claim.Token + 1, Expires: now.Add(lease).UTC(), From: prior}
	_, err = tx.Exec(ctx, `UPDATE files SET status = 'processing', claimed_by = $2, claim_token = $3, claim_from = $4,
		lease_until = $5, updated = $6 WHERE file_id = $1`, id, owner, c.Token, string(prior), c.Expires, now)
	f.Status, f.Claim, f.Updated = state.StatusProcessing, c, now.UTC()
	return f, c, err
}

// lockClaim locks a file's row inside tx and checks that it still carries claim c (expired or
// not: until another worker takes it over, an expired claim is still its owner's).
func lockClaim(ctx context.Context, tx pgx.Tx, c state.Claim) error {
	var status, owner string
	var token int64
	err := tx.QueryRow(ctx, "SELECT status, claimed_by, claim_token FROM files WHERE file_id = $1 FOR UPDATE", c.Key).Scan(&status, &owner, &token)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("file " + c.Key)
	}
	if err != nil {
		return err
	}
	if status != string(state.StatusProcessing) || owner != c.Owner || token != c.Token {
		return fmt.Errorf("file %s: %w", c.Key, state.ErrLostClaim)
	}
	return nil
}

// RecordOutcome implements state.Files: in one transaction, under the ledger lock, the ledger
// changes, the records (read from o.RecordsPath) and the report, the file's status and summary,
// and the receipts. Keys that another file registered meanwhile: nothing is recorded, the claim is
// released, and the error wraps state.ErrLostClaim and ErrLedgerConflict.
func (s *Store) RecordOutcome(ctx context.Context, id string, o state.Outcome) error {
	err := s.RecordOutcomes(ctx, []state.FileOutcome{{ID: id, Outcome: o}})
	var be *state.BatchError
	if !errors.As(err, &be) {
		return err
	}
	if errors.Is(be.Err, ErrLedgerConflict) {
		o.Claim.Key = id
		if rerr := s.ReleaseClaim(ctx, o.Claim); rerr != nil && !errors.Is(rerr, state.ErrLostClaim) {
			return rerr
		}
		return fmt.Errorf("file %s: %w: %w", id, state.ErrLostClaim, state.ErrLedgerConflict)
	}
	return be.Err
}

// RecordOutcomes implements state.Files: RecordOutcome's transaction for every file of the
// batch, in order, as one transaction. A lost claim or keys another process registered
// meanwhile roll all of it back (a *state.BatchError); the claims are kept.
func (s *Store) RecordOutcomes(ctx context.Context, outs []state.FileOutcome) error {
	recs := make([][]record, len(outs))
	sums := make([][]byte, len(outs))
	locked := false
	for i, o := range outs {
		switch o.Status {
		case state.StatusProcessed, state.StatusRejected, state.StatusWaiting:
		default:
			return fmt.Errorf("state: outcome status %q is not processed, rejected or waiting_password", o.Status)
		}
		if !state.ValidFileID(o.ID) {
			return state.ErrBadFileID
		}
		var err error
		if recs[i], err = readRecords(o.RecordsPath); err != nil {
			return err
		}
		if sums[i], err = json.Marshal(o.Summary); err != nil {
			return fmt.Errorf("pgstate: encode summary: %w", err)
		}
		locked = locked || len(o.Changes) > 0
	}
	now := s.now()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if locked {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ledgerLockKey); err != nil {
				return err
			}
		}
		if len(outs) > 1 {
			if err := recordBatch(ctx, tx, outs, recs, sums, now); !errors.Is(err, errSlowPath) {
				return err
			}
		}
		for i, o := range outs {
			if err := recordTx(ctx, tx, o, recs[i], sums[i], now); err != nil {
				if errors.Is(err, state.ErrLostClaim) || errors.Is(err, state.ErrNotFound) || errors.Is(err, ErrLedgerConflict) {
					return &state.BatchError{Index: i, ID: o.ID, Err: err}
				}
				return err
			}
		}
		return nil
	})
	var be *state.BatchError
	if err != nil && !errors.As(err, &be) {
		if len(outs) == 1 {
			return fmt.Errorf("pgstate: record outcome of %s: %w", outs[0].ID, err)
		}
		return fmt.Errorf("pgstate: record outcomes of %d files: %w", len(outs), err)
	}
	return err
}

// recordTx records one file's outcome inside tx (which holds the ledger lock when any file of
// the batch has ledger changes).
func recordTx(ctx context.Context, tx pgx.Tx, o state.FileOutcome, recs []record, summary []byte, now time.Time) error {
	id := o.ID
	o.Claim.Key = id
	if err := lockClaim(ctx, tx, o.Claim); err != nil {
		return err
	}
	n, err := applyChanges(ctx, tx, id, o.Changes)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("file %s: %w", id, ErrLedgerConflict)
	}
	if err := writeRecords(ctx, tx, id, recs, o.RecordsPath != ""); err != nil {
		return err
	}
	if o.Report != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO file_reports (file_id, status, report, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (file_id) DO UPDATE SET status = excluded.status, report = excluded.report, updated = excluded.updated`,
			id, o.Summary.ReportStatus, o.Report, now); err != nil {
			return fmt.Errorf("pgstate: store report: %w", err)
		}
	}
	if err := enqueue(ctx, tx, o.Receipts, now); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE files SET status = $2, last_error = $3, summary = $4, reported = $5, written = false,
		claimed_by = '', claim_from = '', lease_until = NULL, updated = $6 WHERE file_id = $1`,
		id, string(o.Status), o.LastError, summary, o.Reported, now)
	return err
}

type record struct {
	row  int32
	json string
}

// readRecords reads records.jsonl: one JSON object per line, each with its "row".
func readRecords(path string) ([]record, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pgstate: read records: %w", err)
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		row, ok := rowOf(line)
		if !ok {
			return nil, fmt.Errorf("pgstate: records line %d has no row", len(out)+1)
		}
		out = append(out, record{row: row, json: string(line)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pgstate: read records: %w", err)
	}
	return out, nil
}

// rowOf reads the "row" of a records.jsonl line. The importer writes it second, after file_id;
// other layouts go through encoding/json.
func rowOf(line []byte) (int32, bool) {
	if i := bytes.Index(line, []byte(`,"row":`)); i > 0 {
		n, digits := int32(0), 0
		for _, c := range line[i+7:] {
			if c < '0' || c > '9' {
				break
			}
			n, digits = n*10+int32(c-'0'), digits+1
		}
		if digits > 0 && digits < 10 {
			return n, true
		}
	}
	var head struct {
		Row *int32 `json:"row"`
	}
	if json.Unmarshal(line, &head) != nil || head.Row == nil {
		return 0, false
	}
	return *head.Row, true
}

// writeRecords replaces the file's records (COPY: fast for a 100k-row file). With replace false
// (the outcome came without a records file) the stored records are left as they are.
func writeRecords(ctx context.Context, tx pgx.Tx, id string, recs []record, replace bool) error {
	if !replace {
		return nil
	}
	if _, err := tx.Exec(ctx, "DELETE FROM records WHERE file_id = $1", id); err != nil {
		return fmt.Errorf("pgstate: replace records: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"file_id", "row_no", "record"},
		pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
			return []any{id, recs[i].row, recs[i].json}, nil
		}))
	if err != nil {
		return fmt.Errorf("pgstate: store records: %w", err)
	}
	return nil
}

// Report implements state.Files.
func (s *Store) Report(ctx context.Context, id string) ([]byte, error) {
	if !state.ValidFileID(id) {
		return nil, state.ErrBadFileID
	}
	var rep []byte
	err := s.pool.QueryRow(ctx, "SELECT report FROM file_reports WHERE file_id = $1", id).Scan(&rep)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("report of " + id)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read report: %w", err))
	}
	return rep, nil
}

// SetWritten implements state.Files.
func (s *Store) SetWritten(ctx context.Context, id string, written bool) error {
	if !state.ValidFileID(id) {
		return state.ErrBadFileID
	}
	tag, err := s.pool.Exec(ctx, "UPDATE files SET written = $2, updated = $3 WHERE file_id = $1", id, written, s.now())
	if err != nil {
		return classify(fmt.Errorf("pgstate: set written: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return notFound("file " + id)
	}
	return nil
}

// SetWrittenFiles implements state.Files: one statement.
func (s *Store) SetWrittenFiles(ctx context.Context, ids []string, written bool) error {
	for _, id := range ids {
		if !state.ValidFileID(id) {
			return state.ErrBadFileID
		}
	}
	tag, err := s.pool.Exec(ctx, "UPDATE files SET written = $2, updated = $3 WHERE file_id = ANY($1)", ids, written, s.now())
	if err != nil {
		return classify(fmt.Errorf("pgstate: set written: %w", err))
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(ids)))); int(tag.RowsAffected()) < n {
		return notFound(fmt.Sprintf("%d of %d files", n-int(tag.RowsAffected()), n))
	}
	return nil
}

// RenewClaim implements state.Claims.
func (s *Store) RenewClaim(ctx context.Context, c state.Claim, lease time.Duration) (state.Claim, error) {
	until := s.now().Add(lease).UTC()
	var q string
	var args []any
	switch c.Kind {
	case "file":
		q, args = `UPDATE files SET lease_until = $4 WHERE file_id = $1 AND status = 'processing' AND claimed_by = $2 AND claim_token = $3`,
			[]any{c.Key, c.Owner, c.Token, until}
	case "message":
		mk, err := parseMessageKey(c.Key)
		if err != nil {
			return c, err
		}
		q, args = `UPDATE message_claims SET lease_until = $6 WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3
			AND claimed_by = $4 AND claim_token = $5`, []any{mk.Mailbox, int64(mk.UIDValidity), int64(mk.UID), c.Owner, c.Token, until}
	case "receipt":
		q, args = `UPDATE outbox SET lease_until = $4 WHERE id = $1 AND status = 'sending' AND claimed_by = $2 AND claim_token = $3`,
			[]any{c.Key, c.Owner, c.Token, until}
	default:
		return c, fmt.Errorf("state: claim of unknown kind %q", c.Kind)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return c, classify(fmt.Errorf("pgstate: renew claim: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return c, fmt.Errorf("%s %s: %w", c.Kind, c.Key, state.ErrLostClaim)
	}
	c.Expires = until
	return c, nil
}

// ReleaseClaim implements state.Claims.
func (s *Store) ReleaseClaim(ctx context.Context, c state.Claim) error {
	now := s.now()
	var q string
	var args []any
	switch c.Kind {
	case "file":
		back := c.From
		if back == "" {
			back = state.StatusArrived
		}
		q, args = `UPDATE files SET status = $4, claimed_by = '', claim_from = '', lease_until = NULL, updated = $5
			WHERE file_id = $1 AND status = 'processing' AND claimed_by = $2 AND claim_token = $3`,
			[]any{c.Key, c.Owner, c.Token, string(back), now}
	case "message":
		mk, err := parseMessageKey(c.Key)
		if err != nil {
			return err
		}
		q, args = `UPDATE message_claims SET claimed_by = '', lease_until = NULL WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3
			AND claimed_by = $4 AND claim_token = $5`, []any{mk.Mailbox, int64(mk.UIDValidity), int64(mk.UID), c.Owner, c.Token}
	case "receipt":
		q, args = `UPDATE outbox SET status = 'queued', claimed_by = '', lease_until = NULL, updated = $4
			WHERE id = $1 AND status = 'sending' AND claimed_by = $2 AND claim_token = $3`, []any{c.Key, c.Owner, c.Token, now}
	default:
		return fmt.Errorf("state: claim of unknown kind %q", c.Kind)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return classify(fmt.Errorf("pgstate: release claim: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %s: %w", c.Kind, c.Key, state.ErrLostClaim)
	}
	return nil
}
