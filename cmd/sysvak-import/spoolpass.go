package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/mailbox"
	"github.com/fhi/sysvak-import/mailbox/spool"
	"github.com/fhi/sysvak-import/validate"
	"github.com/rs/zerolog"
)

// spoolProcessor runs spooled files through the importer. The ledger and the spool store are
// opened per pass only, so that `pending` and `unlock` can use them between passes.
type spoolProcessor struct {
	e          *env
	s          *setup
	out, state string
	format     string
	lang       string
	code       int // worst exit code so far (waiting files and resends do not count for poll)
}

func (pr *spoolProcessor) pass(ctx context.Context, res mailbox.Result) error {
	st, err := spool.Open(ctx, pr.state, spool.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	led, err := ledger.Open(ctx, pr.state, ledger.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer led.Close()
	im := &importer.Importer{Ledger: led, OutDir: pr.out, Opts: pr.s.opts}

	// Later arrivals of files processed in an earlier pass: their reports list the arrival
	// (SPEC 5 `resent`); nothing is registered again.
	done := map[string]bool{}
	for _, r := range res.Resent {
		if done[r.FileID] {
			continue
		}
		done[r.FileID] = true
		ent, ok, err := st.Get(r.FileID)
		if err != nil {
			return err
		}
		if !ok || (ent.Status != spool.StatusProcessed && ent.Status != spool.StatusRejected) {
			continue // not processed yet: its arrivals are added when it is
		}
		rep, added, err := addArrivals(ctx, st, im, ent, nil)
		if err != nil {
			return err
		}
		if added {
			if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
				return err
			}
		}
	}
	// Every new or interrupted entry, and every waiting one whose password was dropped in.
	todo, err := st.List(spool.StatusNew, spool.StatusProcessing)
	if err != nil {
		return err
	}
	dropped, err := st.DroppedPasswords()
	if err != nil {
		return err
	}
	for _, id := range dropped {
		ent, ok, err := st.Get(id)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			pr.s.log.Warn().Str("file_id", id).Msg("a password was dropped for a file id that is not in the spool; left in place")
		case ent.Status == spool.StatusWaitingPassword:
			todo = append(todo, ent)
		}
	}
	for _, ent := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A stop signal ends the pass after the current file, not in the middle of it: the file
		// runs on a context that the signal does not cancel (SPEC 6; docs/operations.md).
		rep, err := processEntry(context.WithoutCancel(ctx), st, im, ent, pr.s.passwords, pr.s.log)
		if err != nil {
			return err
		}
		if rep == nil {
			continue
		}
		if rep.Status != report.StatusWaitingPassword {
			pr.code = worst(pr.code, rep.ExitCode())
		}
		if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
			return err
		}
	}
	// Messages moved to Rejected (no usable attachment): a report each, saying why.
	for _, rej := range res.Rejected {
		rep, err := writeMessageReport(pr.out, res.Mailbox, res.UIDValidity, rej, pr.lang)
		if err != nil {
			return err
		}
		pr.code = worst(pr.code, exitFileFailed)
		if err := printReport(pr.e.stdout, rep, pr.format, pr.lang); err != nil {
			return err
		}
	}
	return nil
}

// processEntry claims one spool entry and imports it with the passwords known for it (a password
// dropped into STATE/passwords/<file-id> first, then the operator's --password-file). A drop-box
// file without a usable password is removed and logged; the file keeps waiting.
func processEntry(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, known []secret.Secret, log zerolog.Logger) (*report.Report, error) {
	before := ent
	ent, claimed, err := st.Claim(ent.FileID, spool.StatusNew, spool.StatusProcessing, spool.StatusWaitingPassword)
	if err != nil || !claimed {
		return nil, err
	}
	passwords := append([]secret.Secret(nil), known...)
	pw, ok, err := st.TakePassword(ent.FileID)
	if err != nil {
		log.Warn().Str("file_id", ent.FileID).Err(err).Msg("the dropped password file held no usable password and was removed")
		if before.Status == spool.StatusWaitingPassword {
			return nil, st.SetStatus(ent.FileID, before.Status, before.LastError)
		}
	}
	if ok {
		defer pw.Wipe()
		passwords = append([]secret.Secret{pw}, passwords...)
	}
	return importEntry(ctx, st, im, ent, passwords)
}

