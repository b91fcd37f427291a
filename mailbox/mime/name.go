package mime

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxFileNameBytes caps a sanitised file name.
const MaxFileNameBytes = 120

// SanitizeFileName turns a decoded attachment file name into a safe base name for display and
// metadata: the last path element only (both / and \ separate), no NUL, control, format (bidi
// overrides) or invalid UTF-8 characters, no leading dots or surrounding spaces, at most
// MaxFileNameBytes bytes with the extension kept. An empty result becomes "attachment".
// "../../etc/passwd" gives "passwd"; "Vaksiner Ålesund.xlsx" is unchanged.
func SanitizeFileName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == ' ' || r == '\u00a0':
			return ' '
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			r == '\u2028', r == '\u2029':
			return -1
		case r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|':
			return '_' // not allowed on Windows shares
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		return "attachment"
	}
	if len(name) > MaxFileNameBytes {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 10 {
			ext = name[i:]
		}
		base := name[:MaxFileNameBytes-len(ext)]
		for len(base) > 0 && !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = strings.TrimRight(base, ". ") + ext
	}
	return name
}

// Extension returns the lower-case extension of a (sanitised) file name, at most 8 characters of
// [a-z0-9], or "" -- the only part of a file name that may be logged (it may contain a person's name).
func Extension(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return ""
	}
	ext := strings.ToLower(name[i+1:])
	if len(ext) > 8 {
		return ""
	}
	for _, r := range ext {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return ""
		}
	}
	return ext
}
