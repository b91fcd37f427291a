package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestLedgerSurvivesReopenAndHidesIDs(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := l.NewHasher()
	// 15108695088: valid fnr from ids.md §4.2 worked example.
	k1 := h.Key("15108695088", []byte("2025-03-01"), "BNT03")
	k2 := h.Key("15108695088", []byte("2025-03-01"), "MOD03")
	if k1 == k2 {
		t.Fatal("different codes gave the same key")
	}
	if k1 != h.Key("15108695088", []byte("2025-03-01"), "BNT03") {
		t.Fatal("hasher not deterministic")
	}
	const fid = "0123456789abcdef"
	if err := l.Commit(ctx, fid, []Change{{Key: k1, Row: 7}}, FileState{Status: "accepted"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, err := l.Reader()
	if err != nil {
		t.Fatal(err)
	}
	e, ok := r.Get(l.NewHasher().Key("15108695088", []byte("2025-03-01"), "BNT03"))
	if !ok || e.FileID != fid || e.Row != 7 || e.Deleted {
		t.Fatalf("after reopen: %+v %v", e, ok)
	}
	if _, ok := r.Get(k2); ok {
		t.Fatal("unknown key found")
	}
	r.Close()
	st, ok, err := l.FileState(fid)
	if err != nil || !ok || st.Status != "accepted" {
		t.Fatalf("file state %+v %v %v", st, ok, err)
	}

	// A deletion leaves a tombstone owned by the deleting file.
	if err := l.Commit(ctx, "fedcba9876543210", []Change{{Key: k1, Row: 3, Delete: true}}, FileState{Status: "accepted"}); err != nil {
		t.Fatal(err)
	}
	r, _ = l.Reader()
	e, ok = r.Get(k1)
	r.Close()
	if !ok || !e.Deleted || e.FileID != "fedcba9876543210" || e.Row != 3 {
		t.Fatalf("tombstone %+v", e)
	}
	live, deleted, err := l.Stats()
	if err != nil || live != 0 || deleted != 1 {
		t.Fatalf("stats %d %d %v", live, deleted, err)
	}

	// Privacy: the database file never holds the ID number, in any form we wrote it.
	db, err := os.ReadFile(filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte("15108695088")) || bytes.Contains(db, []byte("151086")) {
		t.Fatal("ledger file contains the ID number in clear")
	}
	for _, name := range []string{dbName, keyName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state folder mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Open(ctx, dir, Options{LockTimeout: 50_000_000})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestBadFileID(t *testing.T) {
	l, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range []string{"", "xyz", "0123456789abcdeg", "0123456789abcdef00"} {
		if err := l.Commit(context.Background(), id, nil, FileState{}); err == nil {
			t.Errorf("Commit(%q) accepted a bad file id", id)
		}
	}
}

func BenchmarkHasherKey(b *testing.B) {
	h := NewHasher(make([]byte, 32))
	date := []byte("2025-03-01")
	b.ReportAllocs()
	for b.Loop() {
		_ = h.Key("15108695088", date, "BNT03")
	}
}

// BenchmarkCommit100k: one file's 100,000 keys in one commit (keys are HMACs: random order).
func BenchmarkCommit100k(b *testing.B) {
	ctx := context.Background()
	h := NewHasher(make([]byte, 32))
	changes := make([]Change, 100_000)
	for i := range changes {
		changes[i] = Change{Key: h.Key(fmt.Sprintf("%011d", i), []byte("2026-01-01"), "BNT03"), Row: i + 2}
	}
	for b.Loop() {
		b.StopTimer()
		l, err := Open(ctx, b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := l.Commit(ctx, "0123456789abcdef", changes, FileState{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}

// BenchmarkCommitFiles500x100: a group commit of 500 files of 100 keys each (import of many
// small files, issue 17): the files' sorted changes are merged through a heap.
func BenchmarkCommitFiles500x100(b *testing.B) {
	ctx := context.Background()
	h := NewHasher(make([]byte, 32))
	files := make([]FileChanges, 500)
	for f := range files {
		files[f].State.FileID = fmt.Sprintf("%016x", f)
		for i := 0; i < 100; i++ {
			files[f].Changes = append(files[f].Changes, Change{Key: h.Key(fmt.Sprintf("%011d", f*100+i), []byte("2026-01-01"), "BNT03"), Row: i + 2})
		}
	}
	for b.Loop() {
		b.StopTimer()
		l, err := Open(ctx, b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := l.CommitFiles(ctx, files); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}

// A group commit applies files in order: of two files touching one key, the later wins; each
// file's state is recorded.
func TestCommitFilesOrder(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := l.NewHasher()
	k1 := h.Key("01025450058", []byte("2024-01-02"), "AII02")
	k2 := h.Key("29029600013", []byte("2024-01-02"), "AII02")
	a, b := "00000000000000aa", "00000000000000bb"
	err = l.CommitFiles(ctx, []FileChanges{
		{Changes: []Change{{Key: k2, Row: 3}, {Key: k1, Row: 2}}, State: FileState{FileID: a, Status: "accepted"}},
		{Changes: []Change{{Key: k1, Row: 7, Delete: true}}, State: FileState{FileID: b, Status: "accepted"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if e, ok := r.Get(k1); !ok || e.FileID != b || e.Row != 7 || !e.Deleted {
		t.Errorf("k1: %+v %v, want the later file's deletion", e, ok)
	}
	if e, ok := r.Get(k2); !ok || e.FileID != a || e.Row != 3 || e.Deleted {
		t.Errorf("k2: %+v %v", e, ok)
	}
	for _, id := range []string{a, b} {
		if st, ok, err := l.FileState(id); err != nil || !ok || st.Status != "accepted" {
			t.Errorf("file %s: %+v %v %v", id, st, ok, err)
		}
	}
}

// A big commit is split into transactions of registrations; a crash between them leaves only
// registrations owned by their own files (no deletion, no file state), and committing the same
// changes again (the file processed again) gives exactly what one uninterrupted commit gives.
func TestCommitFilesChunked(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(make([]byte, 32))
	key := func(i int) Key { return h.Key(fmt.Sprintf("%011d", i), []byte("2026-01-01"), "BNT03") }
	a, b, e := "00000000000000aa", "00000000000000bb", "00000000000000ee"
	// e registered 0..9 earlier; a registers 10..59 and deletes 0..4; b registers 40..79
	// (40..59 also a's: b is later and wins) and deletes 5.
	group := func() []FileChanges {
		var ca, cb []Change
		for i := 10; i < 60; i++ {
			ca = append(ca, Change{Key: key(i), Row: i})
		}
		for i := 0; i < 5; i++ {
			ca = append(ca, Change{Key: key(i), Row: 100 + i, Delete: true})
		}
		for i := 40; i < 80; i++ {
			cb = append(cb, Change{Key: key(i), Row: 1000 + i})
		}
		cb = append(cb, Change{Key: key(5), Row: 2000, Delete: true})
		return []FileChanges{{Changes: ca, State: FileState{FileID: a, Status: "accepted"}},
			{Changes: cb, State: FileState{FileID: b, Status: "accepted"}}}
	}
	open := func(dir string) *Ledger {
		l, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var earlier []Change
		for i := 0; i < 10; i++ {
			earlier = append(earlier, Change{Key: key(i), Row: i})
		}
		if err := l.Commit(ctx, e, earlier, FileState{Status: "accepted"}); err != nil {
			t.Fatal(err)
		}
		return l
	}
	dump := func(l *Ledger) map[Key]Entry {
		m := map[Key]Entry{}
		if err := l.ForEach(func(k Key, en Entry) error { m[k] = en; return nil }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	whole := open(t.TempDir())
	defer whole.Close()
	if err := whole.CommitFiles(ctx, group()); err != nil {
		t.Fatal(err)
	}
	want := dump(whole)
	if en := want[key(45)]; en.FileID != b || en.Row != 1045 {
		t.Fatalf("key 45: %+v, want b's", en)
	}
	if en := want[key(3)]; en.FileID != a || !en.Deleted {
		t.Fatalf("key 3: %+v, want a's tombstone", en)
	}

	last := 0
	for crashAfter := 1; crashAfter <= 4; crashAfter++ {
		l := open(t.TempDir())
		l.chunk = 16
		chunks := 0
		crash := errors.New("crash")
		l.afterChunk = func() error {
			if chunks++; chunks == crashAfter {
				return crash
			}
			return nil
		}
		if err := l.CommitFiles(ctx, group()); !errors.Is(err, crash) {
			t.Fatalf("crash after %d chunks: %v", crashAfter, err)
		}
		if chunks != crashAfter {
			t.Fatalf("%d chunks, want a crash after %d", chunks, crashAfter)
		}
		got := dump(l)
		registered := 0
		for k, en := range got {
			switch {
			case en.FileID == e:
				if en != (Entry{FileID: e, Row: en.Row}) {
					t.Errorf("crash after %d: e's entry changed: %+v", crashAfter, en)
				}
			case en.Deleted:
				t.Errorf("crash after %d: a deletion before the last transaction: %+v", crashAfter, en)
			case want[k] != en:
				t.Errorf("crash after %d: %+v, want %+v", crashAfter, en, want[k])
			default:
				registered++
			}
		}
		// 70 keys registered in all (10..79), at most 16 puts a chunk (plus one key's group).
		if registered <= last || registered > 17*crashAfter || registered >= 70 {
			t.Errorf("crash after %d: %d keys registered (%d after one chunk fewer)", crashAfter, registered, last)
		}
		last = registered
		for _, id := range []string{a, b} {
			if _, ok, _ := l.FileState(id); ok {
				t.Errorf("crash after %d: file %s recorded before its last transaction", crashAfter, id)
			}
		}
		l.afterChunk = nil
		if err := l.CommitFiles(ctx, group()); err != nil {
			t.Fatal(err)
		}
		if got := dump(l); !maps.Equal(got, want) {
			t.Errorf("crash after %d, then again: ledger differs from one uninterrupted commit", crashAfter)
		}
		for _, id := range []string{a, b} {
			if st, ok, _ := l.FileState(id); !ok || st.Status != "accepted" {
				t.Errorf("crash after %d: file %s: %+v %v", crashAfter, id, st, ok)
			}
		}
		l.Close()
	}
}

// A run hasher gives equal keys for equal triples and different keys otherwise, and two run
// hashers (two runs) give different keys for the same triple.
func TestRunHasher(t *testing.T) {
	h, other := NewRunHasher(), NewRunHasher()
	a := h.Key("15108695088", []byte("2025-03-01"), "BNT03")
	if a != h.Key("15108695088", []byte("2025-03-01"), "BNT03") {
		t.Fatal("run hasher not deterministic within a run")
	}
	seen := map[Key]string{}
	for i := 0; i < 10000; i++ {
		for _, code := range []string{"BNT03", "MOD03"} {
			name := fmt.Sprintf("%011d/%s", i, code)
			k := h.Key(fmt.Sprintf("%011d", i), []byte("2025-03-01"), code)
			if prev, dup := seen[k]; dup {
				t.Fatalf("%s and %s share a key", prev, name)
			}
			seen[k] = name
		}
	}
	if a == other.Key("15108695088", []byte("2025-03-01"), "BNT03") {
		t.Error("two run hashers gave the same key: the seeds are not the run's own")
	}
}

// compareChanges orders keys as bytes.Compare does.
func TestCompareChanges(t *testing.T) {
	h := NewHasher(make([]byte, 32))
	var keys []Key
	for i := 0; i < 2000; i++ {
		keys = append(keys, h.Key(fmt.Sprintf("%011d", i), []byte("2026-01-01"), "BNT03"))
	}
	twin := keys[0]
	twin[15] ^= 1 // same first half: the second decides
	keys = append(keys, twin, keys[1])
	for i, a := range keys {
		for _, b := range keys[max(0, i-40):i] {
			if got, want := compareChanges(Change{Key: a}, Change{Key: b}), bytes.Compare(a[:], b[:]); got != want {
				t.Fatalf("compareChanges = %d, bytes.Compare = %d", got, want)
			}
		}
	}
	if compareChanges(Change{Key: keys[0]}, Change{Key: twin}) != bytes.Compare(keys[0][:], twin[:]) {
		t.Fatal("keys equal in the first half compare wrongly")
	}
}
