package fastxlsx

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/fhi/sysvak-import/importer/workbook"
)

// FuzzDifferential wraps fuzzed sheet XML (and a fuzzed shared-strings part) into a minimal
// workbook zip and requires that fastxlsx either fails (ErrUnsupported or a limit error) or
// yields exactly excelize's rows; rows returned before an ErrUnsupported in mid-sheet must be a
// prefix of excelize's. Seeds: every case of diffCases (run as ordinary tests by go test).
func FuzzDifferential(f *testing.F) {
	cases := diffCases()
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := cases[n]
		sst := c.sst
		if sst == "" {
			sst = testSST
		}
		f.Add([]byte(c.sheet), []byte(sst))
	}
	f.Fuzz(func(t *testing.T, sheet, sst []byte) {
		if len(sheet) > 1<<16 || len(sst) > 1<<16 {
			return
		}
		data := wbSpec{sheet: string(sheet), sst: string(sst)}.zip(t)
		compareBooks(t, "fuzz", data)
	})
}

// FuzzScanner feeds arbitrary bytes to the row scanner directly (no zip, no reference):
// it must never panic, never loop, and either end cleanly or report an error.
func FuzzScanner(f *testing.F) {
	for _, c := range diffCases() {
		f.Add([]byte(c.sheet))
	}
	f.Add([]byte("<worksheet xmlns=\"" + nsMain + "\"><sheetData><row><c><v>&#x110000;</v></c></row></sheetData></worksheet>"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tbl, _ := parseSST(bytesScanner([]byte(testSST)), DefaultMaxSharedStrings)
		it := &rowIter{ctx: context.Background(), s: bytesScanner(doc), sst: tbl, maxRows: workbook.DefaultMaxRows}
		if err := it.start(); err != nil {
			return
		}
		rows := 0
		for it.Next() {
			rows++
			if it.Num() <= 0 || len(it.Cells()) == 0 {
				t.Fatalf("row %d with %d cells", it.Num(), len(it.Cells()))
			}
		}
		if err := it.Err(); err != nil && !errors.Is(err, ErrUnsupported) && workbook.CodeOf(err) == "" {
			t.Fatalf("unclassified error: %v", err)
		}
		// The SST parser must not panic on the same bytes either.
		_, _ = parseSST(bytesScanner(doc), 1<<20)
	})
}
