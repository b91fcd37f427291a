package annotate

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// normalizePackage rewrites what other producers write legally but excelize's writer mishandles
// (issue 12), and returns nil when the package needs none of it:
//
//   - a relationship Target given as an absolute part name ("/xl/comments/comment1.xml", as
//     openpyxl writes them) becomes relative to the part that owns the relationship; excelize
//     otherwise writes a zip entry whose name starts with "/".
//   - a sheet's comments and VML parts get the names excelize derives from each other
//     (xl/comments<n>.xml, xl/drawings/vmlDrawing<n>.vml); excelize otherwise writes the new
//     comments to a part nothing references (openpyxl's xl/comments/comment1.xml).
//   - a VML shape whose id is not "_x0000_s<n>" (LibreOffice writes "shape_0" for every note)
//     gets a fresh one; excelize otherwise fails with strconv.Atoi.
//
// limit bounds the uncompressed size of each part that is read.
func normalizePackage(in io.ReaderAt, size, limit int64) ([]byte, error) {
	zr, err := zip.NewReader(in, size)
	if err != nil {
		return nil, err
	}
	p := &pkg{parts: map[string]*zip.File{}, rels: map[string]*relationships{}, changed: map[string][]byte{}, rename: map[string]string{}}
	for _, zf := range zr.File {
		p.parts[zf.Name] = zf
	}
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".rels") {
			continue
		}
		b, err := readPart(zf, limit)
		if err != nil {
			return nil, err
		}
		if err := p.loadRels(zf.Name, b); err != nil {
			return nil, err
		}
	}
	p.canonicalComments()
	for _, zf := range zr.File {
		if !strings.HasSuffix(strings.ToLower(zf.Name), ".vml") {
			continue
		}
		b, err := readPart(zf, limit)
		if err != nil {
			return nil, err
		}
		if out := renumberShapes(b); out != nil {
			p.changed[zf.Name] = out
		}
	}
	if err := p.marshalRels(); err != nil {
		return nil, err
	}
	if len(p.rename) > 0 {
		if zf, ok := p.parts["[Content_Types].xml"]; ok {
			b, err := readPart(zf, limit)
			if err != nil {
				return nil, err
			}
			for from, to := range p.rename {
				b = bytes.ReplaceAll(b, []byte(`PartName="/`+from+`"`), []byte(`PartName="/`+to+`"`))
			}
			p.changed[zf.Name] = b
		}
	}
	if len(p.changed) == 0 && len(p.rename) == 0 {
		return nil, nil
	}
	return p.write(zr.File)
}

// pkg is a package being normalized: its parts, parsed relationships parts (by part name),
// rewritten parts and renamed parts (old name -> new name; a part's own .rels follows it).
type pkg struct {
	parts   map[string]*zip.File
	rels    map[string]*relationships
	dirty   []string // rels parts to re-marshal
	changed map[string][]byte
	rename  map[string]string
}

func (p *pkg) loadRels(name string, b []byte) error {
	var rs relationships
	if err := xml.Unmarshal(b, &rs); err != nil {
		return fmt.Errorf("part %s: %w", name, err)
	}
	dir := relsSourceDir(name)
	dirty := false
	for i := range rs.Rels {
		r := &rs.Rels[i]
		if r.TargetMode == "External" || !strings.HasPrefix(r.Target, "/") {
			continue
		}
		r.Target = relativePath(dir, strings.TrimPrefix(r.Target, "/"))
		dirty = true
	}
	p.rels[name] = &rs
	if dirty {
		p.dirty = append(p.dirty, name)
	}
	return nil
}

// relsSourceDir is the folder of the part a relationships part belongs to:
// xl/worksheets/_rels/sheet1.xml.rels -> xl/worksheets; _rels/.rels -> "" (the root).
func relsSourceDir(relsName string) string {
	dir := path.Dir(path.Dir(relsName))
	if dir == "." {
		return ""
	}
	return dir
}

const (
	relTypeComments = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
	relTypeVML      = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
)

// canonicalComments renames each sheet's comments and VML parts to xl/comments<n>.xml and
// xl/drawings/vmlDrawing<n>.vml (the same n) unless they already are.
func (p *pkg) canonicalComments() {
	names := make([]string, 0, len(p.rels))
	for n := range p.rels {
		names = append(names, n)
	}
	sort.Strings(names)
	used := map[string]bool{}
	for n := range p.parts {
		used[n] = true
	}
	next := 1
	for _, relsName := range names {
		rs := p.rels[relsName]
		dir := relsSourceDir(relsName)
		var cmt, vml *relationship
		for i := range rs.Rels {
			switch r := &rs.Rels[i]; {
			case r.TargetMode == "External":
			case r.Type == relTypeComments && cmt == nil:
				cmt = r
			case r.Type == relTypeVML && vml == nil:
				vml = r
			}
		}
		if cmt == nil || vml == nil {
			continue
		}
		cPath, vPath := path.Join(dir, cmt.Target), path.Join(dir, vml.Target)
		if n, ok := strings.CutPrefix(vPath, "xl/drawings/vmlDrawing"); ok && cPath == "xl/comments"+strings.TrimSuffix(n, ".vml")+".xml" {
			if _, err := strconv.Atoi(strings.TrimSuffix(n, ".vml")); err == nil && strings.HasSuffix(n, ".vml") {
				continue
			}
		}
		if p.parts[cPath] == nil || p.parts[vPath] == nil || p.rename[cPath] != "" || p.rename[vPath] != "" {
			continue // a dangling or shared part: leave it to excelize
		}
		for used["xl/comments"+strconv.Itoa(next)+".xml"] || used["xl/drawings/vmlDrawing"+strconv.Itoa(next)+".vml"] {
			next++
		}
		newC, newV := "xl/comments"+strconv.Itoa(next)+".xml", "xl/drawings/vmlDrawing"+strconv.Itoa(next)+".vml"
		used[newC], used[newV] = true, true
		p.rename[cPath], p.rename[vPath] = newC, newV
		cmt.Target, vml.Target = relativePath(dir, newC), relativePath(dir, newV)
		p.dirty = append(p.dirty, relsName)
	}
}

