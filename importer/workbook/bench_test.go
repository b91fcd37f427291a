package workbook

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// BenchmarkExcelizeRows reads a generated 10,000-row workbook (fixturegen.WriteBench) from disk
// through OpenExcelize + OpenSheet + Next, in both string forms. ns/row and allocs are per
// data row.
func BenchmarkExcelizeRows(b *testing.B) {
	const rows = 10000
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		b.Run(string(form), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.xlsx")
			var buf bytes.Buffer
			if err := fixturegen.WriteBench(&buf, rows, form); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				b.Fatal(err)
			}
			tmp := b.TempDir()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				st, _ := f.Stat()
				ctx := context.Background()
				book, err := OpenExcelize(ctx, f, st.Size(), Options{TmpDir: tmp})
				if err != nil {
					b.Fatal(err)
				}
				s, err := OpenSheet(ctx, book, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for s.Next() {
					n++
				}
				if s.Err() != nil || n != rows {
					b.Fatalf("%d rows, %v", n, s.Err())
				}
				s.Close()
				book.Close()
				f.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
