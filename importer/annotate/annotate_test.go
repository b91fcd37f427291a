package annotate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/fhi/sysvak-import/importer/template/xlsxtest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/internal/secret"
	"github.com/fhi/sysvak-import/validate"
)

// asOf is the fixed "today" of these tests.
var asOf = validate.Date{Year: 2026, Month: time.November, Day: 23}

// inputSpec describes a vaccinator's workbook as people make them: a title above the header,
// synonyms for header names, an unknown column, dates as real dates with their own format and as
// text, an identifier that lost its leading zero in a numeric cell, a pre-styled cell, an
// existing comment, an autofilter (a sheet-scoped defined name) and a second sheet with a formula
// pointing at the data.
type inputSpec struct {
	sheet      string // data sheet name
	firstSheet string // a sheet before the data sheet ("" = none)
	noHeader   bool   // no recognisable header at all
}

const (
	hdrRow = 3
	// Identifiers from id_vectors.csv: 15108695088 and 26111593816 valid, 13097248023 "K2 wrong",
	// 7020554821 "10 digits -> 07020554821 after leading-zero repair; warn".
	idValid, idValid2, idBadK2, idTen = "15108695088", "26111593816", "13097248023", 7020554821
)

func buildInput(t testing.TB, s inputSpec) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sheet := s.sheet
	must(f.SetSheetName("Sheet1", sheet))
	if s.firstSheet != "" {
		_, err := f.NewSheet(s.firstSheet)
		must(err)
		must(f.SetCellStr(s.firstSheet, "A1", "Les meg"))
		must(f.MoveSheet(s.firstSheet, sheet))
	}
	_, err := f.NewSheet("Oppsummering")
	must(err)
	must(f.SetCellStr(sheet, "A1", "Vaksinasjoner fra helsestasjonen"))
	header := []any{"Fnr", "Navn", "Dato", "Vaksine", "Dose", "Batch", "HPR", "Intern ref"}
	if s.noHeader {
		header = []any{"Hva", "Hvem", "Når"}
	}
	must(f.SetSheetRow(sheet, "A"+strconv.Itoa(hdrRow), &header))
	df := "dd.mm.yyyy"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &df})
	must(err)
	textStyle, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	must(err)
	boldGrey, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}}})
	must(err)
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	rows := [][]any{
		{idValid, "Kari Nordmann", d(2024, 5, 17), "BNT03", 1, "FK1234", "9144889", "r1"},
		{idBadK2, "Per", "17.05.2024", "ZZZ99", 2, "FK1", "123", "r2"},
		{idTen, "Ola", d(2023, 10, 30), "bnt03", nil, nil, "9144889", "r3"},
		{idValid2, "Kari", d(2030, 1, 1), "AII02", 25, "AB-1", "9144889", nil},
		{},
		{idValid, "Kari", d(2024, 6, 1), "MOD03", 2, "M1", "9144889", "r6"},
	}
	for i, r := range rows {
		n := hdrRow + 1 + i
		for j, v := range r {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, n)
			must(f.SetCellValue(sheet, cell, v))
			if j == 0 {
				if _, ok := v.(string); ok {
					must(f.SetCellStyle(sheet, cell, cell, textStyle))
				}
			}
			if _, ok := v.(time.Time); ok {
				must(f.SetCellStyle(sheet, cell, cell, dateStyle))
			}
		}
	}
	last := hdrRow + len(rows)
	// A pre-styled cell with a finding (D5, the unknown code) and an existing comment on it.
	must(f.SetCellStyle(sheet, "D5", "D5", boldGrey))
	must(f.AddComment(sheet, excelize.Comment{Cell: "D5", Author: "Lege", Text: "Sjekk denne koden"}))
	// A formula in the unknown column and on the second sheet.
	must(f.SetCellFormula(sheet, "H7", "LEN(B7)"))
	must(f.SetCellFormula("Oppsummering", "B1", fmt.Sprintf("COUNTA('%s'!A%d:A%d)", sheet, hdrRow+1, last)))
	must(f.SetCellStr("Oppsummering", "A1", "Antall rader"))
	must(f.AutoFilter(sheet, fmt.Sprintf("A%d:H%d", hdrRow, last), nil))
	idx, err := f.GetSheetIndex(sheet)
	must(err)
	f.SetActiveSheet(idx)
	var buf bytes.Buffer
	must(f.Write(&buf))
	return buf.Bytes()
}

