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

// ledgerSink looks keys up in the keys of the batch's earlier files, then in a ledger read
// view, and writes records.
type ledgerSink struct {
	r       *ledger.Reader
	pending map[ledger.Key]ledger.Entry
	bufferedRecords
}

func (s *ledgerSink) lookup(k ledger.Key) (ledger.Entry, bool) {
	if e, ok := s.pending[k]; ok {
		return e, true
	}
	return s.r.Get(k)
}

// Import processes one file. The returned error is operational only (*OperationalError or the
// context's error); problems of the file are in the report. Its outputs are in place and its
// keys in the ledger when it returns.
func (im *Importer) Import(ctx context.Context, in Input) (*report.Report, error) {
	b := im.NewBatch()
	rep, err := b.Add(ctx, in)
	if err != nil {
		b.Abort()
		return nil, err
	}
	if err := b.Flush(ctx); err != nil {
		return nil, err
	}
	return rep, nil
}

// Batch imports several files with a group commit (issue 17): each file is read, checked and
// deduplicated (against the ledger and the batch's earlier files) as it is added, its outputs
// written under a temporary name; Flush then commits every file's keys and state in one ledger
// transaction, makes the outputs durable together and renames them into place, and marks the
// files done in a second transaction. The crash guarantees are those of one file (SPEC 5, 6):
// outputs become visible only after the ledger holds their keys (owned by their file, so that a
// file processed again after a crash gets the same records), and a crash before the ledger
// commit leaves nothing of the batch. A Batch is used by one goroutine.
type Batch struct {
	im      *Importer
	files   []*pendingFile
	ids     map[string]bool
	pending map[ledger.Key]ledger.Entry // keys of files[:indexed], for the next ones
	indexed int
	nkeys   int

	stale    map[string][]string // outdir.Stale, read at the batch's first file
	maxFiles int                 // batchMaxFiles; tests lower it
	hook     func(string)        // kill test: called at each crash point
}

type pendingFile struct {
	set     *outdir.Set
	changes []ledger.Change
	state   ledger.FileState
	done    bool // FileState.Done once the outputs are in place
}

// Batch limits: Add flushes first when the pending files reach either.
const (
	batchMaxFiles = 512
	batchMaxKeys  = 100_000
)

// NewBatch starts a batch.
func (im *Importer) NewBatch() *Batch {
	return &Batch{im: im, ids: map[string]bool{}, pending: map[ledger.Key]ledger.Entry{}, maxFiles: batchMaxFiles}
}

// Full reports whether the batch has reached its limits (Add then flushes before the next file).
func (b *Batch) Full() bool { return len(b.files) >= b.maxFiles || b.nkeys >= batchMaxKeys }

// Len is the number of files added since the last Flush.
func (b *Batch) Len() int { return len(b.files) }

