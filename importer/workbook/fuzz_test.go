package workbook

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
)

// FuzzOpen feeds mutated workbooks to OpenExcelize + OpenSheet + the row loop: no panic, and
// every error is a *workbook.Error (the caller turns it into a file-level finding). Seeds: the
// fixtures and a few in-test workbooks; they run as normal tests.
func FuzzOpen(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.xlsx"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		var buf bytes.Buffer
		if err := fixturegen.WriteBench(&buf, 5, form); err == nil {
			f.Add(buf.Bytes())
		}
	}
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		// Small limits keep each run fast and exercise the limit paths.
		o := Options{UnzipSizeLimit: 8 << 20, UnzipXMLSizeLimit: 4096, TmpDir: t.TempDir(), MaxRows: 5000}
		b, err := OpenExcelize(ctx, bytes.NewReader(data), int64(len(data)), o)
		if err != nil {
			assertWorkbookError(t, err)
			return
		}
		defer func() {
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
		s, err := OpenSheet(ctx, b, ReadOptions{})
		if err != nil {
			assertWorkbookError(t, err)
			return
		}
		defer s.Close()
		for s.Next() {
			if s.Row().Num <= s.Header().Row {
				t.Fatalf("data row %d not below header row %d", s.Row().Num, s.Header().Row)
			}
		}
		if err := s.Err(); err != nil {
			assertWorkbookError(t, err)
		}
	})
}

func assertWorkbookError(t *testing.T, err error) {
	t.Helper()
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("error is %T, not *workbook.Error: %v", err, err)
	}
	if we.Code == "" {
		t.Fatalf("error without code: %v", err)
	}
}
