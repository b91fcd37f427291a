// Package ledger remembers every vaccination registered from a file, across files and restarts
// (SPEC 3): the key (person ID, vaccination date, SYSVAK code) maps to the file id and row that
// registered it. Keys are stored as an HMAC-SHA-256 under a 32-byte key kept 0600 beside the
// database, so a leaked ledger file does not list ID numbers in clear.
//
// The store is bbolt (pure Go, one writer, fsync on commit): the ledger is pure key existence,
// where bbolt's point lookups are about ten times faster than SQLite's through database/sql
// (shared/reference/libraries.md §6). A second process on the same state folder is refused
// (ErrLocked) rather than allowed to race.
//
// Idempotence rule: an entry owned by the same file id counts as that file's own registration, so
// processing a file again after a crash between the ledger commit and the output rename yields the
// same records, never duplicates and never lost rows.
package ledger

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/fhi/sysvak-import/internal/fsutil"
	"github.com/fhi/sysvak-import/internal/state"
	bolt "go.etcd.io/bbolt"
)

// ErrLocked is returned by Open when another process holds the ledger.
var ErrLocked = errors.New("ledger: the state folder is in use by another sysvak-import process")

var (
	bucketKeys  = []byte("keys")
	bucketFiles = []byte("files")
)

const (
	// bigCommit is the number of keys from which CommitFiles first returns the garbage of the
	// file's reading to the OS.
	bigCommit   = 100_000
	initialMmap = 1 << 30
	dbName      = "ledger.db"
	keyName     = "ledger.key"
	// KeySize is the length of a stored key: the first 16 bytes of the HMAC-SHA-256. 128 bits
	// keep the chance of a collision negligible (about n²/2^129) at half the size.
	KeySize = 16
)

// Key is the keyed hash of one (person ID, date, code) triple: the state interface's key
// (an alias, so that a file's changes pass from the importer through internal/state into the
// ledger without a copy: 32 MB each for a million-row file, issue 17).
type Key = state.LedgerKey

// Entry is what the ledger knows about a key.
type Entry struct {
	FileID  string // the file that registered (or deleted) it
	Row     int
	Deleted bool // a tombstone: the key was removed by a deletion row of FileID
}

// FileState is what the ledger knows about a processed file.
type FileState struct {
	FileID    string    `json:"file_id"`
	Status    string    `json:"status"`
	Done      bool      `json:"done"` // outputs are in place
	Processed time.Time `json:"processed"`
}

// Ledger is an open ledger. It is safe for use by one goroutine at a time per method call;
// bbolt serialises writers.
type Ledger struct {
	db  *bolt.DB
	mac []byte
	// chunk is the number of registrations CommitFiles puts in one transaction (commitChunk;
	// tests make it small). afterChunk, when set, runs after each transaction of CommitFiles
	// but the last (tests: a crash between them).
	chunk      int
	afterChunk func() error
}

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the ledger. Zero means
	// one second.
	LockTimeout time.Duration
}

// Open opens (creating if needed) the ledger in stateDir. stateDir is created 0700; the database
// and key files are 0600.
func Open(ctx context.Context, stateDir string, o Options) (*Ledger, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: create state folder: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(stateDir, keyName))
	if err != nil {
		return nil, err
	}
	timeout := o.LockTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	// A large initial mapping (address space, not memory) spares bbolt remapping the file while
	// a big commit grows it: on every remap bbolt copies every key and value of the commit's
	// dirty pages to the heap (685 MB allocated for a 1M-row file, issue 17).
	db, err := bolt.Open(filepath.Join(stateDir, dbName), 0o600, &bolt.Options{Timeout: timeout, InitialMmapSize: initialMmap})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("ledger: open database: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketKeys, bucketFiles} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: initialise: %w", err)
	}
	return &Ledger{db: db, mac: key, chunk: commitChunk}, nil
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("ledger: key file %s has %d bytes, want 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ledger: read key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, fmt.Errorf("ledger: generate key: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger: write key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("ledger: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ledger: write key: %w", err)
	}
	// Link fails if another process created the key meanwhile; then use theirs.
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		os.Remove(tmp)
		return nil, fmt.Errorf("ledger: install key: %w", err)
	}
	os.Remove(tmp)
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return loadOrCreateKey(path)
}

