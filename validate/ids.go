package validate

import (
	"strings"
	"unicode"
)

// This file implements the person identifier rules of shared/reference/ids.md: normalisation
// (§2), type detection (§3), fødselsnummer (§4, including the 2032 control-digit rule), D-nummer
// (§5), H-nummer (§6), felles hjelpenummer (§7), synthetic and NAV numbers (§8) and DUF-nummer
// (§9), mapped to the finding codes of validation-rules.md "Identifiers".
//
// Normalisation decision (SPEC 1.4 versus ids.md §2 N3). SPEC 1.4 says an ID is "digits only
// after removing spaces, `-` and `.`"; ids.md N3 removes only white space and `-` and calls
// `151086.95088` invalid (and id_vectors.csv encodes that). Both are honoured this way:
//
//  1. The numeric renderings of a number cell are recognised first (N2): `N.0…` drops the zero
//     fraction; exact scientific notation is expanded; lossy scientific notation is
//     id.precision_lost; and a plain decimal number with a non-zero fraction (`151086.95088`,
//     exactly `digits.digits`) is a number, not an identifier with separators: id.format.
//  2. Otherwise `.` is a group separator like space and `-` (SPEC 1.4) and is removed, so text such
//     as `15.10.86 95088` or `2001.123456.09` is accepted.
//
// The lost-leading-zero repair (N5) is applied only to values that look like a number cell's
// rendering (no separator was removed): a number cell cannot hold separators, so a 10-digit value
// typed with separators lost a digit by a typing mistake, not by Excel. This is stricter than
// ids.md N5 and changes no row of id_vectors.csv (the test proves it).

// IDKind is the detailed kind of an identifier, in the vocabulary of id_vectors.csv (ids.md §12).
type IDKind string

// The identifier kinds (ids.md §3, §7, §8, §9).
const (
	KindFnr        IDKind = "fnr"
	KindDnr        IDKind = "dnr"
	KindHnr        IDKind = "hnr"     // H-nummer, also NAV Dolly (+40 on the month)
	KindDnrHnr     IDKind = "dnr+hnr" // D-nummer with the H offset
	KindFHnr       IDKind = "fhnr"    // felles hjelpenummer (first digit 8 or 9)
	KindDUF        IDKind = "duf"
	KindTenorFnr   IDKind = "tenor_fnr"   // Skatteetaten Tenor synthetic, month + 80
	KindTenorDnr   IDKind = "tenor_dnr"   // Tenor synthetic D-nummer
	KindSyntPopFnr IDKind = "syntpop_fnr" // Norsk helsenett SyntPop, month + 65
	KindSyntPopDnr IDKind = "syntpop_dnr"
	KindNPID       IDKind = "npid" // NAV person-ID, month + 20
)

// IDOptions are the switches of the identifier rules.
type IDOptions struct {
	// AsOfYear is the year of the as-of date: the upper bound of a DUF-nummer's year (ids.md §9)
	// and the limit for the legacy century table (§4.5). 0 means no upper bound.
	AsOfYear int
	// AllowSynthetic accepts Tenor and SyntPop synthetic numbers with id.synthetic as a warning
	// (test environments; ids.md §8). Otherwise id.synthetic is an error.
	AllowSynthetic bool
	// SkipDUFCheckDigits turns off the DUF check-digit test (config switch duf-check-digits,
	// default on: ids.md §9, validation-rules.md). The zero value checks them.
	SkipDUFCheckDigits bool
}

// IDResult is the outcome of CheckID.
type IDResult struct {
	// Normalized is the identifier after ids.md §2: 11 or 12 digits when it could be read (the
	// leading zero restored), otherwise the digits found so far (possibly empty). It is the full
	// number: never log it, mask it with MaskID.
	Normalized string
	// Type is fnr, dnr or duf when SYSVAK accepts the identifier (a synthetic number only with
	// AllowSynthetic), otherwise empty.
	Type IDType
	// Kind is the detailed kind as far as the layout tells it, also for an invalid number; empty
	// when not even the layout is recognisable.
	Kind IDKind
	// BirthDate is the date inside the number with the century of the legacy individnummer table
	// (ids.md §4.5); when that table gives no century (or a birth after the as-of year) it is the
	// latest century not after the as-of year, and BirthDateKnown is false. BirthDateKnown is also
	// false for a number whose K1 fits only the 2032 rule. Zero for FH and DUF.
	BirthDate      Date
	BirthDateKnown bool
	// Only2032 is set when K1 is valid only under the 2032 rule (ids.md §4.3).
	Only2032 bool
	// ZeroRestored is set when a lost leading zero was put back (id.leading_zero_restored).
	ZeroRestored bool

	codes          [2]Code
	n              uint8
	allowSynthetic bool
}

