package validate

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// This file implements vaccination dates (SPEC 1.4 "Dates"; validation-rules.md "Dates"): Excel
// serials in the 1900 or 1904 system and the text layouts dd.mm.yyyy, d.m.yyyy, dd.mm.yy,
// yyyy-mm-dd (also with a `T` time, as t="d" cells hold it) and dd/mm/yyyy, each optionally
// followed by a time of day, which is ignored. Only real (Gregorian) calendar dates are accepted.

// ErrDate is returned by ParseISODate for text that is not a real YYYY-MM-DD date.
var ErrDate = errors.New("not a YYYY-MM-DD date")

// String returns the date as YYYY-MM-DD.
func (d Date) String() string {
	var b [10]byte
	return string(appendISO(b[:0], d))
}

// Norwegian formats d as dd.mm.yyyy, the way Norwegian users write dates.
func (d Date) Norwegian() string {
	if d.Day < 0 || d.Day > 99 || d.Month < 0 || d.Month > 99 || d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%02d.%02d.%04d", d.Day, int(d.Month), d.Year)
	}
	// The same digits without fmt: one allocation instead of three.
	m, y := int(d.Month), d.Year
	b := [10]byte{byte('0' + d.Day/10), byte('0' + d.Day%10), '.', byte('0' + m/10), byte('0' + m%10), '.',
		byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10)}
	return string(b[:])
}

func appendISO(b []byte, d Date) []byte {
	y := d.Year
	if y < 0 {
		y = 0
	}
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	m := int(d.Month)
	b = append(b, byte('0'+m/10%10), byte('0'+m%10), '-')
	return append(b, byte('0'+d.Day/10%10), byte('0'+d.Day%10))
}

