package fastxlsx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported marks a workbook (or a construct inside it) that fastxlsx does not read
// exactly like excelize. Callers check errors.Is(err, ErrUnsupported) and read the file with
// workbook.OpenExcelize instead (OpenWithFallback does that).
var ErrUnsupported = errors.New("fastxlsx: unsupported workbook construct")

// unsupported returns an error wrapping ErrUnsupported. what never quotes cell contents.
func unsupported(what string) error { return fmt.Errorf("%w: %s", ErrUnsupported, what) }

// maxWindow bounds the scanner's window: one token (a tag, or one text run up to the next '<')
// must fit in it. Excel's cell limit is 32,767 characters, so 16 MiB is generous.
const maxWindow = 16 << 20

type tokKind uint8

const (
	tkEOF tokKind = iota
	tkStart
	tkEnd
	tkText
	tkCDATA
	tkPI
)

type attr struct {
	prefix, local, val []byte
}

// scanner is a minimal pull tokenizer over the XML bytes of one part. Token slices (names,
// attribute values, text) point into the window and are valid until the next call to next.
// It is strict: everything encoding/xml (as excelize configures it) would reject, and
// everything whose meaning would depend on more than this scanner knows (DTDs, entities beyond
// the predefined five, raw carriage returns), is reported as ErrUnsupported.
type scanner struct {
	buf []byte // window
	pos int    // next unread byte in buf
	eof bool   // source exhausted
	err error  // sticky error (source or syntax)

	src func() ([]byte, error) // next chunk; (nil/partial, io.EOF) at the end
	rel func([]byte)           // give a chunk back after copying it

	consumed int64 // bytes pulled from the source

	// current token
	kind      tokKind
	prefix    []byte
	local     []byte
	text      []byte
	selfClose bool
	attrs     []attr
}

func newScanner(src func() ([]byte, error), rel func([]byte)) *scanner {
	return newScannerSize(src, rel, 2*chunkSize)
}

// newScannerSize is newScanner with the window's first capacity (it grows when a token needs it).
func newScannerSize(src func() ([]byte, error), rel func([]byte), window int) *scanner {
	return &scanner{src: src, rel: rel, buf: make([]byte, 0, window), attrs: make([]attr, 0, 8)}
}

// bytesScanner scans an in-memory document (tests, fuzzing, small parts).
func bytesScanner(b []byte) *scanner {
	done := false
	return newScanner(func() ([]byte, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		return b, io.EOF
	}, nil)
}

// pipeScanner scans the output of a pipe.
func pipeScanner(p *pipe) *scanner {
	window := 2 * chunkSize
	if p.sync != nil {
		window = len(p.sync)
	}
	return newScannerSize(p.next, p.release, window)
}

// more compacts the window and appends the next chunk. It returns false at the end of the
// source or on error (s.err set).
func (s *scanner) more() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf = s.buf[:n]
		s.pos = 0
	}
	c, err := s.src()
	if len(s.buf)+len(c) > maxWindow {
		s.err = unsupported("an XML token longer than 16 MiB")
		return false
	}
	s.buf = append(s.buf, c...)
	s.consumed += int64(len(c))
	if s.rel != nil && c != nil {
		s.rel(c)
	}
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.err = err
			return false
		}
	}
	return true
}

