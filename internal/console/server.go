package console

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the console to the state and the intake service.
type Config struct {
	Files     Files
	Unlocker  Unlocker
	Operators Operators
	Audit     AuditLog
	Poll      PollStatus // optional: /metrics then reports the last poll and the receipts outbox
	Log       zerolog.Logger
	// TLS says the console is served over TLS: cookies are Secure with the __Host- prefix, and
	// Strict-Transport-Security is sent.
	TLS bool
	// Metrics serves /metrics; the caller sets it only for a loopback listener (SPEC 9).
	Metrics bool
	// PageSize is the number of files on one page of the list (default 50).
	PageSize int
	// Now is the clock (default time.Now); Location the time zone pages show (default time.Local).
	Now      func() time.Time
	Location *time.Location
}

// Server is the operator console. Create it with New; it is an http.Handler.
type Server struct {
	cfg      Config
	tls      bool
	key      []byte // HMAC key of the login form's CSRF token, new at each start
	sessions *sessionTable
	limiter  *addrLimiter
	pages    map[string]pageTemplate
	mux      *http.ServeMux
	metrics  *consoleMetrics
	// argonSlots bounds concurrent password hashing (19 MiB each) so that a login flood cannot
	// exhaust memory.
	argonSlots chan struct{}
	dummyHash  string
	sessName   string
	preName    string
}

// New checks the configuration and builds the console.
func New(cfg Config) (*Server, error) {
	if cfg.Files == nil || cfg.Unlocker == nil || cfg.Operators == nil || cfg.Audit == nil {
		return nil, errors.New("console: Files, Unlocker, Operators and Audit are required")
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	s := &Server{cfg: cfg, tls: cfg.TLS, sessions: newSessionTable(), limiter: newAddrLimiter(),
		argonSlots: make(chan struct{}, 2)}
	s.key = make([]byte, 32)
	if _, err := rand.Read(s.key); err != nil {
		return nil, fmt.Errorf("console: key: %w", err)
	}
	dummy, err := HashPassword([]byte(randomToken()), DefaultParams)
	if err != nil {
		return nil, err
	}
	s.dummyHash = dummy
	s.sessName, s.preName = cookieNames(cfg.TLS)
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.metrics = newConsoleMetrics(s)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.authed(s.logout))
	m.HandleFunc("GET /{$}", s.authed(s.fileList))
	m.HandleFunc("GET /files/{id}", s.authed(s.filePage))
	m.HandleFunc("POST /files/{id}/unlock", s.authed(s.unlock))
	m.HandleFunc("GET /files/{id}/report.json", s.authed(s.downloadJSON))
	m.HandleFunc("GET /files/{id}/report.txt", s.authed(s.downloadText))
	m.HandleFunc("GET /healthz", s.healthz)
	if s.cfg.Metrics {
		m.Handle("GET /metrics", s.metrics.handler())
	}
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	m.HandleFunc("/", s.notFound)
	s.mux = m
}

// Registry returns the console's Prometheus registry (for tests and for adding collectors).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// ServeHTTP sets the security headers on every response, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if s.tls {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	h.Set("Cache-Control", "no-store")
	start := s.cfg.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	// The log line carries the route pattern (file ids at most), never the form or the query.
	s.cfg.Log.Debug().Str("method", r.Method).Str("route", r.Pattern).Int("status", sw.status).
		Str("took", s.cfg.Now().Sub(start).Round(time.Microsecond).String()).Msg("console request")
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// staticHandler lets the browser cache the embedded assets (they hold no data).
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// remoteAddr is the peer's IP address (without port), as the audit log records it.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// audit appends an entry; a failure is logged and returned.
func (s *Server) audit(ctx context.Context, r *http.Request, user, action, fileID, outcome string) error {
	e := AuditEntry{Time: s.cfg.Now().UTC(), Actor: user, Action: action, FileID: fileID,
		Remote: remoteAddr(r), Detail: outcome}
	if err := s.cfg.Audit.AppendAudit(ctx, e); err != nil {
		s.cfg.Log.Error().Err(err).Str("action", action).Str("file_id", fileID).Msg("audit log append failed")
		return err
	}
	return nil
}
