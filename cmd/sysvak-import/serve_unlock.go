package main

import (
	"context"
	"errors"

	"github.com/fhi/sysvak-import/internal/console"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/internal/state"
)

// newServeUnlocker is the console's way to unlock a waiting file: the intake service's Unlock.
// Until the intake service is on main the console cannot process a file; it says so.
func newServeUnlocker(_ state.Store, _ *serveFlags, _ *setup) console.Unlocker {
	return pendingIntake{}
}

type pendingIntake struct{}

func (pendingIntake) Unlock(context.Context, string, secret.Secret) (console.UnlockOutcome, error) {
	return console.UnlockOutcome{}, errors.New("serve: unlocking from the console needs the intake service; use `sysvak-import unlock`")
}
