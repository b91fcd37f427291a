package main

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/receipt"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/mailbox"
)

// receiptPoll ties receipts into poll (SPEC 10). The folder state is opened by one user at a time
// in this process (mu): the mailbox pass, the intake pass and the receipt worker's short openings.
//   - a rejected message's receipt, and the receipt for a file a message carries again, are
//     recorded with the message, in the same transaction (receipt.WithMessageReceipts);
//   - a file's receipt is queued by the intake service with its outcome (newService);
//   - the worker sends after each pass (and on its own timer while poll runs), never holding up
//     processing.
type receiptPoll struct {
	rs       *receiptSetup // nil: receipts are off
	stateDir string
	pwDir    string // --password-dir (PostgreSQL state)
	once     bool
	mu       sync.Mutex
	log      zerolog.Logger
	wake     chan struct{}
}

// forPoll resolves the receipt flags for poll (usage errors: exit 3). The result is never nil;
// with receipts off it only opens the state.
func (o *receiptFlags) forPoll(ctx context.Context, e *env, oauth *oauthFlags, stateDir, pwDir string, once bool, log zerolog.Logger) (*receiptPoll, error) {
	rs, err := o.resolve(ctx, e, oauth, log)
	if err != nil {
		return nil, err
	}
	return &receiptPoll{rs: rs, stateDir: stateDir, pwDir: pwDir, once: once, log: log, wake: make(chan struct{}, 1)}, nil
}

// hold keeps the state this caller's until the returned function is called.
func (rp *receiptPoll) hold() func() {
	rp.mu.Lock()
	return rp.mu.Unlock
}

// service is the intake service over an open state, queueing receipts with outcomes.
func (rp *receiptPoll) service(st state.Store, s *setup, out string) *intake.Service {
	return newService(st, s, out, rp.rs.builderOf())
}

// start runs the worker while poll runs (not for --once); the returned function stops it.
func (rp *receiptPoll) start(ctx context.Context) func() {
	if rp.rs == nil || rp.once {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rp.worker().Run(ctx, rp.wake)
	}()
	return func() {
		cancel()
		<-done
	}
}

// sendNow sends what is due once (poll --once, after its pass). A failure leaves the receipts
// queued for the next run; it never changes poll's exit code.
func (rp *receiptPoll) sendNow(ctx context.Context) {
	if rp.rs == nil || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	w := rp.worker()
	var total receipt.PassResult
	for {
		res, err := w.SendDue(ctx)
		total.Sent, total.Retry, total.GaveUp = total.Sent+res.Sent, total.Retry+res.Retry, total.GaveUp+res.GaveUp
		if err != nil {
			rp.log.Warn().Err(err).Msg("receipts: the outbox could not be read or updated; they are sent on the next run")
			return
		}
		if res.Unreachable || res.Sent+res.Retry+res.GaveUp == 0 {
			break
		}
	}
	if total.Sent+total.Retry+total.GaveUp > 0 {
		rp.log.Info().Int("sent", total.Sent).Int("retry", total.Retry).Int("gave_up", total.GaveUp).Msg("receipts")
	}
}

// openMailboxStore is mailbox.Config.Open with receipts; the state stays this process's until
// the store is closed.
func (rp *receiptPoll) openMailboxStore(ctx context.Context) (mailbox.Store, error) {
	rp.mu.Lock()
	st, err := openState(ctx, rp.stateDir, rp.pwDir, 10*time.Second)
	if err != nil {
		rp.mu.Unlock()
		return nil, err
	}
	return withMessageReceipts(&heldStore{Store: st, release: rp.mu.Unlock}, rp.rs.builderOf()), nil
}

// heldStore is an open state that releases the process's hold on it when closed.
type heldStore struct {
	state.Store
	release func()
	once    sync.Once
}

func (s *heldStore) Close() error {
	err := s.Store.Close()
	s.once.Do(s.release)
	return err
}

// worker is the outbox worker over short openings of the state.
func (rp *receiptPoll) worker() *receipt.Worker {
	open := func(ctx context.Context) (state.Outbox, func() error, error) {
		st, err := openState(ctx, rp.stateDir, rp.pwDir, 10*time.Second)
		if err != nil {
			return nil, nil, err
		}
		return st, st.Close, nil
	}
	return rp.rs.worker(open, &rp.mu, "poll", rp.log)
}

// signal wakes the worker after a pass.
func (rp *receiptPoll) signal() {
	select {
	case rp.wake <- struct{}{}:
	default:
	}
}