func (s *scanner) fail(what string) tokKind {
	if s.err == nil {
		s.err = unsupported(what)
	}
	s.kind = tkEOF
	return tkEOF
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// next reads the next token. Comments are skipped. It returns tkEOF at the end of the input or
// on error (see s.err).
func (s *scanner) next() tokKind {
	for {
		if s.err != nil {
			s.kind = tkEOF
			return tkEOF
		}
		b := s.buf[s.pos:]
		if len(b) == 0 {
			if !s.more() {
				s.kind = tkEOF
				return tkEOF
			}
			continue
		}
		if b[0] != '<' {
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				if !s.eof {
					if !s.more() && s.err != nil {
						return s.fail("")
					}
					continue
				}
				i = len(b)
			}
			s.kind, s.text = tkText, b[:i]
			s.pos += i
			return tkText
		}
		if len(b) < 2 {
			if s.more() {
				continue
			}
			return s.fail("truncated XML")
		}
		var n int
		var ok bool
		switch b[1] {
		case '/':
			n, ok = s.endTag(b)
		case '?':
			i := bytes.Index(b[2:], []byte("?>"))
			if i >= 0 {
				i += 2
				s.kind, s.text, n, ok = tkPI, b[2:i], i+2, true
				if !checkPI(s.text) {
					return s.fail("a processing instruction encoding/xml would reject (or an XML declaration with another version or encoding)")
				}
			}
		case '!':
			switch {
			case bytes.HasPrefix(b, []byte("<!--")):
				i := bytes.Index(b[4:], []byte("--"))
				if i >= 0 && 4+i+2 < len(b) {
					if b[4+i+2] != '>' {
						return s.fail("\"--\" inside a comment")
					}
					s.pos += 4 + i + 3
					continue
				}
			case bytes.HasPrefix(b, []byte("<![CDATA[")):
				i := bytes.Index(b[9:], []byte("]]>"))
				if i >= 0 {
					s.kind, s.text, n, ok = tkCDATA, b[9:9+i], 9+i+3, true
				}
			case len(b) >= 9:
				return s.fail("a DTD or markup declaration")
			}
		default:
			n, ok = s.startTag(b)
		}
		if s.err != nil {
			s.kind = tkEOF
			return tkEOF
		}
		if ok {
			s.pos += n
			return s.kind
		}
		if !s.more() {
			return s.fail("truncated XML")
		}
	}
}

// name parses an XML name at b[0:] and returns its prefix, local part and length.
func (s *scanner) name(b []byte) (prefix, local []byte, n int, ok bool) {
	colon := -1
	for n < len(b) {
		c := b[n]
		if isSpace(c) || c == '>' || c == '/' || c == '=' {
			break
		}
		switch {
		case c == ':':
			if colon >= 0 {
				s.err = unsupported("a name with two colons")
				return
			}
			colon = n
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		case c >= '0' && c <= '9' || c == '.' || c == '-':
			if n == 0 || n == colon+1 {
				// encoding/xml's isName: a name (and, for us, its local part) starts with a
				// letter or '_'.
				s.err = unsupported("an XML name that does not start with a letter")
				return
			}
		default:
			// Non-ASCII names, and bytes encoding/xml does not treat as part of a name.
			s.err = unsupported("a non-ASCII or invalid XML name")
			return
		}
		n++
	}
	if n == len(b) {
		return nil, nil, 0, false // need more input
	}
	if n == 0 || colon == 0 || colon == n-1 {
		s.err = unsupported("an invalid XML name")
		return
	}
	if colon > 0 {
		return b[:colon], b[colon+1 : n], n, true
	}
	return nil, b[:n], n, true
}

