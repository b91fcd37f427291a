package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Receipt is one queued receipt (SPEC 10). MessageID is stable, so that it is queued once.
type Receipt struct {
	ID          int64
	MessageID   string
	FileID      string
	Kind        string
	Payload     json.RawMessage
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Sent        bool
}

func queueReceipts(ctx context.Context, tx pgx.Tx, rs []Receipt) error {
	for _, r := range rs {
		if len(r.Payload) == 0 {
			r.Payload = json.RawMessage("{}")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (message_id, file_id, kind, payload) VALUES ($1, $2, $3, $4)
			ON CONFLICT (message_id) DO NOTHING`, r.MessageID, r.FileID, r.Kind, r.Payload); err != nil {
			return fmt.Errorf("pgstate: queue receipt: %w", err)
		}
	}
	return nil
}

// QueueReceipts queues receipts outside a file outcome (a rejected message).
func (s *Store) QueueReceipts(ctx context.Context, rs []Receipt) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return queueReceipts(ctx, tx, rs) })
}

// ClaimDueReceipt claims the next unsent receipt whose time has come (SKIP LOCKED, with a lease).
func (s *Store) ClaimDueReceipt(ctx context.Context) (Receipt, bool, error) {
	var r Receipt
	err := s.pool.QueryRow(ctx, `WITH c AS (
			SELECT id AS cid FROM outbox
			WHERE sent_at IS NULL AND next_attempt <= now() AND (claimed_by IS NULL OR lease_until < now())
			ORDER BY next_attempt, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE outbox SET claimed_by = $1, lease_until = now() + $2::interval, attempts = outbox.attempts + 1
		FROM c WHERE outbox.id = c.cid
		RETURNING id, message_id, file_id, kind, payload, attempts, next_attempt, last_error`, s.owner, s.lease).
		Scan(&r.ID, &r.MessageID, &r.FileID, &r.Kind, &r.Payload, &r.Attempts, &r.NextAttempt, &r.LastError)
	if errors.Is(err, pgx.ErrNoRows) {
		return Receipt{}, false, nil
	}
	if err != nil {
		return Receipt{}, false, classify(fmt.Errorf("pgstate: claim receipt: %w", err))
	}
	return r, true, nil
}

// ReceiptSent records that a receipt was sent; it is never sent again.
func (s *Store) ReceiptSent(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, "UPDATE outbox SET sent_at = now(), claimed_by = NULL, lease_until = NULL WHERE id = $1", id)
	return classify(err)
}

// ReceiptFailed schedules another attempt after backoff, with the error code (never a secret).
func (s *Store) ReceiptFailed(ctx context.Context, id int64, backoff time.Duration, code string) error {
	_, err := s.pool.Exec(ctx, `UPDATE outbox SET next_attempt = now() + $2::interval, last_error = $3,
		claimed_by = NULL, lease_until = NULL WHERE id = $1`, id, backoff, code)
	return classify(err)
}

// ListReceipts returns the outbox, oldest first (pending only when unsentOnly).
func (s *Store) ListReceipts(ctx context.Context, unsentOnly bool) ([]Receipt, error) {
	q := "SELECT id, message_id, file_id, kind, payload, attempts, next_attempt, last_error, sent_at IS NOT NULL FROM outbox"
	if unsentOnly {
		q += " WHERE sent_at IS NULL"
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY id")
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: list receipts: %w", err))
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		var r Receipt
		if err := rows.Scan(&r.ID, &r.MessageID, &r.FileID, &r.Kind, &r.Payload, &r.Attempts, &r.NextAttempt, &r.LastError, &r.Sent); err != nil {
			return nil, classify(fmt.Errorf("pgstate: list receipts: %w", err))
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}
