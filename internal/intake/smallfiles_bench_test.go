package intake_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/state/folder"
)

// BenchmarkImportSmallFiles is issue 17's per-file overhead of `import`: 500 files of 100 rows
// (one op, into a fresh folder state and out folder, through ImportPaths as the command does)
// against one file of the same 50,000 rows, so that ns/row of the two compare directly (make
// bench prints the end-to-end ratio of the built binary).
func BenchmarkImportSmallFiles(b *testing.B) {
	dir, err := filepath.Abs("../../.bench")
	if err != nil {
		b.Fatal(err)
	}
	small, err := fixturegen.BenchSmallFiles(dir, 500, 100, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	big, err := fixturegen.BenchFile(dir, 50_000, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := testOpts().Prepare() // once per run, as the commands do
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		paths []string
		rows  int
	}{{"500x100", small, 100}, {"1x50000", []string{big}, 50_000}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				st, err := folder.Open(context.Background(), b.TempDir(), folder.Options{})
				if err != nil {
					b.Fatal(err)
				}
				svc := intake.New(st, intake.Config{OutDir: b.TempDir(), Opts: opts, Log: zerolog.Nop()})
				b.StartTimer()
				importAll(b, svc, c.paths, c.rows)
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp/50_000, "ns/row")
			b.ReportMetric(perOp/float64(len(c.paths)), "ns/file")
		})
	}
}