// check reads a workbook with the project's reader and checks every row with validate.Checker,
// as the pipeline does (without dedup), returning localized findings in reading order.
func check(t testing.TB, b []byte) []validate.Finding {
	t.Helper()
	ctx := context.Background()
	book, err := workbook.OpenExcelize(ctx, bytes.NewReader(b), int64(len(b)), workbook.Options{})
	if err != nil {
		t.Fatalf("OpenExcelize: %v", err)
	}
	defer book.Close()
	var fs []validate.Finding
	sh, err := workbook.OpenSheet(ctx, book, workbook.ReadOptions{})
	if err != nil {
		var we *workbook.Error
		if !errors.As(err, &we) {
			t.Fatalf("OpenSheet: %v", err)
		}
		fs = append(fs, validate.Finding{Code: we.Code, Severity: validate.SeverityError, Args: we.Args})
	} else {
		defer sh.Close()
		if u := sh.Header().Unknown; len(u) > 0 {
			fs = append(fs, validate.Finding{Code: validate.HeaderUnknownColumn, Severity: validate.SeverityWarning,
				Args: validate.Args{"headers": strings.Join(u, ", ")}})
		}
		chk, err := validate.NewChecker(validate.Options{AsOf: asOf, Date1904: book.Date1904()})
		if err != nil {
			t.Fatal(err)
		}
		var out []validate.Finding
		for sh.Next() {
			_, out = chk.Check(sh.Row(), out[:0])
			fs = append(fs, out...)
		}
		if err := sh.Err(); err != nil {
			t.Fatalf("rows: %v", err)
		}
	}
	for i := range fs {
		validate.Localize("nb", &fs[i])
	}
	return fs
}

func annotate(t testing.TB, in []byte, fs []validate.Finding, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteWith(context.Background(), bytes.NewReader(in), int64(len(in)), fs, &buf, o); err != nil {
		t.Fatalf("WriteWith: %v", err)
	}
	return buf.Bytes()
}