func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// Hasher computes keys. It reuses its buffers, so it is cheap per row but not safe for
// concurrent use; make one per goroutine with NewHasher.
type Hasher struct {
	h     hash.Hash
	buf   []byte
	sum   []byte
	seeds *[2]maphash.Seed // a run-local hasher (NewRunHasher): no HMAC
}

// NewHasher returns a Hasher under the ledger's key.
func (l *Ledger) NewHasher() *Hasher { return NewHasher(l.mac) }

// NewHasher returns a Hasher under an explicit key (validate-only runs use a random one: keys
// then only need to be equal within one file).
func NewHasher(mac []byte) *Hasher {
	return &Hasher{h: hmac.New(sha256.New, mac), buf: make([]byte, 0, 48), sum: make([]byte, 0, sha256.Size)}
}

// NewRunHasher returns a Hasher whose keys are only ever compared with each other within one
// process (validate, which has no ledger): two 64-bit hash/maphash values under seeds drawn for
// it, a tenth of the HMAC's cost (issue 17: the HMAC was 8% of validating a million rows). The
// 128 bits make an accidental collision among a file's keys as unlikely as with the HMAC, and
// the seeds are never known outside the process. Never use it for keys that are stored.
func NewRunHasher() *Hasher {
	return &Hasher{buf: make([]byte, 0, 48), seeds: &[2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// Key hashes a normalised person ID, an ISO date (YYYY-MM-DD) and an upper-case SYSVAK code.
func (h *Hasher) Key(personID string, isoDate []byte, code string) Key {
	h.buf = append(h.buf[:0], personID...)
	h.buf = append(h.buf, 0)
	h.buf = append(h.buf, isoDate...)
	h.buf = append(h.buf, 0)
	h.buf = append(h.buf, code...)
	if h.seeds != nil {
		var k Key
		binary.LittleEndian.PutUint64(k[:8], maphash.Bytes(h.seeds[0], h.buf))
		binary.LittleEndian.PutUint64(k[8:], maphash.Bytes(h.seeds[1], h.buf))
		return k
	}
	h.h.Reset()
	h.h.Write(h.buf)
	h.sum = h.h.Sum(h.sum[:0])
	var k Key
	copy(k[:], h.sum)
	return k
}

// Reader is a consistent read view of the ledger for the duration of one file. Close it before
// calling Commit from the same goroutine (bbolt may need to remap the file on commit).
type Reader struct {
	tx *bolt.Tx
	b  *bolt.Bucket
}

// Reader opens a read view.
func (l *Ledger) Reader() (*Reader, error) {
	tx, err := l.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("ledger: begin read: %w", err)
	}
	return &Reader{tx: tx, b: tx.Bucket(bucketKeys)}, nil
}

// Get looks a key up.
func (r *Reader) Get(k Key) (Entry, bool) {
	v := r.b.Get(k[:])
	if v == nil {
		return Entry{}, false
	}
	e, ok := decodeEntry(v)
	return e, ok
}

// Close ends the read view.
func (r *Reader) Close() error { return r.tx.Rollback() }

// Change is one effect of a file on the ledger (the state interface's type, see Key).
type Change = state.LedgerChange

// Commit applies a file's changes and records the file's state in one durable transaction.
// changes is sorted in place.
func (l *Ledger) Commit(ctx context.Context, fileID string, changes []Change, st FileState) error {
	st.FileID = fileID
	return l.CommitFiles(ctx, []FileChanges{{Changes: changes, State: st}})
}

// FileChanges is one file's part of a group commit: its changes and its new state.
type FileChanges struct {
	Changes []Change
	State   FileState // State.FileID names the file
}

// CommitFiles applies the changes of several files and records their states (a group commit:
// one fsync for a batch of small files, issue 17). Files are applied in order, so a later
// file's change to a key wins over an earlier one's. Each file's Changes are sorted in place
// (by key).
//
// Up to commitChunk registrations it is one durable transaction. Beyond that the keys that
// only register (no file of the group deletes them) are put in key order in transactions of
// commitChunk keys, and the last transaction holds the rest, the deletions and the files'
// states: bbolt keeps about 150 bytes on the heap for every key of a transaction until it
// commits (a million-row file peaked at 330-380 MB in one transaction, issue 17). A crash
// between the transactions leaves some of the files' keys registered under their own file ids
// and the files not recorded as processed: the state a crash after the ledger commit and before
// the outputs leaves too. Processing such a file again finds its keys owned by itself and
// writes the same records (the idempotence rule); a file processed meanwhile finds those keys
// registered (ledger.duplicate) and the rest free, so no key ends up in two output sets and
// none in none. Deletions wait for the last transaction because a tombstone seen before its
// file's outputs could let another file register a key that is still visibly registered.
func (l *Ledger) CommitFiles(ctx context.Context, files []FileChanges) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n := 0
	ids := make([][8]byte, len(files))
	states := make([][]byte, len(files))
	for i, f := range files {
		n += len(f.Changes)
		var err error
		if ids[i], err = fileIDBytes(f.State.FileID); err != nil {
			return err
		}
		if states[i], err = json.Marshal(f.State); err != nil {
			return fmt.Errorf("ledger: encode file state: %w", err)
		}
		// Keys are HMACs, so a file's keys arrive in random order; bbolt splits pages on every
		// random insert, which made a 200k-key commit take 23 s. In key order it is 0.4 s.
		// Sorted in place: a copy would be another 32 bytes per key of a million-row file.
		slices.SortFunc(f.Changes, compareChanges)
	}
	if n >= bigCommit {
		// What bbolt holds is bounded by the chunks (below), so the commit needs no GC setting
		// of its own (it ran at GOGC 25 before: 60 collections in a 1M-row commit). The
		// garbage of the read is returned first: the read's peak is the process's.
		debug.FreeOSMemory()
	}
	c := &committer{files: files, ids: ids, heads: make([]int, len(files))}
	// bbolt keeps the values it is given until the commit: one arena per transaction (reused by
	// the next), not one slice per key. A group of one key holds at most one change per file.
	c.vals = make([]byte, entrySize*(min(n, l.chunk)+len(files)))
	for done := false; !done; {
		err := l.db.Update(func(tx *bolt.Tx) error {
			var err error
			done, err = c.chunk(tx)
			if err != nil || !done {
				return err
			}
			fb := tx.Bucket(bucketFiles)
			for i, f := range files {
				if err := fb.Put([]byte(f.State.FileID), states[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && !done && l.afterChunk != nil {
			err = l.afterChunk()
		}
		if err != nil {
			if len(files) == 1 {
				return fmt.Errorf("ledger: commit file %s: %w", files[0].State.FileID, err)
			}
			return fmt.Errorf("ledger: commit %d files: %w", len(files), err)
		}
	}
	return nil
}

// compareChanges orders changes by key (bytes.Compare's order), comparing the two halves as
// big-endian integers: inlined loads instead of a call per comparison (a third of the sort's
// time for a million keys).
func compareChanges(a, b Change) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a.Key[:8]), binary.BigEndian.Uint64(b.Key[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a.Key[8:]), binary.BigEndian.Uint64(b.Key[8:]))
}

// commitChunk is the number of registrations CommitFiles puts in one transaction.
const commitChunk = 1 << 16

// committer merges the sorted changes of a group of files and puts them, a chunk a transaction.
type committer struct {
	files    []FileChanges
	ids      [][8]byte
	heads    []int
	heap     []int        // files with changes left, by their next key (next)
	group    []fileChange // the changes of the current key, in file order
	deferred []fileChange // changes of keys some file deletes: put in the last transaction
	vals     []byte
}

type fileChange struct {
	file int
	c    *Change
}

// next returns the changes to the smallest key not yet returned, in file order (empty: none).
// The files wait in a min-heap by their next key (then file order): a group commit of 500 small
// files costs log 500 comparisons a key, not 500 (issue 17).
func (m *committer) next() []fileChange {
	m.group = m.group[:0]
	if m.heap == nil {
		for i := range m.files {
			if len(m.files[i].Changes) > 0 {
				m.heap = append(m.heap, i)
			}
		}
		for i := len(m.heap)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
		if m.heap == nil {
			m.heap = []int{}
		}
	}
	for len(m.heap) > 0 {
		f := m.heap[0]
		c := &m.files[f].Changes[m.heads[f]]
		if len(m.group) > 0 && c.Key != m.group[0].c.Key {
			break
		}
		m.group = append(m.group, fileChange{f, c})
		if m.heads[f]++; m.heads[f] == len(m.files[f].Changes) {
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		}
		m.down(0)
	}
	return m.group
}

// before orders two files of the heap by their next change's key, then by file order.
func (m *committer) before(a, b int) bool {
	if c := compareChanges(m.files[a].Changes[m.heads[a]], m.files[b].Changes[m.heads[b]]); c != 0 {
		return c < 0
	}
	return a < b
}

// down restores the heap below position i.
func (m *committer) down(i int) {
	h := m.heap
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && m.before(h[l], h[least]) {
			least = l
		}
		if r < len(h) && m.before(h[r], h[least]) {
			least = r
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}

// chunk puts the next registrations in key order, up to commitChunk of them; when the changes
// run out (done) it also puts the deferred ones. Of two files touching one key the earlier is
// put first, so the later wins.
func (m *committer) chunk(tx *bolt.Tx) (done bool, err error) {
	b := tx.Bucket(bucketKeys)
	// Keys arrive in order: fill pages instead of bbolt's default half (fewer pages to write).
	b.FillPercent = 0.9
	j := 0
	put := func(vals []byte, fc fileChange) error {
		v := vals[j*entrySize : (j+1)*entrySize]
		j++
		putEntry(v, m.ids[fc.file], fc.c.Row, fc.c.Delete)
		return b.Put(fc.c.Key[:], v)
	}
	for (j+len(m.files))*entrySize <= len(m.vals) {
		g := m.next()
		if len(g) == 0 {
			done = true
			break
		}
		if slices.ContainsFunc(g, func(fc fileChange) bool { return fc.c.Delete }) {
			m.deferred = append(m.deferred, g...)
			continue
		}
		for _, fc := range g {
			if err := put(m.vals, fc); err != nil {
				return false, err
			}
		}
	}
	if !done {
		return false, nil
	}
	vals := make([]byte, entrySize*len(m.deferred))
	j = 0
	for _, fc := range m.deferred {
		if err := put(vals, fc); err != nil {
			return false, err
		}
	}
	return true, nil
}

// FileState returns what the ledger knows about a file.
func (l *Ledger) FileState(fileID string) (FileState, bool, error) {
	var st FileState
	var found bool
	err := l.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFiles).Get([]byte(fileID))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &st)
	})
	if err != nil {
		return FileState{}, false, fmt.Errorf("ledger: read file state: %w", err)
	}
	return st, found, nil
}

// Stats counts live (not deleted) keys and tombstones.
func (l *Ledger) Stats() (live, deleted int, err error) {
	err = l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			if e, ok := decodeEntry(v); ok && e.Deleted {
				deleted++
			} else {
				live++
			}
			return nil
		})
	})
	return live, deleted, err
}

