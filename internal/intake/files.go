package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// ImportPath takes a local file in (`import FILE`): it is hashed once and recorded as an arrival
// (its bytes are not spooled), then processed with passwords unless it was processed before, in
// which case its report lists the new arrival and keeps its outcome (SPEC 5).
func (s *Service) ImportPath(ctx context.Context, path string, passwords []secret.Secret, received time.Time) (*report.Report, error) {
	sum, size, err := hashPath(path)
	if err != nil {
		return nil, &importer.OperationalError{Err: fmt.Errorf("read %s: %w", filepath.Base(path), err)}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	arr := state.Arrival{Received: received.UTC(), Path: abs, FileName: filepath.Base(path)}
	in := state.Incoming{SHA256: sum, Size: size, FileName: filepath.Base(path)}
	if _, err := s.st.AddFiles(ctx, []state.Incoming{in}, arr, nil); err != nil {
		return nil, err
	}
	id := state.FileIDOf(sum)
	return retryConflict(s, id, func() (*report.Report, error) { return s.importRecorded(ctx, id, path, passwords) })
}

// importRecorded processes a local file whose arrival is recorded, or lists the arrival in the
// report of a file processed before.
func (s *Service) importRecorded(ctx context.Context, id, path string, passwords []secret.Secret) (*report.Report, error) {
	f, err := s.st.File(ctx, id)
	if err != nil {
		return nil, err
	}
	if f.Status == state.StatusProcessed || f.Status == state.StatusRejected {
		return s.reportArrivals(ctx, f, path, passwords)
	}
	cl, err := s.claim(ctx, id, state.StatusArrived, state.StatusWaiting)
	if err != nil {
		return nil, err
	}
	return s.process(ctx, cl, path, passwords)
}

// conflictRetries bounds how often a file is processed again because another process registered
// some of its keys while it was processed (state.ErrLedgerConflict, a shared state only).
const conflictRetries = 5

// retryConflict runs fn, and again with a fresh start (a new claim and ledger view) while it ends
// in state.ErrLedgerConflict: the keys the other process registered are then duplicates.
func retryConflict[T any](s *Service, id string, fn func() (T, error)) (T, error) {
	v, err := fn()
	for try := 0; errors.Is(err, state.ErrLedgerConflict) && try < conflictRetries; try++ {
		s.cfg.Log.Info().Str("file_id", id).Msg("ledger changed while the file was processed; processing it again")
		v, err = fn()
	}
	return v, err
}

func hashPath(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// reportArrivals lists a processed file's later arrivals in its report (SPEC 5 `resent`) and
// rewrites its report files; the outcome is unchanged and nothing is registered again. When the
// outputs are gone (removed by hand, or a crash before they were written), the file is processed
// again instead (idempotent through the ledger); localPath names its bytes when not spooled.
func (s *Service) reportArrivals(ctx context.Context, f state.File, localPath string, passwords []secret.Secret) (*report.Report, error) {
	cl, err := s.claim(ctx, f.ID, state.StatusProcessed, state.StatusRejected)
	if err != nil {
		return nil, err
	}
	f = cl.f
	rep, err := s.storedReport(ctx, f.ID)
	_, serr := os.Stat(filepath.Join(s.cfg.OutDir, f.ID, importer.RecordsFile))
	if errors.Is(err, os.ErrNotExist) || errors.Is(serr, os.ErrNotExist) {
		return s.reprocess(ctx, cl, localPath, passwords)
	}
	if err != nil {
		s.end(ctx, cl, true)
		return nil, err
	}
	recorded := false
	defer func() { s.end(ctx, cl, !recorded) }()
	o, err := s.resendOutcome(ctx, f, cl.c, rep)
	if err != nil {
		return nil, err
	}
	if err := s.st.RecordOutcome(ctx, f.ID, o); err != nil {
		return nil, err
	}
	recorded = true
	set, err := outdir.Begin(s.cfg.OutDir, f.ID)
	if err != nil {
		return nil, &importer.OperationalError{Err: err}
	}
	defer set.Abort()
	if err := s.carryOutputs(set, f); err != nil {
		return nil, err
	}
	if err := s.writeOutputs(ctx, set, f.ID, rep); err != nil {
		return nil, err
	}
	s.logResend(f.ID, rep)
	return rep, nil
}

// resendOutcome is the outcome that lists a processed file's later arrivals in its stored report
// rep (rep.Resent is set): the outcome, the summary and the time of processing unchanged; the
// outcome's receipts were queued when it was first recorded, late arrivals get theirs.
func (s *Service) resendOutcome(ctx context.Context, f state.File, c state.Claim, rep *report.Report) (state.Outcome, error) {
	rep.Resent = resent(f)
	o, err := s.outcome(ctx, f, c, rep, len(f.Arrivals), false, nil)
	if err != nil {
		return o, err
	}
	o.Summary.Processed = f.Summary.Processed
	o.Receipts = s.lateArrivalReceipts(ctx, f, rep)
	return o, nil
}

// carryOutputs copies a processed file's records (and FHIR resources, or makes them with
// --fhir) from its output set into the new set that lists a resend.
func (s *Service) carryOutputs(set *outdir.Set, f state.File) error {
	if err := set.CopyFrom(importer.RecordsFile); err != nil {
		return &importer.OperationalError{Err: err}
	}
	processed := f.Summary.Processed
	if processed.IsZero() {
		processed = f.Updated // a state from before Summary.Processed
	}
	if err := importer.CarryFHIR(set, s.cfg.Opts, filepath.Join(s.cfg.OutDir, f.ID), f.ID, processed); err != nil {
		return &importer.OperationalError{Err: err}
	}
	return nil
}

// logResend writes the log line of a resent file (issue 12).
func (s *Service) logResend(id string, rep *report.Report) {
	// A resent file is processed no further, but it is an event an operator looks for.
	s.cfg.Log.Info().Str("file_id", id).Str("status", string(rep.Status)).Int("arrivals", len(rep.Resent)+1).
		Msg("file received again: already processed, its report lists the new arrival")
}

// reprocess processes a claimed file again from its spooled bytes (or localPath).
func (s *Service) reprocess(ctx context.Context, cl *claimed, localPath string, passwords []secret.Secret) (*report.Report, error) {
	path := localPath
	if cl.f.Spooled {
		sp, err := s.st.OpenSpooled(ctx, cl.f.ID)
		if err != nil {
			s.end(ctx, cl, true)
			return nil, err
		}
		defer sp.Close()
		path = sp.Path
	}
	if path == "" {
		s.end(ctx, cl, true)
		return nil, fmt.Errorf("file %s: its outputs are gone and its bytes were not kept: import it again", cl.f.ID)
	}
	return s.process(ctx, cl, path, passwords)
}

// Unlock processes a waiting spooled file with passwords (`unlock`, the console). A wrong
// password leaves it waiting (the report says so). ErrUnknownFile, ErrNotWaiting.
func (s *Service) Unlock(ctx context.Context, id string, passwords []secret.Secret) (*report.Report, error) {
	f, err := s.st.File(ctx, id)
	if errors.Is(err, state.ErrNotFound) || (err == nil && !f.Spooled) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownFile, id)
	}
	if err != nil {
		return nil, err
	}
	return retryConflict(s, id, func() (*report.Report, error) {
		cl, err := s.claim(ctx, id, state.StatusWaiting, state.StatusArrived)
		if errors.Is(err, state.ErrWrongStatus) || errors.Is(err, state.ErrClaimed) {
			return nil, fmt.Errorf("%w (status %s)", ErrNotWaiting, f.Status)
		}
		if err != nil {
			return nil, err
		}
		return s.processSpooled(ctx, cl, passwords)
	})
}

// processSpooled processes a claimed spooled file.
func (s *Service) processSpooled(ctx context.Context, cl *claimed, passwords []secret.Secret) (*report.Report, error) {
	sp, err := s.st.OpenSpooled(ctx, cl.f.ID)
	if err != nil {
		s.end(ctx, cl, true)
		return nil, err
	}
	defer sp.Close()
	return s.process(ctx, cl, sp.Path, passwords)
}

// Pending lists the spooled files that wait for a password, oldest first.
func (s *Service) Pending(ctx context.Context) ([]state.File, error) {
	page, err := s.st.ListFiles(ctx, state.FileQuery{Status: []state.FileStatus{state.StatusWaiting}})
	if err != nil {
		return nil, err
	}
	var out []state.File
	for i := len(page.Files) - 1; i >= 0; i-- {
		if page.Files[i].Spooled {
			out = append(out, page.Files[i])
		}
	}
	return out, nil
}
