package importer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// BenchmarkValidate runs Validate (unwrap, fastxlsx, header, Check, dedup; issue 6) over the
// generated bench workbooks of fixturegen.BenchFile (cached in <repo>/.bench): 10k, 100k and
// 1M valid rows x 11 columns, in inline-string and shared-string form. allocs/row is the
// number to watch: the row path allocates nothing per row or cell, so it stays near 0 and
// the allocations left are per file. End-to-end numbers for the built binary (wall time, peak
// RSS, ratio to unzip -p) come from `make bench` (scripts/bench.sh).
func BenchmarkValidate(b *testing.B) {
	dir, err := filepath.Abs("../.bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchSST, fixturegen.BenchInline} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%dk", form, n/1000), func(b *testing.B) {
				if testing.Short() && n > 10_000 {
					b.Skip("-short")
				}
				path, err := fixturegen.BenchFile(dir, n, form)
				if err != nil {
					b.Fatal(err)
				}
				o := testOptions(zerolog.Nop())
				in := Input{Path: path, Name: filepath.Base(path)}
				b.ReportAllocs()
				var allocs float64
				for b.Loop() {
					rep, err := Validate(context.Background(), in, o)
					if err != nil {
						b.Fatal(err)
					}
					if rep.Stats.Rows != n || rep.Stats.Registered != n {
						b.Fatalf("rows %d, registered %d, want %d: %+v", rep.Stats.Rows, rep.Stats.Registered, n, rep.Findings[:min(3, len(rep.Findings))])
					}
				}
				perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				b.ReportMetric(perOp/float64(n), "ns/row")
				b.ReportMetric(float64(n)/(perOp/1e9), "rows/s")
				_ = allocs
			})
		}
	}
}
