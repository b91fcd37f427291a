package importer

import (
	"encoding/binary"
	"iter"

	"github.com/fhi/sysvak-import/importer/ledger"
)

// keyTable is the set of dedup keys one file has touched (SPEC 3), with what the file did with
// each. It replaces a map[ledger.Key]dedupState for memory's sake (issue 6): for a million keys
// such a map holds about 84 MB (measured, Go 1.26), this table 32 MB (24 B per entry, 8 MB of
// index; issue 17 halved the index and packed the state), it never copies its entries when it
// grows, and a row costs one index probe.
//
// Entries live in fixed-size blocks in insertion order (appended, never moved); an open-
// addressing index (linear probing, load at most 1/2) maps a key to its entry. Keys are keyed
// HMAC-SHA256 outputs (ledger.Hasher), uniformly distributed, so their first 8 bytes serve as
// the hash: the low bits pick the slot and the top 8 bits are kept in the slot as a fingerprint,
// so that a probe rarely touches an entry that is not the one sought. A slot holds the entry
// number in 24 bits: a file has at most 1,048,576 rows (2^20), so at most as many keys.
//
// The zero value is not usable; a nil *keyTable is an empty table for Len and All.
type keyTable struct {
	blocks [][]keyEntry
	n      int
	index  []uint32 // 0 = empty; else fingerprint<<24 | (entry number + 1)
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
	return &keyTable{index: make([]uint32, slots), mask: slots - 1}
}

func keyHash(k *ledger.Key) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

const (
	slotRefBits = 24
	slotRefMask = 1<<slotRefBits - 1
)

// slotFP is the fingerprint of hash h as it sits in a slot (the hash's top 8 bits).
func slotFP(h uint64) uint32 { return uint32(h>>56) << slotRefBits }

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
	fp := slotFP(h)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.index[i]
		if s == 0 {
			return nil
		}
		if s&^slotRefMask == fp {
			if e := t.entry(int(s&slotRefMask) - 1); e.key == *k {
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
	t.add(k, st)
}

// add stores st for k, which is not in the table (find returned nil): one probe less than put.
func (t *keyTable) add(k *ledger.Key, st dedupState) {
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
	t.insert(keyHash(k), uint32(t.n))
}

// insert puts an index slot for entry number+1 = ref.
func (t *keyTable) insert(h uint64, ref uint32) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.index[i] == 0 {
			t.index[i] = slotFP(h) | ref
			return
		}
	}
}

// grow doubles the index and re-inserts every entry (the entries themselves stay put).
func (t *keyTable) grow() {
	t.index = make([]uint32, 2*len(t.index))
	t.mask = uint64(len(t.index) - 1)
	for i := 0; i < t.n; i++ {
		t.insert(keyHash(&t.entry(i).key), uint32(i+1))
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
