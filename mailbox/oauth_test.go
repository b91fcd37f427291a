package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/internal/imaptest"
	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/secret"
)

// SPEC 11 against real Dovecot: its oauth2 passdb validates the JWTs of a token endpoint the
// test runs (imaptest.Issuer), with the test's key, locally.

const appSecret = "app-Secret-7f3a9c"

type oauthEnv struct {
	*env
	d   *imaptest.Dovecot
	is  *imaptest.Issuer
	log *syncBuf
}

func newOAuthEnv(t *testing.T, alg string) *oauthEnv {
	is := imaptest.NewIssuer(t, alg)
	d := imaptest.NewDovecotWith(t, imaptest.DovecotOptions{Users: 3, OAuth: is})
	e := newEnv(t, func(testing.TB) serverHandle { return d })
	is.AddClient("sysvak-app", appSecret, e.user)
	return &oauthEnv{env: e, d: d, is: is, log: &syncBuf{}}
}

func (o *oauthEnv) clientCredentials(sec string) mailauth.Source {
	o.t.Helper()
	src, err := mailauth.NewClientCredentials(mailauth.ClientCredentialsConfig{TokenURL: o.is.TokenURL(), ClientID: "sysvak-app",
		ClientSecret: secret.New([]byte(sec)), Scopes: []string{"https://outlook.office365.com/.default"}})
	if err != nil {
		o.t.Fatal(err)
	}
	return src
}

// oauthPoller is a poller that logs in with mech and src (no password), logging into o.log.
func (o *oauthEnv) oauthPoller(mech mailauth.Mechanism, src mailauth.Source, mod ...func(*Config)) *Poller {
	o.t.Helper()
	cfg := o.config(append([]func(*Config){func(c *Config) {
		c.Password = secret.Secret{}
		c.SASL = &mailauth.Authenticator{Mech: mech, User: o.user, Addr: o.d.Addr(), Source: src}
	}}, mod...)...)
	p, err := New(cfg, zerolog.New(o.log))
	if err != nil {
		o.t.Fatal(err)
	}
	o.t.Cleanup(func() { p.Close() })
	return p
}

func (o *oauthEnv) appendN(from, n int) {
	for i := from; i < from+n; i++ {
		o.append("INBOX", mailgen.Message{Subject: fmt.Sprint("oauth ", i), MessageID: fmt.Sprintf("oauth-%d@test", i),
			Attachments: []mailgen.Attachment{{Name: "v.xlsx", Data: mailgen.Content("ole", uint64(1000+i), 1500)}}}.Bytes())
	}
}

// logins counts Dovecot's successful logins of the user with mech.
func (o *oauthEnv) logins(mech string) int {
	return strings.Count(o.d.Log(), fmt.Sprintf("Login: user=<%s>, method=%s,", o.user, mech))
}

// noSecrets checks the poller's log and every file of the state folder for the client secret
// and for any JWT (every access token the issuer signs starts with "eyJ").
func (o *oauthEnv) noSecrets() {
	o.t.Helper()
	for _, bad := range []string{appSecret, "eyJ"} {
		if strings.Contains(o.log.String(), bad) {
			o.t.Errorf("poller log holds %q:\n%s", bad, o.log.String())
		}
	}
	_ = filepath.WalkDir(o.state, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		for _, bad := range []string{appSecret, "eyJ"} {
			if strings.Contains(string(b), bad) {
				o.t.Errorf("state file %s holds %q", path, bad)
			}
		}
		return nil
	})
}

func TestOAuthLoginDovecot(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		mech mailauth.Mechanism
	}{
		{imaptest.AlgHS256, mailauth.MechXOAUTH2},
		{imaptest.AlgRS256, mailauth.MechOAUTHBEARER},
		{imaptest.AlgRS256, mailauth.MechXOAUTH2},
		{imaptest.AlgHS256, mailauth.MechOAUTHBEARER},
	} {
		t.Run(tc.alg+"_"+string(tc.mech), func(t *testing.T) {
			o := newOAuthEnv(t, tc.alg)
			o.appendN(0, 2)
			p := o.oauthPoller(tc.mech, o.clientCredentials(appSecret))
			res := mustPoll(t, p)
			if res.Messages != 2 || len(res.Spooled) != 2 || o.count("Processed") != 2 || o.count("INBOX") != 0 {
				t.Fatalf("messages %d spooled %d processed %d inbox %d", res.Messages, len(res.Spooled), o.count("Processed"), o.count("INBOX"))
			}
			if n := o.logins(strings.ToUpper(string(tc.mech))); n != 1 {
				t.Errorf("%d %s logins in Dovecot's log, want 1:\n%s", n, tc.mech, o.d.Log())
			}
			o.noSecrets()
		})
	}
}

