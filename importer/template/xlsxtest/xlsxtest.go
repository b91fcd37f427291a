// Package xlsxtest is test support for the template and annotate packages: the independent
// readers they check their workbooks with (issue 5 "Done when"), Debian's python3-openpyxl
// through the probe script testdata/xlsx_probe.py and LibreOffice headless, each skipping the
// calling test with a message when absent; and small excelize helpers both tests share. No
// production code imports it.
package xlsxtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"github.com/fhi/sysvak-import/internal/testtool"
	"github.com/xuri/excelize/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Python is Debian's interpreter, which has python3-openpyxl (the pyenv python3 on PATH does
// not).
const Python = "/usr/bin/python3"

//go:embed testdata/xlsx_probe.py
var probeScript []byte

// Probe is the JSON the probe script prints for a workbook.
type Probe struct {
	Active string  `json:"active"`
	Sheets []Sheet `json:"sheets"`
}

// Sheet is one worksheet as openpyxl sees it.
type Sheet struct {
	Name    string            `json:"name"`
	State   string            `json:"state"` // visible, hidden, veryHidden
	Freeze  *string           `json:"freeze"`
	MaxRow  int               `json:"max_row"`
	MaxCol  int               `json:"max_column"`
	Cells   map[string]Cell   `json:"cells"` // non-empty, commented, linked or filled cells
	Columns map[string]Column `json:"columns"`
	DVs     []DataValidation  `json:"validations"`
	// Printing: the print area ("'Funn'!$A$1:$F$9"), repeated title rows, fit to page.
	PrintArea      *string `json:"print_area"`
	PrintTitleRows *string `json:"print_title_rows"`
	FitToPage      bool    `json:"fit_to_page"`
	FitToWidth     *int    `json:"fit_to_width"`
	FitToHeight    *int    `json:"fit_to_height"`
	Orientation    *string `json:"orientation"`
}

// PrintsToWidth reports why the sheet would not print whole (print area set, fitted to one
// page wide), "" when it does.
func (s *Sheet) PrintsToWidth() string {
	switch {
	case s.PrintArea == nil || *s.PrintArea == "":
		return "no print area"
	case !s.FitToPage:
		return "not fitted to the page"
	case s.FitToWidth == nil || *s.FitToWidth != 1:
		return "not one page wide"
	case s.FitToHeight != nil && *s.FitToHeight != 0:
		return "height limited"
	}
	return ""
}

// Cell is one cell.
type Cell struct {
	Value         any     `json:"value"`
	NumberFormat  string  `json:"number_format"`
	Bold          bool    `json:"bold"`
	Fill          string  `json:"fill"` // ARGB of a solid fill's foreground, "" for none
	Comment       *string `json:"comment"`
	CommentAuthor string  `json:"comment_author"`
	LinkLocation  *string `json:"link_location"`
	LinkTarget    *string `json:"link_target"`
}

// Column is a column dimension; openpyxl groups equal adjacent columns (Min..Max) under the
// first one's letter.
type Column struct {
	Min          int     `json:"min"`
	Max          int     `json:"max"`
	NumberFormat string  `json:"number_format"`
	Width        float64 `json:"width"`
}

// DataValidation is one data validation.
type DataValidation struct {
	Type        *string `json:"type"`
	Sqref       string  `json:"sqref"`
	Formula1    *string `json:"formula1"`
	Formula2    *string `json:"formula2"`
	Operator    *string `json:"operator"`
	PromptTitle *string `json:"prompt_title"`
	Prompt      *string `json:"prompt"`
	ShowInput   bool    `json:"show_input"`
	ErrorStyle  *string `json:"error_style"`
}

// Sheet returns the sheet named name, or nil.
func (p *Probe) Sheet(name string) *Sheet {
	for i := range p.Sheets {
		if p.Sheets[i].Name == name {
			return &p.Sheets[i]
		}
	}
	return nil
}

// ColumnFormat returns the number format of the 1-based column col.
func (s *Sheet) ColumnFormat(col int) (string, bool) {
	for _, c := range s.Columns {
		if c.Min <= col && col <= c.Max {
			return c.NumberFormat, true
		}
	}
	return "", false
}

// RequireOpenpyxl skips the test when Debian's python3 cannot import openpyxl.
func RequireOpenpyxl(t testing.TB) {
	t.Helper()
	if err := exec.Command(Python, "-c", "import openpyxl").Run(); err != nil {
		testtool.Missing(t, "openpyxl (python3 -c 'import openpyxl')", "apt-get install -y python3-openpyxl", err)
	}
}

// RunProbe reads the xlsx file at path with openpyxl. maxRows bounds the rows whose cells are
// listed (0: 200).
func RunProbe(t testing.TB, path string, maxRows int) *Probe {
	t.Helper()
	RequireOpenpyxl(t)
	if maxRows <= 0 {
		maxRows = 200
	}
	script := filepath.Join(t.TempDir(), "xlsx_probe.py")
	if err := os.WriteFile(script, probeScript, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Python, script, path, strconv.Itoa(maxRows))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openpyxl probe: %v\n%s", err, stderr.String())
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("probe output: %v", err)
	}
	return &p
}

// RunPython runs a Python snippet with Debian's python3 (openpyxl required) and returns its
// combined output.
func RunPython(t testing.TB, code string, args ...string) []byte {
	t.Helper()
	RequireOpenpyxl(t)
	b, err := exec.Command(Python, append([]string{"-c", code}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, b)
	}
	return b
}

// LibreOfficeConvert converts src with soffice --headless into a temp dir (with its own HOME and
// user profile, so it neither needs nor touches the user's) and returns the files written, by
// name. format "csv" writes every sheet as <base>-<sheet>.csv (filter option sheet -1,
// LibreOffice >= 7.2); "xlsx" re-saves the workbook with LibreOffice's own writer. It skips the
// test when soffice is absent or with -short (a conversion takes seconds).
func LibreOfficeConvert(t testing.TB, src, format string) map[string][]byte {
	t.Helper()
	return LibreOfficeConvertAll(t, []string{src}, format)
}

// LibreOfficeConvertAll is LibreOfficeConvert for several files in one soffice run (one start-up
// instead of one per file); the sources' base names must differ.
func LibreOfficeConvertAll(t testing.TB, srcs []string, format string) map[string][]byte {
	t.Helper()
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		testtool.Missing(t, "LibreOffice (soffice)", "apt-get install -y libreoffice-calc-nogui")
	}
	if testing.Short() {
		t.Skip("LibreOffice conversion skipped in -short mode")
	}
	home, outDir := t.TempDir(), t.TempDir()
	filter := format
	if format == "csv" {
		filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"-env:UserInstallation=file://" + filepath.ToSlash(filepath.Join(home, "profile")),
		"--headless", "--norestore", "--convert-to", filter, "--outdir", outDir}, srcs...)
	cmd := exec.CommandContext(ctx, soffice, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice --convert-to %s: %v\n%s", format, err, b)
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(outDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	if len(files) == 0 {
		t.Fatalf("soffice wrote nothing:\n%s", b)
	}
	return files
}

// FirstLine returns the first line of b without its line ending.
func FirstLine(b []byte) string {
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(first, "\r")
}

// CellStyle returns the style of a cell, failing the test on error.
func CellStyle(t testing.TB, f *excelize.File, sheet, cell string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
