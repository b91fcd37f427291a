package validate

import (
	"errors"
	"strings"
	"testing"
)

// TestDefaultCodes: exactly the codes of filimport-columns.md "SYSVAK codes" (both lists).
func TestDefaultCodes(t *testing.T) {
	l := DefaultCodes()
	want := []string{"AII02", "ANX01", "BCG01", "DIF01", "DT51", "BNT03", "MOD03", "ASZ03", "JAN03", "SIN03",
		"CBA01", "CBA45", "CBB15", "CSH03", "CUR03", "NUV03", "SBA01", "SBA45", "VAL03", "XCO03", "XCV03", "XXC03", "XXS03"}
	if l.Len() != len(want) || !l.Partial() {
		t.Fatalf("len %d partial %v", l.Len(), l.Partial())
	}
	for _, c := range want {
		info, ok := l.Lookup(c)
		if !ok || info.Name == "" || !info.ValidFrom.IsZero() || !info.ValidTo.IsZero() {
			t.Errorf("%s: %+v %v", c, info, ok)
		}
		if _, ok := NormalizeCode(c); !ok {
			t.Errorf("%s does not have the SYSVAK form", c)
		}
	}
	if info, _ := l.Lookup("BCG01"); info.ATC != "J07AN01" || info.Name != "Tuberkulose, levende svekket (BCG-vaksine)" {
		t.Errorf("BCG01 = %+v", info)
	}
	all := l.All()
	all[0].Code = "XXX99" // a copy: the list must not change
	if _, ok := l.Lookup("AII02"); !ok || l.All()[0].Code != "AII02" {
		t.Error("All is not a sorted copy")
	}
}

// TestCheckCode: code.missing, code.format, code.unknown, code.inactive (validation-rules.md).
func TestCheckCode(t *testing.T) {
	l, err := ParseCodesCSV(strings.NewReader("code,name,atc,valid_from,valid_to\nBCG01,BCG,J07AN01,,\nOLD01,Gammel,,2000-01-01,2010-12-31\nNEW01,Ny,,2025-01-01,\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in     string
		date   Date
		dateOK bool
		code   string
		want   Code
	}{
		{"BCG01", d(2024, 1, 1), true, "BCG01", ""},
		{" bcg01\u00a0", d(2024, 1, 1), true, "BCG01", ""}, // trimmed and upper-cased
		{"", d(2024, 1, 1), true, "", CodeMissing},
		{" ", d(2024, 1, 1), true, "", CodeMissing},
		{"BCG1", d(2024, 1, 1), true, "BCG1", CodeFormat},
		{"BCGX01", d(2024, 1, 1), true, "BCGX01", CodeFormat},
		{"B01", d(2024, 1, 1), true, "B01", CodeFormat},
		{"BC G01", d(2024, 1, 1), true, "BC G01", CodeFormat},
		{"ÆØÅ01", d(2024, 1, 1), true, "ÆØÅ01", CodeFormat},
		{"12345", d(2024, 1, 1), true, "12345", CodeFormat},
		{"DT51", d(2024, 1, 1), true, "DT51", CodeUnknown},
		{"OLD01", d(2005, 6, 1), true, "OLD01", ""},
		{"OLD01", d(2010, 12, 31), true, "OLD01", ""}, // bounds inclusive
		{"OLD01", d(2011, 1, 1), true, "OLD01", CodeInactive},
		{"OLD01", d(1999, 12, 31), true, "OLD01", CodeInactive},
		{"NEW01", d(2024, 12, 31), true, "NEW01", CodeInactive},
		{"NEW01", d(2024, 12, 31), false, "NEW01", ""}, // no date: inactive is not decided
	} {
		code, got := l.CheckCode(tc.in, tc.date, tc.dateOK)
		if code != tc.code || got != tc.want {
			t.Errorf("CheckCode(%q) = %q %q, want %q %q", tc.in, code, got, tc.code, tc.want)
		}
	}
}

func TestParseCodesCSV(t *testing.T) {
	good := []struct {
		name, in string
		n        int
	}{
		{"spec header", "code,name,atc,valid_from,valid_to\nBCG01,BCG-vaksine,J07AN01,2000-01-01,\n", 1},
		{"BOM and CRLF", "\ufeffcode,name,atc,valid_from,valid_to\r\nBCG01,BCG,,,\r\nDT51,diTe,,,\r\n", 2},
		{"semicolons", "code;name;atc;valid_from;valid_to\nBCG01;BCG, levende;;;\n", 1},
		{"other order, extra column, no dates", "Name , CODE,extra\nBCG,bcg01,x\n", 1},
		{"blank lines skipped", "code,name\n\nBCG01,BCG\n\n", 1},
		{"quoted", "code,name\n\"BCG01\",\"Tuberkulose, levende\"\n", 1},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseCodesCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if l.Len() != tc.n || l.Partial() {
				t.Fatalf("len %d partial %v", l.Len(), l.Partial())
			}
			if _, ok := l.Lookup("BCG01"); !ok {
				t.Fatal("BCG01 missing")
			}
		})
	}
	l, _ := ParseCodesCSV(strings.NewReader("code,name,atc,valid_from,valid_to\nBCG01,BCG,J07AN01,2000-01-01,2030-12-31\n"))
	if info, _ := l.Lookup("BCG01"); info.ValidFrom != d(2000, 1, 1) || info.ValidTo != d(2030, 12, 31) || info.ATC != "J07AN01" {
		t.Errorf("%+v", info)
	}

	bad := []struct {
		name, in string
		line     int
		err      error
	}{
		{"empty", "", 1, ErrCodesEmpty},
		{"header only", "code,name\n", 2, ErrCodesEmpty},
		{"no code column", "kode,name\nBCG01,x\n", 1, ErrCodesHeader},
		{"bad code", "code,name\nBCG01,x\nBCG-1,y\n", 3, ErrCodesCode},
		{"duplicate", "code,name\nBCG01,x\nbcg01,y\n", 3, ErrCodesDuplicate},
		{"bad date", "code,name,valid_from\nBCG01,x,01.01.2020\n", 2, ErrCodesDate},
		{"impossible date", "code,name,valid_to\nBCG01,x,2023-02-29\n", 2, ErrCodesDate},
		{"period reversed", "code,name,valid_from,valid_to\n\nBCG01,x,2020-01-01,2019-01-01\n", 3, ErrCodesPeriod},
		{"bare quote", "code,name\nBCG01,x\nDT51,a\"b\n", 3, nil},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCodesCSV(strings.NewReader(tc.in))
			var ce *CodesCSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CodesCSVError", err)
			}
			if ce.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", ce.Line, tc.line, err)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

