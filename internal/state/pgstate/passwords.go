package pgstate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// The password drop-box of a PostgreSQL state is a folder of this process (SPEC 8: --password-dir):
// passwords are never stored in the database.

// DroppedPasswords implements state.Passwords.
func (s *Store) DroppedPasswords(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.pwDir)
	if err != nil {
		return nil, fmt.Errorf("pgstate: list password drop-box: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.Type().IsRegular() && state.ValidFileID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, ctx.Err()
}

// TakePassword implements state.Passwords: reads the first line and removes the file (also when
// it holds no usable password, so that a bad drop is not retried forever; the error says so).
func (s *Store) TakePassword(ctx context.Context, id string) (secret.Secret, bool, error) {
	if !state.ValidFileID(id) {
		return secret.Secret{}, false, state.ErrBadFileID
	}
	p := filepath.Join(s.pwDir, id)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return secret.Secret{}, false, nil
	}
	if err != nil {
		return secret.Secret{}, false, fmt.Errorf("pgstate: open password file: %w", err)
	}
	sec, rerr := secret.Read(f)
	f.Close()
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		sec.Wipe()
		return secret.Secret{}, false, fmt.Errorf("pgstate: remove password file: %w", err)
	}
	if rerr != nil {
		return secret.Secret{}, false, fmt.Errorf("pgstate: password file for %s: %w", id, rerr)
	}
	return sec, true, ctx.Err()
}

// DropPassword implements state.Passwords (0600, written under a temporary name and renamed).
func (s *Store) DropPassword(ctx context.Context, id string, pw secret.Secret) error {
	if !state.ValidFileID(id) {
		return state.ErrBadFileID
	}
	f, err := os.CreateTemp(s.pwDir, ".drop-*")
	if err != nil {
		return fmt.Errorf("pgstate: drop password: %w", err)
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
		werr = os.Rename(tmp, filepath.Join(s.pwDir, id))
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("pgstate: drop password: %w", werr)
	}
	return ctx.Err()
}
