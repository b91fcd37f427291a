package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fhi/sysvak-import/internal/loopback"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/mailbox/mime"
)

// TLS modes (SPEC 6 --imap-tls).
const (
	TLSImplicit = "tls"      // IMAPS, port 993
	TLSStart    = "starttls" // port 143 + STARTTLS
	TLSInsecure = "insecure" // plain text: loopback addresses only
)

// Config configures a Poller. Zero fields take the SPEC 6 defaults.
type Config struct {
	Addr     string // host:port
	TLS      string // "tls" (default), "starttls" or "insecure"
	User     string
	Password secret.Secret
	// SASL, when set, logs in with SASL (OAuth 2.0, SPEC 11) instead of LOGIN with Password.
	SASL SASLAuth `json:"-"`
	// TLSConfig overrides the TLS settings (e.g. a private CA). Verification stays on unless
	// the caller turns it off.
	TLSConfig *tls.Config `json:"-"`

	Mailbox         string // default "INBOX"
	ProcessedFolder string // default "Processed"
	RejectedFolder  string // default "Rejected"
	Interval        time.Duration
	Limits          mime.Limits
	// Sniffer decides by content which parts are taken; default mime.MagicSniffer. The CLI should
	// pass the decrypt package's container sniffer.
	Sniffer mime.Sniffer `json:"-"`

	// Open opens the state for one pass (closed at its end, so that other commands can use a
	// folder state between passes).
	Open func(ctx context.Context) (Store, error) `json:"-"`
	// Lock, when set, takes the poll lock for the poller's lifetime (a folder state: one poller);
	// it returns the function that releases it. With a lock held, left-over temporary files
	// (from a crash) are removed at the start of each pass.
	Lock func() (unlock func() error, err error) `json:"-"`
	// Owner names this poller in message claims (default "mailbox").
	Owner string
	// Shared says that several pollers share the state (PostgreSQL): each pass looks at every
	// message still in the mailbox, not only those above the last UID taken.
	Shared bool
	// ClaimLease is how long a message claim lasts (default 1 minute: a killed poller's message
	// is taken over within a minute, SPEC 8).
	ClaimLease time.Duration

	// BackoffMin and BackoffMax bound the reconnect delay of Run (default 1 s and 5 min).
	BackoffMin, BackoffMax time.Duration
	// Resolver resolves host names for the loopback check (default net.DefaultResolver).
	Resolver *net.Resolver `json:"-"`
}

// ErrConfig marks configuration errors (SPEC 4 exit code 3).
var ErrConfig = errors.New("mailbox: configuration")

func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if c.Mailbox == "" {
		c.Mailbox = "INBOX"
	}
	if c.ProcessedFolder == "" {
		c.ProcessedFolder = "Processed"
	}
	if c.RejectedFolder == "" {
		c.RejectedFolder = "Rejected"
	}
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.Sniffer == nil {
		c.Sniffer = mime.MagicSniffer
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.Owner == "" {
		c.Owner = "mailbox"
	}
	if c.ClaimLease <= 0 {
		c.ClaimLease = time.Minute
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	c.Limits = c.Limits.WithDefaults()
	return c
}

func (c Config) validate() error {
	if c.Addr == "" {
		return fmt.Errorf("%w: imap-addr is required", ErrConfig)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: imap-addr %q is not host:port", ErrConfig, c.Addr)
	}
	switch c.TLS {
	case TLSImplicit, TLSStart, TLSInsecure:
	default:
		return fmt.Errorf("%w: imap-tls must be tls, starttls or insecure", ErrConfig)
	}
	if c.User == "" || (c.Password.Empty() && c.SASL == nil) {
		return fmt.Errorf("%w: imap-user and the IMAP password are required", ErrConfig)
	}
	if c.Open == nil {
		return fmt.Errorf("%w: a state is required", ErrConfig)
	}
	for _, f := range []string{c.ProcessedFolder, c.RejectedFolder} {
		if f == c.Mailbox {
			return fmt.Errorf("%w: the processed and rejected folders must differ from the mailbox", ErrConfig)
		}
	}
	return nil
}

// loopbackAddr resolves addr and returns a host:port with a loopback IP to dial, or an error if
// any address of the host is not loopback (SPEC 6/7: insecure only for loopback). Dialing the
// checked IP (not the name again) leaves no window for a different answer.
func loopbackAddr(ctx context.Context, r *net.Resolver, addr string) (string, error) {
	a, err := loopback.Resolve(ctx, r, addr)
	if err != nil {
		return "", fmt.Errorf("%w: imap-tls insecure: %w", ErrConfig, err)
	}
	return a, nil
}
