package mailbox

import (
	"context"
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/fhi/sysvak-import/internal/state"
)

// Run polls until ctx is cancelled: a pass (PollOnce), then onPass (the pipeline: process new
// files and dropped passwords), then wait -- with IDLE where the server has it, woken at once by
// new mail (EXISTS) -- at most Interval before the next pass. After an IMAP or network error it
// reconnects with exponential backoff (BackoffMin doubling up to BackoffMax). It returns nil when
// ctx is cancelled (after the current message), and the error when the state folder fails
// (ErrState), the OAuth token endpoint refuses the client (an error with Permanent() true,
// SPEC 11) or onPass fails. With SASL (OAuth) it logs in again with a new token before the
// session's token expires.
func (p *Poller) Run(ctx context.Context, onPass func(context.Context, Result) error) error {
	backoff := p.cfg.BackoffMin
	for {
		res, err := p.PollOnce(ctx)
		if ctx.Err() != nil {
			// Stopped after the current message. Files it spooled have status new: the next
			// start's pipeline takes every new entry, not only a pass's Result.Spooled.
			return nil
		}
		if err != nil {
			if (errors.Is(err, ErrState) && !errors.Is(err, state.ErrUnavailable)) || errors.Is(err, ErrConfig) || permanent(err) {
				return err
			}
			p.log.Warn().Err(redactErr(err)).Dur("retry_in", backoff).Msg("poll failed; will reconnect")
			p.disconnect()
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, p.cfg.BackoffMax)
			continue
		}
		backoff = p.cfg.BackoffMin
		if onPass != nil {
			if err := onPass(ctx, res); errors.Is(err, state.ErrUnavailable) {
				// A shared state (database) is away: what was taken is recorded; try again.
				p.log.Warn().Err(redactErr(err)).Dur("retry_in", backoff).Msg("state unavailable; will retry")
				if !sleep(ctx, backoff) {
					return nil
				}
				backoff = min(backoff*2, p.cfg.BackoffMax)
				continue
			} else if err != nil {
				return err
			}
		}
		if err := p.wait(ctx); err != nil {
			p.log.Warn().Err(redactErr(err)).Msg("waiting for new mail failed; reconnecting")
			p.disconnect()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wait blocks until new mail (IDLE), Interval, or ctx. Without IDLE it just sleeps.
func (p *Poller) wait(ctx context.Context) error {
	d := p.cfg.Interval
	if left := p.untilTokenExpiry(); left > 0 {
		d = min(d, left) // wake shortly before the token expires, to log in again with a new one
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	if p.c == nil || !p.c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		return nil
	}
	// Drain a stale signal from the pass itself.
	select {
	case <-p.wake:
	default:
	}
	idle, err := p.c.Idle()
	if err != nil {
		return err
	}
	closed := p.c.Closed()
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-p.wake:
		p.log.Debug().Msg("new mail (IDLE)")
	case <-closed:
		return errors.New("connection closed during IDLE")
	}
	if err := idle.Close(); err != nil {
		return err
	}
	return idle.Wait()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// redactErr is the error as logged. IMAP errors never carry the password (LOGIN is not echoed),
// and the MIME and spool errors carry no file names, so the error is logged as is; the function
// is the one place to change that.
func redactErr(err error) error { return err }
