package folder

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/fhi/sysvak-import/internal/state"
)

// AddOperator implements state.Operators.
func (s *Store) AddOperator(ctx context.Context, op state.Operator) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if op.Name == "" {
		return errors.New("state: an operator needs a name")
	}
	if op.Created.IsZero() {
		op.Created = s.now()
	}
	return s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOperators)
		if b.Get([]byte(op.Name)) != nil {
			return fmt.Errorf("operator: %w", state.ErrExists)
		}
		return putOperator(b, op)
	})
}

func putOperator(b *bolt.Bucket, op state.Operator) error {
	raw, err := json.Marshal(op)
	if err != nil {
		return err
	}
	return b.Put([]byte(op.Name), raw)
}

// Operator implements state.Operators.
func (s *Store) Operator(ctx context.Context, name string) (state.Operator, error) {
	if err := ctx.Err(); err != nil {
		return state.Operator{}, err
	}
	var op state.Operator
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bOperators).Get([]byte(name))
		if raw == nil {
			return fmt.Errorf("operator: %w", state.ErrNotFound)
		}
		return json.Unmarshal(raw, &op)
	})
	return op, err
}

// UpdateOperator implements state.Operators.
func (s *Store) UpdateOperator(ctx context.Context, name string, f func(*state.Operator) error) (state.Operator, error) {
	if err := ctx.Err(); err != nil {
		return state.Operator{}, err
	}
	var op state.Operator
	err := s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOperators)
		raw := b.Get([]byte(name))
		if raw == nil {
			return fmt.Errorf("operator: %w", state.ErrNotFound)
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			return err
		}
		if err := f(&op); err != nil {
			return err
		}
		op.Name = name
		return putOperator(b, op)
	})
	return op, err
}

// RemoveOperator implements state.Operators.
func (s *Store) RemoveOperator(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.sp.DB().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOperators)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("operator: %w", state.ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
}

// ListOperators implements state.Operators (by name: bbolt keeps keys sorted).
func (s *Store) ListOperators(ctx context.Context) ([]state.Operator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []state.Operator
	err := s.sp.DB().View(func(tx *bolt.Tx) error {
		return tx.Bucket(bOperators).ForEach(func(_, v []byte) error {
			var op state.Operator
			if err := json.Unmarshal(v, &op); err != nil {
				return err
			}
			out = append(out, op)
			return nil
		})
	})
	return out, err
}

// ---- audit log: STATE/audit.log, JSON lines, fsynced per entry ----

// AppendAudit implements state.Audit.
func (s *Store) AppendAudit(ctx context.Context, e state.AuditEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.dir, AuditFileName), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("state: audit log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state: audit log: %w", err)
	}
	return nil
}

// ListAudit implements state.Audit. A torn last line (a crash mid-append) is skipped.
func (s *Store) ListAudit(ctx context.Context, q state.AuditQuery) ([]state.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(filepath.Join(s.dir, AuditFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: audit log: %w", err)
	}
	defer f.Close()
	var out []state.AuditEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e state.AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if !q.Since.IsZero() && e.Time.Before(q.Since) {
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("state: audit log: %w", err)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, nil
}
