package fastxlsx

import (
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// nsMain is the (transitional) SpreadsheetML namespace. Strict OOXML
// (http://purl.oclc.org/ooxml/spreadsheetml/main) is not handled: ErrUnsupported.
const nsMain = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

// sst is the shared-strings table: every string's text, decoded, back to back in one arena,
// and offs[i]..offs[i+1] the bytes of string i. About len(text)+4 bytes per string, against
// ~40+ bytes of headers per string for a []string, and no per-string allocation.
type sst struct {
	data string   // the arena, converted once after parsing (never modified afterwards)
	offs []uint32 // len = count+1
}

func (t *sst) count() int { return len(t.offs) - 1 }

func (t *sst) get(i int) string { return t.data[t.offs[i]:t.offs[i+1]] }

// parseSST reads a sharedStrings part. limit bounds the decoded text plus index. partSize is
// the part's declared uncompressed size (0 if unknown): the decoded text is never longer, and
// each string takes at least 5 bytes of XML (<si/>), so the arena and the index are reserved
// once, up to the limit, instead of growing by repeated copying (which leaves several times the
// table's size of garbage behind: issue 6, peak RSS). Pages of the reservation that are never
// written are never touched.
func parseSST(s *scanner, limit, partSize int64) (*sst, error) {
	if err := rootElement(s, "sst"); err != nil {
		return nil, err
	}
	if !s.attrsOK("") {
		// excelize reads a small table with encoding/xml, which fails on these.
		return nil, unsupported("a count or uniqueCount that is not a number")
	}
	// Reserved whole (up to the cap), not clamped: a 200 MB part grew a 64 MiB reservation by
	// copying to 768 MB peak RSS (issue 17); fresh pages are zero, so what is reserved and
	// never written costs address space, not memory.
	hint := min(max(partSize, 512), limit)
	arena := make([]byte, 0, hint)
	offs := make([]uint32, 1, min(hint/5, limit/4)+1)
	for {
		switch s.next() {
		case tkEOF:
			return nil, scanErr(s, "the shared strings part ends early")
		case tkText:
			if !isBlank(s.text) {
				return nil, unsupported("text between shared strings")
			}
		case tkPI:
		case tkCDATA:
			return nil, unsupported("CDATA between shared strings")
		case tkEnd:
			if !s.isLocal("sst") {
				return nil, unsupported("mismatched end tag in shared strings")
			}
			// The rest of the part must be only whitespace, comments and PIs.
			if err := expectEnd(s); err != nil {
				return nil, err
			}
			// Freeze the arena: it is never written again, so strings can share it.
			t := &sst{offs: offs}
			if len(arena) > 0 {
				t.data = unsafe.String(&arena[0], len(arena))
			}
			return t, nil
		case tkStart:
			if !s.isLocal("si") {
				// encoding/xml's in-memory path ignores unknown children (extLst), excelize's
				// temp-file path would find <si> nested in them: only the first is safe.
				return nil, unsupported("an unknown element in the shared strings")
			}
			if !s.selfClose {
				var err error
				if arena, err = parseSI(s, arena); err != nil {
					return nil, err
				}
			}
			if int64(len(arena))+4*int64(len(offs)) > limit || len(arena) > math.MaxUint32-1 {
				return nil, &workbook.Error{Code: validate.FileTooLarge,
					Detail: fmt.Sprintf("the shared strings exceed the limit of %d bytes", limit),
					Args:   validate.Args{"detail": "shared strings", "limit": fmt.Sprint(limit)}}
			}
			offs = append(offs, uint32(len(arena)))
		}
	}
}

// parseSI parses the content of an <si> (shared string) or <is> (inline string) element whose
// non-self-closing start tag was just read, up to its end tag, and appends the text excelize's
// xlsxSI.String() yields: the top-level <t>, then every run's <t>, then bstrUnmarshal
// (_xHHHH_ escapes). Phonetic runs (rPh) and phoneticPr are ignored, as there.
func parseSI(s *scanner, dst []byte) ([]byte, error) {
	start := len(dst)
	sawT, sawR := false, false
	var name qname
	if !name.set(s) {
		return dst, unsupported("a long element name")
	}
	for {
		switch s.next() {
		case tkEOF:
			return dst, scanErr(s, "a string ends early")
		case tkText:
			if !isBlank(s.text) {
				return dst, unsupported("text outside <t> in a string item")
			}
		case tkCDATA:
			return dst, unsupported("CDATA outside <t> in a string item")
		case tkPI:
		case tkEnd:
			if !name.matches(s) {
				return dst, unsupported("mismatched end tag in a string item")
			}
			return bstrUnmarshal(dst, start), nil
		case tkStart:
			switch {
			case s.isLocal("t"):
				if sawT || sawR {
					// encoding/xml keeps the last <t>; and String() puts <t> before runs.
					return dst, unsupported("a string item with two <t> or <t> after a run")
				}
				sawT = true
				var err error
				if dst, err = readText(s, dst); err != nil {
					return dst, err
				}
			case s.isLocal("r"):
				sawR = true
				var err error
				if dst, err = parseRun(s, dst); err != nil {
					return dst, err
				}
			case s.isLocal("rPh") || s.isLocal("phoneticPr"):
				if !s.skipTyped() {
					return dst, scanErr(s, "")
				}
			default:
				return dst, unsupported("an unknown element in a string item")
			}
		}
	}
}

// parseRun parses a rich-text run <r> (rPr is skipped, the one <t> is appended).
func parseRun(s *scanner, dst []byte) ([]byte, error) {
	if s.selfClose {
		return dst, nil
	}
	var name qname
	if !name.set(s) {
		return dst, unsupported("a long element name")
	}
	sawT := false
	for {
		switch s.next() {
		case tkEOF:
			return dst, scanErr(s, "a rich text run ends early")
		case tkText:
			if !isBlank(s.text) {
				return dst, unsupported("text outside <t> in a run")
			}
		case tkCDATA:
			return dst, unsupported("CDATA outside <t> in a run")
		case tkPI:
		case tkEnd:
			if !name.matches(s) {
				return dst, unsupported("mismatched end tag in a run")
			}
			return dst, nil
		case tkStart:
			switch {
			case s.isLocal("t"):
				if sawT {
					return dst, unsupported("a run with two <t>")
				}
				sawT = true
				var err error
				if dst, err = readText(s, dst); err != nil {
					return dst, err
				}
			case s.isLocal("rPr"):
				if !s.skipTyped() {
					return dst, scanErr(s, "")
				}
			default:
				return dst, unsupported("an unknown element in a run")
			}
		}
	}
}

// readText appends the character data of the element whose start tag was just read (text and
// CDATA, entities decoded) up to its end tag. Nested elements are not handled.
func readText(s *scanner, dst []byte) ([]byte, error) {
	if s.selfClose {
		return dst, nil
	}
	var name qname
	if !name.set(s) {
		return dst, unsupported("a long element name")
	}
	for {
		var ok bool
		switch s.next() {
		case tkText:
			if dst, ok = appendText(dst, s.text); !ok {
				return dst, unsupported("text with characters or entities encoding/xml would change or reject")
			}
		case tkCDATA:
			if dst, ok = appendCDATA(dst, s.text); !ok {
				return dst, unsupported("CDATA with invalid characters")
			}
		case tkEnd:
			if !name.matches(s) {
				return dst, unsupported("mismatched end tag")
			}
			return dst, nil
		case tkPI:
			return dst, unsupported("a processing instruction inside text")
		case tkStart:
			return dst, unsupported("an element inside text")
		default:
			return dst, scanErr(s, "text ends early")
		}
	}
}

// bstrUnmarshal rewrites dst[start:] in place the way excelize's bstrUnmarshal (lib.go) does:
// every _xHHHH_ (leftmost, non-overlapping; H = [0-9A-Fa-f]) becomes the UTF-16 code unit
// HHHH as UTF-8 (strconv.Unquote of "\uHHHH": a surrogate half gives "", i.e. the escape is
// dropped); _x005F_ becomes "_". The output is never longer than the input.
func bstrUnmarshal(dst []byte, start int) []byte {
	b := dst[start:]
	if !containsX(b) {
		return dst
	}
	w := start
	i := 0
	for i < len(b) {
		if i+7 <= len(b) && b[i] == '_' && b[i+1] == 'x' && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]) && b[i+6] == '_' {
			v := rune(hexVal(b[i+2])<<12 | hexVal(b[i+3])<<8 | hexVal(b[i+4])<<4 | hexVal(b[i+5]))
			if !(v >= 0xD800 && v <= 0xDFFF) {
				var tmp [4]byte
				n := utf8.EncodeRune(tmp[:], v)
				w += copy(dst[w:], tmp[:n])
			}
			i += 7
			continue
		}
		dst[w] = b[i]
		w++
		i++
	}
	return dst[:w]
}

func containsX(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '_' && b[i+1] == 'x' {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}
