package pgstate

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// KeySize is the length of a ledger key (the first 16 bytes of an HMAC-SHA-256).
const KeySize = 16

// Key is one ledger key.
type Key [KeySize]byte

// Entry is what the ledger knows about a key.
type Entry struct {
	FileID  string
	Row     int
	Deleted bool
}

// Change is one effect of a file on the ledger.
type Change struct {
	Key    Key
	Row    int
	Delete bool
}

// LookupKeys returns the ledger entries of the keys that are registered (or tombstoned), in one
// round trip per 10,000 keys.
func (s *Store) LookupKeys(ctx context.Context, keys []Key) (map[Key]Entry, error) {
	out := make(map[Key]Entry)
	for start := 0; start < len(keys); start += 10000 {
		batch := keys[start:min(start+10000, len(keys))]
		arr := make([][]byte, len(batch))
		for i := range batch {
			arr[i] = batch[i][:]
		}
		rows, err := s.pool.Query(ctx, "SELECT key, file_id, row_no, deleted FROM ledger_keys WHERE key = ANY($1::bytea[])", arr)
		if err != nil {
			return nil, classify(fmt.Errorf("pgstate: ledger lookup: %w", err))
		}
		for rows.Next() {
			var k []byte
			var e Entry
			if err := rows.Scan(&k, &e.FileID, &e.Row, &e.Deleted); err != nil {
				rows.Close()
				return nil, classify(fmt.Errorf("pgstate: ledger lookup: %w", err))
			}
			var key Key
			copy(key[:], k)
			out[key] = e
		}
		if err := rows.Err(); err != nil {
			return nil, classify(fmt.Errorf("pgstate: ledger lookup: %w", err))
		}
	}
	return out, nil
}

// LookupKey returns the entry of one key.
func (s *Store) LookupKey(ctx context.Context, k Key) (Entry, bool, error) {
	var e Entry
	err := s.pool.QueryRow(ctx, "SELECT file_id, row_no, deleted FROM ledger_keys WHERE key = $1", k[:]).Scan(&e.FileID, &e.Row, &e.Deleted)
	if err == pgx.ErrNoRows {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, classify(fmt.Errorf("pgstate: ledger lookup: %w", err))
	}
	return e, true, nil
}

// applyChanges writes a file's ledger changes inside tx. The primary key decides who registers a
// key: a registration takes a key that is free, tombstoned, or already the same file's (an
// idempotent retry); a deletion always leaves the file's tombstone. The keys that another file
// holds live are returned as conflicts and are not changed; the caller reports those rows as
// ledger duplicates (another process registered them between the file's lookup and its commit).
//
// The changes are applied in key order, so that two transactions touching the same keys lock them
// in the same order and cannot deadlock.
func applyChanges(ctx context.Context, tx pgx.Tx, fileID string, changes []Change) ([]Change, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b Change) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	keys := make([][]byte, len(sorted))
	rowNos := make([]int32, len(sorted))
	dels := make([]bool, len(sorted))
	for i := range sorted {
		keys[i], rowNos[i], dels[i] = sorted[i].Key[:], int32(sorted[i].Row), sorted[i].Delete
	}
	rows, err := tx.Query(ctx, `INSERT INTO ledger_keys AS l (key, file_id, row_no, deleted)
		SELECT k, $1, r, d FROM unnest($2::bytea[], $3::int[], $4::bool[]) AS t(k, r, d)
		ON CONFLICT (key) DO UPDATE SET file_id = excluded.file_id, row_no = excluded.row_no, deleted = excluded.deleted
		WHERE l.file_id = excluded.file_id OR l.deleted OR excluded.deleted
		RETURNING key`, fileID, keys, rowNos, dels)
	if err != nil {
		return nil, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	done := make(map[Key]bool, len(sorted))
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstate: ledger commit: %w", err)
		}
		done[Key(k)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	var conflicts []Change
	if len(done) != len(sorted) {
		for _, c := range sorted {
			if !done[c.Key] {
				conflicts = append(conflicts, c)
			}
		}
	}
	return conflicts, nil
}

// LedgerStats counts live keys and tombstones.
func (s *Store) LedgerStats(ctx context.Context) (live, deleted int, err error) {
	err = s.pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted) FROM ledger_keys").Scan(&live, &deleted)
	return live, deleted, classify(err)
}
