package main

import (
	"context"
	"time"

	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// openState opens the --state folder, waiting up to wait for another process to close it.
func openState(ctx context.Context, dir string, wait time.Duration) (state.Store, error) {
	return folder.Open(ctx, dir, folder.Options{LockTimeout: wait})
}

// newService is the intake service of a command over an open state.
func newService(st state.Store, s *setup, out string) *intake.Service {
	return intake.New(st, intake.Config{OutDir: out, Opts: s.opts, Log: s.log})
}