func openBook(t testing.TB, b []byte, pw string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{Password: pw})
	if err != nil {
		t.Fatalf("excelize.OpenReader: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// cellRef returns the spreadsheet cell of a finding in the fixture (header in row 3, columns in
// the order of buildInput), "" when the fixture has no such column.
func cellRef(f validate.Finding) string {
	cols := map[string]string{"person_id": "A", "name": "B", "vaccination_date": "C", "sysvak_code": "D", "dose": "E", "batch": "F", "vaccinator_hpr": "G"}
	c, ok := cols[f.Column]
	if !ok || f.Row == 0 {
		return ""
	}
	return c + strconv.Itoa(f.Row)
}

func TestAnnotate(t *testing.T) {
	tests := []struct {
		name  string
		spec  inputSpec
		lang  string
		extra []validate.Finding // added to the checker's findings
	}{
		{name: "Vaksinasjoner nb", spec: inputSpec{sheet: "Vaksinasjoner"}, lang: "nb",
			// A finding on a column the file lacks (unit_id): no cell, linked to the status cell.
			extra: []validate.Finding{{Row: 6, Column: "unit_id", Code: validate.UnitFormat, Severity: validate.SeverityError}}},
		{name: "first visible sheet with quote in name, en", spec: inputSpec{sheet: "Kari's ark", firstSheet: ""}, lang: "en"},
		{name: "data sheet after another sheet", spec: inputSpec{sheet: "Vaksinasjoner", firstSheet: "Info"}, lang: "nb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := buildInput(t, tc.spec)
			fs := append(check(t, in), tc.extra...)
			for i := range fs {
				if fs[i].Message == "" {
					validate.Localize(tc.lang, &fs[i])
				}
			}
			wantCodes := map[validate.Code]bool{}
			for _, f := range fs {
				wantCodes[f.Code] = true
			}
			// The fixture exercises errors, warnings and a file-level finding.
			for _, c := range []validate.Code{validate.IDChecksum, validate.CodeUnknown, validate.IDLeadingZeroRestored,
				validate.BatchMissing, validate.DateFuture, validate.DoseFormat, validate.HeaderUnknownColumn} {
				if !wantCodes[c] {
					t.Fatalf("fixture lost finding %s; have %v", c, wantCodes)
				}
			}
			out := annotate(t, in, fs, Options{Lang: tc.lang})
			orig, cp := openBook(t, in, ""), openBook(t, out, "")
			sheet := tc.spec.sheet
			lab := validate.ByLang(tc.lang, labelsNB, labelsEN)

			// Sheets: Funn first and active, the others in their order after it.
			wantSheets := append([]string{SheetFindings}, orig.GetSheetList()...)
			if got := cp.GetSheetList(); !slices.Equal(got, wantSheets) {
				t.Fatalf("sheets = %q, want %q", got, wantSheets)
			}
			if i := cp.GetActiveSheetIndex(); i != 0 {
				t.Errorf("active sheet = %d, want 0 (%s)", i, SheetFindings)
			}
			// Sheet-scoped names (the autofilters' _FilterDatabase) stay with the sheet they
			// refer to, although Funn was moved in front of it (excelize does not shift them).
			filters := 0
			for _, dn := range cp.GetDefinedName() {
				if dn.Name != "_xlnm._FilterDatabase" {
					continue
				}
				filters++
				// (excelize's AutoFilter, which made the fixture, does not double an apostrophe.)
				ref, _, _ := strings.Cut(dn.RefersTo, "!")
				if strings.ReplaceAll(strings.Trim(ref, "'"), "''", "'") != dn.Scope {
					t.Errorf("defined name %s scoped to %q refers to %q", dn.Name, dn.Scope, dn.RefersTo)
				}
			}
			if filters != 2 {
				t.Errorf("%d autofilter names, want 2 (the data sheet's and Funn's)", filters)
			}

			// Values: every original cell identical; new cells only in the status column (I).
			assertValuesKept(t, orig, cp, "I")

			// Highlight and comments per cell.
			bySev := map[string]validate.Severity{}
			byCell := map[string][]validate.Finding{}
			for _, f := range fs {
				ref := cellRef(f)
				if ref == "" {
					continue
				}
				byCell[ref] = append(byCell[ref], f)
				if bySev[ref] != validate.SeverityError {
					bySev[ref] = f.Severity
				}
			}
			comments := commentMap(t, cp, sheet)
			for ref, sev := range bySev {
				st := xlsxtest.CellStyle(t, cp, sheet, ref)
				want := FillWarning
				if sev == validate.SeverityError {
					want = FillError
				}
				if st.Fill.Pattern != 1 || len(st.Fill.Color) == 0 || !strings.EqualFold(st.Fill.Color[0], want) {
					t.Errorf("%s fill = %+v, want %s (%s)", ref, st.Fill, want, sev)
				}
				// The rest of the style is the original's: number format and font.
				o := xlsxtest.CellStyle(t, orig, sheet, ref)
				if st.NumFmt != o.NumFmt || deref(st.CustomNumFmt) != deref(o.CustomNumFmt) {
					t.Errorf("%s number format %d/%q, want original %d/%q", ref, st.NumFmt, deref(st.CustomNumFmt), o.NumFmt, deref(o.CustomNumFmt))
				}
				if bold(st) != bold(o) {
					t.Errorf("%s bold = %v, want original %v", ref, bold(st), bold(o))
				}
				c, ok := comments[ref]
				if !ok {
					t.Errorf("%s has no comment", ref)
					continue
				}
				if c.Author != Author {
					t.Errorf("%s comment author = %q", ref, c.Author)
				}
				text := commentText(c)
				for _, f := range byCell[ref] {
					if !strings.Contains(text, string(f.Code)) || !strings.Contains(text, f.Message) {
						t.Errorf("%s comment %q lacks %s / %q", ref, text, f.Code, f.Message)
					}
				}
			}
			if c := comments["D5"]; !strings.Contains(commentText(c), "Sjekk denne koden") {
				t.Errorf("the existing comment on D5 was lost: %q", commentText(c))
			}
			if n := len(comments); n != len(bySev) {
				t.Errorf("%d comments, want %d (one per cell with findings)", n, len(bySev))
			}
			// Cells without findings keep their style id's look: no fill added.
			for _, ref := range []string{"A4", "C4", "D4", "B5"} {
				if _, flagged := bySev[ref]; flagged {
					continue
				}
				if st := xlsxtest.CellStyle(t, cp, sheet, ref); len(st.Fill.Color) > 0 {
					t.Errorf("%s got a fill %v without a finding", ref, st.Fill.Color)
				}
			}

			// Status column after the last used column (H), in the header row.
			if v := value(t, cp, sheet, "I3"); v != lab.status {
				t.Errorf("status header I3 = %q", v)
			}
			rowSev := map[int]validate.Severity{}
			rowCodes := map[int][]string{}
			for _, f := range fs {
				if f.Row == 0 {
					continue
				}
				if rowSev[f.Row] != validate.SeverityError {
					rowSev[f.Row] = f.Severity
				}
				rowCodes[f.Row] = append(rowCodes[f.Row], string(f.Code))
			}
			for r := hdrRow + 1; r <= hdrRow+6; r++ {
				v := value(t, cp, sheet, "I"+strconv.Itoa(r))
				sev, has := rowSev[r]
				switch {
				case !has:
					if v != "" {
						t.Errorf("row %d status %q without findings", r, v)
					}
				case sev == validate.SeverityError && !strings.HasPrefix(v, lab.rejected+": "),
					sev == validate.SeverityWarning && !strings.HasPrefix(v, lab.warning+": "):
					t.Errorf("row %d status = %q, want %s", r, v, sev)
				}
				for _, c := range rowCodes[r] {
					if !strings.Contains(v, c) {
						t.Errorf("row %d status %q lacks %s", r, v, c)
					}
				}
			}

			// Funn: header, one row per finding in row order, links to the cells.
			rows, err := cp.GetRows(SheetFindings)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows[0], lab.columns[:]) {
				t.Errorf("Funn header = %q", rows[0])
			}
			if len(rows) != len(fs)+1 {
				t.Fatalf("Funn has %d findings, want %d", len(rows)-1, len(fs))
			}
			prev := -1
			seen := map[validate.Code]int{}
			for i, r := range rows[1:] {
				n := i + 2
				r = append(r, make([]string, 6)...)
				rowNum := 0
				if r[0] != "" {
					rowNum, _ = strconv.Atoi(r[0])
				}
				if rowNum < prev {
					t.Errorf("Funn row %d: spreadsheet row %d after %d", n, rowNum, prev)
				}
				prev = rowNum
				seen[validate.Code(r[3])]++
				ok, loc, err := cp.GetCellHyperLink(SheetFindings, "C"+strconv.Itoa(n))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case rowNum == 0:
					if ok || r[2] != "" {
						t.Errorf("file-level finding %s has a cell/link %q %q", r[3], r[2], loc)
					}
				case r[2] == "":
					t.Errorf("Funn row %d (%s, row %d) has no cell", n, r[3], rowNum)
				default:
					want := Location(sheet, r[2])
					if !ok || loc != want {
						t.Errorf("Funn C%d link = %v %q, want %q", n, ok, loc, want)
					}
					if !strings.HasSuffix(r[2], strconv.Itoa(rowNum)) {
						t.Errorf("Funn C%d = %s, not in row %d", n, r[2], rowNum)
					}
				}
				if r[4] != lab.errorWord && r[4] != lab.warningWord {
					t.Errorf("Funn E%d severity = %q", n, r[4])
				}
				if r[5] == "" {
					t.Errorf("Funn F%d: empty message", n)
				}
			}
			for _, f := range fs {
				seen[f.Code]--
			}
			for c, n := range seen {
				if n != 0 {
					t.Errorf("code %s listed %+d times too often", c, n)
				}
			}
			if len(tc.extra) > 0 {
				// The unit_id finding has no cell in the file: it links to the row's status cell.
				found := false
				for i, r := range rows[1:] {
					if len(r) > 3 && r[3] == string(validate.UnitFormat) {
						found = true
						if r[2] != "I6" {
							t.Errorf("Funn row %d: cell %q, want the status cell I6", i+2, r[2])
						}
					}
				}
				if !found {
					t.Error("the unit_id finding is not listed")
				}
			}

			assertNoUnmaskedIDs(t, cp, sheet)
		})
	}
}

