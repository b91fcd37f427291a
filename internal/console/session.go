package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session limits (SPEC 9: 30 minutes idle). A session also ends after absoluteTimeout, however
// busy, and the table holds at most maxSessions (the oldest idle one goes first).
const (
	idleTimeout     = 30 * time.Minute
	absoluteTimeout = 12 * time.Hour
	maxSessions     = 10000
)

// flash is a one-time message shown on the next page (after a redirect).
type flash struct {
	Key  string // text key
	Arg  string
	Kind string // "ok" or "error"
}

// session is a signed-in operator. The table is keyed by the SHA-256 of the cookie's token, so a
// memory dump does not hand out live cookies.
type session struct {
	User     string
	CSRF     string
	Created  time.Time
	LastSeen time.Time
	Flash    *flash
}

type sessionTable struct {
	mu sync.Mutex
	m  map[[32]byte]*session
}

func newSessionTable() *sessionTable { return &sessionTable{m: map[[32]byte]*session{}} }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// create starts a session for user and returns its cookie token.
func (t *sessionTable) create(user string, now time.Time) (string, session) {
	token := randomToken()
	s := &session{User: user, CSRF: randomToken(), Created: now, LastSeen: now}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	t.m[tokenKey(token)] = s
	return token, *s
}

// sweep drops expired sessions and, when the table is full, the least recently used one.
func (t *sessionTable) sweep(now time.Time) {
	var oldestKey [32]byte
	var oldest *session
	for k, s := range t.m {
		if expired(s, now) {
			delete(t.m, k)
			continue
		}
		if oldest == nil || s.LastSeen.Before(oldest.LastSeen) {
			oldestKey, oldest = k, s
		}
	}
	if len(t.m) >= maxSessions && oldest != nil {
		delete(t.m, oldestKey)
	}
}

func expired(s *session, now time.Time) bool {
	return now.Sub(s.LastSeen) > idleTimeout || now.Sub(s.Created) > absoluteTimeout
}

// get returns the session of token and marks it used; ok is false for an unknown or expired one.
func (t *sessionTable) get(token string, now time.Time) (session, bool) {
	if token == "" {
		return session{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := tokenKey(token)
	s, ok := t.m[k]
	if !ok {
		return session{}, false
	}
	if expired(s, now) {
		delete(t.m, k)
		return session{}, false
	}
	s.LastSeen = now
	return *s, true
}

func (t *sessionTable) delete(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, tokenKey(token))
}

func (t *sessionTable) setFlash(token string, f flash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[tokenKey(token)]; ok {
		s.Flash = &f
	}
}

func (t *sessionTable) takeFlash(token string) *flash {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[tokenKey(token)]
	if !ok {
		return nil
	}
	f := s.Flash
	s.Flash = nil
	return f
}

// cookieNames returns the session and pre-session cookie names: with TLS they carry the __Host-
// prefix, which makes the browser insist on Secure, Path=/ and no Domain.
func cookieNames(tls bool) (sessionName, preName string) {
	if tls {
		return "__Host-sysvak_session", "__Host-sysvak_login"
	}
	return "sysvak_session", "sysvak_login"
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.tls, SameSite: http.SameSiteStrictMode,
	}
}

// loginCSRF derives the login form's CSRF token from the pre-session cookie: an attacker's page
// can neither read the cookie nor compute the token without the server's key.
func (s *Server) loginCSRF(pre string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("login\x00" + pre))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func tokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
