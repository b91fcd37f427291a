// Package outdir writes a file's output set (records.jsonl, report.json, report.txt) so that a
// reader never sees a half-written set (SPEC 5): the files are written into a temporary folder
// beside the final one, each fsynced, the folder fsynced, and then the folder is renamed into
// place -- or, when a set already exists (a file that waited for its password, or a report that
// lists a new arrival), atomically exchanged with it (renameat2 RENAME_EXCHANGE) and the old set
// removed. Files are 0600 and folders 0700: records carry ID numbers in full.
package outdir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fhi/sysvak-import/internal/fsutil"
	"golang.org/x/sys/unix"
)

const tmpPrefix = ".tmp-"

// Set is an output set being written. Create files with Create, then Commit or Abort.
type Set struct {
	root  string // the OUT folder
	name  string // the final folder name (a file id)
	tmp   string
	files []*os.File
	done  bool
}

// Begin starts a new output set for OUT/name. Stale temporary folders of earlier crashed runs
// for the same name are removed.
func Begin(root, name string) (*Set, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("outdir: bad set name %q", name)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("outdir: create output folder: %w", err)
	}
	stale, _ := filepath.Glob(filepath.Join(root, tmpPrefix+name+"-*"))
	for _, s := range stale {
		os.RemoveAll(s)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("outdir: %w", err)
	}
	tmp := filepath.Join(root, tmpPrefix+name+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("outdir: create temporary folder: %w", err)
	}
	return &Set{root: root, name: name, tmp: tmp}, nil
}

// Create creates a file in the set. It is closed (after fsync) by Commit.
func (s *Set) Create(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outdir: create %s: %w", name, err)
	}
	s.files = append(s.files, f)
	return f, nil
}

// CopyFrom copies a file of the existing set (if any) into the new one, for files the new set
// does not rewrite. A missing source is not an error.
func (s *Set) CopyFrom(name string) error {
	src, err := os.Open(filepath.Join(s.root, s.name, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outdir: copy %s: %w", name, err)
	}
	defer src.Close()
	dst, err := s.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		return fmt.Errorf("outdir: copy %s: %w", name, err)
	}
	return nil
}

// Commit makes the set visible under OUT/name.
func (s *Set) Commit() error {
	if s.done {
		return errors.New("outdir: set already finished")
	}
	for _, f := range s.files {
		if err := f.Sync(); err != nil {
			s.Abort()
			return fmt.Errorf("outdir: sync %s: %w", filepath.Base(f.Name()), err)
		}
		if err := f.Close(); err != nil {
			s.Abort()
			return fmt.Errorf("outdir: close %s: %w", filepath.Base(f.Name()), err)
		}
	}
	s.files = nil
	if err := syncDir(s.tmp); err != nil {
		s.Abort()
		return err
	}
	final := filepath.Join(s.root, s.name)
	err := os.Rename(s.tmp, final)
	if err != nil && (errors.Is(err, os.ErrExist) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)) {
		// An older set exists: swap atomically, then remove the old one.
		if xerr := unix.Renameat2(unix.AT_FDCWD, s.tmp, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE); xerr != nil {
			s.Abort()
			return fmt.Errorf("outdir: replace %s: %w", s.name, xerr)
		}
		err = os.RemoveAll(s.tmp) // now holds the old set
	}
	if err != nil {
		s.Abort()
		return fmt.Errorf("outdir: publish %s: %w", s.name, err)
	}
	s.done = true
	return syncDir(s.root)
}

// Abort removes the temporary folder. It is safe to call after Commit (it does nothing then).
func (s *Set) Abort() {
	if s.done {
		return
	}
	for _, f := range s.files {
		f.Close()
	}
	s.files = nil
	os.RemoveAll(s.tmp)
	s.done = true
}

// WriteFileAtomic writes one file atomically (temp file in the same folder, fsync, rename, fsync
// folder), 0600.
func WriteFileAtomic(path string, data []byte) error {
	if err := fsutil.WriteFileAtomic(path, data); err != nil {
		return fmt.Errorf("outdir: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := fsutil.SyncDir(dir); err != nil {
		return fmt.Errorf("outdir: %w", err)
	}
	return nil
}
