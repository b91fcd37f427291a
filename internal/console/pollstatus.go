package console

import (
	"context"
	"sync"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// PollTracker is the PollStatus of a console that polls itself (serve with --imap-addr): the
// poller calls Polled after each successful pass, and the receipts waiting are counted in the
// state's outbox (queued or being sent).
type PollTracker struct {
	Outbox state.Outbox
	mu     sync.Mutex
	last   time.Time
}

var _ PollStatus = (*PollTracker)(nil)

// Polled records a successful poll at t.
func (p *PollTracker) Polled(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.last) {
		p.last = t
	}
}

// LastSuccessfulPoll implements PollStatus.
func (p *PollTracker) LastSuccessfulPoll() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// ReceiptsWaiting implements PollStatus.
func (p *PollTracker) ReceiptsWaiting(ctx context.Context) (int, error) {
	if p.Outbox == nil {
		return 0, nil
	}
	rs, err := p.Outbox.ListReceipts(ctx, state.ReceiptQueued, state.ReceiptSending)
	return len(rs), err
}
