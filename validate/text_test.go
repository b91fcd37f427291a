package validate

import "testing"

// TestNormalizeText: SPEC 1.4 (trim, collapse runs, NBSP counts as space).
func TestNormalizeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"a b c", "a b c"},
		{"  a  b  ", "a b"},
		{"a\u00a0\u00a0b", "a b"},
		{"\u00a0a\u00a0", "a"},
		{"a\tb\nc\r\nd", "a b c d"},
		{"Ærlig  Øst", "Ærlig Øst"},
		{"a\u2007b", "a b"},
		{" ", ""},
		{"\u3000", ""},
		{"a ", "a"},
		{" a", "a"},
	} {
		if got := NormalizeText(tc.in); got != tc.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := textIsNormal(tc.in); got != (tc.in == tc.want) {
			t.Errorf("textIsNormal(%q) = %v", tc.in, got)
		}
	}
	for _, in := range []string{"Kari Nordmann", "AB 1234/5", "Ærlig Øst"} {
		if n := testing.AllocsPerRun(100, func() { _ = NormalizeText(in) }); n != 0 {
			t.Errorf("%q: %v allocs", in, n)
		}
	}
}

func TestTrimCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"", ""}, {" a b ", "a b"}, {"\u00a0x\t", "x"}, {"x", "x"}} {
		if got := TrimCell(tc.in); got != tc.want {
			t.Errorf("TrimCell(%q) = %q", tc.in, got)
		}
	}
}

// TestMatchHeader: SPEC 1.2 header matching with the synonyms of filimport-columns.md.
func TestMatchHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Column
		ok   bool
	}{
		{"Fødselsnummer", ColPersonID, true},
		{"  FØDSELSNR: ", ColPersonID, true},
		{"Fødsels- eller D-nummer", ColPersonID, true},
		{"SYSVAK-kode", ColSysvakCode, true},
		{"sysvak kode", ColSysvakCode, true},
		{"SYSVAKKODE", ColSysvakCode, true},
		{"Batch/lot", ColBatch, true},
		{"batch_lot", ColBatch, true},
		{"Org.nr", ColUnitID, true},
		{"Vaksinatør HPR-nummer", ColVaccinatorHPR, true},
		{"vaccination_date", ColVaccinationDate, true},
		{"Farge", 0, false},
		{"", 0, false},
		{" - ", 0, false},
	} {
		got, ok := MatchHeader(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("MatchHeader(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	// No header or synonym maps to two columns.
	seen := map[string]Column{}
	for _, spec := range Layout() {
		for _, h := range append([]string{spec.Header, spec.Key}, spec.Synonyms...) {
			n := NormalizeHeader(h)
			if c, dup := seen[n]; dup && c != spec.Column {
				t.Errorf("%q maps to %v and %v", h, c, spec.Column)
			}
			seen[n] = spec.Column
		}
	}
}
