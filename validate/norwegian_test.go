package validate

import (
	"fmt"
	"testing"
	"time"
)

// Norwegian formats without fmt on the row path (issue 6); it must give exactly what
// fmt.Sprintf("%02d.%02d.%04d") gives, for every date and for the odd values outside the
// fast path.
func TestNorwegianMatchesSprintf(t *testing.T) {
	cases := []Date{
		{}, {Year: 1, Month: 1, Day: 1}, {Year: 2026, Month: time.November, Day: 23}, {Year: 9999, Month: 12, Day: 31},
		{Year: 10000, Month: 1, Day: 1}, {Year: -1, Month: 1, Day: 1}, {Year: 2000, Month: 100, Day: 5},
		{Year: 2000, Month: 1, Day: 100}, {Year: 2000, Month: -1, Day: -5}, {Year: 99, Month: 9, Day: 9},
	}
	for d := (Date{Year: 1899, Month: 12, Day: 30}); d.Year < 1905; {
		cases = append(cases, d)
		d = DateOf(d.Time().AddDate(0, 0, 37))
	}
	for _, d := range cases {
		want := fmt.Sprintf("%02d.%02d.%04d", d.Day, int(d.Month), d.Year)
		if got := d.Norwegian(); got != want {
			t.Errorf("%+v: Norwegian() = %q, want %q", d, got, want)
		}
	}
}
