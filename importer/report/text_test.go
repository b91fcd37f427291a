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
