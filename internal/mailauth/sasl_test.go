package mailauth

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/emersion/go-sasl"

	"github.com/fhi/sysvak-import/internal/secret"
)

// Published examples, byte for byte:
//   - Google's XOAUTH2 protocol page (developers.google.com/gmail/imap/xoauth2-protocol), also
//     quoted by Microsoft's "Authenticate an IMAP, POP or SMTP connection using OAuth": the
//     initial response for someuser@example.com and its error challenge.
//   - RFC 7628 section 4.1 (IMAP, successful OAUTHBEARER), 4.2 (SMTP) and 4.3 (failed exchange).
const (
	googleXOAUTH2User      = "someuser@example.com"
	googleXOAUTH2Token     = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
	googleXOAUTH2Initial   = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
	googleXOAUTH2Challenge = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ=="

	rfc7628User      = "user@example.com"
	rfc7628Token     = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
	rfc7628Initial   = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
	rfc7628SMTP      = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB" // section 4.2
	rfc7628Challenge = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="
	rfc7628Abort     = "AQ==" // the client's answer to the error challenge in section 4.3
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishedInitialResponses(t *testing.T) {
	tests := []struct {
		name     string
		client   Client
		wantMech string
		want     string
	}{
		{"google xoauth2", NewXOAUTH2Client(googleXOAUTH2User, secret.New([]byte(googleXOAUTH2Token))), "XOAUTH2", googleXOAUTH2Initial},
		{"rfc7628 4.1", NewOAuthBearerClient(rfc7628User, secret.New([]byte(rfc7628Token)), OAuthBearerOptions{Host: "server.example.com", Port: 143}), "OAUTHBEARER", rfc7628Initial},
		{"rfc7628 4.2 smtp", NewOAuthBearerClient(rfc7628User, secret.New([]byte(rfc7628Token)), OAuthBearerOptions{Host: "server.example.com", Port: 587}), "OAUTHBEARER", rfc7628SMTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mech, ir, err := tt.client.Start()
			if err != nil {
				t.Fatal(err)
			}
			if mech != tt.wantMech {
				t.Errorf("mechanism %q, want %q", mech, tt.wantMech)
			}
			if got := base64.StdEncoding.EncodeToString(ir); got != tt.want {
				t.Errorf("initial response\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// go-sasl's own OAUTHBEARER client builds the same initial response (a second, independent
// implementation of RFC 7628).
func TestOAuthBearerMatchesGoSASL(t *testing.T) {
	for _, opt := range []sasl.OAuthBearerOptions{
		{Username: rfc7628User, Token: rfc7628Token, Host: "server.example.com", Port: 143},
		{Username: "sysvak@fhi.no", Token: "eyJ.x.y"},
		{Username: "sysvak@fhi.no", Token: "t", Host: "outlook.office365.com", Port: 993},
	} {
		_, want, _ := sasl.NewOAuthBearerClient(&opt).Start()
		_, got, _ := NewOAuthBearerClient(opt.Username, secret.New([]byte(opt.Token)), OAuthBearerOptions{Host: opt.Host, Port: opt.Port}).Start()
		if !bytes.Equal(got, want) {
			t.Errorf("%+v:\n got %q\nwant %q", opt.Host, got, want)
		}
	}
}

func TestErrorChallenges(t *testing.T) {
	tests := []struct {
		name      string
		client    Client
		challenge []byte
		wantResp  []byte
		want      ServerError
	}{
		{"google xoauth2", NewXOAUTH2Client(googleXOAUTH2User, secret.New([]byte(googleXOAUTH2Token))), b64(t, googleXOAUTH2Challenge),
			[]byte{}, ServerError{Mechanism: "XOAUTH2", Status: "401", Schemes: "Bearer", Scope: "https://mail.google.com/"}},
		{"rfc7628 4.3", NewOAuthBearerClient(rfc7628User, secret.New([]byte(rfc7628Token)), OAuthBearerOptions{}), b64(t, rfc7628Challenge),
			b64(t, rfc7628Abort), ServerError{Mechanism: "OAUTHBEARER", Status: "invalid_token", Scope: "example_scope"}},
		{"not json", NewOAuthBearerClient(rfc7628User, secret.New([]byte(rfc7628Token)), OAuthBearerOptions{}), []byte("garbage"),
			b64(t, rfc7628Abort), ServerError{Mechanism: "OAUTHBEARER", Status: "unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.client.ServerError() != nil {
				t.Fatal("server error before any challenge")
			}
			if _, _, err := tt.client.Start(); err != nil {
				t.Fatal(err)
			}
			resp, err := tt.client.Next(tt.challenge)
			if err != nil {
				t.Fatalf("Next must answer the error challenge, not fail: %v", err)
			}
			if resp == nil || !bytes.Equal(resp, tt.wantResp) {
				t.Errorf("response %q, want %q", resp, tt.wantResp)
			}
			got := tt.client.ServerError()
			if got == nil || *got != tt.want {
				t.Fatalf("server error %+v, want %+v", got, tt.want)
			}
			if msg := got.Error(); bytes.Contains([]byte(msg), []byte("vF9dft4")) {
				t.Errorf("error text holds the token: %s", msg)
			}
		})
	}
}

func TestGS2NameEscaping(t *testing.T) {
	_, ir, _ := NewOAuthBearerClient("a,b=c@x", secret.New([]byte("t")), OAuthBearerOptions{}).Start()
	if want := "n,a=a=2Cb=3Dc@x,\x01auth=Bearer t\x01\x01"; string(ir) != want {
		t.Errorf("got %q, want %q", ir, want)
	}
}

func TestParseMechanism(t *testing.T) {
	tests := []struct {
		in      string
		want    Mechanism
		wantErr bool
	}{
		{"", MechPassword, false},
		{"password", MechPassword, false},
		{"PLAIN", MechPassword, false},
		{"login", MechPassword, false},
		{"xoauth2", MechXOAUTH2, false},
		{"XOAUTH2", MechXOAUTH2, false},
		{"oauthbearer", MechOAUTHBEARER, false},
		{"cram-md5", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMechanism(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMechanism(%q) = %q, %v", tt.in, got, err)
		}
	}
	if MechPassword.OAuth() || !MechXOAUTH2.OAuth() || !MechOAUTHBEARER.OAuth() {
		t.Error("OAuth() wrong")
	}
}
