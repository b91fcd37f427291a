package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fhi/sysvak-import/internal/secret"
)

// TakePassword reads the drop-box file STATE/passwords/<file-id> (first line is the password,
// SPEC 6) and deletes it. ok is false when there is no such file. The file is deleted even when it
// holds no usable password, so that a bad drop is not retried forever; the error says so.
func (s *Store) TakePassword(fileID string) (secret.Secret, bool, error) {
	if !ValidFileID(fileID) {
		return secret.Secret{}, false, ErrBadFileID
	}
	p := filepath.Join(s.dir, PasswordDir, fileID)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return secret.Secret{}, false, nil
	}
	if err != nil {
		return secret.Secret{}, false, fmt.Errorf("spool: open password file: %w", err)
	}
	sec, rerr := secret.Read(f)
	f.Close()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		sec.Wipe()
		return secret.Secret{}, false, fmt.Errorf("spool: remove password file: %w", err)
	}
	if err := syncDir(filepath.Join(s.dir, PasswordDir)); err != nil {
		sec.Wipe()
		return secret.Secret{}, false, err
	}
	if rerr != nil {
		return secret.Secret{}, false, fmt.Errorf("spool: password file for %s: %w", fileID, rerr)
	}
	return sec, true, nil
}

// DroppedPasswords lists the file ids that have a password file waiting in the drop-box. Names
// that are not file ids are ignored.
func (s *Store) DroppedPasswords() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, PasswordDir))
	if err != nil {
		return nil, fmt.Errorf("spool: list password drop-box: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.Type().IsRegular() && ValidFileID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// DropPassword writes a password into the drop-box (0600, atomically), as an operator or the demo
// would. The next poll finds it.
func (s *Store) DropPassword(fileID string, sec secret.Secret) error {
	if !ValidFileID(fileID) {
		return ErrBadFileID
	}
	dir := filepath.Join(s.dir, PasswordDir)
	f, err := os.CreateTemp(dir, ".drop-*")
	if err != nil {
		return fmt.Errorf("spool: drop password: %w", err)
	}
	tmp := f.Name()
	buf := append(append(make([]byte, 0, len(sec.Bytes())+1), sec.Bytes()...), '\n')
	_, werr := f.Write(buf)
	for i := range buf {
		buf[i] = 0
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, fileID))
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: drop password: %w", werr)
	}
	return syncDir(dir)
}
