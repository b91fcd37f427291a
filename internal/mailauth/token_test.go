package mailauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/internal/secret"
)

const testSecret = "s3cret-Client-Value~42"

// endpoint is a client-credentials token endpoint: it checks the client id and secret (HTTP
// Basic or form, RFC 6749 2.3.1) and hands out tok-1, tok-2, ... living `life` seconds.
type endpoint struct {
	n     atomic.Int32
	life  int
	scope atomic.Value
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	e.scope.Store(r.PostForm.Get("scope"))
	w.Header().Set("Content-Type", "application/json")
	if id != "app" || sec != testSecret {
		w.WriteHeader(http.StatusUnauthorized)
		// Like Entra ID: an error code and a description naming the cause.
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
		return
	}
	n := e.n.Add(1)
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": e.life})
}

func newCC(t *testing.T, url, sec string) *ccSource {
	t.Helper()
	s, err := NewClientCredentials(ClientCredentialsConfig{TokenURL: url, ClientID: "app", ClientSecret: secret.New([]byte(sec)),
		Scopes: []string{"https://outlook.office365.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*ccSource)
}

func value(t *testing.T, s Source) string {
	t.Helper()
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return string(tok.Value.Bytes())
}

func TestClientCredentialsCacheAndRefresh(t *testing.T) {
	ep := &endpoint{life: 3600}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	s := newCC(t, srv.URL, testSecret)
	clock := time.Now()
	s.cache.now = func() time.Time { return clock }

	if got := value(t, s); got != "tok-1" {
		t.Fatalf("first token %q", got)
	}
	if sc, _ := ep.scope.Load().(string); sc != "https://outlook.office365.com/.default" {
		t.Errorf("scope sent %q", sc)
	}
	clock = clock.Add(50 * time.Minute) // 10 min left: still fresh (margin 5 min)
	if got := value(t, s); got != "tok-1" {
		t.Fatalf("cached token expected, got %q", got)
	}
	clock = clock.Add(6 * time.Minute) // 4 min left: refreshed before expiry
	if got := value(t, s); got != "tok-2" {
		t.Fatalf("refresh before expiry expected, got %q", got)
	}
	s.Invalidate() // the server refused tok-2
	if got := value(t, s); got != "tok-3" {
		t.Fatalf("refresh after invalidate expected, got %q", got)
	}
	if n := ep.n.Load(); n != 3 {
		t.Errorf("%d token requests, want 3", n)
	}
}

func TestShortLivedTokensRefreshEarly(t *testing.T) {
	ep := &endpoint{life: 4}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	s := newCC(t, srv.URL, testSecret)
	clock := time.Now()
	s.cache.now = func() time.Time { return clock }
	first, _ := s.Token(context.Background())
	clock = clock.Add(2 * time.Second)
	if got := value(t, s); got != "tok-1" {
		t.Fatalf("got %q", got)
	}
	clock = clock.Add(1500 * time.Millisecond) // 0.5 s left, margin is 1 s
	if got := value(t, s); got != "tok-2" {
		t.Fatalf("got %q", got)
	}
	if first.Expiry.IsZero() {
		t.Error("expiry not known")
	}
}

// The endpoint's refusal reaches the operator: code and description, the HTTP status, and
// nothing of the secret; not in the error, not in a log line that carries it.
func TestEndpointRefusalIsShownAndSecretNotLeaked(t *testing.T) {
	srv := httptest.NewServer(&endpoint{life: 60})
	defer srv.Close()
	s := newCC(t, srv.URL, "wrong-"+testSecret)
	_, err := s.Token(context.Background())
	var ee *EndpointError
	if !errors.As(err, &ee) {
		t.Fatalf("want *EndpointError, got %T %v", err, err)
	}
	if ee.Code != "invalid_client" || ee.HTTPStatus != 401 || !ee.Permanent() {
		t.Errorf("got %+v", ee)
	}
	msg := err.Error()
	if !strings.Contains(msg, "invalid_client") || !strings.Contains(msg, "AADSTS7000215") {
		t.Errorf("message lacks the endpoint's error: %s", msg)
	}
	var logBuf strings.Builder
	lg := zerolog.New(&logBuf)
	lg.Error().Err(err).Interface("token", Token{Value: secret.New([]byte("tok-1"))}).Msg("login failed")
	for _, out := range []string{msg, fmt.Sprintf("%+v %#v", err, ee), logBuf.String()} {
		if strings.Contains(out, testSecret) || strings.Contains(out, "tok-1") {
			t.Errorf("secret or token leaked: %s", out)
		}
	}
}

// An endpoint that answers with something other than RFC 6749 JSON, echoing the request
// (secret included): x/oauth2's own error would print that body; ours does not.
func TestEchoingEndpointDoesNotLeak(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_, sec, _ := r.BasicAuth()
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>proxy error for %s %s</html>", sec, r.PostForm.Encode())
	}))
	defer srv.Close()
	s := newCC(t, srv.URL, testSecret)
	_, err := s.Token(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("secret leaked: %v", err)
	}
	var ee *EndpointError
	if !errors.As(err, &ee) || ee.HTTPStatus != http.StatusBadGateway || ee.Permanent() {
		t.Errorf("got %#v", err)
	}
}

