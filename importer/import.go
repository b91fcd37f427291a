package importer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer/fhir"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
)

// Output file names inside OUT/<file-id>/.
const (
	RecordsFile    = "records.jsonl"
	ReportJSONFile = "report.json"
	ReportTextFile = "report.txt"
	FHIRFile       = "immunizations.ndjson" // with Options.FHIR (SPEC 12)
)

// Importer registers files: validate + dedup against the ledger + outputs into OutDir.
type Importer struct {
	Ledger *ledger.Ledger
	OutDir string
	Opts   Options
}

// ledgerSink looks keys up in a ledger read view and writes records.
type ledgerSink struct {
	r *ledger.Reader
	bufferedRecords
}

func (s *ledgerSink) lookup(k ledger.Key) (ledger.Entry, bool) { return s.r.Get(k) }

// Import processes one file. The returned error is operational only (*OperationalError or the
// context's error); problems of the file are in the report.
func (im *Importer) Import(ctx context.Context, in Input) (*report.Report, error) {
	id, err := FileID(in.Path)
	if err != nil {
		return nil, operational("read %s: %w", filepath.Base(in.Path), err)
	}
	st, known, err := im.Ledger.FileState(id)
	if err != nil {
		return nil, &OperationalError{Err: err}
	}
	if known && st.Done && st.Status != string(report.StatusWaitingPassword) {
		rep, err := im.resent(id, in, st.Processed)
		if err == nil {
			return rep, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, &OperationalError{Err: err}
		}
		// The outputs were removed by hand: process again (idempotent through the ledger).
	}

	set, err := outdir.Begin(im.OutDir, id)
	if err != nil {
		return nil, &OperationalError{Err: err}
	}
	defer set.Abort()
	rf, err := set.Create(RecordsFile)
	if err != nil {
		return nil, &OperationalError{Err: err}
	}
	// One time for the file: the ledger's processed time and the resources' recorded.
	now := im.Opts.now()
	sk := &ledgerSink{bufferedRecords: bufferedRecords{w: bufio.NewWriterSize(rf, 256<<10)}}
	if sk.fhirFile, sk.fhir, err = im.beginFHIR(set, id, now); err != nil {
		return nil, &OperationalError{Err: err}
	}
	if sk.r, err = im.Ledger.Reader(); err != nil {
		return nil, &OperationalError{Err: err}
	}
	rep, keys, err := run(ctx, in, im.Opts, im.Ledger.NewHasher(), sk)
	sk.r.Close()
	if err != nil {
		return nil, err
	}
	if err := sk.flush(); err != nil {
		return nil, operational("write records: %w", err)
	}
	if rep.Status == report.StatusFileRejected || rep.Status == report.StatusWaitingPassword ||
		(im.Opts.Strict && rep.Stats.Rejected > 0) {
		if rep.Stats.Registered > 0 {
			rep.Stats.NotRegistered = rep.Stats.Registered
		}
		rep.Stats.Registered = 0
		keys = nil
		if err := sk.discard(rf); err != nil {
			return nil, operational("discard records: %w", err)
		}
	}

	changes := make([]ledger.Change, 0, keys.Len())
	for k, s := range keys.All() {
		changes = append(changes, ledger.Change{Key: k, Row: int(s.row), Delete: s.deleted})
	}
	fs := ledger.FileState{FileID: id, Status: string(rep.Status), Processed: now}
	if err := im.Ledger.Commit(ctx, id, changes, fs); err != nil {
		return nil, &OperationalError{Err: err}
	}
	if err := WriteReports(set, rep, im.Opts.Lang); err != nil {
		return nil, &OperationalError{Err: err}
	}
	if err := set.Commit(); err != nil {
		return nil, &OperationalError{Err: err}
	}
	fs.Done = rep.Status != report.StatusWaitingPassword
	if err := im.Ledger.SetFileState(ctx, fs); err != nil {
		return nil, &OperationalError{Err: err}
	}
	return rep, nil
}

