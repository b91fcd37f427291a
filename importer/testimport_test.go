package importer

import (
	"context"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
)

// testImporter registers files for the tests of this package the way internal/intake does,
// without a state: Evaluate against a ledger read view, commit the file's keys, then write and
// publish its output set. (Resends, claims and crash recovery are intake's, tested there.)
type testImporter struct {
	Ledger *ledger.Ledger
	OutDir string
	Opts   Options
}

func (im *testImporter) Import(ctx context.Context, in Input) (*report.Report, error) {
	id := in.fileID()
	set, err := outdir.Begin(im.OutDir, id)
	if err != nil {
		return nil, err
	}
	defer set.Abort()
	r, err := im.Ledger.Reader()
	if err != nil {
		return nil, err
	}
	ev, err := Evaluate(ctx, in, im.Opts, im.Ledger.Secret(), r.Get, set)
	r.Close()
	if err != nil {
		return nil, err
	}
	if err := im.Ledger.Commit(ctx, id, ev.Changes, ledger.FileState{Status: string(ev.Report.Status), Done: true}); err != nil {
		return nil, err
	}
	if err := WriteReports(set, ev.Report, im.Opts.Lang); err != nil {
		return nil, err
	}
	return ev.Report, set.Commit()
}