// Codes returns the finding codes for the identifier: at most one error-or-synthetic code and
// id.leading_zero_restored. Empty for an accepted identifier without remarks.
func (r *IDResult) Codes() []Code { return r.codes[:r.n] }

// Has reports whether the result carries code c.
func (r *IDResult) Has(c Code) bool {
	for _, x := range r.codes[:r.n] {
		if x == c {
			return true
		}
	}
	return false
}

// Severity is the severity of code c in this result: id.synthetic is a warning when synthetic
// numbers are allowed; every other code has its default severity.
func (r *IDResult) Severity(c Code) Severity {
	if c == IDSynthetic && r.allowSynthetic {
		return SeverityWarning
	}
	return c.DefaultSeverity()
}

// Accepted reports whether SYSVAK can register the identifier (no error code).
func (r *IDResult) Accepted() bool {
	for _, c := range r.codes[:r.n] {
		if r.Severity(c) == SeverityError {
			return false
		}
	}
	return true
}

// StructurallyValid reports whether the identifier is a valid number of its Kind, whether or not
// SYSVAK accepts that kind (the meaning of `valid` in id_vectors.csv).
func (r *IDResult) StructurallyValid() bool {
	if r.Kind == "" {
		return false
	}
	for _, c := range r.codes[:r.n] {
		switch c {
		case IDMissing, IDFormat, IDPrecisionLost, IDBirthdate, IDChecksum, IDDUFYear:
			return false
		}
	}
	return true
}

func (r *IDResult) add(c Code) {
	if int(r.n) < len(r.codes) {
		r.codes[r.n] = c
		r.n++
	}
}

// TypeName is the name of a refused identifier kind used in Args["type"] of id.type_not_allowed
// and id.synthetic (Norwegian; Localize translates it): "H-nummer", "felles hjelpenummer",
// "NPID", "Tenor", "SyntPop". Empty for accepted kinds.
func (k IDKind) TypeName() string {
	switch k {
	case KindHnr, KindDnrHnr:
		return "H-nummer"
	case KindFHnr:
		return "felles hjelpenummer"
	case KindNPID:
		return "NPID"
	case KindTenorFnr, KindTenorDnr:
		return "Tenor"
	case KindSyntPopFnr, KindSyntPopDnr:
		return "SyntPop"
	}
	return ""
}

// isIgnorable reports the characters ids.md §2 N1/N3 removes: Unicode white space (including
// NBSP, U+2007, U+202F) and the invisible U+200B, U+200C, U+200D, U+2060 and BOM U+FEFF.
func isIgnorable(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r':
		return true
	case 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF:
		return true
	}
	return r >= 0x80 && unicode.IsSpace(r)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func trimIgnorable(s string) string {
	// Fast path: ASCII without surrounding blanks.
	if s == "" || (s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80) {
		return s
	}
	return strings.TrimFunc(s, isIgnorable)
}

// maxIDDigits bounds the digits collected while normalising; longer values are id.format.
const maxIDDigits = 12

// normalizeID applies ids.md §2 N1-N4 (with the SPEC 1.4 decision above). It returns the digits
// (a substring of raw when nothing had to be removed, otherwise built in buf), whether the value
// could be a number cell's rendering, and a code when the value is unusable.
func normalizeID(raw string, buf *[maxIDDigits]byte) (digits string, numeric bool, code Code) {
	t := trimIgnorable(raw)
	if t == "" {
		return "", false, IDMissing
	}
	if allDigits(t) {
		return t, true, ""
	}
	// N2: numeric renderings.
	if d, ok, c := numericRendering(t, buf); ok {
		return d, true, c
	}
	// N3: separators; N4: digits only.
	n := 0
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			if n >= maxIDDigits {
				return string(buf[:n]), false, IDFormat
			}
			buf[n] = byte(r)
			n++
		case r == '-' || r == '.' || isIgnorable(r):
		default:
			return string(buf[:n]), false, IDFormat
		}
	}
	if n == 0 {
		return "", false, IDFormat
	}
	return string(buf[:n]), false, ""
}

