package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/state"
)

// TempDir implements state.Spool: a local folder for incoming bytes (they go into the database
// with AddFiles).
func (s *Store) TempDir() string { return s.tempDir }

// AddFiles implements state.Spool: in one transaction, the new files with their bytes, the
// arrival added to known files (unless it is the same delivery again), the message and the
// mailbox's last UID. The temp files are removed whatever the outcome.
func (s *Store) AddFiles(ctx context.Context, in []state.Incoming, arr state.Arrival, msg *state.Message) (state.AddResult, error) {
	defer func() {
		for _, f := range in {
			if f.TempPath != "" {
				_ = os.Remove(f.TempPath)
			}
		}
	}()
	var res state.AddResult
	if arr.Received.IsZero() {
		arr.Received = s.now()
	}
	arr.Received = arr.Received.UTC()
	data := make([][]byte, len(in))
	for i, f := range in {
		if f.TempPath == "" {
			continue
		}
		b, err := os.ReadFile(f.TempPath)
		if err != nil {
			return res, fmt.Errorf("pgstate: read incoming file: %w", err)
		}
		data[i] = b
	}
	now := s.now()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		res = state.AddResult{}
		var newIDs, resentIDs []string
		for i, f := range in {
			file, isNew, err := s.addFile(ctx, tx, f, data[i], arr, now)
			if err != nil {
				return err
			}
			if isNew {
				res.New = append(res.New, file)
				newIDs = append(newIDs, file.ID)
			} else {
				res.Resent = append(res.Resent, file)
				resentIDs = append(resentIDs, file.ID)
			}
		}
		if msg == nil {
			return nil
		}
		msg.FileIDs, msg.Resent = newIDs, resentIDs
		return s.recordMessage(ctx, tx, msg, now)
	})
	return res, err
}

// addFile stores one incoming file or adds the arrival to the known one.
func (s *Store) addFile(ctx context.Context, tx pgx.Tx, in state.Incoming, data []byte, arr state.Arrival, now time.Time) (state.File, bool, error) {
	id := state.FileIDOf(in.SHA256)
	if !state.ValidFileID(id) {
		return state.File{}, false, state.ErrBadFileID
	}
	src := arr
	if src.FileName == "" {
		src.FileName = in.FileName
	}
	if in.Path != "" {
		src.Path = in.Path
	}
	srcJSON, err := json.Marshal(src)
	if err != nil {
		return state.File{}, false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO files (file_id, sha256, file_name, size, kind, spooled, received, source, status, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'arrived', $9) ON CONFLICT (file_id) DO NOTHING`,
		id, in.SHA256, in.FileName, in.Size, in.Kind, data != nil, arr.Received, srcJSON, now)
	if err != nil {
		return state.File{}, false, fmt.Errorf("pgstate: store file: %w", err)
	}
	isNew := tag.RowsAffected() == 1
	if data != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO spool (file_id, data) VALUES ($1, $2) ON CONFLICT (file_id) DO NOTHING", id, data); err != nil {
			return state.File{}, false, fmt.Errorf("pgstate: spool file: %w", err)
		}
	}
	f, err := scanFile(tx.QueryRow(ctx, "SELECT "+fileColumns+" FROM files WHERE file_id = $1 FOR UPDATE", id))
	if err != nil {
		return state.File{}, false, fmt.Errorf("pgstate: read file: %w", err)
	}
	if isNew {
		return f, true, nil
	}
	changed := false
	if data != nil && !f.Spooled { // first known as a local file, now mailed: keep the bytes
		f.Spooled, changed = true, true
	}
	same := f.Source.SameDelivery(src)
	for _, a := range f.Arrivals {
		same = same || a.SameDelivery(src)
	}
	if !same {
		f.Arrivals, changed = append(f.Arrivals, src), true
	}
	if !changed {
		return f, false, nil
	}
	arrJSON, err := json.Marshal(f.Arrivals)
	if err != nil {
		return state.File{}, false, err
	}
	f.Updated = now.UTC()
	_, err = tx.Exec(ctx, "UPDATE files SET arrivals = $2, spooled = $3, updated = $4 WHERE file_id = $1", id, arrJSON, f.Spooled, now)
	if err != nil {
		return state.File{}, false, fmt.Errorf("pgstate: record arrival: %w", err)
	}
	return f, false, nil
}

// OpenSpooled implements state.Spool: the bytes are copied into a 0600 temp file, removed by Close.
func (s *Store) OpenSpooled(ctx context.Context, id string) (*state.Spooled, error) {
	if !state.ValidFileID(id) {
		return nil, state.ErrBadFileID
	}
	var data []byte
	err := s.pool.QueryRow(ctx, "SELECT data FROM spool WHERE file_id = $1", id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("spooled bytes of " + id)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("pgstate: read spool: %w", err))
	}
	f, err := os.CreateTemp(s.tempDir, "spooled-"+id+"-*")
	if err != nil {
		return nil, fmt.Errorf("pgstate: spool copy: %w", err)
	}
	path := f.Name()
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("pgstate: spool copy: %w", werr)
	}
	return state.NewSpooled(path, int64(len(data)), func() error { return os.Remove(filepath.Clean(path)) }), nil
}