// startTag parses "<name attr='v' ...>" or "/>" at b. ok=false and s.err==nil: need more input.
func (s *scanner) startTag(b []byte) (int, bool) {
	p, l, n, ok := s.name(b[1:])
	if !ok {
		return 0, false
	}
	s.attrs = s.attrs[:0]
	i := 1 + n
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case '>':
			s.kind, s.prefix, s.local, s.selfClose = tkStart, p, l, false
			return i + 1, true
		case '/':
			if i+1 >= len(b) {
				return 0, false
			}
			if b[i+1] != '>' {
				s.err = unsupported("malformed start tag")
				return 0, false
			}
			s.kind, s.prefix, s.local, s.selfClose = tkStart, p, l, true
			return i + 2, true
		}
		if i > 1+n && !isSpace(b[i-1]) {
			s.err = unsupported("attributes without separating space")
			return 0, false
		}
		ap, al, an, ok := s.name(b[i:])
		if !ok {
			return 0, false
		}
		i += an
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return 0, false
		}
		if b[i] != '=' {
			s.err = unsupported("an attribute without a value")
			return 0, false
		}
		i++
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return 0, false
		}
		q := b[i]
		if q != '"' && q != '\'' {
			s.err = unsupported("an unquoted attribute value")
			return 0, false
		}
		j := bytes.IndexByte(b[i+1:], q)
		if j < 0 {
			return 0, false
		}
		v := b[i+1 : i+1+j]
		for _, c := range v {
			// Entities, '<', control characters (incl. a raw CR, which encoding/xml would
			// rewrite) and non-ASCII in attribute values: not needed for real files.
			if c == '&' || c == '<' || c < 0x20 || c >= 0x80 {
				s.err = unsupported("an attribute value with entities or non-ASCII characters")
				return 0, false
			}
		}
		s.attrs = append(s.attrs, attr{prefix: ap, local: al, val: v})
		i += 1 + j + 1
	}
}

// endTag parses "</name>" at b.
func (s *scanner) endTag(b []byte) (int, bool) {
	p, l, n, ok := s.name(b[2:])
	if !ok {
		return 0, false
	}
	i := 2 + n
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) {
		return 0, false
	}
	if b[i] != '>' {
		s.err = unsupported("malformed end tag")
		return 0, false
	}
	s.kind, s.prefix, s.local, s.selfClose = tkEnd, p, l, false
	return i + 1, true
}

// isLocal reports whether the current token's local name is name.
func (s *scanner) isLocal(name string) bool { return string(s.local) == name }

// skip consumes the rest of the element whose start tag was just read (and any nested
// elements), checking that end tags match.
func (s *scanner) skip() bool { return s.skipElem(false, "") }

// skipNoRows is skip, failing on any nested element named row (excelize's Next finds rows at
// any depth before </sheetData>).
func (s *scanner) skipNoRows() bool { return s.skipElem(true, "") }

// skipTyped is skip for an element that excelize decodes with encoding/xml into typed fields:
// the element's own attributes and those of its direct children are checked (attrsOK).
func (s *scanner) skipTyped() bool {
	if !s.attrsOK("") {
		s.fail("an attribute value encoding/xml would not convert")
		return false
	}
	return s.skipElem(false, string(s.local))
}

func (s *scanner) skipElem(noRows bool, typedParent string) bool {
	if s.selfClose {
		return true
	}
	var stack [64][2]string
	depth := 0
	stack[0] = [2]string{string(s.prefix), string(s.local)}
	for {
		switch s.next() {
		case tkEOF:
			if s.err == nil {
				s.fail("truncated XML")
			}
			return false
		case tkStart:
			if noRows && s.isLocal("row") {
				s.fail("a row outside sheetData")
				return false
			}
			if depth == 0 && typedParent != "" && !s.attrsOK(typedParent) {
				s.fail("an attribute value encoding/xml would not convert")
				return false
			}
			if s.selfClose {
				continue
			}
			depth++
			if depth >= len(stack) {
				s.fail("elements nested too deeply")
				return false
			}
			stack[depth] = [2]string{string(s.prefix), string(s.local)}
		case tkEnd:
			if string(s.prefix) != stack[depth][0] || string(s.local) != stack[depth][1] {
				s.fail("mismatched end tag")
				return false
			}
			if depth == 0 {
				return true
			}
			depth--
		case tkText:
			if !textOK(s.text) {
				s.fail("invalid characters or entities in text")
				return false
			}
		case tkCDATA:
			if !cdataOK(s.text) {
				s.fail("invalid characters in CDATA")
				return false
			}
		}
	}
}

// endMatches checks that the current end tag closes an element named prefix:local.
func (s *scanner) endMatches(prefix, local []byte) bool {
	return bytes.Equal(s.prefix, prefix) && bytes.Equal(s.local, local)
}

