package receipt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Item is one queued receipt as the outbox holds it: the rendered message (sent byte for byte as
// queued) and its delivery state.
type Item struct {
	ID          string // the receipt's Message-ID: the outbox key
	Kind        Kind
	FileID      string
	From, To    string
	Data        []byte
	Queued      time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

// ItemOf makes the outbox item of a rendered receipt, due at once.
func ItemOf(m Message, now time.Time) Item {
	return Item{ID: m.ID, Kind: m.Kind, FileID: m.FileID, From: m.From, To: m.To, Data: m.Data, Queued: now, NextAttempt: now}
}

// Outbox is what the worker needs from the state's receipts outbox. Queueing is the state's own
// business (in the same step that records an outcome); the worker only sends what is due.
type Outbox interface {
	// Due returns up to limit queued items whose NextAttempt is at or before now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Item, error)
	// MarkSent records that the item was accepted by the server; it is never sent again.
	MarkSent(ctx context.Context, id string, at time.Time) error
	// MarkRetry records a failed attempt and when to try next.
	MarkRetry(ctx context.Context, id string, attempts int, next time.Time, lastErr string) error
	// GiveUp records that the item will not be sent (a 5xx answer, or too old), with the reason.
	GiveUp(ctx context.Context, id string, at time.Time, reason string) error
}

// Submitter sends one message (Sender does it over SMTP).
type Submitter interface {
	Send(ctx context.Context, from, to string, data []byte) error
}

// Worker sends due receipts: at most once each after a recorded success, retried with exponential
// backoff while the server is unreachable or answers 4xx, given up after a 5xx answer or when
// the receipt is older than GiveUpAfter.
type Worker struct {
	Outbox Outbox
	Sender Submitter
	// BackoffMin and BackoffMax bound the delay between attempts (default 30 s and 1 h): the n-th
	// failed attempt waits BackoffMin * 2^(n-1), at most BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// GiveUpAfter is how long a receipt may wait before it is given up (default 72 h).
	GiveUpAfter time.Duration
	// Interval is how often Run looks for due items when nothing wakes it (default 30 s).
	Interval time.Duration
	Batch    int              // items per pass (default 50)
	Now      func() time.Time // default time.Now
	Log      zerolog.Logger
}

// PassResult counts one pass.
type PassResult struct {
	Sent, Retry, GaveUp int
	// Unreachable is set when the pass stopped early because the server could not be reached.
	Unreachable bool
}

func (w *Worker) defaults() {
	if w.BackoffMin <= 0 {
		w.BackoffMin = 30 * time.Second
	}
	if w.BackoffMax <= 0 {
		w.BackoffMax = time.Hour
	}
	if w.GiveUpAfter <= 0 {
		w.GiveUpAfter = 72 * time.Hour
	}
	if w.Interval <= 0 {
		w.Interval = 30 * time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 50
	}
	if w.Now == nil {
		w.Now = time.Now
	}
}

// Backoff is the delay after the n-th failed attempt (n >= 1).
func (w *Worker) Backoff(n int) time.Duration {
	w.defaults()
	d := w.BackoffMin
	for i := 1; i < n && d < w.BackoffMax; i++ {
		d *= 2
	}
	return min(d, w.BackoffMax)
}

// SendDue sends every item that is due now. An error is the outbox's (the state); SMTP failures
// are recorded on the items. When the server cannot be reached the pass stops early: the other
// items stay due and are tried on the next pass.
func (w *Worker) SendDue(ctx context.Context) (res PassResult, err error) {
	w.defaults()
	if f, ok := w.Outbox.(interface{ Flush(context.Context) error }); ok {
		defer func() {
			if ferr := f.Flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
				err = fmt.Errorf("receipt: outbox: %w", ferr)
			}
		}()
	}
	return w.sendDue(ctx)
}

func (w *Worker) sendDue(ctx context.Context) (PassResult, error) {
	var res PassResult
	items, err := w.Outbox.Due(ctx, w.Now(), w.Batch)
	if err != nil {
		return res, fmt.Errorf("receipt: outbox: %w", err)
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			w.release(ctx, items[i:])
			return res, err
		}
		log := w.Log.With().Str("receipt", it.ID).Str("file_id", it.FileID).Str("kind", string(it.Kind)).Logger()
		now := w.Now()
		if now.Sub(it.Queued) > w.GiveUpAfter {
			reason := fmt.Sprintf("not delivered within %s (last error: %s)", w.GiveUpAfter, it.LastError)
			if err := w.Outbox.GiveUp(ctx, it.ID, now, reason); err != nil {
				return res, fmt.Errorf("receipt: outbox: %w", err)
			}
			res.GaveUp++
			log.Warn().Int("attempts", it.Attempts).Msg("receipt given up: too old")
			continue
		}
		sendErr := w.Sender.Send(ctx, it.From, it.To, it.Data)
		now = w.Now()
		switch {
		case sendErr == nil:
			if err := w.Outbox.MarkSent(ctx, it.ID, now); err != nil {
				return res, fmt.Errorf("receipt: outbox: %w", err)
			}
			res.Sent++
			log.Info().Int("attempts", it.Attempts+1).Msg("receipt sent")
		case errors.Is(sendErr, ErrPermanent):
			if err := w.Outbox.GiveUp(ctx, it.ID, now, sendErr.Error()); err != nil {
				return res, fmt.Errorf("receipt: outbox: %w", err)
			}
			res.GaveUp++
			log.Warn().Err(sendErr).Msg("receipt given up: the server refused it")
		default:
			n := it.Attempts + 1
			next := now.Add(w.Backoff(n))
			if err := w.Outbox.MarkRetry(ctx, it.ID, n, next, sendErr.Error()); err != nil {
				return res, fmt.Errorf("receipt: outbox: %w", err)
			}
			res.Retry++
			log.Info().Err(sendErr).Int("attempts", n).Time("next", next).Msg("receipt not sent yet; will retry")
			if !isAnswer(sendErr) {
				res.Unreachable = true
				w.release(ctx, items[i+1:])
				return res, nil
			}
		}
	}
	return res, nil
}

// Releaser is implemented by an outbox whose Due claims items: Release gives back an item that
// was not tried (the pass stopped early), so that it is due again at once.
type Releaser interface {
	Release(ctx context.Context, id string) error
}

// release gives back the items a pass did not try.
func (w *Worker) release(ctx context.Context, items []Item) {
	r, ok := w.Outbox.(Releaser)
	if !ok {
		return
	}
	for _, it := range items {
		if err := r.Release(context.WithoutCancel(ctx), it.ID); err != nil {
			w.Log.Warn().Err(err).Str("receipt", it.ID).Msg("receipt claim not released; it is taken again when the claim expires")
		}
	}
}

// isAnswer reports whether err is an answer of the server (so the server is reachable).
func isAnswer(err error) bool {
	var se *ServerError
	return errors.As(err, &se)
}

// Run sends due receipts until ctx ends: at once, then every Interval, and whenever wake
// receives (the intake signals a newly queued receipt). Outbox errors are logged and retried on
// the next pass; processing never waits for it.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}) error {
	w.defaults()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-wake:
		}
		res, err := w.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error().Err(err).Msg("receipts: outbox pass failed")
		}
		next := w.Interval
		if res.Unreachable {
			next = min(w.Interval, w.BackoffMin)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}
