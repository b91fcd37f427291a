package workbook

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/fhi/sysvak-import/validate"
)

// NormalizeHeader reduces a header text to the form headers are matched in
// (filimport-columns.md "Columns", SPEC 1.2): Unicode NFC (a decomposed "Å" from macOS equals the
// composed one), lower case (Unicode-aware: "ØÆÅ" = "øæå"), and without whitespace of any kind
// (NBSP included), the punctuation `-` `_` `.` `:` `/`, other dashes (en/em dash) and invisible
// format characters (zero-width space, BOM). So "SYSVAK-kode" = "sysvak kode" = "SYSVAKKODE".
func NormalizeHeader(s string) string {
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || r == '.' || r == ':' || r == '/':
			continue
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	out := b.String()
	if !isASCII(out) {
		// Removing a format character between a letter and a combining mark ("e", ZWSP,
		// U+0301) or lower-casing can leave a string that is no longer NFC: compose again, so
		// that the result is a fixed point (FuzzHeader).
		out = norm.NFC.String(out)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ErrUnknownColumnKey is wrapped by NewMapping when an operator mapping names a column key that
// layout v1 does not have (a configuration error, exit code 3).
var ErrUnknownColumnKey = errors.New("unknown column key")

// Mapping resolves header texts to columns: the template header and synonyms of
// validate.Layout(), plus the operator's extra mappings from the config file ([columns]
// header = "key"). An extra mapping overrides a built-in name that normalises the same way: the
// operator knows their senders' files.
type Mapping struct {
	byName map[string]validate.Column
}

// NewMapping builds a Mapping. extra maps a header text to a column key ("person_id", ...); an
// unknown key, or a header that is empty after normalisation, is an error wrapping
// ErrUnknownColumnKey or describing the header.
func NewMapping(extra map[string]string) (*Mapping, error) {
	m := &Mapping{byName: make(map[string]validate.Column, 64)}
	for _, spec := range validate.Layout() {
		m.byName[NormalizeHeader(spec.Header)] = spec.Column
		m.byName[NormalizeHeader(spec.Key)] = spec.Column // "person_id" itself is accepted too
		for _, syn := range spec.Synonyms {
			m.byName[NormalizeHeader(syn)] = spec.Column
		}
	}
	// Sorted so that the error for several bad entries is deterministic.
	headers := make([]string, 0, len(extra))
	for h := range extra {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	for _, h := range headers {
		key := strings.TrimSpace(extra[h])
		col, ok := validate.ColumnByKey(key)
		if !ok {
			return nil, fmt.Errorf("workbook: column mapping %q = %q: %w (known: %s)", h, key, ErrUnknownColumnKey, strings.Join(columnKeys(), ", "))
		}
		n := NormalizeHeader(h)
		if n == "" {
			return nil, fmt.Errorf("workbook: column mapping %q = %q: the header is empty after normalisation", h, key)
		}
		m.byName[n] = col
	}
	return m, nil
}

// DefaultMapping is the mapping without operator extras.
func DefaultMapping() *Mapping {
	m, _ := NewMapping(nil) // cannot fail without extras
	return m
}

// Lookup returns the column a header text names.
func (m *Mapping) Lookup(header string) (validate.Column, bool) {
	n := NormalizeHeader(header)
	if n == "" {
		return 0, false
	}
	c, ok := m.byName[n]
	return c, ok
}

func columnKeys() []string {
	keys := make([]string, 0, validate.NumColumns)
	for c := validate.Column(0); c < validate.NumColumns; c++ {
		keys = append(keys, c.Key())
	}
	return keys
}
