package mailbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/mailbox/mime"
)

// Store is what the poller needs of the state (the consumer declares it, go-imap v2 style;
// internal/state.Store has these methods). The poller hands each message's attachments to
// AddFiles, or records a message without one with RecordMessage, before it moves the message.
type Store interface {
	// TempDir is where attachments are written before AddFiles takes them.
	TempDir() string
	// AddFiles records the message's files and the message, with msg.Receipts, in one step.
	AddFiles(ctx context.Context, in []state.Incoming, arr state.Arrival, msg *state.Message) (state.AddResult, error)
	// RecordMessage records a message without a usable attachment, with msg.Receipts, in one
	// step. The poller fills in no receipts itself: a Store that sends receipts (SPEC 10;
	// receipt.WithMessageReceipts) adds them before it records the message, so that a message
	// and its receipts are recorded together or not at all.
	RecordMessage(ctx context.Context, msg *state.Message) error
	Message(ctx context.Context, k state.MessageKey) (state.Message, error)
	MarkMoved(ctx context.Context, mailbox string, uidValidity uint32, uids ...uint32) error
	PendingMoves(ctx context.Context, mailbox string, uidValidity uint32) ([]state.Message, error)
	MailboxState(ctx context.Context, mailbox string) (state.MailboxState, error)
	SetMailboxState(ctx context.Context, mailbox string, st state.MailboxState) error
	ClaimMessage(ctx context.Context, k state.MessageKey, owner string, lease time.Duration) (state.Claim, error)
	// RenewClaim extends a message claim while the message is taken (state.ErrLostClaim when
	// another poller claimed the message after the lease ran out).
	RenewClaim(ctx context.Context, c state.Claim, lease time.Duration) (state.Claim, error)
	ReleaseClaim(ctx context.Context, c state.Claim) error
	Close() error
}

// Why a message (or a part of it) gave no file, in the mailbox's own terms. The intake service
// turns them into findings.
const (
	ReasonNoAttachment = "no_attachment"
	ReasonUnsupported  = string(mime.ReasonUnsupported)
	ReasonTooLarge     = string(mime.ReasonTooLarge)
	ReasonUnreadable   = string(mime.ReasonUnreadable)
	ReasonTooManyParts = string(mime.ReasonTooManyParts)
	ReasonTooDeep      = string(mime.ReasonTooDeep)
)

// cleanTemp removes left-over temporary files (from a crash) in dir. Only a poller holding the
// poll lock calls it: it would delete another poller's files in flight.
func cleanTemp(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean temp: %w", err)
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clean temp: %w", err)
		}
	}
	return nil
}
