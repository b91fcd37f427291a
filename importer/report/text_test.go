package report

import (
	"strings"
	"testing"
	"time"

	"github.com/fhi/sysvak-import/validate"
)

func TestWriteTextHeaderAndGrouping(t *testing.T) {
	received := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	mk := func(src Source) *Report {
		r := &Report{FileID: "0123456789abcdef", FileName: "vaksiner.xlsx", Received: received, Source: src,
			Stats: Stats{Rows: 3, Registered: 1, Rejected: 2}}
		for _, row := range []int{4, 7} {
			r.Findings = append(r.Findings, validate.Finding{Row: row, Column: "person_id", Code: validate.IDChecksum, Severity: validate.SeverityError})
		}
		r.Finish()
		return r
	}
	tests := []struct {
		name, lang string
		src        Source
		want, not  []string
	}{
		{"mailbox nb", "nb", Source{Kind: "mailbox", Mailbox: "INBOX", UIDValidity: 7, UID: 42, MessageID: "<a@b>", Received: received},
			[]string{"Kilde:", "e-post INBOX UID 42 (UIDVALIDITY 7), Message-ID <a@b>", "FEIL id.checksum [person_id] (2 rader): 4, 7"}, nil},
		{"mailbox en", "en", Source{Kind: "mailbox", Mailbox: "INBOX", UIDValidity: 7, UID: 42, Received: received},
			[]string{"Source:", "e-mail INBOX UID 42 (UIDVALIDITY 7)", "ERROR id.checksum [person_id] (2 rows): 4, 7"}, []string{"Message-ID"}},
		{"local", "nb", Source{Kind: "local", Path: "/home/sykepleier/vaksiner.xlsx", Received: received},
			[]string{"Fil:", "vaksiner.xlsx"}, []string{"Kilde:", "/home/sykepleier"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mk(tt.src)
			r.Localize(tt.lang)
			var b strings.Builder
			if err := r.WriteText(&b, tt.lang); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("unexpected %q in\n%s", n, got)
				}
			}
			// Totals come before the findings.
			if strings.Index(got, "id.checksum") < strings.Index(got, "2\n") {
				t.Errorf("findings before totals:\n%s", got)
			}
		})
	}
}

// Issue 12: the status says what happened (every row rejected, nothing registered under
// --strict), and a validate report uses validate's own words.
func TestStatusText(t *testing.T) {
	tests := []struct {
		name       string
		mode       Mode
		stats      Stats
		findings   []validate.Finding
		nb, en     string
		notNB      []string
		notEN      []string
		wantStatus Status
	}{
		{name: "every row rejected", stats: Stats{Rows: 2, Rejected: 2},
			findings: rowErrors(2), nb: "avvist: alle rader har feil", en: "rejected: every row has errors",
			notNB: []string{"godtatt"}, notEN: []string{"accepted"}, wantStatus: StatusRejectedRows},
		{name: "strict", stats: Stats{Rows: 3, Rejected: 1, NotRegistered: 2},
			findings: rowErrors(1), nb: "ingenting registrert", en: "nothing registered",
			notNB: []string{"godtatt"}, notEN: []string{"accepted"}, wantStatus: StatusRejectedRows},
		{name: "some registered", stats: Stats{Rows: 3, Registered: 2, Rejected: 1},
			findings: rowErrors(1), nb: "delvis godtatt", en: "partly accepted", wantStatus: StatusRejectedRows},
		{name: "validate every row", mode: ModeValidate, stats: Stats{Rows: 2, Rejected: 2},
			findings: rowErrors(2), nb: "alle rader har feil: ingenting kan registreres", en: "every row has errors: nothing can be registered",
			notNB: []string{"Registrert:", "godtatt", "Allerede registrert"}, notEN: []string{"Registered:", "accepted", "Already registered"}, wantStatus: StatusRejectedRows},
		{name: "validate waiting", mode: ModeValidate,
			findings: []validate.Finding{{Code: validate.FilePasswordNeeded, Severity: validate.SeverityError, Message: "x"}},
			nb:       "oppgi passordet med --password-file", en: "give its password with --password-file",
			notNB: []string{"venter"}, notEN: []string{"waiting"}, wantStatus: StatusWaitingPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{FileID: "0123456789abcdef", FileName: "f.xlsx", Stats: tt.stats, Findings: tt.findings, Mode: tt.mode}
			r.Finish()
			if r.Status != tt.wantStatus {
				t.Fatalf("status %s, want %s", r.Status, tt.wantStatus)
			}
			for _, c := range []struct {
				lang, want string
				not        []string
			}{{"nb", tt.nb, tt.notNB}, {"en", tt.en, tt.notEN}} {
				var b strings.Builder
				if err := r.WriteText(&b, c.lang); err != nil {
					t.Fatal(err)
				}
				status := statusLine(b.String())
				if !strings.Contains(status, c.want) {
					t.Errorf("%s: status line %q, want %q", c.lang, status, c.want)
				}
				for _, n := range c.not {
					if strings.Contains(b.String(), n) {
						t.Errorf("%s: %q in\n%s", c.lang, n, b.String())
					}
				}
			}
		})
	}
}

func rowErrors(n int) []validate.Finding {
	var fs []validate.Finding
	for i := 0; i < n; i++ {
		fs = append(fs, validate.Finding{Row: 2 + i, Column: "sysvak_code", Code: validate.CodeUnknown, Severity: validate.SeverityError, Message: "m"})
	}
	return fs
}

func statusLine(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "Status:") {
			return line
		}
	}
	return ""
}

// Issue 12: a grouped line is true for every row in it. Two different unknown codes on rows 6 and
// 7 both show; duplicates of different rows each name their own row; a file-level warning is
// not listed as an error.
func TestGroupedLinesTrueForEveryRow(t *testing.T) {
	r := &Report{FileID: "0123456789abcdef", FileName: "f.xlsx", Stats: Stats{Rows: 6, Registered: 2, Rejected: 2, DuplicatesInFile: 2}}
	r.Findings = []validate.Finding{
		{Row: 6, Column: "sysvak_code", Code: validate.CodeUnknown, Severity: validate.SeverityError, Message: "Ukjent kode «ABC01»."},
		{Row: 7, Column: "sysvak_code", Code: validate.CodeUnknown, Severity: validate.SeverityError, Message: "Ukjent kode «XYZ02»."},
		{Row: 8, Column: "sysvak_code", Code: validate.CodeUnknown, Severity: validate.SeverityError, Message: "Ukjent kode «ABC01»."},
		{Row: 4, Column: "person_id", Code: validate.RowDuplicate, Severity: validate.SeverityWarning, Message: "Samme som rad 2."},
		{Row: 5, Column: "person_id", Code: validate.RowDuplicate, Severity: validate.SeverityWarning, Message: "Samme som rad 3."},
		{Code: validate.HeaderUnknownColumn, Severity: validate.SeverityWarning, Message: "Ukjent kolonne."},
	}
	r.Finish()
	var b strings.Builder
	if err := r.WriteText(&b, "nb"); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"rader 6, 8: Ukjent kode «ABC01».", "rad 7: Ukjent kode «XYZ02».",
		"rad 4: Samme som rad 2.", "rad 5: Samme som rad 3.",
		"Funn for filen som helhet", "ADVARSEL header.unknown_column: Ukjent kolonne.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "Feil i filen") {
		t.Errorf("a warning under an errors heading:\n%s", got)
	}
}