// WriteReports writes report.json and report.txt into an output set: the one writer of a
// report's files (import, poll, unlock and validate --report).
func WriteReports(set *outdir.Set, rep *report.Report, lang string) error {
	jf, err := set.Create(ReportJSONFile)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(jf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write report.json: %w", err)
	}
	tf, err := set.Create(ReportTextFile)
	if err != nil {
		return err
	}
	if err := rep.WriteText(tf, lang); err != nil {
		return fmt.Errorf("write report.txt: %w", err)
	}
	return nil
}

// WriteReportSet writes DIR/<file-id>/report.json and report.txt as one atomic set
// (validate --report, a rejected message's report).
func WriteReportSet(dir string, rep *report.Report, lang string) error {
	set, err := outdir.Begin(dir, rep.FileID)
	if err != nil {
		return err
	}
	defer set.Abort()
	if err := WriteReports(set, rep, lang); err != nil {
		return err
	}
	return set.Commit()
}

// beginFHIR creates immunizations.ndjson in the set when Options.FHIR asks for it (SPEC 12);
// otherwise it returns nil, nil.
func (im *Importer) beginFHIR(set *outdir.Set, id string, recorded time.Time) (*os.File, *fhir.Writer, error) {
	if !im.Opts.FHIR {
		return nil, nil, nil
	}
	f, err := set.Create(FHIRFile)
	if err != nil {
		return nil, nil, err
	}
	return f, fhir.NewWriter(f, fhir.Mapper{FileID: id, Recorded: recorded, Codes: im.Opts.Check.Codes}), nil
}

// resent records a new arrival of an already processed file in its report (SPEC 5) and returns
// the report, whose outcome is unchanged. os.ErrNotExist means the outputs are gone. The set's
// files are carried over unchanged; with --fhir and a set written without it, the resources are
// made from records.jsonl with recorded = the file's first processing.
func (im *Importer) resent(id string, in Input, processed time.Time) (*report.Report, error) {
	dir := filepath.Join(im.OutDir, id)
	b, err := os.ReadFile(filepath.Join(dir, ReportJSONFile))
	if err != nil {
		return nil, err
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("read %s/report.json: %w", id, err)
	}
	src := in.Source
	if src.Received.IsZero() {
		src.Received = time.Now().UTC().Truncate(time.Second)
	}
	rep.Resent = append(rep.Resent, src)
	// The stored findings keep the messages of the run that processed the file.
	set, err := outdir.Begin(im.OutDir, id)
	if err != nil {
		return nil, err
	}
	defer set.Abort()
	if err := set.CopyFrom(RecordsFile); err != nil {
		return nil, err
	}
	if err := im.carryFHIR(set, dir, id, processed); err != nil {
		return nil, err
	}
	if err := WriteReports(set, &rep, im.Opts.Lang); err != nil {
		return nil, err
	}
	if err := set.Commit(); err != nil {
		return nil, err
	}
	return &rep, nil
}

// carryFHIR copies immunizations.ndjson of the old set, or, when there is none and --fhir is
// given, writes it from the old set's records.jsonl.
func (im *Importer) carryFHIR(set *outdir.Set, dir, id string, processed time.Time) error {
	return CarryFHIR(set, im.Opts, dir, id, processed)
}

// CarryFHIR is carryFHIR for a caller without an Importer (internal/intake rewriting a
// processed file's reports): dir is OUT/<id>, the set being written.
func CarryFHIR(set *outdir.Set, o Options, dir, id string, processed time.Time) error {
	im := &Importer{Opts: o}
	if _, err := os.Stat(filepath.Join(dir, FHIRFile)); err == nil || !im.Opts.FHIR {
		return set.CopyFrom(FHIRFile)
	}
	recs, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", id, RecordsFile, err)
	}
	defer recs.Close()
	_, w, err := im.beginFHIR(set, id, processed)
	if err != nil {
		return err
	}
	if err := fhir.ConvertRecords(recs, w); err != nil {
		return err
	}
	return w.Flush()
}
