package folder

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/internal/state"
)

// enqueueTx queues receipts not already in the outbox (by ID), in the caller's transaction.
func (s *Store) enqueueTx(tx *bolt.Tx, rs []state.Receipt) error {
	b := tx.Bucket(bOutbox)
	now := s.now()
	for _, r := range rs {
		if r.ID == "" {
			return fmt.Errorf("state: a receipt needs an ID")
		}
		if b.Get([]byte(r.ID)) != nil {
			continue
		}
		r.Status, r.Attempts, r.LastError, r.Claim = state.ReceiptQueued, 0, "", state.Claim{}
		r.Created, r.Updated = now, now
		if r.NextAttempt.IsZero() {
			r.NextAttempt = now
		}
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(r.ID), raw); err != nil {
			return err
		}
	}
	return nil
}

// EnqueueReceipts implements state.Outbox.
func (s *Store) EnqueueReceipts(ctx context.Context, rs []state.Receipt) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.sp.DB().Update(func(tx *bolt.Tx) error { return s.enqueueTx(tx, rs) })
}

func (s *Store) allReceipts(tx *bolt.Tx) ([]state.Receipt, error) {
	var out []state.Receipt
	err := tx.Bucket(bOutbox).ForEach(func(_, v []byte) error {
		var r state.Receipt
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

func putReceipt(tx *bolt.Tx, r state.Receipt) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bOutbox).Put([]byte(r.ID), raw)
}

// ClaimDueReceipts implements state.Outbox.
func (s *Store) ClaimDueReceipts(ctx context.Context, owner string, limit int, lease time.Duration) ([]state.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	var out []state.Receipt
	err := s.sp.DB().Update(func(tx *bolt.Tx) error {
		all, err := s.allReceipts(tx)
		if err != nil {
			return err
		}
		for _, r := range all {
			if limit > 0 && len(out) >= limit {
				break
			}
			due := (r.Status == state.ReceiptQueued && !r.NextAttempt.After(now)) ||
				(r.Status == state.ReceiptSending && !r.Claim.Held(now))
			if !due {
				continue
			}
			r.Status, r.Attempts, r.Updated = state.ReceiptSending, r.Attempts+1, now
			r.Claim = state.Claim{Kind: "receipt", Key: r.ID, Owner: owner, Token: r.Claim.Token + 1, Expires: now.Add(lease)}
			if err := putReceipt(tx, r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// updateReceipt changes a receipt still held under claim c.
func (s *Store) updateReceipt(c state.Claim, f func(*state.Receipt)) error {
	return s.sp.DB().Update(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bOutbox).Get([]byte(c.Key))
		if raw == nil {
			return fmt.Errorf("receipt %s: %w", c.Key, state.ErrNotFound)
		}
		var r state.Receipt
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if r.Status != state.ReceiptSending || r.Claim.Token != c.Token || r.Claim.Owner != c.Owner {
			return fmt.Errorf("receipt %s: %w", c.Key, state.ErrLostClaim)
		}
		f(&r)
		r.Updated = s.now()
		return putReceipt(tx, r)
	})
}

// MarkReceiptSent implements state.Outbox.
func (s *Store) MarkReceiptSent(ctx context.Context, c state.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.updateReceipt(c, func(r *state.Receipt) {
		r.Status, r.LastError = state.ReceiptSent, ""
		r.Claim.Owner, r.Claim.Expires = "", time.Time{}
	})
}

// RetryReceipt implements state.Outbox.
func (s *Store) RetryReceipt(ctx context.Context, c state.Claim, next time.Time, lastError string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.updateReceipt(c, func(r *state.Receipt) {
		r.Status, r.NextAttempt, r.LastError = state.ReceiptQueued, next, lastError
		r.Claim.Owner, r.Claim.Expires = "", time.Time{}
	})
}

// GiveUpReceipt implements state.Outbox.
func (s *Store) GiveUpReceipt(ctx context.Context, c state.Claim, lastError string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.updateReceipt(c, func(r *state.Receipt) {
		r.Status, r.LastError = state.ReceiptFailed, lastError
		r.Claim.Owner, r.Claim.Expires = "", time.Time{}
	})
}

func (s *Store) renewReceiptClaim(c state.Claim, until time.Time) (state.Claim, error) {
	err := s.updateReceipt(c, func(r *state.Receipt) { r.Claim.Expires = until })
	c.Expires = until
	return c, err
}

func (s *Store) releaseReceiptClaim(c state.Claim) error {
	return s.updateReceipt(c, func(r *state.Receipt) {
		r.Status = state.ReceiptQueued
		r.Claim.Owner, r.Claim.Expires = "", time.Time{}
	})
}

// Receipt implements state.Outbox.
func (s *Store) Receipt(ctx context.Context, id string) (state.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return state.Receipt{}, err
	}
	var r state.Receipt
	found := false
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bOutbox).Get([]byte(id))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &r)
	})
	if err == nil && !found {
		err = fmt.Errorf("receipt %s: %w", id, state.ErrNotFound)
	}
	return r, err
}

// ListReceipts implements state.Outbox.
func (s *Store) ListReceipts(ctx context.Context, status ...state.ReceiptStatus) ([]state.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []state.Receipt
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		all, err := s.allReceipts(tx)
		for _, r := range all {
			if len(status) == 0 || slices.Contains(status, r.Status) {
				out = append(out, r)
			}
		}
		return err
	})
	return out, err
}