func (p *pkg) marshalRels() error {
	for _, name := range p.dirty {
		out, err := xml.Marshal(p.rels[name])
		if err != nil {
			return err
		}
		p.changed[name] = append([]byte(xml.Header), out...)
	}
	return nil
}

// newName is the name a part is written under.
func (p *pkg) newName(name string) string {
	if to, ok := p.rename[name]; ok {
		return to
	}
	// The relationships part of a renamed part follows it.
	if strings.HasSuffix(name, ".rels") {
		dir, base := path.Split(name)
		src := path.Join(path.Dir(dir), strings.TrimSuffix(base, ".rels"))
		if to, ok := p.rename[src]; ok {
			return path.Join(path.Dir(to), "_rels", path.Base(to)+".rels")
		}
	}
	return name
}

func (p *pkg) write(files []*zip.File) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range files {
		name := p.newName(zf.Name)
		b, ok := p.changed[zf.Name]
		if !ok && name == zf.Name {
			if err := zw.Copy(zf); err != nil {
				return nil, err
			}
			continue
		}
		if !ok {
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			b, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func readPart(zf *zip.File, limit int64) ([]byte, error) {
	if limit > 0 && zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("part %s is larger than the limit", zf.Name)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	lr := io.Reader(rc)
	if limit > 0 {
		lr = io.LimitReader(rc, limit+1)
	}
	b, err := io.ReadAll(lr)
	if err != nil {
		return nil, err
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("part %s is larger than the limit", zf.Name)
	}
	return b, nil
}

type relationships struct {
	XMLName xml.Name       `xml:"http://schemas.openxmlformats.org/package/2006/relationships Relationships"`
	Rels    []relationship `xml:"Relationship"`
}

type relationship struct {
	ID         string `xml:"Id,attr"`
	Type       string `xml:"Type,attr"`
	Target     string `xml:"Target,attr"`
	TargetMode string `xml:"TargetMode,attr,omitempty"`
}

// relativePath is target (a package path without the leading "/") relative to dir.
func relativePath(dir, target string) string {
	if dir == "" {
		return target
	}
	from := strings.Split(dir, "/")
	to := strings.Split(target, "/")
	i := 0
	for i < len(from) && i < len(to)-1 && from[i] == to[i] {
		i++
	}
	return strings.Repeat("../", len(from)-i) + strings.Join(to[i:], "/")
}

var (
	// shapeTag is a VML shape start tag (v:shape, not v:shapetype or o:shapelayout).
	shapeTag = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?shape[\s>/][^>]*>`)
	shapeID  = regexp.MustCompile(`(\sid\s*=\s*)("[^"]*"|'[^']*')`)
	excelID  = regexp.MustCompile(`^_x0000_s([0-9]{1,9})$`)
)

// renumberShapes gives every VML shape whose id excelize cannot parse a fresh "_x0000_s<n>" id
// (above every id already there); nil when all ids are fine.
func renumberShapes(b []byte) []byte {
	tags := shapeTag.FindAll(b, -1)
	next, bad := 1024, 0
	for _, tag := range tags {
		m := shapeID.FindSubmatch(tag)
		if m == nil {
			bad++ // no id at all: excelize parses "" and fails the same way
			continue
		}
		id := string(bytes.Trim(m[2], `"'`))
		if sm := excelID.FindStringSubmatch(id); sm != nil {
			if n, err := strconv.Atoi(sm[1]); err == nil && n > next {
				next = n
			}
			continue
		}
		bad++
	}
	if bad == 0 {
		return nil
	}
	return shapeTag.ReplaceAllFunc(b, func(tag []byte) []byte {
		m := shapeID.FindSubmatch(tag)
		if m != nil && excelID.Match(bytes.Trim(m[2], `"'`)) {
			return tag
		}
		next++
		id := []byte(`"_x0000_s` + strconv.Itoa(next) + `"`)
		if m == nil {
			// Insert the attribute after the element name.
			end := bytes.IndexAny(tag, " \t\r\n/>")
			return append(append(append([]byte{}, tag[:end]...), append([]byte(" id="), id...)...), tag[end:]...)
		}
		return shapeID.ReplaceAllFunc(tag, func(attr []byte) []byte {
			sm := shapeID.FindSubmatch(attr)
			return append(append([]byte{}, sm[1]...), id...)
		})
	})
}
