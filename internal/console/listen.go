package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ErrNeedTLS is returned for a non-loopback listen address without a certificate and key.
var ErrNeedTLS = errors.New("console: a listen address other than loopback needs --tls-cert and --tls-key")

// IsLoopback reports whether a listen address (host:port) binds to loopback only. An empty host
// (":8080") binds every interface and so is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenOptions are the serve flags of SPEC 9 that concern the socket.
type ListenOptions struct {
	Addr     string
	CertFile string
	KeyFile  string
}

// Listen opens the console's listener: TLS when a certificate and key are given (both or
// neither), plain only on loopback. It reports whether TLS is on.
func Listen(o ListenOptions) (net.Listener, bool, error) {
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, false, errors.New("console: --tls-cert and --tls-key go together")
	}
	useTLS := o.CertFile != ""
	if !useTLS && !IsLoopback(o.Addr) {
		return nil, false, ErrNeedTLS
	}
	var cfg *tls.Config
	if useTLS {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, false, fmt.Errorf("console: load TLS certificate: %w", err)
		}
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, false, fmt.Errorf("console: listen: %w", err)
	}
	if useTLS {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, useTLS, nil
}

// Serve serves h on ln until ctx ends, then shuts down gracefully (at most 10 seconds).
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // an unlock processes a whole file
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return err
		}
		<-errc
		return nil
	}
}
