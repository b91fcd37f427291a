package intake_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
)

// The import benchmarks run `import` as the command does: intake.ImportPaths (a group commit)
// into a fresh state and out folder per op, on the bench workbooks of fixturegen (cached in
// .bench/).

// benchFiles returns n bench workbooks of rows rows each (one path when n is 1).
func benchFiles(b *testing.B, n, rows int) []string {
	b.Helper()
	dir, err := filepath.Abs("../../.bench")
	if err != nil {
		b.Fatal(err)
	}
	if n == 1 {
		p, err := fixturegen.BenchFile(dir, rows, fixturegen.BenchSST)
		if err != nil {
			b.Fatal(err)
		}
		return []string{p}
	}
	paths, err := fixturegen.BenchSmallFiles(dir, n, rows, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	return paths
}

// opener opens a fresh, empty state for one op.
type opener func(b *testing.B) state.Store

func freshFolder(b *testing.B) state.Store {
	st, err := folder.Open(context.Background(), b.TempDir(), folder.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// freshPostgres opens a fresh database of cluster (fsync on, as in production).
func freshPostgres(cluster *pgtest.Cluster) opener {
	return func(b *testing.B) state.Store {
		name, err := cluster.CreateDatabase(context.Background(), "bench")
		if err != nil {
			b.Fatal(err)
		}
		st, err := pgstate.Open(context.Background(), cluster.DSN(name), pgstate.Options{TempDir: b.TempDir(), PasswordDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
}

// benchImport imports paths per op into a fresh state from open; rows is each file's row count.
func benchImport(b *testing.B, open opener, paths []string, rows int) {
	opts, err := testOpts().Prepare() // once per run, as the commands do
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		st := open(b)
		svc := intake.New(st, intake.Config{OutDir: b.TempDir(), Opts: opts, Log: zerolog.Nop()})
		b.StartTimer()
		importAll(b, svc, paths, rows)
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e6, "ms/op")
	b.ReportMetric(perOp/float64(len(paths)*rows), "ns/row")
	b.ReportMetric(perOp/float64(len(paths)), "ns/file")
}

// BenchmarkImport compares the state backends (issue 16: PostgreSQL at most 2x the folder state
// on 500 small files): one workbook of 100,000 rows, and 500 workbooks of 100 rows.
func BenchmarkImport(b *testing.B) {
	big, small := benchFiles(b, 1, 100_000), benchFiles(b, 500, 100)
	cluster := pgtest.New(b, pgtest.Options{Durable: true}) // one for the whole benchmark
	for _, shape := range []struct {
		name  string
		paths []string
		rows  int
	}{{"1x100k", big, 100_000}, {"500x100", small, 100}} {
		for _, be := range []struct {
			name string
			open opener
		}{{"folder", freshFolder}, {"postgres", freshPostgres(cluster)}} {
			b.Run(shape.name+"/"+be.name, func(b *testing.B) { benchImport(b, be.open, shape.paths, shape.rows) })
		}
	}
}

// BenchmarkImportSmallFiles is issue 17's per-file overhead of `import`: 500 files of 100 rows
// against one file of the same 50,000 rows (ns/row of the two compare directly; make bench
// prints the end-to-end ratio of the built binary).
func BenchmarkImportSmallFiles(b *testing.B) {
	b.Run("500x100", func(b *testing.B) { benchImport(b, freshFolder, benchFiles(b, 500, 100), 100) })
	b.Run("1x50000", func(b *testing.B) { benchImport(b, freshFolder, benchFiles(b, 1, 50_000), 50_000) })
}

// BenchmarkIntakeImport1M imports the 1M-row workbook, to profile the production path
// (issue 17: import at most 2x validate's time, at most 150 MB). -short skips it.
func BenchmarkIntakeImport1M(b *testing.B) {
	if testing.Short() {
		b.Skip("-short")
	}
	benchImport(b, freshFolder, benchFiles(b, 1, 1_000_000), 1_000_000)
}

// importAll imports paths as `import` does (ImportPaths: a group commit) and checks every row
// was registered.
func importAll(b *testing.B, svc *intake.Service, paths []string, rows int) {
	n := 0
	err := svc.ImportPaths(context.Background(), paths, nil, time.Now(), intake.PathHooks{Report: func(p string, rep *report.Report) error {
		n++
		if rep.Stats.Registered != rows {
			b.Fatalf("%s: registered %d, want %d", filepath.Base(p), rep.Stats.Registered, rows)
		}
		return nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	if n != len(paths) {
		b.Fatalf("%d reports for %d files", n, len(paths))
	}
}
