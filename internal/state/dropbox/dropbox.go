// Package dropbox is the password drop-box of both state backends (SPEC 6, 8): a folder where a
// password for a waiting file is dropped as <file-id> (first line, 0600), found by the next pass,
// used at once and removed. Passwords are never kept anywhere else.
package dropbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fhi/sysvak-import/internal/fsutil"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// Box is a drop-box folder.
type Box struct{ Dir string }

// List lists the file ids that have a password waiting, sorted. Names that are not file ids are
// ignored.
func (b Box) List() ([]string, error) {
	ents, err := os.ReadDir(b.Dir)
	if err != nil {
		return nil, fmt.Errorf("list password drop-box: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.Type().IsRegular() && state.ValidFileID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Take reads the password dropped for id and removes its file; ok is false when there is none.
// The file is removed also when it holds no usable password, so that a bad drop is not retried
// forever (the error says so).
func (b Box) Take(id string) (secret.Secret, bool, error) {
	if !state.ValidFileID(id) {
		return secret.Secret{}, false, state.ErrBadFileID
	}
	p := filepath.Join(b.Dir, id)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return secret.Secret{}, false, nil
	}
	if err != nil {
		return secret.Secret{}, false, fmt.Errorf("open password file: %w", err)
	}
	sec, rerr := secret.Read(f)
	f.Close()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		sec.Wipe()
		return secret.Secret{}, false, fmt.Errorf("remove password file: %w", err)
	}
	if err := fsutil.SyncDir(b.Dir); err != nil {
		sec.Wipe()
		return secret.Secret{}, false, err
	}
	if rerr != nil {
		return secret.Secret{}, false, fmt.Errorf("password file for %s: %w", id, rerr)
	}
	return sec, true, nil
}

// Drop writes a password for id (0600, under a temporary name, synced and renamed), as an
// operator, the console or the demo does.
func (b Box) Drop(id string, pw secret.Secret) error {
	if !state.ValidFileID(id) {
		return state.ErrBadFileID
	}
	f, err := os.CreateTemp(b.Dir, ".drop-*")
	if err != nil {
		return fmt.Errorf("drop password: %w", err)
	}
	tmp := f.Name()
	buf := append(append(make([]byte, 0, len(pw.Bytes())+1), pw.Bytes()...), '\n')
	_, werr := f.Write(buf)
	clear(buf)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(b.Dir, id))
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("drop password: %w", werr)
	}
	return fsutil.SyncDir(b.Dir)
}
