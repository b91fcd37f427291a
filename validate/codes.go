package validate

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// This file holds the SYSVAK vaccine code list (filimport-columns.md "SYSVAK codes") and the
// rules of validation-rules.md "Vaccine code".

// CodeInfo is one SYSVAK code. A zero ValidFrom or ValidTo is open.
type CodeInfo struct {
	Code      string
	Name      string
	ATC       string
	ValidFrom Date
	ValidTo   Date
}

// ValidOn reports whether the code may be used for a vaccination on d (both bounds inclusive).
func (c CodeInfo) ValidOn(d Date) bool {
	if !c.ValidFrom.IsZero() && d.Before(c.ValidFrom) {
		return false
	}
	if !c.ValidTo.IsZero() && d.After(c.ValidTo) {
		return false
	}
	return true
}

// CodeList is an immutable SYSVAK code list.
type CodeList struct {
	codes   []CodeInfo // sorted by code
	idx     map[string]int
	partial bool
}

// Lookup finds a code (exact, upper case).
func (l *CodeList) Lookup(code string) (CodeInfo, bool) {
	i, ok := l.idx[code]
	if !ok {
		return CodeInfo{}, false
	}
	return l.codes[i], true
}

// All returns a copy of the codes, sorted by code.
func (l *CodeList) All() []CodeInfo { return append([]CodeInfo(nil), l.codes...) }

// Len is the number of codes.
func (l *CodeList) Len() int { return len(l.codes) }

// Partial reports whether this is the built-in list, which is known to be incomplete.
func (l *CodeList) Partial() bool { return l.partial }

func newCodeList(codes []CodeInfo, partial bool) *CodeList {
	sort.Slice(codes, func(i, j int) bool { return codes[i].Code < codes[j].Code })
	l := &CodeList{codes: codes, idx: make(map[string]int, len(codes)), partial: partial}
	for i, c := range codes {
		l.idx[c.Code] = i
	}
	return l
}

// DefaultCodes returns the built-in code list: exactly the codes of filimport-columns.md
// "SYSVAK codes", a PARTIAL list (the operator's full export replaces it with --codes).
// Descriptions are those of the reference. The covid-19 codes it lists without a published name
// (seen in SYSVAK extracts and public analysis scripts) get the plain Norwegian description
// "Covid-19-vaksine" rather than an invented product name or a note on where the code was seen,
// which reads oddly to a user (issue 12). All validity periods are open.
func DefaultCodes() *CodeList {
	const seen = "Covid-19-vaksine"
	return newCodeList([]CodeInfo{
		{Code: "AII02", Name: "Adjuvantert inaktivert influensavaksine (Fluad)", ATC: "J07BB02"},
		{Code: "ANX01", Name: "Miltbrann (Anthrax, BioThrax)", ATC: "J07AC01"},
		{Code: "BCG01", Name: "Tuberkulose, levende svekket (BCG-vaksine)", ATC: "J07AN01"},
		{Code: "DIF01", Name: "Difteri, toksoid (Difteri SSI)", ATC: "J07AF01"},
		{Code: "DT51", Name: "Tetanus og difteri, toksoid (diTeBooster)", ATC: "J07AM51"},
		{Code: "BNT03", Name: seen},
		{Code: "MOD03", Name: seen},
		{Code: "ASZ03", Name: seen},
		{Code: "JAN03", Name: seen},
		{Code: "SIN03", Name: seen},
		{Code: "CBA01", Name: seen},
		{Code: "CBA45", Name: seen},
		{Code: "CBB15", Name: seen},
		{Code: "CSH03", Name: seen},
		{Code: "CUR03", Name: seen},
		{Code: "NUV03", Name: seen},
		{Code: "SBA01", Name: seen},
		{Code: "SBA45", Name: seen},
		{Code: "VAL03", Name: seen},
		{Code: "XCO03", Name: seen},
		{Code: "XCV03", Name: seen},
		{Code: "XXC03", Name: seen},
		{Code: "XXS03", Name: seen},
	}, true)
}

// NormalizeCode trims a code cell and upper-cases ASCII letters; ok reports whether the result has
// the SYSVAK form `^[A-Z]{2,3}[0-9]{2}$` (filimport-columns.md). It allocates only when the cell
// holds lower-case letters.
func NormalizeCode(s string) (code string, ok bool) {
	t := TrimCell(s)
	if len(t) != 4 && len(t) != 5 {
		return t, false
	}
	lower := false
	for i := 0; i < len(t)-2; i++ {
		c := t[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			lower = true
		default:
			return t, false
		}
	}
	if !isDigit(t[len(t)-2]) || !isDigit(t[len(t)-1]) {
		return t, false
	}
	if lower {
		t = strings.ToUpper(t)
	}
	return t, true
}

