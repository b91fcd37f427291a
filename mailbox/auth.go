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

// login authenticates a new connection: LOGIN with the password, or SASL. With SASL it notes when
// to log in again, shortly before the credential expires, so that the poller replaces the session
// with one on a new token before the server drops it (Exchange Online ends such sessions).
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
	p.reloginAt = time.Time{}
	if !expiry.IsZero() {
		p.reloginAt = expiry.Add(-reloginMargin(time.Until(expiry)))
	}
	return nil
}

// reloginMargin is how long before its token expires a session is replaced: an eighth of the
// token's remaining life at login, at most 30 s. It is below the token cache's own margin (a
// quarter of the lifetime, at most 5 min), so the new login always gets a new token.
func reloginMargin(left time.Duration) time.Duration {
	return max(min(left/8, 30*time.Second), 0)
}

// tokenExpired reports whether the session's credential is about to expire, so that the
// connection should be replaced by one logged in with a new token.
func (p *Poller) tokenExpired() bool {
	return !p.reloginAt.IsZero() && !time.Now().Before(p.reloginAt)
}

// untilTokenExpiry is how long until the session should log in again (0: not known).
func (p *Poller) untilTokenExpiry() time.Duration {
	if p.c == nil || p.reloginAt.IsZero() {
		return 0
	}
	return max(time.Until(p.reloginAt), time.Millisecond)
}

// permanent reports an error that retrying cannot cure without the operator (the token
// endpoint refused the client: wrong secret, no consent). Run stops on it (SPEC 11: exit 4).
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}
