package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// SASLAuth logs the poller in with a SASL mechanism instead of LOGIN: SPEC 11's xoauth2 and
// oauthbearer, with an OAuth 2.0 access token (internal/mailauth.Authenticator implements it).
type SASLAuth interface {
	// SASLClient returns a client holding a current credential, and when that credential
	// expires (zero: not known). fresh means the server refused the last one: get a new one.
	SASLClient(ctx context.Context, fresh bool) (sasl.Client, time.Time, error)
}

// errAuthRefused marks a login the server refused (as opposed to a network failure).
var errAuthRefused = errors.New("mailbox: login refused")

// login authenticates a new connection: LOGIN with the password, or SASL. With SASL it records
// the credential's expiry, so that the poller logs in again with a new token before the server
// drops a session whose token has expired (Exchange Online does).
func (p *Poller) login(ctx context.Context, c *imapclient.Client, fresh bool) error {
	if p.cfg.SASL == nil {
		pw := p.cfg.Password.Bytes()
		if err := c.Login(p.cfg.User, string(pw)).Wait(); err != nil {
			return fmt.Errorf("%w: login failed: %w", ErrIMAP, err)
		}
		return nil
	}
	sc, expiry, err := p.cfg.SASL.SASLClient(ctx, fresh)
	if err != nil {
		// The token endpoint or the token file failed; its error names the cause, never a secret.
		return fmt.Errorf("%w: OAuth access token: %w", ErrIMAP, err)
	}
	mech, _, _ := sc.Start() // the name only; Authenticate starts the exchange itself
	if err := c.Authenticate(sc); err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) {
			return fmt.Errorf("%w: authenticate %s: %w", ErrIMAP, mech, err)
		}
		msg := fmt.Sprintf("the server refused the %s login", mech)
		if r, ok := sc.(interface{ Refusal() error }); ok && r.Refusal() != nil {
			msg += fmt.Sprintf(" (%v)", r.Refusal())
		}
		return fmt.Errorf("%w: %w: %s: %w", ErrIMAP, errAuthRefused, msg, err)
	}
	p.authExpiry = expiry
	return nil
}

// tokenExpired reports whether the session's credential has expired (or will within the
// margin), so that the connection should be replaced by one logged in with a new token.
func (p *Poller) tokenExpired(margin time.Duration) bool {
	return !p.authExpiry.IsZero() && !time.Now().Add(margin).Before(p.authExpiry)
}

// untilTokenExpiry is how long the current session's token still lives (0: not known).
func (p *Poller) untilTokenExpiry() time.Duration {
	if p.c == nil || p.authExpiry.IsZero() {
		return 0
	}
	return max(time.Until(p.authExpiry), time.Millisecond)
}

// permanent reports an error that retrying cannot cure without the operator (the token
// endpoint refused the client: wrong secret, no consent). Run stops on it (SPEC 11: exit 4).
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
