package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
