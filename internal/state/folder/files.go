package folder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/importer/ledger"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder/spool"
)

// The spool's "new" is the state's "arrived"; the other statuses are spelled alike.
func toStatus(s spool.Status) state.FileStatus {
	if s == spool.StatusNew {
		return state.StatusArrived
	}
	return state.FileStatus(s)
}

func fromStatus(s state.FileStatus) spool.Status {
	if s == state.StatusArrived {
		return spool.StatusNew
	}
	return spool.Status(s)
}

func toArrival(a spool.Arrival) state.Arrival { return state.Arrival(a) }

func fromArrival(a state.Arrival) spool.Arrival { return spool.Arrival(a) }

func toFile(e spool.Entry) state.File {
	f := state.File{
		ID: e.FileID, SHA256: e.SHA256, Name: e.FileName, Size: e.Size, Kind: e.Kind, Spooled: !e.NotSpooled,
		Received: e.Received, Source: toArrival(e.Source), Status: toStatus(e.Status), LastError: e.LastError,
		Summary: e.Summary, Reported: e.Reported, Written: !e.Unwritten, Updated: e.Updated, Claim: e.Claim,
	}
	for _, a := range e.Arrivals {
		f.Arrivals = append(f.Arrivals, toArrival(a))
	}
	return f
}

// File implements state.Files.
func (s *Store) File(ctx context.Context, id string) (state.File, error) {
	if !state.ValidFileID(id) {
		return state.File{}, state.ErrBadFileID
	}
	if err := ctx.Err(); err != nil {
		return state.File{}, err
	}
	e, ok, err := s.sp.Get(id)
	if err != nil {
		return state.File{}, err
	}
	if !ok {
		return state.File{}, fmt.Errorf("file %s: %w", id, state.ErrNotFound)
	}
	return toFile(e), nil
}

// listKey is the part of an entry a listing sorts and counts by; only the entries of the page
// asked for are decoded whole (10,000 files: about 3x less work than decoding all of them).
type listKey struct {
	FileID   string       `json:"file_id"`
	Received time.Time    `json:"received"`
	Status   spool.Status `json:"status"`
	key      []byte
}

// ListFiles implements state.Files: newest first (first arrival, then id).
func (s *Store) ListFiles(ctx context.Context, q state.FileQuery) (state.FilePage, error) {
	page := state.FilePage{Counts: map[state.FileStatus]int{}}
	if err := ctx.Err(); err != nil {
		return page, err
	}
	want := map[state.FileStatus]bool{}
	for _, st := range q.Status {
		want[st] = true
	}
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		b := spool.FilesBucket(tx)
		var all []listKey
		err := b.ForEach(func(k, v []byte) error {
			var e listKey
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			st := toStatus(e.Status)
			page.Counts[st]++
			if len(want) == 0 || want[st] {
				e.key = k // valid for the life of the transaction
				all = append(all, e)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Slice(all, func(i, j int) bool {
			if !all[i].Received.Equal(all[j].Received) {
				return all[i].Received.After(all[j].Received)
			}
			return all[i].FileID > all[j].FileID
		})
		page.Total = len(all)
		lo := min(max(q.Offset, 0), len(all))
		hi := len(all)
		if q.Limit > 0 {
			hi = min(lo+q.Limit, len(all))
		}
		for _, lk := range all[lo:hi] {
			var e spool.Entry
			if err := json.Unmarshal(b.Get(lk.key), &e); err != nil {
				return err
			}
			page.Files = append(page.Files, toFile(e))
		}
		return nil
	})
	if err != nil {
		return page, fmt.Errorf("state: list files: %w", err)
	}
	return page, nil
}

// liveFileClaim reports whether e is held by a live claim of this instance.
func (s *Store) liveFileClaim(e *spool.Entry, now time.Time) bool {
	return e.Status == spool.StatusProcessing && e.ClaimInstance == s.instance && e.Claim.Held(now)
}

// updateEntry runs f on a file entry in one transaction and writes it back unless f fails.
func (s *Store) updateEntry(id string, f func(tx *bolt.Tx, e *spool.Entry) error) (spool.Entry, error) {
	var e spool.Entry
	if !state.ValidFileID(id) {
		return e, state.ErrBadFileID
	}
	err := s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := spool.FilesBucket(tx)
		raw := b.Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("file %s: %w", id, state.ErrNotFound)
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if err := f(tx, &e); err != nil {
			return err
		}
		e.Updated = s.now()
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), raw)
	})
	return e, err
}

