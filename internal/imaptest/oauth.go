package imaptest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Issuer is an OAuth 2.0 authorization server for tests (SPEC 11, issue 13): a token endpoint
// on 127.0.0.1 (net/http/httptest) that implements the client-credentials grant of RFC 6749
// section 4.4 and issues JWT access tokens signed with the test's own key (HS256 or RS256).
// A Dovecot started with DovecotOptions.OAuth set validates those tokens locally with the same
// key (oauth2 passdb, introspection_mode = local), as Exchange Online or Gmail validate theirs.
type Issuer struct {
	alg     string
	hmacKey []byte
	rsaKey  *rsa.PrivateKey
	srv     *httptest.Server

	mu       sync.Mutex
	clients  map[string]issuerClient
	lifetime time.Duration
	issued   int
	refused  int
}

type issuerClient struct {
	secret  string
	subject string // the mailbox the client's tokens are for (JWT "sub", Dovecot's user name)
}

// Signing algorithms the Issuer offers.
const (
	AlgHS256 = "HS256"
	AlgRS256 = "RS256"
)

// StartIssuer starts an issuer signing with alg (AlgHS256 or AlgRS256); tokens live one hour
// until SetLifetime says otherwise. Stop it with Close.
func StartIssuer(alg string) (*Issuer, error) {
	is := &Issuer{alg: alg, clients: map[string]issuerClient{}, lifetime: time.Hour}
	switch alg {
	case AlgHS256:
		is.hmacKey = make([]byte, 32)
		if _, err := rand.Read(is.hmacKey); err != nil {
			return nil, fmt.Errorf("imaptest: %w", err)
		}
	case AlgRS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("imaptest: %w", err)
		}
		is.rsaKey = k
	default:
		return nil, fmt.Errorf("imaptest: unsupported JWT algorithm %q", alg)
	}
	is.srv = httptest.NewServer(http.HandlerFunc(is.serveToken))
	return is, nil
}

// NewIssuer starts an issuer for the test and stops it when the test ends.
func NewIssuer(tb TB, alg string) *Issuer {
	tb.Helper()
	is, err := StartIssuer(alg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(is.Close)
	return is
}

// Close stops the token endpoint.
func (is *Issuer) Close() { is.srv.Close() }

// TokenURL is the token endpoint (http on 127.0.0.1).
func (is *Issuer) TokenURL() string { return is.srv.URL + "/oauth2/v2.0/token" }

// AddClient registers an application: its client id, its secret, and the mailbox user its
// tokens are for.
func (is *Issuer) AddClient(id, secret, subject string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.clients[id] = issuerClient{secret: secret, subject: subject}
}

// SetLifetime sets the lifetime of the tokens issued from now on (expires_in and the JWT exp).
func (is *Issuer) SetLifetime(d time.Duration) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.lifetime = d
}

// Issued is the number of tokens issued; Refused the number of requests refused.
func (is *Issuer) Issued() int { is.mu.Lock(); defer is.mu.Unlock(); return is.issued }

// Refused is the number of token requests refused.
func (is *Issuer) Refused() int { is.mu.Lock(); defer is.mu.Unlock(); return is.refused }

func (is *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, code, desc string) {
		is.mu.Lock()
		is.refused++
		is.mu.Unlock()
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, sec, basic := r.BasicAuth() // RFC 6749 2.3.1: HTTP Basic, or the form parameters
	if !basic {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	is.mu.Lock()
	c, known := is.clients[id]
	life := is.lifetime
	is.mu.Unlock()
	if !known {
		fail(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("TEST0700016: Application with identifier '%s' was not found.", id))
		return
	}
	if subtle.ConstantTimeCompare([]byte(sec), []byte(c.secret)) != 1 {
		fail(http.StatusUnauthorized, "invalid_client", "TEST7000215: Invalid client secret provided.")
		return
	}
	tok, err := is.Mint(c.subject, r.PostForm.Get("scope"), life)
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	is.mu.Lock()
	is.issued++
	is.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(life.Round(time.Second) / time.Second),
	})
}

// Mint signs an access token for subject, valid for life from now (as a refresher tool would put
// into a token file).
func (is *Issuer) Mint(subject, scope string, life time.Duration) (string, error) {
	now := time.Now()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": is.alg, "typ": "JWT"})
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	claims, _ := json.Marshal(map[string]any{
		"iss": is.srv.URL, "sub": subject, "scope": scope, "jti": enc.EncodeToString(nonce),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
	})
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	var sig []byte
	switch is.alg {
	case AlgHS256:
		m := hmac.New(sha256.New, is.hmacKey)
		m.Write([]byte(signing))
		sig = m.Sum(nil)
	case AlgRS256:
		sum := sha256.Sum256([]byte(signing))
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, is.rsaKey, crypto.SHA256, sum[:]); err != nil {
			return "", fmt.Errorf("imaptest: %w", err)
		}
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// writeValidationKey puts the verification key where Dovecot's local validation looks for it:
// the key dict's path <prefix>/<azp, or "default">/<alg>/<kid, or "default">, base64 for HMAC
// keys and PEM for public keys.
func (is *Issuer) writeValidationKey(prefix string) error {
	dir := filepath.Join(prefix, "default", is.alg)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("imaptest: %w", err)
	}
	var val []byte
	switch is.alg {
	case AlgHS256:
		val = []byte(base64.StdEncoding.EncodeToString(is.hmacKey))
	case AlgRS256:
		der, err := x509.MarshalPKIXPublicKey(&is.rsaKey.PublicKey)
		if err != nil {
			return fmt.Errorf("imaptest: %w", err)
		}
		val = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	if err := os.WriteFile(filepath.Join(dir, "default"), val, 0o600); err != nil {
		return fmt.Errorf("imaptest: %w", err)
	}
	return nil
}
