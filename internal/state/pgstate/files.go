package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// File is one spooled file's row.
type File struct {
	FileID    string
	SHA256    string
	FileName  string
	Size      int64
	Kind      string
	Received  time.Time
	Source    json.RawMessage // the first arrival, as the service encodes it
	Arrivals  json.RawMessage // later arrivals (a JSON array)
	Status    string
	LastError string
	Done      bool
	Processed time.Time
	Updated   time.Time
	ClaimedBy string
}

const fileColumns = `file_id, sha256, file_name, size, kind, received, source, arrivals, status, last_error, done,
	coalesce(processed_at, 'epoch'::timestamptz), updated, coalesce(claimed_by, '')`

func scanFile(row pgx.Row) (File, error) {
	var f File
	err := row.Scan(&f.FileID, &f.SHA256, &f.FileName, &f.Size, &f.Kind, &f.Received, &f.Source, &f.Arrivals,
		&f.Status, &f.LastError, &f.Done, &f.Processed, &f.Updated, &f.ClaimedBy)
	if f.Processed.Unix() == 0 {
		f.Processed = time.Time{}
	}
	return f, err
}

// InsertFile stores a new file and its bytes (the spool) in one transaction. It reports false,
// and stores nothing, when the file id is already there (the caller then records a resend).
func (s *Store) InsertFile(ctx context.Context, f File, data []byte) (bool, error) {
	var inserted bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		inserted, err = insertFile(ctx, tx, f, data)
		return err
	})
	return inserted, err
}

func insertFile(ctx context.Context, tx pgx.Tx, f File, data []byte) (bool, error) {
	if len(f.Source) == 0 {
		f.Source = json.RawMessage("{}")
	}
	if len(f.Arrivals) == 0 {
		f.Arrivals = json.RawMessage("[]")
	}
	tag, err := tx.Exec(ctx, `INSERT INTO files (file_id, sha256, file_name, size, kind, received, source, arrivals, status, last_error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (file_id) DO NOTHING`,
		f.FileID, f.SHA256, f.FileName, f.Size, f.Kind, f.Received, f.Source, f.Arrivals, f.Status, f.LastError)
	if err != nil {
		return false, fmt.Errorf("pgstate: store file %s: %w", f.FileID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, "INSERT INTO spool (file_id, data) VALUES ($1, $2)", f.FileID, data); err != nil {
		return false, fmt.Errorf("pgstate: spool file %s: %w", f.FileID, err)
	}
	return true, nil
}

// GetFile returns a file's row.
func (s *Store) GetFile(ctx context.Context, fileID string) (File, bool, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, "SELECT "+fileColumns+" FROM files WHERE file_id = $1", fileID))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, classify(fmt.Errorf("pgstate: read file %s: %w", fileID, err))
	}
	return f, true, nil
}

// ListFiles returns the files with one of the statuses (all when none), oldest first.
func (s *Store) ListFiles(ctx context.Context, statuses ...string) ([]File, error) {
	q := "SELECT " + fileColumns + " FROM files"
	var args []any
	if len(statuses) > 0 {
		q += " WHERE status = ANY($1)"
		args = append(args, statuses)
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY received, file_id", args...)
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: list files: %w", err))
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("pgstate: list files: %w", err))
		}
		out = append(out, f)
	}
	return out, classify(rows.Err())
}

// SpoolData returns the bytes of a file as received.
func (s *Store) SpoolData(ctx context.Context, fileID string) ([]byte, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, "SELECT data FROM spool WHERE file_id = $1", fileID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstate: file %s has no spooled data", fileID)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read spool %s: %w", fileID, err))
	}
	return data, nil
}

// SetFileStatus sets a file's status and last error (for example waiting_password after a wrong
// password) and releases this process's claim on it.
func (s *Store) SetFileStatus(ctx context.Context, fileID, status, lastError string) error {
	_, err := s.pool.Exec(ctx, `UPDATE files SET status = $2, last_error = $3, updated = now(),
		claimed_by = NULL, lease_until = NULL WHERE file_id = $1`, fileID, status, lastError)
	return classify(err)
}

// ClaimFile claims one file for this process if its status is one of from and nobody holds a live
// claim on it (a claim whose lease ran out is taken over). It reports whether the claim was
// taken; the file's status becomes processing.
func (s *Store) ClaimFile(ctx context.Context, fileID string, from ...string) (File, bool, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, `WITH c AS (
			SELECT file_id AS cid FROM files
			WHERE file_id = $1 AND (claimed_by IS NULL OR lease_until < now() OR claimed_by = $2)
			  AND (status = ANY($3) OR (status = 'processing' AND (claimed_by IS NULL OR lease_until < now() OR claimed_by = $2)))
			FOR UPDATE SKIP LOCKED)
		UPDATE files SET status = 'processing', claimed_by = $2, lease_until = now() + $4::interval,
			attempts = files.attempts + 1, updated = now()
		FROM c WHERE files.file_id = c.cid
		RETURNING `+fileColumns, fileID, s.owner, from, s.lease))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, classify(fmt.Errorf("pgstate: claim file %s: %w", fileID, err))
	}
	return f, true, nil
}

// ClaimNextFile claims the oldest file whose status is one of from (or whose claim ran out) that no
// other process holds, like River's job fetch: FOR UPDATE SKIP LOCKED, so that any number of
// workers take different files without waiting for each other.
func (s *Store) ClaimNextFile(ctx context.Context, from ...string) (File, bool, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, `WITH c AS (
			SELECT file_id AS cid FROM files
			WHERE (status = ANY($2) AND (claimed_by IS NULL OR lease_until < now()))
			   OR (status = 'processing' AND (claimed_by IS NULL OR lease_until < now()))
			ORDER BY received, file_id
			LIMIT 1
			FOR UPDATE SKIP LOCKED)
		UPDATE files SET status = 'processing', claimed_by = $1, lease_until = now() + $3::interval,
			attempts = files.attempts + 1, updated = now()
		FROM c WHERE files.file_id = c.cid
		RETURNING `+fileColumns, s.owner, from, s.lease))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, false, nil
	}
	if err != nil {
		return File{}, false, classify(fmt.Errorf("pgstate: claim next file: %w", err))
	}
	return f, true, nil
}

// ExtendFileClaim renews this process's lease on a file; ErrLostClaim when the claim was taken over.
func (s *Store) ExtendFileClaim(ctx context.Context, fileID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE files SET lease_until = now() + $3::interval
		WHERE file_id = $1 AND claimed_by = $2`, fileID, s.owner, s.lease)
	if err != nil {
		return classify(fmt.Errorf("pgstate: extend claim %s: %w", fileID, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w (file %s)", ErrLostClaim, fileID)
	}
	return nil
}

// ReleaseFile gives a claimed file back with a status (for example "new" when the worker is
// stopped before it finished).
func (s *Store) ReleaseFile(ctx context.Context, fileID, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE files SET status = $3, claimed_by = NULL, lease_until = NULL, updated = now()
		WHERE file_id = $1 AND claimed_by = $2`, fileID, s.owner, status)
	return classify(err)
}

// lockOwnClaim locks the file's row inside tx and checks that this process still holds it.
func (s *Store) lockOwnClaim(ctx context.Context, tx pgx.Tx, fileID string) error {
	var owner string
	err := tx.QueryRow(ctx, "SELECT coalesce(claimed_by, '') FROM files WHERE file_id = $1 FOR UPDATE", fileID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstate: no file %s", fileID)
	}
	if err != nil {
		return err
	}
	if owner != s.owner {
		return fmt.Errorf("%w (file %s)", ErrLostClaim, fileID)
	}
	return nil
}
