package importer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/fhir"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/importer/workbook/fastxlsx"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// Limits bound what one file may cost (SPEC 1.1). Beyond them: file.too_large.
type Limits struct {
	// decrypt.Limits are the limits of the file as received and of its decrypted layers:
	// MaxFileSize (default 50 MiB), MaxPlainSize, MaxUnzipSize (declared uncompressed size of
	// the workbook's parts, default 1 GiB) and the key-derivation costs. One structure for
	// every stage (issue 12: a second copy kept its own default, so --max-file-size above 50
	// had no effect).
	decrypt.Limits
	MaxRows int // default 1,048,576 (Excel's own)
}

// DefaultLimits returns the limits of SPEC 1.1.
func DefaultLimits() Limits {
	return Limits{Limits: decrypt.DefaultLimits(), MaxRows: 1 << 20}
}

// Options configure a run. They are the same for every file of the run.
type Options struct {
	Lang    string            // "nb" (default) or "en"
	Check   validate.Options  // code list, as-of date, switches; Date1904 is set per file
	Mapping *workbook.Mapping // header names -> columns; nil = layout v1 synonyms only
	Limits  Limits
	Strict  bool // import --strict: register nothing from a file with a rejected row
	FHIR    bool // --fhir: also write immunizations.ndjson (SPEC 12)
	// Now is the clock for the processing time (ledger, FHIR recorded); nil = time.Now.
	Now    func() time.Time
	TmpDir string // for excelize's temporary files; "" = os.TempDir()
	Log    zerolog.Logger
	// Progress, when set, is called now and then with the number of rows read so far.
	Progress func(rows int)

	shared *shared // set by Prepare
}

// shared is the set-up every file of a run can use as it is (issue 17: for 100-row files it
// cost more than reading them).
type shared struct {
	check   validate.Options // what checker was made from
	checker *validate.Checker
}

// Prepare returns o with the per-run set-up done once: the checker (code list, validator) and
// the default header mapping. A caller that processes several files with the same options
// calls it once and passes the result for every file; without it each file sets these up
// itself. The error wraps validate.ErrOptions.
func (o Options) Prepare() (Options, error) {
	if o.Mapping == nil {
		o.Mapping = workbook.DefaultMapping()
	}
	chk, err := validate.NewChecker(o.Check)
	if err != nil {
		return o, err
	}
	o.shared = &shared{check: o.Check, checker: chk}
	return o, nil
}