// importEntry imports a claimed spool entry and sets its status from the report. A file whose
// stored report already names this arrival (a crash between the import and the status update) is
// not imported again: that report is used. Later arrivals of the file are then added to its report.
func importEntry(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, passwords []secret.Secret) (*report.Report, error) {
	path, err := st.Path(ent.FileID)
	if err != nil {
		return nil, err
	}
	var rep *report.Report
	if fs, known, err := im.Ledger.FileState(ent.FileID); err == nil && known && fs.Done {
		r, err := storedReport(im.OutDir, ent.FileID)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if r != nil && hasSource(r, ent.Source) {
			rep = r // this very arrival was processed before the crash
		}
	}
	if rep == nil {
		rep, err = im.Import(ctx, spoolInput(path, ent.FileName, ent.Source, passwords))
		if err != nil {
			// Leave it to be taken again by the next pass.
			_ = st.SetStatus(ent.FileID, spool.StatusNew, "")
			return nil, err
		}
	}
	status, code := spool.StatusProcessed, ""
	switch rep.Status {
	case report.StatusWaitingPassword:
		status = spool.StatusWaitingPassword
		for _, f := range rep.FileFindings() {
			code = string(f.Code)
		}
	case report.StatusFileRejected:
		status = spool.StatusRejected
		for _, f := range rep.FileFindings() {
			code = string(f.Code)
		}
	}
	if err := st.SetStatus(ent.FileID, status, code); err != nil {
		return nil, err
	}
	if status == spool.StatusWaitingPassword {
		return rep, nil
	}
	ent.Status = status
	if r, _, err := addArrivals(ctx, st, im, ent, rep); err != nil {
		return nil, err
	} else if r != nil {
		rep = r
	}
	return rep, nil
}

// addArrivals lists every later arrival of a processed file in its report (SPEC 5 `resent`),
// skipping those the report has already; rep is the current report (nil: read it from OUT). It
// is idempotent, so a pass interrupted anywhere adds no arrival twice.
func addArrivals(ctx context.Context, st *spool.Store, im *importer.Importer, ent spool.Entry, rep *report.Report) (*report.Report, bool, error) {
	if len(ent.Arrivals) == 0 {
		return rep, false, nil
	}
	if rep == nil {
		r, err := storedReport(im.OutDir, ent.FileID)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, false, err
		}
		rep = r
	}
	path, err := st.Path(ent.FileID)
	if err != nil {
		return nil, false, err
	}
	added := false
	for _, a := range ent.Arrivals {
		if rep != nil && hasSource(rep, a) {
			continue
		}
		r, err := im.Import(ctx, spoolInput(path, ent.FileName, a, nil))
		if err != nil {
			return nil, false, err
		}
		rep, added = r, true
	}
	return rep, added, nil
}

func hasSource(rep *report.Report, a spool.Arrival) bool {
	same := func(s report.Source) bool {
		return s.Kind == "mailbox" && s.Mailbox == a.Mailbox && s.UIDValidity == a.UIDValidity && s.UID == a.UID && s.MessageID == a.MessageID
	}
	if same(rep.Source) {
		return true
	}
	for _, s := range rep.Resent {
		if same(s) {
			return true
		}
	}
	return false
}

// storedReport reads OUT/<id>/report.json (os.ErrNotExist when there is none).
func storedReport(out, id string) (*report.Report, error) {
	b, err := os.ReadFile(filepath.Join(out, id, importer.ReportJSONFile))
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", id, importer.ReportJSONFile, err)
	}
	return &rep, nil
}

func spoolInput(path, name string, a spool.Arrival, passwords []secret.Secret) importer.Input {
	return importer.Input{Path: path, Name: name, Passwords: passwords, Source: report.Source{
		Kind: "mailbox", Mailbox: a.Mailbox, UIDValidity: a.UIDValidity, UID: a.UID, MessageID: a.MessageID, Received: a.Received,
	}}
}

// writeMessageReport writes OUT/<id>/report.json and report.txt for a message moved to Rejected
// (no usable attachment) and returns the report; id is derived from the mailbox, UIDVALIDITY, UID
// and Message-ID. A report written by an earlier pass is kept.
func writeMessageReport(out, mbox string, uidValidity uint32, rej mailbox.RejectedMessage, lang string) (*report.Report, error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%s", mbox, uidValidity, rej.UID, rej.MessageID)))
	id := hex.EncodeToString(sum[:8])
	if rep, err := storedReport(out, id); err == nil {
		return rep, nil // already written by an earlier pass
	}
	received := rej.Received
	if received.IsZero() {
		received = time.Now()
	}
	rep := &report.Report{
		FileID: id, FileName: "(e-post uten brukbart vedlegg)",
		Source: report.Source{Kind: "mailbox", Mailbox: mbox, UIDValidity: uidValidity, UID: rej.UID, MessageID: rej.MessageID,
			Received: received.UTC().Truncate(time.Second)},
	}
	if lang == "en" {
		rep.FileName = "(message without a usable attachment)"
	}
	rep.Received = rep.Source.Received
	for _, r := range rej.Reasons {
		args := validate.Args{"what": r.What, "detail": r.FileName}
		if r.Size > 0 {
			args["limit"] = fmt.Sprintf("%d MiB", r.Size>>20)
		}
		rep.Findings = append(rep.Findings, validate.Finding{Code: validate.Code(r.Reason), Severity: validate.SeverityError, Args: args})
	}
	rep.Finish()
	rep.Status = report.StatusFileRejected
	rep.Localize(lang)
	return rep, writeReportSet(out, rep, lang)
}