// numericRendering recognises `N.0…`, `d.ddd…E+nn` and `N.F` (ids.md §2 N2). ok is false when t
// is none of these forms.
func numericRendering(t string, buf *[maxIDDigits]byte) (digits string, ok bool, code Code) {
	// Integer part.
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == 0 || i == len(t) {
		return "", false, ""
	}
	intPart := t[:i]
	frac := ""
	if t[i] == '.' {
		j := i + 1
		for j < len(t) && isDigit(t[j]) {
			j++
		}
		frac = t[i+1 : j]
		if frac == "" {
			return "", false, ""
		}
		if j == len(t) {
			// N.F: a plain decimal number.
			for k := 0; k < len(frac); k++ {
				if frac[k] != '0' {
					return intPart, true, IDFormat // a fraction: a number, not an identifier
				}
			}
			return intPart, true, ""
		}
		i = j
	}
	if t[i] != 'e' && t[i] != 'E' {
		return "", false, ""
	}
	// Scientific notation: one mantissa digit before the point.
	if len(intPart) != 1 {
		return "", false, ""
	}
	j := i + 1
	if j < len(t) && t[j] == '+' {
		j++
	}
	expStr := t[j:]
	if !allDigits(expStr) || len(expStr) > 3 {
		return "", false, ""
	}
	exp := 0
	for k := 0; k < len(expStr); k++ {
		exp = exp*10 + int(expStr[k]-'0')
	}
	if len(frac) < exp {
		return "", true, IDPrecisionLost // the digits are gone (ids.md §2 N2)
	}
	for k := exp; k < len(frac); k++ {
		if frac[k] != '0' {
			return "", true, IDFormat // not an integer
		}
	}
	if 1+exp > maxIDDigits {
		return "", true, IDFormat
	}
	buf[0] = intPart[0]
	copy(buf[1:], frac[:exp])
	return string(buf[:1+exp]), true, ""
}

// mod11 checks K1 and K2 of an 11-digit string (ids.md §4.3 exact validation rule). ok reports
// validity; only2032 is set when K1 passes only under the 2032 rule. allow2032 accepts remainders
// 1..3 for K1.
func mod11(s string, allow2032 bool) (ok, only2032 bool) {
	weightsK1 := [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}     // ids.md §4.2
	weightsK2 := [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2} // ids.md §4.2
	s1 := int(s[9] - '0')
	for i, w := range weightsK1 {
		s1 += w * int(s[i]-'0')
	}
	s2 := int(s[10] - '0')
	for i, w := range weightsK2 {
		s2 += w * int(s[i]-'0')
	}
	if s2%11 != 0 {
		return false, false
	}
	switch r1 := s1 % 11; {
	case r1 == 0:
		return true, false
	case allow2032 && r1 <= 3:
		return true, true
	}
	return false, false
}

// idDateOK is ids.md §3 step 1: the date must exist, February has 29 days iff YY % 4 == 0.
func idDateOK(day, month, yy int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	return day <= daysInMonth(month, yy%4 == 0)
}

// LegacyCentury returns the century (1800, 1900 or 2000) that the legacy individnummer table of
// ids.md §4.5 gives for individnummer iii and year yy, and false where the table is undefined.
// Use it only for warnings and the before-birth check: never to reject a number.
func LegacyCentury(iii, yy int) (int, bool) {
	switch {
	case iii < 0 || iii > 999 || yy < 0 || yy > 99:
		return 0, false
	case iii <= 499:
		return 1900, true
	case iii <= 749 && yy >= 54:
		return 1800, true
	case iii >= 500 && yy <= 39:
		return 2000, true
	case iii >= 900 && yy >= 40:
		return 1900, true
	}
	return 0, false
}

func num2(s string, i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }

// CheckID normalises and checks one person identifier cell (ids.md §2-§9). It never panics and
// does not allocate for a clean, valid 11- or 12-digit value.
func CheckID(raw string, o IDOptions) IDResult {
	var r IDResult
	r.allowSynthetic = o.AllowSynthetic
	var buf [maxIDDigits]byte
	s, numeric, code := normalizeID(raw, &buf)
	r.Normalized = s
	if code != "" {
		r.add(code)
		return r
	}
	switch len(s) {
	case 10:
		if !numeric {
			r.add(IDFormat)
			return r
		}
		// N5: a number cell lost its leading zero.
		var b [11]byte
		b[0] = '0'
		copy(b[1:], s)
		rr := CheckID(string(b[:]), o)
		if !rr.StructurallyValid() {
			r.add(IDFormat)
			return r
		}
		rr.ZeroRestored = true
		rr.add(IDLeadingZeroRestored)
		return rr
	case 11:
		checkFnrFamily(&r, s, o)
	case 12:
		checkDUF(&r, s, o)
	default:
		r.add(IDFormat)
	}
	return r
}

