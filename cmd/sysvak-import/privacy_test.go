package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fhi/sysvak-import/importer/workbook"
	"github.com/fhi/sysvak-import/validate"
)

// TestPrivacyCanary (issue 7; SPEC 7): every command runs over all fixtures with debug logging.
// No ID number, name or password from the inputs may appear in any log line or error message
// (stderr), no unmasked ID number or name in any report (stdout reports and report.* files),
// and the files in the state and out folders are 0600, their folders 0700.
func TestPrivacyCanary(t *testing.T) {
	ids, names := workbookSecrets(t)
	passwords := []string{pwMain, pwInner, "Canary-IMAP-Pass-42", "Canary-Given-Pass-7"}
	if len(ids) < 20 || len(names) < 5 {
		t.Fatalf("too few canaries: %d ids, %d names", len(ids), len(names))
	}
	dir := t.TempDir()
	state, out, work := filepath.Join(dir, "state"), filepath.Join(dir, "out"), filepath.Join(dir, "work")
	os.Mkdir(work, 0o700)
	pwFile := filepath.Join(work, "pw")
	os.WriteFile(pwFile, []byte(pwMain+"\n"), 0o600)
	givenPw := filepath.Join(work, "given")
	os.WriteFile(givenPw, []byte("Canary-Given-Pass-7\n"), 0o600)

	var inputs []string
	for _, pat := range []string{fixtures + "*.xlsx", encFixtures + "*.xlsx", encFixtures + "*.gpg", encFixtures + "*.asc"} {
		m, _ := filepath.Glob(pat)
		inputs = append(inputs, m...)
	}
	common := []string{"--state", state, "--out", out, "--as-of", "2026-11-23", "--log-level", "debug"}
	envVars := map[string]string{"SYSVAK_IMAP_PASSWORD": "Canary-IMAP-Pass-42"}
	var runs []struct {
		args []string
		r    result
	}
	run := func(args ...string) result {
		r := runCLI(t, envVars, args...)
		runs = append(runs, struct {
			args []string
			r    result
		}{args, r})
		return r
	}
	for _, f := range [][2]string{{"text", "console"}, {"json", "json"}} {
		flags := append(append([]string{}, common...), "--format", f[0], "--log-format", f[1], "--password-file", pwFile)
		run(append(append([]string{"validate", "--report", filepath.Join(out, "validate-reports")}, flags...), inputs...)...)
		run(append(append([]string{"import", "--lang", "en"}, flags...), inputs...)...) // the second time: every file resent
	}
	run(append(append([]string{"validate", "--annotate", filepath.Join(work, "funn.xlsx"), "--password-file", pwFile}, common...), encFixtures+"gpg_default.gpg")...)
	run("template", filepath.Join(work, "mal.xlsx"))
	run("encrypt", "--password-file", givenPw, fixtures+"row-errors.xlsx", filepath.Join(work, "enc.xlsx"))
	run("encrypt", "--password-file", givenPw, filepath.Join(work, "enc.xlsx"), filepath.Join(work, "enc2.xlsx"))       // refused
	run(append(append([]string{"validate", "--password-file", pwFile}, common...), filepath.Join(work, "enc.xlsx"))...) // wrong password
	run("codes")
	run(append([]string{"pending"}, "--state", state, "--log-level", "debug")...)
	run(append([]string{"unlock", "0123456789abcdef", "--password-file", givenPw}, common...)...)
	// poll against a closed port: an operational failure whose message must not carry the IMAP password.
	r := run(append([]string{"poll", "--once", "--imap-addr", "127.0.0.1:1", "--imap-tls", "insecure", "--imap-user", "canary"}, common...)...)
	if r.code != exitOperational {
		t.Errorf("poll against a closed port: exit %d, want 4\n%s", r.code, r.stderr)
	}

	idRe := regexp.MustCompile(`\b\d{11,12}\b`)
	for _, rn := range runs {
		what := strings.Join(rn.args[:1], " ")
		for _, s := range append(append(append([]string{}, ids...), names...), passwords...) {
			if strings.Contains(rn.r.stderr, s) {
				t.Errorf("%s: stderr (logs, errors) contains %q", what, s)
			}
		}
		if rn.args[0] == "encrypt" || rn.args[0] == "codes" {
			continue // encrypt prints a generated password on purpose (here none is generated)
		}
		for _, s := range append(append([]string{}, ids...), names...) {
			if strings.Contains(rn.r.stdout, s) {
				t.Errorf("%s: report on stdout contains %q", what, s)
			}
		}
	}
	// Report files: no unmasked ID or name; and permissions.
	nReports := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." || strings.HasPrefix(rel, "work") {
			return nil
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", rel, fi.Mode().Perm(), want)
		}
		if strings.HasPrefix(fi.Name(), "report.") {
			nReports++
			b, _ := os.ReadFile(p)
			for _, s := range append(append([]string{}, ids...), names...) {
				if strings.Contains(string(b), s) {
					t.Errorf("%s contains %q", rel, s)
				}
			}
			if m := idRe.Find(b); m != nil {
				t.Errorf("%s contains an 11/12-digit number %s", rel, validate.MaskID(string(m)))
			}
		}
		return nil
	})
	if nReports < 2*len(inputs) {
		t.Errorf("only %d report files for %d inputs", nReports, len(inputs))
	}
}

// workbookSecrets reads every person_id and name cell of the plain fixtures (and of source.xlsx,
// the plaintext of the encrypted ones): the canaries.
func workbookSecrets(t *testing.T) (ids, names []string) {
	t.Helper()
	files, _ := filepath.Glob(fixtures + "*.xlsx")
	files = append(files, encFixtures+"source.xlsx")
	seen := map[string]bool{}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		book, err := workbook.OpenExcelize(context.Background(), f, fi.Size(), workbook.Options{})
		if err != nil {
			f.Close()
			continue // the unreadable fixtures have no cells to leak
		}
		sheet, err := workbook.OpenSheet(context.Background(), book, workbook.ReadOptions{})
		if err == nil {
			for sheet.Next() {
				row := sheet.Row()
				id := strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, row.Cells[validate.ColPersonID])
				if len(id) >= 9 && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
				if n := validate.TrimCell(row.Cells[validate.ColName]); len(n) >= 4 && !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
			sheet.Close()
		}
		book.Close()
		f.Close()
	}
	return ids, names
}
