package pgstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
)

const receiptColumns = `id, file_id, kind, recipient, in_reply_to, payload, status, attempts, next_attempt, last_error,
	created, updated, claimed_by, claim_token, lease_until`

func scanReceipt(row pgx.Row) (state.Receipt, error) {
	var r state.Receipt
	var status string
	var lease *time.Time
	err := row.Scan(&r.ID, &r.FileID, &r.Kind, &r.To, &r.InReplyTo, &r.Payload, &status, &r.Attempts, &r.NextAttempt,
		&r.LastError, &r.Created, &r.Updated, &r.Claim.Owner, &r.Claim.Token, &lease)
	r.Status = state.ReceiptStatus(status)
	r.NextAttempt, r.Created, r.Updated = r.NextAttempt.UTC(), r.Created.UTC(), r.Updated.UTC()
	if r.Claim.Owner != "" {
		r.Claim.Kind, r.Claim.Key = "receipt", r.ID
		if lease != nil {
			r.Claim.Expires = lease.UTC()
		}
	}
	return r, err
}

// enqueue queues receipts not already known by ID (inside tx).
func enqueue(ctx context.Context, tx pgx.Tx, rs []state.Receipt, now time.Time) error {
	for _, r := range rs {
		if r.ID == "" {
			return fmt.Errorf("state: a receipt needs an ID")
		}
		next := r.NextAttempt
		if next.IsZero() {
			next = now
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (id, file_id, kind, recipient, in_reply_to, payload, status, next_attempt, created, updated)
			VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $8) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.FileID, r.Kind, r.To, r.InReplyTo, r.Payload, next, now); err != nil {
			return fmt.Errorf("pgstate: queue receipt: %w", err)
		}
	}
	return nil
}

// EnqueueReceipts implements state.Outbox.
func (s *Store) EnqueueReceipts(ctx context.Context, rs []state.Receipt) error {
	now := s.now()
	return s.tx(ctx, func(tx pgx.Tx) error { return enqueue(ctx, tx, rs, now) })
}

// ClaimDueReceipts implements state.Outbox: FOR UPDATE SKIP LOCKED, so concurrent senders take
// different receipts.
func (s *Store) ClaimDueReceipts(ctx context.Context, owner string, limit int, lease time.Duration) ([]state.Receipt, error) {
	now := s.now()
	lim := any(nil)
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id AS due_id FROM outbox
			WHERE (status = 'queued' AND next_attempt <= $1) OR (status = 'sending' AND (lease_until IS NULL OR lease_until <= $1))
			ORDER BY created, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated = $1, claimed_by = $3,
			claim_token = claim_token + 1, lease_until = $4
		FROM due WHERE outbox.id = due.due_id
		RETURNING `+receiptColumns, now, lim, owner, now.Add(lease))
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: claim receipts: %w", err))
	}
	defer rows.Close()
	var out []state.Receipt
	for rows.Next() {
		r, err := scanReceipt(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("pgstate: claim receipts: %w", err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("pgstate: claim receipts: %w", err))
	}
	sortReceipts(out)
	return out, nil
}

func sortReceipts(rs []state.Receipt) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && (rs[j].Created.Before(rs[j-1].Created) || rs[j].Created.Equal(rs[j-1].Created) && rs[j].ID < rs[j-1].ID); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// finishReceipt changes a receipt still held under claim c.
func (s *Store) finishReceipt(ctx context.Context, c state.Claim, status state.ReceiptStatus, next *time.Time, lastError *string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET status = $4, next_attempt = coalesce($5, next_attempt),
		last_error = coalesce($6, last_error), updated = $7, claimed_by = '', lease_until = NULL
		WHERE id = $1 AND status = 'sending' AND claimed_by = $2 AND claim_token = $3`,
		c.Key, c.Owner, c.Token, string(status), next, lastError, s.now())
	if err != nil {
		return classify(fmt.Errorf("pgstate: update receipt: %w", err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("receipt %s: %w", c.Key, state.ErrLostClaim)
	}
	return nil
}

// MarkReceiptSent implements state.Outbox.
func (s *Store) MarkReceiptSent(ctx context.Context, c state.Claim) error {
	return s.finishReceipt(ctx, c, state.ReceiptSent, nil, nil)
}

// RetryReceipt implements state.Outbox.
func (s *Store) RetryReceipt(ctx context.Context, c state.Claim, next time.Time, lastError string) error {
	return s.finishReceipt(ctx, c, state.ReceiptQueued, &next, &lastError)
}

// GiveUpReceipt implements state.Outbox.
func (s *Store) GiveUpReceipt(ctx context.Context, c state.Claim, lastError string) error {
	return s.finishReceipt(ctx, c, state.ReceiptFailed, nil, &lastError)
}

// Receipt implements state.Outbox.
func (s *Store) Receipt(ctx context.Context, id string) (state.Receipt, error) {
	r, err := scanReceipt(s.pool.QueryRow(ctx, "SELECT "+receiptColumns+" FROM outbox WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Receipt{}, notFound("receipt " + id)
	}
	if err != nil {
		return state.Receipt{}, classify(fmt.Errorf("pgstate: read receipt: %w", err))
	}
	return r, nil
}

// ListReceipts implements state.Outbox.
func (s *Store) ListReceipts(ctx context.Context, status ...state.ReceiptStatus) ([]state.Receipt, error) {
	sts := make([]string, len(status))
	for i, st := range status {
		sts[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, "SELECT "+receiptColumns+` FROM outbox WHERE cardinality($1::text[]) = 0 OR status = ANY($1)
		ORDER BY created, id`, sts)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: list receipts: %w", err))
	}
	defer rows.Close()
	var out []state.Receipt
	for rows.Next() {
		r, err := scanReceipt(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("pgstate: list receipts: %w", err))
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}
