package main

import (
	"context"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// openConsoleState opens the state of the console's commands (serve, operator, audit).
func openConsoleState(ctx context.Context, dir string, wait time.Duration) (state.Store, error) {
	return folder.Open(ctx, dir, folder.Options{LockTimeout: wait})
}
