package receipt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/internal/loopback"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/fhi/sysvak-import/internal/secret"
)

// TLS modes (SPEC 10 --smtp-tls).
const (
	TLSImplicit = "tls"      // SMTPS, port 465
	TLSStart    = "starttls" // submission, port 587 + STARTTLS
	TLSInsecure = "insecure" // plain text: loopback addresses only
)

// Auth mechanisms (SPEC 11 --smtp-auth).
const (
	AuthPassword    = "password" // PLAIN (also spelled "plain")
	AuthPlain       = "plain"
	AuthLogin       = "login"
	AuthXOAuth2     = "xoauth2"
	AuthOAuthBearer = "oauthbearer"
)

// SASLFactory makes the SASL client for one connection (XOAUTH2/OAUTHBEARER from the OAuth token
// source). retry is true for the one second attempt after the server refused the first; a token
// source refreshes its token then.
type SASLFactory func(ctx context.Context, retry bool) (sasl.Client, error)

// SMTPConfig configures the SMTP submission.
type SMTPConfig struct {
	Addr     string // host:port
	TLS      string // tls (default), starttls or insecure
	User     string // no AUTH when empty (and no SASL factory)
	Password secret.Secret
	Auth     string      // password (default), plain, login, xoauth2, oauthbearer
	SASL     SASLFactory // required for xoauth2 and oauthbearer
	// TLSConfig overrides the TLS settings (e.g. a private CA); verification stays on.
	TLSConfig *tls.Config
	HelloName string        // EHLO name; default "localhost"
	Timeout   time.Duration // per message (connect to QUIT); default 5 minutes
	Resolver  *net.Resolver // for the loopback check; default net.DefaultResolver
}

// ErrConfig marks a configuration error (SPEC 4 exit code 3).
var ErrConfig = errors.New("receipt: configuration")

// ErrPermanent marks a send that must not be retried: the server answered 5xx.
var ErrPermanent = errors.New("receipt: the SMTP server refused the message")

// Validate checks the configuration and fills defaults.
func (c *SMTPConfig) Validate() error {
	if c.TLS == "" {
		c.TLS = TLSImplicit
	}
	if c.Auth == "" {
		c.Auth = AuthPassword
	}
	if c.HelloName == "" {
		c.HelloName = "localhost"
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("%w: smtp-addr %q is not host:port", ErrConfig, c.Addr)
	}
	switch c.TLS {
	case TLSImplicit, TLSStart, TLSInsecure:
	default:
		return fmt.Errorf("%w: smtp-tls must be tls, starttls or insecure", ErrConfig)
	}
	switch c.Auth {
	case AuthPassword, AuthPlain, AuthLogin:
		if c.User != "" && c.Password.Empty() {
			return fmt.Errorf("%w: smtp-user is set but no SMTP password (--smtp-password-file or SYSVAK_SMTP_PASSWORD)", ErrConfig)
		}
	case AuthXOAuth2, AuthOAuthBearer:
		if c.SASL == nil {
			return fmt.Errorf("%w: smtp-auth %s needs an OAuth token source", ErrConfig, c.Auth)
		}
	default:
		return fmt.Errorf("%w: smtp-auth must be password, plain, login, xoauth2 or oauthbearer", ErrConfig)
	}
	return nil
}

// Sender submits messages over SMTP, one connection per message.
type Sender struct{ cfg SMTPConfig }

// NewSender checks cfg and returns a Sender.
func NewSender(cfg SMTPConfig) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS == TLSInsecure {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := loopbackAddr(ctx, cfg.Resolver, cfg.Addr); err != nil {
			return nil, err
		}
	}
	return &Sender{cfg: cfg}, nil
}

// Send submits one message. An error wrapping ErrPermanent is a 5xx answer to the message (give
// up); any other error (unreachable, 4xx, TLS, authentication) is worth another try later.
func (s *Sender) Send(ctx context.Context, from, to string, data []byte) error {
	err := s.send(ctx, from, to, data, false)
	var ae *authError
	if errors.As(err, &ae) && ae.refused && (s.cfg.Auth == AuthXOAuth2 || s.cfg.Auth == AuthOAuthBearer) {
		err = s.send(ctx, from, to, data, true) // once more, on a new connection, with a fresh token
	}
	return err
}

func (s *Sender) send(ctx context.Context, from, to string, data []byte, retry bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := s.auth(ctx, c, retry); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("end of DATA", err)
	}
	_ = c.Quit()
	return nil
}

