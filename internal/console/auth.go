package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// maxFormBytes bounds a form body; the forms hold a user name, a password and a token.
const maxFormBytes = 16 << 10

// request is what an authenticated handler gets.
type request struct {
	sess  session
	token string
	lang  string
}

// authed lets a request through with a live session; without one a GET goes to the login page
// and anything else gets 403. A POST must carry the session's CSRF token (SPEC 9).
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := langOf(r.URL.Query())
		c, err := r.Cookie(s.sessName)
		var sess session
		ok := false
		if err == nil {
			sess, ok = s.sessions.get(c.Value, s.cfg.Now())
		}
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, href(lang, "/login", "expired", boolParam(err == nil)), http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusForbidden, "err.csrf")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil || !tokensEqual(r.PostForm.Get("csrf_token"), sess.CSRF) {
				s.errorPage(w, r, http.StatusForbidden, "err.csrf")
				return
			}
		}
		h(w, r, request{sess: sess, token: c.Value, lang: lang})
	}
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return ""
}

type loginView struct {
	Failed, Throttled, Expired bool
	Username                   string
}

// loginPage shows the form with a fresh pre-session cookie whose HMAC is the form's CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r.URL.Query())
	if c, err := r.Cookie(s.sessName); err == nil {
		if _, ok := s.sessions.get(c.Value, s.cfg.Now()); ok {
			http.Redirect(w, r, href(lang, "/"), http.StatusSeeOther)
			return
		}
	}
	s.showLogin(w, r, http.StatusOK, loginView{Expired: r.URL.Query().Get("expired") == "1"})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	lang := langOf(r.URL.Query())
	pre := randomToken()
	http.SetCookie(w, s.cookie(s.preName, pre, 3600))
	s.render(w, r, status, "login", page{Lang: lang, Title: tr(lang, "login.title"), CSRF: s.loginCSRF(pre), Data: v})
}

// login checks the CSRF token, the address throttle, the lockout and the password, in that order.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r.URL.Query())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	pre, err := r.Cookie(s.preName)
	if err != nil || r.ParseForm() != nil || !tokensEqual(r.PostForm.Get("csrf_token"), s.loginCSRF(pre.Value)) {
		s.errorPage(w, r, http.StatusForbidden, "err.csrf")
		return
	}
	now := s.cfg.Now()
	if !s.limiter.allow(remoteAddr(r), now) {
		s.metrics.logins.WithLabelValues("throttled").Inc()
		_ = s.audit(r.Context(), r, "", AuditLogin, "", "throttled")
		w.Header().Set("Retry-After", "900")
		s.showLogin(w, r, http.StatusTooManyRequests, loginView{Throttled: true})
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	user, outcome, err := s.checkLogin(r.Context(), name, []byte(r.PostForm.Get("password")), now)
	if err != nil {
		s.internalError(w, r, err, "login")
		return
	}
	s.metrics.logins.WithLabelValues(outcome).Inc()
	_ = s.audit(r.Context(), r, user, AuditLogin, "", outcome)
	if outcome != "ok" {
		s.showLogin(w, r, http.StatusUnauthorized, loginView{Failed: true, Username: user})
		return
	}
	token, _ := s.sessions.create(user, now)
	http.SetCookie(w, s.cookie(s.sessName, token, int(absoluteTimeout/time.Second)))
	http.SetCookie(w, s.cookie(s.preName, "", -1))
	http.Redirect(w, r, href(lang, "/"), http.StatusSeeOther)
}

// checkLogin returns the account name to record (empty for an unknown name, which might be a
// password typed into the wrong field) and the outcome: ok, wrong_password, locked (the account
// was already locked), locked_now (this failure locked it) or unknown_user. Every path costs one
// Argon2id computation, so response times do not tell which names exist.
func (s *Server) checkLogin(ctx context.Context, name string, pw []byte, now time.Time) (string, string, error) {
	defer wipe(pw)
	op, err := s.cfg.Operators.Operator(ctx, name)
	if errors.Is(err, ErrNotFound) || name == "" {
		_, _ = s.verify(ctx, pw, s.dummyHash)
		return "", "unknown_user", nil
	}
	if err != nil {
		return "", "", err
	}
	if locked(&op, now) || op.Disabled {
		_, _ = s.verify(ctx, pw, s.dummyHash)
		return op.Name, "locked", nil
	}
	match, err := s.verify(ctx, pw, op.Hash)
	if err != nil {
		return "", "", err
	}
	outcome := "ok"
	_, err = s.cfg.Operators.UpdateOperator(ctx, op.Name, func(o *Operator) error {
		switch {
		case locked(o, now) || o.Disabled: // locked by another console meanwhile
			outcome = "locked"
		case match:
			recordSuccess(o, now)
		case recordFailure(o, now):
			outcome = "locked_now"
		default:
			outcome = "wrong_password"
		}
		return nil
	})
	return op.Name, outcome, err
}

// verify runs VerifyPassword in one of the bounded slots.
func (s *Server) verify(ctx context.Context, pw []byte, hash string) (bool, error) {
	select {
	case s.argonSlots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.argonSlots }()
	return VerifyPassword(pw, hash)
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, q request) {
	s.sessions.delete(q.token)
	_ = s.audit(r.Context(), r, q.sess.User, AuditLogout, "", "ok")
	http.SetCookie(w, s.cookie(s.sessName, "", -1))
	http.Redirect(w, r, href(q.lang, "/login"), http.StatusSeeOther)
}
