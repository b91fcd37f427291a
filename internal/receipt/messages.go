package receipt

import (
	"context"
	"encoding/json"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/state"
)

// FileOutcomes is what ForResentFiles reads of the state (state.Files has it).
type FileOutcomes interface {
	File(ctx context.Context, id string) (state.File, error)
	Report(ctx context.Context, id string) ([]byte, error)
}

// ForResentFiles returns, for each file of in whose outcome the state holds already (processed,
// rejected, or waiting for its password), the receipt of that outcome to the sender of m, the
// message that carries the file again. A file not processed yet gets none here: the receipt of
// its outcome answers every message that carried it (ForOutcome).
func (b *Builder) ForResentFiles(ctx context.Context, st FileOutcomes, in []state.Incoming, m state.Message) []state.Receipt {
	if b.Mode == ModeOff || b.Mode == "" || m.Mailbox == "" {
		return nil
	}
	var rs []state.Receipt
	seen := map[string]bool{}
	for _, x := range in {
		id := state.FileIDOf(x.SHA256)
		if !state.ValidFileID(id) || seen[id] {
			continue
		}
		seen[id] = true
		f, err := st.File(ctx, id)
		if err != nil || (f.Status != state.StatusProcessed && f.Status != state.StatusRejected && f.Status != state.StatusWaiting) {
			continue
		}
		raw, err := st.Report(ctx, f.ID)
		if err != nil {
			continue
		}
		var rep report.Report
		if json.Unmarshal(raw, &rep) != nil {
			continue
		}
		rs = append(rs, b.ForResend(f, m, &rep)...)
	}
	return rs
}

// WithMessageReceipts returns st recording, with each message the mailbox hands it, the receipts
// that message gets (SPEC 10): a rejected message's (RecordMessage), and the outcome receipts of
// the files it carries again (AddFiles). They go into state.Message.Receipts, so that the state
// queues them in the transaction that records the message: a message is never recorded without
// its receipts, nor a receipt queued for a message that was not recorded. b's Messages is st.
func WithMessageReceipts(st state.Store, b *Builder) state.Store {
	bb := *b
	bb.Messages = st
	return &messageReceipts{Store: st, b: &bb}
}

type messageReceipts struct {
	state.Store
	b *Builder
}

// RecordMessage records a rejected message with its receipt.
func (s *messageReceipts) RecordMessage(ctx context.Context, msg *state.Message) error {
	msg.Receipts = s.b.ForRejectedMessage(*msg, nil)
	return s.Store.RecordMessage(ctx, msg)
}

// AddFiles records a message's files with the receipts of those it carries again.
func (s *messageReceipts) AddFiles(ctx context.Context, in []state.Incoming, arr state.Arrival, msg *state.Message) (state.AddResult, error) {
	if msg != nil {
		msg.Receipts = s.b.ForResentFiles(ctx, s.Store, in, *msg)
	}
	return s.Store.AddFiles(ctx, in, arr, msg)
}
