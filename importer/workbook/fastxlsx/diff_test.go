package fastxlsx

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/importer/workbook"
)

// The differential tests feed the same workbook to fastxlsx and to the reference,
// workbook.OpenExcelize (excelize Rows + Columns(RawCellValue: true), libraries.md §1.4), and
// require identical rows: row numbers and cell values. FormulaNoValue is an extra the reference
// cannot see, so only values are compared.

const (
	nsRel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsPkg = "http://schemas.openxmlformats.org/package/2006/relationships"
)

// wbSpec describes a minimal workbook written into a zip by hand.
type wbSpec struct {
	sheet    string // sheet1.xml, complete document
	sst      string // sharedStrings.xml, complete document ("" = none)
	date1904 bool
	extra    string // extra <sheet> entries are not needed; extra workbookPr attributes
}

func (w wbSpec) zip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, body string) {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	put("[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`+
		`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`+
		`</Types>`)
	put("_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="`+nsPkg+`">`+
		`<Relationship Id="rId1" Type="`+nsRel+`/officeDocument" Target="xl/workbook.xml"/></Relationships>`)
	pr := ""
	if w.date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	put("xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="`+nsMain+`" xmlns:r="`+nsRel+`">`+pr+
		`<sheets><sheet name="Vaksinasjoner" sheetId="1" r:id="rId1"/></sheets></workbook>`)
	rels := `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="` + nsPkg + `">` +
		`<Relationship Id="rId1" Type="` + nsRel + `/worksheet" Target="/xl/worksheets/sheet1.xml"/>`
	if w.sst != "" {
		rels += `<Relationship Id="rId3" Type="` + nsRel + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	put("xl/_rels/workbook.xml.rels", rels+`</Relationships>`)
	put("xl/worksheets/sheet1.xml", w.sheet)
	if w.sst != "" {
		put("xl/sharedStrings.xml", w.sst)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type gotRow struct {
	Num    int
	Values []string
}

type gotSheet struct {
	Rows []gotRow
	Err  error
}

type gotBook struct {
	Sheets   []workbook.SheetInfo
	Date1904 bool
	Data     map[string]gotSheet
	Err      error
}

type opener func(ctx context.Context, data []byte) (workbook.Book, error)

func openFast(ctx context.Context, data []byte) (workbook.Book, error) {
	return Open(ctx, bytes.NewReader(data), int64(len(data)), Options{})
}

func openRef(ctx context.Context, data []byte) (workbook.Book, error) {
	return workbook.OpenExcelize(ctx, bytes.NewReader(data), int64(len(data)), workbook.Options{TmpDir: os.TempDir()})
}

func openFallback(ctx context.Context, data []byte) (workbook.Book, error) {
	return OpenWithFallback(ctx, bytes.NewReader(data), int64(len(data)), Options{Options: workbook.Options{TmpDir: os.TempDir()}})
}

func readAll(data []byte, open opener) gotBook {
	ctx := context.Background()
	b, err := open(ctx, data)
	if err != nil {
		return gotBook{Err: err}
	}
	defer b.Close()
	g := gotBook{Sheets: b.Sheets(), Date1904: b.Date1904(), Data: map[string]gotSheet{}}
	for _, s := range g.Sheets {
		it, err := b.Rows(ctx, s.Name)
		if err != nil {
			g.Data[s.Name] = gotSheet{Err: err}
			continue
		}
		var gs gotSheet
		for it.Next() {
			r := gotRow{Num: it.Num()}
			for _, c := range it.Cells() {
				r.Values = append(r.Values, c.Value)
			}
			gs.Rows = append(gs.Rows, r)
		}
		gs.Err = it.Err()
		_ = it.Close()
		g.Data[s.Name] = gs
	}
	return g
}

// compareBooks checks fastxlsx's result against the reference's. It returns how the fast reader
// fared: "ok", "unsupported" (the caller falls back; rows it returned before must be a prefix
// of the reference's).
func compareBooks(t testing.TB, name string, data []byte) string {
	t.Helper()
	return compareBooksMax(t, name, data, 0)
}

// compareBooksMax is compareBooks with MaxRows set on both readers (0 = the default). The fuzz
// target uses a small bound: excelize's Rows visits every row number up to the last one, so
// an input with row r="1000000" would otherwise cost a second per run.
func compareBooksMax(t testing.TB, name string, data []byte, maxRows int) string {
	t.Helper()
	fast := readAll(data, func(ctx context.Context, data []byte) (workbook.Book, error) {
		return Open(ctx, bytes.NewReader(data), int64(len(data)), Options{Options: workbook.Options{MaxRows: maxRows}})
	})
	ref := readAll(data, func(ctx context.Context, data []byte) (workbook.Book, error) {
		return workbook.OpenExcelize(ctx, bytes.NewReader(data), int64(len(data)), workbook.Options{TmpDir: os.TempDir(), MaxRows: maxRows})
	})
	if fast.Err != nil {
		if errors.Is(fast.Err, ErrUnsupported) {
			t.Logf("%s: %v", name, fast.Err)
			return "unsupported"
		}
		if ref.Err == nil {
			t.Errorf("%s: fastxlsx failed (%v), excelize read the file", name, fast.Err)
		}
		return "error"
	}
	if ref.Err != nil {
		// excelize refuses the file at open; fastxlsx must not read any sheet of it. If it
		// stops at a construct it does not read (ErrUnsupported), the fallback meets excelize's
		// refusal there.
		res := "unsupported"
		for sheet, fs := range fast.Data {
			if fs.Err == nil {
				t.Errorf("%s: excelize failed (%v), fastxlsx read sheet %q", name, ref.Err, sheet)
			}
			if !errors.Is(fs.Err, ErrUnsupported) {
				res = "error"
			}
		}
		return res
	}
	if !reflect.DeepEqual(fast.Sheets, ref.Sheets) || fast.Date1904 != ref.Date1904 {
		t.Errorf("%s: workbook differs: fast %v %v, ref %v %v", name, fast.Sheets, fast.Date1904, ref.Sheets, ref.Date1904)
	}
	res := "ok"
	for sheet, rs := range ref.Data {
		fs := fast.Data[sheet]
		if fs.Err != nil && errors.Is(fs.Err, ErrUnsupported) {
			t.Logf("%s/%s: %v", name, sheet, fs.Err)
			if !isPrefix(fs.Rows, rs.Rows) {
				t.Errorf("%s/%s: rows before the unsupported construct differ:\nfast %+v\nref  %+v", name, sheet, fs.Rows, rs.Rows)
			}
			res = "unsupported"
			continue
		}
		if (fs.Err == nil) != (rs.Err == nil) {
			t.Errorf("%s/%s: errors differ: fast %v, ref %v", name, sheet, fs.Err, rs.Err)
			continue
		}
		if fs.Err != nil && workbook.CodeOf(fs.Err) != workbook.CodeOf(rs.Err) {
			t.Errorf("%s/%s: error codes differ: fast %v, ref %v", name, sheet, fs.Err, rs.Err)
		}
		if fs.Err != nil {
			// Both fail with the same file-level code. excelize's prescan finds some problems
			// (rows beyond MaxRows) before the first row, fastxlsx when it gets there; the
			// pipeline drops the rows read before a file-level error, so only the rows both
			// returned must agree.
			if !isPrefix(fs.Rows, rs.Rows) && !isPrefix(rs.Rows, fs.Rows) {
				t.Errorf("%s/%s: rows before the error differ:\nfast %+v\nref  %+v", name, sheet, fs.Rows, rs.Rows)
			}
			continue
		}
		if !reflect.DeepEqual(fs.Rows, rs.Rows) {
			t.Errorf("%s/%s: rows differ:\nfast %+v\nref  %+v", name, sheet, fs.Rows, rs.Rows)
		}
	}
	return res
}

func isPrefix(a, b []gotRow) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

const (
	xmlDecl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	wsOpen  = xmlDecl + `<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><dimension ref="A1:D9"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetData>`
	wsClose = `</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
)

func ws(rows string) string { return wsOpen + rows + wsClose }

// testSST has plain, rich-text, phonetic, entity, whitespace, empty and _xHHHH_ entries.
const testSST = xmlDecl + `<sst xmlns="` + nsMain + `" count="9" uniqueCount="9">` +
	`<si><t>Fødselsnummer</t></si>` +
	`<si><r><t>Rich </t></r><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">text </t></r></si>` +
	`<si><t>漢字</t><rPh sb="0" eb="2"><t>カンジ</t></rPh><phoneticPr fontId="1"/></si>` +
	`<si><t>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;</t></si>` +
	`<si><t xml:space="preserve">  padded  </t></si>` +
	`<si><t/></si>` +
	`<si/>` +
	`<si><t>line_x000D_break _x005F_x0041_ _xD800_ _x00e6_</t></si>` +
	"<si><t>multi\nline\ttab</t></si>" +
	`</sst>`

// diffCases are sheet documents (with testSST when sst is set) for the differential test.
func diffCases() map[string]wbSpec {
	return map[string]wbSpec{
		"inline": {sheet: ws(`<row r="1"><c r="A1" t="inlineStr"><is><t>Fødselsnummer</t></is></c><c r="B1" t="inlineStr"><is><t xml:space="preserve"> Navn </t></is></c></row>` +
			`<row r="2"><c r="A2" t="inlineStr"><is><t>01025450058</t></is></c><c r="B2" t="inlineStr"><is><r><t>Rich</t></r><r><rPr><i/></rPr><t> run</t></r></is></c><c r="C2" s="1"><v>45294</v></c></row>`)},
		"shared": {sst: testSST, sheet: ws(`<row r="1" spans="1:9"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>` +
			`<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="s"><v>5</v></c><c r="C2" t="s"><v>6</v></c><c r="D2" t="s"><v>7</v></c><c r="E2" t="s"><v> 8 </v></c></row>` +
			`<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"/><c r="C3" t="s"><v></v></c><c r="D3" t="s"><v>1</v></c></row>`)},
		"types": {sheet: ws(`<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#DIV/0!</v></c><c r="D1" t="n"><v>1.5108695088E10</v></c>` +
			`<c r="E1" t="d"><v>2024-01-02T00:00:00Z</v></c><c r="F1" t="str"><v>text</v></c><c r="G1"><v>0301</v></c><c r="H1" t="unknown"><v>x</v></c><c r="I1" t="inlineStr"><v>iv</v></c></row>` +
			`<row r="2"><c r="A2" s="3"><v>45294.5</v></c><c r="B2"><v> 42 </v></c><c r="C2"><v>-0.000001</v></c></row>`)},
		"formulas": {sheet: ws(`<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f>A1*2</f></c><c r="C1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c><c r="D1" t="str"><f>""</f><v></v></c><c r="E1"><f t="shared" ref="E1:E3" si="0">A1</f><v>2</v></c></row>` +
			`<row r="2"><c r="A2"><f/></c></row><row r="3"><c r="E3"><f t="shared" si="0"/><v>7</v></c><c r="F3"><f>NOW()</f></c></row>`)},
		"entities": {sheet: ws(`<row r="1"><c r="A1" t="str"><v>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;&#xe6;&#230;</v></c><c r="B1" t="inlineStr"><is><t>a&amp;b</t></is></c>` +
			`<c r="C1" t="str"><v><![CDATA[<raw> & stuff]]></v></c><c r="D1" t="str"><v>1<!-- comment -->2</v></c><c r="E1" t="str"><v>a<![CDATA[b]]>c</v></c></row>`)},
		"bstr": {sheet: ws(`<row r="1"><c r="A1" t="inlineStr"><is><t>a_x000D_b</t></is></c><c r="B1" t="str"><v>a_x000D_b</v></c><c r="C1" t="inlineStr"><is><t>_x005F_x0041_ _x0041 _xZZZZ_ _x004a__x004B_</t></is></c></row>`)},
		"positions": {sheet: ws(`<row r="1"><c t="inlineStr"><is><t>A</t></is></c><c t="inlineStr"><is><t>B</t></is></c><c r="E1"><v>5</v></c><c><v>6</v></c></row>` +
			`<row><c r="B2"><v>1</v></c></row><row r="5"><c r="A5"/><c r="B5" s="2"/><c r="C5"><v>3</v></c></row><row r="6" spans="1:3"/><row r="7"><c r="A7"><v></v></c></row>` +
			`<row r="9"><c r="$A$9"><v>x</v></c></row>`)},
		"gaps-and-case": {sheet: ws(`<row r="3"><c r="c3"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>last</v></c></row>`)},
		"dotnet-prefix": {sst: xmlDecl + `<x:sst xmlns:x="` + nsMain + `" count="2" uniqueCount="2"><x:si><x:t>plain</x:t></x:si>` +
			`<x:si><x:r><x:rPr><x:b/></x:rPr><x:t>rich</x:t></x:r><x:r><x:t xml:space="preserve"> run</x:t></x:r></x:si></x:sst>`,
			sheet: xmlDecl + `<x:worksheet xmlns:x="` + nsMain + `"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>hi</x:t></x:is></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1"><x:v>3</x:v></x:c></x:row>` +
				`<x:row r="2"><x:c r="A2" x:t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>`},
		"1904":            {date1904: true, sheet: ws(`<row r="1"><c r="A1" s="1"><v>44332</v></c></row>`)},
		"whitespace":      {sheet: "\n" + xmlDecl + "<worksheet xmlns=\"" + nsMain + "\">\n  <sheetData>\n    <row r=\"1\" >\n      <c r=\"A1\" t=\"inlineStr\" >\n        <is>\n          <t xml:space=\"preserve\">  a\n b  </t>\n        </is>\n      </c>\n    </row>\n  </sheetData>\n</worksheet>\n"},
		"no-sheetdata":    {sheet: xmlDecl + `<worksheet xmlns="` + nsMain + `"><dimension ref="A1"/></worksheet>`},
		"empty-sheetdata": {sheet: xmlDecl + `<worksheet xmlns="` + nsMain + `"><sheetData/></worksheet>`},
		"single-quotes":   {sheet: xmlDecl + `<worksheet xmlns='` + nsMain + `'><sheetData><row r='1'><c r='A1' t='inlineStr'><is><t>q</t></is></c></row></sheetData></worksheet>`},
		"utf8":            {sheet: ws(`<row r="1"><c r="A1" t="inlineStr"><is><t>Ærlig øl på Åsen – 😀 ‰</t></is></c><c r="B1" t="str"><v>Tromsø</v></c></row>`)},
		// Unsupported by design: fastxlsx reports ErrUnsupported, the fallback reads them.
		"unsupported-order":   {sheet: ws(`<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>2</v></c></row>`)},
		"unsupported-dtd":     {sheet: xmlDecl + `<!DOCTYPE worksheet [<!ENTITY x "y">]><worksheet xmlns="` + nsMain + `"><sheetData/></worksheet>`},
		"unsupported-strict":  {sheet: xmlDecl + `<worksheet xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>`},
		"unsupported-midway":  {sheet: ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v><extLst/></c></row><row r="3"><c r="A3"><v>3</v></c></row>`)},
		"unsupported-rowback": {sheet: ws(`<row r="2"><c r="A2"><v>1</v></c></row><row r="1"><c r="A1"><v>2</v></c></row>`)},
		"unsupported-stray":   {sheet: ws(`<row r="1"><c r="A1"><v>1</v></c></row><c r="B1"><v>2</v></c><row r="2"><c r="A2"><v>3</v></c></row>`)},
		"unsupported-cr":      {sheet: ws("<row r=\"1\"><c r=\"A1\" t=\"str\"><v>a\r\nb</v></c></row>")},
		// Found by FuzzDifferential: encoding/xml rejects these wherever they are, and excelize
		// then stops reading the sheet without an error; fastxlsx must not read on.
		"unsupported-entity-in-f": {sheet: ws(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><f>"a"&amp</f><v>2</v></c><c r="B2"><v>3</v></c></row><row r="3"><c r="A3"><v>4</v></c></row>`)},
		"unsupported-pi-target":   {sheet: ws(`<row r="1"><c r="A1"><v>1</v></c></row><?1x data?><row r="2"><c r="A2"><v>2</v></c></row>`)},
		"unsupported-name":        {sheet: xmlDecl + `<worksheet xmlns="` + nsMain + `"><extLst><ext uri="x"><1a/></ext></extLst><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>`},
		"unsupported-name-byte":   {sheet: ws(`<row r="1"><c r="A1"><v>1</v><x*y/></c></row>`)},
		// excelize decodes <f>, inline strings and small shared-strings parts with encoding/xml
		// into typed fields: a value strconv refuses loses the rest of the cell or fails the file.
		"unsupported-f-si":      {sheet: ws(`<row r="1"><c r="A1"><f si="x">1</f><v>2</v></c></row><row r="2"><c r="A2"><v>3</v></c></row>`)},
		"unsupported-rpr-sz":    {sheet: ws(`<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><sz val="big"/></rPr><t>x</t></r></is></c></row>`)},
		"unsupported-sst-count": {sst: strings.Replace(testSST, `uniqueCount="9"`, `uniqueCount="W"`, 1), sheet: ws(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`)},
		"typed-attributes":      {sst: strings.Replace(testSST, `count="9"`, `count=" 9 "`, 1), sheet: ws(`<row r="1"><c r="A1"><f t="shared" si=" 0 " ca="1" aca="false">1</f><v>2</v></c>` + `<c r="B1" t="inlineStr"><is><r><rPr><b val="true"/><sz val="11.5"/><color theme="1" tint="-0.25"/></rPr><t>x</t></r><rPh sb="0" eb="1"><t>y</t></rPh></is></c><c r="C1" t="s"><v>1</v></c></row>`)},
	}
}

func TestDifferentialGenerated(t *testing.T) {
	for name, spec := range diffCases() {
		t.Run(name, func(t *testing.T) {
			data := spec.zip(t)
			res := compareBooks(t, name, data)
			if strings.HasPrefix(name, "unsupported-") {
				if res != "unsupported" {
					t.Errorf("want ErrUnsupported, got %s", res)
				}
				// The fallback must give excelize's rows exactly; where excelize refuses the file
				// at open (a sheet that is not well-formed), the fallback fails every sheet with
				// excelize's error (the pipeline then drops the rows read before it).
				fb, ref := readAll(data, openFallback), readAll(data, openRef)
				if ref.Err != nil {
					for sheet, fs := range fb.Data {
						if fs.Err == nil || fs.Err.Error() != ref.Err.Error() {
							t.Errorf("sheet %s: fallback error %v, excelize refuses the file: %v", sheet, fs.Err, ref.Err)
						}
					}
				} else if !reflect.DeepEqual(fb, ref) {
					t.Errorf("fallback differs from excelize:\nfallback %+v\nref      %+v", fb, ref)
				}
			} else if res != "ok" {
				t.Errorf("want the fast reader to read it, got %s: %+v", res, readAll(data, openFast))
			}
		})
	}
}

// TestFormulaNoValue checks the extra the reference cannot see (SPEC §1.4).
func TestFormulaNoValue(t *testing.T) {
	data := diffCases()["formulas"].zip(t)
	g := readAllCells(t, data)
	want := map[string]bool{"1/A": false, "1/B": true, "1/C": false, "1/D": false, "2/A": true, "3/E": false, "3/F": true}
	for k, v := range want {
		if got, ok := g[k]; !ok || got.FormulaNoValue != v {
			t.Errorf("%s: FormulaNoValue = %v (present %v), want %v", k, got.FormulaNoValue, ok, v)
		}
	}
}

func readAllCells(t *testing.T, data []byte) map[string]workbook.Cell {
	t.Helper()
	b, err := openFast(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	it, err := b.Rows(context.Background(), "Vaksinasjoner")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]workbook.Cell{}
	for it.Next() {
		for i, c := range it.Cells() {
			out[fmt.Sprintf("%d/%c", it.Num(), 'A'+i)] = c
		}
	}
	if it.Err() != nil {
		t.Fatal(it.Err())
	}
	return out
}

// TestDifferentialFixtures runs every fixture of fixtures/files and excelize's own test
// workbooks through both readers.
func TestDifferentialFixtures(t *testing.T) {
	var files []string
	fx, _ := filepath.Glob("../../../fixtures/files/*.xlsx")
	files = append(files, fx...)
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/xuri/excelize/v2@v2.11.1/test")
		more, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
		files = append(files, more...)
	}
	if len(fx) == 0 {
		t.Fatal("no fixtures in fixtures/files (run the fixture generator)")
	}
	counts := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res := compareBooks(t, filepath.Base(f), data)
		counts[res]++
		t.Logf("%-40s %s", filepath.Base(f), res)
	}
	if counts["ok"] < len(fx)/2 {
		t.Errorf("fastxlsx read only %d of %d files exactly: %v", counts["ok"], len(files), counts)
	}
}
