package receipt

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/smtptest"
)

// senderFor returns a Sender for a test server.
func senderFor(t *testing.T, srv *smtptest.Server, tlsMode, user, password, auth string) *Sender {
	t.Helper()
	cfg := SMTPConfig{Addr: srv.Addr(), TLS: tlsMode, User: user, Auth: auth, TLSConfig: srv.TLSConfig(), Timeout: 20 * time.Second}
	if password != "" {
		cfg.Password = secret.New([]byte(password))
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// queueAll renders every test receipt into ob and returns the distinct messages (some cases
// are the same receipt: the same message, outcome and file, so the same Message-ID, queued once).
func queueAll(t *testing.T, ob *memOutbox, now time.Time) []Message {
	t.Helper()
	var ms []Message
	seen := map[string]bool{}
	for _, c := range receiptCases(t) {
		m, err := Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		ob.queue(m, now)
		if !seen[m.ID] {
			seen[m.ID] = true
			ms = append(ms, m)
		}
	}
	return ms
}

// checkDelivered checks that the server holds exactly the receipts ms, each once, byte for byte,
// with the right envelope and headers, and that none carries personal data.
func checkDelivered(t *testing.T, got []smtptest.Message, ms []Message, wantTLS, wantAuth bool) {
	t.Helper()
	if len(got) != len(ms) {
		t.Fatalf("server holds %d messages, want %d", len(got), len(ms))
	}
	byID := map[string]smtptest.Message{}
	for _, g := range got {
		id := g.Header.Get("Message-Id")
		if _, dup := byID[id]; dup {
			t.Errorf("receipt %s delivered twice", id)
		}
		byID[id] = g
	}
	for _, m := range ms {
		g, ok := byID[m.ID]
		if !ok {
			t.Errorf("receipt %s (%s) not delivered", m.ID, m.Kind)
			continue
		}
		if !bytes.Equal(bytes.ReplaceAll(g.Raw, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(m.Data, []byte("\r\n"), []byte("\n"))) {
			t.Errorf("receipt %s arrived changed", m.ID)
		}
		if g.MailFrom != m.From || len(g.RcptTo) != 1 || g.RcptTo[0] != m.To {
			t.Errorf("envelope %q -> %v, want %q -> %q", g.MailFrom, g.RcptTo, m.From, m.To)
		}
		if g.Header.Get("Auto-Submitted") != "auto-replied" || g.Header.Get("In-Reply-To") != testOrigin().MessageID {
			t.Errorf("receipt %s headers: %v", m.ID, g.Header)
		}
		if g.TLS != wantTLS || g.Authenticated != wantAuth {
			t.Errorf("receipt %s: TLS %v authenticated %v, want %v %v", m.ID, g.TLS, g.Authenticated, wantTLS, wantAuth)
		}
		checkPrivacy(t, g.Raw)
	}
}

// TestReceiptsOverRealSMTP sends every kind of receipt through aiosmtpd over implicit TLS and
// STARTTLS, verified against a test CA, with AUTH PLAIN and LOGIN.
func TestReceiptsOverRealSMTP(t *testing.T) {
	for _, c := range []struct{ name, serverTLS, clientTLS, auth string }{
		{"implicit TLS, PLAIN", smtptest.TLSImplicit, TLSImplicit, AuthPlain},
		{"STARTTLS, LOGIN", smtptest.TLSStart, TLSStart, AuthLogin},
		{"STARTTLS, password", smtptest.TLSStart, TLSStart, AuthPassword},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: c.serverTLS, User: "sysvak", Password: "s3cret-pw"})
			ob := newMemOutbox()
			ms := queueAll(t, ob, testDate)
			w := &Worker{Outbox: ob, Sender: senderFor(t, srv, c.clientTLS, "sysvak", "s3cret-pw", c.auth), Now: func() time.Time { return testDate }}
			res, err := w.SendDue(context.Background())
			if err != nil || res.Sent != len(ms) {
				t.Fatalf("pass = %+v, %v", res, err)
			}
			checkDelivered(t, srv.Messages(), ms, true, true)
			if res, _ := w.SendDue(context.Background()); res.Sent != 0 {
				t.Errorf("a second pass sent %d again", res.Sent)
			}
		})
	}
}

func TestPlainSMTPOnLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := senderFor(t, srv, TLSInsecure, "", "", "")
	m, err := Render(receiptCases(t)[0].in)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m.From, m.To, m.Data); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, srv.Messages(), []Message{m}, false, false)
}

func TestTLSIsVerified(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit})
	for name, tc := range map[string]*tls.Config{
		"system roots":    nil,
		"wrong host name": {RootCAs: srv.RootCAs(), ServerName: "mail.example.no"},
	} {
		s, err := NewSender(SMTPConfig{Addr: srv.Addr(), TLS: TLSImplicit, TLSConfig: tc})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), testFrom, testSender, []byte("Subject: x\r\n\r\nx\r\n"))
		if err == nil || errors.Is(err, ErrPermanent) {
			t.Errorf("%s: err = %v, want a (retryable) certificate error", name, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages went to an unverified server", n)
	}
}

func TestInsecureOnlyForLoopback(t *testing.T) {
	for _, addr := range []string{"192.0.2.10:25", "[2001:db8::1]:25"} {
		if _, err := NewSender(SMTPConfig{Addr: addr, TLS: TLSInsecure}); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", addr, err)
		}
	}
	for _, cfg := range []SMTPConfig{
		{Addr: "smtp.example.no", TLS: TLSImplicit},
		{Addr: "smtp.example.no:465", TLS: "ssl"},
		{Addr: "smtp.example.no:465", User: "u"},
		{Addr: "smtp.example.no:465", Auth: AuthXOAuth2},
		{Addr: "smtp.example.no:465", Auth: "cram-md5"},
	} {
		if _, err := NewSender(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err = %v, want ErrConfig", cfg, err)
		}
	}
}

// TestWrongPasswordIsRetriedNotGivenUp: an authentication failure is the configuration's fault;
// the receipt waits for a fix (until GiveUpAfter) instead of being dropped.
func TestWrongPasswordIsRetriedNotGivenUp(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit, User: "sysvak", Password: "right"})
	ob := newMemOutbox()
	ms := queueAll(t, ob, testDate)[:1]
	w := &Worker{Outbox: ob, Sender: senderFor(t, srv, TLSImplicit, "sysvak", "wrong", AuthPlain), Now: func() time.Time { return testDate }}
	res, err := w.SendDue(context.Background())
	if err != nil || res.GaveUp != 0 || res.Retry == 0 {
		t.Fatalf("pass = %+v, %v", res, err)
	}
	it := ob.get(ms[0].ID)
	if it.status != "queued" || !strings.Contains(it.LastError, "AUTH") || strings.Contains(it.LastError, "wrong") {
		t.Errorf("item = %s %q", it.status, it.LastError)
	}
}

// TestSASLFactoryIsUsedAndAskedAgainOnce: an XOAUTH2-style client plugs in through SASLFactory; a
// refused first token is followed by exactly one fresh one. aiosmtpd knows no XOAUTH2, so the
// factory hands out PLAIN clients: first with a stale secret, then with the fresh one.
func TestSASLFactoryIsUsedAndAskedAgainOnce(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: smtptest.TLSImplicit, User: "sysvak", Password: "fresh-token"})
	var mu sync.Mutex
	var calls []bool
	factory := func(_ context.Context, retry bool) (sasl.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, retry)
		if !retry {
			return sasl.NewPlainClient("", "sysvak", "stale-token"), nil
		}
		return sasl.NewPlainClient("", "sysvak", "fresh-token"), nil
	}
	s, err := NewSender(SMTPConfig{Addr: srv.Addr(), TLS: TLSImplicit, Auth: AuthXOAuth2, SASL: factory, TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Render(receiptCases(t)[0].in)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m.From, m.To, m.Data); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] || !calls[1] {
		t.Errorf("factory calls (retry flags) = %v, want [false true]", calls)
	}
	checkDelivered(t, srv.Messages(), []Message{m}, true, true)
}
