package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/fhi/sysvak-import/internal/console"
)

type serveFlags struct {
	*pollFlags
	listen, tlsCert, tlsKey string
}

func serveCmd() *command {
	return &command{
		name: "serve",
		summary: "Serve the operator console (SPEC 9): files, reports, unlock with the SMS password; " +
			"with --imap-addr it also polls (all poll flags apply).",
		examples: []string{
			"sysvak-import serve --state /var/lib/sysvak --out /var/lib/sysvak/out     # http://127.0.0.1:8080/",
			"sysvak-import serve --listen :8443 --tls-cert cert.pem --tls-key key.pem   # other hosts need TLS",
			"sysvak-import serve --config /etc/sysvak-import.toml --imap-addr imap.example.no:993 --imap-user sysvak",
			"sysvak-import operator add kari    # an account first",
		},
		flags: func(fs *flag.FlagSet) any {
			o := &serveFlags{pollFlags: pollCmd().flags(fs).(*pollFlags)}
			fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the console; other than loopback needs --tls-cert and --tls-key")
			fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate (PEM), with --tls-key")
			fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM), with --tls-cert")
			return o
		},
		run: runServe,
	}
}

func runServe(ctx context.Context, e *env, opts any, args []string, columns map[string]string) int {
	o := opts.(*serveFlags)
	if len(args) > 0 {
		fmt.Fprintln(e.stderr, "sysvak-import serve: takes no arguments (see -h)")
		return exitUsage
	}
	s, err := o.resolve(ctx, e, columns)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import serve: %v\n", err)
		return exitUsage
	}
	s.opts.Strict = o.strict
	s.opts.FHIR = o.fhir // for the files the console unlocks and serve's polling (SPEC 12)
	ln, useTLS, err := console.Listen(console.ListenOptions{Addr: o.listen, CertFile: o.tlsCert, KeyFile: o.tlsKey})
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import serve: %v\n", err)
		if errors.Is(err, console.ErrNeedTLS) {
			return exitUsage
		}
		return exitFor(e, s.log, err)
	}
	defer ln.Close()
	st, err := openConsoleState(ctx, o.state, 15*time.Second)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	defer st.Close()
	rs, err := o.receipts.resolve(ctx, e, &o.oauth, s.log)
	if err != nil {
		fmt.Fprintf(e.stderr, "sysvak-import serve: %v\n", err)
		return exitUsage
	}
	stopReceipts, wakeReceipts := startServeReceipts(ctx, rs, st, s.log)
	defer stopReceipts()
	// The console's unlocks and serve's own polling queue receipts as poll does (SPEC 10).
	svc := newService(st, s, o.out, rs.builderOf())
	cfg := console.Config{
		Files: console.StateFiles{State: st, OutDir: o.out}, Unlocker: intakeUnlocker{svc: svc, done: wakeReceipts},
		Operators: st, Audit: st, Log: s.log, TLS: useTLS, Metrics: console.IsLoopback(o.listen),
	}
	var poller *servePoller
	if o.imapAddr != "" {
		track := &console.PollTracker{Outbox: st}
		if poller, err = newServePoller(ctx, e, o, s, withMessageReceipts(st, rs.builderOf()), svc, track); err != nil {
			fmt.Fprintf(e.stderr, "sysvak-import serve: %v\n", err)
			return exitFor(e, s.log, err)
		}
		poller.done = wakeReceipts
		cfg.Poll = track
	}
	srv, err := console.New(cfg)
	if err != nil {
		return exitFor(e, s.log, err)
	}
	if ops, err := st.ListOperators(ctx); err == nil && len(ops) == 0 {
		fmt.Fprintln(e.stderr, "sysvak-import serve: no operator account yet; add one with `sysvak-import operator add NAME`")
	}
	fmt.Fprintf(e.stderr, "sysvak-import serve: the console is at %s\n", consoleURL(ln.Addr(), o.listen, useTLS))
	return runConsole(ctx, e, s, ln, srv, poller)
}

// runConsole serves the console, and polls beside it when there is a poller, until ctx ends; a
// poller that fails stops the console too (exit 4).
func runConsole(ctx context.Context, e *env, s *setup, ln net.Listener, srv *console.Server, poller *servePoller) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pollErr := make(chan error, 1)
	if poller != nil {
		go func() {
			err := poller.Run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				cancel()
			}
			pollErr <- err
		}()
	}
	err := console.Serve(ctx, ln, srv)
	cancel()
	if poller != nil {
		if perr := <-pollErr; perr != nil && !errors.Is(perr, context.Canceled) {
			return exitFor(e, s.log, perr)
		}
	}
	if err != nil {
		return exitFor(e, s.log, err)
	}
	return exitOK
}

// consoleURL is the address to open in a browser.
func consoleURL(addr net.Addr, listen string, useTLS bool) string {
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	host, _, _ := net.SplitHostPort(listen)
	_, port, _ := net.SplitHostPort(addr.String())
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