// The copy re-reads with the project's reader: the same sheet and header, and the same row
// findings as the original; the added status column is passed over (workbook.AnnotationHeader),
// so the unknown headers are the original's.
func TestAnnotatedCopyRereads(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	fs := check(t, in)
	out := annotate(t, in, fs, Options{})
	again := check(t, out)
	key := func(f validate.Finding) string { return fmt.Sprintf("%d/%s/%s", f.Row, f.Column, f.Code) }
	var a, b []string
	for _, f := range fs {
		if f.Row > 0 {
			a = append(a, key(f))
		}
	}
	var unknown string
	for _, f := range again {
		if f.Row > 0 {
			b = append(b, key(f))
		} else if f.Code == validate.HeaderUnknownColumn {
			unknown = f.Args["headers"]
		}
	}
	if !slices.Equal(a, b) {
		t.Errorf("findings after annotating:\n%v\nwant\n%v", b, a)
	}
	if unknown != "Intern ref" {
		t.Errorf("unknown headers on re-read = %q, want the original's (Intern ref) only", unknown)
	}
}

func TestAnnotateEncrypted(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	fs := check(t, in)
	pw := secret.New([]byte("Korrekt-Hest-Batteri-9"))
	out := annotate(t, in, fs, Options{Password: pw})
	if !bytes.HasPrefix(out, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		t.Fatalf("encrypted copy does not start with the OLE magic: % x", out[:8])
	}
	// The project's own decryption opens it with the same password, and not without.
	ctx := context.Background()
	if _, err := decrypt.Unwrap(ctx, bytes.NewReader(out), int64(len(out)), nil, decrypt.DefaultLimits()); decrypt.CodeOf(err) != validate.FilePasswordNeeded {
		t.Errorf("Unwrap without password: %v, want %s", err, validate.FilePasswordNeeded)
	}
	plain, err := decrypt.Unwrap(ctx, bytes.NewReader(out), int64(len(out)), []secret.Secret{pw}, decrypt.DefaultLimits())
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	defer plain.Close()
	if len(plain.Layers) != 1 || plain.Layers[0] != "office-standard" {
		t.Errorf("layers = %v, want [office-standard]", plain.Layers)
	}
	b := make([]byte, plain.Size)
	if _, err := plain.ReaderAt.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	cp := openBook(t, b, "")
	if got := cp.GetSheetList(); len(got) == 0 || got[0] != SheetFindings {
		t.Errorf("decrypted copy sheets = %q", got)
	}
	assertValuesKept(t, openBook(t, in, ""), cp, "I")
}

