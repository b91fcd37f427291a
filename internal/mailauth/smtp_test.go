package mailauth

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/fhi/sysvak-import/internal/secret"
)

// The same clients over SMTP AUTH (RFC 4954) with go-smtp's client, as the receipt sender uses
// them, against a go-smtp server whose mechanisms behave as Gmail's XOAUTH2 and RFC 7628's
// OAUTHBEARER: accept the good token; for another, send the JSON error challenge and fail after
// the client's answer (empty for XOAUTH2, \x01 for OAUTHBEARER).
func TestSMTPAuthExchange(t *testing.T) {
	rec := &smtpRecorder{good: "good-token"}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{rec: rec}, nil }))
	srv.AllowInsecureAuth = true
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	tests := []struct {
		name     string
		client   Client
		ok       bool
		wantLast []byte // the client's answer to the error challenge
		status   string
	}{
		{"xoauth2 good", NewXOAUTH2Client("u@example.org", secret.New([]byte("good-token"))), true, nil, ""},
		{"oauthbearer good", NewOAuthBearerClient("u@example.org", secret.New([]byte("good-token")), OAuthBearerOptions{Host: "smtp.example.org", Port: 587}), true, nil, ""},
		{"xoauth2 refused", NewXOAUTH2Client("u@example.org", secret.New([]byte("old-token"))), false, []byte{}, "401"},
		{"oauthbearer refused", NewOAuthBearerClient("u@example.org", secret.New([]byte("old-token")), OAuthBearerOptions{}), false, []byte{0x01}, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := smtp.Dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Auth(tt.client)
			if tt.ok {
				if err != nil {
					t.Fatalf("auth: %v", err)
				}
				return
			}
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 535 {
				t.Fatalf("want 535, got %v", err)
			}
			if got := rec.lastAnswer(); !bytes.Equal(got, tt.wantLast) {
				t.Errorf("answer to the error challenge %q, want %q", got, tt.wantLast)
			}
			if e := tt.client.ServerError(); e == nil || e.Status != tt.status {
				t.Errorf("server error %+v, want status %q", e, tt.status)
			}
		})
	}
}

type smtpRecorder struct {
	good string
	mu   sync.Mutex
	last []byte
}

func (r *smtpRecorder) lastAnswer() []byte { r.mu.Lock(); defer r.mu.Unlock(); return r.last }

type smtpSession struct{ rec *smtpRecorder }

func (s *smtpSession) AuthMechanisms() []string { return []string{SASLXOAUTH2, SASLOAUTHBEARER} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	challenge := `{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}`
	if mech == SASLOAUTHBEARER {
		challenge = `{"status":"invalid_token","scope":"smtp"}`
	}
	return &bearerServer{rec: s.rec, challenge: challenge}, nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(io.Reader) error                 { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }

// bearerServer accepts "auth=Bearer <good>" in the initial response; otherwise it sends the
// error challenge and records the client's answer.
type bearerServer struct {
	rec       *smtpRecorder
	challenge string
	failed    bool
}

func (b *bearerServer) Next(resp []byte) ([]byte, bool, error) {
	if b.failed {
		b.rec.mu.Lock()
		b.rec.last = append([]byte{}, resp...)
		b.rec.mu.Unlock()
		return nil, true, smtp.ErrAuthFailed // 535 5.7.8
	}
	if resp == nil {
		return []byte{}, false, nil // no initial response: ask for it
	}
	if bytes.Contains(resp, []byte("auth=Bearer "+b.rec.good+"\x01")) {
		return nil, true, nil
	}
	b.failed = true
	return []byte(b.challenge), false, nil
}
