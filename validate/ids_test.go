package validate

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

// loadIDVectors reads testdata/id_vectors.csv, a copy of shared/reference/id_vectors.csv
// (ids.md §12). Leading spaces are kept: some inputs start with white space on purpose.
func loadIDVectors(t testing.TB) [][]string {
	t.Helper()
	f, err := os.Open("testdata/id_vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = false
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || strings.Join(recs[0], ",") != "input,type,valid,reason,source" {
		t.Fatalf("unexpected header %v", recs[0])
	}
	return recs[1:]
}

// TestIDVectors: every row of id_vectors.csv (ids.md §12). `valid` means structurally valid for
// its type; for valid rows the detected kind must be the row's type, and Accepted() must match
// the SYSVAK policy of ids.md §11 (fnr, dnr, duf yes; everything else no).
func TestIDVectors(t *testing.T) {
	rows := loadIDVectors(t)
	if len(rows) < 170 {
		t.Fatalf("only %d vectors", len(rows))
	}
	o := IDOptions{AsOfYear: 2026} // ids.md §12: "with 2026 as the current year"
	for i, rec := range rows {
		input, typ, valid, reason := rec[0], rec[1], rec[2] == "true", rec[3]
		t.Run(strings.ReplaceAll(typ+"/"+input, " ", "_"), func(t *testing.T) {
			r := CheckID(input, o)
			if got := r.StructurallyValid(); got != valid {
				t.Fatalf("row %d %q (%s): structurally valid = %v, want %v; codes %v kind %q (reason: %s)",
					i+2, input, typ, got, valid, r.Codes(), r.Kind, reason)
			}
			if !valid {
				if r.Accepted() {
					t.Fatalf("invalid vector accepted: codes %v", r.Codes())
				}
				return
			}
			if string(r.Kind) != typ {
				t.Fatalf("kind %q, want %q", r.Kind, typ)
			}
			wantAccepted := typ == "fnr" || typ == "dnr" || typ == "duf"
			if r.Accepted() != wantAccepted {
				t.Fatalf("accepted = %v, want %v (codes %v)", r.Accepted(), wantAccepted, r.Codes())
			}
			if wantAccepted && string(r.Type) != typ {
				t.Fatalf("type %q, want %q", r.Type, typ)
			}
			if len(r.Normalized) != 11 && len(r.Normalized) != 12 || !allDigits(r.Normalized) {
				t.Fatalf("normalized %q", r.Normalized)
			}
			// The 10-digit repair never applies to inputs with separators (ids.go decision).
			if r.ZeroRestored != r.Has(IDLeadingZeroRestored) {
				t.Fatal("ZeroRestored and code disagree")
			}
		})
	}
}

func codesEqual(a, b []Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCheckIDCodes: one or more cases per result code (validation-rules.md "Identifiers").
func TestCheckIDCodes(t *testing.T) {
	o := IDOptions{AsOfYear: 2026}
	syn := IDOptions{AsOfYear: 2026, AllowSynthetic: true}
	noDUF := IDOptions{AsOfYear: 2026, SkipDUFCheckDigits: true}
	tests := []struct {
		name     string
		in       string
		o        IDOptions
		want     []Code
		norm     string
		typ      IDType
		kind     IDKind
		accepted bool
	}{
		// ids.md §4.2 worked example.
		{"fnr plain", "15108695088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"blank", "", o, []Code{IDMissing}, "", "", "", false},
		{"only white space and NBSP", " \u00a0\t", o, []Code{IDMissing}, "", "", "", false},
		{"only BOM", "\ufeff", o, []Code{IDMissing}, "", "", "", false},
		// ids.md §2 N1/N3: white space, NBSP, zero-width, BOM and '-' removed.
		{"NBSP inside", "151086\u00a095088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"zero-width inside", "151086\u200b95088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"BOM in front", "\ufeff15108695088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"narrow NBSP", "151086\u202f95088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"hyphen", "151086-95088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		// SPEC 1.4: '.' is a separator in text ...
		{"dots as group separators", "15.10.86 95088", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"DUF with dots", "2001.123456.09", o, nil, "200112345609", IDTypeDUF, KindDUF, true},
		// ... but a plain decimal number is a number cell's value, not an ID (ids.md §2 N3).
		{"plain decimal", "151086.95088", o, []Code{IDFormat}, "151086", "", "", false},
		{"decimal with fraction", "15108695088.5", o, []Code{IDFormat}, "15108695088", "", "", false},
		// ids.md §2 N2.
		{"N.0", "15108695088.0", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"N.000", "15108695088.000", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"exact scientific", "1.5108695088E10", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"exact scientific E+", "1.5108695088E+10", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"exact scientific lower e", "1.5108695088e+10", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"exact scientific trailing zeros", "1.51086950880E10", o, nil, "15108695088", IDTypeFnr, KindFnr, true},
		{"lossy scientific", "1.51087E+10", o, []Code{IDPrecisionLost}, "", "", "", false},
		{"lossy scientific DUF", "2.00112E+11", o, []Code{IDPrecisionLost}, "", "", "", false},
		{"lossy 1.01017E+10", "1.01017E+10", o, []Code{IDPrecisionLost}, "", "", "", false},
		{"scientific with fraction", "1.51086950885E10", o, []Code{IDFormat}, "", "", "", false},
		{"negative exponent", "1.5E-10", o, []Code{IDFormat}, "15", "", "", false},
		// ids.md §2 N4/N6.
		{"letter O", "1510869508O", o, []Code{IDFormat}, "1510869508", "", "", false},
		{"trailing text", "15108695088 fnr", o, []Code{IDFormat}, "15108695088", "", "", false},
		{"9 digits", "151086950", o, []Code{IDFormat}, "151086950", "", "", false},
		{"13 digits", "1510869508812", o, []Code{IDFormat}, "1510869508812", "", "", false},
		{"13 digits with separator", "151086 9508812", o, []Code{IDFormat}, "151086950881", "", "", false},
		{"only separators", "--", o, []Code{IDFormat}, "", "", "", false},
		// ids.md §2 N5: lost leading zero restored only when the result is valid.
		{"leading zero restored", "7020554821", o, []Code{IDLeadingZeroRestored}, "07020554821", IDTypeFnr, KindFnr, true},
		{"leading zero restored N.0", "1010150740.0", o, []Code{IDLeadingZeroRestored}, "01010150740", IDTypeFnr, KindFnr, true},
		{"10 digits, repair invalid", "1510869508", o, []Code{IDFormat}, "1510869508", "", "", false},
		{"10 digits with separators: no repair", "702055 4821", o, []Code{IDFormat}, "7020554821", "", "", false},
		{"restored H-nummer stays refused", "1415612385", o, []Code{IDTypeNotAllowed, IDLeadingZeroRestored}, "01415612385", "", KindHnr, false},
		// ids.md §4.4: the date.
		{"31.04", "31048512345", o, []Code{IDBirthdate}, "31048512345", "", KindFnr, false},
		{"29.02.1999", "29029900157", o, []Code{IDBirthdate}, "29029900157", "", KindFnr, false},
		{"month 13", "13137248022", o, []Code{IDBirthdate}, "13137248022", "", KindFnr, false},
		{"month 00", "01007012345", o, []Code{IDBirthdate}, "01007012345", "", KindFnr, false},
		{"day 00", "00017012345", o, []Code{IDBirthdate}, "00017012345", "", KindFnr, false},
		{"D day 72", "72018512300", o, []Code{IDBirthdate}, "72018512300", "", KindDnr, false},
		{"29.02 YY=00 accepted", "29020012380", o, nil, "29020012380", IDTypeFnr, KindFnr, true},
		// ids.md §4.2/§4.3: check digits.
		{"K2 wrong", "15108695077", o, []Code{IDChecksum}, "15108695077", "", KindFnr, false},
		{"D K2 off", "41018512431", o, []Code{IDChecksum}, "41018512431", "", KindDnr, false},
		// ids.md §5-§8: kinds.
		{"D-nummer", "42051199116", o, nil, "42051199116", IDTypeDnr, KindDnr, true},
		{"H-nummer", "01415612385", o, []Code{IDTypeNotAllowed}, "01415612385", "", KindHnr, false},
		{"FH-nummer", "81212121223", o, []Code{IDTypeNotAllowed}, "81212121223", "", KindFHnr, false},
		{"FH 2032-only K1 refused", "81234567829", o, []Code{IDChecksum}, "81234567829", "", KindFHnr, false},
		{"D+H", "68467038838", o, []Code{IDTypeNotAllowed}, "68467038838", "", KindDnrHnr, false},
		{"Tenor prod", "29822099635", o, []Code{IDSynthetic}, "29822099635", "", KindTenorFnr, false},
		{"Tenor test mode", "29822099635", syn, []Code{IDSynthetic}, "29822099635", IDTypeFnr, KindTenorFnr, true},
		{"Tenor D test mode", "41814061033", syn, []Code{IDSynthetic}, "41814061033", IDTypeDnr, KindTenorDnr, true},
		{"SyntPop prod", "31739556891", o, []Code{IDSynthetic}, "31739556891", "", KindSyntPopFnr, false},
		{"Tenor lost zero, test mode", "3923248608", syn, []Code{IDSynthetic, IDLeadingZeroRestored}, "03923248608", IDTypeFnr, KindTenorFnr, true},
		{"NPID bad check digits", "01219000000", o, []Code{IDChecksum}, "01219000000", "", KindNPID, false},
		// ids.md §9: DUF.
		{"DUF", "200112345609", o, nil, "200112345609", IDTypeDUF, KindDUF, true},
		{"DUF check 10", "200816832910", o, nil, "200816832910", IDTypeDUF, KindDUF, true},
		{"DUF bad check", "200112345610", o, []Code{IDChecksum}, "200112345610", "", KindDUF, false},
		{"DUF bad check, switch off", "200112345610", noDUF, nil, "200112345610", IDTypeDUF, KindDUF, true},
		{"DUF year 1853", "185300000000", o, []Code{IDDUFYear}, "185300000000", "", KindDUF, false},
		{"DUF year 1854 ok", "185400000001", noDUF, nil, "185400000001", IDTypeDUF, KindDUF, true},
		{"DUF year after as-of", "202700000000", noDUF, []Code{IDDUFYear}, "202700000000", "", KindDUF, false},
		{"DUF year = as-of", "202600004209", o, nil, "202600004209", IDTypeDUF, KindDUF, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckID(tc.in, tc.o)
			if !codesEqual(r.Codes(), tc.want) {
				t.Errorf("codes %v, want %v", r.Codes(), tc.want)
			}
			if r.Normalized != tc.norm {
				t.Errorf("normalized %q, want %q", r.Normalized, tc.norm)
			}
			if r.Type != tc.typ {
				t.Errorf("type %q, want %q", r.Type, tc.typ)
			}
			if r.Kind != tc.kind {
				t.Errorf("kind %q, want %q", r.Kind, tc.kind)
			}
			if r.Accepted() != tc.accepted {
				t.Errorf("accepted %v, want %v", r.Accepted(), tc.accepted)
			}
		})
	}
}

// TestIDVectorsRepairPolicy proves that the stricter repair policy of ids.go (no 10-digit repair
// after separators were removed) and the '.' decision change no row of id_vectors.csv: no row
// has 10 digits together with separators.
func TestIDVectorsRepairPolicy(t *testing.T) {
	for _, rec := range loadIDVectors(t) {
		var buf [maxIDDigits]byte
		d, numeric, code := normalizeID(rec[0], &buf)
		if code == "" && len(d) == 10 && !numeric {
			t.Errorf("vector %q is a 10-digit value with separators: policy would change it", rec[0])
		}
	}
}

// TestTypeNames: id.type_not_allowed names which type (validation-rules.md).
func TestTypeNames(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"01415612385", "H-nummer"}, {"68467038838", "H-nummer"}, {"81212121223", "felles hjelpenummer"},
		{"29822099635", "Tenor"}, {"31739556891", "SyntPop"},
	} {
		r := CheckID(tc.in, IDOptions{AsOfYear: 2026})
		if got := r.Kind.TypeName(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.in, got, tc.want)
		}
	}
	if KindNPID.TypeName() != "NPID" || KindFnr.TypeName() != "" {
		t.Error("NPID/fnr type names")
	}
}

