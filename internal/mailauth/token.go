package mailauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fhi/sysvak-import/internal/secret"
)

// Token is an access token and the time it expires (zero: not known).
type Token struct {
	Value  secret.Secret
	Expiry time.Time
}

// Source gives access tokens. Sources are safe for concurrent use (the IMAP poller and the
// receipt sender may share one).
type Source interface {
	// Token returns a current token: the cached one while it is fresh, else a new one.
	Token(ctx context.Context) (Token, error)
	// Invalidate drops the cached token because a server refused it; the next Token call gets a
	// new one (from the endpoint, or by reading the token file again).
	Invalidate()
}

// ErrTokenFile marks a token file that cannot be read or holds no token.
var ErrTokenFile = errors.New("mailauth: token file")

// EndpointError is a token endpoint's refusal (RFC 6749 section 5.2): the HTTP status, the
// error code (invalid_client, unauthorized_client, invalid_scope, ...) and the endpoint's own
// description, which is what the operator needs to fix the app registration. It never holds the
// client secret or a token.
type EndpointError struct {
	HTTPStatus  int
	Code        string
	Description string
}

func (e *EndpointError) Error() string {
	msg := "the OAuth token endpoint refused the client"
	if e.HTTPStatus != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Permanent reports that retrying with the same client configuration cannot succeed (a 4xx
// answer: wrong client id or secret, missing consent, unknown scope; not 408 or 429, which ask
// to come back later). The poller stops on it.
func (e *EndpointError) Permanent() bool {
	return e.HTTPStatus >= 400 && e.HTTPStatus < 500 &&
		e.HTTPStatus != http.StatusRequestTimeout && e.HTTPStatus != http.StatusTooManyRequests
}

// ClientCredentialsConfig configures the client-credentials grant of SPEC 11.
type ClientCredentialsConfig struct {
	TokenURL     string        // --oauth-token-url; https, or http on a loopback address
	ClientID     string        // --oauth-client-id
	ClientSecret secret.Secret // --oauth-client-secret-file or SYSVAK_OAUTH_CLIENT_SECRET
	Scopes       []string      // --oauth-scope (space-separated on the command line)
	// HTTPClient makes the token requests (nil: a client with a 30 s timeout and the system's
	// TLS roots).
	HTTPClient *http.Client
}

// CheckTokenURL enforces SPEC 11: the token URL is https, except on a loopback address.
func CheckTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: oauth-token-url %q is not an absolute URL", ErrConfig, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%w: oauth-token-url must not carry credentials; use --oauth-client-secret-file", ErrConfig)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
			return nil
		}
		return fmt.Errorf("%w: oauth-token-url must be https (http only on a loopback address)", ErrConfig)
	}
	return fmt.Errorf("%w: oauth-token-url must be https", ErrConfig)
}

// NewClientCredentials returns a Source that gets tokens with the client-credentials grant and
// caches them in memory until shortly before they expire.
func NewClientCredentials(cfg ClientCredentialsConfig) (Source, error) {
	if err := CheckTokenURL(cfg.TokenURL); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: oauth-client-id is required", ErrConfig)
	}
	if cfg.ClientSecret.Empty() {
		return nil, fmt.Errorf("%w: the OAuth client secret is required (--oauth-client-secret-file or SYSVAK_OAUTH_CLIENT_SECRET)", ErrConfig)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: string(cfg.ClientSecret.Bytes()),
		TokenURL:     cfg.TokenURL,
		Scopes:       cfg.Scopes,
	}
	s := &ccSource{conf: cc, http: hc, secret: cfg.ClientSecret}
	s.cache.now = time.Now
	return s, nil
}

type ccSource struct {
	conf   *clientcredentials.Config
	http   *http.Client
	secret secret.Secret
	cache  tokenCache
}

func (s *ccSource) Token(ctx context.Context) (Token, error) {
	return s.cache.get(func() (Token, error) {
		ctx := context.WithValue(ctx, oauth2.HTTPClient, s.http)
		t, err := s.conf.Token(ctx)
		if err != nil {
			return Token{}, s.endpointErr(err)
		}
		if t.AccessToken == "" {
			return Token{}, &EndpointError{Description: "the answer held no access_token"}
		}
		return Token{Value: secret.New([]byte(t.AccessToken)), Expiry: t.Expiry}, nil
	})
}

func (s *ccSource) Invalidate() { s.cache.invalidate() }

