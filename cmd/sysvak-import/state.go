package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/receipt"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
)

// openState opens the --state: a folder (waiting up to wait for another process to close it) or,
// for a postgres:// URL, a PostgreSQL state whose password drop-box is passwordDir (SPEC 8).
func openState(ctx context.Context, where, passwordDir string, wait time.Duration) (state.Store, error) {
	if pgstate.IsURL(where) {
		return pgstate.Open(ctx, where, pgstate.Options{PasswordDir: passwordDir})
	}
	return folder.Open(ctx, where, folder.Options{LockTimeout: wait})
}

// pollLock is the poll lock of a folder state (one poller); a PostgreSQL state has none: its
// pollers claim each message.
func pollLock(where string) (func() error, error) {
	if pgstate.IsURL(where) {
		return func() error { return nil }, nil
	}
	return folder.LockPoll(where)
}

// processOwner names this process in claims: host, process id and a random suffix.
func processOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// newService is the intake service of a command over an open state (import, poll, serve,
// unlock): it queues, with each outcome it records, the receipt SPEC 10 gives the file's sender,
// in the same step (a file from a local path, with no sender, gets none). b nil: receipts are off.
func newService(st state.Store, s *setup, out string, b *receipt.Builder) *intake.Service {
	cfg := serviceConfig(s, out)
	if b != nil {
		bb := *b
		bb.Messages = st
		cfg.ReceiptsWith = func(ctx context.Context, f state.File, rep *report.Report, passwords []secret.Secret) []state.Receipt {
			return bb.ForOutcome(ctx, st, f, rep, passwords)
		}
	}
	return intake.New(st, cfg)
}

// serviceConfig is the intake configuration every command starts from (--claim-lease included:
// a killed process's file is taken over after it).
func serviceConfig(s *setup, out string) intake.Config {
	return intake.Config{OutDir: out, Opts: s.opts, Log: s.log, Lease: s.claimLease}
}
