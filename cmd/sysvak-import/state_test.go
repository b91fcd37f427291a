package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fhi/sysvak-import/internal/pgtest"
)

// pg is one throw-away PostgreSQL cluster for this test binary (a database per test).
var pg pgtest.Shared

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		runAsCLI()
	}
	os.Exit(pg.Run(m))
}

// A folder state filled by real imports moves into PostgreSQL with state export / state import,
// and state check finds both consistent (exit 0); a damaged PostgreSQL state is inconsistent
// (exit 1); an unreachable one cannot be read (exit 4); import refuses a folder as target.
func TestStateExportImportCheck(t *testing.T) {
	dir := t.TempDir()
	st, out, dump := filepath.Join(dir, "state"), filepath.Join(dir, "out"), filepath.Join(dir, "dump.jsonl")
	r := runCLI(t, nil, "import", "--state", st, "--out", out, "--as-of", "2026-11-23",
		fixtures+"clean.xlsx", fixtures+"duplicates.xlsx", fixtures+"row-errors.xlsx")
	if r.code != exitRowsRejects {
		t.Fatalf("import: exit %d: %s", r.code, r.stderr)
	}
	if r = runCLI(t, nil, "state", "check", "--state", st, "--out", out); r.code != exitOK {
		t.Fatalf("check of the folder state: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = runCLI(t, nil, "state", "export", "--state", st, "--out", out, dump); r.code != exitOK {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(dump); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dump: %v %v", fi, err)
	}
	if r = runCLI(t, nil, "state", "export", "--state", st, "--out", out, dump); r.code != exitUsage {
		t.Fatalf("export over an existing file: exit %d", r.code)
	}
	url := pg.Database(t)
	if r = runCLI(t, nil, "state", "import", "--state", url, dump); r.code != exitOK {
		t.Fatalf("import into PostgreSQL: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "imported") || strings.Contains(r.stderr, pg.Cluster(t).Password()) {
		t.Fatalf("import said: %s", r.stderr)
	}
	if r = runCLI(t, nil, "state", "check", "--state", url, "--format", "json"); r.code != exitOK || !strings.Contains(r.stdout, `"consistent": true`) {
		t.Fatalf("check of the PostgreSQL state: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM records").Scan(&n); err != nil || n == 0 {
		t.Fatalf("records table: %d %v", n, err)
	}
	if _, err := conn.Exec(context.Background(), "DELETE FROM records WHERE row_no = (SELECT min(row_no) FROM records)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	r = runCLI(t, nil, "state", "check", "--state", url)
	if r.code != exitRowsRejects || !strings.Contains(r.stdout, "ledger_without_record") {
		t.Fatalf("check of a damaged state: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "person_id") {
		t.Fatalf("check output shows record contents: %s", r.stdout)
	}
	if r = runCLI(t, nil, "state", "check", "--state", "postgres://u:Pw0rdSecret@127.0.0.1:1/x?connect_timeout=2"); r.code != exitOperational || strings.Contains(r.stderr, "Pw0rdSecret") {
		t.Fatalf("unreachable: exit %d: %s", r.code, r.stderr)
	}
	if r = runCLI(t, nil, "state", "import", "--state", st, dump); r.code != exitUsage {
		t.Fatalf("import into a folder: exit %d", r.code)
	}
}
