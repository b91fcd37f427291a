package importer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// Per-file overhead (issue 17): the mailbox's daily shape is many small files. This benchmark
// reads the same 50,000 rows as 500 files of 100 rows and as one file, so ns/row of the two can
// be compared directly (make bench prints the end-to-end ratios of the built binary; the import
// side is internal/intake's BenchmarkImportSmallFiles).

const (
	smallFiles   = 500
	smallRows    = 100
	smallBigRows = smallFiles * smallRows
)

func benchSmallPaths(b *testing.B) (small []string, big string) {
	b.Helper()
	dir, err := filepath.Abs("../.bench")
	if err != nil {
		b.Fatal(err)
	}
	small, err = fixturegen.BenchSmallFiles(dir, smallFiles, smallRows, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	big, err = fixturegen.BenchFile(dir, smallBigRows, fixturegen.BenchSST)
	if err != nil {
		b.Fatal(err)
	}
	return small, big
}

// BenchmarkValidateSmallFiles validates 500 files of 100 rows (one op) and, as the yardstick,
// one file with the same 50,000 rows.
func BenchmarkValidateSmallFiles(b *testing.B) {
	small, big := benchSmallPaths(b)
	for _, c := range []struct {
		name  string
		paths []string
		rows  int
	}{{"500x100", small, smallRows}, {"1x50000", []string{big}, smallBigRows}} {
		b.Run(c.name, func(b *testing.B) {
			o, err := testOptions(zerolog.Nop()).Prepare() // once per run, as the commands do
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range c.paths {
					rep, err := Validate(context.Background(), Input{Path: p, Name: filepath.Base(p)}, o)
					if err != nil {
						b.Fatal(err)
					}
					if rep.Stats.Registered != c.rows {
						b.Fatalf("%s: registered %d, want %d", p, rep.Stats.Registered, c.rows)
					}
				}
			}
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perOp/smallBigRows, "ns/row")
			b.ReportMetric(perOp/float64(len(c.paths)), "ns/file")
		})
	}
}
