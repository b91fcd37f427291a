package main

import (
	"context"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
)

// openConsoleState opens the state of the console's commands (serve, operator, audit): a folder
// or a PostgreSQL URL.
func openConsoleState(ctx context.Context, where string, wait time.Duration) (state.Store, error) {
	return openState(ctx, where, "", wait)
}
