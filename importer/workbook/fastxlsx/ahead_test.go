package fastxlsx

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/fixtures/fixturegen"
	"github.com/fhi/sysvak-import/importer/workbook"
)

type readOut struct {
	rows   []string // "num: v1|v2|..." (formula without value as "=")
	header string
	err    string
	ahead  bool
}

// readAhead reads the first sheet as the pipeline does (ReuseRowMemory after the first row),
// with reading ahead from every part size (ahead) or from none.
func readAhead(t *testing.T, data []byte, o Options, ahead bool, stopAfter int) readOut {
	t.Helper()
	ctx := context.Background()
	wb, err := Open(ctx, bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	b := wb.(*book)
	b.aheadFrom = 1 << 62
	if ahead {
		b.aheadFrom = 0
	}
	it, err := b.Rows(ctx, b.Sheets()[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	var out readOut
	_, out.ahead = it.(*aheadIter)
	var header []workbook.Cell
	for it.Next() {
		if header == nil {
			header = append([]workbook.Cell(nil), it.Cells()...)
			ReuseRowMemory(b)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d:", it.Num())
		for _, c := range it.Cells() {
			sb.WriteString(c.Value)
			if c.FormulaNoValue {
				sb.WriteString("=")
			}
			sb.WriteString("|")
		}
		out.rows = append(out.rows, sb.String())
		if len(out.rows) == stopAfter {
			break
		}
	}
	if err := it.Err(); err != nil {
		out.err = err.Error()
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	out.header = header[0].Value + "|" + header[len(header)-1].Value
	return out
}

// TestAheadSameRows: reading ahead yields exactly the rows, numbers, cells and error of the
// plain iterator (several batches and a partial last one; both string forms; an error after
// some rows; Close in the middle), and the header row read before ReuseRowMemory stays intact.
func TestAheadSameRows(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Log("GOMAXPROCS 1: reading ahead is off in production, tested here anyway")
	}
	for _, form := range []fixturegen.BenchForm{fixturegen.BenchInline, fixturegen.BenchSST} {
		data := benchBytes(t, 3*aheadRows+77, form)
		for _, c := range []struct {
			name      string
			o         Options
			stopAfter int
		}{
			{"whole", Options{}, 0},
			{"too-many-rows", Options{Options: workbook.Options{MaxRows: aheadRows + 300}}, 0},
			{"closed-early", Options{}, aheadRows + 5},
		} {
			t.Run(string(form)+"/"+c.name, func(t *testing.T) {
				plain := readAhead(t, data, c.o, false, c.stopAfter)
				ahead := readAhead(t, data, c.o, true, c.stopAfter)
				if plain.ahead || !ahead.ahead {
					t.Fatalf("reading ahead: plain %v, ahead %v", plain.ahead, ahead.ahead)
				}
				if len(plain.rows) < aheadRows+5 {
					t.Fatalf("only %d rows read: the test reads less than two batches", len(plain.rows))
				}
				if !reflect.DeepEqual(ahead.rows, plain.rows) {
					t.Errorf("rows differ: %d ahead, %d plain", len(ahead.rows), len(plain.rows))
				}
				if ahead.err != plain.err || (c.name == "too-many-rows") != (plain.err != "") {
					t.Errorf("error %q ahead, %q plain", ahead.err, plain.err)
				}
				if ahead.header != plain.header || !strings.HasPrefix(ahead.header, "Fødselsnummer|") {
					t.Errorf("header row %q ahead, %q plain", ahead.header, plain.header)
				}
			})
		}
	}
}

// TestFastInflateSameRows: a big archive inflated by klauspost/compress reads exactly as with
// compress/flate, and a corrupt deflate stream is an error either way.
func TestFastInflateSameRows(t *testing.T) {
	data := benchBytes(t, 30_000, fixturegen.BenchSST)
	if len(data) < fastInflateFrom {
		t.Fatalf("the bench file has %d bytes, under fastInflateFrom: the test reads nothing new", len(data))
	}
	std := readAhead(t, data, Options{inflateFrom: -1}, true, 0)
	fast := readAhead(t, data, Options{}, true, 0)
	if !reflect.DeepEqual(fast, std) || len(fast.rows) != 30_001 || fast.err != "" {
		t.Fatalf("klauspost: %d rows, err %q; compress/flate: %d rows, err %q", len(fast.rows), fast.err, len(std.rows), std.err)
	}
	// Flip bytes in the middle of the sheet's compressed data.
	bad := bytes.Clone(data)
	i := bytes.Index(bad, []byte("xl/worksheets/sheet1.xml"))
	for j := i + 50_000; j < i+50_100; j++ {
		bad[j] ^= 0x5a
	}
	for _, o := range []Options{{inflateFrom: -1}, {}} {
		if out := readAhead(t, bad, o, true, 0); out.err == "" {
			t.Errorf("inflateFrom %d: a corrupt sheet read without error (%d rows)", o.inflateFrom, len(out.rows))
		}
	}
}
