package mailbox

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/rs/zerolog"
)

func TestLoopbackCheck(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:143", true},
		{"[::1]:143", true},
		{"localhost:143", true},
		{"10.0.0.5:143", false},
		{"192.0.2.1:993", false},
		{"[2001:db8::1]:143", false},
	} {
		_, err := loopbackAddr(context.Background(), net.DefaultResolver, tc.addr)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: err %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	good := withState(Config{Addr: "127.0.0.1:1", TLS: TLSInsecure, User: "u", Password: secretOf("p")}, t.TempDir())
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"no addr", func(c *Config) { c.Addr = "" }},
		{"addr without port", func(c *Config) { c.Addr = "imap.example" }},
		{"bad tls", func(c *Config) { c.TLS = "none" }},
		{"no password", func(c *Config) { c.Password = secretOf("") }},
		{"no state", func(c *Config) { c.Open = nil }},
		{"processed = mailbox", func(c *Config) { c.ProcessedFolder = "INBOX" }},
	} {
		c := good
		tc.mod(&c)
		if _, err := New(c, zerolog.Nop()); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// insecure to a non-loopback address is refused at connect time, before any packet is sent.
	c := good
	c.Addr = "192.0.2.1:143"
	p, err := New(c, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.PollOnce(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("insecure non-loopback: %v", err)
	}
}

// The password never appears in what the poller logs, even on a failed login.
func TestNoSecretsInLogs(t *testing.T) {
	h := newMemServer(t)
	u, _ := h.NewUser(t)
	var buf syncBuf
	c := withState(Config{Addr: h.Addr(), TLS: TLSInsecure, User: u, Password: secretOf("Hemmelig-Passord-42")}, t.TempDir())
	p, err := New(c, zerolog.New(&buf).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.PollOnce(context.Background())
	if err == nil || !errors.Is(err, ErrIMAP) {
		t.Fatalf("wrong password accepted? %v", err)
	}
	p.log.Error().Err(err).Interface("cfg", c).Msg("poll failed")
	if s := buf.String(); contains(s, "Hemmelig-Passord-42") || !contains(s, "[REDACTED]") {
		t.Fatalf("log: %s", s)
	}
}
