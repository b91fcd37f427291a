package fastxlsx

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/workbook"
)

// readBenchRows reads the first sheet of data; with reuse it calls ReuseRowMemory after the
// first row (as the pipeline does after the header) and copies every value before Next.
func readBenchRows(t testing.TB, data []byte, reuse bool) (rows [][]string, first string) {
	t.Helper()
	ctx := context.Background()
	b, err := OpenWithFallback(ctx, bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	it, err := b.Rows(ctx, b.Sheets()[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var firstCells []workbook.Cell
	for it.Next() {
		if firstCells == nil {
			firstCells = append([]workbook.Cell(nil), it.Cells()...)
			if reuse {
				ReuseRowMemory(b)
			}
		}
		var r []string
		for _, c := range it.Cells() {
			r = append(r, strings.Clone(c.Value))
		}
		rows = append(rows, r)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, firstCells[0].Value + "|" + firstCells[len(firstCells)-1].Value
}

// TestReuseRowMemory: with ReuseRowMemory the rows read are the same, values returned before
// the call stay intact, and reading allocates nothing per row.
func TestReuseRowMemory(t *testing.T) {
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		t.Run(string(form), func(t *testing.T) {
			small, large := benchBytes(t, 1000, form), benchBytes(t, 4000, form)
			want, wantFirst := readBenchRows(t, large, false)
			got, gotFirst := readBenchRows(t, large, true)
			if !reflect.DeepEqual(got, want) {
				t.Fatal("rows differ with ReuseRowMemory")
			}
			if gotFirst != wantFirst || !strings.HasPrefix(gotFirst, "Fødselsnummer|") {
				t.Errorf("the header row read before ReuseRowMemory changed: %q, want %q", gotFirst, wantFirst)
			}
			// Allocations grow with the file without reuse (one string per row), not with it.
			count := func(data []byte, reuse bool) float64 {
				return testing.AllocsPerRun(3, func() { countRows(t, data, reuse) })
			}
			perRow := func(reuse bool) float64 { return (count(large, reuse) - count(small, reuse)) / 3000 }
			if r := perRow(false); r < 0.9 {
				t.Errorf("without reuse %.2f allocations per row; the test no longer measures anything", r)
			}
			// What is left grows with the data, not the rows: the shared-strings table (one
			// name per row in the SST form) and compress/flate's tables per deflate block.
			if r := perRow(true); r > 0.05 {
				t.Errorf("with ReuseRowMemory %.3f allocations per row, want none", r)
			}
		})
	}
}

func benchBytes(t testing.TB, n int, form fixturegen.BenchForm) []byte {
	var buf bytes.Buffer
	if err := fixturegen.WriteBench(&buf, n, form); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func countRows(t testing.TB, data []byte, reuse bool) int {
	ctx := context.Background()
	b, err := Open(ctx, bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if reuse {
		ReuseRowMemory(b)
	}
	it, err := b.Rows(ctx, b.Sheets()[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n += len(it.Cells())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