// A wrong client secret: the endpoint's error reaches the caller (and so the operator), the
// long-running poller stops at once instead of retrying, nothing leaks, nothing is lost.
func TestOAuthWrongClientSecret(t *testing.T) {
	o := newOAuthEnv(t, imaptest.AlgHS256)
	o.appendN(0, 1)
	p := o.oauthPoller(mailauth.MechXOAUTH2, o.clientCredentials("wrong-"+appSecret))
	_, err := p.PollOnce(context.Background())
	var ee *mailauth.EndpointError
	if !errors.As(err, &ee) || ee.Code != "invalid_client" || !errors.Is(err, ErrIMAP) {
		t.Fatalf("want the endpoint's invalid_client, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "TEST7000215: Invalid client secret provided.") || strings.Contains(msg, appSecret) {
		t.Errorf("message: %s", msg)
	}
	refused := o.is.Refused()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Run(ctx, nil); !errors.As(err, &ee) {
		t.Fatalf("Run: want the endpoint's error, got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run kept retrying a refused client")
	}
	if n := o.is.Refused() - refused; n == 0 || n > 2 { // x/oauth2 tries HTTP Basic, then the form
		t.Errorf("Run asked the endpoint %d times", n)
	}
	if o.count("INBOX") != 1 || o.is.Issued() != 0 {
		t.Errorf("inbox %d, issued %d", o.count("INBOX"), o.is.Issued())
	}
	o.log.Write([]byte(err.Error()))
	o.noSecrets()
}

// staleFirst hands out a token the server will refuse until it is invalidated, then the real
// source's: a token revoked or signed with a key the server no longer trusts.
type staleFirst struct {
	mailauth.Source
	stale       string
	invalidated atomic.Bool
}

func (s *staleFirst) Token(ctx context.Context) (mailauth.Token, error) {
	if !s.invalidated.Load() {
		return mailauth.Token{Value: secret.New([]byte(s.stale)), Expiry: time.Now().Add(time.Hour)}, nil
	}
	return s.Source.Token(ctx)
}

func (s *staleFirst) Invalidate() { s.invalidated.Store(true); s.Source.Invalidate() }

// constToken is a source whose token is always the same (and refused).
type constToken string

func (c constToken) Token(context.Context) (mailauth.Token, error) {
	return mailauth.Token{Value: secret.New([]byte(c))}, nil
}
func (constToken) Invalidate() {}

func TestOAuthRefreshOnceAfterRefusal(t *testing.T) {
	o := newOAuthEnv(t, imaptest.AlgRS256)
	other := imaptest.NewIssuer(t, imaptest.AlgRS256)
	forged, err := other.Mint(o.user, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	o.appendN(0, 1)
	src := &staleFirst{Source: o.clientCredentials(appSecret), stale: forged}
	res := mustPoll(t, o.oauthPoller(mailauth.MechOAUTHBEARER, src))
	if res.Messages != 1 || o.is.Issued() != 1 || o.logins("OAUTHBEARER") != 1 {
		t.Fatalf("messages %d issued %d logins %d", res.Messages, o.is.Issued(), o.logins("OAUTHBEARER"))
	}
	if !strings.Contains(o.d.Log(), "Incorrect JWT signature") && !strings.Contains(o.d.Log(), "Bad signature") {
		t.Errorf("Dovecot did not refuse the first token:\n%s", o.d.Log())
	}
	// Refused twice (the new token too): one retry only, and the error says what the server said.
	o.appendN(1, 1)
	bad := constToken(forged)
	_, err = o.oauthPoller(mailauth.MechOAUTHBEARER, bad, func(c *Config) { *c = withState(*c, t.TempDir()) }).PollOnce(context.Background())
	if !errors.Is(err, ErrIMAP) || !strings.Contains(err.Error(), "invalid_token") {
		t.Fatalf("want a refused login naming the server's status, got %v", err)
	}
	o.noSecrets()
}

// runPoller runs p until the test has seen want messages taken (or 60 s), then stops it.
func runPoller(t *testing.T, p *Poller, want int, during func()) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var taken atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	var runErr error
	go func() {
		defer wg.Done()
		runErr = p.Run(ctx, func(_ context.Context, r Result) error { taken.Add(int32(r.Messages)); return nil })
	}()
	during()
	deadline := time.Now().Add(60 * time.Second)
	for int(taken.Load()) < want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if runErr != nil {
		t.Errorf("Run: %v", runErr)
	}
	return int(taken.Load())
}

// Tokens that live three seconds, a poller that runs for many of their lifetimes with mail
// arriving all along: it logs in again with a new token before each expires, misses nothing, and
// never shows Dovecot an expired token.
func TestOAuthShortLivedTokensLongPoll(t *testing.T) {
	o := newOAuthEnv(t, imaptest.AlgHS256)
	o.is.SetLifetime(3 * time.Second)
	p := o.oauthPoller(mailauth.MechXOAUTH2, o.clientCredentials(appSecret), func(c *Config) { c.Interval = 700 * time.Millisecond })
	const n = 16
	taken := runPoller(t, p, n, func() {
		for i := 0; i < n; i++ {
			o.appendN(i, 1)
			time.Sleep(600 * time.Millisecond) // about ten seconds: three token lifetimes and more
		}
	})
	if taken != n || o.count("Processed") != n || o.count("INBOX") != 0 {
		t.Fatalf("taken %d processed %d inbox %d, want %d", taken, o.count("Processed"), o.count("INBOX"), n)
	}
	if o.is.Issued() < 3 || o.logins("XOAUTH2") != o.is.Issued() {
		t.Errorf("issued %d tokens, %d logins: want a new token and login per lifetime, each login on a new token", o.is.Issued(), o.logins("XOAUTH2"))
	}
	if strings.Contains(o.d.Log(), "Token has expired") || strings.Contains(o.d.Log(), "auth failed") {
		t.Errorf("Dovecot refused a login:\n%s", o.d.Log())
	}
	o.noSecrets()
}

// A token file kept fresh by another tool: the poller reads it again when it changes, logs in
// with the new token, and a refused token is read again (once) from the file.
func TestOAuthTokenFileChanges(t *testing.T) {
	o := newOAuthEnv(t, imaptest.AlgRS256)
	path := filepath.Join(t.TempDir(), "imap.token")
	write := func(life time.Duration) {
		t.Helper()
		tok, err := o.is.Mint(o.user, "", life)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".new", []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	src, err := mailauth.NewTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// An expired token in the file: refused, read again, still the same: the pass fails.
	write(-time.Minute)
	o.appendN(0, 1)
	p := o.oauthPoller(mailauth.MechOAUTHBEARER, src, func(c *Config) { c.Interval = 500 * time.Millisecond })
	if _, err := p.PollOnce(context.Background()); !errors.Is(err, ErrIMAP) {
		t.Fatalf("expired token: %v", err)
	}
	// The refresher writes a good one: the next pass reads it.
	write(3 * time.Second)
	if res, err := p.PollOnce(context.Background()); err != nil || res.Messages != 1 {
		t.Fatalf("after the file changed: %d messages, %v\n%s", res.Messages, err, o.d.Log())
	}
	// Long run: the refresher replaces the 3-second token every 1.5 s.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(1500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				write(3 * time.Second)
			}
		}
	}()
	const n = 12
	taken := runPoller(t, p, n, func() {
		for i := 1; i <= n; i++ {
			o.appendN(i, 1)
			time.Sleep(600 * time.Millisecond)
		}
	})
	close(stop)
	wg.Wait()
	if taken != n || o.count("INBOX") != 0 {
		t.Fatalf("taken %d, inbox %d, want %d", taken, o.count("INBOX"), n)
	}
	if l := o.logins("OAUTHBEARER"); l < 3 {
		t.Errorf("%d logins over several token lifetimes, want >= 3", l)
	}
	o.noSecrets()
}
