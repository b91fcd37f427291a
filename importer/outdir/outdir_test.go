package outdir

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeSet(t *testing.T, root, name string, files map[string]string) error {
	t.Helper()
	s, err := Begin(root, name)
	if err != nil {
		return err
	}
	for n, c := range files {
		f, err := s.Create(n)
		if err != nil {
			s.Abort()
			return err
		}
		if _, err := f.WriteString(c); err != nil {
			s.Abort()
			return err
		}
	}
	return s.Commit()
}

func TestCommitAndReplace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	if err := writeSet(t, root, "0123456789abcdef", map[string]string{"report.json": "v1", "records.jsonl": "r1"}); err != nil {
		t.Fatal(err)
	}
	if err := writeSet(t, root, "0123456789abcdef", map[string]string{"report.json": "v2"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "0123456789abcdef", "report.json"))
	if err != nil || string(got) != "v2" {
		t.Fatalf("after replace: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(root, "0123456789abcdef", "records.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("old set's file survived the replace: %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("left-overs in out folder: %v", entries)
	}
	fi, _ := os.Stat(filepath.Join(root, "0123456789abcdef", "report.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Join(root, "0123456789abcdef"))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", di.Mode().Perm())
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := Begin(root, "aaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := s.Create("records.jsonl")
	f.WriteString("half")
	s.Abort()
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Fatalf("abort left %v", entries)
	}
}

func TestStaleTempRemovedAndBadNames(t *testing.T) {
	root := t.TempDir()
	stale := filepath.Join(root, tmpPrefix+"bbbbbbbbbbbbbbbb-123")
	os.Mkdir(stale, 0o700)
	young := filepath.Join(root, tmpPrefix+"bbbbbbbbbbbbbbbb-456") // another process's, in use
	os.Mkdir(young, 0o700)
	old := time.Now().Add(-2 * staleAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if err := writeSet(t, root, "bbbbbbbbbbbbbbbb", map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale temp folder of a crashed run not removed")
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatal("a young temp folder (another process's set in progress) was removed")
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b"} {
		if _, err := Begin(root, bad); err == nil {
			t.Errorf("Begin(%q) accepted", bad)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.json")
	for _, c := range []string{"one", "two"} {
		if err := WriteFileAtomic(p, []byte(c)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != c {
			t.Fatalf("got %q", got)
		}
	}
}
