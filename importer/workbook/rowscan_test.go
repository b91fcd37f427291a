package workbook

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
)

// scanAll feeds the XML to a rowScanner in chunks of n bytes.
func scanAll(xml string, n int) *rowScanner {
	s := &rowScanner{}
	for i := 0; i < len(xml); i += n {
		s.Write([]byte(xml[i:min(len(xml), i+n)]))
	}
	s.finish()
	return s
}

func TestRowScanner(t *testing.T) {
	long := `<row r="7" spans="1:12" ` + strings.Repeat(`x14ac:dyDescent="0.25" `, 20) + `>`
	tests := []struct {
		name string
		xml  string
		last int
	}{
		{"numbered", `<worksheet><sheetData><row r="1"><c r="A1"/></row><row r="5"/><row r="9"><c/></row></sheetData></worksheet>`, 9},
		{"no r: counted", `<sheetData><row><c/></row><row/><row>` + `</row></sheetData>`, 3},
		{"mixed", `<sheetData><row r="3"/><row/><row r="10"/><row/></sheetData>`, 11},
		{"prefixed", `<x:worksheet><x:sheetData><x:row r="2"><x:c/></x:row><x:row r="4"/></x:sheetData></x:worksheet>`, 4},
		{"single quotes and spaces", `<sheetData><row  r = '12' ></row></sheetData>`, 12},
		{"not rows", `<sheetData><row r="2"/></sheetData><rowBreaks count="1"><brk id="5"/></rowBreaks><rows/>`, 2},
		{"after sheetData ignored", `<sheetData><row r="2"/></sheetData><extLst><x:row r="99"/></extLst>`, 2},
		{"unparsable r counts as absent", `<sheetData><row r="4"/><row r="abc"/><row r=""/></sheetData>`, 6},
		{"text mentioning row", `<sheetData><row r="1"><c t="inlineStr"><is><t>arrow row &lt;row r="50"&gt;</t></is></c></row></sheetData>`, 1},
		{"long tag", `<sheetData>` + long + `</row></sheetData>`, 7},
		{"ends early", `<sheetData><row r="1"/><row r="2"/>`, 2},
		{"sheetData start tag matches too", `<sheetData><row r="3"/><row r="8"/></sheetData>`, 8},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 2, 3, 5, 7, 16, 64, 65, 200, 1 << 20} {
			s := scanAll(tt.xml, n)
			if s.unknown || s.last != tt.last {
				t.Errorf("%s (chunks of %d): last %d unknown %v, want %d", tt.name, n, s.last, s.unknown, tt.last)
			}
		}
	}
	// A row tag longer than maxRowTag switches the check off instead of guessing.
	s := scanAll(`<sheetData><row r="1" `+strings.Repeat("a", 2*maxRowTag)+`/></sheetData>`, 512)
	if !s.unknown {
		t.Error("an absurdly long row tag should make the count unknown")
	}
}

func TestWorksheetParts(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, body string) {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	add("_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="/xl/workbook.xml"/></Relationships>`)
	add("xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="A" sheetId="1" r:id="rId1"/><sheet name="Vaksinasjoner" sheetId="2" r:id="rId2"/><sheet name="C" sheetId="3" r:id="rId3"/></sheets></workbook>`)
	add("xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="x/worksheet" Target="/data/s.xml"/><Relationship Id="rId3" Type="x/worksheet" Target="../other/./c.xml"/></Relationships>`)
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got := worksheetParts(zr)
	want := map[string]string{"xl/worksheets/sheet1.xml": "A", "data/s.xml": "Vaksinasjoner", "other/c.xml": "C"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for p, name := range want {
		if len(got[p]) != 1 || got[p][0] != name {
			t.Errorf("%s: %v, want %s", p, got[p], name)
		}
	}
}

// FuzzRowScanner: the row count never depends on how the part is cut into writes, and the
// scanner never panics.
func FuzzRowScanner(f *testing.F) {
	f.Add(`<sheetData><row r="1"><c/></row><row/><x:row r="9"/></sheetData><row r="99"/>`, uint8(3))
	f.Add(`<sheetData><row r="4"/><row r="abc"/><row r=""/></sheetData>`, uint8(1))
	f.Fuzz(func(t *testing.T, xml string, n uint8) {
		whole := scanAll(xml, len(xml)+1)
		cut := scanAll(xml, int(n)%97+1)
		if whole.last != cut.last || whole.unknown != cut.unknown || whole.done != cut.done {
			t.Fatalf("whole: %d %v %v; in chunks of %d: %d %v %v", whole.last, whole.unknown, whole.done, int(n)%97+1, cut.last, cut.unknown, cut.done)
		}
	})
}