// Add processes one file into the batch and returns its report. The file's outputs are in place
// only after Flush (Add flushes the batch itself before a file when the batch is full, or holds
// the same file). The error is operational only, as Import's; the batch is then to be aborted
// (files added before are not committed, as after a crash).
func (b *Batch) Add(ctx context.Context, in Input) (*report.Report, error) {
	im := b.im
	src, err := openSource(in.Path)
	if err != nil {
		return nil, operational("read %s: %w", filepath.Base(in.Path), err)
	}
	defer src.Close()
	id := src.id
	if b.Full() || b.ids[id] {
		if err := b.Flush(ctx); err != nil {
			return nil, err
		}
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
	// The keys of the files before this one become visible to it (only now: a big file that
	// fills the batch is flushed before the next file, and never indexed here).
	for _, f := range b.files[b.indexed:] {
		for _, c := range f.changes {
			b.pending[c.Key] = ledger.Entry{FileID: f.state.FileID, Row: c.Row, Deleted: c.Delete}
		}
	}
	b.indexed = len(b.files)
	pf, rep, err := b.process(ctx, in, src)
	if err != nil {
		return nil, err
	}
	b.nkeys += len(pf.changes)
	b.ids[id] = true
	b.files = append(b.files, pf)
	b.crashPoint("file added")
	return rep, nil
}

// process reads one file, writes its outputs into a new set and returns what Flush commits.
func (b *Batch) process(ctx context.Context, in Input, src *source) (*pendingFile, *report.Report, error) {
	im := b.im
	var err error
	if b.stale == nil {
		if b.stale, err = outdir.Stale(im.OutDir); err != nil {
			return nil, nil, &OperationalError{Err: err}
		}
	}
	set, err := outdir.BeginListed(im.OutDir, src.id, b.stale)
	if err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	delete(b.stale, src.id)
	ok := false
	defer func() {
		if !ok {
			set.Abort()
		}
	}()
	rf, err := set.Create(RecordsFile)
	if err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	// One time for the file: the ledger's processed time and the resources' recorded.
	now := im.Opts.now()
	sk := &ledgerSink{pending: b.pending, bufferedRecords: bufferedRecords{w: bufio.NewWriterSize(rf, 256<<10)}}
	if sk.fhirFile, sk.fhir, err = im.beginFHIR(set, src.id, now); err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	if sk.r, err = im.Ledger.Reader(); err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	rep, keys, err := run(ctx, in, src, im.Opts, im.Ledger.NewHasher(), sk)
	sk.r.Close()
	if err != nil {
		return nil, nil, err
	}
	if err := sk.flush(); err != nil {
		return nil, nil, operational("write records: %w", err)
	}
	if rep.Status == report.StatusFileRejected || rep.Status == report.StatusWaitingPassword ||
		(im.Opts.Strict && rep.Stats.Rejected > 0) {
		if rep.Stats.Registered > 0 {
			rep.Stats.NotRegistered = rep.Stats.Registered
		}
		rep.Stats.Registered = 0
		keys = nil
		if err := sk.discard(rf); err != nil {
			return nil, nil, operational("discard records: %w", err)
		}
	}
	if err := WriteReports(set, rep, im.Opts.Lang); err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	if err := set.Close(); err != nil {
		return nil, nil, &OperationalError{Err: err}
	}
	changes := make([]ledger.Change, 0, keys.Len())
	for k, s := range keys.All() {
		changes = append(changes, ledger.Change{Key: k, Row: s.row(), Delete: s.deleted()})
	}
	ok = true
	return &pendingFile{set: set, changes: changes,
		state: ledger.FileState{FileID: src.id, Status: string(rep.Status), Processed: now},
		done:  rep.Status != report.StatusWaitingPassword}, rep, nil
}

// Flush commits the pending files: ledger first, then the outputs, then the files' done state.
// After an error the batch is empty and the files not committed are as after a crash.
func (b *Batch) Flush(ctx context.Context) error {
	files := b.files
	b.reset()
	if len(files) == 0 {
		return nil
	}
	commit := make([]ledger.FileChanges, len(files))
	sets := make([]*outdir.Set, len(files))
	for i, f := range files {
		commit[i] = ledger.FileChanges{Changes: f.changes, State: f.state}
		sets[i] = f.set
	}
	if err := b.im.Ledger.CommitFiles(ctx, commit); err != nil {
		abortSets(sets)
		return &OperationalError{Err: err}
	}
	b.crashPoint("ledger committed")
	if err := outdir.SyncAll(sets); err != nil {
		return &OperationalError{Err: err}
	}
	b.crashPoint("outputs synced")
	for i, set := range sets {
		if err := set.Publish(); err != nil {
			abortSets(sets[i+1:])
			return &OperationalError{Err: err}
		}
		b.crashPoint("output published")
	}
	if err := outdir.SyncRoots(sets); err != nil {
		return &OperationalError{Err: err}
	}
	var done []ledger.FileState
	for _, f := range files {
		if f.done {
			st := f.state
			st.Done = true
			done = append(done, st)
		}
	}
	if len(done) == 0 {
		return nil
	}
	if err := b.im.Ledger.SetFileStates(ctx, done); err != nil {
		return &OperationalError{Err: err}
	}
	b.crashPoint("done")
	return nil
}

// crashPoint calls the kill test's hook (nil outside it).
func (b *Batch) crashPoint(what string) {
	if b.hook != nil {
		b.hook(what)
	}
}

// Abort drops the pending files: their temporary outputs are removed, nothing is committed.
func (b *Batch) Abort() {
	for _, f := range b.files {
		f.set.Abort()
	}
	b.reset()
}

func (b *Batch) reset() {
	b.files, b.stale = nil, nil
	b.nkeys, b.indexed = 0, 0
	clear(b.ids)
	clear(b.pending)
}

func abortSets(sets []*outdir.Set) {
	for _, s := range sets {
		s.Abort()
	}
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
	// A resent file is processed no further, but it is an event an operator looks for (issue 12).
	im.Opts.Log.Info().Str("file_id", id).Str("status", string(rep.Status)).Int("arrivals", len(rep.Resent)+1).
		Msg("file received again: already processed, its report lists the new arrival")
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
