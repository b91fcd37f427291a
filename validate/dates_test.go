package validate

import (
	"testing"
	"time"
)

func d(y, m, day int) Date { return Date{Year: y, Month: time.Month(m), Day: day} }

// TestSerialDate: Excel serials (SPEC 1.4; libraries.md §1.6: 33010 is 1990-05-17).
func TestSerialDate(t *testing.T) {
	for _, tc := range []struct {
		serial int
		d1904  bool
		want   Date
		ok     bool
	}{
		{1, false, d(1900, 1, 1), true},
		{59, false, d(1900, 2, 28), true},
		{60, false, Date{}, false}, // Lotus 1-2-3 bug: fictitious 1900-02-29
		{61, false, d(1900, 3, 1), true},
		{0, false, Date{}, false}, // "1900-01-00"
		{-1, false, Date{}, false},
		{33010, false, d(1990, 5, 17), true},
		{45000, false, d(2023, 3, 15), true},
		{2958465, false, d(9999, 12, 31), true},
		{2958466, false, Date{}, false},
		{0, true, d(1904, 1, 1), true},
		{33010 - 1462, true, d(1990, 5, 17), true},
		{2957003, true, d(9999, 12, 31), true},
		{2957004, true, Date{}, false},
		{-1, true, Date{}, false},
	} {
		got, ok := SerialDate(tc.serial, tc.d1904)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SerialDate(%d, %v) = %v %v, want %v %v", tc.serial, tc.d1904, got, ok, tc.want, tc.ok)
		}
	}
	// civil agrees with package time over the whole 1900 range.
	base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	for s := 61; s <= 2958465; s += 997 {
		got, _ := SerialDate(s, false)
		if want := DateOf(base.AddDate(0, 0, s)); got != want {
			t.Fatalf("serial %d: %v, want %v", s, got, want)
		}
	}
}

// TestParseDate: the forms of SPEC 1.4 and the codes date.missing/date.format
// (validation-rules.md "Dates").
func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		d1904 bool
		want  Date
		code  Code
	}{
		{"", false, Date{}, DateMissing},
		{" \u00a0 ", false, Date{}, DateMissing},
		{"45000", false, d(2023, 3, 15), ""},
		{"45000.5", false, d(2023, 3, 15), ""}, // fraction = time of day, ignored
		{"45000.999988425923", false, d(2023, 3, 15), ""},
		{"43538", true, d(2023, 3, 15), ""}, // 1904 system
		{"60", false, Date{}, DateFormat},
		{"99999999", false, Date{}, DateFormat},
		{"123456789012", false, Date{}, DateFormat},
		{"15.03", false, Date{}, DateFormat}, // day.month without a year is not a serial
		{"15.03.2023", false, d(2023, 3, 15), ""},
		{"5.3.2023", false, d(2023, 3, 5), ""},
		{"05.03.2023", false, d(2023, 3, 5), ""},
		{" 05.03.2023 ", false, d(2023, 3, 5), ""},
		{"05.03.23", false, d(2023, 3, 5), ""}, // 23 <= 26: 20xx
		{"05.03.26", false, d(2026, 3, 5), ""}, // boundary: as-of year % 100
		{"05.03.27", false, d(1927, 3, 5), ""}, // > 26: 19xx
		{"05.03.00", false, d(2000, 3, 5), ""},
		{"05.03.99", false, d(1999, 3, 5), ""},
		{"2023-03-15", false, d(2023, 3, 15), ""},
		{"2023-03-15T00:00:00Z", false, d(2023, 3, 15), ""}, // t="d" cell
		{"2023-03-15T10:11:12.123+01:00", false, d(2023, 3, 15), ""},
		{"2023-03-15T10:11", false, d(2023, 3, 15), ""},
		{"2023-03-15 10:11:12", false, d(2023, 3, 15), ""},
		{"15.03.2023 10:11", false, d(2023, 3, 15), ""},
		{"15.03.2023  9:05:00", false, d(2023, 3, 15), ""},
		{"15/03/2023", false, d(2023, 3, 15), ""},
		{"5/3/2023", false, d(2023, 3, 5), ""},
		{"15/03/2023 08:00", false, d(2023, 3, 15), ""},
		{"29.02.2024", false, d(2024, 2, 29), ""},
		{"29.02.2023", false, Date{}, DateFormat}, // not a real date
		{"29.02.1900", false, Date{}, DateFormat}, // 1900 is not a leap year
		{"31.04.2023", false, Date{}, DateFormat},
		{"00.01.2023", false, Date{}, DateFormat},
		{"15.13.2023", false, Date{}, DateFormat},
		{"2023-02-30", false, Date{}, DateFormat},
		{"15/03/23", false, Date{}, DateFormat}, // two-digit years only with dots
		{"15.03.023", false, Date{}, DateFormat},
		{"15.03.20231", false, Date{}, DateFormat},
		{"03-15-2023", false, Date{}, DateFormat},
		{"15.03.2023T10:00", false, Date{}, DateFormat},
		{"15.03.2023 25:00", false, Date{}, DateFormat},
		{"15.03.2023 10:60", false, Date{}, DateFormat},
		{"15.03.2023 kl 10", false, Date{}, DateFormat},
		{"2023-03-15T", false, Date{}, DateFormat},
		{"2023-03-15Tjunk", false, Date{}, DateFormat},
		{"15. mars 2023", false, Date{}, DateFormat},
		{"i går", false, Date{}, DateFormat},
		{"-45000", false, Date{}, DateFormat},
		{"4.5E4", false, Date{}, DateFormat},
	} {
		got, code := ParseDate(tc.in, tc.d1904, 2026)
		if got != tc.want || code != tc.code {
			t.Errorf("ParseDate(%q) = %v %q, want %v %q", tc.in, got, code, tc.want, tc.code)
		}
	}
}