// ClaimFile implements state.Files.
func (s *Store) ClaimFile(ctx context.Context, id, owner string, lease time.Duration, from ...state.FileStatus) (state.File, state.Claim, error) {
	if err := ctx.Err(); err != nil {
		return state.File{}, state.Claim{}, err
	}
	now := s.now()
	var c state.Claim
	e, err := s.updateEntry(id, func(_ *bolt.Tx, e *spool.Entry) error {
		var err error
		c, err = s.claimEntry(e, owner, lease, now, from)
		return err
	})
	if err != nil {
		return toFile(e), state.Claim{}, err
	}
	return toFile(e), c, nil
}

// claimEntry takes a claim on an entry if its status allows it (ClaimFile, ClaimFiles).
func (s *Store) claimEntry(e *spool.Entry, owner string, lease time.Duration, now time.Time, from []state.FileStatus) (state.Claim, error) {
	if len(from) == 0 {
		from = []state.FileStatus{state.StatusArrived, state.StatusWaiting}
	}
	id := e.FileID
	prior := toStatus(e.Status)
	switch {
	case s.liveFileClaim(e, now):
		return state.Claim{}, fmt.Errorf("file %s: %w", id, state.ErrClaimed)
	case e.Status == spool.StatusProcessing: // a dead claim: take it over
		prior = e.Claim.From
		if prior == "" {
			prior = state.StatusArrived
		}
	case !slices.Contains(from, prior):
		return state.Claim{}, fmt.Errorf("file %s is %s: %w", id, prior, state.ErrWrongStatus)
	}
	c := state.Claim{Kind: "file", Key: id, Owner: owner, Token: e.Claim.Token + 1, Expires: now.Add(lease), From: prior}
	e.Claim, e.ClaimInstance, e.Status = c, s.instance, spool.StatusProcessing
	return c, nil
}

// ClaimFiles implements state.Files: one transaction for all of them.
func (s *Store) ClaimFiles(ctx context.Context, ids []string, owner string, lease time.Duration, from ...state.FileStatus) ([]state.ClaimResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	res := make([]state.ClaimResult, len(ids))
	err := s.updateEntries(ids, func(i int, _ *bolt.Tx, e *spool.Entry) error {
		res[i].Claim, res[i].Err = s.claimEntry(e, owner, lease, now, from)
		res[i].File = toFile(*e)
		return res[i].Err
	}, func(i int, err error) { res[i].Err = err })
	if err != nil {
		return nil, fmt.Errorf("state: claim files: %w", err)
	}
	return res, nil
}

// updateEntries runs f on several file entries in one transaction; an entry whose f fails (or
// that is missing: failed is told) is left as it was, the others are written back.
func (s *Store) updateEntries(ids []string, f func(i int, tx *bolt.Tx, e *spool.Entry) error, failed func(i int, err error)) error {
	now := s.now()
	return s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := spool.FilesBucket(tx)
		for i, id := range ids {
			if !state.ValidFileID(id) {
				failed(i, state.ErrBadFileID)
				continue
			}
			raw := b.Get([]byte(id))
			if raw == nil {
				failed(i, fmt.Errorf("file %s: %w", id, state.ErrNotFound))
				continue
			}
			var e spool.Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			if f(i, tx, &e) != nil {
				continue
			}
			e.Updated = now
			raw, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(id), raw); err != nil {
				return err
			}
		}
		return nil
	})
}

// sameClaim reports whether the entry still carries claim c (expired or not: a folder state has
// one process, so an expired claim that nobody took over is still the caller's).
func (s *Store) sameClaim(e *spool.Entry, c state.Claim) bool {
	return e.Status == spool.StatusProcessing && e.ClaimInstance == s.instance && e.Claim.Token == c.Token && e.Claim.Owner == c.Owner
}

// RecordOutcome implements state.Files. See the package comment for the order of steps.
func (s *Store) RecordOutcome(ctx context.Context, id string, o state.Outcome) error {
	err := s.RecordOutcomes(ctx, []state.FileOutcome{{ID: id, Outcome: o}})
	var be *state.BatchError
	if errors.As(err, &be) {
		return be.Err
	}
	return err
}

