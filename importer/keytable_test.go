package importer

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/fhi/sysvak-import/importer/ledger"
)

// TestKeyTable checks the dedup key table against a map: inserts past several index growths
// and block boundaries, in-place updates through find, updates through put, colliding
// fingerprints, insertion order in All, and the nil table.
func TestKeyTable(t *testing.T) {
	key := func(i int) ledger.Key {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		sum := sha256.Sum256(b[:])
		var k ledger.Key
		copy(k[:], sum[:])
		return k
	}
	const n = 3*keyBlockSize + 17
	tab, ref := newKeyTable(), map[ledger.Key]dedupState{}
	var order []ledger.Key
	for i := 0; i < n; i++ {
		k := key(i)
		if tab.find(&k) != nil {
			t.Fatalf("key %d found before it was put", i)
		}
		st := newDedupState(i+2, i%21, false, uint32(i))
		tab.put(&k, st)
		ref[k] = st
		order = append(order, k)
	}
	// Same low 8 bytes (slot and fingerprint), different key: must not be confused.
	twin := key(5)
	twin[len(twin)-1] ^= 1
	if tab.find(&twin) != nil {
		t.Fatal("a key differing only after the hash bytes was found")
	}
	tab.put(&twin, newDedupState(99, 0, false, 0))
	ref[twin] = newDedupState(99, 0, false, 0)
	order = append(order, twin)
	for i := 0; i < n; i += 7 {
		k := key(i)
		p := tab.find(&k)
		if p == nil {
			t.Fatalf("key %d lost", i)
		}
		*p = newDedupState(p.row(), p.dose(), true, p.batch)
		st := ref[k]
		ref[k] = newDedupState(st.row(), st.dose(), true, st.batch)
	}
	k9 := key(9)
	tab.put(&k9, newDedupState(1234, 0, false, 0))
	ref[k9] = newDedupState(1234, 0, false, 0)

	if tab.Len() != len(ref) {
		t.Fatalf("Len %d, want %d", tab.Len(), len(ref))
	}
	i := 0
	for k, st := range tab.All() {
		if k != order[i] {
			t.Fatalf("All: entry %d out of insertion order", i)
		}
		if st != ref[k] {
			t.Fatalf("All: entry %d = %+v, want %+v", i, st, ref[k])
		}
		if p := tab.find(&k); p == nil || *p != st {
			t.Fatalf("find(entry %d) = %v", i, p)
		}
		i++
	}
	if i != len(ref) {
		t.Fatalf("All yielded %d, want %d", i, len(ref))
	}
	var none *keyTable
	if none.Len() != 0 {
		t.Fatal("nil table not empty")
	}
	for range none.All() {
		t.Fatal("nil table yields")
	}
}

// The packed state keeps every row a sheet can have (up to 2^20), every dose (0..20) and the
// deletion flag apart.
func TestDedupStatePacking(t *testing.T) {
	for _, row := range []int{1, 2, 1000, 1 << 20} {
		for dose := 0; dose <= 20; dose++ {
			for _, del := range []bool{false, true} {
				s := newDedupState(row, dose, del, 0xdeadbeef)
				if s.row() != row || s.dose() != dose || s.deleted() != del || s.batch != 0xdeadbeef {
					t.Fatalf("newDedupState(%d, %d, %v) = row %d dose %d deleted %v", row, dose, del, s.row(), s.dose(), s.deleted())
				}
			}
		}
	}
	if unsafe.Sizeof(keyEntry{}) != 24 {
		t.Errorf("a key table entry is %d bytes, want 24", unsafe.Sizeof(keyEntry{}))
	}
}
