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
	"sync"
	"time"

	"github.com/fhi/sysvak-import/internal/fsutil"
	"golang.org/x/sys/unix"
)

const tmpPrefix = ".tmp-"

// Set is an output set being written. Create files with Create, then Commit or Abort.
type Set struct {
	root   string // the OUT folder
	name   string // the final folder name (a file id)
	tmp    string
	files  []*os.File
	closed []string // files closed by Close before being synced
	synced bool     // SyncAll made the files and the folder durable
	done   bool
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
	return begin(root, name, stale)
}

// Stale lists the temporary folders of earlier crashed runs in OUT by set name (one read of
// the folder), for BeginListed.
func Stale(root string) (map[string][]string, error) {
	ents, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("outdir: list output folder: %w", err)
	}
	out := map[string][]string{}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), tmpPrefix)
		if i := strings.LastIndexByte(rest, '-'); ok && i > 0 {
			out[rest[:i]] = append(out[rest[:i]], filepath.Join(root, e.Name()))
		}
	}
	return out, nil
}

// BeginListed is Begin with the stale temporary folders already listed by Stale (a batch of
// many sets reads the OUT folder once, not once per set).
func BeginListed(root, name string, stale map[string][]string) (*Set, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("outdir: bad set name %q", name)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("outdir: create output folder: %w", err)
	}
	return begin(root, name, stale[name])
}

// staleAge is how old a temporary folder must be before it counts as left by a crashed run.
// Younger ones may belong to another process writing the same set right now (several pollers on
// one PostgreSQL state share OUT, and one may rewrite the outputs of a file another has just
// recorded): removing those would break that process's commit.
const staleAge = 15 * time.Minute

func begin(root, name string, stale []string) (*Set, error) {
	for _, s := range stale {
		if fi, err := os.Stat(s); err == nil && time.Since(fi.ModTime()) > staleAge {
			os.RemoveAll(s)
		}
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
func (s *Set) Commit() error { return CommitAll([]*Set{s}) }

// Close closes the set's files without syncing them (SyncAll opens them again to sync): a
// batch of many sets does not hold three descriptors per set until its commit.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("outdir: close %s: %w", filepath.Base(f.Name()), err))
		}
		s.closed = append(s.closed, filepath.Base(f.Name()))
	}
	s.files = nil
	return errors.Join(errs...)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("outdir: sync %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("outdir: sync %s: %w", filepath.Base(path), err)
	}
	return nil
}

// syncFiles makes the set's files and temporary folder durable and closes the files.
func (s *Set) syncFiles() error {
	if s.done {
		return errors.New("outdir: set already finished")
	}
	for _, f := range s.files {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("outdir: sync %s: %w", filepath.Base(f.Name()), err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("outdir: close %s: %w", filepath.Base(f.Name()), err)
		}
	}
	s.files = nil
	for _, name := range s.closed {
		if err := syncFile(filepath.Join(s.tmp, name)); err != nil {
			return err
		}
	}
	s.closed = nil
	if err := syncDir(s.tmp); err != nil {
		return err
	}
	s.synced = true
	return nil
}

// publish renames the durable temporary folder into place (or exchanges it with an older set).
func (s *Set) publish() error {
	final := filepath.Join(s.root, s.name)
	err := os.Rename(s.tmp, final)
	if err != nil && (errors.Is(err, os.ErrExist) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)) {
		// An older set exists: swap atomically, then remove the old one.
		if xerr := unix.Renameat2(unix.AT_FDCWD, s.tmp, unix.AT_FDCWD, final, unix.RENAME_EXCHANGE); xerr != nil {
			return fmt.Errorf("outdir: replace %s: %w", s.name, xerr)
		}
		err = os.RemoveAll(s.tmp) // now holds the old set
	}
	if err != nil {
		return fmt.Errorf("outdir: publish %s: %w", s.name, err)
	}
	s.done = true
	return nil
}

// syncParallel is how many sets SyncAll makes durable at once: the file system joins fsyncs
// that wait at the same time into one journal commit (issue 17: a batch of small files).
const syncParallel = 16

// CommitAll makes several sets visible, each atomically as Commit does: every set's files and
// folder are made durable (SyncAll) before any set is renamed into place (Publish), and each
// OUT folder is synced once at the end (SyncRoots). On an error, the sets not yet published are
// removed; those published stay.
func CommitAll(sets []*Set) error {
	if err := SyncAll(sets); err != nil {
		return err
	}
	for _, s := range sets {
		if err := s.Publish(); err != nil {
			abortAll(sets)
			return err
		}
	}
	return SyncRoots(sets)
}

// SyncAll makes the sets' files and temporary folders durable and closes the files, several
// sets at a time. On an error every set is aborted.
func SyncAll(sets []*Set) error {
	if len(sets) > 1 {
		return syncFS(sets)
	}
	errs := make([]error, len(sets))
	sem := make(chan struct{}, syncParallel)
	var wg sync.WaitGroup
	for i, s := range sets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.syncFiles()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		abortAll(sets)
		return err
	}
	return nil
}

// Publish renames a set made durable by SyncAll into place (or exchanges it with an older
// set). The OUT folder is synced by SyncRoots.
func (s *Set) Publish() error {
	if !s.synced || s.done {
		return errors.New("outdir: set not synced, or already finished")
	}
	if err := s.publish(); err != nil {
		s.Abort()
		return err
	}
	return nil
}

// SyncRoots syncs the OUT folder of each set once.
func SyncRoots(sets []*Set) error {
	roots := map[string]bool{}
	for _, s := range sets {
		if !roots[s.root] {
			roots[s.root] = true
			if err := syncDir(s.root); err != nil {
				return err
			}
		}
	}
	return nil
}

func abortAll(sets []*Set) {
	for _, s := range sets {
		s.Abort()
	}
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

// syncFS makes many sets durable with one syncfs(2) of their file system instead of four fsyncs
// a set (issue 17: 500 small files cost 2,000 fsyncs and the opens to do them). syncfs writes
// out every dirty page and inode of the file system, so the sets' files and folder entries are
// as durable after it as after fsyncing each, and it reports write-back errors (Linux >= 5.8).
func syncFS(sets []*Set) error {
	for _, s := range sets {
		if err := s.Close(); err != nil {
			abortAll(sets)
			return err
		}
	}
	d, err := os.Open(sets[0].root)
	if err != nil {
		abortAll(sets)
		return err
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		abortAll(sets)
		return fmt.Errorf("outdir: syncfs: %w", err)
	}
	for _, s := range sets {
		s.closed = nil
		s.synced = true
	}
	return nil
}