func checkFnrFamily(r *IDResult, s string, o IDOptions) {
	d1 := s[0] - '0'
	if d1 >= 8 {
		// ids.md §7: felles hjelpenummer; no date; old K1 rule only.
		r.Kind = KindFHnr
		if ok, _ := mod11(s, false); !ok {
			r.add(IDChecksum)
			return
		}
		r.add(IDTypeNotAllowed)
		return
	}
	dnr := d1 >= 4
	day := num2(s, 0)
	if dnr {
		day -= 40
	}
	mm := num2(s, 2)
	yy := num2(s, 4)
	month := mm
	allow2032 := true
	switch {
	case mm >= 1 && mm <= 12:
		r.Kind = pick(dnr, KindDnr, KindFnr)
	case mm >= 41 && mm <= 52:
		r.Kind = pick(dnr, KindDnrHnr, KindHnr)
		month -= 40
		allow2032 = false // ids.md §6/§13.2: old rule only for H-numbers
	case mm >= 81 && mm <= 92:
		r.Kind = pick(dnr, KindTenorDnr, KindTenorFnr)
		month -= 80
	case mm >= 66 && mm <= 77:
		r.Kind = pick(dnr, KindSyntPopDnr, KindSyntPopFnr)
		month -= 65
	case mm >= 21 && mm <= 32:
		r.Kind = KindNPID
		month -= 20
	default:
		// Month 00, 13-20, 33-40, 53-65, 78-80, 93-99: no valid layout (ids.md §3).
		r.Kind = pick(dnr, KindDnr, KindFnr)
		r.add(IDBirthdate)
		return
	}
	if !idDateOK(day, month, yy) {
		r.add(IDBirthdate)
		return
	}
	ok, only2032 := mod11(s, allow2032)
	if !ok {
		r.add(IDChecksum)
		return
	}
	r.Only2032 = only2032
	setBirthDate(r, day, month, yy, num2(s, 6)*10+int(s[8]-'0'), o.AsOfYear)
	if only2032 {
		// A K1 that fits only the 2032 rule marks a number issued from 2032, whose individnummer
		// no longer gives the century (ids.md §4.3).
		r.BirthDateKnown = false
	}
	switch r.Kind {
	case KindFnr:
		r.Type = IDTypeFnr
	case KindDnr:
		r.Type = IDTypeDnr
	case KindHnr, KindDnrHnr, KindNPID:
		r.add(IDTypeNotAllowed)
	case KindTenorFnr, KindSyntPopFnr:
		r.add(IDSynthetic)
		if o.AllowSynthetic {
			r.Type = IDTypeFnr
		}
	case KindTenorDnr, KindSyntPopDnr:
		r.add(IDSynthetic)
		if o.AllowSynthetic {
			r.Type = IDTypeDnr
		}
	}
}

func pick(c bool, a, b IDKind) IDKind {
	if c {
		return a
	}
	return b
}

// setBirthDate fills BirthDate from the legacy table (ids.md §4.5). The century counts as
// determined only when the table defines it, the date exists in that year (29.02.1900 does not,
// §4.4) and it is not after the as-of year (a legacy birth in the future means the table does not
// apply: a number issued after 2032, §4.3).
func setBirthDate(r *IDResult, day, month, yy, iii, asOfYear int) {
	if c, ok := LegacyCentury(iii, yy); ok {
		y := c + yy
		if realDate(y, month, day) && (asOfYear <= 0 || y <= asOfYear) {
			r.BirthDate = Date{Year: y, Month: monthOf(month), Day: day}
			r.BirthDateKnown = true
			return
		}
	}
	y := 2000 + yy
	if asOfYear > 0 && y > asOfYear {
		y = 1900 + yy
	}
	if !realDate(y, month, day) { // 29.02.1900 when the as-of year is before 2000
		day = 28
	}
	r.BirthDate = Date{Year: y, Month: monthOf(month), Day: day}
}

func checkDUF(r *IDResult, s string, o IDOptions) {
	// ids.md §9.
	r.Kind = KindDUF
	year := num2(s, 0)*100 + num2(s, 2)
	if year < 1854 || (o.AsOfYear > 0 && year > o.AsOfYear) {
		r.add(IDDUFYear)
		return
	}
	if !o.SkipDUFCheckDigits && !dufCheckDigitsOK(s) {
		r.add(IDChecksum)
		return
	}
	r.Type = IDTypeDUF
}

// dufCheckDigitsOK applies the assumed DUF algorithm (ids.md §9: weights 4 6 3 2 4 6 3 2 7 5,
// CC = sum mod 11 written as two digits).
func dufCheckDigitsOK(s string) bool {
	weightsDUF := [10]int{4, 6, 3, 2, 4, 6, 3, 2, 7, 5}
	sum := 0
	for i, w := range weightsDUF {
		sum += w * int(s[i]-'0')
	}
	return num2(s, 10) == sum%11
}