// A workbook without a recognisable header gets the Funn sheet listing the file-level finding;
// the data sheets are left alone.
func TestAnnotateFileLevelOnly(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner", noHeader: true})
	fs := check(t, in)
	if len(fs) != 1 || fs[0].Code != validate.FileHeaderNotFound {
		t.Fatalf("fixture findings = %+v, want file.header_not_found", fs)
	}
	out := annotate(t, in, fs, Options{})
	orig, cp := openBook(t, in, ""), openBook(t, out, "")
	assertValuesKept(t, orig, cp, "")
	rows, err := cp.GetRows(SheetFindings)
	if err != nil || len(rows) != 2 || rows[1][3] != string(validate.FileHeaderNotFound) || rows[1][0] != "" {
		t.Fatalf("Funn rows = %q (%v)", rows, err)
	}
	if ok, _, _ := cp.GetCellHyperLink(SheetFindings, "C2"); ok {
		t.Error("file-level finding has a link")
	}
	if c := commentMap(t, cp, "Vaksinasjoner"); len(c) != 1 { // only the fixture's own
		t.Errorf("%d comments on the data sheet, want the original 1", len(c))
	}
}

func TestAnnotateNoFindings(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	out := annotate(t, in, nil, Options{})
	cp := openBook(t, out, "")
	rows, err := cp.GetRows(SheetFindings)
	if err != nil || len(rows) != 2 || rows[1][0] != labelsNB.none {
		t.Fatalf("Funn = %q (%v), want the no-findings line", rows, err)
	}
	assertValuesKept(t, openBook(t, in, ""), cp, "")
}

