package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/fhi/sysvak-import/validate"
)

// labels are the fixed words of the text report.
type labels struct {
	title, file, id, received, source, mail, status, rows, registered, rejected, dupFile, dupLedger, warnings,
	notRegistered, findings, fileLevel, rowWord, rowsWord, whatToDo, resent, none, more string
	statuses map[Status]string
}

var nb = labels{
	title: "Rapport for vaksinasjonsfil", file: "Fil", id: "Fil-id", received: "Mottatt", source: "Kilde", mail: "e-post",
	status: "Status", rows: "Rader lest", registered: "Registrert", rejected: "Avvist (feil)",
	dupFile: "Dubletter i filen", dupLedger: "Allerede registrert tidligere", warnings: "Advarsler",
	notRegistered: "Ikke registrert (--strict)", findings: "Funn per kode", fileLevel: "Feil i filen som helhet",
	rowWord: "rad", rowsWord: "rader", whatToDo: "Slik retter du", resent: "Mottatt på nytt", none: "Ingen funn.",
	more: "flere",
	statuses: map[Status]string{
		StatusAccepted: "godtatt", StatusAcceptedWithWarnings: "godtatt med advarsler",
		StatusRejectedRows: "godtatt, men noen rader er avvist", StatusFileRejected: "filen er avvist",
		StatusWaitingPassword: "venter på passord",
	},
}

var en = labels{
	title: "Vaccination file report", file: "File", id: "File id", received: "Received", source: "Source", mail: "e-mail",
	status: "Status", rows: "Rows read", registered: "Registered", rejected: "Rejected (errors)",
	dupFile: "Duplicates within the file", dupLedger: "Already registered earlier", warnings: "Warnings",
	notRegistered: "Not registered (--strict)", findings: "Findings by code", fileLevel: "Problems with the file as a whole",
	rowWord: "row", rowsWord: "rows", whatToDo: "How to fix", resent: "Received again", none: "No findings.",
	more: "more",
	statuses: map[Status]string{
		StatusAccepted: "accepted", StatusAcceptedWithWarnings: "accepted with warnings",
		StatusRejectedRows: "accepted, but some rows were rejected", StatusFileRejected: "file rejected",
		StatusWaitingPassword: "waiting for a password",
	},
}

func labelsFor(lang string) labels {
	if lang == "en" {
		return en
	}
	return nb
}

// maxRowsListed caps the row numbers printed on one line; report.json holds them all.
const maxRowsListed = 40

// WriteText renders the report for people. Messages must have been filled by Localize.
func (r *Report) WriteText(w io.Writer, lang string) error {
	l := labelsFor(lang)
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("%s\n", l.title)
	p("%s\n", strings.Repeat("=", len([]rune(l.title))))
	p("%-30s %s\n", l.file+":", r.FileName)
	p("%-30s %s\n", l.id+":", r.FileID)
	if !r.Received.IsZero() {
		p("%-30s %s\n", l.received+":", r.Received.Format("2006-01-02 15:04:05 MST"))
	}
	if src := r.Source; src.Kind == "mailbox" {
		p("%-30s %s %s UID %d (UIDVALIDITY %d)", l.source+":", l.mail, src.Mailbox, src.UID, src.UIDValidity)
		if src.MessageID != "" {
			p(", Message-ID %s", src.MessageID)
		}
		p("\n")
	}
	p("%-30s %s\n", l.status+":", l.statuses[r.Status])
	p("\n")
	p("%-30s %d\n", l.rows+":", r.Stats.Rows)
	p("%-30s %d\n", l.registered+":", r.Stats.Registered)
	p("%-30s %d\n", l.rejected+":", r.Stats.Rejected)
	p("%-30s %d\n", l.dupFile+":", r.Stats.DuplicatesInFile)
	p("%-30s %d\n", l.dupLedger+":", r.Stats.DuplicatesInLedger)
	p("%-30s %d\n", l.warnings+":", r.Stats.Warnings)
	if r.Stats.NotRegistered > 0 {
		p("%-30s %d\n", l.notRegistered+":", r.Stats.NotRegistered)
	}
	for _, s := range r.Resent {
		p("%-30s %s %s\n", l.resent+":", s.Received.Format("2006-01-02 15:04:05"), describeSource(s))
	}

	groups := groupRowFindings(r.Findings)
	if len(groups) > 0 {
		p("\n%s\n%s\n", l.findings, strings.Repeat("-", len([]rune(l.findings))))
		for _, g := range groups {
			sev := "FEIL"
			if lang == "en" {
				sev = "ERROR"
			}
			if g.severity == validate.SeverityWarning {
				sev = "ADVARSEL"
				if lang == "en" {
					sev = "WARNING"
				}
			}
			word := l.rowWord
			if len(g.rows) > 1 {
				word = l.rowsWord
			}
			p("%s %s [%s] (%d %s): %s\n", sev, g.code, g.column, len(g.rows), word, rowList(g.rows, l.more))
			p("    %s\n", g.example)
			if h := validate.Hint(lang, g.code); h != "" && !strings.Contains(g.example, h) {
				p("    %s: %s\n", l.whatToDo, h)
			}
		}
	}
	if ff := r.FileFindings(); len(ff) > 0 {
		p("\n%s\n%s\n", l.fileLevel, strings.Repeat("-", len([]rune(l.fileLevel))))
		for _, f := range ff {
			p("%s: %s\n", f.Code, f.Message)
			if h := validate.Hint(lang, f.Code); h != "" && !strings.Contains(f.Message, h) {
				p("    %s: %s\n", l.whatToDo, h)
			}
		}
	}
	if len(r.Findings) == 0 {
		p("\n%s\n", l.none)
	}
	return bw.Flush()
}

func describeSource(s Source) string {
	if s.Kind == "mailbox" {
		return fmt.Sprintf("(%s UID %d)", s.Mailbox, s.UID)
	}
	return "(" + s.Path + ")"
}

type group struct {
	code     validate.Code
	column   string
	severity validate.Severity
	rows     []int
	example  string
}

// groupRowFindings groups row findings by code and column, errors first, then by first row.
func groupRowFindings(fs []validate.Finding) []*group {
	type key struct {
		code   validate.Code
		column string
	}
	idx := map[key]*group{}
	var out []*group
	for _, f := range fs {
		if f.Row == 0 {
			continue
		}
		k := key{f.Code, f.Column}
		g := idx[k]
		if g == nil {
			g = &group{code: f.Code, column: f.Column, severity: f.Severity, example: f.Message}
			idx[k] = g
			out = append(out, g)
		}
		g.rows = append(g.rows, f.Row)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].severity != out[j].severity {
			return out[i].severity == validate.SeverityError
		}
		return out[i].rows[0] < out[j].rows[0]
	})
	return out
}

func rowList(rows []int, more string) string {
	var b strings.Builder
	for i, r := range rows {
		if i == maxRowsListed {
			fmt.Fprintf(&b, " … (+%d %s)", len(rows)-maxRowsListed, more)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(r))
	}
	return b.String()
}
