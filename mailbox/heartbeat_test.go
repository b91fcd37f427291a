package mailbox

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// renewStore is the folder state with counted message-claim renewals; once lost is set, a
// renewal reports state.ErrLostClaim (another poller claimed the message after the lease ran out).
type renewStore struct {
	Store
	renews atomic.Int32
	lost   atomic.Bool
}

func (s *renewStore) RenewClaim(ctx context.Context, c state.Claim, lease time.Duration) (state.Claim, error) {
	s.renews.Add(1)
	if s.lost.Load() {
		return c, fmt.Errorf("message claim: %w", state.ErrLostClaim)
	}
	return s.Store.RenewClaim(ctx, c, lease)
}

func TestClaimHeartbeat(t *testing.T) {
	const lease = 200 * time.Millisecond
	setup := func(t *testing.T, hook func(rs *renewStore, pt string) error) (*env, *Poller, *renewStore, *atomic.Int32) {
		e := newEnv(t, newMemServer)
		e.append("INBOX", corpusCase("base64_xlsx").Msg.Bytes())
		rs := &renewStore{}
		p := e.poller(func(c *Config) {
			c.ClaimLease = lease
			c.Open = func(ctx context.Context) (Store, error) {
				st, err := folder.Open(ctx, e.state, folder.Options{})
				if err != nil {
					return nil, err
				}
				rs.Store = st
				return rs, nil
			}
		})
		var moved atomic.Int32
		p.hook = func(pt string, _ uint32) error {
			if pt == "moved" {
				moved.Add(1)
			}
			return hook(rs, pt)
		}
		return e, p, rs, &moved
	}

	t.Run("SlowTakeRenews", func(t *testing.T) {
		e, p, rs, moved := setup(t, func(_ *renewStore, pt string) error {
			if pt == "fetched" {
				time.Sleep(4 * lease) // a slow take: the lease would run out three times over
			}
			return nil
		})
		res := mustPoll(t, p)
		if n := rs.renews.Load(); n < 3 { // ≥3 heartbeat renewals plus the one before the move
			t.Errorf("claim renewed %d times during a take of 4 leases, want at least 3", n)
		}
		if res.Moved != 1 || moved.Load() != 1 || e.count("INBOX") != 0 {
			t.Errorf("moved %d (hook %d), INBOX has %d; want the message moved once", res.Moved, moved.Load(), e.count("INBOX"))
		}
	})

	t.Run("LostDuringTakeAbortsBeforeRecord", func(t *testing.T) {
		e, p, _, moved := setup(t, func(rs *renewStore, pt string) error {
			if pt == "fetched" {
				rs.lost.Store(true)
				time.Sleep(2 * lease) // the heartbeat sees the lost claim and cancels the take
			}
			return nil
		})
		res := mustPoll(t, p)
		if res.Moved != 0 || moved.Load() != 0 || e.count("INBOX") != 1 {
			t.Errorf("moved %d (hook %d), INBOX has %d; want the message left for the other poller", res.Moved, moved.Load(), e.count("INBOX"))
		}
		if res.Messages != 0 || len(e.entries()) != 0 {
			t.Errorf("messages %d, spooled %d; want nothing recorded under a lost claim", res.Messages, len(e.entries()))
		}
	})

	t.Run("LostBeforeMoveNoMove", func(t *testing.T) {
		e, p, _, moved := setup(t, func(rs *renewStore, pt string) error {
			if pt == "recorded" {
				rs.lost.Store(true) // no heartbeat tick before the move: the check before it sees it
			}
			return nil
		})
		res := mustPoll(t, p)
		if res.Moved != 0 || moved.Load() != 0 || e.count("INBOX") != 1 {
			t.Errorf("moved %d (hook %d), INBOX has %d; want no MOVE under a lost claim", res.Moved, moved.Load(), e.count("INBOX"))
		}
	})
}