// checker returns the checker for one workbook.
func (o *Options) checker(date1904 bool, absent [validate.NumColumns]bool) (*validate.Checker, error) {
	if o.shared != nil && o.shared.check == o.Check {
		return o.shared.checker.WithFile(date1904, absent), nil
	}
	chk := o.Check
	chk.Date1904, chk.Absent = date1904, absent
	return validate.NewChecker(chk)
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

// Input is one file to process.
type Input struct {
	Path      string // where to read the bytes
	Name      string // the file name as received, for the report
	Source    report.Source
	Passwords []secret.Secret
	// SHA256 is the hex SHA-256 of the bytes at Path when the caller knows it already (the
	// spool does): the file is then not hashed again.
	SHA256 string
	// Plain, when set, is the file already unwrapped (decrypted) by the caller, who keeps it
	// open and closes it: validate --annotate decrypts once for the check and the copy.
	Plain *decrypt.Plain
}

// OperationalError marks a failure of the machine rather than of the file (disk, ledger): the
// run stops safely (exit 4).
type OperationalError struct{ Err error }

func (e *OperationalError) Error() string { return e.Err.Error() }
func (e *OperationalError) Unwrap() error { return e.Err }

func operational(format string, a ...any) error {
	return &OperationalError{Err: fmt.Errorf(format, a...)}
}

// fileError is a file-level problem that ends reading; it becomes a finding.
type fileError struct {
	code   validate.Code
	args   validate.Args
	detail string
}

func (e *fileError) Error() string { return string(e.code) + ": " + e.detail }

// classify turns an error from the unwrap and reading stages into a file-level finding. A nil
// return means the error is operational.
func classify(err error) *fileError {
	var fe *fileError
	if errors.As(err, &fe) {
		return fe
	}
	var de *decrypt.Error
	if errors.As(err, &de) {
		args := validate.Args{"detail": de.Detail}
		if de.What != "" {
			args["what"] = de.What
		}
		return &fileError{code: de.Code, args: args, detail: de.Detail}
	}
	var we *workbook.Error
	if errors.As(err, &we) {
		args := validate.Args{"detail": we.Detail}
		for k, v := range we.Args {
			args[k] = v
		}
		return &fileError{code: we.Code, args: args, detail: we.Detail}
	}
	return nil
}

// sink receives the outcome of each row that is to be registered.
type sink interface {
	// lookup returns the ledger's entry for a key (validate-only runs have no ledger).
	lookup(k ledger.Key) (ledger.Entry, bool)
	// record writes the records.jsonl line of a registered row (and its FHIR resource, if asked).
	record(line []byte, rec *validate.Record) error
}

// Validate checks one file and returns its report; it writes nothing and uses no ledger.
func Validate(ctx context.Context, in Input, o Options) (*report.Report, error) {
	rep, _, err := run(ctx, in, o, nil, noLedger{})
	if err != nil {
		return nil, err
	}
	rep.Mode = report.ModeValidate
	return rep, nil
}

type noLedger struct{}

func (noLedger) lookup(ledger.Key) (ledger.Entry, bool) { return ledger.Entry{}, false }
func (noLedger) record([]byte, *validate.Record) error  { return nil }

// source is an input file opened for one run: what to read it through, its size, its SHA-256
// and file id. A small file (the mailbox's daily shape) is read into memory once, for the hash
// and for the zip reader both (issue 17: otherwise every small read of archive/zip is a pread).
type source struct {
	f    *os.File
	r    io.ReaderAt
	size int64
	sum  string // SHA-256 of the file as received, hex
	id   string // file id (SPEC 5)
}

// inMemoryMax is the largest file read into memory by openSource.
const inMemoryMax = 4 << 20

func openSource(path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := readSource(f, "")
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// readSource opens f for a run. known is the file's hex SHA-256 when the caller has it (the
// spool does): the file is then not hashed again.
func readSource(f *os.File, known string) (*source, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s := &source{f: f, r: f, size: fi.Size()}
	var sum [sha256.Size]byte
	if len(known) == 64 {
		s.sum, s.id = known, known[:16]
		if s.size <= inMemoryMax {
			data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
			if err != nil {
				return nil, err
			}
			s.r, s.size = bytes.NewReader(data), int64(len(data))
		}
		return s, nil
	}
	if s.size <= inMemoryMax {
		// One byte more than the size, so that a file that grew since Stat is hashed whole,
		// as below.
		data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<62))
		if err != nil {
			return nil, err
		}
		s.r, s.size, sum = bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)
	} else {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
			return nil, err
		}
		h.Sum(sum[:0])
	}
	s.sum = hex.EncodeToString(sum[:])
	s.id = s.sum[:16]
	return s, nil
}

func (s *source) Close() error { return s.f.Close() }

// FileID returns the file id (SPEC 5) of a local file.
func FileID(path string) (string, error) {
	s, err := openSource(path)
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.id, nil
}

// dedupState is what the file itself did with a key, in 8 bytes (a key table entry is then 24
// bytes: 24 MB for a million-row file, not 32; issue 17): the row, the dose and whether the last
// action of this file on the key was a deletion, packed; batch is the hash of the first row's
// batch (for row.duplicate_conflict). Spreadsheet row numbers stop at 1,048,576 (2^20: both
// readers refuse a row beyond it) and Record.Dose is 0..20, so the fields fit their bits.
type dedupState struct {
	packed uint32 // row | dose<<dedupDoseShift | deleted<<31
	batch  uint32
}

const (
	dedupRowMask   = 1<<24 - 1
	dedupDoseShift = 24
	dedupDoseMask  = 1<<7 - 1
	dedupDeleted   = 1 << 31
)

func newDedupState(row, dose int, deleted bool, batch uint32) dedupState {
	p := uint32(min(max(row, 0), dedupRowMask)) | uint32(min(max(dose, 0), dedupDoseMask))<<dedupDoseShift
	if deleted {
		p |= dedupDeleted
	}
	return dedupState{packed: p, batch: batch}
}

func (s dedupState) row() int      { return int(s.packed & dedupRowMask) }
func (s dedupState) dose() int     { return int(s.packed >> dedupDoseShift & dedupDoseMask) }
func (s dedupState) deleted() bool { return s.packed&dedupDeleted != 0 }

