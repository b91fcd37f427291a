package intake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/importer/outdir"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// Batch limits (issue 17): ImportPaths takes up to batchMaxFiles files in one step (one AddFiles,
// one ClaimFiles) and records them with one RecordOutcomes, flushing early when their ledger
// changes reach batchMaxKeys (a million-row file is a batch of its own).
const (
	batchMaxFiles = 512
	batchMaxKeys  = 100_000
	// conflictTries bounds how often a batch is evaluated again after another process
	// registered some of its keys (a shared state), as Pass does for one file.
	conflictTries = 5
)

// PathHooks are ImportPaths' calls to its caller.
type PathHooks struct {
	// Begin, when set, is called before a file is read. It returns the file's progress callback
	// (importer.Options.Progress, nil for none) and a function called when the file has been
	// read (nil for none).
	Begin func(path string) (progress func(rows int), end func())
	// Report gets each file's report, in the order of the paths, once its outputs are in place
	// (or, for a file processed before, once its report lists the new arrival). An error stops
	// the import.
	Report func(path string, rep *report.Report) error
}

// ImportPaths takes local files in (`import FILE...`) as ImportPath does each, with a group
// commit (issue 17): up to 512 files are added as arrivals in one step and claimed in one step,
// evaluated one after another against one ledger view plus the keys of the batch's earlier
// files (a later file sees them as ledger duplicates, exactly as if they had been committed), and
// recorded with one RecordOutcomes; then their output sets are made durable together
// (outdir.SyncAll), published, and marked written in one step. The crash guarantees are those of
// one file (SPEC 5, 6): a set becomes visible only after the state holds its keys, and a crash
// before that leaves the batch's files claimed by a dead process: the next run takes them over
// and processes them again, with the same outcome. A file the state knows as processed gets its
// arrival listed in its report (ImportPath's resend) in the same batch, or, when its outputs are
// gone, is processed again alone.
//
// The error is operational (as ImportPath's); the reports of the files before it have been
// given to h.Report. A file whose claim was lost (another process took it over) is left out of
// its batch, the others are recorded, and the error names it at the end.
func (s *Service) ImportPaths(ctx context.Context, paths []string, passwords []secret.Secret, received time.Time, h PathHooks) error {
	for len(paths) > 0 {
		files, stop := s.hashChunk(paths)
		paths = paths[len(files):]
		if len(files) > 0 {
			if err := s.importChunk(ctx, files, passwords, received, h); err != nil {
				return err
			}
		}
		if stop != nil {
			return stop
		}
	}
	return nil
}

// localFile is one file of ImportPaths.
type localFile struct {
	path, abs string
	sum       string
	size      int64
	id        string
	f         state.File
	c         state.Claim
	resend    bool // processed before: its report lists the arrival
	done      bool // rep is final (its outputs are in place)
	rep       *report.Report
}

// hashChunk hashes up to batchMaxFiles paths, stopping before a file whose bytes are those of
// an earlier file of the chunk (it is then a resend of that one, in the next chunk) and at the
// first file that cannot be read (stop is its error, after the files before it).
func (s *Service) hashChunk(paths []string) (files []*localFile, stop error) {
	seen := map[string]bool{}
	for _, p := range paths {
		if len(files) == s.batchFiles {
			break
		}
		sum, size, err := hashPath(p)
		if err != nil {
			return files, &importer.OperationalError{Err: fmt.Errorf("read %s: %w", filepath.Base(p), err)}
		}
		id := state.FileIDOf(sum)
		if seen[id] {
			break
		}
		seen[id] = true
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		files = append(files, &localFile{path: p, abs: abs, sum: sum, size: size, id: id})
	}
	return files, nil
}

