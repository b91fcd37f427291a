package mailbox

import (
	"context"
	"os"
	"testing"

	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
)

// pg is this test binary's throw-away PostgreSQL cluster, started when a test first asks for a
// database.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// backend is a state backend the scenario suites run against (SPEC 8: the poller behaves the same
// on both).
type backend struct {
	name  string
	world func(t *testing.T) stateWorld
}

// stateWorld is one subtest's own empty state.
type stateWorld struct {
	open func(ctx context.Context) (state.Store, error) // a new handle, as another process would open it
	lock func() (func() error, error)                   // the poll lock; nil for PostgreSQL (claims share the work)
	dir  string                                         // a folder state's folder; "" for PostgreSQL
}

var folderBackend = backend{name: "folder", world: func(t *testing.T) stateWorld {
	dir := t.TempDir()
	return stateWorld{
		open: func(ctx context.Context) (state.Store, error) { return folder.Open(ctx, dir, folder.Options{}) },
		lock: func() (func() error, error) { return folder.LockPoll(dir) },
		dir:  dir,
	}
}}

var postgresBackend = backend{name: "postgres", world: func(t *testing.T) stateWorld {
	dsn, pw := pg.Database(t), t.TempDir()
	return stateWorld{open: func(ctx context.Context) (state.Store, error) {
		return pgstate.Open(ctx, dsn, pgstate.Options{PasswordDir: pw, TempDir: t.TempDir()})
	}}
}}

// forEachBackend runs a suite once per state backend.
func forEachBackend(t *testing.T, suite func(t *testing.T, b backend)) {
	for _, b := range []backend{folderBackend, postgresBackend} {
		t.Run(b.name, func(t *testing.T) { suite(t, b) })
	}
}

// inspect opens the subtest's state for assertions, between passes (a folder state takes one
// handle at a time). The caller closes it.
func (e *env) inspect() state.Store {
	e.t.Helper()
	st, err := e.sw.open(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// entries lists every file of the state.
func (e *env) entries() []state.File {
	e.t.Helper()
	st := e.inspect()
	defer st.Close()
	page, err := st.ListFiles(context.Background(), state.FileQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Files
}

// spooledBytes reads a spooled file's bytes through the state.
func (e *env) spooledBytes(st state.Store, id string) []byte {
	e.t.Helper()
	sp, err := st.OpenSpooled(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer sp.Close()
	data, err := os.ReadFile(sp.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	return data
}
