package folder

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"
)

func fromMessage(m state.Message) spool.MessageRecord {
	r := spool.MessageRecord{
		Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID, MessageID: m.MessageID, Recorded: m.Recorded,
		Folder: m.Folder, FileIDs: m.FileIDs, Resent: m.Resent, Moved: m.Moved,
		Received: m.Received, From: m.From, ReplyTo: m.ReplyTo, ReturnPath: m.ReturnPath,
		AutoSubmitted: m.AutoSubmitted, Precedence: m.Precedence,
	}
	for _, x := range m.Rejected {
		r.Skipped = append(r.Skipped, spool.Skip(x))
	}
	return r
}

func toMessage(r spool.MessageRecord) state.Message {
	m := state.Message{
		Mailbox: r.Mailbox, UIDValidity: r.UIDValidity, UID: r.UID, MessageID: r.MessageID, Recorded: r.Recorded,
		Folder: r.Folder, FileIDs: r.FileIDs, Resent: r.Resent, Moved: r.Moved,
		Received: r.Received, From: r.From, ReplyTo: r.ReplyTo, ReturnPath: r.ReturnPath,
		AutoSubmitted: r.AutoSubmitted, Precedence: r.Precedence,
	}
	for _, x := range r.Skipped {
		m.Rejected = append(m.Rejected, state.Rejection(x))
	}
	return m
}

// RecordMessage implements state.Messages: the message and its receipts in one transaction.
func (s *Store) RecordMessage(ctx context.Context, msg *state.Message) error {
	r := fromMessage(*msg)
	if err := s.sp.RecordMessageWith(ctx, &r, s.enqueueWith(msg.Receipts)); err != nil {
		return err
	}
	msg.Recorded = r.Recorded
	return nil
}

// Message implements state.Messages.
func (s *Store) Message(ctx context.Context, k state.MessageKey) (state.Message, error) {
	if err := ctx.Err(); err != nil {
		return state.Message{}, err
	}
	r, ok, err := s.sp.Message(k.Mailbox, k.UIDValidity, k.UID)
	if err != nil {
		return state.Message{}, err
	}
	if !ok {
		return state.Message{}, fmt.Errorf("message %s/%d/%d: %w", k.Mailbox, k.UIDValidity, k.UID, state.ErrNotFound)
	}
	return toMessage(r), nil
}

// MessagesByID implements state.Messages.
func (s *Store) MessagesByID(ctx context.Context, messageID string) ([]state.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rs, err := s.sp.SeenMessageID(messageID)
	if err != nil {
		return nil, err
	}
	out := make([]state.Message, 0, len(rs))
	for _, r := range rs {
		out = append(out, toMessage(r))
	}
	return out, nil
}

// MarkMoved implements state.Messages.
func (s *Store) MarkMoved(ctx context.Context, mailbox string, uidValidity uint32, uids ...uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.sp.MarkMoved(mailbox, uidValidity, uids...)
}

// PendingMoves implements state.Messages.
func (s *Store) PendingMoves(ctx context.Context, mailbox string, uidValidity uint32) ([]state.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rs, err := s.sp.PendingMoves(mailbox, uidValidity)
	if err != nil {
		return nil, err
	}
	out := make([]state.Message, 0, len(rs))
	for _, r := range rs {
		out = append(out, toMessage(r))
	}
	return out, nil
}

// MailboxState implements state.Messages.
func (s *Store) MailboxState(ctx context.Context, mailbox string) (state.MailboxState, error) {
	if err := ctx.Err(); err != nil {
		return state.MailboxState{}, err
	}
	st, err := s.sp.MailboxState(mailbox)
	return state.MailboxState(st), err
}

// SetMailboxState implements state.Messages.
func (s *Store) SetMailboxState(ctx context.Context, mailbox string, st state.MailboxState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.sp.SetMailboxState(mailbox, spool.MailboxState(st))
}

// ClaimMessage implements state.Messages. A folder state has one process, so message claims live
// in memory.
func (s *Store) ClaimMessage(ctx context.Context, k state.MessageKey, owner string, lease time.Duration) (state.Claim, error) {
	if err := ctx.Err(); err != nil {
		return state.Claim{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.msgClaims[k]; ok && c.Held(now) {
		return state.Claim{}, fmt.Errorf("message %d: %w", k.UID, state.ErrClaimed)
	}
	s.msgTokens++
	c := state.Claim{Kind: "message", Key: msgClaimKey(k), Owner: owner, Token: s.msgTokens, Expires: now.Add(lease)}
	s.msgClaims[k] = c
	return c, nil
}

func msgClaimKey(k state.MessageKey) string {
	return fmt.Sprintf("%s\x00%d\x00%d", k.Mailbox, k.UIDValidity, k.UID)
}

func (s *Store) findMessageClaim(c state.Claim) (state.MessageKey, bool) {
	for k, held := range s.msgClaims {
		if held.Key == c.Key && held.Token == c.Token && held.Owner == c.Owner {
			return k, true
		}
	}
	return state.MessageKey{}, false
}

func (s *Store) renewMessageClaim(c state.Claim, until time.Time) (state.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.findMessageClaim(c)
	if !ok {
		return c, fmt.Errorf("message claim: %w", state.ErrLostClaim)
	}
	c.Expires = until
	s.msgClaims[k] = c
	return c, nil
}

func (s *Store) releaseMessageClaim(c state.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.findMessageClaim(c)
	if !ok {
		return fmt.Errorf("message claim: %w", state.ErrLostClaim)
	}
	delete(s.msgClaims, k)
	return nil
}

// enqueueWith queues rs in the caller's transaction (nil: nothing to queue).
func (s *Store) enqueueWith(rs []state.Receipt) func(*bolt.Tx) error {
	if len(rs) == 0 {
		return nil
	}
	return func(tx *bolt.Tx) error { return s.enqueueTx(tx, rs) }
}
