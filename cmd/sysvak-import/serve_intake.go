package main

import (
	"context"
	"errors"
	"time"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/console"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/fhi/sysvak-import/mailbox/mime"
)

// intakeUnlocker is the console's unlock: the intake service processes the waiting file at once
// with the password typed into the form (the same path as `sysvak-import unlock`), queueing the
// receipt of its outcome; done (when set) wakes the receipt worker afterwards.
type intakeUnlocker struct {
	svc  *intake.Service
	done func()
}

func (u intakeUnlocker) Unlock(ctx context.Context, id string, pw secret.Secret) (console.UnlockOutcome, error) {
	rep, err := u.svc.Unlock(ctx, id, []secret.Secret{pw})
	if u.done != nil && err == nil {
		u.done()
	}
	switch {
	case errors.Is(err, intake.ErrNotWaiting):
		return console.UnlockOutcome{}, console.ErrNotWaiting
	case errors.Is(err, intake.ErrUnknownFile):
		return console.UnlockOutcome{}, console.ErrNotFound
	case err != nil:
		return console.UnlockOutcome{}, err
	}
	return console.UnlockOutcome{Status: rep.Status, WrongPassword: rep.Status == report.StatusWaitingPassword}, nil
}

// servePoller is the mailbox poller of `serve --imap-addr`: with a folder state the console is
// the one process that owns the state (SPEC 9), so the poller works on the console's open state
// instead of opening it per pass as `poll` does. After each mailbox pass the intake service
// processes what waits, and a successful pass is recorded for /metrics.
type servePoller struct {
	p     *mailbox.Poller
	pw    secret.Secret // the IMAP password, wiped when Run ends
	svc   *intake.Service
	s     *setup
	track *console.PollTracker
	done  func() // after each pass (wakes the receipt worker); may be nil
}

// newServePoller checks the poll flags and connects nothing yet (Run does).
func newServePoller(ctx context.Context, e *env, o *serveFlags, s *setup, st state.Store, svc *intake.Service,
	track *console.PollTracker) (*servePoller, error) {
	pw, login, err := imapLogin(ctx, e, o.pollFlags)
	if err != nil {
		return nil, usagef("%v", err)
	}
	lock := func() (func() error, error) { return folder.LockPoll(o.state) }
	if pgstate.IsURL(o.state) {
		lock = func() (func() error, error) { return func() error { return nil }, nil } // claims coordinate pollers
	}
	p, err := mailbox.New(mailbox.Config{
		Addr: o.imapAddr, TLS: lower(o.imapTLS), User: o.imapUser, Password: pw, SASL: saslOf(login),
		Mailbox: o.mailbox, ProcessedFolder: o.processedFolder, RejectedFolder: o.rejectedFolder,
		Interval: o.interval, Sniffer: acceptAttachment,
		Open:   func(context.Context) (mailbox.Store, error) { return sharedState{st}, nil },
		Lock:   lock,
		Limits: mime.Limits{MaxAttachmentSize: s.opts.Limits.MaxFileSize},
	}, s.log)
	if err != nil {
		pw.Wipe()
		return nil, err
	}
	return &servePoller{p: p, pw: pw, svc: svc, s: s, track: track}, nil
}

// Run polls until ctx ends.
func (sp *servePoller) Run(ctx context.Context) error {
	defer sp.pw.Wipe()
	defer sp.p.Close()
	return sp.p.Run(ctx, func(ctx context.Context, res mailbox.Result) error {
		sp.track.Polled(time.Now()) // the mailbox pass succeeded
		in := intake.PassInput{}
		for _, r := range res.Rejected {
			in.Rejected = append(in.Rejected, state.Message{Mailbox: res.Mailbox, UIDValidity: res.UIDValidity, UID: r.UID,
				MessageID: r.MessageID, Received: r.Received, Rejected: r.Reasons})
		}
		err := sp.svc.Pass(ctx, in, sp.s.passwords, func(ev intake.Event) error {
			sp.s.log.Info().Str("file_id", ev.Report.FileID).Str("status", string(ev.Report.Status)).Msg("poll: file")
			return nil
		})
		if sp.done != nil {
			sp.done()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			// A file the console is unlocking at this moment, a busy state: the console keeps
			// serving, and what waits is taken by the next pass.
			sp.s.log.Warn().Err(err).Msg("poll: the processing pass stopped; what waits is taken by the next pass")
			return nil
		}
		return err
	})
}

// sharedState is the console's open state handed to the mailbox, which closes what it opens.
type sharedState struct{ state.Store }

func (sharedState) Close() error { return nil }
