package workbook

import (
	"errors"
	"testing"

	"github.com/fhi/sysvak-import/validate"
)

// filimport-columns.md "Columns": matching ignores case, surrounding whitespace and - _ . : /
// and spaces inside.
func TestNormalizeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SYSVAK-kode", "sysvakkode"},
		{"sysvak kode", "sysvakkode"},
		{"SYSVAKKODE", "sysvakkode"},
		{"  Fødselsnummer\t", "fødselsnummer"},
		{"FØDSELSNUMMER", "fødselsnummer"},
		{"VAKSINATØR HPR-NUMMER", "vaksinatørhprnummer"},
		{"Gitt\u00a0annet\u00a0sted", "gittannetsted"},            // NBSP
		{"Org.nr:", "orgnr"},                                      // . and :
		{"Batch/lot", "batchlot"},                                 // /
		{"dose_nr", "dosenr"},                                     // _
		{"Fødsels– eller D–nummer", "fødselsellerdnummer"},        // en dash
		{"\ufeffNavn\u200b", "navn"},                              // BOM, zero-width space
		{"GITT ANNET STED PÅ ÆØÅ", "gittannetstedpåæøå"},          // Unicode lower-casing
		{"Gitt annet ste\u0064 p\u0041\u030a", "gittannetstedpå"}, // decomposed Å (NFD) equals composed
		{"", ""},
		{" - ", ""},
	}
	for _, tt := range tests {
		if got := NormalizeHeader(tt.in); got != tt.want {
			t.Errorf("NormalizeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every template header and synonym of validate.Layout() resolves to its own column, and no two
// columns share a normalised name (a collision would silently send data to the wrong column).
func TestDefaultMappingLayout(t *testing.T) {
	m := DefaultMapping()
	seen := map[string]validate.Column{}
	for _, spec := range validate.Layout() {
		for _, h := range append([]string{spec.Header, spec.Key}, spec.Synonyms...) {
			got, ok := m.Lookup(h)
			if !ok || got != spec.Column {
				t.Errorf("Lookup(%q) = %v,%v, want %v", h, got, ok, spec.Column)
			}
			n := NormalizeHeader(h)
			if prev, dup := seen[n]; dup && prev != spec.Column {
				t.Errorf("%q normalises to %q, also used by %v", h, n, prev)
			}
			seen[n] = spec.Column
		}
	}
	for _, h := range []string{"Forventet", "", "   ", "Dato2"} {
		if c, ok := m.Lookup(h); ok {
			t.Errorf("Lookup(%q) = %v, want no column", h, c)
		}
	}
}

func TestNewMappingExtra(t *testing.T) {
	tests := []struct {
		name    string
		extra   map[string]string
		lookup  string
		want    validate.Column
		wantErr error
		anyErr  bool
	}{
		{name: "new header", extra: map[string]string{"Pasientens ID": "person_id"}, lookup: "PASIENTENS-ID", want: validate.ColPersonID},
		{name: "key with spaces", extra: map[string]string{"Sats": " batch "}, lookup: "sats", want: validate.ColBatch},
		// The operator wins over a built-in synonym: "Type" is action by default.
		{name: "override builtin", extra: map[string]string{"Type": "comment"}, lookup: "type", want: validate.ColComment},
		{name: "unknown key", extra: map[string]string{"X": "personid"}, wantErr: ErrUnknownColumnKey},
		{name: "empty header", extra: map[string]string{" - ": "batch"}, anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapping(tt.extra)
			if tt.wantErr != nil || tt.anyErr {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := m.Lookup(tt.lookup); !ok || got != tt.want {
				t.Errorf("Lookup(%q) = %v,%v, want %v", tt.lookup, got, ok, tt.want)
			}
			// Built-ins still work.
			if got, _ := m.Lookup("Fødselsnummer"); got != validate.ColPersonID {
				t.Errorf("builtin lost: %v", got)
			}
		})
	}
}
