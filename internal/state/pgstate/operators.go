package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fhi/sysvak-import/internal/state"
)

// AddOperator implements state.Operators.
func (s *Store) AddOperator(ctx context.Context, op state.Operator) error {
	if op.Created.IsZero() {
		op.Created = s.now().UTC()
	}
	data, err := json.Marshal(op)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO operators (name, data) VALUES ($1, $2)", op.Name, data)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("operator %s: %w", op.Name, state.ErrExists)
	}
	return classify(err)
}

func scanOperator(row pgx.Row, name string) (state.Operator, error) {
	var data []byte
	err := row.Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Operator{}, notFound("operator " + name)
	}
	if err != nil {
		return state.Operator{}, classify(fmt.Errorf("pgstate: read operator: %w", err))
	}
	var op state.Operator
	if err := json.Unmarshal(data, &op); err != nil {
		return state.Operator{}, fmt.Errorf("pgstate: decode operator: %w", err)
	}
	return op, nil
}

// Operator implements state.Operators.
func (s *Store) Operator(ctx context.Context, name string) (state.Operator, error) {
	return scanOperator(s.pool.QueryRow(ctx, "SELECT data FROM operators WHERE name = $1", name), name)
}

// UpdateOperator implements state.Operators: read (FOR UPDATE), f, write, in one transaction, so
// concurrent updates (failed-login counters) are never lost.
func (s *Store) UpdateOperator(ctx context.Context, name string, f func(*state.Operator) error) (state.Operator, error) {
	var op state.Operator
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		op, err = scanOperator(tx.QueryRow(ctx, "SELECT data FROM operators WHERE name = $1 FOR UPDATE", name), name)
		if err != nil {
			return err
		}
		if err := f(&op); err != nil {
			return err
		}
		op.Name = name
		data, err := json.Marshal(op)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE operators SET data = $2 WHERE name = $1", name, data)
		return err
	})
	if err != nil {
		return state.Operator{}, classify(err)
	}
	return op, nil
}

// RemoveOperator implements state.Operators.
func (s *Store) RemoveOperator(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM operators WHERE name = $1", name)
	if err != nil {
		return classify(err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("operator " + name)
	}
	return nil
}

// ListOperators implements state.Operators.
func (s *Store) ListOperators(ctx context.Context) ([]state.Operator, error) {
	rows, err := s.pool.Query(ctx, "SELECT data FROM operators ORDER BY name")
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []state.Operator
	for rows.Next() {
		op, err := scanOperator(rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, classify(rows.Err())
}

// AppendAudit implements state.Audit.
func (s *Store) AppendAudit(ctx context.Context, e state.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := s.pool.Exec(ctx, "INSERT INTO audit (at, actor, action, file_id, remote, detail) VALUES ($1, $2, $3, $4, $5, $6)",
		e.Time.UTC(), e.Actor, e.Action, e.FileID, e.Remote, e.Detail)
	return classify(err)
}

// ListAudit implements state.Audit: the last q.Limit entries at or after q.Since, oldest first.
func (s *Store) ListAudit(ctx context.Context, q state.AuditQuery) ([]state.AuditEntry, error) {
	lim := any(nil)
	if q.Limit > 0 {
		lim = q.Limit
	}
	since := q.Since
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	rows, err := s.pool.Query(ctx, `SELECT at, actor, action, file_id, remote, detail FROM (
			SELECT * FROM audit WHERE at >= $1 ORDER BY id DESC LIMIT $2) last ORDER BY id`, since, lim)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read audit: %w", err))
	}
	defer rows.Close()
	var out []state.AuditEntry
	for rows.Next() {
		var e state.AuditEntry
		if err := rows.Scan(&e.Time, &e.Actor, &e.Action, &e.FileID, &e.Remote, &e.Detail); err != nil {
			return nil, classify(fmt.Errorf("pgstate: read audit: %w", err))
		}
		e.Time = e.Time.UTC()
		out = append(out, e)
	}
	return out, classify(rows.Err())
}