// CheckCode applies the vaccine code rules: code.missing, code.format, code.unknown and, when the
// vaccination date is known (dateOK), code.inactive. It returns the normalised code.
func (l *CodeList) CheckCode(cell string, date Date, dateOK bool) (string, Code) {
	if TrimCell(cell) == "" {
		return "", CodeMissing
	}
	code, ok := NormalizeCode(cell)
	if !ok {
		return code, CodeFormat
	}
	info, found := l.Lookup(code)
	if !found {
		return code, CodeUnknown
	}
	if dateOK && !info.ValidOn(date) {
		return code, CodeInactive
	}
	return code, ""
}

// CodesCSVError is an error in a --codes CSV file; Line is 1-based.
type CodesCSVError struct {
	Line int
	Err  error
}

func (e *CodesCSVError) Error() string { return fmt.Sprintf("codes CSV line %d: %v", e.Line, e.Err) }
func (e *CodesCSVError) Unwrap() error { return e.Err }

// Errors classified by ParseCodesCSV (wrapped in *CodesCSVError).
var (
	ErrCodesHeader    = errors.New("header must name the columns code,name,atc,valid_from,valid_to")
	ErrCodesCode      = errors.New("code is not two or three letters followed by two digits")
	ErrCodesDuplicate = errors.New("code listed twice")
	ErrCodesDate      = errors.New("date is not YYYY-MM-DD")
	ErrCodesPeriod    = errors.New("valid_from is after valid_to")
	ErrCodesEmpty     = errors.New("no codes")
)

// ParseCodesCSV reads the --codes file (filimport-columns.md): a header `code,name,atc,
// valid_from,valid_to` (any order, case-insensitive; `code` and `name` required, unknown columns
// ignored), ISO dates, blank = open. A UTF-8 BOM is skipped, and `;` is accepted as the
// delimiter when the header uses it (Excel's CSV export in Norwegian locales). Codes are trimmed
// and upper-cased. Errors are *CodesCSVError naming the line.
func ParseCodesCSV(r io.Reader) (*CodeList, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	delim := ','
	if first, err := br.Peek(br.Buffered()); err == nil || len(first) > 0 {
		line := string(first)
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		if strings.Contains(line, ";") && !strings.Contains(line, ",") {
			delim = ';'
		}
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, &CodesCSVError{Line: 1, Err: ErrCodesEmpty}
	}
	if err != nil {
		return nil, &CodesCSVError{Line: csvLine(err, 1), Err: err}
	}
	col := map[string]int{"code": -1, "name": -1, "atc": -1, "valid_from": -1, "valid_to": -1}
	for i, h := range head {
		k := strings.ToLower(strings.TrimSpace(h))
		if j, ok := col[k]; ok && j < 0 {
			col[k] = i
		}
	}
	if col["code"] < 0 || col["name"] < 0 {
		return nil, &CodesCSVError{Line: 1, Err: ErrCodesHeader}
	}
	field := func(rec []string, k string) string {
		if i := col[k]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var codes []CodeInfo
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &CodesCSVError{Line: csvLine(err, 0), Err: err}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		code, ok := NormalizeCode(field(rec, "code"))
		if !ok {
			return nil, &CodesCSVError{Line: line, Err: fmt.Errorf("%w: %q", ErrCodesCode, code)}
		}
		if seen[code] {
			return nil, &CodesCSVError{Line: line, Err: fmt.Errorf("%w: %s", ErrCodesDuplicate, code)}
		}
		seen[code] = true
		ci := CodeInfo{Code: code, Name: NormalizeText(field(rec, "name")), ATC: field(rec, "atc")}
		for _, k := range [...]string{"valid_from", "valid_to"} {
			v := field(rec, k)
			if v == "" {
				continue
			}
			d, err := ParseISODate(v)
			if err != nil {
				return nil, &CodesCSVError{Line: line, Err: fmt.Errorf("%w: %s %q", ErrCodesDate, k, v)}
			}
			if k == "valid_from" {
				ci.ValidFrom = d
			} else {
				ci.ValidTo = d
			}
		}
		if !ci.ValidFrom.IsZero() && !ci.ValidTo.IsZero() && ci.ValidFrom.After(ci.ValidTo) {
			return nil, &CodesCSVError{Line: line, Err: ErrCodesPeriod}
		}
		codes = append(codes, ci)
	}
	if len(codes) == 0 {
		return nil, &CodesCSVError{Line: 2, Err: ErrCodesEmpty}
	}
	return newCodeList(codes, false), nil
}

func csvLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return def
}

// Version identifies the list's content: the number of codes and the first 12 hex digits of the
// SHA-256 of its lines (code, name, ATC, valid from, valid to), so that two lists with the same
// version are the same list (`sysvak-import --version`).
func (l *CodeList) Version() string {
	h := sha256.New()
	for _, c := range l.codes {
		fmt.Fprintf(h, "%s\t%s\t%s\t%v\t%v\n", c.Code, c.Name, c.ATC, c.ValidFrom, c.ValidTo)
	}
	return fmt.Sprintf("%d codes, sha256 %x", len(l.codes), h.Sum(nil)[:6])
}
