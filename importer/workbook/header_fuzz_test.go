package workbook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/fhi/sysvak-import/validate"
)

// FuzzHeader fuzzes header matching (SPEC 1.2, filimport-columns.md "Columns"): header cells
// are the fuzz input split at tabs, with a decoration (case, punctuation, spaces) applied to a
// known header. Properties:
//   - NormalizeHeader is idempotent and its result has no character the matching ignores;
//   - Lookup(s) equals Lookup(NormalizeHeader(s)): matching depends on the normal form only;
//   - a known header decorated with ignored characters still names its column;
//   - OpenSheet on the cells as a header row never panics, fails only with a *Error whose code
//     is a header code, and on success maps every column to a cell whose text names it.
func FuzzHeader(f *testing.F) {
	for _, spec := range validate.Layout() {
		f.Add(strings.Join(append([]string{spec.Header}, spec.Synonyms...), "\t"), uint8(0))
	}
	f.Add("Fødselsnummer\tVaksinasjonsdato\tVaksinekode\tFnr\tDato", uint8(3))
	f.Add(" SYSVAK-kode \tfnr\tVaksine_dato:\tdose nr.\tBATCH/LOT", uint8(7))
	f.Add("Gitt annet ste\u0064 p\u0041\u030a\t\ufeffNavn\u200b\tFødsels– eller D–nummer", uint8(11))
	f.Add("e\u200b\u0301\tA\u200d\u030a\t\u0130\u0307", uint8(200))
	m := DefaultMapping()
	layout := validate.Layout()
	f.Fuzz(func(t *testing.T, row string, pick uint8) {
		texts := strings.Split(row, "\t")
		if len(texts) > 64 {
			texts = texts[:64]
		}
		for _, s := range texts {
			n := NormalizeHeader(s)
			if nn := NormalizeHeader(n); nn != n {
				t.Fatalf("not idempotent: %q -> %q -> %q", s, n, nn)
			}
			for _, r := range n {
				if r == '-' || r == '_' || r == '.' || r == ':' || r == '/' || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || unicode.Is(unicode.Cf, r) {
					t.Fatalf("NormalizeHeader(%q) = %q keeps %q", s, n, r)
				}
			}
			c1, ok1 := m.Lookup(s)
			c2, ok2 := m.Lookup(n)
			if c1 != c2 || ok1 != ok2 {
				t.Fatalf("Lookup(%q) = %v,%v but Lookup of its normal form %q = %v,%v", s, c1, ok1, n, c2, ok2)
			}
		}
		// A known header, decorated with what matching ignores, still names its column.
		spec := layout[int(pick)%len(layout)]
		names := append([]string{spec.Header}, spec.Synonyms...)
		name := names[int(pick/16)%len(names)]
		deco := " \u00a0" + strings.ToUpper(name[:len(name)/2]) + "_-" + name[len(name)/2:] + ".:/\u200b\t"
		if isASCII(name) { // cut in the middle: only where that cannot split a rune
			if c, ok := m.Lookup(deco); !ok || c != spec.Column {
				t.Fatalf("decorated %q (%q) = %v,%v, want %v", name, deco, c, ok, spec.Column)
			}
		}

		book := &fakeBook{sheets: []SheetInfo{{Name: SheetName, Visible: true}},
			rows: map[string][]fakeRow{SheetName: {{num: 1, cells: cells(texts...)}, {num: 2, cells: cells(texts...)}}}}
		s, err := OpenSheet(context.Background(), book, ReadOptions{})
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error %T %v", err, err)
			}
			if we.Code != validate.FileHeaderNotFound && we.Code != validate.FileColumnMissing {
				t.Fatalf("unexpected code %s", we.Code)
			}
			return
		}
		defer s.Close()
		h := s.Header()
		mapped := 0
		for c := validate.Column(0); c < validate.NumColumns; c++ {
			i := h.Index[c]
			if i < 0 {
				continue
			}
			mapped++
			if got, ok := m.Lookup(texts[i]); !ok || got != c {
				t.Fatalf("column %s mapped to cell %d %q, which names %v,%v", c.Key(), i, texts[i], got, ok)
			}
		}
		nonEmpty := 0
		for _, s := range texts {
			if strings.TrimSpace(s) != "" {
				nonEmpty++
			}
		}
		if mapped+len(h.Unknown) != nonEmpty {
			t.Fatalf("%d mapped + %d unknown != %d non-empty header cells", mapped, len(h.Unknown), nonEmpty)
		}
	})
}