// IsZero reports whether d is the zero Date (no date).
func (d Date) IsZero() bool { return d == Date{} }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return sign(d.Year - e.Year)
	case d.Month != e.Month:
		return sign(int(d.Month) - int(e.Month))
	}
	return sign(d.Day - e.Day)
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Valid reports whether d is a real calendar date in years 1-9999.
func (d Date) Valid() bool { return realDate(d.Year, int(d.Month), d.Day) }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseISODate parses YYYY-MM-DD (for --as-of and the --codes CSV).
func ParseISODate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:]) {
		return Date{}, ErrDate
	}
	y := num2(s, 0)*100 + num2(s, 2)
	m, d := num2(s, 5), num2(s, 8)
	if !realDate(y, m, d) {
		return Date{}, ErrDate
	}
	return Date{Year: y, Month: monthOf(m), Day: d}, nil
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(m int, leap bool) int {
	switch m {
	case 2:
		if leap {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func realDate(y, m, d int) bool {
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(m, isLeap(y))
}

func monthOf(m int) time.Month { return time.Month(m) }

// civil converts days since 1970-01-01 to a date (H. Hinnant's days_from_civil inverse).
func civil(days int) Date {
	z := days + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{Year: y, Month: monthOf(m), Day: d}
}

// Days from 1970-01-01 to the serial bases.
const (
	days1899_12_30 = -25569 // 1900 system for serials >= 61
	days1899_12_31 = -25568 // 1900 system for serials 1..59
	days1904_01_01 = -24107 // 1904 system, serial 0
	maxSerial1900  = 2958465
	maxSerial1904  = 2957003
)

// SerialDate converts an Excel date serial (the whole days; a fraction is the time of day and is
// ignored by the caller) to a date. In the 1900 system serial 1 is 1900-01-01 and serial 60 is
// Excel's fictitious 1900-02-29 (the Lotus 1-2-3 bug), which is not a real date: false. In the
// 1904 system serial 0 is 1904-01-01.
func SerialDate(serial int, date1904 bool) (Date, bool) {
	if date1904 {
		if serial < 0 || serial > maxSerial1904 {
			return Date{}, false
		}
		return civil(days1904_01_01 + serial), true
	}
	switch {
	case serial < 1 || serial == 60 || serial > maxSerial1900:
		return Date{}, false
	case serial < 60:
		return civil(days1899_12_31 + serial), true
	}
	return civil(days1899_12_30 + serial), true
}

// ParseDate parses a vaccination date cell (SPEC 1.4). It returns DateMissing for a blank cell,
// DateFormat for anything that is not one of the forms or not a real date, and "" on success.
// asOfYear decides two-digit years: 00..(asOfYear % 100) are in the as-of century, the others in
// the century before. It does not allocate.
func ParseDate(s string, date1904 bool, asOfYear int) (Date, Code) {
	t := trimIgnorable(s)
	if t == "" {
		return Date{}, DateMissing
	}
	if d, ok, isSerial := parseSerial(t, date1904); isSerial {
		if !ok {
			return Date{}, DateFormat
		}
		return d, ""
	}
	if d, ok := parseTextDate(t, asOfYear); ok {
		return d, ""
	}
	return Date{}, DateFormat
}

// parseSerial recognises `digits` or `digits.digits` (a serial with a time-of-day fraction).
// A fraction is accepted only with at least three integer digits, so that a day.month typed
// without a year ("15.03") is not read as a serial.
func parseSerial(t string, date1904 bool) (d Date, ok, isSerial bool) {
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == 0 {
		return Date{}, false, false
	}
	if i < len(t) {
		if t[i] != '.' || i < 3 || !allDigits(t[i+1:]) {
			return Date{}, false, false
		}
	}
	if i > 8 {
		return Date{}, false, true
	}
	n, err := strconv.Atoi(t[:i])
	if err != nil {
		return Date{}, false, true
	}
	d, ok = SerialDate(n, date1904)
	return d, ok, true
}

// readNum reads 1..max digits at t[i:], returning the value, the count and the new index.
func readNum(t string, i, max int) (v, n, j int) {
	j = i
	for j < len(t) && n < max && isDigit(t[j]) {
		v = v*10 + int(t[j]-'0')
		n++
		j++
	}
	if j < len(t) && isDigit(t[j]) {
		return v, max + 1, j // too many digits
	}
	return v, n, j
}

func parseTextDate(t string, asOfYear int) (Date, bool) {
	var y, m, d, j int
	// yyyy-mm-dd
	if len(t) >= 8 && isDigit(t[0]) && isDigit(t[1]) && isDigit(t[2]) && isDigit(t[3]) && t[4] == '-' {
		var n int
		y, _, j = readNum(t, 0, 4)
		m, n, j = readNum(t, j+1, 2)
		if n < 1 || n > 2 || j >= len(t) || t[j] != '-' {
			return Date{}, false
		}
		d, n, j = readNum(t, j+1, 2)
		if n < 1 || n > 2 || !timeSuffix(t[j:], true) {
			return Date{}, false
		}
	} else {
		var n, yn int
		d, n, j = readNum(t, 0, 2)
		if n < 1 || n > 2 || j >= len(t) {
			return Date{}, false
		}
		sep := t[j]
		if sep != '.' && sep != '/' {
			return Date{}, false
		}
		m, n, j = readNum(t, j+1, 2)
		if n < 1 || n > 2 || j >= len(t) || t[j] != sep {
			return Date{}, false
		}
		y, yn, j = readNum(t, j+1, 4)
		switch {
		case yn == 4:
		case yn == 2 && sep == '.':
			pivot := asOfYear % 100
			base := asOfYear - pivot
			if y <= pivot {
				y += base
			} else {
				y += base - 100
			}
		default:
			return Date{}, false
		}
		if !timeSuffix(t[j:], false) {
			return Date{}, false
		}
	}
	if !realDate(y, m, d) {
		return Date{}, false
	}
	return Date{Year: y, Month: monthOf(m), Day: d}, true
}

// timeSuffix accepts "", or a time of day after one or more spaces (or after `T` when iso):
// hh:mm, hh:mm:ss, hh:mm:ss.fff, optionally followed (ISO only) by Z or ±hh:mm / ±hhmm.
func timeSuffix(s string, iso bool) bool {
	if s == "" {
		return true
	}
	i := 0
	switch {
	case s[0] == ' ':
		for i < len(s) && s[i] == ' ' {
			i++
		}
	case iso && s[0] == 'T':
		i = 1
	default:
		return false
	}
	h, n, i := readNum(s, i, 2)
	if n < 1 || n > 2 || h > 23 || i >= len(s) || s[i] != ':' {
		return false
	}
	mi, n, i := readNum(s, i+1, 2)
	if n != 2 || mi > 59 {
		return false
	}
	if i < len(s) && s[i] == ':' {
		var sec int
		sec, n, i = readNum(s, i+1, 2)
		if n != 2 || sec > 60 {
			return false
		}
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j == i+1 {
				return false
			}
			i = j
		}
	}
	if i == len(s) {
		return true
	}
	if !iso {
		return false
	}
	rest := s[i:]
	switch {
	case rest == "Z":
		return true
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		if len(z) == 5 && z[2] == ':' && allDigits(z[:2]) && allDigits(z[3:]) {
			return true
		}
		return len(z) == 4 && allDigits(z) || len(z) == 2 && allDigits(z)
	}
	return false
}
