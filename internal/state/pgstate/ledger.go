package pgstate

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fhi/sysvak-import/internal/state"
)

// ledgerLockKey serialises ledger commits between processes (pg_advisory_xact_lock): with one
// committer at a time, the seq values of ledger_keys become visible in increasing order, so that a
// process's cache can catch up by reading seq > last seen.
const ledgerLockKey int64 = 0x737973766c

// ledgerCache is this process's copy of the ledger, brought up to date (incrementally, by seq)
// whenever a view is opened. LedgerView.Get is called once per row, so it must not be a database
// round trip. A key registered by another process after the view was taken is caught by the
// primary key at commit (ErrLedgerConflict).
type ledgerCache struct {
	mu      sync.RWMutex
	lastSeq int64
	entries map[state.LedgerKey]cacheEntry
}

// cacheEntry is a compact ledger entry: the file id as 8 bytes, the row, the tombstone flag.
type cacheEntry struct {
	file    [8]byte
	row     int32
	deleted bool
}

func (e cacheEntry) entry() state.LedgerEntry {
	return state.LedgerEntry{FileID: hex.EncodeToString(e.file[:]), Row: int(e.row), Deleted: e.deleted}
}

// refresh reads the ledger rows changed since the last refresh.
func (s *Store) refreshLedger(ctx context.Context) error {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[state.LedgerKey]cacheEntry)
	}
	rows, err := s.pool.Query(ctx, "SELECT key, file_id, row_no, deleted, seq FROM ledger_keys WHERE seq > $1 ORDER BY seq", c.lastSeq)
	if err != nil {
		return classify(fmt.Errorf("pgstate: read ledger: %w", err))
	}
	defer rows.Close()
	var key, fid []byte
	var row int32
	var deleted bool
	var seq int64
	for rows.Next() {
		if err := rows.Scan(&key, &fid, &row, &deleted, &seq); err != nil {
			return classify(fmt.Errorf("pgstate: read ledger: %w", err))
		}
		var e cacheEntry
		if _, err := hex.Decode(e.file[:], fid); err != nil || len(key) != state.LedgerKeySize {
			return fmt.Errorf("pgstate: ledger row with a malformed key or file id")
		}
		e.row, e.deleted = row, deleted
		c.entries[state.LedgerKey(key)] = e
		c.lastSeq = seq
	}
	return classify(rows.Err())
}

type ledgerView struct{ c *ledgerCache }

func (v ledgerView) Get(k state.LedgerKey) (state.LedgerEntry, bool) {
	v.c.mu.RLock()
	e, ok := v.c.entries[k]
	v.c.mu.RUnlock()
	if !ok {
		return state.LedgerEntry{}, false
	}
	return e.entry(), true
}

func (v ledgerView) Close() error { return nil }

// LedgerView implements state.Ledger: the process's ledger cache, brought up to date.
func (s *Store) LedgerView(ctx context.Context) (state.LedgerView, error) {
	if err := s.refreshLedger(ctx); err != nil {
		return nil, err
	}
	return ledgerView{c: &s.cache}, nil
}

// LedgerSecret implements state.Ledger.
func (s *Store) LedgerSecret(ctx context.Context) ([]byte, error) {
	return slices.Clone(s.mac), ctx.Err()
}

// LedgerStats implements state.Ledger.
func (s *Store) LedgerStats(ctx context.Context) (live, deleted int, err error) {
	err = s.pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted) FROM ledger_keys").Scan(&live, &deleted)
	return live, deleted, classify(err)
}

// applyChanges writes a file's ledger changes inside tx (which holds the ledger lock). The primary
// key decides who registers a key: a registration takes a key that is free, tombstoned, or
// already the same file's (an idempotent retry); a deletion always leaves the file's tombstone. It
// returns how many changes found a key that another file holds live: then the caller rolls back.
func applyChanges(ctx context.Context, tx pgx.Tx, fileID string, changes []state.LedgerChange) (int, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b state.LedgerChange) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	sorted = slices.CompactFunc(sorted, func(a, b state.LedgerChange) bool { return a.Key == b.Key })
	keys := make([][]byte, len(sorted))
	rowNos := make([]int32, len(sorted))
	dels := make([]bool, len(sorted))
	for i := range sorted {
		keys[i], rowNos[i], dels[i] = sorted[i].Key[:], int32(sorted[i].Row), sorted[i].Delete
	}
	// Fast path: a file's keys are usually all new, and COPY is several times faster than an
	// upsert. A unique violation rolls the savepoint back and takes the upsert path.
	if n, ok, err := copyNewKeys(ctx, tx, fileID, keys, rowNos, dels); err != nil || ok {
		return n, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO ledger_keys AS l (key, file_id, row_no, deleted)
		SELECT k, $1, r, d FROM unnest($2::bytea[], $3::int[], $4::bool[]) AS t(k, r, d)
		ON CONFLICT (key) DO UPDATE SET file_id = excluded.file_id, row_no = excluded.row_no,
			deleted = excluded.deleted, seq = nextval('ledger_seq')
		WHERE l.file_id = excluded.file_id OR l.deleted OR excluded.deleted`, fileID, keys, rowNos, dels)
	if err != nil {
		return 0, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	return len(sorted) - int(tag.RowsAffected()), nil
}

// copyNewKeys inserts keys with COPY inside a savepoint. ok is false (and nothing is changed)
// when some key exists already.
func copyNewKeys(ctx context.Context, tx pgx.Tx, fileID string, keys [][]byte, rowNos []int32, dels []bool) (int, bool, error) {
	if len(keys) < 64 {
		return 0, false, nil // small files: one upsert statement is as fast
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	_, err = sp.CopyFrom(ctx, pgx.Identifier{"ledger_keys"}, []string{"key", "file_id", "row_no", "deleted"},
		pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) { return []any{keys[i], fileID, rowNos[i], dels[i]}, nil }))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		if err := sp.Rollback(ctx); err != nil {
			return 0, false, fmt.Errorf("pgstate: ledger commit: %w", err)
		}
		return 0, false, nil
	}
	if err != nil {
		_ = sp.Rollback(ctx)
		return 0, false, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return 0, false, fmt.Errorf("pgstate: ledger commit: %w", err)
	}
	return 0, true, nil
}
