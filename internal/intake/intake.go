// Package intake owns the life of a file for every front end (the CLI's import, poll, pending and
// unlock, and the console): a file arrives (from a mailbox, through the state's spool, or from a
// path), waits for its password, is claimed and processed once, and its outcome (ledger changes,
// status, report and receipts) is recorded in one step through internal/state; its --out outputs
// are written after that, and written again if a crash came in between. Later arrivals of the
// same bytes are listed in its report (SPEC 5 `resent`) without processing it again.
//
// A file is hashed once (the spool knows its SHA-256; a local file is hashed when it arrives) and
// decrypted once per processing run. Messages the mailbox rejected become reports with findings
// here: the mailbox names its reasons in its own terms.
package intake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// Config configures a Service.
type Config struct {
	OutDir string
	Opts   importer.Options
	Log    zerolog.Logger
	// Owner names this worker in claims (default: host name, process id and a random suffix).
	Owner string
	// Lease is how long a claim lives without renewal (default 1 minute: a killed process's
	// work is taken over within a minute, SPEC 8). Claims are renewed while a file is processed.
	Lease time.Duration
	// Receipts, when set, gives the receipts to queue with a file's outcome (SPEC 10); they are
	// recorded in the same step as the outcome.
	Receipts func(f state.File, rep *report.Report) []state.Receipt
	// ReceiptsWith, when set, is used instead of Receipts and also gets the passwords the file
	// was tried with (`--receipts annotated` encrypts the annotated copy under the one that
	// opened it).
	ReceiptsWith func(ctx context.Context, f state.File, rep *report.Report, passwords []secret.Secret) []state.Receipt
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service runs files through their life cycle against one state.
type Service struct {
	st  state.Store
	cfg Config
	// crash, in the kill test, is called at each crash point of ImportPaths.
	crash func(what string)
	// batchFiles and batchKeys are ImportPaths' batch limits (tests lower them).
	batchFiles, batchKeys int
}

// ErrNotWaiting: Unlock of a file that does not wait for a password.
var ErrNotWaiting = errors.New("intake: the file does not wait for a password")

// ErrUnknownFile: no spooled file has that id.
var ErrUnknownFile = errors.New("intake: no spooled file has that id")

// New returns a service over st.
func New(st state.Store, cfg Config) *Service {
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return &Service{st: st, cfg: cfg, batchFiles: batchMaxFiles, batchKeys: batchMaxKeys}
}

// WithOptions returns a service like s with other pipeline options (per-file progress, a
// password prompt's --strict...).
func (s *Service) WithOptions(o importer.Options) *Service {
	c := *s
	c.cfg.Opts = o
	return &c
}

// State is the service's state.
func (s *Service) State() state.Store { return s.st }

// claimed is a file under this worker's claim, with the claim kept alive in the background.
type claimed struct {
	f    state.File
	c    state.Claim
	stop func() state.Claim // stops the renewal and returns the latest claim
}

func (s *Service) claim(ctx context.Context, id string, from ...state.FileStatus) (*claimed, error) {
	f, c, err := s.st.ClaimFile(ctx, id, s.cfg.Owner, s.cfg.Lease, from...)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	latest := make(chan state.Claim, 1)
	go func() {
		cur := c
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				latest <- cur
				return
			case <-t.C:
				if nc, err := s.st.RenewClaim(rctx, cur, s.cfg.Lease); err == nil {
					cur = nc
				}
			}
		}
	}()
	return &claimed{f: f, c: c, stop: func() state.Claim { cancel(); return <-latest }}, nil
}

// end stops the renewal; release gives the claim back unless the outcome was recorded.
func (s *Service) end(ctx context.Context, cl *claimed, release bool) {
	c := cl.stop()
	if release {
		if err := s.st.ReleaseClaim(context.WithoutCancel(ctx), c); err != nil && !errors.Is(err, state.ErrLostClaim) {
			s.cfg.Log.Warn().Str("file_id", cl.f.ID).Err(err).Msg("releasing a claim failed; it expires")
		}
	}
}

// source is an arrival in the report's form.
func source(a state.Arrival) report.Source {
	if a.Path != "" && a.Mailbox == "" {
		return report.Source{Kind: "local", Path: a.Path, Received: a.Received.Truncate(time.Second)}
	}
	return report.Source{Kind: "mailbox", Mailbox: a.Mailbox, UIDValidity: a.UIDValidity, UID: a.UID, MessageID: a.MessageID,
		Received: a.Received.Truncate(time.Second)}
}

func resent(f state.File) []report.Source {
	var out []report.Source
	for _, a := range f.Arrivals {
		out = append(out, source(a))
	}
	return out
}

// outcomeStatus maps a report to the file's status and the finding code that explains it.
func outcomeStatus(rep *report.Report) (state.FileStatus, string) {
	code := ""
	for _, f := range rep.FileFindings() {
		code = string(f.Code)
	}
	switch rep.Status {
	case report.StatusWaitingPassword:
		return state.StatusWaiting, code
	case report.StatusFileRejected:
		return state.StatusRejected, code
	}
	return state.StatusProcessed, ""
}

