package folder_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		dir := t.TempDir()
		return statetest.Backend{Open: func(t *testing.T, now func() time.Time) state.Store {
			st, err := folder.Open(context.Background(), dir, folder.Options{Now: now, LockTimeout: time.Second})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			return st
		}}
	})
}

func TestSecondOpenLocked(t *testing.T) {
	dir := t.TempDir()
	st, err := folder.Open(context.Background(), dir, folder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = folder.Open(context.Background(), dir, folder.Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}
