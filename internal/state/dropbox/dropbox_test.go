package dropbox

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

func TestDropBox(t *testing.T) {
	b := Box{Dir: t.TempDir()}
	id := "0123456789abcdef"
	if _, ok, err := b.Take(id); ok || err != nil {
		t.Fatal("no file yet")
	}
	if err := b.Drop(id, secret.New([]byte("sms-passord"))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.Dir, "not-a-file-id"), []byte("x\n"), 0o600)
	if ids, err := b.List(); err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("dropped %v %v", ids, err)
	}
	if fi, err := os.Stat(filepath.Join(b.Dir, id)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	sec, ok, err := b.Take(id)
	if err != nil || !ok || string(sec.Bytes()) != "sms-passord" {
		t.Fatalf("take: %v %v", ok, err)
	}
	if _, ok, _ := b.Take(id); ok {
		t.Fatal("password file not removed")
	}
	os.WriteFile(filepath.Join(b.Dir, id), []byte("\n"), 0o600)
	if _, ok, err := b.Take(id); ok || !errors.Is(err, secret.ErrEmpty) {
		t.Fatalf("empty drop: %v %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(b.Dir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an empty drop is removed too")
	}
	for _, bad := range []string{"../x", "0123456789ABCDEF"} {
		if _, _, err := b.Take(bad); !errors.Is(err, state.ErrBadFileID) {
			t.Fatalf("Take(%q): %v", bad, err)
		}
		if err := b.Drop(bad, secret.New([]byte("x"))); !errors.Is(err, state.ErrBadFileID) {
			t.Fatalf("Drop(%q): %v", bad, err)
		}
	}
}
