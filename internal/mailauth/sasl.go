// Package mailauth owns how sysvak-import logs in to a mail server with OAuth 2.0 (SPEC 11): the
// SASL client mechanisms XOAUTH2 (Google's and Microsoft's format) and OAUTHBEARER (RFC 7628),
// and the access-token sources behind them (the client-credentials grant, or a token file kept
// fresh by another tool), with their in-memory cache and refresh rules. Both mechanisms implement
// emersion/go-sasl's sasl.Client, so the IMAP poller (go-imap's Authenticate) and the receipt
// sender (go-smtp's Auth) use the same code.
//
// Tokens and client secrets are held as secret.Secret and never reach a log line, an error
// message or the state: errors carry the token endpoint's error code and description, never a
// request or a token.
package mailauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/fhi/sysvak-import/internal/secret"
)

// Mechanism is a login method of SPEC 11 (--imap-auth, --smtp-auth).
type Mechanism string

// Mechanisms. MechPassword is LOGIN (IMAP) or PLAIN (SMTP) with the configured password.
const (
	MechPassword    Mechanism = "password"
	MechXOAUTH2     Mechanism = "xoauth2"
	MechOAUTHBEARER Mechanism = "oauthbearer"
)

// SASL mechanism names as servers advertise them.
const (
	SASLXOAUTH2     = "XOAUTH2"
	SASLOAUTHBEARER = "OAUTHBEARER"
)

// ErrConfig marks a configuration error (SPEC 4 exit code 3).
var ErrConfig = errors.New("mailauth: configuration")

// ParseMechanism reads an --imap-auth or --smtp-auth value. "plain" and "login" are accepted as
// spellings of "password" (for --smtp-auth, SPEC 11); the empty string is "password".
func ParseMechanism(s string) (Mechanism, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "password", "plain", "login":
		return MechPassword, nil
	case "xoauth2":
		return MechXOAUTH2, nil
	case "oauthbearer":
		return MechOAUTHBEARER, nil
	}
	return "", fmt.Errorf("%w: unknown authentication %q (password, xoauth2 or oauthbearer)", ErrConfig, s)
}

// OAuth reports whether the mechanism takes an OAuth 2.0 access token.
func (m Mechanism) OAuth() bool { return m == MechXOAUTH2 || m == MechOAUTHBEARER }

// ServerError is the error a server reported in the SASL exchange of XOAUTH2 or OAUTHBEARER (the
// JSON challenge of RFC 7628 section 3.2.2 and of Google's XOAUTH2 protocol). It holds no token.
type ServerError struct {
	Mechanism string
	Status    string `json:"status"`
	Schemes   string `json:"schemes"`
	Scope     string `json:"scope"`
}

func (e *ServerError) Error() string {
	msg := fmt.Sprintf("%s: the server refused the access token (status %q", e.Mechanism, e.Status)
	if e.Scope != "" {
		msg += fmt.Sprintf(", scope %q", e.Scope)
	}
	return msg + ")"
}

// Client is a SASL client of this package: a sasl.Client that also tells, after a failed
// exchange, what the server said in its error challenge (nil if it sent none).
type Client interface {
	sasl.Client
	ServerError() *ServerError
	// Refusal is ServerError as an error (nil when the server sent no error challenge).
	Refusal() error
}

// NewXOAUTH2Client returns the XOAUTH2 client mechanism: the initial response is
// "user=" + user + "\x01auth=Bearer " + token + "\x01\x01". On failure the server sends a JSON
// error challenge, which is answered with an empty response (as Google's and Microsoft's
// documentation say) so that the server ends the exchange with its failure reply. (go-imap
// v2.0.0-beta.8 writes an empty continuation response as "=", which Dovecot answers with BAD
// instead of NO; the login fails either way, and the poller takes any NO or BAD as a refusal.)
func NewXOAUTH2Client(user string, token secret.Secret) Client {
	return &xoauth2Client{user: user, token: token}
}

type xoauth2Client struct {
	user  string
	token secret.Secret
	err   *ServerError
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	ir := make([]byte, 0, len(c.user)+len(c.token.Bytes())+32)
	ir = append(ir, "user="...)
	ir = append(ir, c.user...)
	ir = append(ir, "\x01auth=Bearer "...)
	ir = append(ir, c.token.Bytes()...)
	ir = append(ir, "\x01\x01"...)
	return SASLXOAUTH2, ir, nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	c.err = parseServerError(SASLXOAUTH2, challenge)
	return []byte{}, nil
}

func (c *xoauth2Client) ServerError() *ServerError { return c.err }

func (c *xoauth2Client) Refusal() error { return refusal(c.err) }

// OAuthBearerOptions are the optional parts of an OAUTHBEARER initial response.
type OAuthBearerOptions struct {
	Host string // the server's host name (RFC 7628 "host")
	Port int    // the server's port (RFC 7628 "port")
}

// NewOAuthBearerClient returns the OAUTHBEARER client mechanism of RFC 7628: the GS2 header
// "n,a=" + user + "," and the key/value pairs host, port and auth, each ended by \x01. On an
// error challenge it sends the single byte \x01 (RFC 7628 section 3.2.3), so that the server
// ends the exchange with its failure reply.
func NewOAuthBearerClient(user string, token secret.Secret, opt OAuthBearerOptions) Client {
	return &oauthBearerClient{user: user, token: token, opt: opt}
}

type oauthBearerClient struct {
	user  string
	token secret.Secret
	opt   OAuthBearerOptions
	err   *ServerError
}

// gs2Name escapes a SASL name for the GS2 header (RFC 5801: "," as =2C, "=" as =3D).
func gs2Name(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func (c *oauthBearerClient) Start() (string, []byte, error) {
	var b []byte
	b = append(b, "n,"...)
	if c.user != "" {
		b = append(b, "a="...)
		b = append(b, gs2Name(c.user)...)
	}
	b = append(b, ',')
	if c.opt.Host != "" {
		b = append(b, "\x01host="...)
		b = append(b, c.opt.Host...)
	}
	if c.opt.Port != 0 {
		b = append(b, "\x01port="...)
		b = strconv.AppendInt(b, int64(c.opt.Port), 10)
	}
	b = append(b, "\x01auth=Bearer "...)
	b = append(b, c.token.Bytes()...)
	b = append(b, "\x01\x01"...)
	return SASLOAUTHBEARER, b, nil
}

func (c *oauthBearerClient) Next(challenge []byte) ([]byte, error) {
	c.err = parseServerError(SASLOAUTHBEARER, challenge)
	return []byte{0x01}, nil
}

func (c *oauthBearerClient) ServerError() *ServerError { return c.err }

func (c *oauthBearerClient) Refusal() error { return refusal(c.err) }

func refusal(e *ServerError) error {
	if e == nil {
		return nil
	}
	return e
}

// parseServerError reads an error challenge. A challenge that is not the JSON object the
// mechanisms define still means failure; its text is not kept (it is not ours to log).
func parseServerError(mech string, challenge []byte) *ServerError {
	e := &ServerError{Mechanism: mech}
	if err := json.Unmarshal(challenge, e); err != nil || e.Status == "" {
		e.Status = "unknown"
	}
	e.Mechanism = mech
	e.Status, e.Schemes, e.Scope = clean(e.Status, 64), clean(e.Schemes, 64), clean(e.Scope, 200)
	return e
}

// Compile-time checks that the mechanisms are go-sasl clients.
var (
	_ sasl.Client = (*xoauth2Client)(nil)
	_ sasl.Client = (*oauthBearerClient)(nil)
)