func TestEndpointErrorPermanent(t *testing.T) {
	for status, want := range map[int]bool{400: true, 401: true, 403: true, 408: false, 429: false, 500: false, 503: false, 0: false} {
		if got := (&EndpointError{HTTPStatus: status}).Permanent(); got != want {
			t.Errorf("HTTP %d: permanent %v, want %v", status, got, want)
		}
	}
}

func TestCheckTokenURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", true},
		{"https://oauth2.googleapis.com/token", true},
		{"http://127.0.0.1:8080/token", true},
		{"http://[::1]:8080/token", true},
		{"http://localhost/token", true},
		{"http://login.microsoftonline.com/x/oauth2/v2.0/token", false},
		{"http://10.0.0.1/token", false},
		{"https://app:pw@idp.example/token", false},
		{"ftp://idp.example/token", false},
		{"idp.example/token", false},
	}
	for _, tt := range tests {
		if err := CheckTokenURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckTokenURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		} else if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("not ErrConfig: %v", err)
		}
	}
}

func TestNewClientCredentialsNeedsSecret(t *testing.T) {
	_, err := NewClientCredentials(ClientCredentialsConfig{TokenURL: "https://idp.example/token", ClientID: "app"})
	if !errors.Is(err, ErrConfig) {
		t.Errorf("got %v", err)
	}
}

func fakeJWT(exp int64) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"x","exp":%d}`, exp))) + ".sig"
}

func TestTokenFileReReadWhenChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	write := func(s string) {
		t.Helper()
		// Like a refresher tool: write a new file and rename it over the old one.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	src, err := NewTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(context.Background()); !errors.Is(err, ErrTokenFile) {
		t.Fatalf("missing file: %v", err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	jwt1 := fakeJWT(exp)
	write(jwt1 + "\nsecond line ignored\n")
	tok, err := src.Token(context.Background())
	if err != nil || string(tok.Value.Bytes()) != jwt1 || tok.Expiry.Unix() != exp {
		t.Fatalf("got %v %v %v", tok.Value.Bytes(), tok.Expiry, err)
	}
	long := strings.Repeat("x", 3000) // a JWT with many claims: far beyond a password line
	write(long + "\r\n")
	if got := value(t, src); got != long {
		t.Fatalf("long token: %d bytes read", len(got))
	}
	write("opaque-token-2\n")
	if got := value(t, src); got != "opaque-token-2" {
		t.Fatalf("changed file not re-read: %q", got)
	}
	// Rewritten in place with the same size and (coarse) time: Invalidate forces a re-read.
	if err := os.WriteFile(path, []byte("opaque-token-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src.Invalidate()
	if got := value(t, src); got != "opaque-token-3" {
		t.Fatalf("after Invalidate: %q", got)
	}
	write("\n")
	if _, err := src.Token(context.Background()); !errors.Is(err, ErrTokenFile) || strings.Contains(err.Error(), "opaque") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestJWTExpiry(t *testing.T) {
	if !jwtExpiry([]byte("opaque")).IsZero() || !jwtExpiry([]byte("a.b.c")).IsZero() {
		t.Error("non-JWT has an expiry")
	}
	if got := jwtExpiry([]byte(fakeJWT(2000000000))); got.Unix() != 2000000000 {
		t.Errorf("got %v", got)
	}
}

func TestNewSASLClientUsesSource(t *testing.T) {
	ep := &endpoint{life: 3600}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	a := &Authenticator{Mech: MechOAUTHBEARER, User: "sysvak@fhi.no", Addr: "outlook.office365.com:993", Source: newCC(t, srv.URL, testSecret)}
	c, exp, err := a.SASLClient(context.Background(), false)
	if err != nil || exp.IsZero() {
		t.Fatal(err, exp)
	}
	mech, ir, _ := c.Start()
	if want := "n,a=sysvak@fhi.no,\x01host=outlook.office365.com\x01port=993\x01auth=Bearer tok-1\x01\x01"; mech != "OAUTHBEARER" || string(ir) != want {
		t.Errorf("got %s %q", mech, ir)
	}
	c, _, _ = a.SASLClient(context.Background(), true)
	if _, ir, _ := c.Start(); !strings.Contains(string(ir), "tok-2") {
		t.Errorf("fresh=true did not fetch a new token: %q", ir)
	}
	c2, err := a.SASLFunc()(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ir, _ := c2.Start(); !strings.Contains(string(ir), "tok-3") {
		t.Errorf("SASLFunc(retry) did not fetch a new token: %q", ir)
	}
	if _, _, err := NewSASLClient(context.Background(), MechPassword, "u", "", a.Source); !errors.Is(err, ErrConfig) {
		t.Errorf("password mechanism: %v", err)
	}
}
