package imaptest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/secret"
)

// Real Dovecot with its oauth2 passdb validating the issuer's JWTs locally: both mechanisms and
// both signing algorithms log in with a token from the client-credentials grant; an expired
// token, a token for another user, a token signed with another key and the password are refused.
func TestDovecotOAuth(t *testing.T) {
	for _, alg := range []string{AlgHS256, AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			is := NewIssuer(t, alg)
			d := NewDovecotWith(t, DovecotOptions{Users: 4, OAuth: is})
			user, pass := d.NewUser(t)
			other, _ := d.NewUser(t)
			is.AddClient("app", "client-secret", user)
			src, err := mailauth.NewClientCredentials(mailauth.ClientCredentialsConfig{
				TokenURL: is.TokenURL(), ClientID: "app", ClientSecret: secret.New([]byte("client-secret")), Scopes: []string{"imap"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, mech := range []mailauth.Mechanism{mailauth.MechXOAUTH2, mailauth.MechOAUTHBEARER} {
				sc, _, err := mailauth.NewSASLClient(context.Background(), mech, user, d.Addr(), src)
				if err != nil {
					t.Fatal(err)
				}
				if err := authenticate(d.Addr(), sc); err != nil {
					t.Fatalf("%s login: %v\n%s", mech, err, d.Log())
				}
			}
			if n := is.Issued(); n != 1 {
				t.Errorf("%d tokens issued for two logins, want 1 (cached)", n)
			}
			if !strings.Contains(d.Log(), "method=XOAUTH2") || !strings.Contains(d.Log(), "method=OAUTHBEARER") {
				t.Errorf("Dovecot did not log both OAuth logins:\n%s", d.Log())
			}

			expired, _ := is.Mint(user, "", -time.Minute)
			otherIssuer := NewIssuer(t, alg)
			forged, _ := otherIssuer.Mint(user, "", time.Hour)
			good, _ := is.Mint(user, "", time.Hour)
			refused := []struct {
				name string
				sc   mailauth.Client
			}{
				{"expired", mailauth.NewXOAUTH2Client(user, secret.New([]byte(expired)))},
				{"other user", mailauth.NewOAuthBearerClient(other, secret.New([]byte(good)), mailauth.OAuthBearerOptions{})},
				{"other key", mailauth.NewOAuthBearerClient(user, secret.New([]byte(forged)), mailauth.OAuthBearerOptions{})},
				{"password as token", mailauth.NewXOAUTH2Client(user, secret.New([]byte(pass)))},
			}
			for _, r := range refused {
				err := authenticate(d.Addr(), r.sc)
				var ie *imap.Error
				if !errors.As(err, &ie) {
					t.Errorf("%s: want an IMAP error, got %v", r.name, err)
				}
				// Dovecot sends RFC 7628's error challenge; the client keeps what it said.
				if se := r.sc.ServerError(); se == nil || se.Status == "" {
					t.Errorf("%s: no server error recorded (%v)", r.name, err)
				}
			}
			if !strings.Contains(d.Log(), "Token has expired") {
				t.Errorf("Dovecot did not refuse the expired token for its expiry:\n%s", d.Log())
			}
		})
	}
}

func authenticate(addr string, sc mailauth.Client) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Authenticate(sc); err != nil {
		return err
	}
	_, err = c.Select("INBOX", nil).Wait()
	_ = c.Logout().Wait()
	return err
}
