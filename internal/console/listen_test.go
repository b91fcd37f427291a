package console

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.1.2.3:80": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.5:8080": false, "[::]:8080": false, "console.fhi.no:443": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestListenRefusesPlainNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0"} {
		if _, _, err := Listen(ListenOptions{Addr: addr}); !errors.Is(err, ErrNeedTLS) {
			t.Errorf("Listen(%s) without TLS: %v, want ErrNeedTLS", addr, err)
		}
	}
	if _, _, err := Listen(ListenOptions{Addr: "127.0.0.1:0", CertFile: "x.pem"}); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}

// TestServeTLS serves the console over TLS on all interfaces with a self-signed certificate: the
// cookies get the __Host- prefix and Secure, and HSTS is sent.
func TestServeTLS(t *testing.T) {
	cert, key := selfSigned(t)
	ln, useTLS, err := Listen(ListenOptions{Addr: "0.0.0.0:0", CertFile: cert, KeyFile: key})
	if err != nil || !useTLS {
		t.Fatalf("Listen with TLS: %v %v", useTLS, err)
	}
	e := newEnv(t, fixtureFiles(t), func(c *Config) { c.TLS = useTLS })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, e.srv) }()
	port := ln.Addr().(*net.TCPAddr).Port
	pool := x509.NewCertPool()
	certPEM, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	r, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) != "ok\n" || r.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("healthz over TLS: %q, HSTS %q", body, r.Header.Get("Strict-Transport-Security"))
	}
	c := newClient(t, base, hc)
	c.mustLogin()
	u, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	cks := c.c.Jar.Cookies(u.URL)
	if len(cks) != 1 || cks[0].Name != "__Host-sysvak_session" {
		t.Fatalf("cookies over TLS: %v", cks)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}
