package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue 12 / SPEC 4: template, encrypt and validate --annotate never overwrite an existing file
// without --force, and never an input, not even with --force.
func TestOutputsNeverOverwrite(t *testing.T) {
	dir := t.TempDir()
	book := filepath.Join(dir, "minfil.xlsx")
	clean, err := os.ReadFile(fixtures + "clean.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(book, clean)
	unchanged := func(p string, want []byte) {
		t.Helper()
		if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
			t.Errorf("%s was overwritten", filepath.Base(p))
		}
	}
	pw := filepath.Join(dir, "pw.txt")
	write(pw, []byte("et langt og sterkt passord\n"))
	out := filepath.Join(dir, "ut.xlsx")
	write(out, []byte("annen fil"))
	for _, tc := range []struct {
		name string
		args []string
		want int
		file string // must be unchanged
		old  []byte
	}{
		{"template over a filled workbook", []string{"template", book}, exitUsage, book, clean},
		{"encrypt over an existing file", []string{"encrypt", "--password-file", pw, book, out}, exitUsage, out, []byte("annen fil")},
		{"encrypt over its input, even with --force", []string{"encrypt", "--force", "--password-file", pw, book, book}, exitUsage, book, clean},
		{"annotate over its input, even with --force", []string{"validate", "--as-of", "2026-11-23", "--force", "--annotate", book, book}, exitUsage, book, clean},
		{"annotate over an existing file", []string{"validate", "--as-of", "2026-11-23", "--annotate", out, book}, exitUsage, out, []byte("annen fil")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.args...)
			if r.code != tc.want {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.want, r.stderr)
			}
			if !strings.Contains(r.stderr, "--force") && !strings.Contains(r.stderr, "aldri") {
				t.Errorf("stderr does not say why: %q", r.stderr)
			}
			unchanged(tc.file, tc.old)
		})
	}
	// With --force an existing output (not an input) is replaced.
	if r := runCLI(t, nil, "encrypt", "--force", "--password-file", pw, book, out); r.code != exitOK {
		t.Errorf("encrypt --force: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "template", "--force", out); r.code != exitOK {
		t.Errorf("template --force: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--force", "--annotate", out, book); r.code != exitOK {
		t.Errorf("validate --annotate --force: exit %d, %q %q", r.code, r.stderr, r.stdout)
	}
	unchanged(book, clean)
	// --report DIR: a file's report set from an earlier run is kept unless --force.
	reports := filepath.Join(dir, "rapporter")
	validate := func(extra ...string) result {
		return runCLI(t, nil, append(append([]string{"validate", "--as-of", "2026-11-23", "--report", reports}, extra...), book)...)
	}
	if r := validate(); r.code != exitOK {
		t.Fatalf("validate --report: exit %d, %q", r.code, r.stderr)
	}
	sets, _ := filepath.Glob(filepath.Join(reports, "*", "report.txt"))
	if len(sets) != 1 {
		t.Fatalf("report sets %v", sets)
	}
	write(sets[0], []byte("kept"))
	if r := validate(); r.code != exitUsage || !strings.Contains(r.stderr, "--force") {
		t.Errorf("validate --report over an existing set: exit %d, %q", r.code, r.stderr)
	}
	unchanged(sets[0], []byte("kept"))
	if r := validate("--force"); r.code != exitOK {
		t.Errorf("validate --report --force: exit %d, %q", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(sets[0]); bytes.Equal(got, []byte("kept")) {
		t.Error("--force did not replace the report set")
	}
}

// Issue 12 / SPEC 4: a folder among the inputs is reported for that input (exit 2) and the other
// inputs are processed.
func TestDirectoryAmongInputs(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "mappe.xlsx")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"validate", "--as-of", "2026-11-23", folder, fixtures + "clean.xlsx"},
		{"import", "--as-of", "2026-11-23", "--state", filepath.Join(dir, "state"), "--out", filepath.Join(dir, "out"), folder, fixtures + "clean.xlsx"},
	} {
		r := runCLI(t, nil, args...)
		if r.code != exitFileFailed {
			t.Errorf("%s: exit %d, want %d; stderr %q", args[0], r.code, exitFileFailed, r.stderr)
		}
		if !strings.Contains(r.stderr, "mappe.xlsx: er en mappe") {
			t.Errorf("%s: stderr %q does not name the folder", args[0], r.stderr)
		}
		if !strings.Contains(r.stdout, "clean.xlsx") {
			t.Errorf("%s: the other input was not processed: %q", args[0], r.stdout)
		}
	}
}

// Issue 12: encrypt warns about a short password given with --password-file.
func TestEncryptShortPasswordWarns(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pw, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "encrypt", "--password-file", pw, fixtures+"clean.xlsx", filepath.Join(dir, "k.xlsx"))
	if r.code != exitOK || !strings.Contains(r.stderr, "bare 3 tegn") {
		t.Errorf("exit %d, stderr %q: want a warning about the 3-character password", r.code, r.stderr)
	}
	r = runCLI(t, nil, "encrypt", "--lang", "en", "--password-file", pw, fixtures+"clean.xlsx", filepath.Join(dir, "k2.xlsx"))
	if !strings.Contains(r.stderr, "only 3 characters") {
		t.Errorf("en: stderr %q", r.stderr)
	}
}