// isBlank reports whether b is only XML whitespace (structural whitespace between elements,
// whose value nobody reads, so a CR is harmless there).
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// validText reports whether raw text b (no entities decoded) holds only characters that
// encoding/xml accepts unchanged: no raw CR (encoding/xml rewrites it), no "]]>", valid UTF-8
// in the XML character range.
func validText(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 {
			if c != '\t' && c != '\n' {
				return false
			}
		} else if c >= 0x80 {
			ascii = false
		}
	}
	if bytes.Contains(b, []byte("]]>")) {
		return false
	}
	if ascii {
		return true
	}
	return validUTF8Chars(b)
}

func validUTF8Chars(b []byte) bool {
	for len(b) > 0 {
		if b[0] < 0x80 {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if !inCharRange(r) {
			return false
		}
		b = b[size:]
	}
	return true
}

// inCharRange is encoding/xml's isInCharacterRange.
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// appendText appends the text token b with its entity references decoded, as encoding/xml
// does in strict mode; ok=false for anything it would reject or rewrite.
func appendText(dst, b []byte) ([]byte, bool) {
	if !validText(b) {
		return dst, false
	}
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			return append(dst, b...), true
		}
		dst = append(dst, b[:i]...)
		b = b[i+1:]
		j := bytes.IndexByte(b, ';')
		if j < 0 {
			return dst, false
		}
		r, ok := entity(b[:j])
		if !ok {
			return dst, false
		}
		b = b[j+1:]
		dst = utf8.AppendRune(dst, r)
	}
}

// textOK reports whether appendText would accept b (for text that is skipped, not kept:
// encoding/xml rejects a bad entity wherever it is, and excelize then silently stops reading).
func textOK(b []byte) bool {
	if !validText(b) {
		return false
	}
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			return true
		}
		b = b[i+1:]
		j := bytes.IndexByte(b, ';')
		if j < 0 {
			return false
		}
		if _, ok := entity(b[:j]); !ok {
			return false
		}
		b = b[j+1:]
	}
}

// entity decodes the name of an entity reference (between '&' and ';'): the five predefined
// entities and character references, as encoding/xml accepts them in strict mode.
func entity(ent []byte) (rune, bool) {
	switch string(ent) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], uint64(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	if n > utf8.MaxRune {
		return 0, false
	}
	r := rune(n)
	if r >= 0xD800 && r <= 0xDFFF {
		r = utf8.RuneError // string(rune(surrogate)) in encoding/xml
	}
	if !inCharRange(r) {
		return 0, false
	}
	return r, true
}

// appendCDATA appends a CDATA section's content.
func appendCDATA(dst, b []byte) ([]byte, bool) {
	if !cdataOK(b) {
		return dst, false
	}
	return append(dst, b...), true
}

// cdataOK: no control characters (a raw CR would be rewritten), valid UTF-8 in the XML range.
func cdataOK(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' {
			return false
		}
	}
	return validUTF8Chars(b)
}

// checkPI accepts processing instructions that encoding/xml reads without a charset reader:
// any PI except an "xml" declaration with a version other than 1.0 or an encoding other than
// UTF-8.
func checkPI(b []byte) bool {
	if len(b) == 0 || isSpace(b[0]) {
		return false
	}
	target := b
	if i := bytes.IndexAny(b, " \t\n\r"); i >= 0 {
		target, b = b[:i], b[i:]
	} else {
		b = nil
	}
	for i, c := range target {
		// encoding/xml reads the target as an XML name; stay with plain ASCII names.
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-')) {
			return false
		}
	}
	if string(target) != "xml" {
		return true
	}
	if v, ok := piParam(b, "version"); ok && v != "1.0" {
		return false
	}
	if e, ok := piParam(b, "encoding"); ok && !strings.EqualFold(e, "utf-8") {
		return false
	}
	return validText(b)
}