func summary(rep *report.Report) state.Summary {
	return state.Summary{ReportStatus: string(rep.Status), Rows: rep.Stats.Rows, Registered: rep.Stats.Registered,
		Rejected: rep.Stats.Rejected, Warnings: rep.Stats.Warnings}
}

// process runs a claimed file through the pipeline (bytes at path), records its outcome and
// writes its outputs. The claim is ended either way.
func (s *Service) process(ctx context.Context, cl *claimed, path string, passwords []secret.Secret) (*report.Report, error) {
	recorded := false
	defer func() { s.end(ctx, cl, !recorded) }()
	f := cl.f
	mac, err := s.st.LedgerSecret(ctx)
	if err != nil {
		return nil, err
	}
	set, err := outdir.Begin(s.cfg.OutDir, f.ID)
	if err != nil {
		return nil, &importer.OperationalError{Err: err}
	}
	defer set.Abort()
	view, err := s.st.LedgerView(ctx)
	if err != nil {
		return nil, err
	}
	lookup := func(k ledger.Key) (ledger.Entry, bool) {
		e, ok := view.Get(k)
		return ledger.Entry{FileID: e.FileID, Row: e.Row, Deleted: e.Deleted}, ok
	}
	in := importer.Input{Path: path, Name: f.Name, Source: source(f.Source), Passwords: passwords, SHA256: f.SHA256}
	opts, processed := pinNow(s.cfg.Opts)
	ev, err := importer.Evaluate(ctx, in, opts, mac, lookup, set)
	view.Close()
	if err != nil {
		return nil, err
	}
	rep := ev.Report
	rep.Resent = resent(f)
	o, err := s.outcome(ctx, cl.f, cl.c, rep, len(f.Arrivals), true, passwords)
	if err != nil {
		return nil, err
	}
	o.Summary.Processed = processed
	o.Changes = ev.Changes // ledger.Change is state.LedgerChange: no copy (issue 17)
	o.RecordsPath = ev.RecordsPath
	c := cl.stop()
	cl.stop = func() state.Claim { return c }
	o.Claim = c
	if err := s.st.RecordOutcome(ctx, f.ID, o); err != nil {
		return nil, err
	}
	recorded = true
	return rep, s.writeOutputs(ctx, set, f.ID, rep)
}

// pinNow fixes the pipeline's clock for one file, so that the time its records carry (the FHIR
// `recorded`) is the time recorded in its summary.
func pinNow(o importer.Options) (importer.Options, time.Time) {
	t := time.Now()
	if o.Now != nil {
		t = o.Now()
	}
	t = t.UTC()
	o.Now = func() time.Time { return t }
	return o, t
}

// outcome is the state's record of a report (without ledger changes).
func (s *Service) outcome(ctx context.Context, f state.File, c state.Claim, rep *report.Report, reported int, receipts bool, passwords []secret.Secret) (state.Outcome, error) {
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return state.Outcome{}, err
	}
	st, code := outcomeStatus(rep)
	o := state.Outcome{Claim: c, Status: st, LastError: code, Summary: summary(rep), Report: append(raw, '\n'), Reported: reported}
	f.Status, f.LastError = st, code
	switch {
	case receipts && s.cfg.ReceiptsWith != nil:
		o.Receipts = s.cfg.ReceiptsWith(ctx, f, rep, passwords)
	case receipts && s.cfg.Receipts != nil:
		o.Receipts = s.cfg.Receipts(f, rep)
	}
	return o, nil
}

// writeOutputs writes the reports into the set, makes it visible and records that.
func (s *Service) writeOutputs(ctx context.Context, set *outdir.Set, id string, rep *report.Report) error {
	if err := importer.WriteReports(set, rep, s.cfg.Opts.Lang); err != nil {
		return &importer.OperationalError{Err: err}
	}
	if err := set.Commit(); err != nil {
		return &importer.OperationalError{Err: err}
	}
	return s.st.SetWritten(ctx, id, true)
}

// storedReport is the report recorded for a file: from the state, or (a state from before the
// state kept reports) from OUT/<id>/report.json. os.ErrNotExist when there is neither.
func (s *Service) storedReport(ctx context.Context, id string) (*report.Report, error) {
	raw, err := s.st.Report(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return readReport(s.cfg.OutDir, id)
	}
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("report of %s: %w", id, err)
	}
	return &rep, nil
}

// readReport reads OUT/<id>/report.json (os.ErrNotExist when there is none).
func readReport(out, id string) (*report.Report, error) {
	raw, err := os.ReadFile(filepath.Join(out, id, importer.ReportJSONFile))
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", id, importer.ReportJSONFile, err)
	}
	return &rep, nil
}
