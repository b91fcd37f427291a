package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/finding"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/validate"
)

// Finding turns a mailbox's rejection reason (mailbox.Reason*, in its own terms) into a finding
// code. Records from before the mailbox had its own terms hold the code itself.
func Finding(reason string) finding.Code {
	switch reason {
	case "no_attachment":
		return finding.MailNoAttachment
	case "unsupported_type":
		return finding.FileUnsupportedFormat
	case "too_large":
		return finding.FileTooLarge
	case "too_many_parts":
		return finding.MailTooManyParts
	case "too_deep":
		return finding.MailTooDeep
	case "unreadable":
		return finding.MailUnreadable
	}
	if strings.Contains(reason, ".") {
		return finding.Code(reason)
	}
	return finding.MailUnreadable
}

// MessageID is the id of a rejected message's report: derived from its mailbox, UIDVALIDITY,
// UID and Message-ID, in the form of a file id.
func MessageID(m state.Message) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%s", m.Mailbox, m.UIDValidity, m.UID, m.MessageID)))
	return hex.EncodeToString(sum[:8])
}

// MessageReport writes OUT/<id>/report.json and report.txt for a message moved to the rejected
// folder (no usable attachment) and returns the report; a report written before is kept.
func (s *Service) MessageReport(ctx context.Context, m state.Message) (*report.Report, error) {
	lang := s.cfg.Opts.Lang
	id := MessageID(m)
	if rep, err := readReport(s.cfg.OutDir, id); err == nil {
		return rep, nil // written by an earlier pass
	}
	received := m.Received
	if received.IsZero() {
		received = s.cfg.Now()
	}
	rep := &report.Report{
		FileID: id, FileName: "(e-post uten brukbart vedlegg)",
		Source: report.Source{Kind: "mailbox", Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID, MessageID: m.MessageID,
			Received: received.UTC().Truncate(time.Second)},
	}
	if lang == "en" {
		rep.FileName = "(message without a usable attachment)"
	}
	rep.Received = rep.Source.Received
	for _, r := range m.Rejected {
		args := validate.Args{"what": r.What, "detail": r.FileName}
		if r.Size > 0 {
			args["limit"] = fmt.Sprintf("%d MiB", r.Size>>20)
		}
		rep.Findings = append(rep.Findings, validate.Finding{Code: Finding(r.Reason), Severity: validate.SeverityError, Args: args})
	}
	rep.Finish()
	rep.Status = report.StatusFileRejected
	rep.Localize(lang)
	return rep, importer.WriteReportSet(s.cfg.OutDir, rep, lang)
}
