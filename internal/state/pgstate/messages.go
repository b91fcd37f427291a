package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
)

// recordMessage stores (or replaces) a message, raises the mailbox's last UID and queues the
// message's receipts (SPEC 10), in the caller's transaction.
func (s *Store) recordMessage(ctx context.Context, tx pgx.Tx, msg *state.Message, now time.Time) error {
	if msg.Recorded.IsZero() {
		msg.Recorded = now.UTC()
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("pgstate: encode message: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO messages (mailbox, uidvalidity, uid, message_id, moved, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET message_id = excluded.message_id,
			moved = messages.moved OR excluded.moved, data = excluded.data`,
		msg.Mailbox, int64(msg.UIDValidity), int64(msg.UID), msg.MessageID, msg.Moved, data)
	if err != nil {
		return fmt.Errorf("pgstate: record message: %w", err)
	}
	// The last UID only grows (several pollers may finish out of order); a new UIDVALIDITY
	// starts again.
	_, err = tx.Exec(ctx, `INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
		ON CONFLICT (mailbox) DO UPDATE SET last_uid = CASE WHEN mailboxes.uidvalidity = excluded.uidvalidity
			THEN greatest(mailboxes.last_uid, excluded.last_uid) ELSE excluded.last_uid END, uidvalidity = excluded.uidvalidity`,
		msg.Mailbox, int64(msg.UIDValidity), int64(msg.UID))
	if err != nil {
		return fmt.Errorf("pgstate: mailbox state: %w", err)
	}
	return enqueue(ctx, tx, msg.Receipts, now)
}

// RecordMessage implements state.Messages.
func (s *Store) RecordMessage(ctx context.Context, msg *state.Message) error {
	now := s.now()
	return s.tx(ctx, func(tx pgx.Tx) error { return s.recordMessage(ctx, tx, msg, now) })
}

func (s *Store) queryMessages(ctx context.Context, where string, args ...any) ([]state.Message, error) {
	rows, err := s.pool.Query(ctx, "SELECT data, moved FROM messages WHERE "+where+" ORDER BY mailbox, uidvalidity, uid", args...)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read messages: %w", err))
	}
	defer rows.Close()
	var out []state.Message
	for rows.Next() {
		var data []byte
		var m state.Message
		if err := rows.Scan(&data, &m.Moved); err != nil {
			return nil, classify(fmt.Errorf("pgstate: read messages: %w", err))
		}
		moved := m.Moved
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("pgstate: decode message: %w", err)
		}
		m.Moved = moved
		out = append(out, m)
	}
	return out, classify(rows.Err())
}

// Message implements state.Messages.
func (s *Store) Message(ctx context.Context, k state.MessageKey) (state.Message, error) {
	ms, err := s.queryMessages(ctx, "mailbox = $1 AND uidvalidity = $2 AND uid = $3", k.Mailbox, int64(k.UIDValidity), int64(k.UID))
	if err != nil {
		return state.Message{}, err
	}
	if len(ms) == 0 {
		return state.Message{}, notFound("message")
	}
	return ms[0], nil
}

// MessagesByID implements state.Messages.
func (s *Store) MessagesByID(ctx context.Context, messageID string) ([]state.Message, error) {
	if messageID == "" {
		return nil, nil
	}
	return s.queryMessages(ctx, "message_id = $1", messageID)
}

// MarkMoved implements state.Messages.
func (s *Store) MarkMoved(ctx context.Context, mailbox string, uidValidity uint32, uids ...uint32) error {
	u := make([]int64, len(uids))
	for i := range uids {
		u[i] = int64(uids[i])
	}
	_, err := s.pool.Exec(ctx, "UPDATE messages SET moved = true WHERE mailbox = $1 AND uidvalidity = $2 AND uid = ANY($3)",
		mailbox, int64(uidValidity), u)
	return classify(err)
}

// PendingMoves implements state.Messages.
func (s *Store) PendingMoves(ctx context.Context, mailbox string, uidValidity uint32) ([]state.Message, error) {
	return s.queryMessages(ctx, "mailbox = $1 AND uidvalidity = $2 AND NOT moved", mailbox, int64(uidValidity))
}

// MailboxState implements state.Messages.
func (s *Store) MailboxState(ctx context.Context, mailbox string) (state.MailboxState, error) {
	var uv, last int64
	err := s.pool.QueryRow(ctx, "SELECT uidvalidity, last_uid FROM mailboxes WHERE mailbox = $1", mailbox).Scan(&uv, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.MailboxState{}, nil
	}
	if err != nil {
		return state.MailboxState{}, classify(fmt.Errorf("pgstate: mailbox state: %w", err))
	}
	return state.MailboxState{UIDValidity: uint32(uv), LastUID: uint32(last)}, nil
}

// SetMailboxState implements state.Messages.
func (s *Store) SetMailboxState(ctx context.Context, mailbox string, st state.MailboxState) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO mailboxes (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
		ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid`,
		mailbox, int64(st.UIDValidity), int64(st.LastUID))
	return classify(err)
}

// messageKeyString is the Key of a message claim: UIDVALIDITY, UID and mailbox name.
func messageKeyString(k state.MessageKey) string {
	return fmt.Sprintf("%d/%d/%s", k.UIDValidity, k.UID, k.Mailbox)
}

func parseMessageKey(s string) (state.MessageKey, error) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 {
		return state.MessageKey{}, fmt.Errorf("pgstate: malformed message claim key")
	}
	uv, err1 := strconv.ParseUint(parts[0], 10, 32)
	uid, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		return state.MessageKey{}, fmt.Errorf("pgstate: malformed message claim key")
	}
	return state.MessageKey{Mailbox: parts[2], UIDValidity: uint32(uv), UID: uint32(uid)}, nil
}

// ClaimMessage implements state.Messages: one row per message in message_claims, taken when free
// or expired, in one statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE: the row lock makes two
// pollers' claims of one message serialise, and the loser's WHERE is false).
func (s *Store) ClaimMessage(ctx context.Context, k state.MessageKey, owner string, lease time.Duration) (state.Claim, error) {
	now := s.now()
	until := now.Add(lease).UTC()
	var token int64
	err := s.pool.QueryRow(ctx, `INSERT INTO message_claims AS m (mailbox, uidvalidity, uid, claimed_by, claim_token, lease_until)
		VALUES ($1, $2, $3, $4, 1, $5)
		ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET claimed_by = excluded.claimed_by,
			claim_token = m.claim_token + 1, lease_until = excluded.lease_until
		WHERE m.claimed_by = '' OR m.lease_until IS NULL OR m.lease_until <= $6
		RETURNING claim_token`, k.Mailbox, int64(k.UIDValidity), int64(k.UID), owner, until, now).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Claim{}, fmt.Errorf("message: %w", state.ErrClaimed)
	}
	if err != nil {
		return state.Claim{}, classify(fmt.Errorf("pgstate: claim message: %w", err))
	}
	return state.Claim{Kind: "message", Key: messageKeyString(k), Owner: owner, Token: token, Expires: until}, nil
}