// run reads and checks a file. With a ledger reader (import) keys are looked up there; records
// are passed to rec. It returns the report and the key changes the file makes.
func run(ctx context.Context, in Input, o Options, hasher *ledger.Hasher, sk sink) (*report.Report, *keyTable, error) {
	start := time.Now()
	rep := &report.Report{FileName: in.Name, Source: in.Source, Received: in.Source.Received}
	if rep.Received.IsZero() {
		rep.Received = start.UTC().Truncate(time.Second)
		rep.Source.Received = rep.Received
	}
	f, err := os.Open(in.Path)
	if err != nil {
		return nil, nil, operational("open %s: %w", filepath.Base(in.Path), err)
	}
	defer f.Close()
	src, err := readSource(f, in.SHA256)
	if err != nil {
		return nil, nil, operational("read %s: %w", filepath.Base(in.Path), err)
	}
	rep.SHA256, rep.FileID = src.sum, src.id
	if c := o.Check.AsOf; c.Year != 0 {
		rep.AsOf = fmt.Sprintf("%04d-%02d-%02d", c.Year, c.Month, c.Day)
	}
	log := o.Log.With().Str("file_id", rep.FileID).Logger()

	keys := newKeyTable()
	if hasher == nil {
		hasher = ledger.NewRunHasher() // validate: keys are compared within the file only
	}
	ferr := readRows(ctx, src.r, src.size, in, o, rep, hasher, keys, sk)
	if ferr != nil {
		fe := classify(ferr)
		if fe == nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, &OperationalError{Err: ferr}
		}
		rep.Findings = append(rep.Findings, validate.Finding{Code: fe.code, Severity: validate.SeverityError, Args: fe.args})
		// A file-level error discards what was read: nothing of the file is registered.
		keys = newKeyTable()
		rep.Stats.Registered = 0
	}
	rep.Finish()
	rep.Localize(o.Lang)
	log.Info().Str("status", string(rep.Status)).Int("rows", rep.Stats.Rows).Int("registered", rep.Stats.Registered).
		Int("rejected", rep.Stats.Rejected).Int("findings", len(rep.Findings)).Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("file checked")
	return rep, keys, nil
}

// readRows does the streaming part: unwrap, open, header, rows.
func readRows(ctx context.Context, f io.ReaderAt, size int64, in Input, o Options, rep *report.Report,
	hasher *ledger.Hasher, keys *keyTable, sk sink) error {
	lim := o.Limits
	if lim.MaxFileSize > 0 && size > lim.MaxFileSize {
		return &fileError{code: validate.FileTooLarge, args: validate.Args{"limit": fmt.Sprint(lim.MaxFileSize), "unit": "bytes"},
			detail: "file over the size limit"}
	}
	plain := in.Plain
	if plain == nil {
		var err error
		if plain, err = decrypt.Unwrap(ctx, f, size, in.Passwords, lim.Limits); err != nil {
			return err
		}
		defer plain.Close()
	}
	rep.Layers = plain.Layers

	// fastxlsx reads the common case at close to decompression speed and hands anything it
	// does not read exactly like excelize over to workbook.OpenExcelize (issue 6).
	book, err := fastxlsx.OpenWithFallback(ctx, plain.ReaderAt, plain.Size, fastxlsx.Options{Options: workbook.Options{
		UnzipSizeLimit: lim.MaxUnzipSize, TmpDir: o.TmpDir, MaxRows: lim.MaxRows,
	}})
	if err != nil {
		return err
	}
	defer book.Close()
	sheet, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{Mapping: o.Mapping})
	if err != nil {
		return err
	}
	defer sheet.Close()
	// From here on nothing keeps a row's cell text beyond the row (findings are copied by
	// keepFindings, records are written out), so fastxlsx can reuse one buffer for it.
	fastxlsx.ReuseRowMemory(book)
	absent := checkHeader(rep, sheet.Header())
	checker, err := o.checker(book.Date1904(), absent)
	if err != nil {
		return operational("checker: %w", err)
	}
	_, discard := sk.(noLedger)
	return checkRows(ctx, sheet, o, &rowChecker{checker: checker, rep: rep, hasher: hasher, keys: keys, sk: sk, discard: discard,
		line: make([]byte, 0, 512), iso: make([]byte, 0, 10), rec: new(validate.Record)})
}

