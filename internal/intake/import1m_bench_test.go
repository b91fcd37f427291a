package intake_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer"
	"github.com/fhi/sysvak-import/internal/intake"
	"github.com/fhi/sysvak-import/internal/state/folder"
	"github.com/fhi/sysvak-import/validate"
)

// BenchmarkIntakeImport1M imports the 1M-row shared-strings bench workbook the way `import`
// does (intake over a fresh folder state), so that its CPU and heap can be profiled
// (issue 17: import at most 2x validate's time, at most 150 MB). -short skips it.
func BenchmarkIntakeImport1M(b *testing.B) {
	if testing.Short() {
		b.Skip("-short")
	}
	dir, err := filepath.Abs("../../.bench")
	if err != nil {
		b.Fatal(err)
	}
	path, err := fixturegen.BenchFile(dir, 1_000_000, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := importer.Options{Lang: "nb", Limits: importer.DefaultLimits(), Log: zerolog.Nop(),
		Check: validate.Options{Codes: validate.DefaultCodes(), AsOf: validate.Date{Year: 2026, Month: 11, Day: 23}}}.Prepare()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tmp := b.TempDir()
		st, err := folder.Open(ctx, filepath.Join(tmp, "state"), folder.Options{})
		if err != nil {
			b.Fatal(err)
		}
		svc := intake.New(st, intake.Config{OutDir: filepath.Join(tmp, "out"), Opts: opts, Log: zerolog.Nop()})
		b.StartTimer()
		rep, err := svc.ImportPath(ctx, path, nil, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if rep.Stats.Registered != 1_000_000 {
			b.Fatalf("registered %d", rep.Stats.Registered)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