// endpointErr turns x/oauth2's error into one that names the endpoint's error and nothing else:
// RetrieveError.Error would print the whole response body when the body is not RFC 6749 JSON.
func (s *ccSource) endpointErr(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// Network or TLS: url.Error names the token URL (without userinfo) and the cause.
		return fmt.Errorf("mailauth: token request: %w", err)
	}
	e := &EndpointError{Code: clean(re.ErrorCode, 64), Description: clean(re.ErrorDescription, 300)}
	if re.Response != nil {
		e.HTTPStatus = re.Response.StatusCode
	}
	if e.Code == "" && e.Description == "" && re.Response != nil {
		e.Description = clean(http.StatusText(re.Response.StatusCode), 64)
	}
	// An endpoint that echoes the request must not put the secret into our error text.
	if sec := string(s.secret.Bytes()); sec != "" {
		e.Code = strings.ReplaceAll(e.Code, sec, "[REDACTED]")
		e.Description = strings.ReplaceAll(e.Description, sec, "[REDACTED]")
	}
	return e
}

// clean keeps printable text only, at most max runes: an endpoint's text goes to a terminal.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("...")
			break
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			n++
		} else if unicode.IsSpace(r) {
			b.WriteByte(' ')
			n++
		}
	}
	return strings.TrimSpace(b.String())
}

// tokenCache holds one token and fetches a new one when it is missing, invalidated or close to
// its expiry. Fetches are serialised, so concurrent callers share one request.
type tokenCache struct {
	mu      sync.Mutex
	tok     Token
	fetched time.Time
	now     func() time.Time
}

// refreshMargin is how long before expiry a token is replaced: a quarter of its lifetime, at
// most five minutes (an hour-long Exchange Online token is renewed five minutes early; a test's
// four-second token one second early).
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(lifetime/4, 5*time.Minute)
}

func (c *tokenCache) fresh(now time.Time) bool {
	if c.tok.Value.Empty() {
		return false
	}
	if c.tok.Expiry.IsZero() {
		return true
	}
	return now.Before(c.tok.Expiry.Add(-refreshMargin(c.tok.Expiry.Sub(c.fetched))))
}

func (c *tokenCache) get(fetch func() (Token, error)) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh(c.now()) {
		return c.tok, nil
	}
	start := c.now()
	t, err := fetch()
	if err != nil {
		return Token{}, err
	}
	c.tok, c.fetched = t, start
	return t, nil
}

func (c *tokenCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok = Token{}
}

// NewTokenFile returns a Source that reads the token from the first line of a file that another
// tool keeps fresh (SPEC 11 --oauth-token-file). The file is read again whenever it changes (its
// modification time, size or inode), and after Invalidate. When the token is a JWT, its "exp"
// claim is taken as the expiry (read only, not verified: the server verifies).
func NewTokenFile(path string) (Source, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: oauth-token-file is empty", ErrConfig)
	}
	return &fileSource{path: path}, nil
}

type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

type fileSource struct {
	path  string
	mu    sync.Mutex
	tok   Token
	stamp fileStamp
}

func (s *fileSource) Token(context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	st := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	if !s.tok.Value.Empty() && st == s.stamp {
		return s.tok, nil
	}
	v, err := readTokenFile(s.path)
	if err != nil {
		return Token{}, err
	}
	s.tok = Token{Value: v, Expiry: jwtExpiry(v.Bytes())}
	s.stamp = st
	return s.tok, nil
}

// maxTokenFile bounds a token file: access tokens are JWTs of a few KiB (Entra ID's carry many
// claims), far above a password line's 512 bytes.
const maxTokenFile = 64 << 10

// readTokenFile takes the first line of the file, without its line ending and surrounding
// blanks.
func readTokenFile(path string) (secret.Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return secret.Secret{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	defer f.Close()
	buf := make([]byte, maxTokenFile+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return secret.Secret{}, fmt.Errorf("%w: %w", ErrTokenFile, err)
	}
	defer clear(buf)
	data := buf[:n]
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	} else if n > maxTokenFile {
		return secret.Secret{}, fmt.Errorf("%w: %s: the first line is longer than %d bytes", ErrTokenFile, path, maxTokenFile)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return secret.Secret{}, fmt.Errorf("%w: %s holds no token", ErrTokenFile, path)
	}
	return secret.New(data), nil
}

func (s *fileSource) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = Token{}
}

// jwtExpiry reads the "exp" claim of a JWT without verifying it; zero when the token is not a
// JWT or has no exp.
func jwtExpiry(tok []byte) time.Time {
	parts := bytes.Split(tok, []byte("."))
	if len(parts) != 3 {
		return time.Time{}
	}
	body, err := base64.RawURLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(body, &claims) != nil {
		return time.Time{}
	}
	sec, err := claims.Exp.Float64()
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0)
}
