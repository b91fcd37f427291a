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
	notRegistered, findings, fileLevel, rowWord, rowsWord, whatToDo, resent, none, more, errorWord, warningWord,
	distinctMore string
	statuses map[Status]string
	// The rejected_rows status in its cases: every row rejected, nothing registered because of
	// --strict, nothing registered for other reasons (duplicates), some rows registered.
	allRejected, strictNothing, noneRegistered string
	// check are validate's own words: it registers nothing and nothing waits.
	check checkLabels
}

// checkLabels are the words of a validate report (ModeValidate).
type checkLabels struct {
	registrable, rejected string
	statuses              map[Status]string
	allRejected           string
}

var nb = labels{
	title: "Rapport for vaksinasjonsfil", file: "Fil", id: "Fil-id", received: "Mottatt", source: "Kilde", mail: "e-post",
	status: "Status", rows: "Rader lest", registered: "Registrert", rejected: "Avvist (feil)",
	dupFile: "Dubletter i filen", dupLedger: "Allerede registrert tidligere", warnings: "Advarsler",
	notRegistered: "Ikke registrert (--strict)", findings: "Funn per kode", fileLevel: "Funn for filen som helhet",
	rowWord: "rad", rowsWord: "rader", whatToDo: "Slik retter du", resent: "Mottatt på nytt", none: "Ingen funn.",
	more: "flere", errorWord: "FEIL", warningWord: "ADVARSEL", distinctMore: "... og %d andre meldinger (se report.json)",
	statuses: map[Status]string{
		StatusAccepted: "godtatt", StatusAcceptedWithWarnings: "godtatt med advarsler",
		StatusRejectedRows: "delvis godtatt: noen rader er avvist", StatusFileRejected: "filen er avvist",
		StatusWaitingPassword: "venter på passord",
	},
	allRejected:    "avvist: alle rader har feil, ingenting er registrert",
	strictNothing:  "ingenting registrert: noen rader har feil (--strict)",
	noneRegistered: "noen rader er avvist, ingen nye rader registrert",
	check: checkLabels{
		registrable: "Kan registreres", rejected: "Har feil",
		statuses: map[Status]string{
			StatusAccepted: "i orden", StatusAcceptedWithWarnings: "i orden, med advarsler",
			StatusRejectedRows: "noen rader har feil og blir avvist ved innsending", StatusFileRejected: "filen kan ikke leses inn",
			StatusWaitingPassword: "filen er kryptert: oppgi passordet med --password-file",
		},
		allRejected: "alle rader har feil: ingenting kan registreres",
	},
}

var en = labels{
	title: "Vaccination file report", file: "File", id: "File id", received: "Received", source: "Source", mail: "e-mail",
	status: "Status", rows: "Rows read", registered: "Registered", rejected: "Rejected (errors)",
	dupFile: "Duplicates within the file", dupLedger: "Already registered earlier", warnings: "Warnings",
	notRegistered: "Not registered (--strict)", findings: "Findings by code", fileLevel: "Findings for the file as a whole",
	rowWord: "row", rowsWord: "rows", whatToDo: "How to fix", resent: "Received again", none: "No findings.",
	more: "more", errorWord: "ERROR", warningWord: "WARNING", distinctMore: "... and %d other messages (see report.json)",
	statuses: map[Status]string{
		StatusAccepted: "accepted", StatusAcceptedWithWarnings: "accepted with warnings",
		StatusRejectedRows: "partly accepted: some rows were rejected", StatusFileRejected: "file rejected",
		StatusWaitingPassword: "waiting for a password",
	},
	allRejected:    "rejected: every row has errors, nothing was registered",
	strictNothing:  "nothing registered: some rows have errors (--strict)",
	noneRegistered: "some rows were rejected, no new row was registered",
	check: checkLabels{
		registrable: "Can be registered", rejected: "With errors",
		statuses: map[Status]string{
			StatusAccepted: "in order", StatusAcceptedWithWarnings: "in order, with warnings",
			StatusRejectedRows: "some rows have errors and will be rejected when sent", StatusFileRejected: "the file cannot be read",
			StatusWaitingPassword: "the file is encrypted: give its password with --password-file",
		},
		allRejected: "every row has errors: nothing can be registered",
	},
}

// StatusText is the report's status in words that say what happened: for rejected_rows whether
// anything was registered at all, and for a validate run validate's own words.
func (r *Report) StatusText(lang string) string {
	l := validate.ByLang(lang, nb, en)
	if r.Mode == ModeValidate {
		if r.Status == StatusRejectedRows && r.Stats.Registered == 0 && r.Stats.Rejected == r.Stats.Rows {
			return l.check.allRejected
		}
		return l.check.statuses[r.Status]
	}
	if r.Status != StatusRejectedRows || r.Stats.Registered > 0 {
		return l.statuses[r.Status]
	}
	switch {
	case r.Stats.NotRegistered > 0:
		return l.strictNothing
	case r.Stats.Rejected == r.Stats.Rows:
		return l.allRejected
	default:
		return l.noneRegistered
	}
}