// Issue 12: a state folder that does not exist is an error for a command that only reads state
// (pending, unlock), and is not created; pending speaks the chosen language.
func TestReadingCommandsNeedState(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo")
	pwFile := filepath.Join(dir, "pw.txt")
	if err := os.WriteFile(pwFile, []byte("passord fra SMS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pending", "--state", typo},
		{"unlock", "--state", typo, "--password-file", pwFile, "0123456789abcdef"},
	} {
		r := runCLI(t, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "finnes ikke") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d saying the folder does not exist", args[0], r.code, r.stderr, exitUsage)
		}
		if _, err := os.Stat(typo); err == nil {
			t.Errorf("%s created the state folder", args[0])
		}
	}
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "pending", "--state", state); r.code != exitOK || !strings.Contains(r.stdout, "ingen fil venter") {
		t.Errorf("pending nb: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, nil, "pending", "--lang", "en", "--state", state); r.code != exitOK || !strings.Contains(r.stdout, "no file waits") {
		t.Errorf("pending en: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// Issue 12: --version names the version, the commit and the code list; -h shows a placeholder
// for every flag that takes a value; validate -h does not list flags it ignores.
func TestVersionAndHelp(t *testing.T) {
	r := runCLI(t, nil, "--version")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "sysvak-import ") || !strings.Contains(r.stdout, "commit ") ||
		!strings.Contains(r.stdout, "code list: built-in (23 codes, sha256 ") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
	r = runCLI(t, nil, "validate", "-h")
	for _, want := range []string{"--annotate FILE", "--lang nb|en", "--report DIR", "--max-rows N", "--password-file FILE", "--as-of YYYY-MM-DD"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate -h lacks %q", want)
		}
	}
	for _, not := range []string{"--out", "--state", "--force FILE", "--allow-synthetic VALUE"} {
		if strings.Contains(r.stdout, not) {
			t.Errorf("validate -h lists %q", not)
		}
	}
	for _, c := range commands() {
		r := runCLI(t, nil, c.name, "-h")
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.Contains(line, " VALUE ") {
				t.Errorf("%s -h: a flag without a telling placeholder: %q", c.name, line)
			}
		}
	}
}

// Issue 12: an unknown key in [columns] is reported with the known keys listed once.
func TestUnknownColumnsKeyListedOnce(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(cfg, []byte("[columns]\n\"Pasient-ID\" = \"personid\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "validate", "--config", cfg, fixtures+"clean.xlsx")
	if r.code != exitUsage || strings.Count(r.stderr, "vaccination_date") != 1 || !strings.Contains(r.stderr, "personid") {
		t.Errorf("exit %d, stderr %q: want the known keys once", r.code, r.stderr)
	}
}

// Issue 12: the README and docs link only to files a clone has (not ../shared/SPEC.md).
func TestDocsLinksResolve(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "shared/SPEC.md") {
			t.Errorf("%s refers to shared/SPEC.md, which a clone does not have", filepath.Base(f))
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(f), target)
			}
		}
	}
}

// A usage error speaks the run's language: bokmål by default, English with --lang en.
func TestUsageErrorsInLanguage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		nb, en string
	}{
		{[]string{"validate"}, "oppgi minst én FIL", "name at least one FILE"},
		{[]string{"codes", "x"}, "tar ingen argumenter", "takes no arguments"},
		{[]string{"pending", "x"}, "tar ingen argumenter", "takes no arguments"},
		{[]string{"template"}, "oppgi én UT.xlsx", "name one OUT.xlsx"},
		{[]string{"encrypt", "a"}, "oppgi INN.xlsx og UT", "name IN.xlsx and OUT"},
		{[]string{"unlock"}, "oppgi én fil-ID", "name one file ID"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			for lang, want := range map[string]string{"": tc.nb, "en": tc.en} {
				args := tc.args
				if lang != "" {
					args = append([]string{args[0], "--lang", lang}, args[1:]...)
				}
				r := runCLI(t, nil, args...)
				if r.code != exitUsage || !strings.Contains(r.stderr, want) {
					t.Errorf("%v: exit %d, stderr %q; want %d and %q", args, r.code, r.stderr, exitUsage, want)
				}
			}
		})
	}
}

// Several files are validated on every core and reported in the order given, with an unreadable
// input reported in its place (exit 2) and the others still validated.
func TestValidateManyFilesInOrder(t *testing.T) {
	names := []string{"row-errors.xlsx", "clean.xlsx", "missing.xlsx", "duplicates.xlsx", "openpyxl-clean.xlsx"}
	args := []string{"validate", "--as-of", "2026-11-23", "--lang", "en"}
	for _, n := range names {
		args = append(args, fixtures+n)
	}
	r := runCLI(t, nil, args...)
	if r.code != exitFileFailed {
		t.Fatalf("exit %d, want %d: %s", r.code, exitFileFailed, r.stderr)
	}
	if !strings.Contains(r.stderr, "missing.xlsx") {
		t.Errorf("the missing input is not reported: %q", r.stderr)
	}
	last := -1
	for _, n := range names {
		if n == "missing.xlsx" {
			continue
		}
		i := strings.Index(r.stdout, n)
		if i < 0 || i < last {
			t.Fatalf("%s reported at %d, after %d: the reports are not in the order of the files\n%s", n, i, last, r.stdout)
		}
		last = i
	}
}