// A workbook that already has a sheet called Funn keeps it; ours gets a free name.
func TestAnnotateSheetNameTaken(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner", firstSheet: "Funn"})
	out := annotate(t, in, check(t, in), Options{})
	cp := openBook(t, out, "")
	if got := cp.GetSheetList(); len(got) < 2 || got[0] != "Funn (2)" || got[1] != "Funn" {
		t.Fatalf("sheets = %q", got)
	}
	if v := value(t, cp, "Funn", "A1"); v != "Les meg" {
		t.Errorf("the original Funn sheet changed: A1 = %q", v)
	}
}

func TestAnnotateErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	good := buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	tests := []struct {
		name string
		ctx  context.Context
		in   []byte
		want error
	}{
		{"not a zip", context.Background(), []byte("this is not a workbook"), ErrNotAnnotatable},
		{"truncated zip", context.Background(), good[:len(good)/2], ErrNotAnnotatable},
		{"canceled", canceled, good, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(tc.ctx, bytes.NewReader(tc.in), int64(len(tc.in)), nil, "nb", &buf)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on error", buf.Len())
			}
		})
	}
}

func TestLocation(t *testing.T) {
	tests := []struct{ sheet, cell, want string }{
		{"Vaksinasjoner", "C5", "'Vaksinasjoner'!C5"},
		{"Kari's ark", "A1", "'Kari''s ark'!A1"},
		{"Ark 1", "AB100", "'Ark 1'!AB100"},
	}
	for _, tc := range tests {
		if got := Location(tc.sheet, tc.cell); got != tc.want {
			t.Errorf("Location(%q, %q) = %q, want %q", tc.sheet, tc.cell, got, tc.want)
		}
	}
}

// BenchmarkAnnotate1000Findings annotates a 1000-row file with one or two findings per row
// (1334 findings).
func BenchmarkAnnotate1000Findings(b *testing.B) { benchAnnotate(b, 1000) }

// BenchmarkAnnotate10000Rows shows how the cost grows (comments are kept in lists by excelize).
func BenchmarkAnnotate10000Rows(b *testing.B) { benchAnnotate(b, 10000) }

func benchAnnotate(b *testing.B, rows int) {
	f := excelize.NewFile()
	header := []any{"Fødselsnummer", "Navn", "Vaksinasjonsdato", "Vaksinekode", "Batchnummer"}
	_ = f.SetSheetName("Sheet1", "Vaksinasjoner")
	_ = f.SetSheetRow("Vaksinasjoner", "A1", &header)
	var fs []validate.Finding
	for i := 0; i < rows; i++ {
		r := i + 2
		row := []any{idBadK2, "Navn", 45429, "BNT03", "B" + strconv.Itoa(i)}
		_ = f.SetSheetRow("Vaksinasjoner", "A"+strconv.Itoa(r), &row)
		fs = append(fs, validate.Finding{Row: r, Column: "person_id", Code: validate.IDChecksum, Severity: validate.SeverityError, Value: validate.MaskID(idBadK2)})
		if i%3 == 0 {
			fs = append(fs, validate.Finding{Row: r, Column: "batch", Code: validate.BatchFormat, Severity: validate.SeverityError})
		}
	}
	var in bytes.Buffer
	if err := f.Write(&in); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	for i := range fs {
		validate.Localize("nb", &fs[i])
	}
	data := in.Bytes()
	b.ReportAllocs()
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := Write(context.Background(), bytes.NewReader(data), int64(len(data)), fs, "nb", &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(fs)), "findings")
}

// --- helpers ---

