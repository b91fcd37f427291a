package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/fixtures/mail/mailgen"
	"github.com/fhi/sysvak-import/internal/imaptest"
)

// `poll --imap-auth xoauth2|oauthbearer` against real Dovecot validating the JWTs of the test's
// token endpoint (SPEC 11): the client-credentials grant with the secret from a file or the
// environment, a token file, and a wrong client secret (exit 4 with the endpoint's error text,
// no secret or token anywhere).
func TestPollOAuthDovecot(t *testing.T) {
	is := imaptest.NewIssuer(t, imaptest.AlgRS256)
	d := imaptest.NewDovecotWith(t, imaptest.DovecotOptions{Users: 6, OAuth: is})
	plain, err := fixturegen.CleanBook().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	const clientSecret = "Cl1ent~Secret.Value-9"
	type setup struct {
		dir, user string
		args      []string
		env       map[string]string
		admin     *imaptest.Client
	}
	newSetup := func(t *testing.T, mech string) *setup {
		u, p := d.NewUser(t)
		s := &setup{dir: t.TempDir(), user: u, env: map[string]string{}, admin: imaptest.Login(t, d.Addr(), u, p)}
		is.AddClient("app-"+u, clientSecret, u)
		if err := s.admin.Append("INBOX", mailgen.Message{Subject: "oauth", Attachments: []mailgen.Attachment{{Name: "a.xlsx", Data: plain}}}.Bytes()); err != nil {
			t.Fatal(err)
		}
		s.args = []string{"poll", "--once", "--imap-addr", d.Addr(), "--imap-tls", "insecure", "--imap-user", u, "--imap-auth", mech,
			"--state", filepath.Join(s.dir, "state"), "--out", filepath.Join(s.dir, "out"), "--as-of", "2026-11-23", "--log-format", "json", "--log-level", "debug"}
		return s
	}
	write := func(t *testing.T, dir, name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// noLeak checks the run's output and every file it wrote for the secret and for JWTs.
	noLeak := func(t *testing.T, s *setup, r result, tokens ...string) {
		t.Helper()
		bad := append([]string{clientSecret, "eyJ"}, tokens...)
		check := func(where, text string) {
			for _, b := range bad {
				if strings.Contains(text, b) {
					t.Errorf("%s holds a secret or token (%.12s...)", where, b)
				}
			}
		}
		check("stdout", r.stdout)
		check("stderr", r.stderr)
		_ = filepath.WalkDir(s.dir, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || strings.HasSuffix(path, ".secret") || strings.HasSuffix(path, ".token") {
				return nil
			}
			b, _ := os.ReadFile(path)
			check(path, string(b))
			return nil
		})
	}
	ccArgs := func(s *setup) []string {
		return []string{"--oauth-token-url", is.TokenURL(), "--oauth-client-id", "app-" + s.user, "--oauth-scope", "https://outlook.office365.com/.default"}
	}

	t.Run("xoauth2 client credentials, secret file", func(t *testing.T) {
		s := newSetup(t, "xoauth2")
		args := append(append(s.args, ccArgs(s)...), "--oauth-client-secret-file", write(t, s.dir, "client.secret", clientSecret))
		r := runCLI(t, s.env, args...)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if n, _ := s.admin.Count("Processed"); n != 1 || !strings.Contains(d.Log(), "user=<"+s.user+">, method=XOAUTH2") {
			t.Fatalf("processed %d; Dovecot log:\n%s", n, d.Log())
		}
		noLeak(t, s, r)
	})
	t.Run("oauthbearer client credentials, secret in the environment", func(t *testing.T) {
		s := newSetup(t, "oauthbearer")
		s.env["SYSVAK_OAUTH_CLIENT_SECRET"] = clientSecret
		r := runCLI(t, s.env, append(s.args, ccArgs(s)...)...)
		if r.code != exitOK || !strings.Contains(d.Log(), "user=<"+s.user+">, method=OAUTHBEARER") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		noLeak(t, s, r)
	})
	t.Run("token file", func(t *testing.T) {
		s := newSetup(t, "oauthbearer")
		tok, err := is.Mint(s.user, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, s.env, append(s.args, "--oauth-token-file", write(t, s.dir, "imap.token", tok))...)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		noLeak(t, s, r, tok)
	})
	t.Run("wrong client secret", func(t *testing.T) {
		s := newSetup(t, "xoauth2")
		s.env["SYSVAK_OAUTH_CLIENT_SECRET"] = "wrong-" + clientSecret
		r := runCLI(t, s.env, append(s.args, ccArgs(s)...)...)
		if r.code != exitOperational {
			t.Fatalf("exit %d, want 4: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "invalid_client") || !strings.Contains(r.stderr, "TEST7000215: Invalid client secret provided.") {
			t.Errorf("stderr lacks the endpoint's error: %s", r.stderr)
		}
		if n, _ := s.admin.Count("INBOX"); n != 1 {
			t.Errorf("INBOX has %d messages, want 1 (nothing taken)", n)
		}
		noLeak(t, s, r, "wrong-"+clientSecret)

		// The long-running poller stops too (a wrong secret does not cure itself), with exit 4.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		args := slices.DeleteFunc(append(s.args, ccArgs(s)...), func(a string) bool { return a == "--once" })
		r = runCLICtx(ctx, s.env, args...)
		if ctx.Err() != nil || r.code != exitOperational || !strings.Contains(r.stderr, "invalid_client") {
			t.Fatalf("long-running poller: exit %d (timed out: %v): %s", r.code, ctx.Err() != nil, r.stderr)
		}
		noLeak(t, s, r, "wrong-"+clientSecret)
	})
	t.Run("configuration errors", func(t *testing.T) {
		s := newSetup(t, "xoauth2")
		cases := map[string][]string{
			"no token source":   nil,
			"no client secret":  ccArgs(s),
			"both sources":      append(ccArgs(s), "--oauth-token-file", "/nonexistent"),
			"http off loopback": {"--oauth-token-url", "http://login.example.com/token", "--oauth-client-id", "x", "--oauth-client-secret-file", write(t, s.dir, "c.secret", clientSecret)},
			"unknown mechanism": {"--imap-auth", "cram-md5"},
		}
		for name, extra := range cases {
			if r := runCLI(t, s.env, append(s.args, extra...)...); r.code != exitUsage {
				t.Errorf("%s: exit %d, want 3: %s", name, r.code, r.stderr)
			}
		}
		cfg := write(t, s.dir, "c.toml", `oauth-client-secret = "`+clientSecret+`"`)
		r := runCLI(t, s.env, append(s.args, "--config", cfg)...)
		if r.code != exitUsage || strings.Contains(r.stderr, clientSecret) {
			t.Errorf("a secret in the config file: exit %d, %s", r.code, r.stderr)
		}
	})
}

// IMAP and SMTP logins of one process share one token source (one token serves both).
func TestOAuthSourceShared(t *testing.T) {
	o := &oauthFlags{tokenURL: "https://login.microsoftonline.com/t/oauth2/v2.0/token", clientID: "app"}
	e := &env{getenv: func(k string) string { return map[string]string{"SYSVAK_OAUTH_CLIENT_SECRET": "s"}[k] }}
	imap, err := o.saslLogin(context.Background(), e, "xoauth2", "vaksine@fhi.no", "outlook.office365.com:993")
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := o.saslLogin(context.Background(), e, "xoauth2", "vaksine@fhi.no", "smtp.office365.com:587")
	if err != nil {
		t.Fatal(err)
	}
	if imap.Source != smtp.Source {
		t.Error("two token sources for one set of --oauth-* flags")
	}
}
