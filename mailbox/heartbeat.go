package mailbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/internal/state"
)

// heartbeat renews a message claim while the message is taken (every lease/3), so that a slow
// fetch, spool or move does not let the lease run out and a second poller take the message too.
// When a renewal reports state.ErrLostClaim it cancels ctx with that cause: the take stops before
// the MOVE and the poller that holds the claim now finishes the message.
type heartbeat struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	once   sync.Once
}

// startHeartbeat starts renewing claim; ctx of the result is ctx cancelled on a lost claim.
func startHeartbeat(ctx context.Context, st Store, claim state.Claim, lease time.Duration, log zerolog.Logger) *heartbeat {
	hctx, cancel := context.WithCancelCause(ctx)
	hb := &heartbeat{ctx: hctx, cancel: cancel, done: make(chan struct{})}
	every := lease / 3
	if every <= 0 {
		every = time.Millisecond
	}
	go func() {
		defer close(hb.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-hctx.Done():
				return
			case <-t.C:
			}
			_, err := st.RenewClaim(hctx, claim, lease)
			switch {
			case err == nil || hctx.Err() != nil:
			case errors.Is(err, state.ErrLostClaim):
				log.Warn().Err(err).Msg("message claim lost while the message was taken; another poller finishes it")
				cancel(fmt.Errorf("renew message claim: %w", err))
				return
			default: // transient: the check before the move renews once more
				log.Warn().Err(err).Msg("could not renew the message claim")
			}
		}
	}()
	return hb
}

// stop ends the renewals and waits for the renewing goroutine.
func (hb *heartbeat) stop() {
	hb.once.Do(func() {
		hb.cancel(context.Canceled)
		<-hb.done
	})
}

// lost reports whether the claim was lost (the take must not go on to the move).
func (hb *heartbeat) lost() bool {
	return errors.Is(context.Cause(hb.ctx), state.ErrLostClaim)
}

// hold is the check before the move: the claim must still be ours, renewed for a full lease so
// that no other poller can claim the message while it is moved.
func (hb *heartbeat) hold(st Store, claim state.Claim, lease time.Duration) error {
	if hb.lost() {
		return context.Cause(hb.ctx)
	}
	if _, err := st.RenewClaim(hb.ctx, claim, lease); err != nil {
		if errors.Is(err, state.ErrLostClaim) {
			hb.cancel(fmt.Errorf("renew message claim: %w", err))
			return context.Cause(hb.ctx)
		}
		if hb.lost() {
			return context.Cause(hb.ctx)
		}
		return fmt.Errorf("%w: renew message claim: %w", ErrState, err)
	}
	return nil
}