// FuzzParseCodesCSV: never panics; a parsed list holds only well-formed, unique codes with sane
// periods, and every code can be looked up.
func FuzzParseCodesCSV(f *testing.F) {
	f.Add("code,name,atc,valid_from,valid_to\nBCG01,BCG,J07AN01,2000-01-01,\n")
	f.Add("\ufeffcode;name\nbcg01;x\n")
	f.Add("code,name\n\"BCG01\",\"a\"\"b\"\n")
	f.Add("code,name\nBCG01,x\nDT51,a\"b\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseCodesCSV(strings.NewReader(s))
		if err != nil {
			var ce *CodesCSVError
			if !errors.As(err, &ce) || ce.Line < 1 {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range l.All() {
			if n, ok := NormalizeCode(c.Code); !ok || n != c.Code || seen[c.Code] {
				t.Fatalf("bad code %q", c.Code)
			}
			seen[c.Code] = true
			if _, ok := l.Lookup(c.Code); !ok {
				t.Fatalf("lookup %q", c.Code)
			}
			if !c.ValidFrom.IsZero() && !c.ValidTo.IsZero() && c.ValidFrom.After(c.ValidTo) {
				t.Fatal("reversed period")
			}
		}
	})
}

// Issue 12: the built-in names read as names to a user: no note on where a code was seen, no
// English.
func TestDefaultCodeNamesPlain(t *testing.T) {
	for _, c := range DefaultCodes().All() {
		for _, bad := range []string{"seen", "extract", "script"} {
			if strings.Contains(strings.ToLower(c.Name), bad) {
				t.Errorf("%s: name %q", c.Code, c.Name)
			}
		}
	}
}