// RecordOutcomes implements state.Files: the claims are checked first (nothing is recorded when
// one is lost), then every file's ledger changes and state go into one ledger transaction, then
// every file's status, report and receipts into one mailbox.db transaction. A crash between the
// two leaves the files processing under a dead claim, as RecordOutcome does for one file.
func (s *Store) RecordOutcomes(ctx context.Context, outs []state.FileOutcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, o := range outs {
		switch o.Status {
		case state.StatusProcessed, state.StatusRejected, state.StatusWaiting:
		default:
			return fmt.Errorf("state: outcome status %q is not processed, rejected or waiting_password", o.Status)
		}
	}
	if err := s.checkClaims(outs); err != nil {
		return err
	}
	if err := s.commitLedger(ctx, outs); err != nil {
		return err
	}
	return s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := spool.FilesBucket(tx)
		now := s.now()
		for i, o := range outs {
			var e spool.Entry
			if raw := b.Get([]byte(o.ID)); raw == nil {
				return &state.BatchError{Index: i, ID: o.ID, Err: fmt.Errorf("file %s: %w", o.ID, state.ErrNotFound)}
			} else if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			if !s.sameClaim(&e, o.Claim) {
				return &state.BatchError{Index: i, ID: o.ID, Err: fmt.Errorf("file %s: %w", o.ID, state.ErrLostClaim)}
			}
			e.Status, e.LastError, e.Summary, e.Reported, e.Unwritten = fromStatus(o.Status), o.LastError, o.Summary, o.Reported, true
			e.Claim.Owner, e.Claim.Expires, e.ClaimInstance = "", time.Time{}, ""
			e.Updated = now
			if err := putEntry(b, &e); err != nil {
				return err
			}
			if o.Report != nil {
				if err := tx.Bucket(bReports).Put([]byte(o.ID), o.Report); err != nil {
					return err
				}
			}
			if err := s.enqueueTx(tx, o.Receipts); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkClaims checks that every file of a batch exists and is still under its claim.
func (s *Store) checkClaims(outs []state.FileOutcome) error {
	return s.sp.DB().View(func(tx *bolt.Tx) error {
		b := spool.FilesBucket(tx)
		for i, o := range outs {
			if !state.ValidFileID(o.ID) {
				return state.ErrBadFileID
			}
			raw := b.Get([]byte(o.ID))
			if raw == nil {
				return &state.BatchError{Index: i, ID: o.ID, Err: fmt.Errorf("file %s: %w", o.ID, state.ErrNotFound)}
			}
			var e spool.Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			if !s.sameClaim(&e, o.Claim) {
				return &state.BatchError{Index: i, ID: o.ID, Err: fmt.Errorf("file %s: %w", o.ID, state.ErrLostClaim)}
			}
		}
		return nil
	})
}

// commitLedger commits the ledger changes and states of a batch's files in one transaction
// (idempotent: keys owned by the same file id are its own). A file that waits for its password
// and registers nothing leaves the ledger alone.
func (s *Store) commitLedger(ctx context.Context, outs []state.FileOutcome) error {
	var files []ledger.FileChanges
	for _, o := range outs {
		if o.Status == state.StatusWaiting && len(o.Changes) == 0 {
			continue
		}
		// ledger.Change is state.LedgerChange: no copy of a million-row file's changes. The
		// ledger sorts them in place.
		files = append(files, ledger.FileChanges{Changes: o.Changes,
			State: ledger.FileState{FileID: o.ID, Status: o.Summary.ReportStatus, Done: true, Processed: s.now().UTC()}})
	}
	if len(files) == 0 {
		return nil
	}
	led, err := s.ledger(ctx)
	if err != nil {
		return err
	}
	return led.CommitFiles(ctx, files)
}

func putEntry(b *bolt.Bucket, e *spool.Entry) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put([]byte(e.FileID), raw)
}

// Report implements state.Files.
func (s *Store) Report(ctx context.Context, id string) ([]byte, error) {
	if !state.ValidFileID(id) {
		return nil, state.ErrBadFileID
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []byte
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		out = append([]byte(nil), tx.Bucket(bReports).Get([]byte(id))...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("report of %s: %w", id, state.ErrNotFound)
	}
	return out, nil
}

// SetWritten implements state.Files.
func (s *Store) SetWritten(ctx context.Context, id string, written bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := s.updateEntry(id, func(_ *bolt.Tx, e *spool.Entry) error {
		e.Unwritten = !written
		return nil
	})
	return err
}

// SetWrittenFiles implements state.Files: one transaction. An unknown file fails the step.
func (s *Store) SetWrittenFiles(ctx context.Context, ids []string, written bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	err := s.updateEntries(ids, func(_ int, _ *bolt.Tx, e *spool.Entry) error {
		e.Unwritten = !written
		return nil
	}, func(_ int, err error) { errs = append(errs, err) })
	if err != nil {
		return fmt.Errorf("state: set written: %w", err)
	}
	return errors.Join(errs...)
}

// RenewClaim implements state.Claims.
func (s *Store) RenewClaim(ctx context.Context, c state.Claim, lease time.Duration) (state.Claim, error) {
	if err := ctx.Err(); err != nil {
		return c, err
	}
	now := s.now()
	switch c.Kind {
	case "file":
		_, err := s.updateEntry(c.Key, func(_ *bolt.Tx, e *spool.Entry) error {
			if !s.sameClaim(e, c) {
				return fmt.Errorf("file %s: %w", c.Key, state.ErrLostClaim)
			}
			e.Claim.Expires = now.Add(lease)
			return nil
		})
		c.Expires = now.Add(lease)
		return c, err
	case "message":
		return s.renewMessageClaim(c, now.Add(lease))
	case "receipt":
		return s.renewReceiptClaim(c, now.Add(lease))
	}
	return c, fmt.Errorf("state: claim of unknown kind %q", c.Kind)
}

// ReleaseClaim implements state.Claims.
func (s *Store) ReleaseClaim(ctx context.Context, c state.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch c.Kind {
	case "file":
		_, err := s.updateEntry(c.Key, func(_ *bolt.Tx, e *spool.Entry) error {
			if !s.sameClaim(e, c) {
				return fmt.Errorf("file %s: %w", c.Key, state.ErrLostClaim)
			}
			back := c.From
			if back == "" {
				back = state.StatusArrived
			}
			e.Status = fromStatus(back)
			e.Claim.Owner, e.Claim.Expires, e.ClaimInstance = "", time.Time{}, ""
			return nil
		})
		return err
	case "message":
		return s.releaseMessageClaim(c)
	case "receipt":
		return s.releaseReceiptClaim(c)
	}
	return fmt.Errorf("state: claim of unknown kind %q", c.Kind)
}

// ---- spool ----

// TempDir implements state.Spool.
func (s *Store) TempDir() string { return s.sp.TempDir() }

// AddFiles implements state.Spool.
func (s *Store) AddFiles(ctx context.Context, in []state.Incoming, arr state.Arrival, msg *state.Message) (state.AddResult, error) {
	var res state.AddResult
	inc := make([]spool.Incoming, len(in))
	for i, f := range in {
		inc[i] = spool.Incoming(f)
	}
	var rec *spool.MessageRecord
	var also func(*bolt.Tx) error
	if msg != nil {
		r := fromMessage(*msg)
		rec = &r
		also = s.enqueueWith(msg.Receipts)
	}
	cr, err := s.sp.CommitWith(ctx, inc, fromArrival(arr), rec, also)
	if err != nil {
		return res, err
	}
	for _, e := range cr.New {
		res.New = append(res.New, toFile(e))
	}
	for _, e := range cr.Resent {
		res.Resent = append(res.Resent, toFile(e))
	}
	if msg != nil {
		msg.FileIDs, msg.Resent, msg.Recorded = rec.FileIDs, rec.Resent, rec.Recorded
	}
	return res, nil
}

// OpenSpooled implements state.Spool: the spool file itself (nothing to release).
func (s *Store) OpenSpooled(ctx context.Context, id string) (*state.Spooled, error) {
	f, err := s.File(ctx, id)
	if err != nil {
		return nil, err
	}
	if !f.Spooled {
		return nil, fmt.Errorf("file %s has no spooled bytes: %w", id, state.ErrNotFound)
	}
	p, err := s.sp.Path(id)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spool file %s: %w", id, state.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("state: spool file %s: %w", id, err)
	}
	return state.NewSpooled(p, fi.Size(), nil), nil
}