// authError is a failed authentication; refused is set when the server said 535 (credentials).
type authError struct {
	err     error
	refused bool
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// ServerError is an answer of the SMTP server that ended a send. Its text names the step and the
// reply codes only: a server's reply text may quote the recipient's address, which stays out of
// logs and statuses.
type ServerError struct {
	Step      string // EHLO, AUTH, MAIL FROM, RCPT TO, DATA, end of DATA
	Code      int
	Enhanced  smtp.EnhancedCode
	Permanent bool // a 5xx answer to the message (never set for AUTH)
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("receipt: the SMTP server answered %d", e.Code)
	if e.Enhanced != smtp.NoEnhancedCode && e.Enhanced != smtp.EnhancedCodeNotSet && e.Enhanced != (smtp.EnhancedCode{}) {
		s += fmt.Sprintf(" %d.%d.%d", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
	}
	return s + " to " + e.Step
}

// Is makes errors.Is(err, ErrPermanent) true for a permanent refusal.
func (e *ServerError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// Temporary marks an answer that may change on another try.
func (e *ServerError) Temporary() bool { return !e.Permanent }

// classify turns an error of one SMTP step into a ServerError when the server answered, or a
// wrapped error (connection) otherwise. A 5xx answer to the message is permanent.
func classify(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &ServerError{Step: step, Code: se.Code, Enhanced: se.EnhancedCode,
			Permanent: se.Code >= 500 && se.Code < 600 && step != "AUTH" && step != "EHLO"}
	}
	return fmt.Errorf("receipt: smtp %s: %w", step, err)
}

func (s *Sender) tlsConfig(host string) *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tc
}

func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	addr := s.cfg.Addr
	if s.cfg.TLS == TLSInsecure {
		a, err := loopbackAddr(ctx, s.cfg.Resolver, addr)
		if err != nil {
			return nil, err
		}
		addr = a
	}
	d := &net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("receipt: connect to the SMTP server: %w", err)
	}
	// go-smtp sets its own deadline per command; the context (bounded by Timeout) ends the whole
	// transaction by closing the connection.
	context.AfterFunc(ctx, func() { conn.Close() })
	var c *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, s.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("receipt: TLS with the SMTP server: %w", err)
		}
		c = smtp.NewClient(tc)
	case TLSStart:
		c, err = smtp.NewClientStartTLS(conn, s.tlsConfig(host))
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("receipt: STARTTLS with the SMTP server: %w", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	if err := c.Hello(s.cfg.HelloName); err != nil {
		c.Close()
		return nil, classify("EHLO", err)
	}
	return c, nil
}

// auth authenticates when a user or SASL factory is configured. Authentication failures are not
// ErrPermanent: they are the configuration's fault, not the message's, and the receipt waits for a
// fix until it gives up.
func (s *Sender) auth(ctx context.Context, c *smtp.Client, retry bool) error {
	var client sasl.Client
	switch s.cfg.Auth {
	case AuthXOAuth2, AuthOAuthBearer:
		cl, err := s.cfg.SASL(ctx, retry)
		if err != nil {
			return fmt.Errorf("receipt: SMTP token: %w", err)
		}
		client = cl
	case AuthLogin:
		if s.cfg.User == "" {
			return nil
		}
		client = &loginClient{user: s.cfg.User, password: string(s.cfg.Password.Bytes())}
	default:
		if s.cfg.User == "" {
			return nil
		}
		client = sasl.NewPlainClient("", s.cfg.User, string(s.cfg.Password.Bytes()))
	}
	if err := c.Auth(client); err != nil {
		var se *smtp.SMTPError
		return &authError{err: classify("AUTH", err), refused: errors.As(err, &se) && se.Code == 535}
	}
	return nil
}

// loopbackAddr resolves addr and returns a host:port with a loopback IP, or an error when any
// address of the host is not loopback (SPEC 10: insecure only for loopback).
func loopbackAddr(ctx context.Context, r *net.Resolver, addr string) (string, error) {
	a, err := loopback.Resolve(ctx, r, addr)
	if err != nil {
		return "", fmt.Errorf("%w: smtp-tls insecure: %w", ErrConfig, err)
	}
	return a, nil
}

// loginClient is the LOGIN mechanism. go-sasl's client insists on the challenges "Username:" and
// "Password:" exactly; servers word them differently ("User Name", "Password\x00"), so this one
// answers the user name to a challenge that mentions a user and the password otherwise.
type loginClient struct {
	user, password string
	step           int
}

func (c *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (c *loginClient) Next(challenge []byte) ([]byte, error) {
	c.step++
	if c.step > 2 {
		return nil, errors.New("receipt: LOGIN: unexpected third challenge")
	}
	if strings.Contains(strings.ToLower(string(challenge)), "user") {
		return []byte(c.user), nil
	}
	return []byte(c.password), nil
}