// importChunk adds, claims and imports the files of one chunk, giving their reports in order.
func (s *Service) importChunk(ctx context.Context, files []*localFile, passwords []secret.Secret, received time.Time, h PathHooks) error {
	in := make([]state.Incoming, len(files))
	ids := make([]string, len(files))
	for i, lf := range files {
		in[i] = state.Incoming{SHA256: lf.sum, Size: lf.size, FileName: filepath.Base(lf.path), Path: lf.abs}
		ids[i] = lf.id
	}
	if _, err := s.st.AddFiles(ctx, in, state.Arrival{Received: received.UTC()}, nil); err != nil {
		return err
	}
	res, err := s.st.ClaimFiles(ctx, ids, s.cfg.Owner, s.cfg.Lease, state.StatusArrived, state.StatusWaiting)
	if err != nil {
		return err
	}
	keep := s.keepClaims(ctx)
	defer keep.stop(ctx)
	var stop error
	for i, r := range res {
		lf := files[i]
		lf.f, lf.c = r.File, r.Claim
		switch {
		case r.Err == nil:
			keep.add(r.Claim)
		case errors.Is(r.Err, state.ErrWrongStatus) && (r.File.Status == state.StatusProcessed || r.File.Status == state.StatusRejected):
			lf.resend = true
		case stop == nil:
			stop = r.Err // as ImportPath: the files before it are imported
		}
		if stop != nil && r.Err == nil {
			keep.release(ctx, r.Claim) // after the stop: not imported now
		}
		if stop != nil {
			files[i] = nil
		}
	}
	for i, lf := range files {
		if lf == nil {
			files = files[:i]
			break
		}
	}
	if err := s.claimResends(ctx, files, keep); err != nil {
		return err
	}
	b := &batch{s: s, keep: keep, passwords: passwords, hooks: h}
	defer b.abort(ctx)
	err = b.run(ctx, files)
	if err == nil {
		err = b.lost
	}
	if err == nil {
		err = stop
	}
	return err
}

