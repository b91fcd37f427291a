package fastxlsx

import (
	"context"
	"errors"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/importer/workbook"
)

// FuzzDifferential wraps fuzzed sheet XML (and a fuzzed shared-strings part) into a minimal
// workbook zip and requires that fastxlsx either fails (ErrUnsupported or a limit error) or
// yields exactly excelize's rows; rows returned before an ErrUnsupported in mid-sheet must be a
// prefix of excelize's. Seeds: every case of diffCases (run as ordinary tests by go test).
//
// Both readers run with MaxRows = fuzzMaxRows, so that a mutated row number costs nothing;
// beyond it both must report file.too_large after the same rows.
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
		compareBooksMax(t, "fuzz", data, fuzzMaxRows)
	})
}

const fuzzMaxRows = 64

// FuzzScanner feeds arbitrary bytes to the row scanner directly (no zip, no reference): it
// must never panic, never loop, and either end cleanly or report a classified error. The same
// bytes are also fed in small chunks (1 to 13 bytes, as if every token straddled the pipe's
// chunk boundaries), in reuse mode (ReuseRowMemory): rows, values and error class must not
// change. The shared-strings parser gets the same treatment.
func FuzzScanner(f *testing.F) {
	for _, c := range diffCases() {
		f.Add([]byte(c.sheet))
	}
	f.Add([]byte("<worksheet xmlns=\"" + nsMain + "\"><sheetData><row><c><v>&#x110000;</v></c></row></sheetData></worksheet>"))
	f.Add([]byte(testSST))
	f.Fuzz(func(t *testing.T, doc []byte) {
		whole := scanRows(t, bytesScanner(doc), false)
		chunked := scanRows(t, chunkScanner(doc, 1+len(doc)%13), true)
		if !reflect.DeepEqual(whole, chunked) {
			t.Fatalf("in one piece and in chunks the scanner reads differently:\nwhole   %+v\nchunked %+v", whole, chunked)
		}
		a, errA := parseSST(bytesScanner(doc), 1<<20, int64(len(doc)))
		b, errB := parseSST(chunkScanner(doc, 1+len(doc)%7), 1<<20, 0)
		if (errA == nil) != (errB == nil) || errA == nil && !reflect.DeepEqual(a, b) {
			t.Fatalf("shared strings differ in chunks: %v / %v", errA, errB)
		}
	})
}

type scanned struct {
	Rows   []gotRow
	Err    string
	Failed bool
}

func scanRows(t *testing.T, s *scanner, reuse bool) scanned {
	tbl, err := parseSST(bytesScanner([]byte(testSST)), DefaultMaxSharedStrings, 0)
	if err != nil {
		t.Fatal(err)
	}
	it := &rowIter{ctx: context.Background(), s: s, sst: tbl, maxRows: workbook.DefaultMaxRows, reuse: reuse}
	var out scanned
	if err := it.start(); err != nil {
		return scanned{Err: errClass(err), Failed: true}
	}
	for it.Next() {
		if it.Num() <= 0 || len(it.Cells()) == 0 {
			t.Fatalf("row %d with %d cells", it.Num(), len(it.Cells()))
		}
		r := gotRow{Num: it.Num()}
		for _, c := range it.Cells() {
			r.Values = append(r.Values, strings.Clone(c.Value))
		}
		out.Rows = append(out.Rows, r)
	}
	if err := it.Err(); err != nil {
		if !errors.Is(err, ErrUnsupported) && workbook.CodeOf(err) == "" {
			t.Fatalf("unclassified error: %v", err)
		}
		out.Err = errClass(err)
	}
	return out
}

func errClass(err error) string {
	if errors.Is(err, ErrUnsupported) {
		return "unsupported"
	}
	return string(workbook.CodeOf(err))
}

// chunkScanner scans b handed over n bytes at a time.
func chunkScanner(b []byte, n int) *scanner {
	return newScanner(func() ([]byte, error) {
		if len(b) <= n {
			c := b
			b = nil
			return c, io.EOF
		}
		c := b[:n]
		b = b[n:]
		return c, nil
	}, nil)
}
