package workbook

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"path"
	"strings"
)

// Why this file exists: excelize's row stream (Rows.Next) drops the XML decoder's errors, so a
// sheet whose XML breaks in the middle (a malformed tag, an undefined entity, nesting too deep
// for the decoder) simply ends there, and the rows after the break would be lost without a
// word -- the file half imported as if it were whole. The prescan therefore counts the rows of
// every worksheet part the way excelize numbers them (rowScanner), and the row iterator checks
// at the end that it got as far (excelRows.Next): if not, the file is file.corrupt.

// maxRowTag bounds the bytes of one <row ...> start tag the scanner keeps across writes. Real
// row tags are under 200 bytes; a longer one switches the check off for that part rather than
// risk a false alarm.
const maxRowTag = 4096

// rowScanner is an io.Writer fed with a worksheet part's XML. It finds the <row> start tags
// before </sheetData> and numbers them as excelize's Rows.Next does: each row is the previous
// number + 1, or its r attribute when that is a positive number.
type rowScanner struct {
	last    int  // the number of the last row element seen
	done    bool // </sheetData> seen: the rest is ignored
	unknown bool // a tag too long to follow: no check for this part
	carry   []byte
	joined  []byte
}

var (
	bRow       = []byte("row")
	bSheetData = []byte("sheetData>")
)

func (s *rowScanner) Write(p []byte) (int, error) {
	if s.done || s.unknown {
		return len(p), nil
	}
	buf := p
	if len(s.carry) > 0 {
		s.joined = append(append(s.joined[:0], s.carry...), p...)
		buf = s.joined
	}
	consumed := s.scan(buf, false)
	s.carry = append(s.carry[:0], buf[consumed:]...)
	if len(s.carry) > maxRowTag {
		s.unknown = true
	}
	return len(p), nil
}

// finish scans what is left after the last write.
func (s *rowScanner) finish() {
	if !s.done && !s.unknown && len(s.carry) > 0 {
		s.scan(s.carry, true)
	}
	s.carry, s.joined = nil, nil
}

// scan handles the row tags in buf and returns how many leading bytes are done with; the rest
// is kept for the next write, where a tag may continue. Matches in the last keep bytes wait for
// more data, and enough bytes before them are kept for tagStart to look back over a prefix.
func (s *rowScanner) scan(buf []byte, final bool) int {
	const keep = 64
	limit := len(buf)
	if !final {
		limit = max(0, len(buf)-keep)
	}
	end := -1 // start of the </sheetData> tag, when it is in buf
	for from := 0; ; {
		i := bytes.Index(buf[from:], bSheetData)
		if i < 0 {
			break
		}
		i += from
		if j := tagStart(buf, i); j >= 0 && buf[j+1] == '/' {
			end = j
			break
		}
		from = i + len(bSheetData)
	}
	if end >= 0 {
		limit = end // every row tag before </sheetData> is complete in buf
	}
	pos := 0
	for {
		i := bytes.Index(buf[pos:], bRow)
		if i < 0 {
			break
		}
		i += pos
		if end >= 0 && i >= end {
			break
		}
		if i >= limit {
			break
		}
		pos = i + len(bRow)
		if pos >= len(buf) {
			break
		}
		if c := buf[pos]; c != ' ' && c != '>' && c != '/' && c != '\t' && c != '\r' && c != '\n' {
			continue // rowBreaks, rows, ...
		}
		start := tagStart(buf, i)
		if start < 0 || buf[start+1] == '/' {
			continue // not a tag, or an end tag
		}
		gt := bytes.IndexByte(buf[pos:], '>')
		if gt < 0 {
			if final {
				s.unknown = true
				return len(buf)
			}
			return start
		}
		s.row(buf[pos : pos+gt])
		pos += gt + 1
	}
	if end >= 0 {
		s.done = true
		return len(buf)
	}
	if final {
		return len(buf)
	}
	return min(len(buf), max(pos, limit-keep))
}

