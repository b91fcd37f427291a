package importer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fhi/sysvak-import/importer/fhir"
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
func beginFHIR(set *outdir.Set, o Options, id string, recorded time.Time) (*os.File, *fhir.Writer, error) {
	if !o.FHIR {
		return nil, nil, nil
	}
	f, err := set.Create(FHIRFile)
	if err != nil {
		return nil, nil, err
	}
	return f, fhir.NewWriter(f, fhir.Mapper{FileID: id, Recorded: recorded, Codes: o.Check.Codes}), nil
}

// CarryFHIR, when a processed file's report set is rewritten (internal/intake: a resend), copies
// immunizations.ndjson of the old set, or, when there is none and --fhir is given, writes it from
// the old set's records.jsonl with recorded = the file's first processing. dir is OUT/<id>, set
// the set being written.
func CarryFHIR(set *outdir.Set, o Options, dir, id string, processed time.Time) error {
	if _, err := os.Stat(filepath.Join(dir, FHIRFile)); err == nil || !o.FHIR {
		return set.CopyFrom(FHIRFile)
	}
	recs, err := os.Open(filepath.Join(dir, RecordsFile))
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", id, RecordsFile, err)
	}
	defer recs.Close()
	_, w, err := beginFHIR(set, o, id, processed)
	if err != nil {
		return err
	}
	if err := fhir.ConvertRecords(recs, w); err != nil {
		return err
	}
	return w.Flush()
}