// assertValuesKept checks that every cell of every original sheet has the same raw value and
// formula in the copy, and that the copy's only new cells are in column extraCol of the data
// sheet (the status column; "" = none allowed).
func assertValuesKept(t *testing.T, orig, cp *excelize.File, extraCol string) {
	t.Helper()
	raw := excelize.Options{RawCellValue: true}
	for _, sheet := range orig.GetSheetList() {
		a, err := orig.GetRows(sheet, raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cp.GetRows(sheet, raw)
		if err != nil {
			t.Fatalf("copy lacks sheet %s: %v", sheet, err)
		}
		for r := 0; r < max(len(a), len(b)); r++ {
			var ra, rb []string
			if r < len(a) {
				ra = a[r]
			}
			if r < len(b) {
				rb = b[r]
			}
			for c := 0; c < max(len(ra), len(rb)); c++ {
				var va, vb string
				if c < len(ra) {
					va = ra[c]
				}
				if c < len(rb) {
					vb = rb[c]
				}
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if va == vb {
					if va != "" {
						fa, _ := orig.GetCellFormula(sheet, ref)
						fb, _ := cp.GetCellFormula(sheet, ref)
						if fa != fb {
							t.Errorf("%s!%s formula %q -> %q", sheet, ref, fa, fb)
						}
					}
					continue
				}
				col, _ := excelize.ColumnNumberToName(c + 1)
				if va == "" && extraCol != "" && col == extraCol {
					continue
				}
				t.Errorf("%s!%s changed: %q -> %q", sheet, ref, va, vb)
			}
		}
	}
}

// idLike finds runs of 7 or more digits: an unmasked identifier (a masked one shows six).
var idLike = regexp.MustCompile(`[0-9]{7,}`)

// assertNoUnmaskedIDs checks that what annotate added (the Funn sheet, the comments it wrote,
// the status column) holds no digit run that could be an identifier.
func assertNoUnmaskedIDs(t *testing.T, cp *excelize.File, sheet string) {
	t.Helper()
	rows, err := cp.GetRows(SheetFindings)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if m := idLike.FindString(strings.Join(r, " ")); m != "" {
			t.Errorf("Funn row %d holds a digit run %s*****", i+1, m[:min(6, len(m))])
		}
	}
	for ref, c := range commentMap(t, cp, sheet) {
		if c.Author != Author {
			continue
		}
		if m := idLike.FindString(commentText(c)); m != "" {
			t.Errorf("comment %s holds a digit run %s*****", ref, m[:min(6, len(m))])
		}
	}
}

func commentMap(t testing.TB, f *excelize.File, sheet string) map[string]excelize.Comment {
	t.Helper()
	cs, err := f.GetComments(sheet)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]excelize.Comment{}
	for _, c := range cs {
		m[c.Cell] = c
	}
	return m
}

func commentText(c excelize.Comment) string {
	s := c.Text
	for _, r := range c.Paragraph {
		s += r.Text
	}
	return s
}

func value(t testing.TB, f *excelize.File, sheet, cell string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func bold(st *excelize.Style) bool { return st.Font != nil && st.Font.Bold }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Beyond MaxComments cells are still highlighted and listed, without a comment.
func TestAnnotateMaxComments(t *testing.T) {
	in := buildInput(t, inputSpec{sheet: "Vaksinasjoner"})
	fs := check(t, in)
	out := annotate(t, in, fs, Options{MaxComments: 2})
	cp := openBook(t, out, "")
	ours, filled := 0, 0
	for _, c := range commentMap(t, cp, "Vaksinasjoner") {
		if c.Author == Author {
			ours++
		}
	}
	cells := map[string]bool{}
	for _, f := range fs {
		if ref := cellRef(f); ref != "" && !cells[ref] {
			cells[ref] = true
			if st := xlsxtest.CellStyle(t, cp, "Vaksinasjoner", ref); len(st.Fill.Color) > 0 {
				filled++
			}
		}
	}
	if ours != 2 {
		t.Errorf("%d comments by %s, want 2", ours, Author)
	}
	if filled != len(cells) || len(cells) <= 2 {
		t.Errorf("%d of %d finding cells highlighted", filled, len(cells))
	}
	rows, err := cp.GetRows(SheetFindings)
	if err != nil || len(rows) != len(fs)+1 {
		t.Errorf("Funn lists %d findings (%v), want %d", len(rows)-1, err, len(fs))
	}
}
