package mailauth

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-sasl"
)

// NewSASLClient returns the SASL client of an OAuth mechanism (MechXOAUTH2 or MechOAUTHBEARER)
// for user, with a current token from src. addr (host:port of the server, may be empty) fills
// OAUTHBEARER's host and port. It is what the IMAP poller and the receipt sender (go-smtp's
// Client.Auth) call; the token's expiry comes back so that a long-lived session can reconnect
// before the server drops it.
func NewSASLClient(ctx context.Context, mech Mechanism, user, addr string, src Source) (Client, time.Time, error) {
	if !mech.OAuth() {
		return nil, time.Time{}, fmt.Errorf("%w: %q does not take an OAuth token", ErrConfig, mech)
	}
	if src == nil {
		return nil, time.Time{}, fmt.Errorf("%w: no OAuth token source (--oauth-token-url or --oauth-token-file)", ErrConfig)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	if mech == MechXOAUTH2 {
		return NewXOAUTH2Client(user, tok.Value), tok.Expiry, nil
	}
	var opt OAuthBearerOptions
	if host, port, err := net.SplitHostPort(addr); err == nil {
		opt.Host = host
		opt.Port, _ = strconv.Atoi(port)
	}
	return NewOAuthBearerClient(user, tok.Value, opt), tok.Expiry, nil
}

// Authenticator logs one user in to one server with an OAuth mechanism. It is the value the
// mailbox poller takes as its SASL login (mailbox.Config.SASL).
type Authenticator struct {
	Mech   Mechanism
	User   string
	Addr   string // host:port of the server (OAUTHBEARER host and port)
	Source Source
}

// SASLClient returns a client with a current token and the token's expiry. fresh means the
// server refused the last token: the cached one is dropped and a new one is fetched.
func (a *Authenticator) SASLClient(ctx context.Context, fresh bool) (sasl.Client, time.Time, error) {
	if fresh && a.Source != nil {
		a.Source.Invalidate()
	}
	return NewSASLClient(ctx, a.Mech, a.User, a.Addr, a.Source)
}

// SASLFunc is SASLClient without the expiry, in the form of receipt.SASLFactory (the receipt
// sender's --smtp-auth): retry means the server refused the last token.
func (a *Authenticator) SASLFunc() func(ctx context.Context, retry bool) (sasl.Client, error) {
	return func(ctx context.Context, retry bool) (sasl.Client, error) {
		c, _, err := a.SASLClient(ctx, retry)
		return c, err
	}
}
