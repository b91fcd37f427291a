package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/importer/decrypt"
	"github.com/fhi/sysvak-import/internal/secret"
)

// jsonReport is the part of report.json the CLI tests compare.
type jsonReport struct {
	Status   string         `json:"status"`
	Stats    map[string]int `json:"stats"`
	Findings []struct {
		Row    int    `json:"row"`
		Column string `json:"column"`
		Code   string `json:"code"`
	} `json:"findings"`
}

func parseReport(t *testing.T, s string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, s)
	}
	return r
}

func sniffFile(t *testing.T, path string) decrypt.Kind {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decrypt.Sniff(b).Kind
}

func TestTemplateCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mal.xlsx")
	r := runCLI(t, nil, "template", out)
	if r.code != exitOK || !strings.Contains(r.stdout, "Vaksinasjoner") {
		t.Fatalf("template: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("template file: %v %v", fi, err)
	}
	if k := sniffFile(t, out); k != decrypt.PlainWorkbook {
		t.Fatalf("template is %v, want a plain workbook", k)
	}
	// The empty template is read like any file: header found, no rows.
	r = runCLI(t, nil, "validate", "--format", "json", out)
	rep := parseReport(t, r.stdout)
	if r.code != exitFileFailed || len(rep.Findings) != 1 || rep.Findings[0].Code != "file.no_rows" {
		t.Fatalf("validate of empty template: exit %d %+v", r.code, rep)
	}
	for _, args := range [][]string{{"template"}, {"template", "a.xlsx", "b.xlsx"}, {"template", "--lang", "de", out}} {
		if r := runCLI(t, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, r.code, exitUsage)
		}
	}
}

var printedPassword = regexp.MustCompile(`(?m)^Passord: (\S+)$`)

// TestEncryptRoundTrip: encrypt's output opens in validate with the printed password and gives
// the same findings as the plain original (issue 3, done-when).
func TestEncryptRoundTrip(t *testing.T) {
	plain := fixtures + "row-errors.xlsx"
	want := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--format", "json", plain)
	wantRep := parseReport(t, want.stdout)
	for _, tc := range []struct {
		name  string
		flags []string
		kind  decrypt.Kind
	}{
		{"office", nil, decrypt.OfficeEncrypted},
		{"pgp", []string{"--pgp"}, decrypt.OpenPGP},
		{"pgp-armor", []string{"--pgp", "--armor"}, decrypt.OpenPGP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "kryptert")
			r := runCLI(t, nil, append(append([]string{"encrypt"}, tc.flags...), plain, out)...)
			if r.code != exitOK {
				t.Fatalf("encrypt: exit %d\n%s", r.code, r.stderr)
			}
			m := printedPassword.FindStringSubmatch(r.stdout)
			if m == nil || len(m[1]) < 12 || !strings.Contains(r.stdout, "SMS") {
				t.Fatalf("no generated password or SMS advice printed:\n%s", r.stdout)
			}
			if k := sniffFile(t, out); k != tc.kind {
				t.Fatalf("output is %v, want %v", k, tc.kind)
			}
			pwFile := filepath.Join(dir, "pw")
			os.WriteFile(pwFile, []byte(m[1]+"\n"), 0o600)
			got := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--format", "json", "--password-file", pwFile, out)
			gotRep := parseReport(t, got.stdout)
			if got.code != want.code || gotRep.Status != wantRep.Status || len(gotRep.Findings) != len(wantRep.Findings) {
				t.Fatalf("encrypted copy: exit %d status %s %d findings; plain: exit %d status %s %d findings",
					got.code, gotRep.Status, len(gotRep.Findings), want.code, wantRep.Status, len(wantRep.Findings))
			}
			for i := range gotRep.Findings {
				if gotRep.Findings[i] != wantRep.Findings[i] {
					t.Fatalf("finding %d: %+v, plain %+v", i, gotRep.Findings[i], wantRep.Findings[i])
				}
			}
			// Without the password it waits; the password is in neither output stream.
			r = runCLI(t, nil, "validate", "--format", "json", out)
			if r.code != exitFileFailed || !strings.Contains(r.stdout, "file.password_needed") {
				t.Fatalf("without password: exit %d %s", r.code, r.stdout)
			}
			if strings.Contains(r.stdout+r.stderr+got.stderr+got.stdout, m[1]) {
				t.Fatal("password leaked into validate output")
			}
		})
	}
}

