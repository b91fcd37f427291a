package importer

import (
	"bufio"
	"context"
	"os"
	"runtime"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"golang.org/x/sys/unix"
)

// bigChanges is the number of keys from which Evaluate collects garbage before it lists them.
const bigChanges = 100_000

// LedgerLookup is the ledger read view the pipeline consults for each valid row's key.
type LedgerLookup func(k ledger.Key) (ledger.Entry, bool)

// Evaluation is what processing a file against the ledger found; nothing is committed yet.
type Evaluation struct {
	Report *report.Report
	// Changes are the ledger changes the file makes. Empty when nothing is registered (a
	// rejected or waiting file, or --strict with a rejected row); the records are then empty.
	Changes []ledger.Change
	// RecordsPath is the records.jsonl written into the output set (not yet committed).
	RecordsPath string
}

// Evaluate reads and checks one file against a ledger view (keys under the HMAC key mac) and
// writes the records of the rows it registers into the output set (records.jsonl and, with
// Options.FHIR, immunizations.ndjson). It commits nothing: the caller records the outcome
// (internal/intake, through internal/state) and then commits the set. The returned error is
// operational only; problems of the file are in the report.
func Evaluate(ctx context.Context, in Input, o Options, mac []byte, lookup LedgerLookup, set *outdir.Set) (*Evaluation, error) {
	rf, err := set.Create(RecordsFile)
	if err != nil {
		return nil, &OperationalError{Err: err}
	}
	sk := &lookupSink{view: lookup, bufferedRecords: bufferedRecords{w: bufio.NewWriterSize(rf, 256<<10)}}
	if sk.fhirFile, sk.fhir, err = beginFHIR(set, o, in.fileID(), o.now()); err != nil {
		return nil, &OperationalError{Err: err}
	}
	rep, keys, err := run(ctx, in, o, ledger.NewHasher(mac), sk)
	if err != nil {
		return nil, err
	}
	if err := sk.flush(); err != nil {
		return nil, operational("write records: %w", err)
	}
	ev := &Evaluation{Report: rep, RecordsPath: rf.Name()}
	if rep.Status == report.StatusFileRejected || rep.Status == report.StatusWaitingPassword ||
		(o.Strict && rep.Stats.Rejected > 0) {
		if rep.Stats.Registered > 0 {
			rep.Stats.NotRegistered = rep.Stats.Registered
		}
		rep.Stats.Registered = 0
		if err := sk.discard(rf); err != nil {
			return nil, operational("discard records: %w", err)
		}
		return ev, nil
	}
	if keys.Len() >= bigChanges {
		startWriteback(rf)
		// The read's garbage (the shared strings above all) is collected before the changes
		// are allocated, so that they take its place instead of growing the heap: import 1M
		// peaked at 180 MB RSS without this and ledger.CommitFiles' FreeOSMemory, 141 with
		// the latter only (issue 17).
		runtime.GC()
	}
	ev.Changes = make([]ledger.Change, 0, keys.Len())
	for k, s := range keys.All() {
		ev.Changes = append(ev.Changes, ledger.Change{Key: k, Row: s.row(), Delete: s.deleted()})
	}
	return ev, nil
}

// fileID is the file id when the caller gave the SHA-256 ("" otherwise: FHIR resources then
// take it from the report, which run fills in).
func (in Input) fileID() string {
	if len(in.SHA256) == 64 {
		return in.SHA256[:16]
	}
	id, _ := FileID(in.Path)
	return id
}

type lookupSink struct {
	view LedgerLookup
	bufferedRecords
}

func (s *lookupSink) lookup(k ledger.Key) (ledger.Entry, bool) { return s.view(k) }

// startWriteback has the kernel start writing a big records file out now, in the background,
// so that the fsync before the output set is renamed into place (after the ledger commit) finds
// little left to write: the writing overlaps the commit (issue 17; 315 MB for a million rows).
// It only starts the writing: durability still comes from that fsync. The descriptor is
// duplicated, as the set may close the file before the call returns.
func startWriteback(f *os.File) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return
	}
	go func() {
		_ = unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		unix.Close(fd)
	}()
}