// claimResends claims the chunk's files the state knows as processed, in one step, so that
// their reports can list the new arrival in the batch (a file that cannot be claimed now goes
// the way of ImportPath, alone, and meets the same error).
func (s *Service) claimResends(ctx context.Context, files []*localFile, keep *claimKeeper) error {
	var ids []string
	var resends []*localFile
	for _, lf := range files {
		if lf.resend {
			ids, resends = append(ids, lf.id), append(resends, lf)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	res, err := s.st.ClaimFiles(ctx, ids, s.cfg.Owner, s.cfg.Lease, state.StatusProcessed, state.StatusRejected)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err == nil {
			resends[i].f, resends[i].c = r.File, r.Claim
			keep.add(r.Claim)
		}
	}
	return nil
}

// batch is the group commit of ImportPaths: files evaluated and not yet recorded.
type batch struct {
	s         *Service
	keep      *claimKeeper
	passwords []secret.Secret
	hooks     PathHooks

	files   []*pendingFile
	pending map[ledger.Key]pendingKey // the keys of files[:indexed], for the next ones
	indexed int
	nkeys   int
	view    state.LedgerView
	mac     []byte
	stale   map[string][]string // outdir.Stale, read once
	emitted int                 // files given to hooks.Report
	all     []*localFile
	lost    error // a file left out for a lost claim
}

// pendingKey is a key of a file of the batch: that file (its index in batch.files), the row.
type pendingKey struct {
	file    int32
	row     int32
	deleted bool
}

// pendingFile is a file evaluated into the batch.
type pendingFile struct {
	lf  *localFile
	set *outdir.Set
	out state.FileOutcome
}

// run imports files in order: resends alone, the others into the batch.
func (b *batch) run(ctx context.Context, files []*localFile) error {
	b.all = files
	for _, lf := range files {
		if lf.resend && lf.c.Owner != "" {
			if b.nkeys >= b.s.batchKeys || len(b.files) >= b.s.batchFiles {
				if err := b.flush(ctx); err != nil {
					return err
				}
			}
			ok, err := b.addResend(ctx, lf)
			if err != nil {
				return err
			}
			if ok {
				if err := b.emit(); err != nil {
					return err
				}
				continue
			}
			b.keep.release(ctx, lf.c) // its outputs are gone: processed again, alone
		}
		if lf.resend {
			// Alone, after the files before it: it may be processed again (its outputs gone).
			if err := b.flush(ctx); err != nil {
				return err
			}
			rep, err := retryConflict(b.s, lf.id, func() (*report.Report, error) {
				return b.s.importRecorded(ctx, lf.id, lf.path, b.passwords)
			})
			if err != nil {
				return err
			}
			lf.rep, lf.done = rep, true
		} else {
			if b.nkeys >= b.s.batchKeys || len(b.files) >= b.s.batchFiles {
				if err := b.flush(ctx); err != nil {
					return err
				}
			}
			if err := b.add(ctx, lf); err != nil {
				return err
			}
		}
		if err := b.emit(); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	return b.emit()
}

// emit gives the reports of the files done so far, in order.
func (b *batch) emit() error {
	for b.emitted < len(b.all) && b.all[b.emitted].done {
		lf := b.all[b.emitted]
		b.emitted++
		if lf.rep == nil || b.hooks.Report == nil {
			continue // left out (a lost claim)
		}
		if err := b.hooks.Report(lf.path, lf.rep); err != nil {
			return err
		}
	}
	return nil
}

// lookup is the ledger as it will be once the batch's earlier files are recorded.
func (b *batch) lookup(k ledger.Key) (ledger.Entry, bool) {
	if p, ok := b.pending[k]; ok {
		return ledger.Entry{FileID: b.files[p.file].lf.id, Row: int(p.row), Deleted: p.deleted}, true
	}
	e, ok := b.view.Get(state.LedgerKey(k))
	return ledger.Entry{FileID: e.FileID, Row: e.Row, Deleted: e.Deleted}, ok
}

// add evaluates one claimed file into the batch: its records and reports are written into a new
// output set (not yet visible), its keys become visible to the files after it.
func (b *batch) add(ctx context.Context, lf *localFile) error {
	s := b.s
	var err error
	if b.view == nil {
		if b.mac == nil {
			if b.mac, err = s.st.LedgerSecret(ctx); err != nil {
				return err
			}
		}
		if b.view, err = s.st.LedgerView(ctx); err != nil {
			return err
		}
		b.pending = map[ledger.Key]pendingKey{}
	}
	if b.stale == nil {
		if b.stale, err = outdir.Stale(s.cfg.OutDir); err != nil {
			return &importer.OperationalError{Err: err}
		}
	}
	// The keys of the files before this one become visible to it only now: a big file that fills
	// the batch is flushed before the next file and never indexed (a million-row file's keys
	// would be another ~60 MB here).
	for i, pf := range b.files[b.indexed:] {
		for _, c := range pf.out.Changes {
			b.pending[ledger.Key(c.Key)] = pendingKey{file: int32(b.indexed + i), row: int32(c.Row), deleted: c.Delete}
		}
	}
	b.indexed = len(b.files)
	set, err := outdir.BeginListed(s.cfg.OutDir, lf.id, b.stale)
	if err != nil {
		return &importer.OperationalError{Err: err}
	}
	delete(b.stale, lf.id)
	o, err := b.evaluate(ctx, lf, set)
	if err != nil {
		set.Abort()
		return err
	}
	b.nkeys += len(o.Changes)
	b.files = append(b.files, &pendingFile{lf: lf, set: set, out: state.FileOutcome{ID: lf.id, Outcome: o}})
	s.crashPoint("file evaluated")
	return nil
}

// addResend adds a claimed file the state knows as processed: its stored report lists the new
// arrival, its records are carried into a new output set. ok is false when its outputs are
// gone (it is then processed again, alone).
func (b *batch) addResend(ctx context.Context, lf *localFile) (ok bool, err error) {
	s := b.s
	f := lf.f
	rep, err := s.storedReport(ctx, f.ID)
	_, serr := os.Stat(filepath.Join(s.cfg.OutDir, f.ID, importer.RecordsFile))
	if errors.Is(err, os.ErrNotExist) || errors.Is(serr, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	o, err := s.resendOutcome(ctx, f, lf.c, rep)
	if err != nil {
		return false, err
	}
	if b.stale == nil {
		if b.stale, err = outdir.Stale(s.cfg.OutDir); err != nil {
			return false, &importer.OperationalError{Err: err}
		}
	}
	set, err := outdir.BeginListed(s.cfg.OutDir, lf.id, b.stale)
	if err != nil {
		return false, &importer.OperationalError{Err: err}
	}
	delete(b.stale, lf.id)
	if err := s.carryOutputs(set, f); err != nil {
		set.Abort()
		return false, err
	}
	if err := importer.WriteReports(set, rep, s.cfg.Opts.Lang); err != nil {
		set.Abort()
		return false, &importer.OperationalError{Err: err}
	}
	if err := set.Close(); err != nil {
		set.Abort()
		return false, &importer.OperationalError{Err: err}
	}
	lf.rep = rep
	b.files = append(b.files, &pendingFile{lf: lf, set: set, out: state.FileOutcome{ID: lf.id, Outcome: o}})
	s.crashPoint("file evaluated")
	return true, nil
}

// evaluate runs one file through the pipeline into set and returns its outcome.
func (b *batch) evaluate(ctx context.Context, lf *localFile, set *outdir.Set) (state.Outcome, error) {
	s := b.s
	opts, processed := pinNow(s.cfg.Opts)
	if b.hooks.Begin != nil {
		progress, end := b.hooks.Begin(lf.path)
		opts.Progress = progress
		if end != nil {
			defer end()
		}
	}
	f := lf.f
	in := importer.Input{Path: lf.path, Name: f.Name, Source: source(f.Source), Passwords: b.passwords, SHA256: f.SHA256}
	ev, err := importer.Evaluate(ctx, in, opts, b.mac, b.lookup, set)
	if err != nil {
		return state.Outcome{}, err
	}
	rep := ev.Report
	rep.Resent = resent(f)
	o, err := s.outcome(ctx, f, lf.c, rep, len(f.Arrivals), true, b.passwords)
	if err != nil {
		return state.Outcome{}, err
	}
	o.Summary.Processed = processed
	o.Changes = ev.Changes // ledger.Change is state.LedgerChange: no copy (issue 17)
	o.RecordsPath = ev.RecordsPath
	if err := importer.WriteReports(set, rep, opts.Lang); err != nil {
		return state.Outcome{}, &importer.OperationalError{Err: err}
	}
	// The set's files are synced together at the flush; a batch does not hold their descriptors.
	if err := set.Close(); err != nil {
		return state.Outcome{}, &importer.OperationalError{Err: err}
	}
	lf.rep = rep
	return o, nil
}

// flush records the batch's outcomes in one step, then makes their output sets durable together,
// publishes them and marks them written in one step.
func (b *batch) flush(ctx context.Context) error {
	if b.view != nil {
		b.view.Close()
		b.view = nil
	}
	files := b.files
	b.files, b.pending, b.nkeys, b.indexed = nil, nil, 0, 0
	if len(files) == 0 {
		return nil
	}
	files, err := b.record(ctx, files)
	if err != nil || len(files) == 0 {
		abortFiles(files)
		return err
	}
	s := b.s
	s.crashPoint("outcomes recorded")
	sets := make([]*outdir.Set, len(files))
	ids := make([]string, len(files))
	for i, pf := range files {
		sets[i], ids[i] = pf.set, pf.lf.id
	}
	if err := outdir.SyncAll(sets); err != nil {
		return &importer.OperationalError{Err: err}
	}
	s.crashPoint("outputs synced")
	for i, set := range sets {
		if err := set.Publish(); err != nil {
			abortFiles(files[i+1:])
			return &importer.OperationalError{Err: err}
		}
		s.crashPoint("output published")
	}
	if err := outdir.SyncRoots(sets); err != nil {
		return &importer.OperationalError{Err: err}
	}
	if err := s.st.SetWrittenFiles(ctx, ids, true); err != nil {
		return err
	}
	s.crashPoint("written")
	for _, pf := range files {
		pf.lf.done = true
		if pf.lf.resend {
			s.logResend(pf.lf.id, pf.lf.rep)
		}
	}
	return nil
}

// record records the files' outcomes with RecordOutcomes and returns the files recorded. A file
// whose claim was lost is left out (b.lost names it) and a file whose keys another process
// registered meanwhile is evaluated again; so are the files after either (they may have counted
// on its keys), and the files before it are recorded as they were.
func (b *batch) record(ctx context.Context, files []*pendingFile) ([]*pendingFile, error) {
	outs := make([]state.FileOutcome, len(files))
	for i, pf := range files {
		outs[i] = pf.out
	}
	err := b.s.st.RecordOutcomes(ctx, outs)
	var be *state.BatchError
	if err == nil {
		for _, pf := range files {
			b.keep.drop(pf.lf.id)
		}
		return files, nil
	}
	if !errors.As(err, &be) || be.Index >= len(files) || b.keep.tries >= conflictTries {
		return files, err
	}
	b.keep.tries++
	head, err := b.record(ctx, files[:be.Index])
	if err != nil {
		abortFiles(files[be.Index:])
		return head, err
	}
	again := files[be.Index:]
	abortFiles(again)
	if !errors.Is(be.Err, state.ErrLedgerConflict) {
		lost := again[0].lf
		b.s.cfg.Log.Warn().Str("file_id", lost.id).Msg("the claim on the file was lost (taken over by another worker); left out of the batch")
		b.keep.drop(lost.id)
		lost.done, lost.rep = true, nil
		if b.lost == nil {
			b.lost = fmt.Errorf("file %s: %w", lost.id, be.Err)
		}
		again = again[1:]
	}
	for _, pf := range again {
		if !pf.lf.resend {
			if err := b.add(ctx, pf.lf); err != nil {
				return head, err
			}
			continue
		}
		if ok, err := b.addResend(ctx, pf.lf); err != nil || !ok {
			return head, fmt.Errorf("file %s: its outputs changed while its batch was recorded; import it again: %w", pf.lf.id, err)
		}
	}
	if b.view != nil {
		b.view.Close()
		b.view = nil
	}
	rest := b.files
	b.files, b.pending, b.nkeys, b.indexed = nil, nil, 0, 0
	tail, err := b.record(ctx, rest)
	return append(head, tail...), err
}

// abort drops what the batch has not recorded: output sets removed, claims released.
func (b *batch) abort(ctx context.Context) {
	if b.view != nil {
		b.view.Close()
		b.view = nil
	}
	abortFiles(b.files)
	b.files = nil
}

func abortFiles(files []*pendingFile) {
	for _, pf := range files {
		pf.set.Abort()
	}
}

// crashPoint calls the kill test's hook (nil outside it).
func (s *Service) crashPoint(what string) {
	if s.crash != nil {
		s.crash(what)
	}
}

// claimKeeper keeps a batch's claims alive (one renewal loop for all of them) until they are
// recorded (drop) or released; stop releases the claims still kept.
type claimKeeper struct {
	s      *Service
	mu     sync.Mutex
	claims map[string]state.Claim
	cancel func()
	done   chan struct{}
	tries  int // RecordOutcomes retries after a *state.BatchError
}

func (s *Service) keepClaims(ctx context.Context) *claimKeeper {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	k := &claimKeeper{s: s, claims: map[string]state.Claim{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				k.renew(rctx)
			}
		}
	}()
	return k
}

// held lists the claims kept.
func (k *claimKeeper) held() []state.Claim {
	k.mu.Lock()
	defer k.mu.Unlock()
	cs := make([]state.Claim, 0, len(k.claims))
	for _, c := range k.claims {
		cs = append(cs, c)
	}
	return cs
}

func (k *claimKeeper) renew(ctx context.Context) {
	for _, c := range k.held() {
		if _, err := k.s.st.RenewClaim(ctx, c, k.s.cfg.Lease); err != nil && ctx.Err() == nil {
			k.s.cfg.Log.Warn().Str("file_id", c.Key).Err(err).Msg("renewing a claim failed")
		}
	}
}

func (k *claimKeeper) add(c state.Claim) {
	k.mu.Lock()
	k.claims[c.Key] = c
	k.mu.Unlock()
}

func (k *claimKeeper) drop(id string) {
	k.mu.Lock()
	delete(k.claims, id)
	k.mu.Unlock()
}

// release gives a claim back (the file goes back to the status it had).
func (k *claimKeeper) release(ctx context.Context, c state.Claim) {
	k.drop(c.Key)
	if err := k.s.st.ReleaseClaim(context.WithoutCancel(ctx), c); err != nil && !errors.Is(err, state.ErrLostClaim) {
		k.s.cfg.Log.Warn().Str("file_id", c.Key).Err(err).Msg("releasing a claim failed; it expires")
	}
}

// stop ends the renewals and releases the claims not recorded.
func (k *claimKeeper) stop(ctx context.Context) {
	k.cancel()
	<-k.done
	for _, c := range k.held() {
		k.release(ctx, c)
	}
}