func TestEncryptGivenPasswordAndRefusals(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("Mitt-eget-passord-9\n"), 0o600)
	out := filepath.Join(dir, "ut.xlsx")
	r := runCLI(t, nil, "encrypt", "--password-file", pw, fixtures+"clean.xlsx", out)
	if r.code != exitOK || strings.Contains(r.stdout, "Mitt-eget-passord-9") || strings.Contains(r.stdout, "Passord:") {
		t.Fatalf("encrypt with given password: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--password-file", pw, out); r.code != exitOK {
		t.Fatalf("validate: exit %d\n%s", r.code, r.stdout)
	}
	// Encrypting an encrypted file or a non-workbook is refused (exit 2); bad usage is exit 3.
	if r := runCLI(t, nil, "encrypt", out, filepath.Join(dir, "twice.xlsx")); r.code != exitFileFailed {
		t.Errorf("encrypting an encrypted file: exit %d, want 2", r.code)
	}
	if r := runCLI(t, nil, "encrypt", fixtures+"not-a-workbook.xlsx", filepath.Join(dir, "x")); r.code != exitFileFailed {
		t.Errorf("encrypting a non-workbook: exit %d, want 2", r.code)
	}
	for _, args := range [][]string{
		{"encrypt", fixtures + "clean.xlsx"},
		{"encrypt", "--armor", fixtures + "clean.xlsx", filepath.Join(dir, "y")},
		{"encrypt", out, out},
	} {
		if r := runCLI(t, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want 3", args, r.code)
		}
	}
}

// TestAnnotateEncrypted: validate --annotate on an encrypted input writes an encrypted copy
// (same password), and the copy validates with the same row findings as the original.
func TestAnnotateEncrypted(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("Sommer-Vaksine-2025\n"), 0o600)
	enc := filepath.Join(dir, "enc.xlsx")
	if r := runCLI(t, nil, "encrypt", "--password-file", pw, fixtures+"row-errors.xlsx", enc); r.code != exitOK {
		t.Fatalf("encrypt: %d %s", r.code, r.stderr)
	}
	ann := filepath.Join(dir, "funn.xlsx")
	orig := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--format", "json", "--password-file", pw, "--annotate", ann, enc)
	if orig.code != exitRowsRejects {
		t.Fatalf("validate --annotate: exit %d\n%s", orig.code, orig.stderr)
	}
	if k := sniffFile(t, ann); k != decrypt.OfficeEncrypted {
		t.Fatalf("annotated copy of an encrypted file is %v, want encrypted", k)
	}
	again := runCLI(t, nil, "validate", "--as-of", "2026-11-23", "--format", "json", "--password-file", pw, ann)
	o, a := parseReport(t, orig.stdout), parseReport(t, again.stdout)
	if again.code != orig.code || len(a.Findings) != len(o.Findings) {
		t.Fatalf("annotated copy re-validated: exit %d, %d findings; original exit %d, %d findings\n%s",
			again.code, len(a.Findings), orig.code, len(o.Findings), again.stdout)
	}
	for i := range a.Findings {
		if a.Findings[i] != o.Findings[i] {
			t.Fatalf("finding %d: copy %+v, original %+v", i, a.Findings[i], o.Findings[i])
		}
	}
	if r := runCLI(t, nil, "validate", "--annotate", ann, fixtures+"clean.xlsx", fixtures+"row-errors.xlsx"); r.code != exitUsage {
		t.Errorf("--annotate with two files: exit %d, want 3", r.code)
	}
}

