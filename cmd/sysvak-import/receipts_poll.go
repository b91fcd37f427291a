package main

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/receipt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/mailbox"
)

// receiptPoll ties receipts into poll (SPEC 10). The folder state is opened by one user at a time
// in this process (mu): the mailbox pass, the intake pass and the receipt worker's short openings.
//   - a rejected message's receipt, and the receipt for a file a message carries again, are
//     queued just before the message is recorded (their ids are stable: a repeat after a crash
//     queues nothing new);
//   - a file's receipt is queued by the intake service with its outcome (Config.Receipts);
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
	cfg := serviceConfig(s, out)
	if rp.rs != nil {
		b := rp.builderFor(st)
		cfg.ReceiptsWith = func(ctx context.Context, f state.File, rep *report.Report, passwords []secret.Secret) []state.Receipt {
			return b.ForOutcome(ctx, st, f, rep, passwords)
		}
	}
	return intake.New(st, cfg)
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

// builderFor is the receipt builder over an open state.
func (rp *receiptPoll) builderFor(st state.Store) *receipt.Builder {
	b := *rp.rs.builder
	b.Messages = st
	return &b
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
	if rp.rs == nil {
		return &heldStore{Store: st, release: rp.mu.Unlock}, nil
	}
	return &receiptingStore{heldStore: heldStore{Store: st, release: rp.mu.Unlock}, b: rp.builderFor(st)}, nil
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

// receiptingStore queues the receipts of what the mailbox records.
type receiptingStore struct {
	heldStore
	b *receipt.Builder
}

// RecordMessage queues the rejection receipt, then records the message.
func (s *receiptingStore) RecordMessage(ctx context.Context, msg *state.Message) error {
	if rs := s.b.ForRejectedMessage(*msg, nil); len(rs) > 0 {
		if err := s.EnqueueReceipts(ctx, rs); err != nil {
			return err
		}
	}
	return s.Store.RecordMessage(ctx, msg)
}

// AddFiles queues, for each file the message carries again, the receipt of that file's outcome
// to this message's sender; then records the files.
func (s *receiptingStore) AddFiles(ctx context.Context, in []state.Incoming, arr state.Arrival, msg *state.Message) (state.AddResult, error) {
	var rs []state.Receipt
	for _, x := range in {
		if len(x.SHA256) < 16 || msg == nil {
			continue
		}
		f, err := s.File(ctx, x.SHA256[:16])
		if err != nil || (f.Status != state.StatusProcessed && f.Status != state.StatusRejected && f.Status != state.StatusWaiting) {
			continue // new, or not processed yet: its outcome receipt answers its first message
		}
		raw, err := s.Report(ctx, f.ID)
		if err != nil {
			continue
		}
		var rep report.Report
		if json.Unmarshal(raw, &rep) != nil {
			continue
		}
		rs = append(rs, s.b.ForResend(f, *msg, &rep)...)
	}
	if len(rs) > 0 {
		if err := s.EnqueueReceipts(ctx, rs); err != nil {
			return state.AddResult{}, err
		}
	}
	return s.Store.AddFiles(ctx, in, arr, msg)
}
