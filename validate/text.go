package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeText applies SPEC 1.4 to a text cell: leading and trailing white space is removed and
// every internal run of white space (Unicode white space, so NBSP, TAB and line breaks count) is
// replaced by one ASCII space. It returns s itself, without allocating, when nothing changes.
func NormalizeText(s string) string {
	if textIsNormal(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// textIsNormal reports whether NormalizeText would return s unchanged.
func textIsNormal(s string) bool {
	prevSpace := true // a leading space is not normal
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case ' ':
				if prevSpace {
					return false
				}
				prevSpace = true
			case '\t', '\n', '\v', '\f', '\r':
				return false
			default:
				prevSpace = false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return false
		}
		prevSpace = false
		i += size
	}
	return !prevSpace || s == ""
}

// TrimCell trims Unicode white space (NBSP included) around a cell value, as Finding.Value holds it.
func TrimCell(s string) string {
	if s == "" || (s[0] > ' ' && s[0] < utf8.RuneSelf && s[len(s)-1] > ' ' && s[len(s)-1] < utf8.RuneSelf) {
		return s
	}
	return strings.TrimFunc(s, unicode.IsSpace)
}

// NormalizeHeader folds a header cell for matching against column names (SPEC 1.2,
// filimport-columns.md "Columns"): lower case, with white space and `-`, `_`, `.`, `:`, `/`
// removed, so "SYSVAK-kode", "sysvak kode" and "SYSVAKKODE" are equal.
func NormalizeHeader(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '-', r == '_', r == '.', r == ':', r == '/':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// MatchHeader returns the column of layout v1 whose header or synonym equals h after
// NormalizeHeader.
func MatchHeader(h string) (Column, bool) {
	n := NormalizeHeader(h)
	if n == "" {
		return 0, false
	}
	for _, spec := range Layout() {
		if NormalizeHeader(spec.Header) == n || NormalizeHeader(spec.Key) == n {
			return spec.Column, true
		}
		for _, syn := range spec.Synonyms {
			if NormalizeHeader(syn) == n {
				return spec.Column, true
			}
		}
	}
	return 0, false
}