// piParam finds param="value" (or '...') in an XML declaration, like encoding/xml's procInst.
func piParam(b []byte, param string) (string, bool) {
	s := string(b)
	idx := strings.Index(s, param)
	if idx < 0 {
		return "", false
	}
	s = strings.TrimLeft(s[idx+len(param):], " \t\n\r")
	if !strings.HasPrefix(s, "=") {
		return "", false
	}
	s = strings.TrimLeft(s[1:], " \t\n\r")
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return "", false
	}
	q := s[0]
	j := strings.IndexByte(s[1:], q)
	if j < 0 {
		return "", false
	}
	return s[1 : 1+j], true
}

// qname holds a copy of an element's prefix and local name (no allocation) to match its end
// tag against.
type qname struct {
	b      [40]byte
	np, nl uint8
}

func (q *qname) set(s *scanner) bool {
	if len(s.prefix)+len(s.local) > len(q.b) {
		return false
	}
	q.np = uint8(copy(q.b[:], s.prefix))
	q.nl = uint8(copy(q.b[q.np:], s.local))
	return true
}

func (q *qname) matches(s *scanner) bool {
	return bytes.Equal(s.prefix, q.b[:q.np]) && bytes.Equal(s.local, q.b[q.np:q.np+q.nl])
}

// attrsOK reports whether encoding/xml converts the attributes of the current start tag without
// error into the typed fields excelize decodes them into: the element itself when parent is "",
// else a child of parent. excelize reads <f>, inline strings and (in memory) the shared strings
// with encoding/xml; a conversion error there loses the rest of the cell or fails the file, so
// such a value must make fastxlsx give up, not read on. Attributes match by local name, whatever
// their prefix, as in encoding/xml.
func (s *scanner) attrsOK(parent string) bool {
	for _, a := range s.attrs {
		if k := attrKind(parent, string(s.local), string(a.local)); k != 0 && !typedValueOK(k, a.val) {
			return false
		}
	}
	return true
}

// attrKind is the kind of the field excelize (v2.11.1) decodes an attribute into: 'b' bool,
// 'i' int, 'u' uint32, 'f' float64; 0 for strings and attributes it ignores. The types are
// xlsxF, xlsxPhoneticRun, xlsxPhoneticPr, xlsxSST, and the children of xlsxRPr (attrValInt,
// attrValBool, attrValFloat, xlsxColor).
func attrKind(parent, elem, attr string) byte {
	switch parent {
	case "":
		switch elem {
		case "f":
			switch attr {
			case "aca", "dt2D", "dtr", "del1", "del2", "ca":
				return 'b'
			case "si":
				return 'i'
			}
		case "rPh":
			if attr == "sb" || attr == "eb" {
				return 'u'
			}
		case "phoneticPr":
			if attr == "fontId" {
				return 'i'
			}
		case "sst":
			if attr == "count" || attr == "uniqueCount" {
				return 'i'
			}
		}
	case "rPr":
		switch elem {
		case "charset", "family":
			if attr == "val" {
				return 'i'
			}
		case "b", "i", "strike", "outline", "shadow", "condense", "extend":
			if attr == "val" {
				return 'b'
			}
		case "sz":
			if attr == "val" {
				return 'f'
			}
		case "color":
			switch attr {
			case "auto":
				return 'b'
			case "indexed", "theme":
				return 'i'
			case "tint":
				return 'f'
			}
		}
	}
	return 0
}

// typedValueOK is encoding/xml's copyValue for the kind: empty is the zero value, else strconv
// on the value with surrounding space trimmed.
func typedValueOK(kind byte, v []byte) bool {
	if len(v) == 0 {
		return true
	}
	t := strings.TrimSpace(string(v))
	var err error
	switch kind {
	case 'b':
		_, err = strconv.ParseBool(t)
	case 'i':
		_, err = strconv.ParseInt(t, 10, 64)
	case 'u':
		_, err = strconv.ParseUint(t, 10, 32)
	case 'f':
		_, err = strconv.ParseFloat(t, 64)
	}
	return err == nil
}
