package intake

import (
	"context"
	"errors"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// EventKind says what happened to a file or message in a pass.
type EventKind int

// The kinds of events.
const (
	Processed       EventKind = iota // processed or rejected now (its report's exit code counts)
	Waiting                          // processed now, and waits for its password
	Resent                           // a later arrival of a processed file, listed in its report
	MessageRejected                  // a message without a usable attachment
)

// Event is one report a pass produced.
type Event struct {
	Kind   EventKind
	Report *report.Report
}

// PassInput is what a mailbox pass took (mailbox.Result, in the state's terms).
type PassInput struct {
	Rejected []state.Message // messages moved to the rejected folder in this pass
}

// Pass processes what waits in the state (the poller's step after each mailbox pass): later
// arrivals of processed files, every file that arrived or was left processing by a dead worker,
// every waiting file whose password was dropped in, processed files whose outputs were not
// written, and the rejected messages of in. A stop (ctx) ends it after the current file, which
// runs on a context the stop does not cancel. Each report goes to emit.
func (s *Service) Pass(ctx context.Context, in PassInput, known []secret.Secret, emit func(Event) error) error {
	page, err := s.st.ListFiles(ctx, state.FileQuery{})
	if err != nil {
		return err
	}
	dropped, err := s.st.DroppedPasswords(ctx)
	if err != nil {
		return err
	}
	hasDrop := map[string]bool{}
	for _, id := range dropped {
		hasDrop[id] = true
	}
	files := page.Files
	for i := len(files) - 1; i >= 0; i-- { // oldest first
		if err := ctx.Err(); err != nil {
			return err
		}
		f := files[i]
		delete(hasDrop, f.ID)
		first := true
		ev, err := retryConflict(s, f.ID, func() (*Event, error) {
			if !first { // the file as the conflict left it
				cur, err := s.st.File(ctx, f.ID)
				if err != nil {
					return nil, err
				}
				f = cur
			}
			first = false
			return s.passFile(context.WithoutCancel(ctx), f, known, dropped)
		})
		if err != nil {
			return err
		}
		if ev != nil {
			if err := emit(*ev); err != nil {
				return err
			}
		}
	}
	for id := range hasDrop {
		s.cfg.Log.Warn().Str("file_id", id).Msg("a password was dropped for a file id that is not in the spool; left in place")
	}
	for _, m := range in.Rejected {
		rep, err := s.MessageReport(ctx, m)
		if err != nil {
			return err
		}
		if err := emit(Event{Kind: MessageRejected, Report: rep}); err != nil {
			return err
		}
	}
	return nil
}

// passFile does what a pass does for one file (nil: nothing).
func (s *Service) passFile(ctx context.Context, f state.File, known []secret.Secret, dropped []string) (*Event, error) {
	switch f.Status {
	case state.StatusProcessed, state.StatusRejected:
		if f.Reported >= len(f.Arrivals) && f.Written {
			return nil, nil
		}
		rep, err := s.reportArrivals(ctx, f, "", known)
		if err != nil || rep == nil {
			return nil, skipClaimed(err)
		}
		return &Event{Kind: Resent, Report: rep}, nil
	case state.StatusWaiting:
		if !f.Spooled || !contains(dropped, f.ID) {
			return nil, nil
		}
	case state.StatusArrived, state.StatusProcessing:
		if !f.Spooled {
			return nil, nil
		}
	}
	rep, err := s.processWithDrop(ctx, f, known)
	if err != nil || rep == nil {
		return nil, skipClaimed(err)
	}
	if rep.Status == report.StatusWaitingPassword {
		return &Event{Kind: Waiting, Report: rep}, nil
	}
	return &Event{Kind: Processed, Report: rep}, nil
}

// skipClaimed: a file another worker holds is its business.
func skipClaimed(err error) error {
	if errors.Is(err, state.ErrClaimed) || errors.Is(err, state.ErrWrongStatus) {
		return nil
	}
	return err
}

// processWithDrop claims a spooled file and processes it with the passwords known for it: one
// dropped into the drop-box first, then the operator's. A drop without a usable password is
// removed and logged, and a waiting file keeps waiting (nil report).
func (s *Service) processWithDrop(ctx context.Context, f state.File, known []secret.Secret) (*report.Report, error) {
	cl, err := s.claim(ctx, f.ID, state.StatusArrived, state.StatusWaiting)
	if err != nil {
		return nil, err
	}
	passwords := append([]secret.Secret(nil), known...)
	pw, ok, err := s.st.TakePassword(ctx, f.ID)
	if err != nil {
		s.cfg.Log.Warn().Str("file_id", f.ID).Err(err).Msg("the dropped password file held no usable password and was removed")
		if cl.c.From == state.StatusWaiting {
			s.end(ctx, cl, true)
			return nil, nil
		}
	}
	if ok {
		defer pw.Wipe()
		passwords = append([]secret.Secret{pw}, passwords...)
	}
	return s.processSpooled(ctx, cl, passwords)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