// Entry value layout: flags(1) | file id (8 bytes, the 16 hex digits) | row (4, big endian).
const flagDeleted = 1

const entrySize = 13

func putEntry(v []byte, fileID [8]byte, row int, deleted bool) {
	v[0] = 0
	if deleted {
		v[0] = flagDeleted
	}
	copy(v[1:9], fileID[:])
	binary.BigEndian.PutUint32(v[9:], uint32(row))
}

func decodeEntry(v []byte) (Entry, bool) {
	if len(v) != 13 {
		return Entry{}, false
	}
	return Entry{
		FileID:  hex.EncodeToString(v[1:9]),
		Row:     int(binary.BigEndian.Uint32(v[9:])),
		Deleted: v[0]&flagDeleted != 0,
	}, true
}

func fileIDBytes(fileID string) ([8]byte, error) {
	var id [8]byte
	b, err := hex.DecodeString(fileID)
	if err != nil || len(b) != 8 {
		return id, fmt.Errorf("ledger: file id %s is not 16 hex digits", strconv.Quote(fileID))
	}
	copy(id[:], b)
	return id, nil
}

// OwnedBy reports whether the entry was written by fileID.
func (e Entry) OwnedBy(fileID string) bool { return e.FileID == fileID }

// ForEach calls fn for every key in key order (for `state export`).
func (l *Ledger) ForEach(fn func(Key, Entry) error) error {
	return l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			e, ok := decodeEntry(v)
			if !ok || len(k) != KeySize {
				return fmt.Errorf("ledger: malformed entry")
			}
			return fn(Key(k), e)
		})
	})
}