// Test2032Rule: the official examples of ids.md §4.3 and the remainder-1 / K2=10 prefixes.
func Test2032Rule(t *testing.T) {
	o := IDOptions{AsOfYear: 2026}
	for _, tc := range []struct {
		in       string
		ok, only bool
	}{
		{"02013299997", true, false}, // r1 = 0, 02.01.2032, I = 999
		{"30108299920", true, false}, // r1 = 0
		{"30108299939", true, true},  // r1 = 1, valid only under the 2032 rule
		{"01017000701", true, true},  // ids.md §4.2: prefix 010170007 has no old-rule number
		{"01017000728", true, true},
		{"01017000700", false, false},
		{"71018501370", true, true},   // ids.md §5: D-nummer valid only under the 2032 rule
		{"01810011129", true, true},   // ids.md §8: synthetic, 2032 rule
		{"02013299996", false, false}, // K2 wrong
	} {
		r := CheckID(tc.in, IDOptions{AsOfYear: o.AsOfYear, AllowSynthetic: true})
		if r.StructurallyValid() != tc.ok || r.Only2032 != tc.only {
			t.Errorf("%s: valid %v only2032 %v, want %v %v (codes %v)", tc.in, r.StructurallyValid(), r.Only2032, tc.ok, tc.only, r.Codes())
		}
	}
	// mod11 directly: the 2032 rule is off for H and FH.
	if ok, _ := mod11("30108299939", false); ok {
		t.Error("old rule accepted a 2032-only number")
	}
}