func TestDateMethods(t *testing.T) {
	a, b := d(2024, 2, 29), d(2024, 3, 1)
	if !a.Before(b) || b.Before(a) || !b.After(a) || a.Compare(a) != 0 || a.Compare(b) != -1 || b.Compare(a) != 1 {
		t.Error("ordering")
	}
	if d(2023, 12, 31).Compare(d(2024, 1, 1)) != -1 {
		t.Error("year ordering")
	}
	if a.String() != "2024-02-29" || d(5, 1, 2).String() != "0005-01-02" {
		t.Error("String")
	}
	if !(Date{}).IsZero() || a.IsZero() || !a.Valid() || d(2023, 2, 29).Valid() {
		t.Error("IsZero/Valid")
	}
	if DateOf(a.Time()) != a {
		t.Error("Time/DateOf round trip")
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{{"2026-11-23", true}, {"2026-02-29", false}, {"2026-1-23", false}, {"20261123", false}, {"", false}, {"2026-11-23x", false}} {
		got, err := ParseISODate(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.String() != tc.in) {
			t.Errorf("ParseISODate(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestParseDateAllocs(t *testing.T) {
	for _, in := range []string{"45000", "15.03.2023", "2023-03-15T00:00:00Z"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseDate(in, false, 2026) }); n != 0 {
			t.Errorf("%q: %v allocs", in, n)
		}
	}
}

// FuzzParseDate: never panics; a parsed date is a real date; deterministic.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"45000", "45000.5", "15.03.2023", "5.3.23", "2023-03-15T10:11:12.5+01:00", "15/03/2023 10:11", "", "60", "29.02.2023"} {
		f.Add(s, false, 2026)
	}
	f.Fuzz(func(t *testing.T, s string, d1904 bool, asOf int) {
		got, code := ParseDate(s, d1904, asOf)
		if code == "" && !got.Valid() {
			t.Fatalf("%q gave invalid date %v", s, got)
		}
		if code != "" && code != DateMissing && code != DateFormat {
			t.Fatalf("unexpected code %q", code)
		}
		if g2, c2 := ParseDate(s, d1904, asOf); g2 != got || c2 != code {
			t.Fatal("not deterministic")
		}
	})
}

func BenchmarkParseDate(b *testing.B) {
	inputs := []string{"45000", "15.03.2023", "2023-03-15", "5.3.23"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = ParseDate(inputs[i&3], false, 2026)
	}
}
