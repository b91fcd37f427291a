package pgstate

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/dropbox"
)

// The password drop-box of a PostgreSQL state is a folder of this process (SPEC 8: --password-dir):
// passwords are never stored in the database.

// DroppedPasswords implements state.Passwords.
func (s *Store) DroppedPasswords(ctx context.Context) ([]string, error) {
	ids, err := dropbox.Box{Dir: s.pwDir}.List()
	if err != nil {
		return nil, fmt.Errorf("pgstate: %w", err)
	}
	return ids, ctx.Err()
}

// TakePassword implements state.Passwords (dropbox.Box.Take).
func (s *Store) TakePassword(ctx context.Context, id string) (secret.Secret, bool, error) {
	if err := ctx.Err(); err != nil {
		return secret.Secret{}, false, err
	}
	pw, ok, err := dropbox.Box{Dir: s.pwDir}.Take(id)
	if err != nil && !errors.Is(err, state.ErrBadFileID) {
		err = fmt.Errorf("pgstate: %w", err)
	}
	return pw, ok, err
}

// DropPassword implements state.Passwords (dropbox.Box.Drop).
func (s *Store) DropPassword(ctx context.Context, id string, pw secret.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := dropbox.Box{Dir: s.pwDir}.Drop(id, pw)
	if err != nil && !errors.Is(err, state.ErrBadFileID) {
		err = fmt.Errorf("pgstate: %w", err)
	}
	return err
}
