package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/state"
)

// StateReader is the part of the state the file pages read.
type StateReader interface {
	File(ctx context.Context, id string) (state.File, error)
	ListFiles(ctx context.Context, q state.FileQuery) (state.FilePage, error)
	Report(ctx context.Context, id string) ([]byte, error)
}

// StateFiles shows the files of a state. OutDir, when set, is where a report is read from when
// the state holds none (a file processed before the state kept reports: OUT/<file-id>/report.json).
type StateFiles struct {
	State  StateReader
	OutDir string
}

var _ Files = StateFiles{}

// ListFiles implements Files.
func (s StateFiles) ListFiles(ctx context.Context, q ListQuery) (FileList, error) {
	fq := state.FileQuery{Offset: q.Offset, Limit: q.Limit}
	if q.Stage != "" {
		fq.Status = []state.FileStatus{state.FileStatus(q.Stage)}
	}
	p, err := s.State.ListFiles(ctx, fq)
	if err != nil {
		return FileList{}, err
	}
	l := FileList{Total: p.Total, Counts: map[Stage]int{}}
	for st, n := range p.Counts {
		l.Counts[Stage(st)] = n
	}
	for _, f := range p.Files {
		sum := summaryOf(f)
		if f.Summary.ReportStatus == "" && (f.Status == state.StatusProcessed || f.Status == state.StatusRejected) {
			// A file processed before the state kept summaries: its report says.
			if rep, err := s.report(ctx, f.ID); err == nil && rep != nil {
				sum.Status, sum.Rows, sum.Registered, sum.Rejected = rep.Status, rep.Stats.Rows, rep.Stats.Registered, rep.Stats.Rejected
			}
		}
		l.Files = append(l.Files, sum)
	}
	return l, nil
}

// FileDetail implements Files.
func (s StateFiles) FileDetail(ctx context.Context, id string) (FileDetail, error) {
	f, err := s.State.File(ctx, id)
	if err != nil {
		return FileDetail{}, err
	}
	d := FileDetail{FileSummary: summaryOf(f), LastError: f.LastError}
	for _, a := range append([]state.Arrival{f.Source}, f.Arrivals...) {
		d.Arrivals = append(d.Arrivals, arrivalOf(a))
	}
	rep, err := s.report(ctx, id)
	if err != nil {
		return FileDetail{}, err
	}
	if rep != nil && f.Status != state.StatusWaiting {
		d.Report = rep
		if d.Status == "" || d.Rows == 0 && rep.Stats.Rows > 0 {
			d.Status, d.Rows, d.Registered, d.Rejected = rep.Status, rep.Stats.Rows, rep.Stats.Registered, rep.Stats.Rejected
		}
	}
	return d, nil
}

// Totals implements Files: every file is read once (for /metrics).
func (s StateFiles) Totals(ctx context.Context) (Totals, error) {
	p, err := s.State.ListFiles(ctx, state.FileQuery{})
	if err != nil {
		return Totals{}, err
	}
	t := Totals{ByStage: map[Stage]int{}}
	for st, n := range p.Counts {
		t.ByStage[Stage(st)] = n
	}
	for _, f := range p.Files {
		t.Rows += f.Summary.Rows
		t.Registered += f.Summary.Registered
		t.Rejected += f.Summary.Rejected
	}
	return t, nil
}

// report reads the stored report.json (nil, nil: there is none yet).
func (s StateFiles) report(ctx context.Context, id string) (*report.Report, error) {
	b, err := s.State.Report(ctx, id)
	if errors.Is(err, state.ErrNotFound) && s.OutDir != "" {
		b, err = os.ReadFile(filepath.Join(s.OutDir, id, "report.json"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("console: report of %s: %w", id, err)
	}
	return &r, nil
}

func summaryOf(f state.File) FileSummary {
	s := FileSummary{ID: f.ID, Name: f.Name, Received: f.Received, Sender: f.Source.Sender, Stage: Stage(f.Status),
		Rows: f.Summary.Rows, Registered: f.Summary.Registered, Rejected: f.Summary.Rejected}
	a := arrivalOf(f.Source)
	s.Source, s.Mailbox = a.Source, a.Mailbox
	switch f.Status {
	case state.StatusWaiting:
		s.Status = report.StatusWaitingPassword
	case state.StatusProcessed, state.StatusRejected:
		s.Status = report.Status(f.Summary.ReportStatus)
		if s.Status == "" && f.Status == state.StatusRejected {
			s.Status = report.StatusFileRejected
		}
	}
	return s
}

func arrivalOf(a state.Arrival) Arrival {
	out := Arrival{Received: a.Received, Sender: a.Sender, FileName: a.FileName, Source: "local"}
	if a.Mailbox != "" {
		out.Source, out.Mailbox = "mailbox", a.Mailbox
	}
	return out
}
