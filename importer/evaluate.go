package importer

import (
	"bufio"
	"context"
	"io"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/report"
)

// LedgerLookup is the ledger read view the pipeline consults for each valid row's key.
type LedgerLookup func(k ledger.Key) (ledger.Entry, bool)

// Evaluation is what processing a file against the ledger found; nothing is committed yet.
type Evaluation struct {
	Report *report.Report
	// Changes are the ledger changes the file makes. Empty when nothing is registered (a
	// rejected or waiting file, or --strict with a rejected row): the records written are then
	// to be discarded (Registers false).
	Changes   []ledger.Change
	Registers bool
}

// Evaluate reads and checks one file against a ledger view (keys under the HMAC key mac) and
// writes the records of the rows it registers to records. It commits nothing: the caller records
// the outcome (internal/intake, through internal/state). The returned error is operational only;
// problems of the file are in the report.
func Evaluate(ctx context.Context, in Input, o Options, mac []byte, lookup LedgerLookup, records io.Writer) (*Evaluation, error) {
	sk := &lookupSink{view: lookup, bufferedRecords: bufferedRecords{w: bufio.NewWriterSize(records, 256<<10)}}
	rep, keys, err := run(ctx, in, o, ledger.NewHasher(mac), sk)
	if err != nil {
		return nil, err
	}
	if err := sk.w.Flush(); err != nil {
		return nil, operational("write records: %w", err)
	}
	ev := &Evaluation{Report: rep, Registers: true}
	if rep.Status == report.StatusFileRejected || rep.Status == report.StatusWaitingPassword ||
		(o.Strict && rep.Stats.Rejected > 0) {
		if rep.Stats.Registered > 0 {
			rep.Stats.NotRegistered = rep.Stats.Registered
		}
		rep.Stats.Registered = 0
		ev.Registers = false
		return ev, nil
	}
	ev.Changes = make([]ledger.Change, 0, keys.Len())
	for k, s := range keys.All() {
		ev.Changes = append(ev.Changes, ledger.Change{Key: k, Row: int(s.row), Delete: s.deleted})
	}
	return ev, nil
}

type lookupSink struct {
	view LedgerLookup
	bufferedRecords
}

func (s *lookupSink) lookup(k ledger.Key) (ledger.Entry, bool) { return s.view(k) }
