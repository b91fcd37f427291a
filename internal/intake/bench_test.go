package intake_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/importer/report"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/pgtest"
	"github.com/fhi/sysvak-import/internal/state"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/internal/state/pgstate"
	"github.com/fhi/sysvak-import/validate"
)

// BenchmarkImport is `import` through the intake service on both state backends (issue 16):
// one op imports every file of a shape into a fresh state and out folder. "1x100k" is one
// workbook of 100,000 rows, "500x100" 500 workbooks of 100 rows. PostgreSQL runs with fsync on,
// as in production, on a throw-away cluster on loopback.
func BenchmarkImport(b *testing.B) {
	dir, err := filepath.Abs("../../.bench")
	if err != nil {
		b.Fatal(err)
	}
	big, err := fixturegen.BenchFile(dir, 100_000, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	small, err := fixturegen.BenchSmallFiles(dir, 500, 100, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	cluster := pgtest.New(b, pgtest.Options{Durable: true}) // one for the whole benchmark, removed at its end
	backends := []struct {
		name string
		open func(b *testing.B) state.Store
	}{
		{"folder", func(b *testing.B) state.Store {
			st, err := folder.Open(context.Background(), b.TempDir(), folder.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
		{"postgres", func(b *testing.B) state.Store {
			name, err := cluster.CreateDatabase(context.Background(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			st, err := pgstate.Open(context.Background(), cluster.DSN(name), pgstate.Options{TempDir: b.TempDir(), PasswordDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	opts, err := importer.Options{Lang: "nb", Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: 11, Day: 23}}}.Prepare()
	if err != nil {
		b.Fatal(err)
	}
	for _, shape := range []struct {
		name  string
		paths []string
		rows  int
	}{{"1x100k", []string{big}, 100_000}, {"500x100", small, 100}} {
		for _, be := range backends {
			b.Run(shape.name+"/"+be.name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					st := be.open(b)
					svc := intake.New(st, intake.Config{OutDir: b.TempDir(), Opts: opts, Log: zerolog.Nop()})
					b.StartTimer()
					importAll(b, svc, shape.paths, shape.rows)
					b.StopTimer()
					st.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			})
		}
	}
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