// TestK1Eleven: a check digit computed as 11 is written 0 (ids.md §4.2, "some libraries forget
// the 11 -> 0 case"; 15021951940 has K2 = 11 -> 0 and 11111598403 has K1 = 11 -> 0).
func TestK1Eleven(t *testing.T) {
	for _, tc := range []struct {
		in    string
		digit int // 9 = K1, 10 = K2
	}{{"15021951940", 10}, {"11111598403", 9}} {
		w1 := [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
		w2 := [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
		s := 0
		for i := 0; i < tc.digit; i++ {
			if tc.digit == 9 {
				s += w1[i] * int(tc.in[i]-'0')
			} else {
				s += w2[i] * int(tc.in[i]-'0')
			}
		}
		if s%11 != 0 || tc.in[tc.digit] != '0' {
			t.Fatalf("%s is not an 11 -> 0 case at digit %d", tc.in, tc.digit+1)
		}
		r := CheckID(tc.in, IDOptions{AsOfYear: 2026})
		if !r.Accepted() || r.Type != IDTypeFnr || r.Only2032 {
			t.Errorf("%s: codes %v type %q only2032 %v", tc.in, r.Codes(), r.Type, r.Only2032)
		}
	}
}

// TestLegacyCentury: ids.md §4.5 table and the NAV boundary vectors.
func TestLegacyCentury(t *testing.T) {
	for _, tc := range []struct {
		iii, yy, c int
		ok         bool
	}{
		{0, 0, 1900, true}, {499, 99, 1900, true}, {500, 54, 1800, true}, {749, 99, 1800, true},
		{500, 0, 2000, true}, {999, 39, 2000, true}, {900, 40, 1900, true}, {999, 99, 1900, true},
		{500, 40, 0, false}, {749, 53, 0, false}, {750, 40, 0, false}, {899, 99, 0, false},
		{1000, 0, 0, false}, {-1, 0, 0, false},
	} {
		c, ok := LegacyCentury(tc.iii, tc.yy)
		if c != tc.c || ok != tc.ok {
			t.Errorf("LegacyCentury(%d,%d) = %d,%v", tc.iii, tc.yy, c, ok)
		}
	}
	o := IDOptions{AsOfYear: 2026}
	for _, tc := range []struct {
		in    string
		birth Date
		known bool
	}{
		{"02020000069", Date{1900, 2, 2}, true},    // NAV FoedselsNrTest: 1900
		{"01025450058", Date{1854, 2, 1}, true},    // 1854
		{"01020050043", Date{2000, 2, 1}, true},    // 2000
		{"02024090046", Date{1940, 2, 2}, true},    // 1940
		{"01023950096", Date{1939, 2, 1}, false},   // legacy 2039 is after the as-of year: not determined
		{"29020012380", Date{2000, 2, 29}, false},  // legacy 29.02.1900 does not exist (ids.md §4.4)
		{"71106177273", Date{1961, 10, 31}, false}, // D, I=772, YY=61: undefined in the legacy table
		{"45014054018", Date{1940, 1, 5}, false},   // D, no century (ids.md §4.5)
		{"15108695088", Date{1986, 10, 15}, true},
		{"30108299939", Date{1982, 10, 30}, false}, // 2032-rule K1: issued from 2032, no century (ids.md §4.3)
	} {
		r := CheckID(tc.in, o)
		if !r.StructurallyValid() {
			t.Fatalf("%s invalid: %v", tc.in, r.Codes())
		}
		if r.BirthDate != tc.birth || r.BirthDateKnown != tc.known {
			t.Errorf("%s: birth %v known %v, want %v %v", tc.in, r.BirthDate, r.BirthDateKnown, tc.birth, tc.known)
		}
	}
	// No birth date for DUF and FH.
	for _, in := range []string{"200112345609", "81212121223"} {
		if r := CheckID(in, o); !r.BirthDate.IsZero() || r.BirthDateKnown {
			t.Errorf("%s has a birth date", in)
		}
	}
}

// TestIDSeverity: id.synthetic is a warning only with AllowSynthetic (validation-rules.md).
func TestIDSeverity(t *testing.T) {
	r := CheckID("29822099635", IDOptions{AsOfYear: 2026})
	if r.Severity(IDSynthetic) != SeverityError {
		t.Error("synthetic must be an error in production")
	}
	r = CheckID("29822099635", IDOptions{AsOfYear: 2026, AllowSynthetic: true})
	if r.Severity(IDSynthetic) != SeverityWarning || r.Severity(IDLeadingZeroRestored) != SeverityWarning || r.Severity(IDChecksum) != SeverityError {
		t.Error("severities in test mode")
	}
}

func TestCheckIDAllocs(t *testing.T) {
	o := IDOptions{AsOfYear: 2026}
	for _, in := range []string{"15108695088", "200112345609", "42051199116"} {
		if n := testing.AllocsPerRun(100, func() { _ = CheckID(in, o) }); n != 0 {
			t.Errorf("%s: %v allocs", in, n)
		}
	}
}

// FuzzCheckID: never panics; the normalised value of a readable identifier is all digits; the
// result is deterministic; an accepted identifier has a type.
func FuzzCheckID(f *testing.F) {
	for _, rec := range loadIDVectors(f) {
		f.Add(rec[0], false)
	}
	f.Add("1.5E999", true)
	f.Add("9.99999999999999999999E20", false)
	f.Add("\ufeff\u200b 0-1.2", true)
	f.Fuzz(func(t *testing.T, s string, allow bool) {
		o := IDOptions{AsOfYear: 2026, AllowSynthetic: allow}
		r := CheckID(s, o)
		if r.Normalized != "" && !allDigits(r.Normalized) {
			t.Fatalf("normalized %q not digits", r.Normalized)
		}
		if r.Accepted() {
			if r.Type == "" || (len(r.Normalized) != 11 && len(r.Normalized) != 12) {
				t.Fatalf("accepted without type or length: %+v", r)
			}
		}
		if r.Accepted() && !r.StructurallyValid() {
			t.Fatal("accepted but not structurally valid")
		}
		r2 := CheckID(s, o)
		if r2.Normalized != r.Normalized || !codesEqual(r.Codes(), r2.Codes()) || r.Kind != r2.Kind || r.BirthDate != r2.BirthDate {
			t.Fatal("not deterministic")
		}
	})
}

func BenchmarkCheckID(b *testing.B) {
	o := IDOptions{AsOfYear: 2026}
	inputs := []string{"15108695088", "42051199116", "200112345609", "30108299939"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = CheckID(inputs[i&3], o)
	}
}
