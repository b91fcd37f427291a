package fastxlsx

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/workbook"
)

// Benchmarks (issue 6): both readers on generated workbooks of 10k, 100k and 1M rows x 11
// columns (fixturegen.WriteBench, sheet Vaksinasjoner) in inline-string and shared-string
// form, cached in <repo>/.bench (gitignored). Reported per run: ns/row, rows/s, and x-unzip,
// the ratio to `unzip -p FILE xl/worksheets/sheet1.xml > /dev/null` timed in the same run.
// excelize on 1M rows takes minutes; set FASTXLSX_BENCH_EXCELIZE_1M=1 to include it. Peak RSS
// needs a process of its own: see cmd/fastxlsx-bench and scripts/bench.sh.

var benchSizes = []int{10_000, 100_000, 1_000_000}

// benchFile returns the cached bench workbook, generating it on first use.
func benchFile(b *testing.B, n int, form fixturegen.BenchForm) string {
	b.Helper()
	dir, err := filepath.Abs("../../../.bench")
	if err != nil {
		b.Fatal(err)
	}
	path, err := fixturegen.BenchFile(dir, n, form)
	if err != nil {
		b.Fatal(err)
	}
	return path
}

var unzipTimes sync.Map

// unzipTime times `unzip -p` of the sheet (best of 3), once per file and run; 0 without unzip.
func unzipTime(b *testing.B, path string) time.Duration {
	if v, ok := unzipTimes.Load(path); ok {
		return v.(time.Duration)
	}
	if _, err := exec.LookPath("unzip"); err != nil {
		b.Log("unzip not installed (apt-get install -y unzip): no x-unzip ratio")
		return 0
	}
	best := time.Duration(0)
	for i := 0; i < 3; i++ {
		cmd := exec.Command("unzip", "-p", path, "xl/worksheets/sheet1.xml")
		start := time.Now()
		if err := cmd.Run(); err != nil { // stdout nil = /dev/null
			b.Fatal(err)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	unzipTimes.Store(path, best)
	return best
}

func readRows(b *testing.B, open func(ctx context.Context, f *os.File, size int64) (workbook.Book, error), path string) int {
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	book, err := open(ctx, f, st.Size())
	if err != nil {
		b.Fatal(err)
	}
	defer book.Close()
	it, err := book.Rows(ctx, "Vaksinasjoner")
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n += len(it.Cells()) / len(it.Cells()) // touch the cells
	}
	if it.Err() != nil {
		b.Fatal(it.Err())
	}
	return n
}

func BenchmarkRead(b *testing.B) {
	readers := []struct {
		name string
		open func(ctx context.Context, f *os.File, size int64) (workbook.Book, error)
	}{
		{"fastxlsx", func(ctx context.Context, f *os.File, size int64) (workbook.Book, error) {
			return Open(ctx, f, size, Options{})
		}},
		{"excelize", func(ctx context.Context, f *os.File, size int64) (workbook.Book, error) {
			return workbook.OpenExcelize(ctx, f, size, workbook.Options{})
		}},
	}
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchSST, fixturegen.BenchInline} {
		for _, n := range benchSizes {
			for _, rd := range readers {
				name := fmt.Sprintf("%s/%s/%dk", rd.name, form, n/1000)
				b.Run(name, func(b *testing.B) {
					if n >= 1_000_000 && rd.name == "excelize" && os.Getenv("FASTXLSX_BENCH_EXCELIZE_1M") == "" {
						b.Skip("set FASTXLSX_BENCH_EXCELIZE_1M=1 (takes minutes)")
					}
					if testing.Short() && n > 10_000 {
						b.Skip("-short")
					}
					path := benchFile(b, n, form)
					uz := unzipTime(b, path)
					b.ReportAllocs()
					b.ResetTimer()
					rows := 0
					for i := 0; i < b.N; i++ {
						rows = readRows(b, rd.open, path)
					}
					b.StopTimer()
					perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
					b.ReportMetric(perOp/float64(rows), "ns/row")
					b.ReportMetric(float64(rows)/(perOp/1e9), "rows/s")
					if uz > 0 {
						b.ReportMetric(perOp/float64(uz.Nanoseconds()), "x-unzip")
					}
				})
			}
		}
	}
}