// TestPasswordPrompt: on a terminal an encrypted file makes validate ask for the password, and
// ask again after a wrong one; without a terminal the file waits (exit 2).
func TestPasswordPrompt(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("Riktig-Passord-123\n"), 0o600)
	enc := filepath.Join(dir, "enc.xlsx")
	if r := runCLI(t, nil, "encrypt", "--pgp", "--password-file", pw, fixtures+"clean.xlsx", enc); r.code != exitOK {
		t.Fatalf("encrypt: %d %s", r.code, r.stderr)
	}
	tests := []struct {
		name    string
		answers []string
		want    int
		asked   int
	}{
		{"right first", []string{"Riktig-Passord-123"}, exitOK, 1},
		{"wrong then right", []string{"Galt-Pass-0", "Riktig-Passord-123"}, exitOK, 2},
		{"wrong three times", []string{"Galt-Pass-1", "Galt-Pass-2", "Galt-Pass-3", "Aldri-Spurt-4"}, exitFileFailed, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			asked := 0
			e := &env{
				stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
				now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
				prompt: func(ctx context.Context, label string) (secret.Secret, error) {
					if !strings.Contains(label, "enc.xlsx") {
						t.Errorf("prompt label %q does not name the file", label)
					}
					if asked >= len(tt.answers) {
						return secret.Secret{}, errors.New("no more answers")
					}
					asked++
					return secret.New([]byte(tt.answers[asked-1])), nil
				},
			}
			code := runMain(context.Background(), e, []string{"validate", "--as-of", "2026-11-23", enc})
			if code != tt.want || asked != tt.asked {
				t.Fatalf("exit %d after %d prompts, want exit %d after %d\n%s%s", code, asked, tt.want, tt.asked, out.String(), errb.String())
			}
			for _, a := range tt.answers {
				if strings.Contains(out.String()+errb.String(), a) {
					t.Fatalf("typed password %q appears in the output", a)
				}
			}
		})
	}
	// Plain files never prompt.
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }, now: time.Now,
		prompt: func(context.Context, string) (secret.Secret, error) {
			t.Fatal("prompted for a plain file")
			return secret.Secret{}, nil
		}}
	if code := runMain(context.Background(), e, []string{"validate", "--as-of", "2026-11-23", fixtures + "clean.xlsx"}); code != exitOK {
		t.Fatalf("plain file: exit %d", code)
	}
}

func TestProgressOnlyOnTerminalText(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := &progress{w: &buf, lang: "nb", now: func() time.Time { return clock }}
	p.begin("stor.xlsx")
	p.update(16384) // too early: nothing shown
	if buf.Len() != 0 {
		t.Fatalf("progress shown before 0.5 s: %q", buf.String())
	}
	clock = clock.Add(2 * time.Second)
	p.update(163840)
	p.end()
	if got := buf.String(); !strings.Contains(got, "stor.xlsx: 163 840 rader lest (81 920 rader/s)") || !strings.HasSuffix(got, "\r\033[K") {
		t.Fatalf("progress line %q", got)
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 1234567: "1 234 567"} {
		if g := groupDigits(n); g != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, g, want)
		}
	}
}

// TestPromptTwoLayers: an OpenPGP file around a workbook with a password of its own
// (fixtures/encrypted/gpg_office_twopw.gpg) opens after two answers, one per layer.
func TestPromptTwoLayers(t *testing.T) {
	answers := []string{pwMain, pwInner}
	asked := 0
	var out, errb bytes.Buffer
	e := &env{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" },
		now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
		prompt: func(context.Context, string) (secret.Secret, error) {
			if asked >= len(answers) {
				return secret.Secret{}, errors.New("no more answers")
			}
			asked++
			return secret.New([]byte(answers[asked-1])), nil
		},
	}
	code := runMain(context.Background(), e, []string{"validate", "--as-of", "2026-11-23", "--format", "json", encFixtures + "gpg_office_twopw.gpg"})
	rep := parseReport(t, out.String())
	if asked != 2 || rep.Stats["rows"] == 0 || code == exitFileFailed {
		t.Fatalf("exit %d after %d prompts, report %+v\n%s", code, asked, rep, errb.String())
	}
}

// committedRecords lists OUT/<id>/records.jsonl of the committed output sets only: a killed
// process leaves its half-written set in a hidden OUT/.tmp-<id>-<random>/ folder, which
// filepath.Glob's "*" would match (it does not skip dot names) but which is not output.
func committedRecords(out string) []string {
	paths, _ := filepath.Glob(filepath.Join(out, "*", "records.jsonl"))
	var kept []string
	for _, p := range paths {
		if !strings.HasPrefix(filepath.Base(filepath.Dir(p)), ".") {
			kept = append(kept, p)
		}
	}
	return kept
}
