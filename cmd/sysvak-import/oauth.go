package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/fhi/sysvak-import/internal/mailauth"
	"github.com/fhi/sysvak-import/internal/secret"
)

// oauthFlags are SPEC 11's token-source flags, shared by every command that logs in to a mail
// server with OAuth 2.0 (poll's --imap-auth, the receipt sender's --smtp-auth).
type oauthFlags struct {
	tokenURL, clientID, clientSecretFile, scope, tokenFile string
	// src is the source once built: IMAP and SMTP logins of one process share it, so one token
	// (Exchange Online's https://outlook.office365.com/.default covers both) serves both.
	src mailauth.Source
}

func addOAuthFlags(fs *flag.FlagSet, o *oauthFlags) {
	fs.StringVar(&o.tokenURL, "oauth-token-url", "", "OAuth 2.0 token endpoint for the client-credentials grant (Exchange Online: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)")
	fs.StringVar(&o.clientID, "oauth-client-id", "", "OAuth 2.0 client (application) id")
	fs.StringVar(&o.clientSecretFile, "oauth-client-secret-file", "", "file whose first line is the OAuth client secret (or env SYSVAK_OAUTH_CLIENT_SECRET)")
	fs.StringVar(&o.scope, "oauth-scope", "", "scopes to ask for, space-separated (Exchange Online: https://outlook.office365.com/.default)")
	fs.StringVar(&o.tokenFile, "oauth-token-file", "", "file whose first line is an access token kept fresh by another tool (read again when it changes)")
}

// source builds the token source the flags describe: the client-credentials grant or the token
// file. The client secret comes from its file or the environment, never from a flag value.
// Errors are configuration errors (exit 3).
func (o *oauthFlags) source(ctx context.Context, e *env) (mailauth.Source, error) {
	if o.src != nil {
		return o.src, nil
	}
	src, err := o.newSource(ctx, e)
	if err == nil {
		o.src = src
	}
	return src, err
}

func (o *oauthFlags) newSource(ctx context.Context, e *env) (mailauth.Source, error) {
	switch {
	case o.tokenURL != "" && o.tokenFile != "":
		return nil, fmt.Errorf("give either --oauth-token-url (client credentials) or --oauth-token-file, not both")
	case o.tokenFile != "":
		return mailauth.NewTokenFile(o.tokenFile)
	case o.tokenURL == "":
		return nil, fmt.Errorf("an OAuth login needs --oauth-token-url with --oauth-client-id and the client secret, or --oauth-token-file")
	}
	var sec secret.Secret
	switch {
	case o.clientSecretFile != "":
		s, err := secret.ReadFile(ctx, o.clientSecretFile, e.stdin)
		if err != nil {
			return nil, fmt.Errorf("--oauth-client-secret-file: %w", err)
		}
		sec = s
	case e.getenv("SYSVAK_OAUTH_CLIENT_SECRET") != "":
		sec = secret.New([]byte(e.getenv("SYSVAK_OAUTH_CLIENT_SECRET")))
	}
	return mailauth.NewClientCredentials(mailauth.ClientCredentialsConfig{
		TokenURL: o.tokenURL, ClientID: o.clientID, ClientSecret: sec, Scopes: strings.Fields(o.scope),
	})
}

// saslLogin returns the SASL login for mech (nil for password logins).
func (o *oauthFlags) saslLogin(ctx context.Context, e *env, mech mailauth.Mechanism, user, addr string) (*mailauth.Authenticator, error) {
	if !mech.OAuth() {
		return nil, nil
	}
	src, err := o.source(ctx, e)
	if err != nil {
		return nil, err
	}
	return &mailauth.Authenticator{Mech: mech, User: user, Addr: addr, Source: src}, nil
}
