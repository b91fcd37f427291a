package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is returned by Lock when another process (or another Lock in this one) holds the
// poll lock of the state folder.
var ErrLocked = errors.New("spool: another poller is using this state folder")

// FileLock is a held poll lock. Release it with Unlock.
type FileLock struct {
	f *os.File
}

// LockFileName is the name of the poll lock inside the state folder.
const LockFileName = "poll.lock"

// Lock takes the poll lock STATE/poll.lock without waiting (flock LOCK_EX|LOCK_NB). A second
// poller on the same state folder gets an error wrapping ErrLocked. The lock is released by
// Unlock or when the process ends (also by SIGKILL), so a crashed poller never leaves it stuck.
func Lock(dir string) (*FileLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create state folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: open poll lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, filepath.Join(dir, LockFileName))
		}
		return nil, fmt.Errorf("spool: lock: %w", err)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock. It is safe to call more than once.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
