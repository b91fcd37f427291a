package importer

import (
	"encoding/binary"
	"iter"

	"github.com/fhi/sysvak-import/importer/ledger"
)

// keyTable is the set of dedup keys one file has touched (SPEC 3), with what the file did with
// each. It replaces a map[ledger.Key]dedupState for memory's sake (issue 6): for a million keys
// such a map holds about 84 MB (measured, Go 1.26), this table 48 MB (32 B per entry, 16 MB of
// index), it never copies its entries when it grows, and a row costs one index probe.
//
// Entries live in fixed-size blocks in insertion order (appended, never moved); an open-
// addressing index (linear probing, load at most 1/2) maps a key to its entry. Keys are keyed
// HMAC-SHA256 outputs (ledger.Hasher), uniformly distributed, so their first 8 bytes serve as
// the hash: the low bits pick the slot and 32 bits are kept in the slot as a fingerprint, so
// that a probe rarely touches an entry that is not the one sought.
//
// The zero value is not usable; a nil *keyTable is an empty table for Len and All.
type keyTable struct {
	blocks [][]keyEntry
	n      int
	index  []uint64 // 0 = empty; else fingerprint<<32 | (entry number + 1)
	mask   uint64
}

type keyEntry struct {
	key ledger.Key
	st  dedupState
}

const (
	keyBlockBits  = 12
	keyBlockSize  = 1 << keyBlockBits
	firstKeyBlock = 128
)

func newKeyTable() *keyTable {
	const slots = 1 << 8
	return &keyTable{index: make([]uint64, slots), mask: slots - 1}
}

func keyHash(k *ledger.Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// Len is the number of keys.
func (t *keyTable) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

func (t *keyTable) entry(i int) *keyEntry { return &t.blocks[i>>keyBlockBits][i&(keyBlockSize-1)] }

// find returns the state stored for k, to read or update in place, or nil.
func (t *keyTable) find(k *ledger.Key) *dedupState {
	h := keyHash(k)
	fp := h >> 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.index[i]
		if s == 0 {
			return nil
		}
		if s>>32 == fp {
			if e := t.entry(int(uint32(s)) - 1); e.key == *k {
				return &e.st
			}
		}
	}
}

// put stores st for k: in place when k is present, else as a new entry.
func (t *keyTable) put(k *ledger.Key, st dedupState) {
	if p := t.find(k); p != nil {
		*p = st
		return
	}
	if 2*(t.n+1) > len(t.index) {
		t.grow()
	}
	b := t.n >> keyBlockBits
	if b == len(t.blocks) {
		// The first block starts small and grows by appending (a file of a hundred rows does
		// not pay for 4,096 entries, issue 17); later blocks are allocated whole, so the
		// entries of a big file are never copied.
		c := keyBlockSize
		if b == 0 {
			c = firstKeyBlock
		}
		t.blocks = append(t.blocks, make([]keyEntry, 0, c))
	}
	t.blocks[b] = append(t.blocks[b], keyEntry{key: *k, st: st})
	t.n++
	t.insert(keyHash(k), uint64(t.n))
}

// insert puts an index slot for entry number+1 = ref.
func (t *keyTable) insert(h, ref uint64) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.index[i] == 0 {
			t.index[i] = h>>32<<32 | ref
			return
		}
	}
}

// grow doubles the index and re-inserts every entry (the entries themselves stay put).
func (t *keyTable) grow() {
	t.index = make([]uint64, 2*len(t.index))
	t.mask = uint64(len(t.index) - 1)
	for i := 0; i < t.n; i++ {
		t.insert(keyHash(&t.entry(i).key), uint64(i+1))
	}
}

// All yields every key with its state, in the order the keys were first touched.
func (t *keyTable) All() iter.Seq2[ledger.Key, dedupState] {
	return func(yield func(ledger.Key, dedupState) bool) {
		for i := 0; i < t.Len(); i++ {
			e := t.entry(i)
			if !yield(e.key, e.st) {
				return
			}
		}
	}
}