// maxRowsListed caps the row numbers printed on one line; report.json holds them all.
const maxRowsListed = 40

// maxDistinct caps the distinct messages printed for one code; report.json holds them all.
const maxDistinct = 10

// WriteText renders the report for people. Messages must have been filled by Localize.
func (r *Report) WriteText(w io.Writer, lang string) error {
	l := validate.ByLang(lang, nb, en)
	check := r.Mode == ModeValidate
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	title, registered, rejected := l.title, l.registered, l.rejected
	if check {
		registered, rejected = l.check.registrable, l.check.rejected
	}
	p("%s\n", title)
	p("%s\n", strings.Repeat("=", len([]rune(title))))
	p("%-30s %s\n", l.file+":", r.FileName)
	p("%-30s %s\n", l.id+":", r.FileID)
	if !r.Received.IsZero() && !check {
		p("%-30s %s\n", l.received+":", r.Received.Format("2006-01-02 15:04:05 MST"))
	}
	if src := r.Source; src.Kind == "mailbox" {
		p("%-30s %s %s UID %d (UIDVALIDITY %d)", l.source+":", l.mail, src.Mailbox, src.UID, src.UIDValidity)
		if src.MessageID != "" {
			p(", Message-ID %s", src.MessageID)
		}
		p("\n")
	}
	p("%-30s %s\n", l.status+":", r.StatusText(lang))
	p("\n")
	p("%-30s %d\n", l.rows+":", r.Stats.Rows)
	p("%-30s %d\n", registered+":", r.Stats.Registered)
	p("%-30s %d\n", rejected+":", r.Stats.Rejected)
	p("%-30s %d\n", l.dupFile+":", r.Stats.DuplicatesInFile)
	if !check {
		p("%-30s %d\n", l.dupLedger+":", r.Stats.DuplicatesInLedger)
	}
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
			word := l.rowWord
			if len(g.rows) > 1 {
				word = l.rowsWord
			}
			p("%s %s [%s] (%d %s): %s\n", l.severity(g.severity), g.code, g.column, len(g.rows), word, rowList(g.rows, l.more))
			// A message is printed for the rows it is true for: once when every row has the
			// same one, else each distinct message with its rows.
			if len(g.messages) == 1 {
				p("    %s\n", g.messages[0].text)
			} else {
				for i, m := range g.messages {
					if i == maxDistinct {
						p("    "+l.distinctMore+"\n", len(g.messages)-maxDistinct)
						break
					}
					w := l.rowWord
					if len(m.rows) > 1 {
						w = l.rowsWord
					}
					p("    %s %s: %s\n", w, rowList(m.rows, l.more), m.text)
				}
			}
			if h := validate.Hint(lang, g.code); h != "" && !g.mentions(h) {
				p("    %s: %s\n", l.whatToDo, h)
			}
		}
	}
	if ff := r.FileFindings(); len(ff) > 0 {
		p("\n%s\n%s\n", l.fileLevel, strings.Repeat("-", len([]rune(l.fileLevel))))
		for _, f := range ff {
			p("%s %s: %s\n", l.severity(f.Severity), f.Code, f.Message)
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

func (l labels) severity(s validate.Severity) string {
	if s == validate.SeverityWarning {
		return l.warningWord
	}
	return l.errorWord
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
	messages []*message // distinct messages in order of first row
}

// message is one distinct message of a group and the rows it was given for.
type message struct {
	text string
	rows []int
}

func (g *group) mentions(s string) bool {
	for _, m := range g.messages {
		if strings.Contains(m.text, s) {
			return true
		}
	}
	return false
}

// groupRowFindings groups row findings by code and column, errors first, then by first row.
func groupRowFindings(fs []validate.Finding) []*group {
	type key struct {
		code   validate.Code
		column string
	}
	idx := map[key]*group{}
	msgs := map[key]map[string]*message{}
	var out []*group
	for _, f := range fs {
		if f.Row == 0 {
			continue
		}
		k := key{f.Code, f.Column}
		g := idx[k]
		if g == nil {
			g = &group{code: f.Code, column: f.Column, severity: f.Severity}
			idx[k] = g
			msgs[k] = map[string]*message{}
			out = append(out, g)
		}
		g.rows = append(g.rows, f.Row)
		m := msgs[k][f.Message]
		if m == nil {
			m = &message{text: f.Message}
			msgs[k][f.Message] = m
			g.messages = append(g.messages, m)
		}
		m.rows = append(m.rows, f.Row)
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