// tagStart returns the index of the '<' that opens the element whose local name starts at i
// (directly, or after a namespace prefix "x:"), or -1.
func tagStart(buf []byte, i int) int {
	j := i - 1
	if j < 0 {
		return -1
	}
	if buf[j] == ':' {
		for j--; j >= 0 && i-j < 40 && isNameByte(buf[j]); j-- {
		}
		if j < 0 {
			return -1
		}
	}
	if buf[j] == '/' {
		j--
		if j >= 0 && buf[j] == '<' {
			return j
		}
		return -1
	}
	if buf[j] == '<' {
		return j
	}
	return -1
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// row numbers one row element from its attributes (the bytes after "row" up to '>').
func (s *rowScanner) row(attrs []byte) {
	if r, ok := attrInt(attrs, 'r'); ok && r > 0 {
		s.last = r
		return
	}
	s.last++
}

// attrInt finds the one-letter attribute name (not prefixed) and parses its value as a decimal
// number, as excelize's attrValToInt does (an unparsable value counts as absent).
func attrInt(attrs []byte, name byte) (int, bool) {
	for k := 1; k < len(attrs); k++ {
		if attrs[k] != name || !isSpace(attrs[k-1]) {
			continue
		}
		j := k + 1
		for j < len(attrs) && isSpace(attrs[j]) {
			j++
		}
		if j >= len(attrs) || attrs[j] != '=' {
			continue
		}
		for j++; j < len(attrs) && isSpace(attrs[j]); j++ {
		}
		if j >= len(attrs) || attrs[j] != '"' && attrs[j] != '\'' {
			return 0, false
		}
		q := attrs[j]
		v := 0
		digits := 0
		for j++; j < len(attrs) && attrs[j] != q; j++ {
			c := attrs[j]
			if c < '0' || c > '9' || v > 1<<40 {
				return 0, false
			}
			v = v*10 + int(c-'0')
			digits++
		}
		if j >= len(attrs) || digits == 0 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// worksheetParts maps the worksheet part names of the workbook (as zip entry names) to their
// sheet names, resolving the relationships as excelize does (sheet.go getWorksheetPath). It
// returns nil when the package structure cannot be read: excelize then reports it.
func worksheetParts(zr *zip.Reader) map[string][]string {
	files := make(map[string]*zip.File, len(zr.File))
	for _, zf := range zr.File {
		files[strings.ReplaceAll(zf.Name, `\`, "/")] = zf
	}
	type rels struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	read := func(name string, v any) bool {
		zf := files[name]
		if zf == nil || zf.UncompressedSize64 > 16<<20 {
			return false
		}
		rc, err := zf.Open()
		if err != nil {
			return false
		}
		defer rc.Close()
		return xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(v) == nil
	}
	var root rels
	if !read("_rels/.rels", &root) {
		return nil
	}
	wbPath := ""
	for _, r := range root.Rel {
		if strings.HasSuffix(r.Type, "/officeDocument") {
			wbPath = strings.TrimPrefix(r.Target, "/")
			break
		}
	}
	if wbPath == "" {
		return nil
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if !read(wbPath, &wb) {
		return nil
	}
	dir := path.Dir(wbPath)
	relsPath := strings.TrimPrefix(dir+"/_rels/"+path.Base(wbPath)+".rels", "./")
	var wr rels
	if !read(relsPath, &wr) {
		return nil
	}
	out := map[string][]string{}
	for _, s := range wb.Sheets {
		for _, r := range wr.Rel {
			if r.ID != s.ID {
				continue
			}
			t := strings.ReplaceAll(r.Target, `\`, "/")
			p := strings.TrimPrefix(path.Clean(dir+"/"+t), "/")
			if strings.HasPrefix(t, "/") {
				p = strings.TrimPrefix(path.Clean(t), "/")
			}
			out[p] = append(out[p], s.Name)
		}
	}
	return out
}