// checkHeader reports the header's unknown columns (warnings) and the columns it lacks
// (validate.FileLevelMissing), and returns which columns are absent.
func checkHeader(rep *report.Report, hdr workbook.HeaderInfo) (absent [validate.NumColumns]bool) {
	for _, h := range hdr.Unknown {
		rep.Findings = append(rep.Findings, validate.Finding{Code: validate.HeaderUnknownColumn, Severity: validate.SeverityWarning,
			Args: validate.Args{"column": h}})
	}
	for col := validate.Column(0); col < validate.NumColumns; col++ {
		absent[col] = !hdr.Has(col)
	}
	rep.Findings = append(rep.Findings, validate.FileLevelMissing(absent)...)
	return absent
}

// checkRows runs every data row of sheet through rc, checking for cancellation and reporting
// progress every 16,384 rows.
func checkRows(ctx context.Context, sheet *workbook.Sheet, o Options, rc *rowChecker) error {
	rep := rc.rep
	for sheet.Next() {
		rep.Stats.Rows++
		if rep.Stats.Rows&0x3fff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if o.Progress != nil {
				o.Progress(rep.Stats.Rows)
			}
		}
		if err := rc.row(sheet.Row()); err != nil {
			return err
		}
	}
	if err := sheet.Err(); err != nil {
		// A file-level error while reading rejects the whole file (run registers nothing), and
		// the rows read before it are dropped from the report as well: the excelize reader finds
		// such problems (rows beyond the limit, a damaged part) before the first row, fastxlsx
		// only when it gets there, and the report must not depend on which reader read the file.
		rep.Findings = rep.Findings[:0]
		rep.Stats = report.Stats{}
		return err
	}
	if o.Progress != nil {
		o.Progress(rep.Stats.Rows)
	}
	if rep.Stats.Rows == 0 {
		return &fileError{code: validate.FileNoRows, detail: "header but no data rows"}
	}
	return nil
}

// rowChecker checks, deduplicates and registers one row at a time; its buffers are reused
// from row to row.
type rowChecker struct {
	checker *validate.Checker
	rep     *report.Report
	hasher  *ledger.Hasher
	keys    *keyTable
	sk      sink
	discard bool // a validate-only run: the sink keeps no records

	findings  []validate.Finding
	line, iso []byte
	// One Record for the whole file, overwritten by every row: it escapes (sink.record takes
	// its address through an interface), and one per row was 200 bytes of garbage a row.
	rec *validate.Record
}

// row checks one row: a row with errors is rejected, otherwise it is deduplicated against the
// file and the ledger and, if new, registered and written to the sink (in a validate-only run
// the JSON line is not even formatted).
func (rc *rowChecker) row(row *validate.Row) error {
	rep, rec := rc.rep, rc.rec
	*rec, rc.findings = rc.checker.Check(row, rc.findings[:0])
	if validate.HasError(rc.findings) {
		rep.Stats.Rejected++
		rep.Findings = keepFindings(rep.Findings, rc.findings)
		return nil
	}
	rc.iso = appendISODate(rc.iso[:0], rec.VaccinationDate)
	k := rc.hasher.Key(rec.PersonID, rc.iso, rec.SysvakCode)
	dup, register := dedup(rep.FileID, rec, k, rc.keys, rc.sk)
	for _, d := range dup {
		switch d.Code {
		case validate.RowDuplicate, validate.RowDuplicateConflict:
			rep.Stats.DuplicatesInFile++
		case validate.LedgerDuplicate:
			rep.Stats.DuplicatesInLedger++
		}
	}
	rc.findings = append(rc.findings, dup...)
	rep.Findings = keepFindings(rep.Findings, rc.findings)
	if !register {
		return nil
	}
	rep.Stats.Registered++
	if rc.discard {
		return nil
	}
	rc.line = appendRecord(rc.line[:0], rep.FileID, rec)
	return rc.sk.record(rc.line, rec)
}

// keepFindings appends fs to dst with their strings copied: a finding's Value (and possibly
// an Args value) can share memory with the row's cells, which fastxlsx.ReuseRowMemory lets the
// next row overwrite. Only rows with findings pay for the copies.
func keepFindings(dst, fs []validate.Finding) []validate.Finding {
	for _, f := range fs {
		f.Value = strings.Clone(f.Value)
		if len(f.Args) > 0 {
			args := make(validate.Args, len(f.Args))
			for k, v := range f.Args {
				args[k] = strings.Clone(v)
			}
			f.Args = args
		}
		dst = append(dst, f)
	}
	return dst
}

// dedup decides whether a valid row is registered (SPEC 3) and returns its duplicate findings.
func dedup(fileID string, rec *validate.Record, k ledger.Key, keys *keyTable, sk sink) ([]validate.Finding, bool) {
	bh := batchHash(rec.Batch)
	// One index probe per row: p is the key's entry, updated in place when the file has
	// touched the key before.
	p := keys.find(&k)
	seen := p != nil
	var st dedupState
	if seen {
		st = *p
	}
	if rec.Action == validate.ActionDelete {
		if seen && !st.deleted() {
			*p = newDedupState(rec.Row, 0, true, 0)
			return nil, true
		}
		if seen && st.deleted() {
			return []validate.Finding{dupFinding(rec, st, bh)}, false
		}
		e, ok := sk.lookup(k)
		keys.add(&k, newDedupState(rec.Row, 0, true, 0))
		if ok && (!e.Deleted || e.OwnedBy(fileID)) {
			return nil, true
		}
		return []validate.Finding{{Row: rec.Row, Column: validate.ColPersonID.Key(), Code: validate.LedgerDeleteUnknown,
			Severity: validate.SeverityWarning}}, true
	}
	if seen && !st.deleted() {
		return []validate.Finding{dupFinding(rec, st, bh)}, false
	}
	if !seen {
		if e, ok := sk.lookup(k); ok && !e.Deleted && !e.OwnedBy(fileID) {
			return []validate.Finding{{Row: rec.Row, Column: validate.ColPersonID.Key(), Code: validate.LedgerDuplicate,
				Severity: validate.SeverityWarning,
				Args:     validate.Args{"file": e.FileID, "row": strconv.Itoa(e.Row)}}}, false
		}
	}
	if seen {
		*p = newDedupState(rec.Row, rec.Dose, false, bh)
	} else {
		keys.add(&k, newDedupState(rec.Row, rec.Dose, false, bh))
	}
	return nil, true
}

func dupFinding(rec *validate.Record, first dedupState, bh uint32) validate.Finding {
	f := validate.Finding{Row: rec.Row, Column: validate.ColPersonID.Key(), Code: validate.RowDuplicate,
		Severity: validate.SeverityWarning,
		Args:     validate.Args{"row": strconv.Itoa(first.row())}}
	if first.deleted() {
		return f
	}
	var differs []string
	if bh != first.batch {
		differs = append(differs, validate.ColBatch.Key())
	}
	if rec.Dose != first.dose() {
		differs = append(differs, validate.ColDose.Key())
	}
	if len(differs) > 0 {
		f.Code = validate.RowDuplicateConflict
		f.Args["differs"] = strings.Join(differs, ", ")
	}
	return f
}

// batchHash is FNV-1a, inlined so that it does not allocate per row.
func batchHash(batch string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(batch); i++ {
		h ^= uint32(batch[i])
		h *= 16777619
	}
	return h
}

// bufferedRecords writes records into an output set's records.jsonl and, with --fhir, their
// resources into immunizations.ndjson (fhir and fhirFile nil without it).
type bufferedRecords struct {
	w        *bufio.Writer
	fhir     *fhir.Writer
	fhirFile *os.File
}

func (b *bufferedRecords) record(line []byte, rec *validate.Record) error {
	if _, err := b.w.Write(line); err != nil {
		return err
	}
	if b.fhir != nil {
		return b.fhir.Write(rec)
	}
	return nil
}

func (b *bufferedRecords) flush() error {
	if err := b.w.Flush(); err != nil {
		return err
	}
	if b.fhir != nil {
		return b.fhir.Flush()
	}
	return nil
}

// discard empties the written records (a file that registers nothing).
func (b *bufferedRecords) discard(records *os.File) error {
	if err := records.Truncate(0); err != nil {
		return err
	}
	if b.fhirFile != nil {
		return b.fhirFile.Truncate(0)
	}
	return nil
}
